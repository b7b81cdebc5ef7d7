//! The run history reader: `dirsync history` and the web UI's history,
//! report and object pages. It reads the engine's records and writes none.
//!
//! It opens without the API settings a run needs, so `dirsync history`
//! works on a machine whose `[api]` is not filled in; with an open
//! [`crate::agent::Agent`] it shares the engine's state store.

use anyhow::{Context, Result};
use dirsync_engine::{Engine, RunHistory, RunReport, RunSummary, SyncedObject};

use crate::config::Loaded;

/// Reads runs and synced objects from the state store.
#[derive(Debug, Clone)]
pub struct History {
    runs: RunHistory,
}

impl History {
    /// Opens the configured state store for reading. It must exist: the
    /// first `dirsync sync` creates it.
    pub async fn open(loaded: &Loaded) -> Result<History> {
        let state = loaded.state_path();
        if !state.exists() {
            anyhow::bail!("there is no state store at {} (state.path) yet; it is created by the first `dirsync sync`", state.display());
        }
        let runs = RunHistory::open(&state)
            .await
            .with_context(|| format!("opening the state store {} (state.path)", state.display()))?;
        Ok(History { runs })
    }

    /// The history of an open engine.
    pub fn of(engine: &Engine) -> History {
        History {
            runs: engine.history(),
        }
    }

    /// The most recent runs, newest first.
    pub async fn runs(&self, limit: u32) -> Result<Vec<RunSummary>> {
        Ok(self.runs.runs(limit).await?)
    }

    /// One run's full report.
    pub async fn report(&self, id: i64) -> Result<Option<RunReport>> {
        Ok(self.runs.run_report(id).await?)
    }

    /// One run's report with, of its operations, only those that failed or
    /// were skipped when the others are in the history: what `history show`
    /// and the metrics need, whatever the run's size.
    pub async fn report_summary(&self, id: i64) -> Result<Option<RunReport>> {
        Ok(self.runs.run_report_summary(id).await?)
    }

    /// Up to `limit` operations of run `id` from position `from` on, in
    /// plan order, each with its position.
    pub async fn operations_page(
        &self,
        id: i64,
        from: usize,
        limit: usize,
    ) -> Result<Vec<(usize, dirsync_engine::OpOutcome)>> {
        Ok(self.runs.operations_page(id, from, limit).await?)
    }

    /// Prints `report` on standard output as pretty JSON, with its whole
    /// list of operations read from the history a page at a time when the
    /// report does not hold it.
    pub async fn print_json(&self, report: &RunReport) -> Result<()> {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        self.runs
            .write_report_json(report, &mut out)
            .await
            .context("writing the run report as JSON")?;
        std::io::Write::flush(&mut out).context("writing the run report as JSON")?;
        Ok(())
    }

    /// Every synced object with when it was last verified in the control panel.
    pub async fn synced_objects(&self) -> Result<Vec<SyncedObject>> {
        Ok(self.runs.synced_objects().await?)
    }
}
