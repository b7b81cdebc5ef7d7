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

    /// Every synced object with when it was last verified in the control panel.
    pub async fn synced_objects(&self) -> Result<Vec<SyncedObject>> {
        Ok(self.runs.synced_objects().await?)
    }
}
