//! The run history, read only: what `dirsync history`, the web UI's history
//! and object pages read, without the API settings a run needs.
//!
//! Why a type of its own: the agent reads the history both with an open
//! [`crate::Engine`] (from [`crate::Engine::history`]) and without one (the
//! `history` command on a machine whose API settings are not filled in).
//! Either way it can only read: every run is written by the engine.

use std::path::Path;

use crate::report::{OpOutcome, RunReport};
use crate::store::{RunSummary, Store, StoreError};
use crate::verify::SyncedObject;

/// A read-only view of the state store's runs and synced objects.
#[derive(Debug, Clone)]
pub struct RunHistory {
    store: Store,
}

impl RunHistory {
    /// Opens the state store at `state_db` (migrated to this version when
    /// older). The caller checks that the file exists first: opening creates it.
    pub async fn open(state_db: &Path) -> Result<RunHistory, StoreError> {
        Ok(RunHistory {
            store: Store::open(state_db).await?,
        })
    }

    pub(crate) fn of(store: Store) -> RunHistory {
        RunHistory { store }
    }

    /// The most recent runs, newest first.
    pub async fn runs(&self, limit: u32) -> Result<Vec<RunSummary>, StoreError> {
        self.store.runs(limit).await
    }

    /// One run's full report.
    pub async fn run_report(&self, id: i64) -> Result<Option<RunReport>, StoreError> {
        self.store.run_report(id).await
    }

    /// One run's report holding, of its operations, only those that failed
    /// or were skipped (with [`RunReport::operations_stored`] set when the
    /// others are in the history): what its summary and errors need,
    /// whatever the run's size. [`RunHistory::write_report_json`] writes it
    /// whole.
    pub async fn run_report_summary(&self, id: i64) -> Result<Option<RunReport>, StoreError> {
        self.store.run_report_summary(id).await
    }

    /// Up to `limit` operations of run `id` from position `from` on, in
    /// plan order, each with its position: a long run's operations read a
    /// page at a time.
    pub async fn operations_page(
        &self,
        id: i64,
        from: usize,
        limit: usize,
    ) -> Result<Vec<(usize, OpOutcome)>, StoreError> {
        crate::history::operations_page(&self.store.pool, id, from, limit).await
    }

    /// Writes `report` as pretty JSON and a newline, exactly as
    /// `serde_json::to_string_pretty` writes the whole report, with its
    /// whole list of operations: read from the run history a page at a time
    /// when the report holds only the ones that did not end done
    /// ([`RunReport::operations_stored`]), so a run of 156,000 operations
    /// is never held, nor its JSON built as one string.
    pub async fn write_report_json(
        &self,
        report: &RunReport,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<(), ReportJsonError> {
        if !report.operations_stored || report.id == 0 {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)?;
            return Ok(());
        }
        let head = RunReport {
            operations: Vec::new(),
            ..report.clone()
        };
        let head = serde_json::to_string_pretty(&head)?;
        // serde_json writes an empty list as `[]` at the report's depth.
        let marker = "\n  \"operations\": [],\n";
        let at = head.find(marker).ok_or(ReportJsonError::Layout)?;
        out.write_all(&head.as_bytes()[..at])?;
        out.write_all(b"\n  \"operations\": [")?;
        let mut from = 0;
        let mut first = true;
        loop {
            let page = self.operations_page(report.id, from, OPS_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            from = last + 1;
            for (_, o) in &page {
                out.write_all(if first { b"\n" } else { b",\n" })?;
                first = false;
                let one = serde_json::to_string_pretty(o)?;
                for (i, line) in one.lines().enumerate() {
                    if i > 0 {
                        out.write_all(b"\n")?;
                    }
                    out.write_all(b"    ")?;
                    out.write_all(line.as_bytes())?;
                }
            }
        }
        if first {
            out.write_all(b"],\n")?;
        } else {
            out.write_all(b"\n  ],\n")?;
        }
        out.write_all(&head.as_bytes()[at + marker.len()..])?;
        writeln!(out)?;
        Ok(())
    }

    /// Every synced object with when it was last verified in the control panel.
    pub async fn synced_objects(&self) -> Result<Vec<SyncedObject>, StoreError> {
        self.store.synced_objects().await
    }
}

/// Operations read per page when a report's whole list is written.
const OPS_PAGE: usize = 1_000;

/// Why a report could not be written as JSON.
#[derive(Debug, thiserror::Error)]
pub enum ReportJsonError {
    #[error("reading the run's operations from the state store: {0}")]
    Store(#[from] StoreError),
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("serialising the report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the report's JSON has no empty operations list to fill (a bug)")]
    Layout,
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use dirsync_model::{Code, Finding};

