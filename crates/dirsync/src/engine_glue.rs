//! The only module that calls `dirsync-engine`: settings, runs, history, and
//! the small display helpers the CLI and the UI share.
//!
//! The run records themselves are the engine's [`RunReport`] and
//! [`RunSummary`]; nothing here keeps a copy of them. [`Summary`] and
//! [`OpRow`] are display projections of those records.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use dirsync_engine::store::Store;
pub use dirsync_engine::{
    Counts, Mode, OpOutcome, OpResult, ReportFinding, RunReport, RunStatus, RunSummary, Trigger,
};
use dirsync_engine::{
    DirectoryInput, Engine, EngineSettings, Progress, RunOptions, Secret, TargetSettings,
};
use dirsync_model::{Code, Finding};
use serde::Serialize;

use crate::config::Loaded;
use crate::source::{self, DirectoryRead};
use crate::Exit;

/// Progress as the CLI bar and the UI show it.
#[derive(Debug, Clone, Serialize)]
pub struct ProgressEvent {
    pub phase: String,
    pub done: u64,
    pub total: u64,
}

/// A progress sink shared across tasks.
pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct RunRequest {
    pub mode: Mode,
    /// Read the whole directory (otherwise incremental when a cookie and a replica exist).
    pub full: bool,
    pub trigger: Trigger,
    pub override_threshold: bool,
}

/// One preflight test.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The result of `dirsync check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub probes: Vec<Probe>,
    /// The predicted findings (a check-mode run report), when the probes passed.
    pub report: Option<RunReport>,
}

impl CheckOutcome {
    pub fn exit(&self) -> Exit {
        if self.probes.iter().any(|p| !p.ok) {
            return Exit::Failure;
        }
        self.report.as_ref().map(exit_for).unwrap_or(Exit::Failure)
    }
}

/// The exit code for a run report.
pub fn exit_for(r: &RunReport) -> Exit {
    match r.status {
        RunStatus::Success => Exit::Success,
        RunStatus::ObjectErrors => Exit::ObjectErrors,
        RunStatus::Failed => Exit::Failure,
        RunStatus::ThresholdStopped => Exit::Threshold,
    }
}

fn placeholder_target() -> TargetSettings {
    TargetSettings {
        base_url: "https://unconfigured.invalid/v1".into(),
        user_key: "unconfigured".into(),
        secret: Secret::new("unconfigured"),
        customer: "me".into(),
        user_agent: format!("dirsync/{}", env!("CARGO_PKG_VERSION")),
    }
}

/// The engine's settings as a TOML table, without `target` (which comes from `[api]`).
pub fn default_engine_table() -> toml::Table {
    let mut t = toml::Value::try_from(EngineSettings::new(placeholder_target()))
        .ok()
        .and_then(|v| v.as_table().cloned())
        .unwrap_or_default();
    t.remove("target");
    t
}

/// The `[engine]` settings in effect: the configured keys over the
/// defaults, so the Settings page shows thresholds, policies and limits an
/// admin never wrote down. `None` when the table is not valid.
pub fn effective_engine_table(config: &crate::config::Config) -> Option<toml::Table> {
    let mut s = settings_with(&config.engine, placeholder_target()).ok()?;
    per_request_timeout(config, &mut s);
    let mut t = toml::Value::try_from(s).ok()?.as_table().cloned()?;
    t.remove("target");
    Some(t)
}

/// Builds the engine settings: `[engine]` plus the target from `[api]` and the secrets.
fn settings_with(table: &toml::Table, target: TargetSettings) -> Result<EngineSettings, String> {
    if table.contains_key("target") {
        return Err("`target` is not an [engine] key: the API address, user key and account are set in [api], the secret key in the secrets file".into());
    }
    let mut t = table.clone();
    t.insert(
        "target".into(),
        toml::Value::try_from(&target).map_err(|e| e.to_string())?,
    );
    let mut s: EngineSettings = crate::config::from_table(t).map_err(|(at, msg)| {
        if at.is_empty() {
            msg
        } else {
            format!("{at}: {msg}")
        }
    })?;
    s.target.secret = target.secret;
    s.validate().map_err(|e| e.to_string())?;
    Ok(s)
}

/// Validates the `[engine]` table alone (used by config validation).
pub fn engine_settings(table: &toml::Table) -> Result<(), String> {
    settings_with(table, placeholder_target()).map(|_| ())
}

