//! The run history's rows: a run's summary in `runs`, and each operation
//! and finding whole in its `outcomes` row.
//!
//! Why: the stored report used to hold every operation a second time beside
//! its outcome row (15.8 MB of JSON for a full run at 10,000 users, built as
//! one string at the end of the run). Now the `runs` row keeps the report
//! without its operations and findings (`compact = 1`), and
//! [`load_report`] rebuilds the same report from the rows, in order. Runs
//! recorded before keep their whole report and are read as they are.

use std::borrow::Cow;

use dirsync_model::{Code, Guid};
use serde::de::DeserializeOwned;
use sqlx::Row;

use crate::report::{OpOutcome, ReportFinding, RunReport};
use crate::settings::HistorySettings;
use crate::store::{corrupt, status_str, RunSummary, Store, StoreError};

/// SQLite's smallest limit on bound parameters per statement (999 before
/// 3.32); each row binds [`COLUMNS`] values.
const MAX_PARAMS: usize = 999;
const COLUMNS: usize = 20;

/// An enum's serde name (`done`, `add_member`, `exchange`, ...).
fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse<T: DeserializeOwned>(what: &'static str, s: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| corrupt(what, e))
}

/// The report as stored in `runs.report`: everything but the operations
/// and the findings, which are in their rows.
fn summary_json(r: &RunReport) -> Result<String, StoreError> {
    let head = RunReport {
        id: r.id,
        trigger: r.trigger,
        mode: r.mode,
        full: r.full,
        staging: r.staging,
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
        duration_ms: r.duration_ms,
        status: r.status,
        exit_code: r.exit_code,
        summary: r.summary.clone(),
        counts: r.counts.clone(),
        operations: Vec::new(),
        findings: Vec::new(),
        cookie_committed: r.cookie_committed,
        operations_stored: false,
        api: r.api.clone(),
        verification: r.verification.clone(),
    };
    serde_json::to_string(&head).map_err(|e| corrupt("run report", e))
}

