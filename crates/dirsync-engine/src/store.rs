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

use crate::report::{OpOutcome, ReportFinding, RunReport, RunStatus};
use crate::settings::HistorySettings;
use crate::types::{Anchor, Service, TargetKind};

/// The numbered migrations, applied in order, each once.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "verified",
        include_str!("../migrations/0002_verified.sql"),
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
        let rows = sqlx::query(
            "SELECT guid, kind, service, address, dn, hash, disabled_at FROM anchors ORDER BY guid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let guid: String = r.try_get("guid")?;
                let address: String = r.try_get("address")?;
                Ok(Anchor {
                    guid: guid.parse().map_err(|e| corrupt("anchor guid", e))?,
                    kind: kind_from(&r.try_get::<String, _>("kind")?)?,
                    service: service_from(&r.try_get::<String, _>("service")?)?,
                    address: EmailAddress::parse(&address)
                        .map_err(|e| corrupt("anchor address", e))?,
                    dn: r.try_get("dn")?,
                    hash: r.try_get("hash")?,
                    disabled_at: r.try_get("disabled_at")?,
                })
            })
            .collect()
    }

    /// Writes (inserts or replaces) one anchor, durably (its own
    /// transaction: the executor anchors each created object at once).
    pub async fn put_anchor(&self, a: &Anchor) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_anchors(&mut tx, &[a]).await?;
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

    /// The committed directory cookie, if any.
    pub async fn cookie(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match self.state("cookie").await? {
            Some(h) => Ok(Some(hex::decode(h).map_err(|e| corrupt("cookie", e))?)),
            None => Ok(None),
        }
    }

    async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT value FROM sync_state WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?)
    }

    /// True once a full read was committed (an incremental run needs it).
    pub async fn has_replica(&self) -> Result<bool, StoreError> {
        Ok(self.state("replica_full_at").await?.is_some())
    }

    /// The replica as a snapshot (service groups and objects).
    pub async fn replica(&self) -> Result<dirsync_model::DirectorySnapshot, StoreError> {
        let parse_guid = |v: Option<String>| -> Result<Option<Guid>, StoreError> {
            v.filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|e| corrupt("service group guid", e)))
                .transpose()
        };
        let exchange_group = parse_guid(self.state("exchange_group").await?)?;
        let rsemail_group = parse_guid(self.state("rsemail_group").await?)?;
        let rows = sqlx::query("SELECT object FROM replica ORDER BY guid")
            .fetch_all(&self.pool)
            .await?;
        let mut objects = Vec::with_capacity(rows.len());
        for r in rows {
            let j: String = r.try_get("object")?;
            objects.push(
                serde_json::from_str::<DirectoryObject>(&j)
                    .map_err(|e| corrupt("replica object", e))?,
            );
        }
        Ok(dirsync_model::DirectorySnapshot {
            exchange_group,
            rsemail_group,
            objects,
        })
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
            insert_replica(&mut tx, &all).await?;
            set_state(
                &mut tx,
                "exchange_group",
                &s.exchange_group.map(|g| g.to_string()).unwrap_or_default(),
            )
            .await?;
            set_state(
                &mut tx,
                "rsemail_group",
                &s.rsemail_group.map(|g| g.to_string()).unwrap_or_default(),
            )
            .await?;
            set_state(&mut tx, "replica_full_at", &now_unix().to_string()).await?;
        }
        insert_replica(&mut tx, c.upserts).await?;
        for g in c.deletes {
            sqlx::query("DELETE FROM replica WHERE guid = ?")
                .bind(g.to_string())
                .execute(&mut *tx)
                .await?;
        }
        match c.cookie {
            Some(v) => set_state(&mut tx, "cookie", &hex::encode(v)).await?,
            None if c.full.is_some() => {
                sqlx::query("DELETE FROM sync_state WHERE key = 'cookie'")
                    .execute(&mut *tx)
                    .await?;
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

    /// Records a whole run that had nothing to do (an incremental read with
    /// no change after a clean run) and commits its cookie, in one
    /// transaction. Sets `report.id`.
    pub async fn record_idle_run(
        &self,
        report: &mut RunReport,
        cookie: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO runs (started_at, trigger, mode, full, status) VALUES (?, ?, ?, ?, 'running')",
        )
        .bind(&report.started_at)
        .bind(crate::engine::trigger_str(report.trigger))
        .bind(crate::engine::mode_str(report.mode))
        .bind(report.full)
        .execute(&mut *tx)
        .await?;
        report.id = r.last_insert_rowid();
        finish_run(&mut tx, report).await?;
        set_state(&mut tx, "cookie", &hex::encode(cookie)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the start of a run; returns its id.
    pub async fn run_started(
        &self,
        started_at: &str,
        trigger: &str,
        mode: &str,
        full: bool,
    ) -> Result<i64, StoreError> {
        let r = sqlx::query("INSERT INTO runs (started_at, trigger, mode, full, status) VALUES (?, ?, ?, ?, 'running')")
            .bind(started_at)
            .bind(trigger)
            .bind(mode)
            .bind(full)
            .execute(&self.pool)
            .await?;
        Ok(r.last_insert_rowid())
    }

    /// Records the end of a run with its report and per-object outcomes.
    pub async fn run_finished(&self, report: &RunReport) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        finish_run(&mut tx, report).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies the history retention (see [`HistorySettings`]) as of the
    /// Unix time `now`: deletes the runs that started more than
    /// `keep_days` days before it, with their outcomes, except the newest
    /// `keep_runs` runs and any run still in progress. Returns how many
    /// runs were deleted. A run whose start time cannot be read is kept, and
    /// so is one that started after a recent run (the clock was set back)
    /// until the runs before it are old too.
    pub async fn prune_history(&self, keep: HistorySettings, now: i64) -> Result<u64, StoreError> {
        if keep.keep_days == 0 {
            return Ok(0);
        }
        let cutoff = now - i64::from(keep.keep_days) * 86_400;
        // Runs are numbered in the order they start, so the candidates are
        // the runs below both the first recent one and the newest
        // `keep_runs`. Finding both bounds reads only the old runs and the
        // newest ones, not the whole history, after every run.
        let first_recent: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM runs WHERE CAST(strftime('%s', started_at) AS INTEGER) >= ? ORDER BY id LIMIT 1",
        )
        .bind(cutoff)
        .fetch_optional(&self.pool)
        .await?;
        let last_kept: Option<i64> =
            sqlx::query_scalar("SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?")
                .bind(i64::from(keep.keep_runs) - 1)
                .fetch_optional(&self.pool)
                .await?;
        let Some(last_kept) = last_kept else {
            return Ok(0);
        };
        let below = first_recent.map_or(last_kept, |r| r.min(last_kept));
        // Their outcomes go with them (ON DELETE CASCADE; foreign keys are on).
        let gone = sqlx::query(
            "DELETE FROM runs WHERE id < ? AND status <> 'running' \
             AND CAST(strftime('%s', started_at) AS INTEGER) < ?",
        )
        .bind(below)
        .bind(cutoff)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(gone)
    }

    /// The most recent runs, newest first.
    pub async fn runs(&self, limit: u32) -> Result<Vec<RunSummary>, StoreError> {
        let rows = sqlx::query("SELECT id, started_at, finished_at, trigger, mode, full, status, counts FROM runs ORDER BY id DESC LIMIT ?")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let counts: Option<String> = r.try_get("counts")?;
                Ok(RunSummary {
                    id: r.try_get("id")?,
                    started_at: r.try_get("started_at")?,
                    finished_at: r.try_get("finished_at")?,
                    trigger: r.try_get("trigger")?,
                    mode: r.try_get("mode")?,
                    full: r.try_get("full")?,
                    status: r.try_get("status")?,
                    counts: counts.and_then(|c| serde_json::from_str(&c).ok()),
                })
            })
            .collect()
    }

    /// One run's full report (`None` if unknown or never finished).
    pub async fn run_report(&self, id: i64) -> Result<Option<RunReport>, StoreError> {
        let row = sqlx::query("SELECT report FROM runs WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row.and_then(|r| r.try_get::<Option<String>, _>("report").ok().flatten()) {
            Some(j) => Ok(Some(
                serde_json::from_str(&j).map_err(|e| corrupt("run report", e))?,
            )),
            None => Ok(None),
        }
    }
}