/// The engine settings for a loaded configuration.
pub fn settings_for(loaded: &Loaded) -> Result<EngineSettings> {
    let api = &loaded.config.api;
    let target = TargetSettings {
        base_url: api.url.clone().unwrap_or_default(),
        user_key: api.user_key.clone().unwrap_or_default(),
        secret: Secret::new(
            loaded
                .secrets
                .api_secret_key
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default(),
        ),
        customer: api.account.clone().unwrap_or_else(|| "me".into()),
        user_agent: format!("dirsync/{}", env!("CARGO_PKG_VERSION")),
    };
    let mut s = settings_with(&loaded.config.engine, target)
        .map_err(|e| anyhow::anyhow!("engine settings: {e}"))?;
    per_request_timeout(&loaded.config, &mut s);
    Ok(s)
}

/// `engine.retry.timeout_ms` defaults to `api.timeout`.
fn per_request_timeout(config: &crate::config::Config, s: &mut EngineSettings) {
    let timeout_ms = Some(config.api.timeout.as_millis() as u64);
    if let Some(ms) = timeout_ms {
        if config
            .engine
            .get("retry")
            .and_then(|r| r.get("timeout_ms"))
            .is_none()
        {
            s.retry.timeout_ms = ms;
        }
    }
}

fn scrub(loaded: &Loaded, text: &str) -> String {
    let secrets: Vec<&Secret> = [
        &loaded.secrets.ldap_bind_password,
        &loaded.secrets.api_secret_key,
        &loaded.secrets.ui_admin_password,
    ]
    .into_iter()
    .flatten()
    .collect();
    crate::secret::scrub(text, &secrets)
}

fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The agent: configuration, engine (when the API is configured) and the run history.
#[derive(Clone)]
pub struct Agent {
    pub loaded: Arc<Loaded>,
    engine: Option<Arc<Engine>>,
    store: Store,
}

