//! The long-running side: one run at a time, live progress, the scheduler,
//! `/healthz` and `/metrics` figures, and `dirsync serve` itself.
//!
//! A [`Service`] is shared by the scheduler, the web UI and signal handlers.
//! Inside the process a gate lets one run at a time; across processes the
//! file lock ([`crate::lock`]) held for the service's whole life does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::agent::{self, Agent, Mode, ProgressEvent, RunReport, RunRequest, Trigger};
use crate::config::Loaded;
use crate::metrics::{Gauges, Metrics};
use crate::view;
use crate::Exit;

/// What is running right now.
#[derive(Debug, Clone, Serialize)]
pub struct Running {
    pub trigger: Trigger,
    pub full: bool,
    pub started_unix: i64,
    pub phase: String,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Default)]
struct Live {
    running: Option<Running>,
    last_id: Option<i64>,
    last_error: Option<String>,
    last_finished_unix: Option<i64>,
    last_success_unix: Option<i64>,
    last_duration_secs: f64,
    last_exit: Option<u8>,
    last_changes: u64,
    last_errors: u64,
    last_warnings: u64,
    next_incremental_unix: Option<i64>,
    next_full_unix: Option<i64>,
}

/// The live state shown by `/api/status` and the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub running: Option<Running>,
    pub last_run_id: Option<i64>,
    pub last_error: Option<String>,
    pub last_finished_unix: Option<i64>,
    pub next_incremental_unix: Option<i64>,
    pub next_full_unix: Option<i64>,
    pub scheduled: bool,
}

/// Why a manual trigger was not accepted.
#[derive(Debug, thiserror::Error)]
#[error("a sync is already running; wait for it to finish")]
pub struct Busy;

/// Shared by the scheduler, the UI and the signal handlers.
pub struct Service {
    pub agent: Agent,
    pub loaded: Arc<Loaded>,
    gate: Arc<tokio::sync::Mutex<()>>,
    live: Mutex<Live>,
    started: Instant,
    /// True under `serve` (a scheduler runs); false in `demo`.
    pub scheduled: bool,
    /// Bumped after every finished run, for anyone waiting on one.
    finished_tx: watch::Sender<u64>,
    /// What `/metrics` exports.
    pub metrics: Arc<Metrics>,
}

