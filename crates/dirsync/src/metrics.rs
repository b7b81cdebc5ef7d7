//! The `/metrics` exposition: typed counters, gauges and histograms kept
//! with `prometheus-client` and written in the OpenMetrics text format.
//!
//! Counters and histograms are updated when things happen (a run finishes,
//! an API request is answered); the gauges mirror the service's live state
//! and are set from a [`Gauges`] snapshot at each scrape. The names are a
//! public contract: `packaging/grafana-dashboard.json` queries them, and a
//! test checks that every name it queries is exported.

use std::sync::Arc;
use std::time::Duration;

use cloudoffice_api::observe::RequestTiming;
use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::view;
use dirsync_engine::RunReport;

/// The Content-Type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The run statuses `dirsync_runs_total` always shows, even at zero.
pub const RUN_STATUSES: [&str; 4] = ["success", "errors", "failed", "threshold"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    method: &'static str,
    /// `2xx`, `3xx`, `4xx`, `5xx`, or `error` when no answer came.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    code: &'static str,
    severity: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Run durations: 0.25 s to 36 h in doublings. A small incremental sync
/// takes well under a second (the demo's: 0.15 to 0.21 s); a throttled first sync
/// of 10,000 users (30 writes a minute) about 17 hours.
fn run_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.25, 2.0, 20))
}

/// API request latency: 5 ms to 41 s in doublings (the client's default
/// timeout is 30 s).
fn api_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// The gauge values of one scrape, read from the service's live state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    pub uptime: Duration,
    pub in_progress: bool,
    pub last_finished_unix: Option<i64>,
    pub last_success_unix: Option<i64>,
    pub last_duration_secs: f64,
    pub last_exit: Option<u8>,
    pub last_changes: u64,
    pub last_errors: u64,
    pub last_warnings: u64,
    pub next_incremental_unix: Option<i64>,
    pub next_full_unix: Option<i64>,
}