impl Agent {
    /// Opens the engine (state store + API client; no network call).
    pub async fn open(loaded: Arc<Loaded>) -> Result<Agent> {
        let state = loaded.state_path();
        if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "creating the state directory {} (state.path)",
                    dir.display()
                )
            })?;
        }
        crate::private_file::restrict_sqlite(&state).with_context(|| {
            format!(
                "making the state store {} private (mode 0600) (state.path)",
                state.display()
            )
        })?;
        let settings = settings_for(&loaded)?;
        let engine = Engine::open(&state, settings)
            .await
            .with_context(|| format!("opening the state store {} (state.path)", state.display()))?;
        let store = engine.store().clone();
        Ok(Agent {
            loaded,
            engine: Some(Arc::new(engine)),
            store,
        })
    }

    /// The API client runs use (its clones share pacing, stats and observer),
    /// so `/metrics` can time its requests; `None` for a history-only agent.
    pub fn api_client(&self) -> Option<&cloudoffice_api::client::Client> {
        self.engine.as_deref().map(Engine::client)
    }

    /// Opens only the run history (for `dirsync history`, which needs no API settings).
    pub async fn open_history(loaded: Arc<Loaded>) -> Result<Agent> {
        let state = loaded.state_path();
        if !state.exists() {
            anyhow::bail!("there is no state store at {} (state.path) yet; it is created by the first `dirsync sync`", state.display());
        }
        let store = Store::open(&state)
            .await
            .with_context(|| format!("opening the state store {} (state.path)", state.display()))?;
        Ok(Agent {
            loaded,
            engine: None,
            store,
        })
    }

    fn engine(&self) -> Result<&Engine> {
        self.engine
            .as_deref()
            .context("the engine is not open (API settings missing)")
    }

    /// The preflight: directory, API, then the predicted findings.
    pub async fn check(&self) -> CheckOutcome {
        let mut probes = vec![Probe {
            name: "configuration",
            ok: true,
            detail: format!("{} is valid", self.loaded.path.display()),
        }];
        probes.push(Probe {
            name: "state store",
            ok: true,
            detail: self.loaded.state_path().display().to_string(),
        });
        let dir = source::probe(&self.loaded).await;
        probes.push(match &dir {
            Ok(d) => Probe {
                name: "directory",
                ok: true,
                detail: d.clone(),
            },
            Err(e) => Probe {
                name: "directory",
                ok: false,
                detail: scrub(&self.loaded, &format!("{e:#}")),
            },
        });
        let engine = match self.engine() {
            Ok(e) => e,
            Err(e) => {
                probes.push(Probe {
                    name: "control panel",
                    ok: false,
                    detail: format!("{e:#}"),
                });
                return CheckOutcome {
                    probes,
                    report: None,
                };
            }
        };
        let api = engine.probe_target().await;
        let account = self.loaded.config.api.account.clone().unwrap_or_default();
        probes.push(match &api {
            Ok(p) => Probe {
                name: "control panel",
                ok: true,
                detail: format!(
                    "authenticated; account {account} hosts {}",
                    p.domains.join(", ")
                ),
            },
            Err(e) => Probe {
                name: "control panel",
                ok: false,
                detail: scrub(
                    &self.loaded,
                    &match api_failure_fix(e, &account) {
                        Some(fix) => format!("{}; {fix}", e.to_string().trim_end_matches('.')),
                        None => e.to_string(),
                    },
                ),
            },
        });
        if dir.is_err() || api.is_err() {
            return CheckOutcome {
                probes,
                report: None,
            };
        }
        let report = match source::read(&self.loaded, None, true).await {
            Err(e) => {
                probes.push(Probe {
                    name: "directory read",
                    ok: false,
                    detail: scrub(&self.loaded, &format!("{e:#}")),
                });
                None
            }
            Ok(read) => {
                let input = match read {
                    DirectoryRead::Full { snapshot, .. } => DirectoryInput::Full {
                        snapshot,
                        cookie: None,
                    },
                    DirectoryRead::Changes(_) => unreachable!("a full read never returns changes"),
                };
                let opts = RunOptions {
                    mode: Mode::Check,
                    trigger: Trigger::Manual,
                    override_threshold: false,
                };
                match engine.run(input, opts, |_| {}).await {
                    Ok(r) => Some(r),
                    Err(e) => {
                        probes.push(Probe {
                            name: "prediction",
                            ok: false,
                            detail: e.to_string(),
                        });
                        None
                    }
                }
            }
        };
        CheckOutcome { probes, report }
    }

    /// Reads the directory and runs the engine once.
    ///
    /// A directory read that fails is recorded as a failed run (DS202) so the
    /// history and the UI show it like any other run.
    pub async fn run(&self, req: RunRequest, progress: ProgressFn) -> Result<RunReport> {
        let started = std::time::Instant::now();
        let engine = self.engine()?;
        progress(&ProgressEvent {
            phase: "read_directory".into(),
            done: 0,
            total: 1,
        });
        let full = req.full || !engine.has_replica().await?;
        let cookie = if full { None } else { engine.cookie().await? };
        let read = match source::read(&self.loaded, cookie.as_deref(), full).await {
            Ok(r) => r,
            Err(e) => {
                return self
                    .record_read_failure(req, full, started, &format!("{e:#}"))
                    .await
            }
        };
        progress(&ProgressEvent {
            phase: "read_directory".into(),
            done: 1,
            total: 1,
        });
        let input = match read {
            DirectoryRead::Full {
                snapshot,
                cookie,
                reason,
            } => {
                tracing::info!(objects = snapshot.objects.len(), %reason, "full directory read");
                self.whole_read_input(engine, full, snapshot, cookie)
                    .await?
            }
            DirectoryRead::Changes(c) => {
                tracing::info!(changes = c.changes.len(), "incremental directory read");
                DirectoryInput::Incremental(c)
            }
        };
        let opts = RunOptions {
            mode: req.mode,
            trigger: req.trigger,
            override_threshold: req.override_threshold,
        };
        let p = progress.clone();
        let report = engine
            .run_since(started, input, opts, move |e: Progress| {
                p(&ProgressEvent {
                    phase: e.phase.to_string(),
                    done: e.done,
                    total: e.total,
                });
            })
            .await
            .map_err(|e| anyhow::anyhow!("{}", scrub(&self.loaded, &e.to_string())))?;
        Ok(report)
    }

    /// The engine input for a whole read of the directory. A source without
    /// change tracking (LDIF: its cookie is the file's fingerprint) that is
    /// not asked for a full sync hands over only what changed since the
    /// committed replica, so a rerun costs what changed, not a full sync;
    /// when the replica cannot say (none yet, or another scope) the read
    /// is a full sync.
    async fn whole_read_input(
        &self,
        engine: &Engine,
        full: bool,
        snapshot: dirsync_model::DirectorySnapshot,
        cookie: Option<Vec<u8>>,
    ) -> Result<DirectoryInput> {
        let fingerprint = cookie
            .as_deref()
            .is_some_and(crate::ldif_fingerprint::is_fingerprint);
        if full || !fingerprint {
            return Ok(DirectoryInput::Full { snapshot, cookie });
        }
        match engine.changes_since_replica(&snapshot).await? {
            Some(changes) => {
                tracing::info!(
                    changes = changes.len(),
                    "LDIF file compared with the replica"
                );
                Ok(DirectoryInput::Incremental(
                    dirsync_model::DirectoryChanges {
                        changes,
                        cookie: cookie.unwrap_or_default(),
                        method: dirsync_model::ChangeTracking::LdifDiff,
                    },
                ))
            }
            None => Ok(DirectoryInput::Full { snapshot, cookie }),
        }
    }

    async fn record_read_failure(
        &self,
        req: RunRequest,
        full: bool,
        started: std::time::Instant,
        detail: &str,
    ) -> Result<RunReport> {
        let detail = scrub(&self.loaded, detail);
        tracing::error!(error = %detail, "directory read failed");
        let started_at = rfc3339(
            time::OffsetDateTime::now_utc()
                - time::Duration::try_from(started.elapsed()).unwrap_or_default(),
        );
        let id = if req.mode == Mode::Check {
            0
        } else {
            self.store
                .run_started(&started_at, &word(&req.trigger), &word(&req.mode), full)
                .await?
        };
        let f = Finding::new(
            Code::UnsafeDirectoryRead,
            None,
            None,
            [("detail", format!("reading the directory failed: {detail}"))],
        );
        let report = RunReport {
            id,
            trigger: req.trigger,
            mode: req.mode,
            full,
            staging: false,
            started_at: started_at.clone(),
            finished_at: now_rfc3339(),
            duration_ms: started.elapsed().as_millis() as u64,
            status: RunStatus::Failed,
            exit_code: 2,
            summary: f.message.clone(),
            counts: Counts {
                errors: 1,
                ..Counts::default()
            },
            operations: Vec::new(),
            findings: vec![ReportFinding::from(&f)],
            cookie_committed: false,
            api: Default::default(),
            verification: Default::default(),
        };
        if id != 0 {
            self.store.run_finished(&report).await?;
        }
        Ok(report)
    }

    /// The most recent runs, newest first.
    pub async fn history(&self, limit: u32) -> Result<Vec<RunSummary>> {
        Ok(self.store.runs(limit).await?)
    }

    /// One run's full report.
    pub async fn report(&self, id: i64) -> Result<Option<RunReport>> {
        Ok(self.store.run_report(id).await?)
    }

    /// Every synced object with when it was last verified in the control panel.
    pub async fn synced_objects(&self) -> Result<Vec<dirsync_engine::SyncedObject>> {
        Ok(self.store.synced_objects().await?)
    }
}

