//! LDIF snapshots (RFC 2849) as a second directory source.
//!
//! Reads the content records written by `ldapsearch -LLL` and by Windows'
//! `ldifde -f`: `version: 1`, comments, folded lines, base64 (`::`) values
//! such as the binary objectGUID, `changetype: add` (ldifde writes it on every
//! record) and CRLF line ends. Every error names the line it was found on.
//! The snapshot is scoped exactly as the LDAP reader scopes a live directory.

use std::collections::HashMap;

use dirsync_model::{DirectoryObject, DirectorySnapshot, ObjectKind};

use crate::entry::{dn_key, EntryError, RawEntry};
use crate::ldif_stream::{preview, Parsed, Records, Unterminated};
use crate::scope::{scope_objects, Scope, ScopeError};

/// Why an LDIF snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdifError {
    #[error("LDIF line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("LDIF line {line}: {source}")]
    Entry {
        line: usize,
        #[source]
        source: EntryError,
    },
    /// The export does not prove it is whole: its last record is cut short,
    /// or a group in scope names a member the export does not hold. Taken
    /// as it is, it would look like objects left the directory.
    #[error("LDIF line {line}: {message}")]
    Incomplete { line: usize, message: String },
    /// The file could not be read further (an I/O failure).
    #[error("LDIF line {line}: cannot read the file further: {message}")]
    Io { line: usize, message: String },
    #[error(transparent)]
    Scope(#[from] ScopeError),
}

impl LdifError {
    pub(crate) fn syntax(line: usize, message: impl Into<String>) -> Self {
        LdifError::Syntax {
            line,
            message: message.into(),
        }
    }
    /// The 1-based line the error was found on, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            LdifError::Syntax { line, .. }
            | LdifError::Entry { line, .. }
            | LdifError::Incomplete { line, .. }
            | LdifError::Io { line, .. } => Some(*line),
            LdifError::Scope(_) => None,
        }
    }
}

/// Reads an LDIF export and returns the objects in scope.
///
/// LDIF has no end marker, so the export must prove it is whole before it
/// is taken as the directory: its last record ends with a blank line (as
/// ldifde and `ldapsearch -LLL` write every record), and every member of
/// the service groups and of the groups nested in them is an entry of the
/// export. A file cut short, or still being written, fails here
/// ([`LdifError::Incomplete`]) instead of reading as users who left.
/// Any record that cannot be read fails the whole read (a full sync must
/// see every object); the streamed rerun ([`crate::ldif_scope`]) holds
/// only that object back instead.
pub fn read_snapshot(text: &str, scope: &Scope) -> Result<DirectorySnapshot, LdifError> {
    let mut records = Records::new(text.as_bytes());
    let entries = collect_entries(&mut records)?;
    if let Some(cut) = records.unterminated() {
        return Err(unterminated_error(cut));
    }
    // Every entry's DN (objects dirsync ignores, such as computers and OUs,
    // included) with the line its record starts on.
    let mut lines: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    let mut objects = Vec::new();
    for (line, entry) in entries {
        lines.entry(dn_key(&entry.dn)).or_insert(line);
        if let Some(o) = entry
            .to_object()
            .map_err(|source| LdifError::Entry { line, source })?
        {
            objects.push(o);
        }
    }
    let snapshot = scope_objects(objects, scope)?;
    check_members(&snapshot, &lines)?;
    Ok(snapshot)
}

/// The error for a last record that no blank line ends.
pub(crate) fn unterminated_error((start, end, dn): &Unterminated) -> LdifError {
    LdifError::Incomplete {
        line: *end,
        message: format!(
            "the last record ('dn: {}', from line {start}) does not end with a blank line, so the file may be cut short \
             or still being written; nothing is synced from it. ldifde and ldapsearch end every record with an empty line: \
             export the file again, or, if it is whole, end it with an empty line",
            preview(dn)
        ),
    }
}

/// The error for a member of a service group (or of a group nested in
/// one) that is no entry of the export.
pub(crate) fn missing_member_error(line: usize, group: &str, member: &str) -> LdifError {
    LdifError::Incomplete {
        line,
        message: format!(
            "the group '{}' names the member '{}', which is not an entry of the export: the file is cut short \
             or still being written, or was exported without that object; nothing is synced from it. \
             Export the whole domain (ldifde -f, or ldapsearch -LLL from the domain root) with every member \
             of the service groups and of the groups nested in them",
            preview(group),
            preview(member)
        ),
    }
}

