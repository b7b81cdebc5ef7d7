//! The facade the agent (CLI, service, web UI) calls.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cloudoffice_api::client::{Client, ClientConfig, ClientError};
use cloudoffice_api::observe::RequestObserver;
use dirsync_model::{DirectoryChange, DirectoryChanges, DirectorySnapshot, Finding};
use tokio::sync::Mutex;

use crate::clock;
use crate::plan::DeletePolicy;
use crate::reader::{self, ClientReader};
use crate::report::*;
use crate::run_history::RunHistory;
use crate::settings::{EngineSettings, SettingsError};
use crate::store::{RunSummary, Store, StoreError};
use crate::types::*;

/// Kept here for callers of the engine module (they moved to the modules
/// that own them).
pub use crate::guard::unsafe_read;
pub use crate::replica_diff::apply_changes;

/// What the directory said.
#[derive(Debug)]
pub enum DirectoryInput {
    /// A complete, successful read of everything in scope. `cookie`, when
    /// given, is committed together with the changes this run applies.
    Full {
        snapshot: DirectorySnapshot,
        cookie: Option<Vec<u8>>,
    },
    /// What changed since the committed cookie. Applied to the local replica,
    /// from which the desired state is recomputed.
    Incremental(DirectoryChanges),
    /// A complete read staged in the state store as it was read
    /// ([`Engine::stage_full`]): a full read that is never held whole.
    Staged {
        read: crate::staged::StagedRead,
        cookie: Option<Vec<u8>>,
    },
}

impl DirectoryInput {
    pub fn is_full(&self) -> bool {
        matches!(
            self,
            DirectoryInput::Full { .. } | DirectoryInput::Staged { .. }
        )
    }
}

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    pub mode: Mode,
    pub trigger: Trigger,
    /// Apply even when the disable/delete threshold is exceeded (this run only).
    pub override_threshold: bool,
}

/// Progress of a run, for progress bars and the UI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// `read_target`, `plan`, `apply` or `done`.
    pub phase: &'static str,
    pub done: u64,
    pub total: u64,
}

/// Why the engine could not run at all (a run that ran reports problems in
/// its [`RunReport`] instead).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("API client: {0}")]
    Client(#[from] ClientError),
    /// The plan's operations could not be written to, or read back from,
    /// their temporary files ([`crate::spill`]).
    #[error("the plan's temporary files (the system's temporary directory): {0}; check its free space and permissions")]
    PlanSpill(std::io::Error),
    #[error("an incremental sync needs a completed full sync first (no directory replica in the state store); run a full sync")]
    NeedFullSync,
}

/// A summary of the control panel for `dirsync check`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TargetProbe {
    pub domains: Vec<String>,
}

/// The sync engine: settings, API client and state store.
pub struct Engine {
    pub(crate) settings: EngineSettings,
    pub(crate) client: Client,
    pub(crate) store: Store,
    /// Operations applied per part of a plan read back from its spill.
    pub(crate) apply_batch: usize,
    running: Mutex<()>,
    /// Held by a staged read from its first chunk to its run's end: the
    /// staging table holds one read at a time.
    staging: std::sync::Arc<Mutex<()>>,
}

impl Engine {
    /// Opens the state store at `state_db` (created and migrated if needed)
    /// and prepares the API client. Makes no API call.
    pub async fn open(state_db: &Path, settings: EngineSettings) -> Result<Engine, EngineError> {
        settings.validate()?;
        let client = Client::new(ClientConfig {
            base_url: settings.target.base_url.clone(),
            user_key: settings.target.user_key.clone(),
            secret: settings.target.secret.clone(),
            user_agent: settings.target.user_agent.clone(),
            rate_limit: settings.rate_limit,
            retry: settings.retry,
        })?;
        let store = Store::open(state_db).await?;
        // The key's per-minute limits, counted with every other process on
        // this state store (a new `dirsync sync` knows what the last spent).
        let scope = crate::pace::scope_of(&settings.target.base_url, &settings.target.customer);
        client.share_budget(std::sync::Arc::new(
            crate::pace::StoreBudget::open(state_db, scope).await?,
        ));
        Ok(Engine {
            settings,
            client,
            store,
            apply_batch: crate::spill::BATCH,
            running: Mutex::new(()),
            staging: Default::default(),
        })
    }