/// One run, reduced to what lists and charts show.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: i64,
    pub mode: String,
    pub kind: String,
    pub trigger: String,
    pub status: String,
    /// CSS class / machine word: success, errors, failed, threshold, running.
    pub status_class: &'static str,
    pub started: String,
    pub duration: String,
    pub created: u64,
    pub updated: u64,
    pub disabled: u64,
    pub deleted: u64,
    pub in_scope: u64,
    pub changes: u64,
    pub errors: u64,
    pub warnings: u64,
}

impl Summary {
    pub fn counts_line(&self) -> String {
        format!(
            "{} in scope; {} created, {} updated, {} disabled, {} deleted ({} changes); {} error(s), {} warning(s)",
            self.in_scope, self.created, self.updated, self.disabled, self.deleted, self.changes, self.errors, self.warnings
        )
    }
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// `2026-11-25 12:00:00 UTC`.
pub fn fmt_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

fn fmt_rfc3339(s: &str) -> String {
    parse_time(s).map(fmt_time).unwrap_or_else(|| s.to_string())
}

fn status_class(s: &str) -> &'static str {
    match s {
        "success" => "success",
        "object_errors" => "errors",
        "failed" | "interrupted" => "failed",
        "threshold_stopped" => "threshold",
        _ => "running",
    }
}

fn status_label(s: &str) -> String {
    match s {
        "success" => "Success".into(),
        "object_errors" => "Finished with errors".into(),
        "failed" => "Failed".into(),
        "threshold_stopped" => "Stopped by threshold".into(),
        "interrupted" => "Interrupted".into(),
        "running" => "Running".into(),
        other => other.to_string(),
    }
}

fn changes(c: &Counts) -> u64 {
    c.created
        + c.updated
        + c.renamed
        + c.enabled
        + c.disabled
        + c.deleted
        + c.addresses_added
        + c.addresses_removed
        + c.members_added
        + c.members_removed
}