/// Fails when a service group, or a group nested in one, names a member
/// that is no entry of the export.
fn check_members(s: &DirectorySnapshot, lines: &HashMap<String, usize>) -> Result<(), LdifError> {
    let by_dn: HashMap<String, &DirectoryObject> =
        s.objects.iter().map(|o| (dn_key(&o.dn), o)).collect();
    let service: Vec<&DirectoryObject> = s
        .objects
        .iter()
        .filter(|o| Some(o.guid) == s.exchange_group || Some(o.guid) == s.rsemail_group)
        .collect();
    let mut groups: Vec<&DirectoryObject> = service.clone();
    for g in &service {
        for m in &g.members {
            if let Some(n) = by_dn
                .get(&dn_key(m))
                .filter(|o| o.kind == ObjectKind::Group)
            {
                groups.push(n);
            }
        }
    }
    for g in groups {
        for m in &g.members {
            if !lines.contains_key(&dn_key(m)) {
                let line = lines.get(&dn_key(&g.dn)).copied().unwrap_or(1);
                return Err(missing_member_error(line, &g.dn, m));
            }
        }
    }
    Ok(())
}

/// Every record, or the first that cannot be read (in file order).
fn collect_entries<R: std::io::BufRead>(
    records: &mut Records<R>,
) -> Result<Vec<(usize, RawEntry)>, LdifError> {
    let mut entries = Vec::new();
    for r in records {
        match r? {
            Parsed::Entry { line, entry } => entries.push((line, entry)),
            Parsed::Bad(b) => return Err(b.error),
        }
    }
    Ok(entries)
}

