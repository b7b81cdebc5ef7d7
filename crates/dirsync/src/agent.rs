//! The agent: a loaded configuration and its open engine. It reads the
//! directory, hands the read to the engine, and runs the preflight.
//!
//! The engine builds and records every run report (a failed directory read
//! included); the agent decides only what to read and what to ask for.

use std::sync::Arc;

use anyhow::{Context, Result};
use dirsync_engine::{DirectoryInput, Engine, EngineError, Progress, RunOptions};
pub use dirsync_engine::{Mode, RunReport, RunStatus, Trigger};
use dirsync_model::catalogue::PanelFailure;
use serde::Serialize;

use crate::config::Loaded;
use crate::engine_settings::settings_for;
use crate::history::History;
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

impl RunRequest {
    fn options(&self) -> RunOptions {
        RunOptions {
            mode: self.mode,
            trigger: self.trigger,
            override_threshold: self.override_threshold,
        }
    }
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
    r.status.exit()
}

/// `text` without any of the configured secrets.
fn scrub(loaded: &Loaded, text: &str) -> String {
    let secrets: Vec<&crate::secret::Secret> = [
        &loaded.secrets.ldap_bind_password,
        &loaded.secrets.api_secret_key,
        &loaded.secrets.ui_admin_password,
    ]
    .into_iter()
    .flatten()
    .collect();
    crate::secret::scrub(text, &secrets)
}

/// The agent: configuration, the open engine and its run history.
#[derive(Clone)]
pub struct Agent {
    pub loaded: Arc<Loaded>,
    engine: Arc<Engine>,
    history: History,
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
        let history = History::of(&engine);
        Ok(Agent {
            loaded,
            engine: Arc::new(engine),
            history,
        })
    }

    /// Times every API request of the agent's runs (for `/metrics`).
    pub fn observe_requests(&self, observer: cloudoffice_api::observe::RequestObserver) -> bool {
        self.engine.observe_requests(observer)
    }

    /// The run history (read only).
    pub fn history(&self) -> &History {
        &self.history
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
        let api = self.engine.probe_target().await;
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
        let report = match source::read_whole(&self.loaded, Some(&*self.engine)).await {
            Err(e) => {
                probes.push(Probe {
                    name: "directory read",
                    ok: false,
                    detail: scrub(&self.loaded, &format!("{e:#}")),
                });
                None
            }
            Ok((snapshot, findings)) => {
                let input = DirectoryInput::Full {
                    snapshot,
                    cookie: None,
                };
                let opts = RunOptions {
                    mode: Mode::Check,
                    trigger: Trigger::Manual,
                    override_threshold: false,
                };
                let run =
                    self.engine
                        .run_read(std::time::Instant::now(), input, findings, opts, |_| {});
                match run.await {
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
    /// A directory read that fails is recorded by the engine as a failed
    /// run (DS202), so the history and the UI show it like any other run.
    pub async fn run(&self, req: RunRequest, progress: ProgressFn) -> Result<RunReport> {
        let started = std::time::Instant::now();
        let engine = &*self.engine;
        progress(&ProgressEvent {
            phase: "read_directory".into(),
            done: 0,
            total: 1,
        });
        let full = req.full || !engine.has_replica().await?;
        let cookie = if full { None } else { engine.cookie().await? };
        let (read, findings) =
            match source::read(&self.loaded, cookie.as_deref(), full, Some(engine), true).await {
                Ok(r) => r,
                Err(e) => {
                    let detail = scrub(&self.loaded, &format!("{e:#}"));
                    tracing::error!(error = %detail, "directory read failed");
                    return Ok(engine
                        .record_failed_read(started, req.options(), full, &detail)
                        .await?);
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
                DirectoryInput::Full { snapshot, cookie }
            }
            DirectoryRead::Staged {
                read,
                cookie,
                reason,
            } => {
                tracing::info!(objects = read.len(), %reason, "full directory read, staged");
                DirectoryInput::Staged { read, cookie }
            }
            DirectoryRead::Changes(c) => {
                tracing::info!(changes = c.changes.len(), "incremental directory read");
                DirectoryInput::Incremental(c)
            }
        };
        let p = progress.clone();
        let report = engine
            .run_read(
                started,
                input,
                findings,
                req.options(),
                move |e: Progress| {
                    p(&ProgressEvent {
                        phase: e.phase.to_string(),
                        done: e.done,
                        total: e.total,
                    });
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", scrub(&self.loaded, &e.to_string())))?;
        Ok(report)
    }
}

/// The kind of failure when `check` cannot read the control panel.
fn panel_failure(e: &EngineError) -> Option<PanelFailure> {
    use cloudoffice_api::client::ClientError;
    let EngineError::Client(c) = e else {
        return None;
    };
    Some(match c {
        ClientError::Transport { .. } => PanelFailure::Unreachable,
        // The documented answer is 403 "Authentication failed."; some
        // implementations answer 401.
        ClientError::Fault { status: 401, .. }
        | ClientError::Fault {
            rule: Some(cloudoffice_api::RuleViolation::AuthenticationFailed),
            ..
        } => PanelFailure::KeyRefused,
        ClientError::Fault { status: 403, .. } => PanelFailure::AccountForbidden,
        ClientError::Fault { status: 404, .. } => PanelFailure::NoSuchPath,
        ClientError::Fault { status, .. } if *status >= 500 => PanelFailure::ServerFailing,
        ClientError::Decode { .. } => PanelFailure::NotTheApi,
        _ => return None,
    })
}

/// What to do when `check` cannot read the control panel, by the kind of
/// failure (the text is the catalogue's): the admin sees the fix next to
/// the API's own words.
fn api_failure_fix(e: &EngineError, account: &str) -> Option<String> {
    panel_failure(e).map(|k| k.fix(account))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudoffice_api::client::ClientError;

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
}