    /// Sets how many of a plan's operations a run reads back from the
    /// plan's spill and applies at a time ([`crate::spill::BATCH`] unless
    /// set): memory against the stall at each part's end. Tests set a tiny
    /// batch to show the plan's order and the apply's rules hold across
    /// parts.
    pub fn set_apply_batch(&mut self, n: usize) {
        self.apply_batch = n.max(1);
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// Times every API request of this engine's runs (dirsync's `/metrics`).
    /// Returns false, keeping the first, when an observer was set before.
    pub fn observe_requests(&self, observer: RequestObserver) -> bool {
        self.client.stats().observer.set(observer)
    }

    /// The run history, read only, on this engine's state store.
    pub fn history(&self) -> RunHistory {
        RunHistory::of(self.store.clone())
    }

    /// The committed directory cookie, to hand to the directory reader.
    pub async fn cookie(&self) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.store.cookie().await?)
    }

    /// True once a full sync has been committed (incremental syncs need it).
    pub async fn has_replica(&self) -> Result<bool, EngineError> {
        Ok(self.store.has_replica().await?)
    }

    /// The changes that turn the committed replica into `snapshot` (a whole
    /// read of a source without change tracking, such as an LDIF file), or
    /// `None` when only a full sync can take it (see
    /// [`crate::replica_diff::changes_since_replica`]).
    pub async fn changes_since_replica(
        &self,
        snapshot: &DirectorySnapshot,
    ) -> Result<Option<Vec<DirectoryChange>>, EngineError> {
        Ok(crate::replica_diff::changes_since_replica(&self.store, snapshot).await?)
    }

    /// What a streamed comparison with the committed replica needs: each
    /// object's GUID and content hash, or `None` when no replica was
    /// committed yet (see [`crate::replica_diff::ReplicaIndex`]).
    pub async fn replica_index(
        &self,
    ) -> Result<Option<crate::replica_diff::ReplicaIndex>, EngineError> {
        Ok(crate::replica_diff::replica_index(&self.store).await?)
    }

    /// These objects as the committed replica holds them (as last synced),
    /// for those it holds: what stands in for an object whose directory
    /// record could not be read.
    pub async fn replica_objects(
        &self,
        guids: &[dirsync_model::Guid],
    ) -> Result<Vec<dirsync_model::DirectoryObject>, EngineError> {
        Ok(self.store.replica_objects(guids).await?)
    }

    /// The deletions of these replica objects, each with its last DN (the
    /// objects a streamed comparison never met).
    pub async fn replica_deletions(
        &self,
        guids: &[dirsync_model::Guid],
    ) -> Result<Vec<DirectoryChange>, EngineError> {
        Ok(crate::replica_diff::deletions(&self.store, guids).await?)
    }

    /// Tests authentication and reads the customer's domains.
    pub async fn probe_target(&self) -> Result<TargetProbe, EngineError> {
        let domains = self.client.domains(&self.settings.target.customer).await?;
        Ok(TargetProbe {
            domains: domains.into_iter().map(|d| d.name).collect(),
        })
    }

    /// The most recent runs, newest first.
    pub async fn runs(&self, limit: u32) -> Result<Vec<RunSummary>, EngineError> {
        Ok(self.store.runs(limit).await?)
    }

    /// One run's report.
    pub async fn run_report(&self, id: i64) -> Result<Option<RunReport>, EngineError> {
        Ok(self.store.run_report(id).await?)
    }

    /// Reads the whole control panel in detail: every listing and a GET of
    /// every mailbox, contact and list (see [`reader::read_everything`]).
    /// For inspection and tests: a run reads only what its plan needs.
    pub async fn read_target(&self) -> Result<TargetState, ClientError> {
        let r = ClientReader::new(&self.client, &self.settings.target.customer);
        reader::read_everything(&r).await
    }

    /// Runs a sync (or a check, or a plan). Never two at once per engine.
    ///
    /// Returns `Err` only when the run could not be recorded at all (state
    /// store failure, or an incremental run without a replica); every other
    /// problem is in the report's status and findings.
    pub async fn run(
        &self,
        input: DirectoryInput,
        opts: RunOptions,
        progress: impl Fn(Progress) + Send + Sync,
    ) -> Result<RunReport, EngineError> {
        self.run_since(Instant::now(), input, opts, progress).await
    }

    /// Starts staging a full read in the state store, a chunk at a time
    /// ([`crate::staged::Stager::push`]), for a run given it as
    /// [`DirectoryInput::Staged`]: the read is never held whole. Waits
    /// while another staged read's run is under way.
    pub async fn stage_full(&self) -> Result<crate::staged::Stager, EngineError> {
        Ok(crate::staged::Stager::begin(self.store.clone(), self.staging.clone()).await?)
    }

    /// [`Engine::run`] for a run that began at `started`, before the
    /// directory read that produced `input`: the run's start time and
    /// duration then include the read, which is most of a small run.
    pub async fn run_since(
        &self,
        started: Instant,
        input: DirectoryInput,
        opts: RunOptions,
        progress: impl Fn(Progress) + Send + Sync,
    ) -> Result<RunReport, EngineError> {
        self.run_read(started, input, Vec::new(), opts, progress)
            .await
    }

    /// [`Engine::run_since`] with the findings of the directory read (an
    /// LDIF record that could not be read: DS107, DS108), reported with
    /// the run's own; an error among them makes the run's status
    /// `object_errors` while the other objects sync, and keeps a run whose
    /// directory did not change from finishing idle (it would not report
    /// them).
    pub async fn run_read(
        &self,
        started: Instant,
        input: DirectoryInput,
        read_findings: Vec<Finding>,
        opts: RunOptions,
        progress: impl Fn(Progress) + Send + Sync,
    ) -> Result<RunReport, EngineError> {
        // A whole read's run stages it (`Store::stage_replica`): the
        // staging lock first, as a staged read takes it before the run.
        let _staging = match &input {
            DirectoryInput::Full { .. } => Some(self.staging.clone().lock_owned().await),
            _ => None,
        };
        let _guard = self.running.lock().await;
        let started_at = clock::rfc3339(
            time::OffsetDateTime::now_utc()
                - time::Duration::try_from(started.elapsed()).unwrap_or_default(),
        );
        let full = input.is_full();
        let staging = self.settings.staging;
        let writes = opts.mode == Mode::Apply && !staging;
        if let DirectoryInput::Incremental(changes) = &input {
            if writes
                && changes.changes.is_empty()
                && read_findings.is_empty()
                && !self.verification_due().await?
            {
                if let Some(in_scope) = self.idle_ok().await? {
                    return self
                        .idle_run(
                            opts,
                            started,
                            started_at,
                            in_scope,
                            &changes.cookie,
                            &progress,
                        )
                        .await;
                }
            }
        }
        let id = if opts.mode == Mode::Check {
            0
        } else {
            self.store
                .run_started(
                    &started_at,
                    trigger_str(opts.trigger),
                    mode_str(opts.mode),
                    full,
                )
                .await?
        };
        let stats0 = (
            self.client.stats().requests.load(Ordering::Relaxed),
            self.client.stats().retries.load(Ordering::Relaxed),
            self.client.stats().throttled.load(Ordering::Relaxed),
        );
        let mut report = RunReport {
            id,
            trigger: opts.trigger,
            mode: opts.mode,
            full,
            staging,
            started_at,
            finished_at: String::new(),
            duration_ms: 0,
            status: RunStatus::Success,
            exit_code: 0,
            summary: String::new(),
            counts: Counts::default(),
            operations: Vec::new(),
            findings: read_findings.iter().map(ReportFinding::from).collect(),
            cookie_committed: false,
            operations_stored: false,
            api: ApiStats::default(),
            verification: Default::default(),
        };

        let mut ops_written = false;
        let result = self
            .run_inner(
                input,
                opts,
                writes,
                &mut report,
                &mut ops_written,
                &progress,
            )
            .await;
        if let Err(e) = result {
            // Record what we can, then surface the error.
            report.status = RunStatus::Failed;
            report.summary = e.to_string();
            self.finish(&mut report, started, stats0, ops_written).await;
            return Err(e);
        }
        self.finish(&mut report, started, stats0, ops_written).await;
        progress(Progress {
            phase: "done",
            done: 1,
            total: 1,
        });
        Ok(report)
    }

    /// The plan-relevant settings, kept with the clean marker: a change of
    /// any of them means the last clean run no longer proves there is
    /// nothing to do.
    fn plan_fingerprint(&self) -> String {
        format!(
            "v1 base_url={} customer={} sync_alternates={} allow_rename={} delete_policy={:?}",
            self.settings.target.base_url,
            self.settings.target.customer,
            self.settings.sync_alternates,
            self.settings.allow_rename,
            self.settings.delete_policy,
        )
    }

    /// The clean marker's value for a run that applied everything it planned.
    pub(crate) fn clean_marker(&self, in_scope: u64) -> String {
        serde_json::json!({ "settings": self.plan_fingerprint(), "in_scope": in_scope }).to_string()
    }

    /// `Some(in_scope)` when an incremental read with no change may skip the
    /// control panel and the plan: the last committed apply did everything
    /// it planned with no error (nothing to retry), under the same
    /// plan-relevant settings, and no grace period has run out since.
    pub(crate) async fn idle_ok(&self) -> Result<Option<u64>, EngineError> {
        let Some(marker) = self.store.clean_marker().await? else {
            return Ok(None);
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&marker) else {
            return Ok(None);
        };
        if v["settings"].as_str() != Some(self.plan_fingerprint().as_str()) {
            return Ok(None);
        }
        if !self.store.has_replica().await? {
            return Ok(None);
        }
        if let DeletePolicy::AfterGrace { days } = self.settings.delete_policy {
            if let Some(since) = self.store.earliest_disabled_at().await? {
                let now = clock::now_unix();
                if now - since >= days as i64 * 86_400 {
                    return Ok(None);
                }
            }
        }
        Ok(Some(v["in_scope"].as_u64().unwrap_or(0)))
    }

    /// True when an incremental run with no directory change should still
    /// read the control panel, to verify: the last verification is older
    /// than [`crate::verify::VerifySettings::idle_after_secs`].
    async fn verification_due(&self) -> Result<bool, EngineError> {
        let v = self.settings.verify;
        if v.budget == 0 || self.store.anchor_count().await? == 0 {
            return Ok(false);
        }
        let now = crate::verify::now_ms();
        Ok(match self.store.last_verified().await? {
            None => true,
            Some(t) => now.saturating_sub(t) >= (v.idle_after_secs as i64).saturating_mul(1000),
        })
    }

    /// Records an incremental run that had nothing to do and commits its
    /// cookie, without reading the control panel or planning.
    async fn idle_run(
        &self,
        opts: RunOptions,
        started: Instant,
        started_at: String,
        in_scope: u64,
        cookie: &[u8],
        progress: &(impl Fn(Progress) + Send + Sync),
    ) -> Result<RunReport, EngineError> {
        let synced = self.store.anchor_count().await?;
        let mut report = RunReport {
            id: 0,
            trigger: opts.trigger,
            mode: opts.mode,
            full: false,
            staging: false,
            started_at,
            finished_at: clock::now_rfc3339(),
            duration_ms: 0,
            status: RunStatus::Success,
            exit_code: 0,
            summary: "nothing changed in the directory since the last run, which completed without error: nothing to do (the control panel is compared in full by the next full sync)".into(),
            counts: Counts {
                in_scope,
                synced_before: synced,
                ..Counts::default()
            },
            operations: Vec::new(),
            findings: Vec::new(),
            cookie_committed: true,
            operations_stored: false,
            api: ApiStats::default(),
            verification: Default::default(),
        };
        report.duration_ms = started.elapsed().as_millis() as u64;
        self.store.record_idle_run(&mut report, cookie).await?;
        self.prune_history().await;
        progress(Progress {
            phase: "done",
            done: 1,
            total: 1,
        });
        Ok(report)
    }

    /// Completes the report and records it; `ops_written` says the
    /// operations' outcome rows are already in the store.
    async fn finish(
        &self,
        report: &mut RunReport,
        started: Instant,
        stats0: (u64, u64, u64),
        ops_written: bool,
    ) {
        report.finished_at = clock::now_rfc3339();
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.exit_code = report.status.exit_code();
        let s = self.client.stats();
        report.api = ApiStats {
            requests: s.requests.load(Ordering::Relaxed) - stats0.0,
            retries: s.retries.load(Ordering::Relaxed) - stats0.1,
            throttled: s.throttled.load(Ordering::Relaxed) - stats0.2,
        };
        if report.id != 0 {
            if let Err(e) = self.store.record_finished(report, ops_written).await {
                tracing::error!(error = %e, run = report.id, "could not record the run's report");
            }
            self.prune_history().await;
        }
    }

    /// Applies the history retention after a run is recorded. A failure
    /// costs only disk space, so it is logged and the run's result stands.
    async fn prune_history(&self) {
        let keep = self.settings.history;
        let now = clock::now_unix();
        match self.store.prune_history(keep, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deleted = n,
                keep_days = keep.keep_days,
                keep_runs = keep.keep_runs,
                "run history: deleted runs older than the retention"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "run history: could not delete old runs; the history keeps growing until this succeeds");
            }
        }
    }

    /// Records a run whose directory read failed (`detail`, scrubbed of
    /// secrets by the caller) as a failed run with DS202, begun at `started`
    /// (before the read). A check is reported but not recorded.
    pub async fn record_failed_read(
        &self,
        started: Instant,
        opts: RunOptions,
        full: bool,
        detail: &str,
    ) -> Result<RunReport, EngineError> {
        crate::failed_read::record(&self.store, started, opts, full, detail).await
    }
}

pub(crate) fn trigger_str(t: Trigger) -> &'static str {
    match t {
        Trigger::Manual => "manual",
        Trigger::Schedule => "schedule",
        Trigger::FullSchedule => "full_schedule",
        Trigger::Ui => "ui",
        Trigger::Demo => "demo",
    }
}

pub(crate) fn mode_str(m: Mode) -> &'static str {
    match m {
        Mode::Check => "check",
        Mode::Plan => "plan",
        Mode::Apply => "apply",
    }
}