/// One outcome row: an operation or a finding.
#[derive(Clone, Copy)]
pub(crate) enum OutcomeRow<'a> {
    Op(&'a OpOutcome),
    Finding(&'a ReportFinding),
}

/// Writes a run's end: status, counts and the compact report, the outcome
/// rows of its findings, and those of its operations unless they were
/// written as the operations ended (`ops_written`).
pub(crate) async fn finish_run(
    conn: &mut sqlx::SqliteConnection,
    report: &RunReport,
    ops_written: bool,
) -> Result<(), StoreError> {
    let counts = serde_json::to_string(&report.counts).map_err(|e| corrupt("run counts", e))?;
    sqlx::query(
        "UPDATE runs SET finished_at = ?, status = ?, counts = ?, report = ?, compact = 1 WHERE id = ?",
    )
    .bind(&report.finished_at)
    .bind(status_str(report.status))
    .bind(counts)
    .bind(summary_json(report)?)
    .bind(report.id)
    .execute(&mut *conn)
    .await?;
    // The findings' rows follow the operations' (all of them, also when
    // the report holds only those that did not end done).
    let ops = if report.operations_stored {
        report.counts.planned as usize
    } else {
        report.operations.len()
    };
    let mut rows: Vec<(usize, OutcomeRow<'_>)> = Vec::new();
    if !ops_written {
        rows.extend(report.operations.iter().map(OutcomeRow::Op).enumerate());
    }
    rows.extend(
        report
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| (ops + i, OutcomeRow::Finding(f))),
    );
    insert_rows(conn, report.id, &rows).await
}

/// Inserts (or replaces) outcome rows of run `run_id` at their positions,
/// many rows per statement, built one statement's worth at a time.
pub(crate) async fn insert_rows(
    conn: &mut sqlx::SqliteConnection,
    run_id: i64,
    rows: &[(usize, OutcomeRow<'_>)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(MAX_PARAMS / COLUMNS) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO outcomes (run_id, idx, dn, guid, op, result, code, message, \
             seq, phase, kind, service, target, label, reason, fields, address, cause, solution, attempts) ",
        );
        q.push_values(chunk, |mut b, (i, row)| {
            b.push_bind(run_id).push_bind(*i as i64);
            match row {
                OutcomeRow::Op(o) => {
                    let fields: Vec<&str> = o.fields.iter().map(AsRef::as_ref).collect();
                    b.push_bind(o.dn.clone())
                        .push_bind(o.guid.map(|g| g.to_string()))
                        .push_bind(o.op.as_str())
                        .push_bind(name(&o.result))
                        .push_bind(o.code.map(|c| c.as_str()))
                        .push_bind(o.message.clone())
                        .push_bind(i64::from(o.seq))
                        .push_bind(i64::from(o.phase))
                        .push_bind(name(&o.kind))
                        .push_bind(name(&o.service))
                        .push_bind(o.target.clone())
                        .push_bind(o.label.clone())
                        .push_bind(o.reason.clone())
                        .push_bind(serde_json::to_string(&fields).unwrap_or_default())
                        .push_bind(o.address.clone())
                        .push_bind(o.cause.clone())
                        .push_bind(o.solution.clone())
                        .push_bind(i64::from(o.attempts));
                }
                OutcomeRow::Finding(f) => {
                    b.push_bind(f.dn.clone())
                        .push_bind(f.guid.map(|g| g.to_string()))
                        .push_bind(None::<&str>)
                        .push_bind(f.severity.to_string())
                        .push_bind(f.code.as_str())
                        .push_bind(f.message.clone())
                        .push_bind(None::<i64>)
                        .push_bind(None::<i64>)
                        .push_bind(None::<String>)
                        .push_bind(None::<String>)
                        .push_bind(None::<String>)
                        .push_bind(None::<String>)
                        .push_bind(None::<String>)
                        .push_bind(None::<String>)
                        .push_bind(None::<String>)
                        .push_bind(Some(f.cause.clone()))
                        .push_bind(Some(f.solution.clone()))
                        .push_bind(None::<i64>);
                }
            }
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
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
        finish_run(&mut tx, report, false).await?;
        crate::cookie_store::set_cookie(&mut tx, cookie).await?;
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
        self.record_finished(report, false).await
    }

    /// Records the end of a run; `ops_written` when its operations' rows
    /// were written as they ended ([`crate::outcomes`]).
    pub(crate) async fn record_finished(
        &self,
        report: &RunReport,
        ops_written: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        finish_run(&mut tx, report, ops_written).await?;
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
        load_report(&self.pool, id, true).await
    }

    /// One run's report with only its operations that failed or were
    /// skipped (see `load_report`).
    pub async fn run_report_summary(&self, id: i64) -> Result<Option<RunReport>, StoreError> {
        load_report(&self.pool, id, false).await
    }
}

fn guid(s: Option<String>) -> Result<Option<Guid>, StoreError> {
    s.map(|g| g.parse().map_err(|e| corrupt("outcome guid", e)))
        .transpose()
}

fn code(s: Option<String>) -> Result<Option<Code>, StoreError> {
    s.map(|c| Code::parse(&c).ok_or_else(|| corrupt("outcome code", c)))
        .transpose()
}

/// The columns [`outcome_row`] reads.
const OUTCOME_COLUMNS: &str = "dn, guid, op, result, code, message, seq, phase, kind, service, \
     target, label, reason, fields, address, cause, solution, attempts";

/// One outcome row read back.
enum Read {
    Op(OpOutcome),
    Finding(ReportFinding),
}

/// Reads one outcome row (selected with [`OUTCOME_COLUMNS`]).
fn outcome_row(r: &sqlx::sqlite::SqliteRow) -> Result<Read, StoreError> {
    let op: Option<String> = r.try_get("op")?;
    let dn: Option<String> = r.try_get("dn")?;
    let g = guid(r.try_get("guid")?)?;
    let result: String = r.try_get("result")?;
    let c = code(r.try_get("code")?)?;
    let message: Option<String> = r.try_get("message")?;
    let cause: Option<String> = r.try_get("cause")?;
    let solution: Option<String> = r.try_get("solution")?;
    Ok(match op {
        Some(op) => {
            let text = |k: &str| -> Result<String, StoreError> {
                Ok(r.try_get::<Option<String>, _>(k)?.unwrap_or_default())
            };
            let fields: Vec<String> =
                serde_json::from_str(&text("fields")?).map_err(|e| corrupt("outcome fields", e))?;
            Read::Op(OpOutcome {
                seq: r.try_get::<i64, _>("seq")? as u32,
                phase: r.try_get::<i64, _>("phase")? as u8,
                op: parse("outcome op", &op)?,
                kind: parse("outcome kind", &text("kind")?)?,
                service: parse("outcome service", &text("service")?)?,
                target: text("target")?,
                dn,
                guid: g,
                label: text("label")?,
                reason: text("reason")?,
                fields: fields.into_iter().map(Cow::Owned).collect(),
                address: r.try_get("address")?,
                result: parse("outcome result", &result)?,
                code: c,
                message,
                cause,
                solution,
                attempts: r.try_get::<i64, _>("attempts")? as u32,
            })
        }
        None => Read::Finding(ReportFinding {
            code: c.ok_or_else(|| corrupt("outcome code", "a finding without a code"))?,
            severity: parse("finding severity", &result)?,
            dn,
            guid: g,
            message: message.unwrap_or_default(),
            cause: cause.unwrap_or_default(),
            solution: solution.unwrap_or_default(),
        }),
    })
}

/// Up to `limit` operations of run `run_id` from position `from` on, in
/// plan order, each with its position: one page of a run's operations,
/// for whoever shows a long run's whole list without holding it.
pub(crate) async fn operations_page(
    pool: &sqlx::SqlitePool,
    run_id: i64,
    from: usize,
    limit: usize,
) -> Result<Vec<(usize, OpOutcome)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT idx, {OUTCOME_COLUMNS} FROM outcomes \
         WHERE run_id = ? AND idx >= ? AND op IS NOT NULL ORDER BY idx LIMIT ?"
    ))
    .bind(run_id)
    .bind(from as i64)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    let mut page = Vec::with_capacity(rows.len());
    for r in &rows {
        let idx = r.try_get::<i64, _>("idx")? as usize;
        if let Read::Op(o) = outcome_row(r)? {
            page.push((idx, o));
        }
    }
    Ok(page)
}

