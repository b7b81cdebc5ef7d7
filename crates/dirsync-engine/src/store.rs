//! The state store: SQLite, crash-safe (WAL, synchronous=FULL, one
//! transaction per logical change), with numbered migrations.
//!
//! It holds the anchors, the directory replica and cookie (committed
//! together, in one transaction, after the changes they cover were
//! applied), and the run history with each object's outcome.

use std::path::Path;
use std::time::Duration;

use dirsync_model::{DirectoryObject, EmailAddress, Guid};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;

use crate::report::RunStatus;
use crate::types::{Anchor, Service, TargetKind};

/// The numbered migrations, applied in order, each once.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "verified",
        include_str!("../migrations/0002_verified.sql"),
    ),
    (
        3,
        "compact report",
        include_str!("../migrations/0003_compact_report.sql"),
    ),
    (
        4,
        "staged replica",
        include_str!("../migrations/0004_replica_next.sql"),
    ),
    (
        5,
        "replica hash",
        include_str!("../migrations/0005_replica_hash.sql"),
    ),
    (
        6,
        "replica keys",
        include_str!("../migrations/0006_replica_keys.sql"),
    ),
    (
        7,
        "shared request pacing",
        include_str!("../migrations/0007_pace.sql"),
    ),
    (
        8,
        "verification order",
        include_str!("../migrations/0008_verified_order.sql"),
    ),
];

/// A state store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("state store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("state store: corrupt {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("state store {path} has schema version {found}, newer than this dirsync ({known}); upgrade dirsync")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
}

/// A run in the history list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub trigger: String,
    pub mode: String,
    pub full: bool,
    /// `running`, `interrupted`, or a [`RunStatus`] in snake case.
    pub status: String,
    pub counts: Option<crate::report::Counts>,
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    /// Shared with the verification records ([`crate::verify`]).
    pub(crate) pool: SqlitePool,
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

/// Rows of (`guid`, `value`) as pairs: the GUID parsed (a bad one is a
/// corrupt `what`), the value as stored.
pub(crate) fn guid_pairs<T>(
    rows: &[sqlx::sqlite::SqliteRow],
    value: &str,
    what: &'static str,
) -> Result<Vec<(Guid, T)>, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    rows.iter()
        .map(|r| {
            let g: String = r.try_get("guid")?;
            Ok((g.parse().map_err(|e| corrupt(what, e))?, r.try_get(value)?))
        })
        .collect()
}

pub(crate) fn service_from(s: &str) -> Result<Service, StoreError> {
    match s {
        "exchange" => Ok(Service::Exchange),
        "rs_email" => Ok(Service::RsEmail),
        o => Err(corrupt("anchor service", o)),
    }
}

