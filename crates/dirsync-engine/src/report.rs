//! The run report: one record per run, shown by the CLI (table and
//! `--json`), stored in the run history and shown by the web UI. Its JSON
//! form is a public contract described by `docs/run-report.schema.json`.

use std::collections::BTreeMap;

use dirsync_model::{Code, Exit, Finding, Guid, Severity};
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
    /// The documented exit code a run with this status ends with.
    pub fn exit(self) -> Exit {
        match self {
            RunStatus::Success => Exit::Success,
            RunStatus::ObjectErrors => Exit::ObjectErrors,
            RunStatus::Failed => Exit::Failure,
            RunStatus::ThresholdStopped => Exit::Threshold,
        }
    }

    /// The process exit code: 0, 1, 2 or 3 (see [`RunStatus::exit`]).
    pub fn exit_code(self) -> i32 {
        i32::from(self.exit().code())
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
    pub fields: Vec<std::borrow::Cow<'static, str>>,
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
        OpOutcome::from_op(op.clone())
    }

    /// The planned outcome of `op`, taking its texts instead of copying them.
    pub fn from_op(op: PlanOp) -> OpOutcome {
        OpOutcome {
            seq: op.seq,
            phase: op.phase,
            op: op.op,
            kind: op.kind,
            service: op.service,
            target: op.target.to_string(),
            dn: op.dn,
            guid: op.guid,
            label: op.label,
            reason: op.reason,
            fields: op.fields.into_keys().collect(),
            address: op.address,
            result: OpResult::Planned,
            code: None,
            message: None,
            cause: None,
            solution: None,
            attempts: 0,
        }
    }

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
    /// Directory objects this run mapped and planned: every object read
    /// for a full run or one that replays the replica, only the changed
    /// ones for a narrowed incremental run (absent in older reports).
    #[serde(default)]
    pub mapped: u64,
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
    /// The plan, in order, with each operation's outcome. In memory, when
    /// [`RunReport::operations_stored`] is set, only the operations that
    /// failed or were skipped: the whole list is in the run history.
    pub operations: Vec<OpOutcome>,
    /// Findings of the mapping and the planner, and run-level stops.
    pub findings: Vec<ReportFinding>,
    /// True when the directory cookie (and replica) were committed.
    pub cookie_committed: bool,
    pub api: ApiStats,
    /// What the run read from the control panel and which objects it
    /// verified (absent in reports of older versions).
    #[serde(default)]
    pub verification: crate::verify::Verification,
    /// True when this in-memory report holds in `operations` only the
    /// operations that failed or were skipped, the whole list being in the
    /// run history's outcome rows (written as the operations ended), and
    /// its counts were taken as they ended. Why: a full sync of
    /// 50,000 users plans 156,000 operations; holding each one's outcome
    /// until the run's end was the largest structure after the apply.
    /// Whoever shows the whole list reads it from the history, page by
    /// page ([`crate::RunHistory::write_report_json`]). Never serialised:
    /// the JSON report always carries the whole list.
    #[serde(skip)]
    pub operations_stored: bool,
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

/// Adds one operation's end to the per-kind counts. A run that writes
/// nothing (`planned_only`: check, plan, staging) counts what it planned
/// per kind; an apply counts what it did.
pub(crate) fn count_op(c: &mut Counts, op: OpKind, result: OpResult, planned_only: bool) {
    let result = match result {
        OpResult::Planned if planned_only => OpResult::Done,
        r => r,
    };
    match result {
        OpResult::Done => match op {
            OpKind::Create => c.created += 1,
            OpKind::Update => c.updated += 1,
            OpKind::Rename => c.renamed += 1,
            OpKind::Enable => c.enabled += 1,
            OpKind::Disable => c.disabled += 1,
            OpKind::Delete => c.deleted += 1,
            OpKind::AddAddress => c.addresses_added += 1,
            OpKind::RemoveAddress => c.addresses_removed += 1,
            OpKind::AddMember => c.members_added += 1,
            OpKind::RemoveMember => c.members_removed += 1,
        },
        OpResult::Failed => c.failed += 1,
        OpResult::Skipped => c.skipped += 1,
        OpResult::Planned => {}
    }
}

impl RunReport {
    /// True when a run that writes nothing (check, plan, staging) made this
    /// report: its counts are of what was planned.
    pub(crate) fn planned_only(&self) -> bool {
        self.mode != Mode::Apply || self.staging
    }
}