fn fill(mut s: Summary, c: &Counts) -> Summary {
    s.created = c.created;
    s.updated = c.updated;
    s.disabled = c.disabled;
    s.deleted = c.deleted;
    s.in_scope = c.in_scope;
    s.changes = changes(c);
    s.errors = c.errors;
    s.warnings = c.warnings;
    s
}

fn blank(
    id: i64,
    mode: String,
    full: bool,
    trigger: String,
    status: &str,
    started: &str,
    duration: String,
) -> Summary {
    Summary {
        id,
        mode,
        kind: if full {
            "full".into()
        } else {
            "incremental".into()
        },
        trigger,
        status: status_label(status),
        status_class: status_class(status),
        started: fmt_rfc3339(started),
        duration,
        created: 0,
        updated: 0,
        disabled: 0,
        deleted: 0,
        in_scope: 0,
        changes: 0,
        errors: 0,
        warnings: 0,
    }
}

/// A run's duration for people: milliseconds below a second (a small run
/// takes tens of them, which `0.0s` hid), seconds with a tenth above.
pub fn fmt_duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{} ms", (secs.max(0.0) * 1000.0).round() as u64)
    } else {
        format!("{secs:.1}s")
    }
}

/// The display summary of a full report.
pub fn summary(r: &RunReport) -> Summary {
    let s = blank(
        r.id,
        word(&r.mode),
        r.full,
        word(&r.trigger),
        &word(&r.status),
        &r.started_at,
        fmt_duration(r.duration_ms as f64 / 1000.0),
    );
    fill(s, &r.counts)
}

/// The display summary of a history entry.
pub fn summary_of(r: &RunSummary) -> Summary {
    let duration = match (
        parse_time(&r.started_at),
        r.finished_at.as_deref().and_then(parse_time),
    ) {
        (Some(a), Some(b)) => fmt_duration((b - a).as_seconds_f64()),
        _ => "—".into(),
    };
    let s = blank(
        r.id,
        r.mode.clone(),
        r.full,
        r.trigger.clone(),
        &r.status,
        &r.started_at,
        duration,
    );
    match &r.counts {
        Some(c) => fill(s, c),
        None => s,
    }
}

/// The objects under one code: (DN, rendered message).
pub type AffectedList = Vec<(Option<String>, String)>;

/// Errors and warnings grouped by code with the affected objects (DN, message),
/// findings and failed operations alike.
pub fn by_code(r: &RunReport) -> BTreeMap<Code, AffectedList> {
    r.by_code()
        .into_iter()
        .map(|(c, v)| (c, v.into_iter().map(|a| (a.dn, a.message)).collect()))
        .collect()
}

/// One planned or applied operation, for tables.
#[derive(Debug, Clone, Serialize)]
pub struct OpRow {
    pub action: String,
    pub kind: String,
    pub target: String,
    pub dn: String,
    pub reason: String,
    pub result: String,
    pub code: Option<Code>,
    pub message: Option<String>,
}

/// The operations of a run, in plan order.
pub fn operations(r: &RunReport) -> Vec<OpRow> {
    r.operations
        .iter()
        .map(|o| {
            let mut action = o.op.as_str().replace('_', " ");
            if let Some(a) = &o.address {
                action = format!("{action} {a}");
            }
            OpRow {
                action,
                kind: format!("{} {}", o.service.as_str(), o.kind.as_str()),
                target: o.target.clone(),
                dn: o.dn.clone().unwrap_or_else(|| o.label.clone()),
                reason: o.reason.clone(),
                result: word(&o.result),
                code: o.code,
                message: o.message.clone(),
            }
        })
        .collect()
}