/// Parses the content records of an LDIF file into raw entries, each with the
/// line its `dn:` is on. The first record that cannot be read fails it.
pub fn parse_entries(text: &str) -> Result<Vec<(usize, RawEntry)>, LdifError> {
    collect_entries(&mut Records::new(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldif_test_records::{b64, group, guid_bytes, user};

    fn scope(ex: &str) -> Scope {
        Scope::new(Some(ex), None).unwrap()
    }

    #[test]
    fn reads_ldapsearch_style_export_with_folding_comments_and_base64() {
        // bob: folded DN line, base64 displayName with non-ASCII, CRLF endings
        let bob = format!(
                "dn: CN=bob,OU=Sta\r\n ff,DC=example,DC=com\r\nobjectClass: user\r\nobjectGUID:: {}\r\ndisplayName:: {}\r\nproxyAddresses: SMTP:bob@ex\r\n ample.com\r\nuserAccountControl: 514\r\n\r\n",
                b64(&guid_bytes(4)),
                b64("Bób Ñ".as_bytes())
            );
        let text = format!(
            "version: 1\n# extended LDIF\n# continued comment\n  still comment\n\n{}{}{}{}",
            group(
                1,
                "Exchange Users",
                &[
                    "CN=alice,OU=Staff,DC=example,DC=com",
                    "CN=Sales,OU=Groups,DC=example,DC=com"
                ]
            ),
            group(2, "Sales", &["CN=bob,OU=Staff,DC=example,DC=com"]),
            user(3, "alice"),
            bob
        );
        let s = read_snapshot(&text, &scope("exchange users")).unwrap();
        assert_eq!(s.objects.len(), 4);
        assert_eq!(
            s.exchange_group.unwrap().to_string(),
            "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e01"
        );
        let bob = s
            .objects
            .iter()
            .find(|o| o.dn.starts_with("CN=bob"))
            .unwrap();
        assert_eq!(bob.dn, "CN=bob,OU=Staff,DC=example,DC=com");
        assert_eq!(bob.info.display_name.as_deref(), Some("Bób Ñ"));
        assert_eq!(bob.proxy_addresses, vec!["SMTP:bob@example.com"]);
        assert!(bob.disabled);
        assert_eq!(bob.guid.to_string(), "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e04");
    }

    #[test]
    fn reads_ldifde_style_export() {
        // ldifde writes changetype: add on every record and CRLF line ends.
        let text = format!(
            "\r\ndn: CN=Exchange,OU=Groups,DC=example,DC=com\r\nchangetype: add\r\nobjectClass: top\r\nobjectClass: group\r\ncn: Exchange\r\nmember: CN=Contact One,OU=Ext,DC=example,DC=com\r\nobjectGUID:: {}\r\n\r\ndn: CN=Contact One,OU=Ext,DC=example,DC=com\r\nchangetype: add\r\nobjectClass: top\r\nobjectClass: person\r\nobjectClass: organizationalPerson\r\nobjectClass: contact\r\nobjectGUID:: {}\r\nmail: one@partner.org\r\n\r\n",
            b64(&guid_bytes(9)),
            b64(&guid_bytes(10))
        );
        let s = read_snapshot(&text, &scope("CN=Exchange, OU=Groups,DC=example,DC=com")).unwrap();
        let kinds: Vec<ObjectKind> = s.objects.iter().map(|o| o.kind).collect();
        assert_eq!(kinds, vec![ObjectKind::Group, ObjectKind::Contact]);
    }

    #[test]
    fn scope_rules() {
        let text = [
            group(
                1,
                "Exchange",
                &[
                    "CN=a,OU=Staff,DC=example,DC=com",
                    "CN=L1,OU=Groups,DC=example,DC=com",
                ],
            ),
            group(
                2,
                "L1",
                &[
                    "CN=b,OU=Staff,DC=example,DC=com",
                    "CN=L2,OU=Groups,DC=example,DC=com",
                ],
            ),
            group(3, "L2", &["CN=c,OU=Staff,DC=example,DC=com"]),
            group(
                4,
                "RSEmail",
                &[
                    "CN=d,OU=Staff,DC=example,DC=com",
                    "CN=a,OU=Staff,DC=example,DC=com",
                ],
            ),
            user(5, "a"),
            user(6, "b"),
            user(7, "c"),
            user(8, "d"),
            user(9, "outsider"),
        ]
        .concat();
        let both = Scope::new(Some("Exchange"), Some("RSEmail")).unwrap();
        let s = read_snapshot(&text, &both).unwrap();
        let mut names: Vec<String> = s
            .objects
            .iter()
            .map(|o| o.sam_account_name.clone().unwrap())
            .collect();
        names.sort();
        // a (direct, both groups, once), L1 and its member b, L2 as L1's member but not c, d.
        assert_eq!(names, ["Exchange", "L1", "L2", "RSEmail", "a", "b", "d"]);
        assert!(s.rsemail_group.is_some() && s.exchange_group.is_some());
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line, needle) in [
            (
                "dn: CN=x,DC=y\nobjectClass user\n",
                2,
                "expected 'attribute: value'",
            ),
            ("objectClass: user\n", 1, "must start with 'dn:'"),
            (" folded\n", 1, "continuation line"),
            (
                "dn: CN=x,DC=y\nobjectGUID:: !!!\n",
                2,
                "base64 value of objectGUID is invalid",
            ),
            ("dn: CN=x,DC=y\nchangetype: modify\n", 2, "change record"),
            ("dn: CN=x,DC=y\njpegPhoto:< file:///etc/passwd\n", 2, "URL"),
            ("version: 2\n", 1, "version 1"),
            (
                "dn: CN=x,DC=y\nmember;range=0-1499: CN=a\n",
                2,
                "ranged retrieval",
            ),
            ("dn: CN=x,DC=y\ndn: CN=z,DC=y\n", 2, "second 'dn:'"),
            (
                "\n\ndn: CN=x,DC=y\nobjectClass: user\n\n",
                3,
                "no objectGUID",
            ),
            (
                "dn: CN=x,DC=y\nobjectClass: user\nobjectGUID:: AAEC\n\n",
                1,
                "16 bytes",
            ),
            (
                "dn: CN=x,DC=y\nobjectClass: user\nobjectGUID:: AAEC",
                3,
                "does not end with a blank line",
            ),
            (
                "\ndn: CN=x,DC=y\nobjectClass: user\nmember: CN=a\n# end\n",
                5,
                "the last record ('dn: CN=x,DC=y', from line 2) does not end with a blank line",
            ),
        ] {
            let e = read_snapshot(text, &scope("g")).unwrap_err();
            assert_eq!(e.line(), Some(line), "{text:?}: {e}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
            assert!(
                e.to_string().starts_with(&format!("LDIF line {line}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn a_member_missing_from_the_export_is_a_read_failure() {
        let text = [
            group(
                1,
                "Exchange",
                &[
                    "CN=a,OU=Staff,DC=example,DC=com",
                    "CN=L1,OU=Groups,DC=example,DC=com",
                ],
            ),
            group(2, "L1", &["CN=gone,OU=Staff,DC=example,DC=com"]),
            user(5, "a"),
        ]
        .concat();
        let e = read_snapshot(&text, &scope("Exchange")).unwrap_err();
        assert!(matches!(e, LdifError::Incomplete { line: 8, .. }), "{e}");
        assert!(
            e.to_string().contains("the group 'CN=L1,OU=Groups,DC=example,DC=com' names the member 'CN=gone,OU=Staff,DC=example,DC=com', which is not an entry of the export"),
            "{e}"
        );
    }

    /// A file cut anywhere (inside a record, inside a line, or between
    /// records) either fails to read or reads exactly as the whole file:
    /// never as a directory with fewer members.
    #[test]
    fn a_cut_export_fails_or_reads_whole() {
        let members: Vec<String> = (10..40)
            .map(|i| format!("CN=u{i},OU=Staff,DC=example,DC=com"))
            .collect();
        let mut ex: Vec<&str> = members.iter().map(String::as_str).collect();
        ex.push("CN=L1,OU=Groups,DC=example,DC=com");
        let users: String = (10..40).map(|i| user(i, &format!("u{i}"))).collect();
        let groups = [
            group(1, "Exchange", &ex),
            group(2, "L1", &ex[..5]),
            user(3, "outsider"),
        ]
        .concat();
        for text in [format!("{groups}{users}"), format!("{users}{groups}")] {
            let sorted = |mut s: DirectorySnapshot| {
                s.objects.sort_by_key(|o| o.guid);
                s
            };
            let whole = sorted(read_snapshot(&text, &scope("Exchange")).unwrap());
            let mut accepted = 0;
            // After every line, and in the middle of every line.
            let mut cuts = vec![0];
            for (i, _) in text.match_indices('\n') {
                let start = *cuts.last().unwrap();
                cuts.push(start + (i + 1 - start) / 2);
                cuts.push(i + 1);
            }
            for cut in cuts {
                if let Ok(s) = read_snapshot(&text[..cut], &scope("Exchange")) {
                    assert_eq!(
                        sorted(s),
                        whole,
                        "cut at byte {cut}: {:?}",
                        &text[cut.saturating_sub(40)..cut]
                    );
                    accepted += 1;
                }
            }
            // Only cuts that lose nothing in scope (the trailing outsider) read.
            assert!(accepted <= 80, "{accepted}");
        }
    }

    #[test]
    fn scope_errors() {
        let text = [
            group(1, "Dup", &[]),
            format!(
                "dn: CN=Dup,OU=Other,DC=example,DC=com\nobjectClass: group\nobjectGUID:: {}\n\n",
                b64(&guid_bytes(2))
            ),
            user(3, "u"),
        ]
        .concat();
        let err = |s: Scope| read_snapshot(&text, &s).unwrap_err().to_string();
        assert!(err(scope("Missing")).contains("Exchange service group 'Missing' was not found"));
        assert!(err(scope("Dup")).contains("ambiguous: 2 groups"));
        assert!(err(scope("CN=u,OU=Staff,DC=example,DC=com")).contains("is not a group"));
        assert_eq!(Scope::new(None, Some(" ")), Err(ScopeError::Empty));
        // Ranged retrieval that reached the end is complete and accepted.
        let ranged = format!(
            "dn: CN=G,DC=example,DC=com\nobjectClass: group\nobjectGUID:: {}\nmember;range=0-*: CN=u,OU=Staff,DC=example,DC=com\n\n{}",
            b64(&guid_bytes(7)),
            user(3, "u")
        );
        assert_eq!(
            read_snapshot(&ranged, &scope("G")).unwrap().objects.len(),
            2
        );
    }

    #[test]
    fn ignores_non_directory_objects_and_empty_input() {
        let text = format!(
            "dn: OU=Staff,DC=example,DC=com\nobjectClass: organizationalUnit\n\ndn: CN=PC1,DC=example,DC=com\nobjectClass: user\nobjectClass: computer\n\n{}",
            group(1, "G", &["CN=PC1,DC=example,DC=com"])
        );
        let s = read_snapshot(&text, &scope("G")).unwrap();
        assert_eq!(s.objects.len(), 1);
        assert!(matches!(
            read_snapshot("", &scope("G")),
            Err(LdifError::Scope(ScopeError::NotFound { .. }))
        ));
    }
}
