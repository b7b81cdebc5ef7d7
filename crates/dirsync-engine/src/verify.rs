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
    pub async fn oldest_verified(
        &self,
        limit: u32,
        except: &[Guid],
    ) -> Result<Vec<(Guid, Option<i64>)>, StoreError> {
        let except: Vec<String> = except.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(
            "SELECT a.guid, v.verified_at FROM anchors a LEFT JOIN verified v ON v.guid = a.guid \
             WHERE a.service = 'exchange' AND a.kind IN ('mailbox', 'contact') AND a.disabled_at IS NULL \
               AND a.guid NOT IN (SELECT value FROM json_each(?2)) \
             ORDER BY v.verified_at IS NOT NULL, v.verified_at, a.guid LIMIT ?1",
        )
        .bind(i64::from(limit))
        .bind(serde_json::Value::from(except).to_string())
        .fetch_all(&self.pool)
        .await?;
        guid_pairs(&rows, "verified_at", "verified guid")
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