/// What to do when `check` cannot read the control panel, by the kind of
/// failure: the admin sees the fix next to the API's own words.
fn api_failure_fix(e: &dirsync_engine::EngineError, account: &str) -> Option<String> {
    use cloudoffice_api::client::ClientError;
    let dirsync_engine::EngineError::Client(c) = e else {
        return None;
    };
    Some(match c {
        ClientError::Transport { .. } => "nothing answered at api.url: check the address and port, and that this machine can reach it (firewall, proxy)".into(),
        // The documented answer is 403 "Authentication failed."; some
        // implementations answer 401.
        ClientError::Fault { status: 401, .. }
        | ClientError::Fault {
            rule: Some(cloudoffice_api::RuleViolation::AuthenticationFailed),
            ..
        } => "the API refused the key: check api.user_key, the secret key (api_secret_key in the secrets file, or DIRSYNC_API_SECRET_KEY), and this machine's clock, since signatures carry the time".into(),
        ClientError::Fault { status: 403, .. } => format!("this API key may not reach account {account}: check api.account (a key reaches only its own customer's account)"),
        ClientError::Fault { status: 404, .. } => format!("no such API path: check that api.url ends with the version prefix (e.g. https://api.emailsrvr.com/v1) and that account {account} exists"),
        ClientError::Fault { status, .. } if *status >= 500 => "the control panel failed after the retries; try again later, or ask its operator".into(),
        ClientError::Decode { .. } => "the address answered, but not as a Cloud Office API: check api.url".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudoffice_api::client::ClientError;
    use dirsync_engine::EngineError;

    fn fault(status: u16) -> EngineError {
        EngineError::Client(ClientError::Fault {
            method: "GET".into(),
            path: "/customers/42/domains".into(),
            status,
            message: "x".into(),
            details: String::new(),
            rule: None,
            attempts: 1,
        })
    }

    /// `history` showed 0.0 s for every run: runs of a small directory take
    /// tens of milliseconds.
    #[test]
    fn durations_show_milliseconds() {
        for (secs, want) in [
            (0.0, "0 ms"),
            (0.0424, "42 ms"),
            (0.9994, "999 ms"),
            (1.0, "1.0s"),
            (75.25, "75.2s"),
        ] {
            assert_eq!(fmt_duration(secs), want, "{secs}");
        }
        let run = RunSummary {
            id: 1,
            started_at: "2026-12-07T01:00:00.1Z".into(),
            finished_at: Some("2026-12-07T01:00:00.137Z".into()),
            trigger: "manual".into(),
            mode: "apply".into(),
            full: true,
            status: "success".into(),
            counts: None,
        };
        assert_eq!(summary_of(&run).duration, "37 ms");
    }

    #[test]
    fn each_control_panel_failure_has_its_fix() {
        let transport = EngineError::Client(ClientError::Transport {
            method: "GET".into(),
            path: "/".into(),
            detail: "refused".into(),
            attempts: 6,
        });
        let decode = EngineError::Client(ClientError::Decode {
            method: "GET".into(),
            path: "/".into(),
            detail: "not JSON".into(),
        });
        for (e, want) in [
            (transport, Some("nothing answered at api.url")),
            (fault(401), Some("check api.user_key, the secret key")),
            (
                EngineError::Client(ClientError::Fault {
                    method: "GET".into(),
                    path: "/customers/42/domains".into(),
                    status: 403,
                    message: "Authentication failed.".into(),
                    details: String::new(),
                    rule: Some(cloudoffice_api::RuleViolation::AuthenticationFailed),
                    attempts: 1,
                }),
                Some("check api.user_key, the secret key"),
            ),
            (
                fault(403),
                Some("may not reach account 42: check api.account"),
            ),
            (fault(404), Some("ends with the version prefix")),
            (fault(503), Some("try again later")),
            (decode, Some("not as a Cloud Office API")),
            (fault(409), None),
            (EngineError::NeedFullSync, None),
        ] {
            let got = api_failure_fix(&e, "42");
            match want {
                Some(w) => assert!(got.as_deref().unwrap_or("").contains(w), "{e}: {got:?}"),
                None => assert_eq!(got, None, "{e}"),
            }
        }
    }

    #[test]
    fn effective_engine_settings_merge_the_file_over_the_defaults() {
        let mut c = crate::config::Config::default();
        c.api.timeout = std::time::Duration::from_secs(45);
        c.engine = "[threshold]\npercent = 5\n".parse().unwrap();
        let t = effective_engine_table(&c).unwrap();
        let int = |section: &str, key: &str| t[section][key].as_integer();
        assert_eq!(int("threshold", "percent"), Some(5));
        assert_eq!(int("threshold", "min_count"), Some(25));
        assert_eq!(int("retry", "timeout_ms"), Some(45_000));
        assert_eq!(int("history", "keep_days"), Some(90));
        assert!(!t.contains_key("target"));
        // An explicit timeout_ms wins over api.timeout; an invalid table shows nothing.
        c.engine = "[retry]\ntimeout_ms = 1000\n".parse().unwrap();
        let t = effective_engine_table(&c).unwrap();
        assert_eq!(t["retry"]["timeout_ms"].as_integer(), Some(1000));
        c.engine = "concurrency = 0\n".parse().unwrap();
        assert_eq!(effective_engine_table(&c), None);
    }
}
