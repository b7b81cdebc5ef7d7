//! Tests of the streamed scope: it must read exactly what
//! [`crate::ldif::read_snapshot`] reads, and hold back only the records
//! that cannot be read.

use super::*;
use crate::ldif::read_snapshot;
use crate::ldif_test_records::{b64, group, guid_bytes, staff, user};
use dirsync_model::DirectorySnapshot;

/// The streamed read: objects in scope (sorted by GUID), held lines, the
/// out-of-scope bad lines.
type Streamed = (DirectorySnapshot, Vec<usize>, Vec<usize>);

fn streamed(text: &str, scope: &Scope) -> Result<Streamed, LdifError> {
    let s = LdifScope::scan(text.as_bytes(), scope)?;
    let mut objects = Vec::new();
    let mut held = Vec::new();
    let out = s.read(text.as_bytes(), |f| match f {
        Found::Object { object, .. } => objects.push(object),
        Found::Held(b) => held.push(b.error.line().unwrap()),
    })?;
    objects.sort_by_key(|o| o.guid);
    let snap = DirectorySnapshot {
        exchange_group: s.exchange_group,
        rsemail_group: s.rsemail_group,
        objects,
    };
    Ok((
        snap,
        held,
        out.iter().map(|b| b.error.line().unwrap()).collect(),
    ))
}

fn whole(text: &str, scope: &Scope) -> Result<DirectorySnapshot, LdifError> {
    read_snapshot(text, scope).map(|mut s| {
        s.objects.sort_by_key(|o| o.guid);
        s
    })
}

fn nested_fixture() -> String {
    [
        group(
            1,
            "Exchange",
            &[
                &staff("a"),
                "CN=L1,OU=Groups,DC=example,DC=com",
                "CN=PC,DC=example,DC=com",
            ],
        ),
        group(2, "L1", &[&staff("b"), "CN=L2,OU=Groups,DC=example,DC=com"]),
        group(3, "L2", &[&staff("c")]),
        group(4, "RSEmail", &[&staff("d"), &staff("a")]),
        user(5, "a"),
        user(6, "b"),
        user(7, "c"),
        user(8, "d"),
        user(9, "outsider"),
        "dn: CN=PC,DC=example,DC=com\nobjectClass: user\nobjectClass: computer\n\n".into(),
    ]
    .concat()
}

/// Without bad records, the streamed read is the whole read: same
/// objects, same service groups, same errors.
#[test]
fn reads_what_the_whole_read_reads() {
    let text = nested_fixture();
    let missing = [
        group(
            1,
            "Exchange",
            &[&staff("a"), "CN=L1,OU=Groups,DC=example,DC=com"],
        ),
        group(2, "L1", &[&staff("gone")]),
        user(5, "a"),
    ]
    .concat();
    let dup = [
        group(1, "Dup", &[]),
        group(2, "Dup", &[]).replace("OU=Groups", "OU=Other"),
    ]
    .concat();
    for (text, scope) in [
        (
            text.as_str(),
            Scope::new(Some("Exchange"), Some("RSEmail")).unwrap(),
        ),
        (
            text.as_str(),
            Scope::new(Some("CN=L1, OU=Groups,DC=example,DC=com"), None).unwrap(),
        ),
        (text.as_str(), Scope::new(None, Some("rsemail")).unwrap()),
        (text.as_str(), Scope::new(Some("Missing"), None).unwrap()),
        (
            text.as_str(),
            Scope::new(Some("CN=a,OU=Staff,DC=example,DC=com"), None).unwrap(),
        ),
        (
            text.as_str(),
            Scope::new(Some("CN=PC,DC=example,DC=com"), None).unwrap(),
        ),
        (
            missing.as_str(),
            Scope::new(Some("Exchange"), None).unwrap(),
        ),
        (dup.as_str(), Scope::new(Some("Dup"), None).unwrap()),
        ("", Scope::new(Some("Exchange"), None).unwrap()),
    ] {
        let want = whole(text, &scope);
        let got = streamed(text, &scope).map(|(s, held, out)| {
            assert_eq!((held, out), (vec![], vec![]), "{scope:?}");
            s
        });
        assert_eq!(got, want, "{scope:?}");
    }
}