/// Fills a report's counts from its operations (unless they were counted
/// as they ended: [`RunReport::operations_stored`]) and findings, sets the
/// status for object errors, and writes the summary when none was set.
pub(crate) fn count(report: &mut RunReport) {
    let planned_only = report.planned_only();
    let c = &mut report.counts;
    if !report.operations_stored {
        for o in &report.operations {
            count_op(c, o.op, o.result, planned_only);
        }
    }
    c.errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count() as u64
        + c.failed;
    c.warnings = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count() as u64;
    if report.status == RunStatus::Success && c.errors > 0 {
        report.status = RunStatus::ObjectErrors;
    }
    if report.summary.is_empty() {
        let verb = if planned_only { "planned" } else { "applied" };
        report.summary = format!(
            "{} operation(s) {verb}: {} created, {} updated, {} disabled, {} deleted; {} error(s), {} warning(s)",
            c.planned, c.created, c.updated, c.disabled, c.deleted, c.errors, c.warnings
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A small JSON Schema checker for the keywords the committed schema uses.
    fn check(schema: &Value, root: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            return check(&root["$defs"][name], root, v, at, errs);
        }
        if let Some(alts) = schema.get("oneOf").and_then(Value::as_array) {
            let ok = alts
                .iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    check(s, root, v, at, &mut e);
                    e.is_empty()
                })
                .count();
            if ok != 1 {
                errs.push(format!("{at}: matches {ok} of oneOf"));
            }
            return;
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                errs.push(format!("{at}: {v} not in {e:?}"));
            }
        }
        if let Some(t) = schema.get("type") {
            let types: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let actual = match v {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            if !types
                .iter()
                .any(|t| *t == actual || (*t == "number" && actual == "integer"))
            {
                errs.push(format!("{at}: {actual} is not {types:?}"));
            }
        }
        if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_i64), v.as_i64()) {
            if n < min {
                errs.push(format!("{at}: {n} < {min}"));
            }
        }
        if let (Some(max), Some(n)) = (schema.get("maximum").and_then(Value::as_i64), v.as_i64()) {
            if n > max {
                errs.push(format!("{at}: {n} > {max}"));
            }
        }
        if let (Some(p), Some(s)) = (schema.get("pattern").and_then(Value::as_str), v.as_str()) {
            let ok = if p.starts_with("^DS") {
                Code::parse(s).is_some()
            } else {
                s.parse::<Guid>().is_ok() && s == s.to_ascii_lowercase()
            };
            if !ok {
                errs.push(format!("{at}: '{s}' does not match {p}"));
            }
        }
        if let Some(obj) = v.as_object() {
            let props = schema.get("properties").and_then(Value::as_object);
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !obj.contains_key(r.as_str().unwrap_or_default()) {
                    errs.push(format!("{at}: missing required {r}"));
                }
            }
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => check(s, root, val, &format!("{at}.{k}"), errs),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errs.push(format!("{at}: property '{k}' is not in the schema"));
                    }
                    None => {}
                }
            }
            if let Some(p) = props {
                for k in p.keys() {
                    let required = schema["required"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|x| x == k));
                    if !required {
                        errs.push(format!("{at}: schema property '{k}' should be required (the report always writes it)"));
                    }
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, x) in arr.iter().enumerate() {
                check(items, root, x, &format!("{at}[{i}]"), errs);
            }
        }
    }

    fn sample() -> RunReport {
        let g: Guid = "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".parse().unwrap();
        let f = Finding::new(
            Code::InvalidMail,
            Some("CN=A,DC=x"),
            Some(g),
            [
                ("value", String::new()),
                ("kind", "user".into()),
                ("object", "CN=A,DC=x".into()),
            ],
        );
        let mut failed = OpOutcome {
            seq: 1,
            phase: 3,
            op: OpKind::AddAddress,
            kind: TargetKind::Mailbox,
            service: Service::Exchange,
            target: "jane@example.com".into(),
            dn: Some("CN=Jane,DC=x".into()),
            guid: Some(g),
            label: "Jane".into(),
            reason: "alternate address in proxyAddresses".into(),
            fields: vec![],
            address: Some("jd@example.com".into()),
            result: OpResult::Planned,
            code: None,
            message: None,
            cause: None,
            solution: None,
            attempts: 0,
        };
        failed.fail(
            &Finding::new(
                Code::AddressInUse,
                Some("CN=Jane,DC=x"),
                Some(g),
                [("action", "Update".into())],
            ),
            1,
        );
        RunReport {
            id: 7,
            trigger: Trigger::Schedule,
            mode: Mode::Apply,
            full: false,
            staging: false,
            started_at: "2026-11-25T12:00:00Z".into(),
            finished_at: "2026-11-25T12:00:01Z".into(),
            duration_ms: 1000,
            status: RunStatus::ObjectErrors,
            exit_code: 1,
            summary: "s".into(),
            counts: Counts {
                created: 1,
                ..Default::default()
            },
            operations: vec![
                OpOutcome {
                    seq: 0,
                    phase: 1,
                    op: OpKind::Create,
                    kind: TargetKind::Mailbox,
                    service: Service::RsEmail,
                    target: "bob@example.com".into(),
                    dn: None,
                    guid: None,
                    label: "Bob".into(),
                    reason: "new".into(),
                    fields: vec!["displayName".into()],
                    address: None,
                    result: OpResult::Done,
                    code: None,
                    message: None,
                    cause: None,
                    solution: None,
                    attempts: 1,
                },
                failed,
            ],
            findings: vec![
                (&f).into(),
                (&Finding::new(Code::ThresholdExceeded, None, None, [])).into(),
            ],
            cookie_committed: true,
            operations_stored: false,
            api: ApiStats {
                requests: 3,
                retries: 1,
                throttled: 0,
            },
            verification: crate::verify::Verification {
                list_pages: 6,
                object_reads: 2,
                needed_reads: 1,
                budget: 10,
                objects: vec![crate::verify::VerifiedObject {
                    guid: Guid::from_canonical_bytes([7; 16]),
                    kind: TargetKind::Mailbox,
                    service: Service::Exchange,
                    target: "a@example.com".into(),
                    drift: true,
                }],
                never_verified: 3,
                oldest_verified_at: Some("2026-12-07T01:00:00Z".into()),
            },
        }
    }

    /// `docs/run-report.schema.json` describes exactly what the report serialises to.
    #[test]
    fn schema_matches_serialised_report() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../docs/run-report.schema.json")).unwrap();
        let report = serde_json::to_value(sample()).unwrap();
        let mut errs = Vec::new();
        check(&schema, &schema, &report, "$", &mut errs);
        assert!(
            errs.is_empty(),
            "docs/run-report.schema.json is out of date:\n{}",
            errs.join("\n")
        );
        // The checker itself catches drift.
        let mut extra = report.clone();
        extra["surprise"] = Value::Bool(true);
        extra["status"] = Value::String("fine".into());
        let mut errs = Vec::new();
        check(&schema, &schema, &extra, "$", &mut errs);
        assert_eq!(errs.len(), 2, "{errs:?}");
        let back: RunReport = serde_json::from_value(report).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn exit_codes_and_grouping() {
        assert_eq!(
            [
                RunStatus::Success,
                RunStatus::ObjectErrors,
                RunStatus::Failed,
                RunStatus::ThresholdStopped
            ]
            .map(RunStatus::exit_code),
            [0, 1, 2, 3]
        );
        let g = sample().by_code();
        assert_eq!(
            g.keys().map(Code::as_str).collect::<Vec<_>>(),
            vec!["DS001", "DS010", "DS201"]
        );
    }
}

