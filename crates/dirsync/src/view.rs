//! View models: run records reduced to what the CLI and the web UI show.
//!
//! The run records themselves are the engine's [`RunReport`] and
//! [`RunSummary`]; nothing here keeps a copy of them. [`Summary`] and
//! [`OpRow`] are display projections of those records, with words and
//! times for people. How they look (HTML, CSS classes, tables) is the
//! renderer's business ([`crate::render`], [`crate::web`]).

use std::collections::BTreeMap;

use dirsync_engine::{Counts, RunReport, RunSummary};
use dirsync_model::Code;
use serde::Serialize;

/// How a run ended, in the few kinds lists, badges and metrics tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// Finished, with objects in error.
    Errors,
    /// Failed or interrupted.
    Failed,
    /// Stopped by a safety limit.
    Threshold,
    /// Still running (or a status this version does not know).
    Running,
}

impl Outcome {
    /// The stored status word of a run (`object_errors`, `interrupted`, ...).
    pub fn of_status(status: &str) -> Outcome {
        match status {
            "success" => Outcome::Success,
            "object_errors" => Outcome::Errors,
            "failed" | "interrupted" => Outcome::Failed,
            "threshold_stopped" => Outcome::Threshold,
            _ => Outcome::Running,
        }
    }

    /// The machine word (metrics labels, logs): `success`, `errors`,
    /// `failed`, `threshold` or `running`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Errors => "errors",
            Outcome::Failed => "failed",
            Outcome::Threshold => "threshold",
            Outcome::Running => "running",
        }
    }
}

/// One run, reduced to what lists and charts show.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: i64,
    pub mode: String,
    pub kind: String,
    pub trigger: String,
    /// For people: "Finished with errors".
    pub status: String,
    pub outcome: Outcome,
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

    /// A summary with no counts yet (a run still going, or one recorded
    /// without counts).
    fn without_counts(run: RunHead<'_>, duration: String) -> Summary {
        Summary {
            id: run.id,
            mode: run.mode,
            kind: if run.full {
                "full".into()
            } else {
                "incremental".into()
            },
            trigger: run.trigger,
            status: status_label(run.status),
            outcome: Outcome::of_status(run.status),
            started: fmt_rfc3339(run.started_at),
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

    /// This summary with the run's counts.
    fn with_counts(mut self, c: &Counts) -> Summary {
        self.created = c.created;
        self.updated = c.updated;
        self.disabled = c.disabled;
        self.deleted = c.deleted;
        self.in_scope = c.in_scope;
        self.changes = changes(c);
        self.errors = c.errors;
        self.warnings = c.warnings;
        self
    }
}

/// What a report and a history entry share, as the summary needs it.
struct RunHead<'a> {
    id: i64,
    mode: String,
    full: bool,
    trigger: String,
    status: &'a str,
    started_at: &'a str,
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

/// An enum's serde name (`apply`, `schedule`, `done`, ...).
fn serde_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
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
    let status = serde_name(&r.status);
    let head = RunHead {
        id: r.id,
        mode: serde_name(&r.mode),
        full: r.full,
        trigger: serde_name(&r.trigger),
        status: &status,
        started_at: &r.started_at,
    };
    Summary::without_counts(head, fmt_duration(r.duration_ms as f64 / 1000.0))
        .with_counts(&r.counts)
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
    let head = RunHead {
        id: r.id,
        mode: r.mode.clone(),
        full: r.full,
        trigger: r.trigger.clone(),
        status: &r.status,
        started_at: &r.started_at,
    };
    let s = Summary::without_counts(head, duration);
    match &r.counts {
        Some(c) => s.with_counts(c),
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
    op_rows(&r.operations)
}

/// Table rows of some operations (a page of a run's), in their order.
pub fn op_rows(ops: &[dirsync_engine::OpOutcome]) -> Vec<OpRow> {
    ops.iter()
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
                result: serde_name(&o.result),
                code: o.code,
                message: o.message.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn outcomes_of_stored_statuses() {
        for (status, want) in [
            ("success", Outcome::Success),
            ("object_errors", Outcome::Errors),
            ("failed", Outcome::Failed),
            ("interrupted", Outcome::Failed),
            ("threshold_stopped", Outcome::Threshold),
            ("running", Outcome::Running),
        ] {
            assert_eq!(Outcome::of_status(status), want, "{status}");
        }
    }
}