pub(crate) fn kind_from(s: &str) -> Result<TargetKind, StoreError> {
    match s {
        "mailbox" => Ok(TargetKind::Mailbox),
        "contact" => Ok(TargetKind::Contact),
        "list" => Ok(TargetKind::List),
        o => Err(corrupt("anchor kind", o)),
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `path`.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let p = path.display().to_string();
        // The path is handed over as a path, never pasted into a URL: a
        // Windows path (C:\...) is not a valid URL body.
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Open {
                path: p.clone(),
                source: e,
            })?;
        let s = Store { pool };
        s.migrate(&p).await?;
        crate::narrow::keys::rekey_if_marked(&s.pool).await?;
        // A run left "running" was interrupted (killed, crashed).
        sqlx::query("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            .execute(&s.pool)
            .await?;
        Ok(s)
    }

    async fn migrate(&self, path: &str) -> Result<(), StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let current: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?
                .try_get("v")?;
        let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > known {
            return Err(StoreError::TooNew {
                path: path.to_string(),
                found: current,
                known,
            });
        }
        for (version, description, sql) in MIGRATIONS {
            if *version <= current {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
            )
            .bind(version)
            .bind(description)
            .bind(now_unix())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Every anchor.
    pub async fn anchors(&self) -> Result<Vec<Anchor>, StoreError> {
        use futures::TryStreamExt;
        // Row by row: the rows are never all held beside the anchors.
        let mut out = Vec::new();
        let mut rows = sqlx::query(
            "SELECT guid, kind, service, address, dn, hash, disabled_at FROM anchors ORDER BY guid",
        )
        .fetch(&self.pool);
        while let Some(r) = rows.try_next().await? {
            out.push(anchor_row(&r)?);
        }
        Ok(out)
    }

    /// Which kinds of object are synced (what the read guard needs of the
    /// anchors), by query rather than from every anchor.
    pub(crate) async fn synced_kinds(&self) -> Result<crate::guard::Synced, StoreError> {
        let mut out = crate::guard::Synced::default();
        for r in sqlx::query("SELECT DISTINCT kind, service FROM anchors")
            .fetch_all(&self.pool)
            .await?
        {
            out.note(
                kind_from(&r.try_get::<String, _>("kind")?)?,
                service_from(&r.try_get::<String, _>("service")?)?,
            );
        }
        Ok(out)
    }

    /// The anchors of these objects (those that have one), looked up by
    /// their key a batch at a time: what a run that touches a few objects
    /// needs instead of every anchor.
    pub async fn anchors_of(&self, guids: &[Guid]) -> Result<Vec<Anchor>, StoreError> {
        let mut out = Vec::new();
        for chunk in guids.chunks(MAX_PARAMS) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT guid, kind, service, address, dn, hash, disabled_at FROM anchors WHERE guid IN ",
            );
            q.push_tuples(chunk, |mut b, g| {
                b.push_bind(g.to_string());
            });
            for r in q.build().fetch_all(&self.pool).await? {
                out.push(anchor_row(&r)?);
            }
        }
        Ok(out)
    }

    /// Writes (inserts or replaces) one anchor, durably (its own
    /// transaction: the executor anchors each created object at once).
    pub async fn put_anchor(&self, a: &Anchor) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_anchors(&mut tx, &[a]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes anchors in one transaction (the executor's batches of
    /// anchors of objects just created or renamed).
    pub async fn put_anchors(&self, a: &[&Anchor]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_anchors(&mut tx, a).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets one anchor.
    pub async fn delete_anchor(&self, guid: Guid) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM anchors WHERE guid = ?")
            .bind(guid.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT value FROM sync_state WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?)
    }

    /// Commits a directory state in one transaction: for a full read the
    /// replica is replaced; for an incremental one the changed objects are
    /// upserted and the deleted ones removed. The cookie goes with it.
    pub async fn commit_directory(
        &self,
        full: Option<&dirsync_model::DirectorySnapshot>,
        upserts: &[&DirectoryObject],
        deletes: &[Guid],
        cookie: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.commit(Commit {
            full,
            upserts,
            deletes,
            cookie,
            ..Commit::default()
        })
        .await
    }

    /// Commits what a run's apply established, in one transaction: the
    /// anchors written and forgotten, the directory replica (replaced for a
    /// full read, changed objects upserted and deleted ones removed for an
    /// incremental one), the cookie, and the clean marker. Either all of it
    /// is durable or none of it (a rerun then re-reads the same changes).
    pub async fn commit(&self, c: Commit<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some((exchange, rsemail)) = c.staged {
            // Only the rows that differ are written (narrow/keys.rs).
            crate::narrow::keys::replace_from_staging(&mut tx).await?;
            set_groups(&mut tx, exchange, rsemail).await?;
        }
        insert_anchors(&mut tx, c.anchors).await?;
        for g in c.forget {
            sqlx::query("DELETE FROM anchors WHERE guid = ?")
                .bind(g.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(s) = c.full {
            sqlx::query("DELETE FROM replica").execute(&mut *tx).await?;
            let all: Vec<&DirectoryObject> = s.objects.iter().collect();
            insert_replica(&mut tx, "replica", &all).await?;
            set_groups(&mut tx, s.exchange_group, s.rsemail_group).await?;
        }
        insert_replica(&mut tx, "replica", c.upserts).await?;
        for g in c.deletes {
            sqlx::query("DELETE FROM replica WHERE guid = ?")
                .bind(g.to_string())
                .execute(&mut *tx)
                .await?;
        }
        // The replica's keys, in the same transaction (narrow/keys.rs).
        if c.full.is_some() {
            crate::narrow::keys::rekey_all(&mut tx).await?;
        } else if c.staged.is_some() {
            crate::narrow::keys::rekey_staged(&mut tx).await?;
        }
        let touched: Vec<Guid> = c
            .upserts
            .iter()
            .map(|o| o.guid)
            .chain(c.deletes.iter().copied())
            .collect();
        crate::narrow::keys::rekey(&mut tx, &touched).await?;
        match c.cookie {
            Some(v) => {
                crate::cookie_store::set_cookie(&mut tx, v).await?;
            }
            None if c.full.is_some() || c.staged.is_some() => {
                crate::cookie_store::delete_cookie(&mut tx).await?;
            }
            None => {}
        }
        match c.clean {
            Some(v) => set_state(&mut tx, "clean", v).await?,
            None => {
                sqlx::query("DELETE FROM sync_state WHERE key = 'clean'")
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stages a full read for [`Commit::staged`], in its own transaction:
    /// the run can then drop the snapshot before it plans and applies. The
    /// replica itself is unchanged until the commit.
    pub async fn stage_replica(
        &self,
        s: &dirsync_model::DirectorySnapshot,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM replica_next")
            .execute(&mut *tx)
            .await?;
        let all: Vec<&DirectoryObject> = s.objects.iter().collect();
        insert_replica(&mut tx, "replica_next", &all).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Empties the staging table before a read is staged into it a chunk
    /// at a time ([`Store::stage_more`], `crate::staged`).
    pub(crate) async fn stage_clear(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM replica_next")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stages a chunk of a full read for [`Commit::staged`] within `tx`
    /// (the replica is unchanged until the commit).
    pub(crate) async fn stage_more(
        tx: &mut sqlx::SqliteConnection,
        objects: &[DirectoryObject],
    ) -> Result<(), StoreError> {
        let all: Vec<&DirectoryObject> = objects.iter().collect();
        insert_replica(tx, "replica_next", &all).await
    }

    /// The clean marker: set (by [`Store::commit`]) when the committed
    /// directory state was applied with every operation done and no error,
    /// to the value the engine chose (its plan-relevant settings).
    pub async fn clean_marker(&self) -> Result<Option<String>, StoreError> {
        self.state("clean").await
    }

    /// Clears the clean marker, before a run starts writing to the control panel.
    pub async fn clear_clean(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sync_state WHERE key = 'clean'")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The number of anchors (objects dirsync has tied to the control panel).
    pub async fn anchor_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM anchors")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n as u64)
    }

    /// The earliest time a mailbox was disabled for leaving the scope
    /// (unix seconds), if any is: when its grace period ends the plan
    /// changes with no directory change.
    pub async fn earliest_disabled_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query("SELECT MIN(disabled_at) AS d FROM anchors WHERE kind = 'mailbox'")
                .fetch_one(&self.pool)
                .await?
                .try_get("d")?,
        )
    }
}

/// What [`Store::commit`] writes, in one transaction.
#[derive(Debug, Default, Clone, Copy)]
pub struct Commit<'a> {
    /// A full read: the replica is replaced by it.
    pub full: Option<&'a dirsync_model::DirectorySnapshot>,
    /// A full read staged by [`Store::stage_replica`], with its service
    /// groups (Exchange, Rackspace Email): the replica is replaced by it.
    pub staged: Option<(Option<Guid>, Option<Guid>)>,
    /// Objects of an incremental read, upserted into the replica.
    pub upserts: &'a [&'a DirectoryObject],
    /// Objects removed from the replica.
    pub deletes: &'a [Guid],
    /// The directory cookie covering this state (`None` with a full read
    /// forgets the old one).
    pub cookie: Option<&'a [u8]>,
    /// Anchors written (inserted or replaced).
    pub anchors: &'a [&'a Anchor],
    /// Anchors forgotten.
    pub forget: &'a [Guid],
    /// The clean marker's new value; `None` clears it.
    pub clean: Option<&'a str>,
}

pub(crate) fn anchor_row(r: &sqlx::sqlite::SqliteRow) -> Result<Anchor, StoreError> {
    let guid: String = r.try_get("guid")?;
    let address: String = r.try_get("address")?;
    Ok(Anchor {
        guid: guid.parse().map_err(|e| corrupt("anchor guid", e))?,
        kind: kind_from(&r.try_get::<String, _>("kind")?)?,
        service: service_from(&r.try_get::<String, _>("service")?)?,
        address: EmailAddress::parse(&address).map_err(|e| corrupt("anchor address", e))?,
        dn: r.try_get("dn")?,
        hash: r.try_get("hash")?,
        disabled_at: r.try_get("disabled_at")?,
    })
}

/// SQLite's smallest limit on bound parameters per statement (999 before
/// 3.32); multi-row inserts stay under it.
pub(crate) const MAX_PARAMS: usize = 999;

/// Sets a `sync_state` value (see [`put_state`]).
pub(crate) async fn set_state(
    conn: &mut sqlx::SqliteConnection,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    put_state(conn, key, value).await.map(|_| ())
}

/// Sets a `sync_state` value; true when it was written. A value equal to
/// the stored one is not written again: an idle run hands back the cookie
/// it was given, which holds every GUID in scope (1.6 MB at 100,000
/// objects, 3.2 MB as hex), and rewriting it cost the run a write, an
/// fsync and a checkpoint of that size.
pub(crate) async fn put_state(
    conn: &mut sqlx::SqliteConnection,
    key: &str,
    value: &str,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE \
         SET value = excluded.value WHERE sync_state.value IS NOT excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Inserts or replaces anchors, many rows per statement.
async fn insert_anchors(
    conn: &mut sqlx::SqliteConnection,
    anchors: &[&Anchor],
) -> Result<(), StoreError> {
    let now = now_unix();
    for chunk in anchors.chunks(MAX_PARAMS / 8) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO anchors (guid, kind, service, address, dn, hash, disabled_at, updated_at) ",
        );
        q.push_values(chunk, |mut b, a| {
            b.push_bind(a.guid.to_string())
                .push_bind(a.kind.as_str())
                .push_bind(a.service.as_str())
                .push_bind(a.address.to_string())
                .push_bind(a.dn.clone())
                .push_bind(a.hash.clone())
                .push_bind(a.disabled_at)
                .push_bind(now);
        });
        q.push(
            " ON CONFLICT (guid) DO UPDATE SET kind = excluded.kind, service = excluded.service, address = excluded.address,
             dn = excluded.dn, hash = excluded.hash, disabled_at = excluded.disabled_at, updated_at = excluded.updated_at",
        );
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records the service groups of a full read, and when it was committed.
async fn set_groups(
    conn: &mut sqlx::SqliteConnection,
    exchange: Option<Guid>,
    rsemail: Option<Guid>,
) -> Result<(), StoreError> {
    let text = |g: Option<Guid>| g.map(|g| g.to_string()).unwrap_or_default();
    set_state(&mut *conn, "exchange_group", &text(exchange)).await?;
    set_state(&mut *conn, "rsemail_group", &text(rsemail)).await?;
    set_state(conn, "replica_full_at", &now_unix().to_string()).await
}

/// Inserts or replaces objects in `table` (`replica` or `replica_next`),
/// many rows per statement.
async fn insert_replica(
    conn: &mut sqlx::SqliteConnection,
    table: &'static str,
    objects: &[&DirectoryObject],
) -> Result<(), StoreError> {
    for chunk in objects.chunks(MAX_PARAMS / 3) {
        let rows = chunk
            .iter()
            .map(|o| {
                serde_json::to_string(o)
                    .map(|j| {
                        let h = crate::replica_diff::json_hash(&j);
                        (o.guid.to_string(), j, h)
                    })
                    .map_err(|e| corrupt("replica object", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
            "INSERT OR REPLACE INTO {table} (guid, object, hash) "
        ));
        q.push_values(rows, |mut b, (g, j, h)| {
            b.push_bind(g).push_bind(j).push_bind(h);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

pub(crate) fn status_str(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Success => "success",
        RunStatus::ObjectErrors => "object_errors",
        RunStatus::Failed => "failed",
        RunStatus::ThresholdStopped => "threshold_stopped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds synced, by query, are those of every anchor read whole,
    /// as anchors of each kind are added.
    #[tokio::test]
    async fn synced_kinds_are_the_anchors_kinds() {
        use crate::guard::Synced;
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        assert_eq!(s.synced_kinds().await.unwrap(), Synced::default());
        for (n, kind, service) in [
            (1u8, TargetKind::Mailbox, Service::RsEmail),
            (2, TargetKind::Contact, Service::Exchange),
            (3, TargetKind::Mailbox, Service::RsEmail),
            (4, TargetKind::Mailbox, Service::Exchange),
            (5, TargetKind::List, Service::Exchange),
        ] {
            s.put_anchor(&Anchor {
                guid: Guid::from_canonical_bytes([n; 16]),
                kind,
                service,
                address: EmailAddress::parse(&format!("a{n}@example.com")).unwrap(),
                dn: format!("CN=A{n},DC=example,DC=com"),
                hash: "h".into(),
                disabled_at: None,
            })
            .await
            .unwrap();
            let all = s.anchors().await.unwrap();
            assert_eq!(all.len(), n as usize);
            assert_eq!(s.synced_kinds().await.unwrap(), Synced::of(&all), "{n}");
        }
    }

    #[tokio::test]
    async fn a_state_value_equal_to_the_stored_one_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let mut conn = s.pool.acquire().await.unwrap();
        // (value set, written?)
        let big = "ab".repeat(100_000);
        let cases = [
            ("one", true),
            ("one", false),
            ("two", true),
            (big.as_str(), true),
            (big.as_str(), false),
            ("", true),
            ("", false),
        ];
        for (value, written) in cases {
            assert_eq!(
                put_state(&mut conn, "k", value).await.unwrap(),
                written,
                "{}",
                &value[..value.len().min(8)]
            );
            drop(conn);
            assert_eq!(s.state("k").await.unwrap().as_deref(), Some(value));
            conn = s.pool.acquire().await.unwrap();
        }
    }

    #[tokio::test]
    async fn migrations_anchors_cookie_and_replica_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let s = Store::open(&path).await.unwrap();
        let g = Guid::from_canonical_bytes([7; 16]);
        let a = Anchor {
            guid: g,
            kind: TargetKind::Mailbox,
            service: Service::Exchange,
            address: EmailAddress::parse("jane@example.com").unwrap(),
            dn: "CN=Jane,DC=example,DC=com".into(),
            hash: "h".into(),
            disabled_at: Some(5),
        };
        s.put_anchor(&a).await.unwrap();
        let mut o = DirectoryObject::new(
            g,
            dirsync_model::ObjectKind::User,
            "CN=Jane,DC=example,DC=com",
        );
        o.mail = Some("jane@example.com".into());
        let snap = dirsync_model::DirectorySnapshot {
            exchange_group: Some(g),
            rsemail_group: None,
            objects: vec![o.clone()],
        };
        s.commit_directory(Some(&snap), &[], &[], Some(b"cookie-1"))
            .await
            .unwrap();
        let id = s
            .run_started("2026-11-25T12:00:00Z", "manual", "apply", true)
            .await
            .unwrap();
        drop(s);
        let s = Store::open(&path).await.unwrap();
        assert_eq!(s.anchors().await.unwrap(), vec![a]);
        assert_eq!(s.cookie().await.unwrap().as_deref(), Some(&b"cookie-1"[..]));
        assert_eq!(s.replica().await.unwrap(), snap);
        assert!(s.has_replica().await.unwrap());
        // The run left running was interrupted.
        let runs = s.runs(10).await.unwrap();
        assert_eq!((runs[0].id, runs[0].status.as_str()), (id, "interrupted"));
        s.commit_directory(None, &[], &[g], Some(b"cookie-2"))
            .await
            .unwrap();
        assert!(s.replica().await.unwrap().objects.is_empty());
        s.delete_anchor(g).await.unwrap();
        assert!(s.anchors().await.unwrap().is_empty());
    }
}
