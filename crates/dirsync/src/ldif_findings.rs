//! The LDIF records a run could not read, as run-report findings (DS107 in
//! scope, DS108 outside it): the same message in the CLI, the JSON report,
//! the history and the web UI, naming the file, the line and the object.
//!
//! Pure: the reader ([`crate::ldif_diff`]) hands over what it knows of each
//! record; this decides the findings. An export with thousands of broken
//! records reports the first [`MAX_PER_CODE`] one by one and the rest in one
//! finding with their count, so a run report stays readable.

use dirsync_directory::ldif_stream::BadEntry;
use dirsync_model::{Code, Finding, Guid};

/// Findings of one code before the rest are counted in one.
pub const MAX_PER_CODE: usize = 100;

/// What a run did with the object of a record in scope it could not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The object stays as it was last synced.
    Kept,
    /// The object was never synced, and is not created.
    NotSynced,
}

impl Effect {
    fn text(self) -> &'static str {
        match self {
            Effect::Kept => {
                "The object is left as it was last synced (neither updated nor disabled) until the record is fixed."
            }
            Effect::NotSynced => {
                "The object was never synced and is not created until the record is fixed."
            }
        }
    }
}

/// One record that could not be read, as the finding names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The line of the error (else of the record's start).
    pub line: usize,
    pub dn: Option<String>,
    pub guid: Option<Guid>,
    /// What is wrong, without the line (the finding names it).
    pub detail: String,
    /// `None` for a record outside the scope.
    pub effect: Option<Effect>,
}

impl Unreadable {
    /// A record as the reader handed it over, with the run's `effect` on
    /// its object (`None`: outside the scope).
    pub fn of(b: &BadEntry, effect: Option<Effect>) -> Unreadable {
        let line = b.error.line().unwrap_or(b.start);
        let text = b.error.to_string();
        let detail = text
            .strip_prefix(&format!("LDIF line {line}: "))
            .unwrap_or(&text)
            .to_string();
        Unreadable {
            line,
            dn: b.dn.clone(),
            guid: b.partial.guid().ok(),
            detail,
            effect,
        }
    }
}

/// The findings of the records `file` could not be read at, in line
/// order: one each, up to [`MAX_PER_CODE`] per code, then one with the
/// count of the rest.
pub fn findings(file: &str, records: &[Unreadable]) -> Vec<Finding> {
    let mut sorted: Vec<&Unreadable> = records.iter().collect();
    sorted.sort_by_key(|r| r.line);
    let mut out = Vec::new();
    for in_scope in [true, false] {
        let of_code: Vec<&Unreadable> = sorted
            .iter()
            .copied()
            .filter(|r| r.effect.is_some() == in_scope)
            .collect();
        let code = if in_scope {
            Code::UnreadableRecord
        } else {
            Code::UnreadableRecordOutOfScope
        };
        // One finding more is better than one saying "and 1 more".
        let shown = if of_code.len() <= MAX_PER_CODE + 1 {
            of_code.len()
        } else {
            MAX_PER_CODE
        };
        for r in &of_code[..shown] {
            let record = match &r.dn {
                Some(dn) => format!("the record of '{dn}'"),
                None => "a record whose DN cannot be read".to_string(),
            };
            out.push(finding(code, file, r, record));
        }
        if let Some(first) = of_code.get(shown) {
            let rest = of_code.len() - shown;
            let record = format!(
                "this record and {} more after it (not listed one by one; the first is shown)",
                rest - 1
            );
            let mut f = finding(code, file, first, record);
            // The count names many objects: none is this finding's own.
            f.dn = None;
            f.guid = None;
            out.push(f);
        }
    }
    out
}

