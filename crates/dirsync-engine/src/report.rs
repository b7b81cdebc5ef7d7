//! The run report: one record per run, shown by the CLI (table and
//! `--json`), stored in the run history and shown by the web UI. Its JSON
//! form is a public contract described by `docs/run-report.schema.json`.

use std::collections::BTreeMap;

use dirsync_model::{Code, Finding, Guid, Severity};
use serde::{Deserialize, Serialize};

use crate::types::{OpKind, PlanOp, Service, TargetKind};

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Findings only (preflight).
    Check,
    /// The plan, never applied (dry run, UI preview).
    Plan,
    /// Plan and apply.
    Apply,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The command line.
    Manual,
    /// The service's incremental interval.
    Schedule,
    /// The service's periodic full reconcile.
    FullSchedule,
    /// "Sync now" / "Full sync" in the web UI.
    Ui,
    /// `dirsync demo`.
    Demo,
}

/// How a run ended. The exit codes are documented and stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Everything synced (warnings allowed). Exit code 0.
    Success,
    /// Finished, but some objects have errors. Exit code 1.
    ObjectErrors,
    /// Nothing (or not everything) could be attempted: configuration,
    /// connection, untrustworthy directory read. Exit code 2.
    Failed,
    /// Stopped by the disable/delete threshold; nothing changed. Exit code 3.
    ThresholdStopped,
}

impl RunStatus {
    /// The process exit code: 0, 1, 2 or 3.
    pub fn exit_code(self) -> i32 {
        match self {
            RunStatus::Success => 0,
            RunStatus::ObjectErrors => 1,
            RunStatus::Failed => 2,
            RunStatus::ThresholdStopped => 3,
        }
    }
}

/// What happened to one planned operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpResult {
    /// Planned only (check, plan, staging, or a stopped run).
    Planned,
    /// Applied.
    Done,
    /// Refused or failed; see the code.
    Failed,
    /// Not attempted because an earlier operation on the same object failed.
    Skipped,
}

/// One planned operation and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpOutcome {
    pub seq: u32,
    pub phase: u8,
    pub op: OpKind,
    pub kind: TargetKind,
    pub service: Service,
    /// The control-panel object (`name@domain`).
    pub target: String,
    pub dn: Option<String>,
    pub guid: Option<Guid>,
    pub label: String,
    pub reason: String,
    /// Names of the fields sent.
    pub fields: Vec<String>,
    /// Address or member added/removed, or the new address of a rename.
    pub address: Option<String>,
    pub result: OpResult,
    pub code: Option<Code>,
    pub message: Option<String>,
    pub cause: Option<String>,
    pub solution: Option<String>,
    /// API attempts made (retries included).
    pub attempts: u32,
}

impl OpOutcome {
    pub fn planned(op: &PlanOp) -> OpOutcome {
        OpOutcome {
            seq: op.seq,
            phase: op.phase,
            op: op.op,
            kind: op.kind,
            service: op.service,
            target: op.target.to_string(),
            dn: op.dn.clone(),
            guid: op.guid,
            label: op.label.clone(),
            reason: op.reason.clone(),
            fields: op.fields.keys().cloned().collect(),
            address: op.address.clone(),
            result: OpResult::Planned,
            code: None,
            message: None,
            cause: None,
            solution: None,
            attempts: 0,
        }
    }

    /// Marks it failed with a catalogue finding.
    pub fn fail(&mut self, f: &Finding, attempts: u32) {
        self.result = OpResult::Failed;
        self.code = Some(f.code);
        self.message = Some(f.message.clone());
        self.cause = Some(f.cause().to_string());
        self.solution = Some(f.solution());
        self.attempts = attempts;
    }
}

/// A finding with its cause and solution, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFinding {
    pub code: Code,
    pub severity: Severity,
    pub dn: Option<String>,
    pub guid: Option<Guid>,
    pub message: String,
    pub cause: String,
    pub solution: String,
}

impl From<&Finding> for ReportFinding {
    fn from(f: &Finding) -> Self {
        ReportFinding {
            code: f.code,
            severity: f.severity,
            dn: f.dn.clone(),
            guid: f.guid,
            message: f.message.clone(),
            cause: f.cause().to_string(),
            solution: f.solution(),
        }
    }
}

/// Counts of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Objects in scope of the directory read.
    pub in_scope: u64,
    /// Objects tied to the control panel before the run.
    pub synced_before: u64,
    pub planned: u64,
    pub created: u64,
    pub updated: u64,
    pub renamed: u64,
    pub enabled: u64,
    pub disabled: u64,
    pub deleted: u64,
    pub addresses_added: u64,
    pub addresses_removed: u64,
    pub members_added: u64,
    pub members_removed: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Error findings and failed operations.
    pub errors: u64,
    pub warnings: u64,
}

/// What the API client did during the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiStats {
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// Run history id (0 for runs not recorded: `check`).
    pub id: i64,
    pub trigger: Trigger,
    pub mode: Mode,
    /// True for a full read, false for an incremental one.
    pub full: bool,
    /// Staging mode: planned, never written.
    pub staging: bool,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub status: RunStatus,
    /// 0, 1, 2 or 3 (see [`RunStatus::exit_code`]).
    pub exit_code: i32,
    /// One sentence for people: what happened.
    pub summary: String,
    pub counts: Counts,
    /// The plan, in order, with each operation's outcome.
    pub operations: Vec<OpOutcome>,
    /// Findings of the mapping and the planner, and run-level stops.
    pub findings: Vec<ReportFinding>,
    /// True when the directory cookie (and replica) were committed.
    pub cookie_committed: bool,
    pub api: ApiStats,
}

/// One affected object under a code (for "errors grouped by code").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    pub dn: Option<String>,
    pub message: String,
}

impl RunReport {
    /// Errors and warnings grouped by code, each with the affected objects
    /// (findings and failed operations alike).
    pub fn by_code(&self) -> BTreeMap<Code, Vec<Affected>> {
        let mut m: BTreeMap<Code, Vec<Affected>> = BTreeMap::new();
        for f in &self.findings {
            m.entry(f.code).or_default().push(Affected {
                dn: f.dn.clone(),
                message: f.message.clone(),
            });
        }
        for o in &self.operations {
            if let (Some(code), Some(msg)) = (o.code, &o.message) {
                m.entry(code).or_default().push(Affected {
                    dn: o.dn.clone(),
                    message: msg.clone(),
                });
            }
        }
        m
    }
}