impl Service {
    pub fn new(agent: Agent, loaded: Arc<Loaded>, scheduled: bool) -> Arc<Service> {
        let (finished_tx, _) = watch::channel(0);
        let metrics = Arc::new(Metrics::new());
        agent.observe_requests(metrics.request_observer());
        Arc::new(Service {
            agent,
            loaded,
            gate: Arc::new(tokio::sync::Mutex::new(())),
            live: Mutex::new(Live::default()),
            started: Instant::now(),
            scheduled,
            finished_tx,
            metrics,
        })
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn status(&self) -> Status {
        let l = self.live();
        Status {
            running: l.running.clone(),
            last_run_id: l.last_id,
            last_error: l.last_error.clone(),
            last_finished_unix: l.last_finished_unix,
            next_incremental_unix: l.next_incremental_unix,
            next_full_unix: l.next_full_unix,
            scheduled: self.scheduled,
        }
    }

    pub fn set_next(&self, incremental: Option<OffsetDateTime>, full: Option<OffsetDateTime>) {
        let mut l = self.live();
        l.next_incremental_unix = incremental.map(OffsetDateTime::unix_timestamp);
        l.next_full_unix = full.map(OffsetDateTime::unix_timestamp);
    }

    pub fn subscribe_finished(&self) -> watch::Receiver<u64> {
        self.finished_tx.subscribe()
    }

    /// Runs one sync now, waiting for any running one to finish first.
    pub async fn run_now(self: &Arc<Self>, full: bool, trigger: Trigger) -> Result<RunReport> {
        let guard = self.gate.clone().lock_owned().await;
        self.run_locked(full, trigger, guard).await
    }

    /// Starts a sync in the background unless one is running.
    pub fn try_start(self: &Arc<Self>, full: bool, trigger: Trigger) -> Result<(), Busy> {
        let guard = self.gate.clone().try_lock_owned().map_err(|_| Busy)?;
        let me = self.clone();
        // Mark it running before returning, so the page the UI redirects to shows it.
        me.live().running = Some(Running {
            trigger,
            full,
            started_unix: OffsetDateTime::now_utc().unix_timestamp(),
            phase: "starting".into(),
            done: 0,
            total: 0,
        });
        tokio::spawn(async move {
            let _ = me.run_locked(full, trigger, guard).await;
        });
        Ok(())
    }

    async fn run_locked(
        self: &Arc<Self>,
        full: bool,
        trigger: Trigger,
        _guard: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<RunReport> {
        let t0 = Instant::now();
        self.live().running = Some(Running {
            trigger,
            full,
            started_unix: OffsetDateTime::now_utc().unix_timestamp(),
            phase: "reading directory".into(),
            done: 0,
            total: 0,
        });
        let me = Arc::downgrade(self);
        let progress: agent::ProgressFn = Arc::new(move |p: &ProgressEvent| {
            if let Some(s) = me.upgrade() {
                if let Some(r) = s.live().running.as_mut() {
                    r.phase = p.phase.clone();
                    r.done = p.done;
                    r.total = p.total;
                }
            }
        });
        tracing::info!(?trigger, full, "sync starting");
        let req = RunRequest {
            mode: Mode::Apply,
            full,
            trigger,
            override_threshold: false,
        };
        let result = self.agent.run(req, progress).await;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        {
            let mut l = self.live();
            l.running = None;
            l.last_finished_unix = Some(now);
            l.last_duration_secs = t0.elapsed().as_secs_f64();
            match &result {
                Ok(r) => {
                    let s = view::summary(r);
                    let exit = agent::exit_for(r);
                    l.last_id = Some(r_id(r));
                    l.last_error = None;
                    l.last_exit = Some(exit.code());
                    l.last_changes = s.changes;
                    l.last_errors = s.errors;
                    l.last_warnings = s.warnings;
                    if exit == Exit::Success || exit == Exit::ObjectErrors {
                        l.last_success_unix = Some(now);
                    }
                    tracing::info!(run = s.id, status = s.outcome.as_str(), changes = s.changes, errors = s.errors, warnings = s.warnings, duration = %s.duration, "sync finished");
                }
                Err(e) => {
                    l.last_error = Some(format!("{e:#}"));
                    l.last_exit = Some(Exit::Failure.code());
                    tracing::error!(error = %format!("{e:#}"), "sync failed");
                }
            }
        }
        let took = t0.elapsed();
        self.metrics
            .run_finished(full, took, result.as_ref().map_err(|_| ()));
        self.finished_tx.send_modify(|n| *n += 1);
        result
    }

    /// The current plan (a dry run of a full read), for the Preview page.
    /// It runs in check mode, so previews are not recorded in the history.
    pub async fn preview(&self) -> Result<RunReport> {
        let _g = self.gate.lock().await;
        let req = RunRequest {
            mode: Mode::Check,
            full: true,
            trigger: Trigger::Ui,
            override_threshold: false,
        };
        self.agent.run(req, Arc::new(|_: &ProgressEvent| {})).await
    }

    /// The `/metrics` text (OpenMetrics; see [`crate::metrics`]).
    pub fn metrics_text(&self) -> String {
        let g = {
            let l = self.live();
            Gauges {
                uptime: self.started.elapsed(),
                in_progress: l.running.is_some(),
                last_finished_unix: l.last_finished_unix,
                last_success_unix: l.last_success_unix,
                last_duration_secs: l.last_duration_secs,
                last_exit: l.last_exit,
                last_changes: l.last_changes,
                last_errors: l.last_errors,
                last_warnings: l.last_warnings,
                next_incremental_unix: l.next_incremental_unix,
                next_full_unix: l.next_full_unix,
            }
        };
        self.metrics.encode(&g)
    }
}

fn r_id(r: &RunReport) -> i64 {
    view::summary(r).id
}

/// Resolves on Ctrl-C, SIGTERM, or the Windows service stop (see [`crate::platform`]).
pub use crate::platform::shutdown_signal;

/// The scheduler: an incremental sync every `interval`, a full one every `full_every`.
///
/// The first run happens at start (the engine reads in full when it holds no
/// cookie yet). A run that overlaps a due time is not doubled: the next one
/// is scheduled from the end of the last.
pub async fn scheduler(
    svc: Arc<Service>,
    interval: Duration,
    full_every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut manual_trigger = crate::platform::ManualTrigger::new();
    let mut next_inc = tokio::time::Instant::now();
    let mut next_full = tokio::time::Instant::now() + first_full_delay(&svc, full_every).await;
    loop {
        let to_wall = |t: tokio::time::Instant| {
            OffsetDateTime::now_utc() + t.saturating_duration_since(tokio::time::Instant::now())
        };
        svc.set_next(Some(to_wall(next_inc)), Some(to_wall(next_full)));
        let full_due = next_full <= next_inc;
        let when = if full_due { next_full } else { next_inc };
        let manual = manual_trigger.recv();
        let (full, trigger) = tokio::select! {
            _ = tokio::time::sleep_until(when) => if full_due { (true, Trigger::FullSchedule) } else { (false, Trigger::Schedule) },
            _ = manual => { tracing::info!("{}: manual sync requested", crate::platform::ManualTrigger::NAME); (false, Trigger::Manual) }
            _ = stop.changed() => return,
        };
        if *stop.borrow() {
            return;
        }
        let _ = svc.run_now(full, trigger).await;
        let now = tokio::time::Instant::now();
        next_inc = now + interval;
        if full {
            next_full = now + full_every;
        }
    }
}

/// How long until the first full reconcile: `full_every` after the last
/// full sync that was applied (so restarts do not postpone it forever), or
/// `full_every` from now when there is none (the first run reads in full anyway).
async fn first_full_delay(svc: &Service, full_every: Duration) -> Duration {
    let runs = svc.agent.history().runs(500).await.unwrap_or_default();
    let last_full = runs.iter().find(|r| {
        r.full && r.mode == "apply" && r.status != "running" && r.status != "interrupted"
    });
    let Some(started) = last_full.and_then(|r| {
        OffsetDateTime::parse(
            &r.started_at,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
    }) else {
        return full_every;
    };
    let due = started + full_every;
    let now = OffsetDateTime::now_utc();
    if due <= now {
        Duration::ZERO
    } else {
        (due - now).try_into().unwrap_or(full_every)
    }
}

/// `dirsync serve`.
pub async fn serve(loaded: Arc<Loaded>) -> Result<Exit> {
    let lock = crate::lock::SyncLock::try_acquire(&loaded.state_path())?;
    let agent = Agent::open(loaded.clone()).await?;
    let svc = Service::new(agent, loaded.clone(), true);
    let addr: SocketAddr = loaded.listen().context("ui.listen")?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (ui.listen); is another process using the port?")
    })?;
    let local = listener.local_addr()?;
    let app = crate::web::app(crate::web::WebState::new(
        svc.clone(),
        local,
        loaded.config.ui.enabled,
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let sched = tokio::spawn(scheduler(
        svc.clone(),
        loaded.interval(),
        loaded.full_every(),
        stop_rx,
    ));
    tracing::info!(listen = %local, interval = %crate::config::format_duration(loaded.interval()), full_every = %crate::config::format_duration(loaded.full_every()), lock = %lock.path().display(), "dirsync serve started");
    eprintln!("dirsync serve: web UI on http://{local}/  (health: /healthz, metrics: /metrics)");
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested: finishing the current sync, then stopping");
        let _ = stop_tx.send(true);
    });
    server.await.context("web server")?;
    // The scheduler stops between runs; a run in progress is allowed to finish.
    let _ = sched.await;
    let _g = svc.gate.lock().await;
    drop(lock);
    tracing::info!("dirsync serve stopped");
    Ok(Exit::Success)
}
