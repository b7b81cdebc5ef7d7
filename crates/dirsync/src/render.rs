//! Text and JSON renderings of run records for the command line.
//!
//! Every message, cause and solution printed here comes from the run record
//! (rendered by the engine from the catalogue) or from the catalogue itself.

use std::collections::BTreeMap;
use std::fmt::Write;

use dirsync_model::catalogue::{Code, Severity};

use crate::agent::CheckOutcome;
use dirsync_engine::{RunReport, RunSummary};

/// Findings and failed operations grouped by code, in code order: (DN, message) each.
pub fn group_findings(report: &RunReport) -> BTreeMap<Code, crate::view::AffectedList> {
    crate::view::by_code(report)
}

/// Text for a terminal: control characters other than line ends and tabs
/// (ESC, BEL, carriage return, the C1 controls such as CSI, DEL) are shown
/// escaped (`\x1b`), so directory data (a DN, a display name) cannot move
/// the cursor, retitle the window or hide lines. JSON output escapes them
/// itself.
pub fn term(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Pads cells into aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, c) in cells.iter().enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                let _ = write!(out, "{:<w$}  ", c, w = widths[i]);
            }
        }
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// The findings section: one block per code with message(s), cause and fix.
pub fn findings_text(report: &RunReport) -> String {
    let groups = group_findings(report);
    let mut out = String::new();
    if groups.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nFindings (grouped by code):");
    for (code, items) in &groups {
        let def = code.definition();
        let sev = match def.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "\n{code} {sev}: {} ({} object{})",
            def.title,
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        );
        for (dn, message) in items {
            let who = dn.as_deref().unwrap_or("(run)");
            let _ = writeln!(out, "  - {who}\n      {message}");
        }
        let _ = writeln!(out, "  cause: {}", def.cause);
        for step in def.solution {
            let _ = writeln!(out, "  fix:   {step}");
        }
    }
    out
}

/// A run report for people: header, per-object changes (for plans), summary, findings.
pub fn report_text(report: &RunReport, show_operations: bool) -> String {
    let mut out = String::new();
    let s = crate::view::summary(report);
    if show_operations {
        let rows: Vec<Vec<String>> = crate::view::operations(report)
            .into_iter()
            .map(|o| vec![o.action, o.kind, o.target, o.dn, o.reason])
            .collect();
        if rows.is_empty() {
            let _ = writeln!(
                out,
                "Nothing to change: the control panel matches the directory."
            );
        } else {
            out.push_str(&table(
                &["ACTION", "KIND", "TARGET", "OBJECT", "REASON"],
                &rows,
            ));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Run {} ({}, {}, trigger {}): {}",
        s.id, s.mode, s.kind, s.trigger, s.status
    );
    let _ = writeln!(out, "  started {}  duration {}", s.started, s.duration);
    let _ = writeln!(out, "  {}", s.counts_line());
    if !report.summary.is_empty() {
        let _ = writeln!(out, "  {}", report.summary);
    }
    out.push_str(&findings_text(report));
    out
}

/// The `history` table.
pub fn history_text(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "No runs yet. Run `dirsync sync` (or `dirsync plan` for a dry run).\n".into();
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let s = crate::view::summary_of(r);
            vec![
                s.id.to_string(),
                s.started.clone(),
                s.duration.clone(),
                s.trigger.clone(),
                s.mode.clone(),
                s.kind.clone(),
                s.status.clone(),
                s.changes.to_string(),
                s.errors.to_string(),
                s.warnings.to_string(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "ID", "STARTED", "DURATION", "TRIGGER", "MODE", "READ", "STATUS", "CHANGES", "ERRORS",
            "WARNINGS",
        ],
        &rows,
    );
    out.push_str("\n`dirsync history show ID` shows one run with every object's outcome.\n");
    out
}

/// `check` as a table.
pub fn check_text(c: &CheckOutcome) -> String {
    let rows: Vec<Vec<String>> = c
        .probes
        .iter()
        .map(|p| {
            vec![
                p.name.to_string(),
                if p.ok { "ok".into() } else { "FAILED".into() },
                p.detail.clone(),
            ]
        })
        .collect();
    let mut out = table(&["CHECK", "RESULT", "DETAIL"], &rows);
    if let Some(r) = &c.report {
        let groups = group_findings(r);
        let errors: usize = groups
            .iter()
            .filter(|(c, _)| c.severity() == Severity::Error)
            .map(|(_, v)| v.len())
            .sum();
        let warnings: usize = groups
            .iter()
            .filter(|(c, _)| c.severity() == Severity::Warning)
            .map(|(_, v)| v.len())
            .sum();
        let _ = writeln!(
            out,
            "\nPrediction: {errors} error(s) and {warnings} warning(s) before any change is made."
        );
        out.push_str(&findings_text(r));
    }
    out
}

/// `check --json`.
pub fn check_json(c: &CheckOutcome) -> serde_json::Value {
    serde_json::json!({
        "config": { "ok": true },
        "probes": c.probes,
        "report": c.report,
        "exit_code": c.exit().code(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_terminals() {
        for (raw, want) in [
            ("CN=Jane,DC=x\n", "CN=Jane,DC=x\n"),
            ("a\tb", "a\tb"),
            ("CN=\u{1b}]0;owned\u{7},DC=x", "CN=\\x1b]0;owned\\x07,DC=x"),
            ("over\rwrite", "over\\x0dwrite"),
            ("csi\u{9b}2J del\u{7f}", "csi\\x9b2J del\\x7f"),
            ("Bób Ñ", "Bób Ñ"),
        ] {
            assert_eq!(term(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A    BB\nxxx  y\n");
    }
}