    use super::*;
    use crate::outcomes::OutcomeSink;
    use crate::report::*;
    use crate::types::{OpKind, Service, TargetKind};

    fn op(seq: u32, result: OpResult) -> OpOutcome {
        let mut o = OpOutcome {
            seq,
            phase: (seq % 4) as u8,
            op: OpKind::Create,
            kind: TargetKind::Mailbox,
            service: Service::Exchange,
            target: format!("u{seq}@example.com"),
            dn: Some(format!("CN=U \"{seq}\",DC=example,DC=com")),
            guid: None,
            label: format!("U {seq}"),
            reason: "new in scope".into(),
            fields: vec![Cow::Borrowed("displayName")],
            address: None,
            result,
            code: None,
            message: None,
            cause: None,
            solution: None,
            attempts: 1,
        };
        if result == OpResult::Failed {
            o.fail(
                &Finding::new(
                    Code::MailboxLimitExceeded,
                    None,
                    None,
                    [("action", "Add".into()), ("user", "U".into())],
                ),
                2,
            );
        }
        o
    }

    /// A run of `n` operations recorded as a write run records it: its rows
    /// written through the sink as they end, the report keeping only the
    /// ones not done. Returns the history, the whole report and the one
    /// the run returned.
    async fn recorded(dir: &Path, n: u32) -> (RunHistory, RunReport, RunReport) {
        let store = Store::open(&dir.join("state.db")).await.unwrap();
        let id = store
            .run_started("2026-12-07T02:00:00Z", "manual", "apply", true)
            .await
            .unwrap();
        let all: Vec<OpOutcome> = (0..n)
            .map(|i| {
                op(
                    i,
                    match i % 7 {
                        3 => OpResult::Failed,
                        5 => OpResult::Skipped,
                        _ => OpResult::Done,
                    },
                )
            })
            .collect();
        let sink = OutcomeSink::new(&store, id);
        for (i, o) in all.iter().enumerate() {
            sink.push(i, o.clone()).await;
        }
        sink.flush().await;
        assert!(sink.complete());
        let finding = Finding::new(Code::InvalidMail, Some("CN=A"), None, []);
        let mut whole = RunReport {
            id,
            trigger: Trigger::Manual,
            mode: Mode::Apply,
            full: true,
            staging: false,
            started_at: "2026-12-07T02:00:00Z".into(),
            finished_at: "2026-12-07T02:00:09Z".into(),
            duration_ms: 9000,
            status: RunStatus::Success,
            exit_code: 0,
            summary: String::new(),
            counts: Counts {
                planned: u64::from(n),
                ..Counts::default()
            },
            operations: all,
            findings: vec![(&finding).into()],
            cookie_committed: true,
            operations_stored: false,
            api: ApiStats::default(),
            verification: Default::default(),
        };
        count(&mut whole);
        let mut kept = whole.clone();
        kept.operations
            .retain(|o| matches!(o.result, OpResult::Failed | OpResult::Skipped));
        kept.operations_stored = true;
        store.record_finished(&kept, true).await.unwrap();
        (RunHistory::of(store), whole, kept)
    }

    async fn json(h: &RunHistory, r: &RunReport) -> String {
        let mut out: Vec<u8> = Vec::new();
        h.write_report_json(r, &mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The JSON written from a report that holds only the operations not
    /// done is, byte for byte, the whole report's, across pages of the
    /// history (none, one, a page's edge, several).
    #[tokio::test]
    async fn a_stored_report_writes_the_whole_json_page_by_page() {
        for n in [0, 1, 999, 1000, 1001, 2500] {
            let dir = tempfile::tempdir().unwrap();
            let (h, whole, kept) = recorded(dir.path(), n).await;
            let want = serde_json::to_string_pretty(&whole).unwrap() + "\n";
            assert_eq!(json(&h, &kept).await, want, "{n} operations");
            // The history reads it back whole, or with the not-done only.
            let back = h.run_report(whole.id).await.unwrap().unwrap();
            assert_eq!(back, whole, "{n} operations");
            let summary = h.run_report_summary(whole.id).await.unwrap().unwrap();
            assert_eq!(summary, kept, "{n} operations");
            assert_eq!(json(&h, &summary).await, want, "{n} operations");
            // A report that holds its whole list writes it as it is.
            assert_eq!(json(&h, &whole).await, want, "{n} operations");
            assert_eq!(
                kept.by_code(),
                whole.by_code(),
                "errors by code from the kept operations"
            );
        }
    }
}
