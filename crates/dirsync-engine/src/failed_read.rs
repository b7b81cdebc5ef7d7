//! The report of a run whose directory read failed before the engine got
//! any input: a failed run (DS202) like any other, so the history, the UI
//! and the exit code (2) show it as they show every run.
//!
//! Why here: every [`RunReport`], its status and exit code included, is
//! built by the engine; the agent only says what failed.

use std::time::Instant;

use dirsync_model::{Code, Finding};

use crate::clock;
use crate::engine::{mode_str, trigger_str, EngineError, RunOptions};
use crate::report::{ApiStats, Counts, Mode, ReportFinding, RunReport, RunStatus};
use crate::store::Store;

/// Records the failed run in `store` (not for a check) and returns its
/// report: [`crate::Engine::record_failed_read`].
pub(crate) async fn record(
    store: &Store,
    started: Instant,
    opts: RunOptions,
    full: bool,
    detail: &str,
) -> Result<RunReport, EngineError> {
    let started_at = clock::rfc3339(
        time::OffsetDateTime::now_utc()
            - time::Duration::try_from(started.elapsed()).unwrap_or_default(),
    );
    let id = if opts.mode == Mode::Check {
        0
    } else {
        store
            .run_started(
                &started_at,
                trigger_str(opts.trigger),
                mode_str(opts.mode),
                full,
            )
            .await?
    };
    let times = RunTimes {
        started_at,
        finished_at: clock::now_rfc3339(),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let report = failed_read_report(id, opts, full, times, detail);
    if id != 0 {
        store.run_finished(&report).await?;
    }
    Ok(report)
}

/// When the run began and ended, as the report records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunTimes {
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
}

/// The report of run `id` (0 for a check, which is not recorded) whose
/// directory read failed with `detail` (already scrubbed of secrets).
pub(crate) fn failed_read_report(
    id: i64,
    opts: RunOptions,
    full: bool,
    times: RunTimes,
    detail: &str,
) -> RunReport {
    let f = Finding::new(
        Code::UnsafeDirectoryRead,
        None,
        None,
        [("detail", format!("reading the directory failed: {detail}"))],
    );
    let status = RunStatus::Failed;
    RunReport {
        id,
        trigger: opts.trigger,
        mode: opts.mode,
        full,
        staging: false,
        started_at: times.started_at,
        finished_at: times.finished_at,
        duration_ms: times.duration_ms,
        status,
        exit_code: status.exit_code(),
        summary: f.message.clone(),
        counts: Counts {
            errors: 1,
            ..Counts::default()
        },
        operations: Vec::new(),
        findings: vec![ReportFinding::from(&f)],
        cookie_committed: false,
        operations_stored: false,
        api: ApiStats::default(),
        verification: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Trigger;

    #[test]
    fn a_failed_read_is_a_failed_run_with_ds202() {
        for mode in [Mode::Check, Mode::Plan, Mode::Apply] {
            let opts = RunOptions {
                mode,
                trigger: Trigger::Schedule,
                override_threshold: false,
            };
            let times = RunTimes {
                started_at: "2026-12-07T01:00:00Z".into(),
                finished_at: "2026-12-07T01:00:01Z".into(),
                duration_ms: 1000,
            };
            let r = failed_read_report(7, opts, true, times, "connection refused");
            assert_eq!(r.status, RunStatus::Failed);
            assert_eq!(r.exit_code, 2);
            assert_eq!(r.mode, mode);
            assert_eq!(r.counts.errors, 1);
            assert_eq!(r.findings.len(), 1);
            assert_eq!(r.findings[0].code, Code::UnsafeDirectoryRead);
            assert!(r.summary.contains("connection refused"), "{}", r.summary);
            assert!(!r.cookie_committed);
        }
    }
}