#[cfg(test)]
mod count_tests {
    use super::*;

    fn op(seq: u32, k: OpKind, result: OpResult) -> OpOutcome {
        OpOutcome {
            seq,
            phase: 1,
            op: k,
            kind: TargetKind::Mailbox,
            service: Service::Exchange,
            target: format!("u{seq}@example.com"),
            dn: None,
            guid: None,
            label: String::new(),
            reason: String::new(),
            fields: vec![],
            address: None,
            result,
            code: None,
            message: None,
            cause: None,
            solution: None,
            attempts: 0,
        }
    }

    fn report(mode: Mode, staging: bool, result: OpResult) -> RunReport {
        RunReport {
            id: 1,
            trigger: Trigger::Manual,
            mode,
            full: true,
            staging,
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            status: RunStatus::Success,
            exit_code: 0,
            summary: String::new(),
            counts: Counts {
                planned: 4,
                ..Counts::default()
            },
            operations: vec![
                op(0, OpKind::Create, result),
                op(1, OpKind::Disable, result),
                op(2, OpKind::Disable, result),
                op(3, OpKind::Delete, result),
            ],
            findings: vec![],
            cookie_committed: false,
            operations_stored: false,
            api: ApiStats::default(),
            verification: Default::default(),
        }
    }

    /// `plan --json` used to show 0 in every per-kind count while its
    /// summary said "2 disabled, 1 deleted".
    #[test]
    fn per_kind_counts_of_plans_and_applies() {
        for (name, mode, staging, result, want, verb) in [
            ("plan", Mode::Plan, false, OpResult::Planned, 1, "planned"),
            ("check", Mode::Check, false, OpResult::Planned, 1, "planned"),
            (
                "staging",
                Mode::Apply,
                true,
                OpResult::Planned,
                1,
                "planned",
            ),
            ("apply", Mode::Apply, false, OpResult::Done, 1, "applied"),
            (
                "apply stopped before writing",
                Mode::Apply,
                false,
                OpResult::Planned,
                0,
                "applied",
            ),
        ] {
            let mut r = report(mode, staging, result);
            count(&mut r);
            let c = &r.counts;
            assert_eq!(
                (c.created, c.disabled, c.deleted),
                (want, 2 * want, want),
                "{name}"
            );
            assert_eq!(
                r.summary,
                format!(
                    "4 operation(s) {verb}: {want} created, 0 updated, {} disabled, {want} deleted; 0 error(s), 0 warning(s)",
                    2 * want
                ),
                "{name}"
            );
        }
    }
}
