//! The rolling verification: over time, dirsync reads the details of every
//! object it synced and repairs what was changed by hand in the control
//! panel (a display name edited, an alternate address removed).
//!
//! Planning takes an anchored object whose desired state hashes to what
//! dirsync last wrote as being as written ([`crate::known`]), so a hand
//! edit is not seen by the plan. Each run therefore reads, within a GET
//! budget, the objects verified longest ago (never verified first); the
//! planner compares their real details and repairs the difference. The
//! store records when each object was last verified, the run report lists
//! the objects verified by the run, and the web UI shows every synced
//! object's last verification.
//!
//! The budget: the documented API allows 60 GETs a minute per key. An
//! incremental run spends [`VerifySettings::budget`] GETs (default 10, ten
//! seconds of the GET allowance) besides its listings and the reads its
//! changes need; the daily full reconcile spends
//! [`VerifySettings::full_budget`] (default 300, five minutes). An
//! incremental run with no directory change is free (no request) unless
//! the last verification is older than [`VerifySettings::idle_after_secs`]
//! (default one hour); then it lists, verifies and plans like any run.
//! With an incremental run every five minutes that is 10 objects an hour
//! on an idle tenant plus 300 a day, and more on busy days.

use std::collections::HashMap;

use dirsync_model::Guid;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::store::{corrupt, guid_pairs, kind_from, service_from, Store, StoreError};
use crate::types::{Service, TargetKind};

/// How much of the GET allowance the verification may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifySettings {
    /// GETs of one object an incremental run spends on verification.
    pub budget: u32,
    /// GETs of one object a full run (the daily reconcile) spends on verification.
    pub full_budget: u32,
    /// An incremental run with no directory change verifies (and so reads
    /// the control panel) when the last verification is at least this old,
    /// in seconds; otherwise it makes no request. 0: every such run verifies.
    pub idle_after_secs: u64,
}

impl Default for VerifySettings {
    fn default() -> Self {
        VerifySettings {
            budget: 10,
            full_budget: 300,
            idle_after_secs: 3600,
        }
    }
}

/// One object verified by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedObject {
    pub guid: Guid,
    pub kind: TargetKind,
    pub service: Service,
    /// The control-panel object, `name@domain`.
    pub target: String,
    /// True when its details differed from what dirsync wants and the run
    /// planned the repair.
    pub drift: bool,
}

/// What a run read from the control panel and what it verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// List pages read (domains included).
    pub list_pages: u64,
    /// GETs of one object, for any reason.
    pub object_reads: u64,
    /// Of those: changed objects, adoptions, display names edited by hand.
    pub needed_reads: u64,
    /// The verification budget of the run (GETs of one object).
    pub budget: u32,
    /// Objects whose details the run read and compared (changed, adopted
    /// and sampled ones alike), with whether they had drifted. Recorded as
    /// verified when the run applied and every operation on them succeeded.
    pub objects: Vec<VerifiedObject>,
    /// Synced objects after the run that were never verified.
    pub never_verified: u64,
    /// The oldest verification among synced objects (RFC 3339), if any.
    pub oldest_verified_at: Option<String>,
}

/// A synced object and its last verification, for the web UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedObject {
    pub guid: Guid,
    pub kind: TargetKind,
    pub service: Service,
    pub address: String,
    pub dn: String,
    /// Unix milliseconds.
    pub verified_at: Option<i64>,
    /// The last verification repaired a hand edit.
    pub repaired: bool,
}

pub use crate::clock::now_ms;