/// One run's report (`None` if unknown or never finished): the stored
/// report, with its operations and findings read back from their rows when
/// it was stored compact.
///
/// With `whole` false, a compact report is read with only the operations
/// that failed or were skipped ([`RunReport::operations_stored`] set): what
/// a summary, its errors by code and the metrics need, whatever the run's
/// size; the whole list is then read a page at a time
/// ([`operations_page`]).
pub(crate) async fn load_report(
    pool: &sqlx::SqlitePool,
    id: i64,
    whole: bool,
) -> Result<Option<RunReport>, StoreError> {
    let Some(row) = sqlx::query("SELECT report, compact FROM runs WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let Some(json) = row.try_get::<Option<String>, _>("report")? else {
        return Ok(None);
    };
    let mut report: RunReport =
        serde_json::from_str(&json).map_err(|e| corrupt("run report", e))?;
    if row.try_get::<i64, _>("compact")? == 0 {
        return Ok(Some(report));
    }
    report.operations_stored = !whole;
    let only = if whole {
        ""
    } else {
        "AND (op IS NULL OR result IN ('failed', 'skipped'))"
    };
    let rows = sqlx::query(&format!(
        "SELECT {OUTCOME_COLUMNS} FROM outcomes WHERE run_id = ? {only} ORDER BY idx"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    for r in rows {
        match outcome_row(&r)? {
            Read::Op(o) => report.operations.push(o),
            Read::Finding(f) => report.findings.push(f),
        }
    }
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::*;
    use crate::types::{OpKind, Service, TargetKind};
    use dirsync_model::Severity;

    fn op(seq: u32, result: OpResult, code: Option<Code>) -> OpOutcome {
        OpOutcome {
            seq,
            phase: 2,
            op: OpKind::AddMember,
            kind: TargetKind::List,
            service: Service::Exchange,
            target: format!("list{seq}@example.com"),
            dn: Some(format!("CN=List {seq},DC=example,DC=com")),
            guid: Some(Guid::from_canonical_bytes([seq as u8; 16])),
            label: "List".into(),
            reason: "a member joined".into(),
            fields: vec![Cow::Borrowed("displayName"), Cow::Owned("title".into())],
            address: Some("jane@example.com".into()),
            result,
            code,
            message: code.map(|_| "refused".into()),
            cause: code.map(|_| "because".into()),
            solution: code.map(|_| "do this".into()),
            attempts: seq,
        }
    }

    fn report(id: i64) -> RunReport {
        RunReport {
            id,
            trigger: Trigger::Manual,
            mode: Mode::Apply,
            full: true,
            staging: false,
            started_at: "2026-12-07T02:00:00Z".into(),
            finished_at: "2026-12-07T02:00:01Z".into(),
            duration_ms: 1000,
            status: RunStatus::ObjectErrors,
            exit_code: 1,
            summary: "2 operation(s) applied".into(),
            counts: Counts {
                planned: 2,
                ..Counts::default()
            },
            operations: vec![
                op(1, OpResult::Done, None),
                op(2, OpResult::Failed, Code::parse("DS004")),
                op(3, OpResult::Planned, None),
            ],
            findings: vec![ReportFinding {
                code: Code::parse("DS001").unwrap(),
                severity: Severity::Warning,
                dn: None,
                guid: None,
                message: "a finding".into(),
                cause: "its cause".into(),
                solution: "its fix".into(),
            }],
            cookie_committed: true,
            operations_stored: false,
            api: ApiStats {
                requests: 4,
                retries: 1,
                throttled: 0,
            },
            verification: Default::default(),
        }
    }

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
    async fn a_compact_report_reads_back_whole_and_an_old_one_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let id = s
            .run_started("2026-12-07T02:00:00Z", "manual", "apply", true)
            .await
            .unwrap();
        let r = report(id);
        s.run_finished(&r).await.unwrap();
        assert_eq!(s.run_report(id).await.unwrap(), Some(r.clone()));
        // The stored report is the summary: no operation is in it.
        let stored: String = sqlx::query_scalar("SELECT report FROM runs WHERE id = ?")
            .bind(id)
            .fetch_one(&s.pool)
            .await
            .unwrap();
        assert!(!stored.contains("list1@example.com"), "{stored}");
        assert!(!stored.contains("a finding"), "{stored}");

        // A run recorded before (whole report, no detail in its rows).
        let old = s
            .run_started("2026-12-07T01:00:00Z", "manual", "apply", true)
            .await
            .unwrap();
        let mut r = report(old);
        r.operations.truncate(1);
        sqlx::query("UPDATE runs SET report = ?, compact = 0 WHERE id = ?")
            .bind(serde_json::to_string(&r).unwrap())
            .bind(old)
            .execute(&s.pool)
            .await
            .unwrap();
        assert_eq!(s.run_report(old).await.unwrap(), Some(r));
        assert_eq!(s.run_report(9999).await.unwrap(), None);
    }
}