/// Every metric the service exports, registered once.
pub struct Metrics {
    registry: Registry,
    up: Gauge,
    uptime: Gauge,
    in_progress: Gauge,
    runs: Family<StatusLabel, Counter>,
    last_finished: Gauge,
    last_success: Gauge,
    last_duration: Gauge<f64, std::sync::atomic::AtomicU64>,
    last_exit: Gauge,
    last_changes: Gauge,
    last_errors: Gauge,
    last_warnings: Gauge,
    next_sync: Family<KindLabel, Gauge>,
    run_duration: Histograms<KindLabel>,
    api_latency: Histograms<ApiLabels>,
    findings: Family<FindingLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let m = Metrics {
            registry: Registry::default(),
            up: Gauge::default(),
            uptime: Gauge::default(),
            in_progress: Gauge::default(),
            runs: Family::default(),
            last_finished: Gauge::default(),
            last_success: Gauge::default(),
            last_duration: Gauge::default(),
            last_exit: Gauge::default(),
            last_changes: Gauge::default(),
            last_errors: Gauge::default(),
            last_warnings: Gauge::default(),
            next_sync: Family::default(),
            run_duration: Family::new_with_constructor(run_buckets),
            api_latency: Family::new_with_constructor(api_buckets),
            findings: Family::default(),
        };
        for status in RUN_STATUSES {
            let _ = m.runs.get_or_create(&StatusLabel { status });
        }
        for kind in ["full", "incremental"] {
            let _ = m.run_duration.get_or_create(&KindLabel { kind });
        }
        m.register()
    }

    fn register(mut self) -> Metrics {
        let r = &mut self.registry;
        let s = Unit::Seconds;
        r.register(
            "dirsync_up",
            "1 while the dirsync service runs",
            self.up.clone(),
        );
        r.register_with_unit(
            "dirsync_uptime",
            "Seconds since the service started",
            s.clone(),
            self.uptime.clone(),
        );
        r.register(
            "dirsync_sync_in_progress",
            "1 while a sync runs",
            self.in_progress.clone(),
        );
        r.register(
            "dirsync_runs",
            "Syncs finished by this process, by status",
            self.runs.clone(),
        );
        r.register_with_unit(
            "dirsync_run_duration",
            "Duration of each finished sync, by kind (full or incremental)",
            s.clone(),
            self.run_duration.clone(),
        );
        r.register_with_unit(
            "dirsync_api_request_duration",
            "Cloud Office API request latency, each attempt (retries too), by method and outcome",
            s.clone(),
            self.api_latency.clone(),
        );
        r.register(
            "dirsync_findings",
            "Errors and warnings reported by finished syncs, by catalogue code",
            self.findings.clone(),
        );
        r.register_with_unit(
            "dirsync_last_run_timestamp",
            "When the last sync finished (Unix time, 0 if none)",
            s.clone(),
            self.last_finished.clone(),
        );
        r.register_with_unit(
            "dirsync_last_success_timestamp",
            "When the last sync that reached the end finished (Unix time)",
            s.clone(),
            self.last_success.clone(),
        );
        r.register_with_unit(
            "dirsync_last_run_duration",
            "Duration of the last sync",
            s.clone(),
            self.last_duration.clone(),
        );
        r.register(
            "dirsync_last_run_exit_code",
            "Exit code the last sync would have had (0 ok, 1 object errors, 2 failure, 3 threshold)",
            self.last_exit.clone(),
        );
        r.register(
            "dirsync_last_run_changes",
            "Changes applied by the last sync",
            self.last_changes.clone(),
        );
        r.register(
            "dirsync_last_run_errors",
            "Object errors in the last sync",
            self.last_errors.clone(),
        );
        r.register(
            "dirsync_last_run_warnings",
            "Warnings in the last sync",
            self.last_warnings.clone(),
        );
        r.register_with_unit(
            "dirsync_next_sync_timestamp",
            "When the next scheduled sync is due (Unix time)",
            s,
            self.next_sync.clone(),
        );
        self
    }

    /// Records a finished run (or one that could not run: `Err`): its status,
    /// its duration and the codes of its errors and warnings.
    pub fn run_finished(&self, full: bool, took: Duration, outcome: Result<&RunReport, ()>) {
        let kind = if full { "full" } else { "incremental" };
        self.run_duration
            .get_or_create(&KindLabel { kind })
            .observe(took.as_secs_f64());
        let status = match outcome {
            Ok(r) => view::summary(r).outcome.as_str(),
            Err(()) => "failed",
        };
        self.runs.get_or_create(&StatusLabel { status }).inc();
        if let Ok(r) = outcome {
            for (code, affected) in r.by_code() {
                let labels = FindingLabels {
                    code: code.as_str(),
                    severity: match code.severity() {
                        dirsync_model::Severity::Error => "error",
                        dirsync_model::Severity::Warning => "warning",
                    },
                };
                self.findings
                    .get_or_create(&labels)
                    .inc_by(affected.len() as u64);
            }
        }
    }

    /// Records one API request attempt.
    pub fn api_request(&self, t: &RequestTiming<'_>) {
        let method = match t.method {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "DELETE" => "DELETE",
            "PATCH" => "PATCH",
            _ => "other",
        };
        let outcome = match t.status {
            Some(200..=299) => "2xx",
            Some(300..=399) => "3xx",
            Some(400..=499) => "4xx",
            Some(_) => "5xx",
            None => "error",
        };
        self.api_latency
            .get_or_create(&ApiLabels { method, outcome })
            .observe(t.elapsed.as_secs_f64());
    }

    /// An observer that times each API request into the API latency
    /// histogram (installed with [`crate::agent::Agent::observe_requests`]).
    pub fn request_observer(self: &Arc<Self>) -> cloudoffice_api::observe::RequestObserver {
        let me = Arc::downgrade(self);
        Arc::new(move |t| {
            if let Some(m) = me.upgrade() {
                m.api_request(t);
            }
        })
    }

    /// The OpenMetrics text of every metric, with the gauges set from `g`.
    pub fn encode(&self, g: &Gauges) -> String {
        let secs = |v: Option<i64>| v.unwrap_or(0);
        self.up.set(1);
        self.uptime.set(g.uptime.as_secs() as i64);
        self.in_progress.set(g.in_progress as i64);
        self.last_finished.set(secs(g.last_finished_unix));
        self.last_success.set(secs(g.last_success_unix));
        self.last_duration.set(g.last_duration_secs);
        self.last_exit.set(g.last_exit.map(i64::from).unwrap_or(0));
        self.last_changes.set(g.last_changes as i64);
        self.last_errors.set(g.last_errors as i64);
        self.last_warnings.set(g.last_warnings as i64);
        let next = |kind| self.next_sync.get_or_create(&KindLabel { kind }).clone();
        next("incremental").set(secs(g.next_incremental_unix));
        next("full").set(secs(g.next_full_unix));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests;