/// A file cut anywhere reads as the whole file or fails, exactly as the
/// whole read does.
#[test]
fn a_cut_export_fails_as_the_whole_read_does() {
    let text = nested_fixture();
    let scope = Scope::new(Some("Exchange"), Some("RSEmail")).unwrap();
    let mut cuts = vec![0];
    for (i, _) in text.match_indices('\n') {
        cuts.push(i);
        cuts.push(i + 1);
    }
    for cut in cuts {
        let part = &text[..cut];
        let want = whole(part, &scope);
        match streamed(part, &scope) {
            Ok((s, held, out)) => {
                assert_eq!(Ok(s), want, "cut at {cut}");
                assert!(held.is_empty() && out.is_empty(), "cut at {cut}");
            }
            Err(e) => assert!(want.is_err(), "cut at {cut}: streamed {e}, whole {want:?}"),
        }
    }
}

/// (what breaks, scope result: Ok(held lines, out-of-scope bad lines) or
/// Err(line of the error)).
#[test]
fn one_bad_record_is_held_back_alone() {
    let bad_user = |cn: &str, n: u8| {
        format!(
            "dn: {}\nobjectClass: user\nobjectGUID:: {}\ndisplayName:: !!\n\n",
            staff(cn),
            b64(&guid_bytes(n))
        )
    };
    let no_guid = |cn: &str| format!("dn: {}\nobjectClass: user\n\n", staff(cn));
    let ex = group(
        1,
        "Exchange",
        &[
            &staff("a"),
            &staff("b"),
            "CN=L1,OU=Groups,DC=example,DC=com",
        ],
    );
    let l1 = group(2, "L1", &[&staff("c")]);
    let bad_l1 = "dn: CN=L1,OU=Groups,DC=example,DC=com\nobjectClass: group\nobjectGUID:: AAEC\nmember: CN=c,OU=Staff,DC=example,DC=com\nmember:: !!\n\n".to_string();
    let scope = Scope::new(Some("Exchange"), None).unwrap();
    type Want = Result<(Vec<usize>, Vec<usize>), usize>;
    let cases: Vec<(&str, String, Want)> = vec![
        (
            "a user in scope with a bad value: held, the others read",
            [
                ex.clone(),
                l1.clone(),
                bad_user("a", 5),
                user(6, "b"),
                user(7, "c"),
            ]
            .concat(),
            Ok((vec![18], vec![])),
        ),
        (
            "a user in scope without objectGUID: held",
            [
                ex.clone(),
                l1.clone(),
                user(5, "a"),
                no_guid("b"),
                user(7, "c"),
            ]
            .concat(),
            Ok((vec![22], vec![])),
        ),
        (
            "a member of a nested group: held",
            [
                ex.clone(),
                l1.clone(),
                user(5, "a"),
                user(6, "b"),
                bad_user("c", 7),
            ]
            .concat(),
            Ok((vec![32], vec![])),
        ),
        (
            "a bad record out of scope, and one with no DN: listed",
            [
                ex.clone(),
                l1.clone(),
                user(5, "a"),
                user(6, "b"),
                user(7, "c"),
                bad_user("x", 8),
                "mail: stray\n\n".into(),
            ]
            .concat(),
            Ok((vec![], vec![39, 41])),
        ),
        (
            "a nested group that cannot be read: the scope cannot be known",
            [ex.clone(), bad_l1, user(5, "a"), user(6, "b"), user(7, "c")].concat(),
            Err(13),
        ),
        (
            "the service group cannot be read",
            [
                ex.replace("objectGUID::", "objectGUID:: !!"),
                l1,
                user(5, "a"),
                user(6, "b"),
                user(7, "c"),
            ]
            .concat(),
            Err(3),
        ),
    ];
    for (what, text, want) in cases {
        let got = streamed(&text, &scope);
        match (&got, &want) {
            (Ok((s, held, out)), Ok((wheld, wout))) => {
                assert_eq!((held, out), (wheld, wout), "{what}");
                // Every readable object in scope is read.
                let names: Vec<&str> = s.objects.iter().map(|o| o.dn.as_str()).collect();
                assert_eq!(s.objects.len() + held.len(), 5, "{what}: {names:?}");
            }
            (Err(e), Err(line)) => assert_eq!(e.line(), Some(*line), "{what}: {e}"),
            _ => panic!("{what}: {got:?}"),
        }
    }
}
