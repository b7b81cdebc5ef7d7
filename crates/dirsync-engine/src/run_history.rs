//! The run history, read only: what `dirsync history`, the web UI's history
//! and object pages read, without the API settings a run needs.
//!
//! Why a type of its own: the agent reads the history both with an open
//! [`crate::Engine`] (from [`crate::Engine::history`]) and without one (the
//! `history` command on a machine whose API settings are not filled in).
//! Either way it can only read: every run is written by the engine.

use std::path::Path;

use crate::report::RunReport;
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

    /// Every synced object with when it was last verified in the control panel.
    pub async fn synced_objects(&self) -> Result<Vec<SyncedObject>, StoreError> {
        self.store.synced_objects().await
    }
}
