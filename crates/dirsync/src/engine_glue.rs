//! PLACEHOLDER until dirsync-engine lands: the only module that touches the engine API.
#![allow(dead_code)]

use std::sync::Arc;

use anyhow::Result;
use dirsync_model::catalogue::Finding;
use dirsync_model::ObjectKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::Loaded;
use crate::Exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Check,
    Plan,
    Apply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Manual,
    Schedule,
    FullSchedule,
    Ui,
    Demo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Success,
    ObjectErrors,
    Failed,
    ThresholdStop,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub enabled: u64,
    pub disabled: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub errors: u64,
    pub warnings: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectResult {
    pub dn: String,
    pub kind: ObjectKind,
    pub action: String,
    pub outcome: String,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub id: i64,
    pub trigger: Trigger,
    pub mode: Mode,
    pub full: bool,
    pub status: RunStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub counts: Counts,
    pub objects: Vec<ObjectResult>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgressEvent {
    pub phase: String,
    pub done: u64,
    pub total: u64,
}

pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct RunRequest {
    pub mode: Mode,
    pub full: bool,
    pub trigger: Trigger,
    pub override_threshold: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub probes: Vec<Probe>,
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

pub fn exit_for(r: &RunReport) -> Exit {
    match r.status {
        RunStatus::Success => Exit::Success,
        RunStatus::ObjectErrors => Exit::ObjectErrors,
        RunStatus::Failed => Exit::Failure,
        RunStatus::ThresholdStop => Exit::Threshold,
    }
}

pub fn default_engine_table() -> toml::Table {
    toml::Table::new()
}

pub fn engine_settings(_t: &toml::Table) -> Result<(), String> {
    Ok(())
}

#[derive(Clone)]
pub struct Agent {
    pub loaded: Arc<Loaded>,
}

impl Agent {
    pub async fn open(loaded: Arc<Loaded>) -> Result<Agent> {
        Ok(Agent { loaded })
    }
    pub async fn check(&self) -> CheckOutcome {
        CheckOutcome {
            probes: vec![],
            report: None,
        }
    }
    pub async fn run(&self, _req: RunRequest, _progress: ProgressFn) -> Result<RunReport> {
        anyhow::bail!("engine not available yet")
    }
    pub async fn history(&self, _limit: u32) -> Result<Vec<RunReport>> {
        Ok(vec![])
    }
    pub async fn report(&self, _id: i64) -> Result<Option<RunReport>> {
        Ok(None)
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
    /// CSS class / machine word: success, errors, failed, threshold.
    pub status_class: &'static str,
    pub started: String,
    pub started_unix: i64,
    pub duration: String,
    pub created: u64,
    pub updated: u64,
    pub disabled: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub changes: u64,
    pub errors: u64,
    pub warnings: u64,
}

impl Summary {
    pub fn counts_line(&self) -> String {
        format!(
            "{} created, {} updated, {} disabled, {} deleted, {} unchanged; {} error(s), {} warning(s)",
            self.created, self.updated, self.disabled, self.deleted, self.unchanged, self.errors, self.warnings
        )
    }
}

/// One object's line in a run.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectRow {
    pub dn: String,
    pub kind: String,
    pub action: String,
    pub outcome: String,
    pub codes: Vec<Code>,
    pub messages: Vec<String>,
}

/// One planned operation.
#[derive(Debug, Clone, Serialize)]
pub struct OpRow {
    pub action: String,
    pub kind: String,
    pub target: String,
    pub reason: String,
}

use dirsync_model::catalogue::Code;

pub fn fmt_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

pub fn summary(r: &RunReport) -> Summary {
    let c = &r.counts;
    let dur = r
        .finished_at
        .map(|f| (f - r.started_at).as_seconds_f64())
        .unwrap_or(0.0);
    Summary {
        id: r.id,
        mode: format!("{:?}", r.mode).to_lowercase(),
        kind: if r.full {
            "full".into()
        } else {
            "incremental".into()
        },
        trigger: format!("{:?}", r.trigger).to_lowercase(),
        status: format!("{:?}", r.status),
        status_class: match r.status {
            RunStatus::Success => "success",
            RunStatus::ObjectErrors => "errors",
            RunStatus::Failed => "failed",
            RunStatus::ThresholdStop => "threshold",
        },
        started: fmt_time(r.started_at),
        started_unix: r.started_at.unix_timestamp(),
        duration: format!("{dur:.1}s"),
        created: c.created,
        updated: c.updated,
        disabled: c.disabled,
        deleted: c.deleted,
        unchanged: c.unchanged,
        changes: c.created + c.updated + c.enabled + c.disabled + c.deleted,
        errors: c.errors,
        warnings: c.warnings,
    }
}

pub fn all_findings(r: &RunReport) -> Vec<Finding> {
    let mut v = r.findings.clone();
    for o in &r.objects {
        v.extend(o.findings.iter().cloned());
    }
    v
}

pub fn objects(r: &RunReport) -> Vec<ObjectRow> {
    r.objects
        .iter()
        .map(|o| ObjectRow {
            dn: o.dn.clone(),
            kind: format!("{:?}", o.kind).to_lowercase(),
            action: o.action.clone(),
            outcome: o.outcome.clone(),
            codes: o.findings.iter().map(|f| f.code).collect(),
            messages: o.findings.iter().map(|f| f.message.clone()).collect(),
        })
        .collect()
}

pub fn operations(r: &RunReport) -> Vec<OpRow> {
    r.objects
        .iter()
        .map(|o| OpRow {
            action: o.action.clone(),
            kind: format!("{:?}", o.kind).to_lowercase(),
            target: o.dn.clone(),
            reason: o.outcome.clone(),
        })
        .collect()
}
