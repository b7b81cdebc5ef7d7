//! The process exit codes of `dirsync`, decided here and nowhere else.
//!
//! Every command ends with one of four codes, so monitoring scripts can act
//! on the result without parsing output. The engine maps a run's status to
//! one (`RunStatus::exit`), the agent returns it from every command, and
//! `docs/exit-codes.md` is generated from this table ([`markdown`]).

use std::fmt::Write;

/// A documented, stable process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Everything in scope is in sync.
    Success = 0,
    /// The run finished, but some objects have errors (see the report).
    ObjectErrors = 1,
    /// Configuration, lock, directory or API connection failure: nothing or
    /// only part of the work could be attempted.
    Failure = 2,
    /// A safety threshold stopped the run before any disable or delete.
    Threshold = 3,
}

impl Exit {
    /// Every code, in order.
    pub const ALL: [Exit; 4] = [
        Exit::Success,
        Exit::ObjectErrors,
        Exit::Failure,
        Exit::Threshold,
    ];

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the code means (Markdown, for the documentation).
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "Success: everything in scope is in sync (warnings may exist).",
            Exit::ObjectErrors => "The run finished, but some objects have errors. Every other object was synced.",
            Exit::Failure => "Configuration or connection failure: the config is invalid, the lock is held by another dirsync, the directory or the API could not be reached or refused the credentials, or the directory read was unsafe (empty or partial). Nothing unsafe was applied.",
            Exit::Threshold => "Stopped by a safety limit: more objects would be disabled or deleted than allowed (DS201), or a service group or distribution list was emptied or lost too many members at once (DS204). Nothing was changed.",
        }
    }

    /// What an administrator does about it (Markdown).
    pub fn what_to_do(self) -> &'static str {
        match self {
            Exit::Success => "Nothing.",
            Exit::ObjectErrors => "Read the report's findings (`dirsync history show ID`, or the web UI's Errors page): each has its cause and solution from the [error catalogue](errors.md).",
            Exit::Failure => "Fix what the message names (it names the key or server and the fix) and rerun. `dirsync check` tests all of it without changing anything.",
            Exit::Threshold => "Review the plan (`dirsync plan`); if it is intended, rerun with `dirsync sync --override-threshold`.",
        }
    }
}

const INTRO: &str = r#"# dirsync exit codes

<!-- Generated from dirsync_model::exit by scripts/gen-docs. -->

Every command ends with one of four codes, so monitoring scripts can act on
the result without parsing output. The same value is in the JSON run report
(`status`, see [run-report.schema.json](run-report.schema.json)) and in the
`dirsync_last_run_exit_code` metric of `dirsync serve`.

"#;

const OUTRO: &str = r#"Command-line usage errors (an unknown flag) also exit with 2.

`dirsync check` uses the same codes for its prediction: 0 when nothing would
fail, 1 when some objects would fail, 2 when a connection or the config fails.
`dirsync history` exits 0 unless the state store cannot be read (2).
"#;

/// `docs/exit-codes.md`, whole.
pub fn markdown() -> String {
    let mut out = String::from(INTRO);
    out.push_str("| code | meaning | what to do |\n|---|---|---|\n");
    for e in Exit::ALL {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            e.code(),
            e.meaning(),
            e.what_to_do()
        );
    }
    out.push('\n');
    out.push_str(OUTRO);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    /// The committed docs/exit-codes.md is the one this table generates.
    #[test]
    fn docs_exit_codes_md_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/exit-codes.md");
        let want = markdown();
        if std::env::var("DIRSYNC_BLESS").is_ok() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/exit-codes.md is stale: regenerate it with `scripts/gen-docs`"
        );
    }
}