/// RFC 3339 of unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl Store {
    /// When each synced object was last verified (unix milliseconds).
    pub async fn verified_times(&self) -> Result<HashMap<Guid, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.guid, v.verified_at FROM verified v JOIN anchors a ON a.guid = v.guid",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(guid_pairs::<i64>(&rows, "verified_at", "verified guid")?
            .into_iter()
            .collect())
    }

    /// Up to `limit` synced Exchange mailboxes and contacts verified
    /// longest ago (never verified first), other than `except`, with their
    /// last verification: the rolling verification's sample for a run
    /// narrowed to a few objects, read by index instead of every anchor.
    /// The objects the run plans anyway are left out here, not after: a
    /// run that plans thousands of list members then loads a sample of
    /// about `limit` objects, not thousands more.
    ///
    /// The order is (never verified first, then verified_at, then GUID),
    /// taken in two index walks that stop at `limit`: the anchors no
    /// verification names, by GUID (every anchor's GUID checked against
    /// the verified ones' index, no anchor row read but theirs), then the
    /// verified ones by `(verified_at, guid)` (migration 0008). One query
    /// sorting the join of every anchor cost 0.08-0.10 s at 50,000 users.
    pub async fn oldest_verified(
        &self,
        limit: u32,
        except: &[Guid],
    ) -> Result<Vec<(Guid, Option<i64>)>, StoreError> {
        let except: Vec<String> = except.iter().map(ToString::to_string).collect();
        let except = serde_json::Value::from(except).to_string();
        let never = sqlx::query(
            "SELECT a.guid, NULL AS verified_at FROM \
               (SELECT guid FROM anchors WHERE NOT EXISTS (SELECT 1 FROM verified v WHERE v.guid = anchors.guid)) n \
             CROSS JOIN anchors a ON a.guid = n.guid \
             WHERE a.service = 'exchange' AND a.kind IN ('mailbox', 'contact') AND a.disabled_at IS NULL \
               AND a.guid NOT IN (SELECT value FROM json_each(?2)) \
             ORDER BY n.guid LIMIT ?1",
        )
        .bind(i64::from(limit))
        .bind(&except)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(Guid, Option<i64>)> = guid_pairs(&never, "verified_at", "verified guid")?;
        let rest = limit.saturating_sub(out.len() as u32);
        if rest == 0 {
            return Ok(out);
        }
        let verified = sqlx::query(
            "SELECT v.guid, v.verified_at FROM verified v CROSS JOIN anchors a ON a.guid = v.guid \
             WHERE a.service = 'exchange' AND a.kind IN ('mailbox', 'contact') AND a.disabled_at IS NULL \
               AND v.guid NOT IN (SELECT value FROM json_each(?2)) \
             ORDER BY v.verified_at, v.guid LIMIT ?1",
        )
        .bind(i64::from(rest))
        .bind(&except)
        .fetch_all(&self.pool)
        .await?;
        out.extend(guid_pairs(&verified, "verified_at", "verified guid")?);
        Ok(out)
    }

    /// The most recent verification of any object (unix milliseconds).
    pub async fn last_verified(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query("SELECT MAX(verified_at) AS t FROM verified")
            .fetch_one(&self.pool)
            .await?
            .try_get("t")?)
    }

    /// Records objects as verified at `now` (`true`: a drift was repaired),
    /// and forgets the records of objects no longer synced.
    pub async fn record_verified(
        &self,
        objects: &[(Guid, bool)],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (g, repaired) in objects {
            sqlx::query(
                "INSERT INTO verified (guid, verified_at, repaired) VALUES (?, ?, ?) \
                 ON CONFLICT (guid) DO UPDATE SET verified_at = excluded.verified_at, repaired = excluded.repaired",
            )
            .bind(g.to_string())
            .bind(now)
            .bind(*repaired)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM verified WHERE guid NOT IN (SELECT guid FROM anchors)")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Synced objects never verified, and the oldest verification (unix milliseconds).
    pub async fn verification_coverage(&self) -> Result<(u64, Option<i64>), StoreError> {
        let r = sqlx::query(
            "SELECT SUM(CASE WHEN v.guid IS NULL THEN 1 ELSE 0 END) AS never, MIN(v.verified_at) AS oldest \
             FROM anchors a LEFT JOIN verified v ON v.guid = a.guid",
        )
        .fetch_one(&self.pool)
        .await?;
        let never: Option<i64> = r.try_get("never")?;
        Ok((never.unwrap_or(0) as u64, r.try_get("oldest")?))
    }

    /// Every synced object with its last verification, by address.
    pub async fn synced_objects(&self) -> Result<Vec<SyncedObject>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.guid, a.kind, a.service, a.address, a.dn, v.verified_at, v.repaired \
             FROM anchors a LEFT JOIN verified v ON v.guid = a.guid ORDER BY a.address, a.guid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let g: String = r.try_get("guid")?;
                Ok(SyncedObject {
                    guid: g.parse().map_err(|e| corrupt("anchor guid", e))?,
                    kind: kind_from(&r.try_get::<String, _>("kind")?)?,
                    service: service_from(&r.try_get::<String, _>("service")?)?,
                    address: r.try_get("address")?,
                    dn: r.try_get("dn")?,
                    verified_at: r.try_get("verified_at")?,
                    repaired: r.try_get::<Option<bool>, _>("repaired")?.unwrap_or(false),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Anchor;
    use dirsync_model::EmailAddress;

    /// The sample as one query sorting the join of every anchor took it
    /// (before migration 0008): the order `oldest_verified` must keep.
    async fn sorted_join(s: &Store, limit: u32, except: &[Guid]) -> Vec<(Guid, Option<i64>)> {
        let except: Vec<String> = except.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(
            "SELECT a.guid, v.verified_at FROM anchors a LEFT JOIN verified v ON v.guid = a.guid \
             WHERE a.service = 'exchange' AND a.kind IN ('mailbox', 'contact') AND a.disabled_at IS NULL \
               AND a.guid NOT IN (SELECT value FROM json_each(?2)) \
             ORDER BY v.verified_at IS NOT NULL, v.verified_at, a.guid LIMIT ?1",
        )
        .bind(i64::from(limit))
        .bind(serde_json::Value::from(except).to_string())
        .fetch_all(&s.pool)
        .await
        .unwrap();
        guid_pairs(&rows, "verified_at", "verified guid").unwrap()
    }

    fn g(n: u8) -> Guid {
        Guid::from_canonical_bytes([n; 16])
    }

    /// Table: (case, anchors (n, kind, service, disabled), verified (n,
    /// time), except, limit, the GUIDs expected in order). Each case is
    /// also checked against the single sorted query.
    #[tokio::test]
    async fn the_sample_is_taken_in_the_sorted_joins_order() {
        use Service::{Exchange, RsEmail};
        use TargetKind::{Contact, List, Mailbox};
        type Case = (
            &'static str,
            Vec<(u8, TargetKind, Service, bool)>,
            Vec<(u8, i64)>,
            Vec<u8>,
            u32,
            Vec<u8>,
        );
        let five: Vec<(u8, TargetKind, Service, bool)> =
            (1..=5).map(|n| (n, Mailbox, Exchange, false)).collect();
        let cases: Vec<Case> = vec![
            (
                "one time for all: by GUID",
                five.clone(),
                (1..=5).map(|n| (n, 100)).collect(),
                vec![],
                3,
                vec![1, 2, 3],
            ),
            (
                "never verified first, then oldest",
                five.clone(),
                vec![(1, 300), (2, 100), (4, 200)],
                vec![],
                4,
                vec![3, 5, 2, 4],
            ),
            (
                "the never verified alone fill the limit",
                five.clone(),
                vec![(1, 300)],
                vec![],
                2,
                vec![2, 3],
            ),
            (
                "ties broken by GUID, except left out",
                five.clone(),
                vec![(5, 100), (3, 100), (4, 100), (1, 50), (2, 100)],
                vec![1, 3],
                3,
                vec![2, 4, 5],
            ),
            (
                "other kinds, services and disabled ones are not sampled",
                vec![
                    (1, List, Exchange, false),
                    (2, Mailbox, RsEmail, false),
                    (3, Mailbox, Exchange, true),
                    (4, Contact, Exchange, false),
                    (5, Mailbox, Exchange, false),
                    (6, Contact, RsEmail, false),
                ],
                vec![(4, 10), (5, 5)],
                vec![],
                10,
                vec![5, 4],
            ),
            (
                "a limit above the candidates",
                five.clone(),
                vec![(2, 7)],
                vec![4],
                20,
                vec![1, 3, 5, 2],
            ),
            ("limit 0", five, vec![], vec![], 0, vec![]),
        ];
        for (what, anchors, verified, except, limit, want) in cases {
            let dir = tempfile::tempdir().unwrap();
            let s = Store::open(&dir.path().join("state.db")).await.unwrap();
            for (n, kind, service, disabled) in anchors {
                s.put_anchor(&Anchor {
                    guid: g(n),
                    kind,
                    service,
                    address: EmailAddress::parse(&format!("u{n}@example.com")).unwrap(),
                    dn: format!("CN=u{n}"),
                    hash: "h".into(),
                    disabled_at: disabled.then_some(1),
                })
                .await
                .unwrap();
            }
            for (n, t) in verified {
                s.record_verified(&[(g(n), false)], t).await.unwrap();
            }
            let except: Vec<Guid> = except.into_iter().map(g).collect();
            let got = s.oldest_verified(limit, &except).await.unwrap();
            assert_eq!(got, sorted_join(&s, limit, &except).await, "{what}");
            let got: Vec<Guid> = got.into_iter().map(|(x, _)| x).collect();
            let want: Vec<Guid> = want.into_iter().map(g).collect();
            assert_eq!(got, want, "{what}");
        }
    }
}
