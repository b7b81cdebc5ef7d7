//! The facade the agent (CLI, service, web UI) calls.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cloudoffice_api::client::{Client, ClientConfig, ClientError};
use cloudoffice_api::observe::RequestObserver;
use dirsync_model::{
    Code, DirectoryChange, DirectoryChanges, DirectoryObject, DirectorySnapshot, Finding, Guid,
    Severity,
};
use tokio::sync::Mutex;

use crate::clock;
use crate::executor::Executor;
use crate::guard::{group_drops, Membership};
use crate::mapping::{desired_state, MappingSettings};
use crate::plan::DeletePolicy;
use crate::plan::PlanSettings;
use crate::reader::{self, ClientReader, TargetReader};
use crate::report::count;
use crate::report::*;
use crate::run_history::RunHistory;
use crate::settings::{EngineSettings, SettingsError};
use crate::store::{Commit, RunSummary, Store, StoreError};
use crate::types::*;
use crate::verify::{rfc3339, VerifiedObject};

/// What the directory said.
#[derive(Debug, Clone)]
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
}

impl DirectoryInput {
    pub fn is_full(&self) -> bool {
        matches!(self, DirectoryInput::Full { .. })
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
    settings: EngineSettings,
    client: Client,
    store: Store,
    running: Mutex<()>,
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
        Ok(Engine {
            settings,
            client,
            store,
            running: Mutex::new(()),
        })
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
        let _guard = self.running.lock().await;
        let started_at = clock::rfc3339(
            time::OffsetDateTime::now_utc()
                - time::Duration::try_from(started.elapsed()).unwrap_or_default(),
        );
        let full = input.is_full();
        let staging = self.settings.staging;
        let writes = opts.mode == Mode::Apply && !staging;
        if let DirectoryInput::Incremental(changes) = &input {
            if writes && changes.changes.is_empty() && !self.verification_due().await? {
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
            findings: Vec::new(),
            cookie_committed: false,
            api: ApiStats::default(),
            verification: Default::default(),
        };

        let result = self
            .run_inner(input, opts, writes, &mut report, &progress)
            .await;
        if let Err(e) = result {
            // Record what we can, then surface the error.
            report.status = RunStatus::Failed;
            report.summary = e.to_string();
            self.finish(&mut report, started, stats0).await;
            return Err(e);
        }
        self.finish(&mut report, started, stats0).await;
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
    fn clean_marker(&self, in_scope: u64) -> String {
        serde_json::json!({ "settings": self.plan_fingerprint(), "in_scope": in_scope }).to_string()
    }

    /// `Some(in_scope)` when an incremental read with no change may skip the
    /// control panel and the plan: the last committed apply did everything
    /// it planned with no error (nothing to retry), under the same
    /// plan-relevant settings, and no grace period has run out since.
    async fn idle_ok(&self) -> Result<Option<u64>, EngineError> {
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

    async fn finish(&self, report: &mut RunReport, started: Instant, stats0: (u64, u64, u64)) {
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
            if let Err(e) = self.store.run_finished(report).await {
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

    async fn run_inner(
        &self,
        input: DirectoryInput,
        opts: RunOptions,
        writes: bool,
        report: &mut RunReport,
        progress: &(impl Fn(Progress) + Send + Sync),
    ) -> Result<(), EngineError> {
        // 1. The directory: a full snapshot, or the replica with the changes
        // applied; and the groups' membership at the last sync.
        let mut last_sync = None;
        let (snapshot, commit): (DirectorySnapshot, DirCommit) = match input {
            DirectoryInput::Full { snapshot, cookie } => {
                if opts.mode == Mode::Apply && self.store.has_replica().await? {
                    last_sync = Some(Membership::of(&self.store.replica().await?));
                }
                (snapshot, DirCommit::Full { cookie })
            }
            DirectoryInput::Incremental(changes) => {
                if !self.store.has_replica().await? {
                    return Err(EngineError::NeedFullSync);
                }
                let mut replica = self.store.replica().await?;
                if opts.mode == Mode::Apply {
                    last_sync = Some(Membership::of(&replica));
                }
                let (upserts, deletes) = apply_changes(&mut replica, &changes);
                (
                    replica,
                    DirCommit::Incremental {
                        upserts,
                        deletes,
                        cookie: changes.cookie,
                    },
                )
            }
        };
        let anchors = self.store.anchors().await?;
        report.counts.synced_before = anchors.len() as u64;

        // 2. The empty/partial read guard.
        if let Some(why) = unsafe_read(&snapshot, &anchors, opts.override_threshold) {
            let f = Finding::new(Code::UnsafeDirectoryRead, None, None, [("detail", why)]);
            report.summary = f.message.clone();
            report.findings.push((&f).into());
            report.status = RunStatus::Failed;
            return Ok(());
        }

        // 3. Desired state (pure).
        let desired = desired_state(
            &snapshot,
            MappingSettings {
                sync_alternates: self.settings.sync_alternates,
            },
        );
        report.counts.in_scope = desired.in_scope.len() as u64;

        // 4. The control panel as the documented API shows it (listings,
        // and a GET of one object where a decision needs it), and the plan.
        progress(Progress {
            phase: "read_target",
            done: 0,
            total: 1,
        });
        let budget = match (writes, report.full) {
            (false, _) => 0,
            (true, false) => self.settings.verify.budget,
            (true, true) => self.settings.verify.full_budget,
        };
        report.verification.budget = budget;
        let verified = self.store.verified_times().await?;
        let rd = ClientReader::new(&self.client, &self.settings.target.customer);
        let known = reader::read_and_plan(
            &rd,
            &desired,
            &anchors,
            &PlanSettings {
                sync_alternates: self.settings.sync_alternates,
                allow_rename: self.settings.allow_rename,
                delete_policy: self.settings.delete_policy,
                now: clock::now_unix(),
            },
            &verified,
            budget as usize,
        )
        .await;
        report.verification.list_pages = rd.counts().pages();
        report.verification.object_reads = rd.counts().objects();
        let reader::KnownPlan {
            plan: the_plan,
            reads,
        } = match known {
            Ok(k) => k,
            Err(e) => {
                let f = Finding::new(
                    Code::TargetReadFailed,
                    None,
                    None,
                    [("detail", e.to_string())],
                );
                report.summary = f.message.clone();
                report.findings.push((&f).into());
                report.status = RunStatus::Failed;
                return Ok(());
            }
        };
        report.verification.needed_reads = reads
            .iter()
            .filter(|r| r.why != crate::known::ReadWhy::Verify)
            .count() as u64;
        let planned_for: std::collections::HashSet<Guid> =
            the_plan.ops.iter().filter_map(|o| o.guid).collect();
        for r in &reads {
            let (kind, service) = r.object.kind_service();
            report.verification.objects.push(VerifiedObject {
                guid: r.guid,
                kind,
                service,
                target: r.address.to_string(),
                drift: matches!(
                    r.why,
                    crate::known::ReadWhy::Verify | crate::known::ReadWhy::ListedDrift
                ) && planned_for.contains(&r.guid),
            });
        }
        progress(Progress {
            phase: "read_target",
            done: 1,
            total: 1,
        });
        progress(Progress {
            phase: "plan",
            done: 0,
            total: 1,
        });
        // The plan holds what the rest of the run needs; the desired state
        // is the largest structure besides the snapshot.
        drop(desired);
        drop(anchors);
        progress(Progress {
            phase: "plan",
            done: 1,
            total: 1,
        });
        report.findings = the_plan.findings.iter().map(ReportFinding::from).collect();
        report.operations = the_plan.ops.iter().map(OpOutcome::planned).collect();
        report.counts.planned = the_plan.ops.len() as u64;

        // 5. The safety limits, all reported when several hold: per group
        // (DS204, whatever the directory's size), then the whole directory (DS201).
        let mut stops: Vec<Finding> = match last_sync {
            Some(before) if !opts.override_threshold => group_drops(
                &before,
                &Membership::of(&snapshot),
                &self.settings.threshold,
            ),
            _ => Vec::new(),
        };
        let destructive = the_plan.destructive();
        let t = self.settings.threshold;
        if t.exceeded(destructive, the_plan.synced)
            && !opts.override_threshold
            && opts.mode == Mode::Apply
        {
            stops.push(Finding::new(
                Code::ThresholdExceeded,
                None,
                None,
                [
                    ("count", destructive.to_string()),
                    ("total", the_plan.synced.to_string()),
                    ("percent", t.percent.to_string()),
                    ("min_count", t.min_count.to_string()),
                ],
            ));
        }
        if let Some(first) = stops.first() {
            report.summary = first.message.clone();
            report
                .findings
                .extend(stops.iter().map(ReportFinding::from));
            report.status = RunStatus::ThresholdStopped;
            count(report);
            return Ok(());
        }

        // 6. Apply.
        if writes {
            let total = the_plan.ops.len() as u64;
            progress(Progress {
                phase: "apply",
                done: 0,
                total,
            });
            if !the_plan.ops.is_empty() {
                // From here the control panel changes: until this run's
                // commit, the last clean run no longer describes it.
                self.store.clear_clean().await?;
            }
            let exec = Executor {
                client: &self.client,
                customer: &self.settings.target.customer,
                concurrency: self.settings.concurrency,
                store: &self.store,
            };
            let cb = |n: usize| {
                progress(Progress {
                    phase: "apply",
                    done: n as u64,
                    total,
                });
            };
            let planned = std::mem::take(&mut report.operations);
            report.operations = exec.run(&the_plan.ops, planned, &cb).await;
            // Anchors whose operations all succeeded.
            let ok: std::collections::HashSet<u32> = report
                .operations
                .iter()
                .filter(|o| o.result == OpResult::Done)
                .map(|o| o.seq)
                .collect();
            let mut put: Vec<&Anchor> = Vec::new();
            let mut forget: Vec<Guid> = Vec::new();
            for u in &the_plan.anchors {
                if u.after.iter().all(|s| ok.contains(s)) {
                    match &u.anchor {
                        Some(a) => put.push(a),
                        None => forget.push(u.guid),
                    }
                }
            }
            // Nothing left to retry: every operation done, no error finding.
            let clean = report.operations.iter().all(|o| o.result == OpResult::Done)
                && !report
                    .findings
                    .iter()
                    .any(|f| f.severity == Severity::Error);
            let marker = clean.then(|| self.clean_marker(report.counts.in_scope));
            // The anchors, the directory state and its cookie, together in
            // one transaction, once the changes are applied. Objects that
            // failed are retried by the next run, which recomputes them from
            // the replica against the control panel.
            let mut c = Commit {
                anchors: &put,
                forget: &forget,
                clean: marker.as_deref(),
                ..Commit::default()
            };
            let ups: Vec<&DirectoryObject>;
            match &commit {
                DirCommit::Full { cookie } => {
                    c.full = Some(&snapshot);
                    c.cookie = cookie.as_deref();
                }
                DirCommit::Incremental {
                    upserts,
                    deletes,
                    cookie,
                } => {
                    ups = snapshot
                        .objects
                        .iter()
                        .filter(|o| upserts.contains(&o.guid))
                        .collect();
                    c.upserts = &ups;
                    c.deletes = deletes;
                    c.cookie = Some(cookie);
                }
            }
            self.store.commit(c).await?;
            report.cookie_committed = true;
            self.record_verified(report).await?;
        }
        let (never, oldest) = self.store.verification_coverage().await?;
        report.verification.never_verified = never;
        report.verification.oldest_verified_at = oldest.map(rfc3339);
        count(report);
        Ok(())
    }
}

impl Engine {
    /// Records as verified, now, the objects whose details this run read
    /// and the objects it created, where every operation on them succeeded:
    /// their state in the control panel is then the one dirsync wants.
    async fn record_verified(&self, report: &RunReport) -> Result<(), EngineError> {
        let mut ok: BTreeMap<Guid, bool> = BTreeMap::new();
        for v in &report.verification.objects {
            ok.insert(v.guid, v.drift);
        }
        for o in &report.operations {
            if let (Some(g), OpKind::Create) = (o.guid, o.op) {
                ok.entry(g).or_insert(false);
            }
        }
        for o in &report.operations {
            if o.result != OpResult::Done {
                if let Some(g) = o.guid {
                    ok.remove(&g);
                }
            }
        }
        let list: Vec<(Guid, bool)> = ok.into_iter().collect();
        self.store
            .record_verified(&list, crate::verify::now_ms())
            .await?;
        Ok(())
    }
}

impl Engine {
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

enum DirCommit {
    Full {
        cookie: Option<Vec<u8>>,
    },
    Incremental {
        upserts: std::collections::HashSet<Guid>,
        deletes: Vec<Guid>,
        cookie: Vec<u8>,
    },
}

/// Applies incremental changes to a replica; returns the upserted GUIDs and the deleted ones.
pub fn apply_changes(
    replica: &mut DirectorySnapshot,
    changes: &DirectoryChanges,
) -> (std::collections::HashSet<Guid>, Vec<Guid>) {
    let mut by_guid: BTreeMap<Guid, DirectoryObject> =
        replica.objects.drain(..).map(|o| (o.guid, o)).collect();
    let mut upserts = std::collections::HashSet::new();
    let mut deletes = Vec::new();
    for c in &changes.changes {
        match c {
            DirectoryChange::Upsert(o) => {
                upserts.insert(o.guid);
                by_guid.insert(o.guid, o.clone());
            }
            DirectoryChange::Delete { guid, .. } => {
                upserts.remove(guid);
                by_guid.remove(guid);
                deletes.push(*guid);
            }
        }
    }
    replica.objects = by_guid.into_values().collect();
    (upserts, deletes)
}

/// The empty/partial read guard: `Some(why)` when the read must not be
/// taken as "these objects left". `allow_empty_groups` (the run's threshold
/// override) accepts service groups that were found but have no member, so
/// an administrator can deliberately empty them; a read with no objects at
/// all, or without a service group that synced objects belong to, is
/// always refused.
pub fn unsafe_read(
    s: &DirectorySnapshot,
    anchors: &[Anchor],
    allow_empty_groups: bool,
) -> Option<String> {
    if anchors.is_empty() {
        return None;
    }
    if s.objects.is_empty() {
        return Some(
            "the directory read returned no objects at all while objects are synced".into(),
        );
    }
    let has = |svc: Service| {
        anchors
            .iter()
            .any(|a| a.service == svc && a.kind == TargetKind::Mailbox)
    };
    let ex_only = anchors.iter().any(|a| a.kind != TargetKind::Mailbox);
    if (has(Service::Exchange) || ex_only) && s.exchange_group.is_none() {
        return Some("the Hosted Exchange service group was not found in the read while objects of it are synced".into());
    }
    if has(Service::RsEmail) && s.rsemail_group.is_none() {
        return Some("the Rackspace Email service group was not found in the read while objects of it are synced".into());
    }
    let members = |g: Option<Guid>| {
        g.and_then(|g| s.objects.iter().find(|o| o.guid == g))
            .map(|o| o.members.len())
            .unwrap_or(0)
    };
    if !allow_empty_groups && members(s.exchange_group) + members(s.rsemail_group) == 0 {
        return Some(
            "the service groups came back without any member while objects are synced".into(),
        );
    }
    None
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
