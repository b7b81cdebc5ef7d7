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
use crate::store::{corrupt, status_str, StoreError};

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
        api: r.api.clone(),
        verification: r.verification.clone(),
    };
    serde_json::to_string(&head).map_err(|e| corrupt("run report", e))
}

/// Writes a run's end: status, counts, the compact report, and one outcome
/// row per operation and finding (many rows per statement, built one
/// statement's worth at a time).
pub(crate) async fn finish_run(
    conn: &mut sqlx::SqliteConnection,
    report: &RunReport,
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
    let ops = report.operations.len();
    let total = ops + report.findings.len();
    let per = MAX_PARAMS / COLUMNS;
    for start in (0..total).step_by(per) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO outcomes (run_id, idx, dn, guid, op, result, code, message, \
             seq, phase, kind, service, target, label, reason, fields, address, cause, solution, attempts) ",
        );
        q.push_values(start..total.min(start + per), |mut b, i| {
            b.push_bind(report.id).push_bind(i as i64);
            match report.operations.get(i) {
                Some(o) => {
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
                None => {
                    let f = &report.findings[i - ops];
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

fn guid(s: Option<String>) -> Result<Option<Guid>, StoreError> {
    s.map(|g| g.parse().map_err(|e| corrupt("outcome guid", e)))
        .transpose()
}

fn code(s: Option<String>) -> Result<Option<Code>, StoreError> {
    s.map(|c| Code::parse(&c).ok_or_else(|| corrupt("outcome code", c)))
        .transpose()
}

/// One run's report (`None` if unknown or never finished): the stored
/// report, with its operations and findings read back from their rows when
/// it was stored compact.
pub(crate) async fn load_report(
    pool: &sqlx::SqlitePool,
    id: i64,
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
    let rows = sqlx::query(
        "SELECT dn, guid, op, result, code, message, seq, phase, kind, service, target, label, \
         reason, fields, address, cause, solution, attempts FROM outcomes WHERE run_id = ? ORDER BY idx",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    for r in rows {
        let op: Option<String> = r.try_get("op")?;
        let dn: Option<String> = r.try_get("dn")?;
        let g = guid(r.try_get("guid")?)?;
        let result: String = r.try_get("result")?;
        let c = code(r.try_get("code")?)?;
        let message: Option<String> = r.try_get("message")?;
        let cause: Option<String> = r.try_get("cause")?;
        let solution: Option<String> = r.try_get("solution")?;
        match op {
            Some(op) => {
                let text = |k: &str| -> Result<String, StoreError> {
                    Ok(r.try_get::<Option<String>, _>(k)?.unwrap_or_default())
                };
                let fields: Vec<String> = serde_json::from_str(&text("fields")?)
                    .map_err(|e| corrupt("outcome fields", e))?;
                report.operations.push(OpOutcome {
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
                });
            }
            None => report.findings.push(ReportFinding {
                code: c.ok_or_else(|| corrupt("outcome code", "a finding without a code"))?,
                severity: parse("finding severity", &result)?,
                dn,
                guid: g,
                message: message.unwrap_or_default(),
                cause: cause.unwrap_or_default(),
                solution: solution.unwrap_or_default(),
            }),
        }
    }
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::*;
    use crate::store::Store;
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
            api: ApiStats {
                requests: 4,
                retries: 1,
                throttled: 0,
            },
            verification: Default::default(),
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