fn finding(code: Code, file: &str, r: &Unreadable, record: String) -> Finding {
    let mut params = vec![
        ("file", file.to_string()),
        ("line", r.line.to_string()),
        ("record", record),
        ("detail", r.detail.clone()),
    ];
    if let Some(e) = r.effect {
        params.push(("effect", e.text().to_string()));
    }
    Finding::new(code, r.dn.as_deref(), r.guid, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dirsync_model::Severity;

    fn rec(line: usize, dn: Option<&str>, effect: Option<Effect>) -> Unreadable {
        Unreadable {
            line,
            dn: dn.map(str::to_string),
            guid: None,
            detail: "the base64 value of displayName is invalid".into(),
            effect,
        }
    }

    /// (records, per finding: code, severity, message fragment).
    #[test]
    fn each_record_is_one_finding_naming_file_line_and_object() {
        let kept = Some(Effect::Kept);
        let new = Some(Effect::NotSynced);
        type Want = &'static [(Code, Severity, &'static str)];
        let cases: Vec<(Vec<Unreadable>, Want)> = vec![
            (vec![], &[]),
            (
                vec![rec(12, Some("CN=A,DC=x"), kept)],
                &[(
                    Code::UnreadableRecord,
                    Severity::Error,
                    "LDIF file 'ad.ldif', line 12: the record of 'CN=A,DC=x' cannot be read: the base64 value of displayName is invalid. The object is left as it was last synced",
                )],
            ),
            (
                vec![
                    rec(40, None, None),
                    rec(30, Some("CN=B,DC=x"), new),
                    rec(9, Some("CN=C,DC=x"), None),
                ],
                &[
                    (Code::UnreadableRecord, Severity::Error, "line 30: the record of 'CN=B,DC=x' cannot be read: the base64 value of displayName is invalid. The object was never synced and is not created"),
                    (Code::UnreadableRecordOutOfScope, Severity::Warning, "line 9: the record of 'CN=C,DC=x' cannot be read: the base64 value of displayName is invalid. It is outside the sync scope"),
                    (Code::UnreadableRecordOutOfScope, Severity::Warning, "line 40: a record whose DN cannot be read cannot be read"),
                ],
            ),
        ];
        for (records, want) in cases {
            let got = findings("ad.ldif", &records);
            assert_eq!(got.len(), want.len(), "{got:#?}");
            for (f, (code, severity, text)) in got.iter().zip(want) {
                assert_eq!((f.code, f.severity), (*code, *severity), "{f:#?}");
                assert!(f.message.contains(text), "{}\nwant {text}", f.message);
            }
        }
    }

    #[test]
    fn thousands_of_records_are_capped_with_a_count() {
        let records: Vec<Unreadable> = (0..2_500)
            .map(|i| rec(10 + i * 7, Some("CN=U,DC=x"), Some(Effect::Kept)))
            .collect();
        let got = findings("ad.ldif", &records);
        assert_eq!(got.len(), MAX_PER_CODE + 1);
        let last = got.last().unwrap();
        let first_rest = 10 + MAX_PER_CODE * 7;
        assert!(
            last.message.contains(&format!(
                "line {first_rest}: this record and 2399 more after it"
            )),
            "{}",
            last.message
        );
        assert_eq!(
            (last.dn.as_deref(), last.code),
            (None, Code::UnreadableRecord)
        );
        assert!(got[..MAX_PER_CODE].iter().all(|f| f.dn.is_some()));
    }

    #[test]
    fn the_detail_drops_the_line_the_finding_names() {
        let text = "dn: CN=a\nmail:: !!\n\n";
        let b = match dirsync_directory::ldif_stream::Records::new(text.as_bytes()).next() {
            Some(Ok(dirsync_directory::ldif_stream::Parsed::Bad(b))) => b,
            other => panic!("{other:?}"),
        };
        let u = Unreadable::of(&b, Some(Effect::Kept));
        assert_eq!(u.line, 2);
        assert_eq!(u.dn.as_deref(), Some("CN=a"));
        assert!(
            u.detail.starts_with("the base64 value of mail is invalid"),
            "{}",
            u.detail
        );
    }
}