/// What [`Store::commit`] writes, in one transaction.
#[derive(Debug, Default, Clone, Copy)]
pub struct Commit<'a> {
    /// A full read: the replica is replaced by it.
    pub full: Option<&'a dirsync_model::DirectorySnapshot>,
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

/// SQLite's smallest limit on bound parameters per statement (999 before
/// 3.32); multi-row inserts stay under it.
const MAX_PARAMS: usize = 999;

async fn set_state(
    conn: &mut sqlx::SqliteConnection,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)")
        .bind(key)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(())
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

/// Inserts or replaces replica objects, many rows per statement.
async fn insert_replica(
    conn: &mut sqlx::SqliteConnection,
    objects: &[&DirectoryObject],
) -> Result<(), StoreError> {
    for chunk in objects.chunks(MAX_PARAMS / 2) {
        let rows = chunk
            .iter()
            .map(|o| {
                serde_json::to_string(o)
                    .map(|j| (o.guid.to_string(), j))
                    .map_err(|e| corrupt("replica object", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO replica (guid, object) ",
        );
        q.push_values(rows, |mut b, (g, j)| {
            b.push_bind(g).push_bind(j);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One `outcomes` row: (dn, guid, op, result, code, message).
type OutcomeRow = (
    Option<String>,
    Option<String>,
    Option<&'static str>,
    String,
    Option<&'static str>,
    Option<String>,
);

fn op_row(o: &OpOutcome) -> OutcomeRow {
    (
        o.dn.clone(),
        o.guid.map(|g| g.to_string()),
        Some(o.op.as_str()),
        serde_json::to_value(o.result)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        o.code.map(|c| c.as_str()),
        o.message.clone(),
    )
}

fn finding_row(f: &ReportFinding) -> OutcomeRow {
    (
        f.dn.clone(),
        f.guid.map(|g| g.to_string()),
        None,
        f.severity.to_string(),
        Some(f.code.as_str()),
        Some(f.message.clone()),
    )
}

/// Writes a run's end: status, counts, report and one outcome row per
/// operation and finding (many rows per statement).
async fn finish_run(
    conn: &mut sqlx::SqliteConnection,
    report: &RunReport,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(report).map_err(|e| corrupt("run report", e))?;
    let counts = serde_json::to_string(&report.counts).map_err(|e| corrupt("run counts", e))?;
    sqlx::query("UPDATE runs SET finished_at = ?, status = ?, counts = ?, report = ? WHERE id = ?")
        .bind(&report.finished_at)
        .bind(status_str(report.status))
        .bind(counts)
        .bind(json)
        .bind(report.id)
        .execute(&mut *conn)
        .await?;
    // Rows are built one statement's worth at a time: a run of 30,000
    // operations would otherwise hold a second copy of every DN and message.
    let ops = report.operations.len();
    let total = ops + report.findings.len();
    let per = MAX_PARAMS / 8;
    for start in (0..total).step_by(per) {
        let chunk: Vec<OutcomeRow> = (start..total.min(start + per))
            .map(|i| match report.operations.get(i) {
                Some(o) => op_row(o),
                None => finding_row(&report.findings[i - ops]),
            })
            .collect();
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO outcomes (run_id, idx, dn, guid, op, result, code, message) ",
        );
        q.push_values(chunk.into_iter().enumerate(), |mut b, (i, r)| {
            b.push_bind(report.id)
                .push_bind((start + i) as i64)
                .push_bind(r.0)
                .push_bind(r.1)
                .push_bind(r.2)
                .push_bind(r.3)
                .push_bind(r.4)
                .push_bind(r.5);
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

    #[tokio::test]
    async fn history_retention_keeps_the_newest_runs_recent_ones_and_running_ones() {
        // Run ids 1..=6 with their start times and statuses; "now" is
        // 2026-06-10T00:00:00Z and each run has two outcome rows.
        let runs = [
            ("2026-01-01T00:00:00Z", "success"),
            ("2026-01-02T00:00:00.123456789Z", "interrupted"),
            ("2026-01-03T00:00:00Z", "running"),
            ("not a time", "failed"),
            ("2026-06-01T00:00:00+02:00", "success"),
            ("2026-06-09T23:59:59Z", "object_errors"),
        ];
        let now = 1_781_049_600; // 2026-06-10T00:00:00Z
                                 // (keep_days, keep_runs, the run ids left)
        let cases: [(u32, u32, &[i64]); 6] = [
            (30, 2, &[3, 4, 5, 6]),
            (30, 5, &[2, 3, 4, 5, 6]),
            (30, 100, &[1, 2, 3, 4, 5, 6]),
            (0, 1, &[1, 2, 3, 4, 5, 6]),
            (1, 1, &[3, 4, 6]),
            (200, 1, &[1, 2, 3, 4, 5, 6]),
        ];
        for (keep_days, keep_runs, left) in cases {
            let dir = tempfile::tempdir().unwrap();
            let s = Store::open(&dir.path().join("state.db")).await.unwrap();
            for (at, status) in runs {
                let id = s.run_started(at, "manual", "apply", true).await.unwrap();
                sqlx::query("UPDATE runs SET status = ? WHERE id = ?")
                    .bind(status)
                    .bind(id)
                    .execute(&s.pool)
                    .await
                    .unwrap();
                for idx in 0..2 {
                    sqlx::query("INSERT INTO outcomes (run_id, idx, result) VALUES (?, ?, 'done')")
                        .bind(id)
                        .bind(idx)
                        .execute(&s.pool)
                        .await
                        .unwrap();
                }
            }
            let keep = HistorySettings {
                keep_days,
                keep_runs,
            };
            let gone = s.prune_history(keep, now).await.unwrap();
            let ids: Vec<i64> = s
                .runs(100)
                .await
                .unwrap()
                .iter()
                .rev()
                .map(|r| r.id)
                .collect();
            assert_eq!(ids, left, "{keep:?}");
            assert_eq!(gone as usize, runs.len() - left.len(), "{keep:?}");
            let orphans: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM outcomes WHERE run_id NOT IN (SELECT id FROM runs)",
            )
            .fetch_one(&s.pool)
            .await
            .unwrap();
            let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outcomes")
                .fetch_one(&s.pool)
                .await
                .unwrap();
            assert_eq!((orphans, kept), (0, 2 * left.len() as i64), "{keep:?}");
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
