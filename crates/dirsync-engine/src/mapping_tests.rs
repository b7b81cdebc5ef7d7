//! The mapping's tests, and the directory objects other modules' tests build.
use super::*;
use dirsync_model::Severity;

pub fn guid(n: u8) -> Guid {
    Guid::from_canonical_bytes([n; 16])
}

pub fn user(n: u8, cn: &str, mail: Option<&str>) -> DirectoryObject {
    let mut o = DirectoryObject::new(
        guid(n),
        ObjectKind::User,
        format!("CN={cn},OU=Staff,DC=example,DC=com"),
    );
    o.mail = mail.map(str::to_string);
    o.info.given_name = Some(cn.split(' ').next().unwrap_or(cn).to_string());
    o
}

pub fn group(n: u8, cn: &str, mail: Option<&str>, members: &[&DirectoryObject]) -> DirectoryObject {
    let mut o = DirectoryObject::new(
        guid(n),
        ObjectKind::Group,
        format!("CN={cn},OU=Groups,DC=example,DC=com"),
    );
    o.mail = mail.map(str::to_string);
    o.members = members.iter().map(|m| m.dn.clone()).collect();
    o
}

pub fn contact(n: u8, cn: &str, mail: &str, other: &[&str]) -> DirectoryObject {
    let mut o = DirectoryObject::new(
        guid(n),
        ObjectKind::Contact,
        format!("CN={cn},OU=Contacts,DC=example,DC=com"),
    );
    o.mail = Some(mail.to_string());
    o.other_mailbox = other.iter().map(ToString::to_string).collect();
    o
}

pub fn snapshot(
    ex: Vec<DirectoryObject>,
    rs: Vec<DirectoryObject>,
    extra: Vec<DirectoryObject>,
) -> DirectorySnapshot {
    let exg = group(200, "Exchange Users", None, &ex.iter().collect::<Vec<_>>());
    let rsg = group(
        201,
        "Rackspace Email Users",
        None,
        &rs.iter().collect::<Vec<_>>(),
    );
    let mut objects = vec![exg.clone(), rsg.clone()];
    for o in ex.into_iter().chain(rs).chain(extra) {
        if !objects.iter().any(|x| x.guid == o.guid) {
            objects.push(o);
        }
    }
    DirectorySnapshot {
        exchange_group: Some(exg.guid),
        rsemail_group: Some(rsg.guid),
        objects,
    }
}

fn codes(d: &Desired) -> Vec<(String, &'static str)> {
    d.findings
        .iter()
        .map(|f| (f.dn.clone().unwrap_or_default(), f.code.as_str()))
        .collect()
}

#[test]
fn users_map_to_their_service() {
    let mut jane = user(1, "Jane Doe", Some("Jane.Doe@example.com"));
    jane.proxy_addresses = vec![
        "SMTP:jane.doe@example.com".into(),
        "smtp:jd@example.com".into(),
        "X500:/o=x".into(),
        "bogus".into(),
    ];
    jane.info.title = Some("Engineer".into());
    jane.disabled = true;
    let bob = user(2, "Bob", Some("bob@example.com"));
    let d = desired_state(
        &snapshot(vec![jane], vec![bob], vec![]),
        MappingSettings::default(),
    );
    assert_eq!(d.mailboxes.len(), 2);
    let j = &d.mailboxes.iter().find(|m| m.guid == guid(1)).unwrap();
    assert_eq!(j.service, Service::Exchange);
    assert_eq!(j.address.local_part(), "Jane.Doe");
    assert!(!j.enabled);
    assert_eq!(
        j.alternates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["jd@example.com"]
    );
    assert_eq!(j.fields["title"], "Engineer");
    assert_eq!(j.fields["displayName"], "Jane Doe");
    let b = &d.mailboxes.iter().find(|m| m.guid == guid(2)).unwrap();
    assert_eq!(b.service, Service::RsEmail);
    assert_eq!(
        codes(&d),
        vec![("CN=Jane Doe,OU=Staff,DC=example,DC=com".into(), "DS105")]
    );
    assert_eq!(d.findings[0].severity, Severity::Warning);
}

#[test]
fn alternates_can_be_turned_off() {
    let mut jane = user(1, "Jane", Some("jane@example.com"));
    jane.proxy_addresses = vec!["smtp:jd@example.com".into()];
    let d = desired_state(
        &snapshot(vec![jane], vec![], vec![]),
        MappingSettings {
            sync_alternates: false,
        },
    );
    assert!(d.mailboxes[0].alternates.is_empty());
}

/// Table: one directory situation per row, the codes it must produce
/// (by DN prefix), and the mailboxes that must sync.
#[test]
fn findings_table() {
    struct Case {
        name: &'static str,
        ex: Vec<DirectoryObject>,
        rs: Vec<DirectoryObject>,
        extra: Vec<DirectoryObject>,
        want_codes: Vec<(&'static str, &'static str)>,
        want_mailboxes: Vec<&'static str>,
    }
    let both = user(3, "Both", Some("both@example.com"));
    let nested_user = user(4, "Nested", Some("nested@example.com"));
    let direct_user = user(5, "Direct", Some("direct@example.com"));
    let list = group(
        6,
        "Sales",
        Some("sales@example.com"),
        &[&nested_user, &direct_user],
    );
    let mut dup_alt = user(8, "Dup Alt", Some("dupalt@example.com"));
    dup_alt.proxy_addresses = vec!["smtp:direct@example.com".into()];
    let cases = vec![
        Case {
            name: "empty mail",
            ex: vec![user(1, "Empty", Some("")), user(2, "Missing", None)],
            rs: vec![],
            extra: vec![],
            want_codes: vec![("CN=Empty", "DS001"), ("CN=Missing", "DS001")],
            want_mailboxes: vec![],
        },
        Case {
            name: "invalid mail",
            ex: vec![user(1, "Bad", Some("no-at-sign"))],
            rs: vec![],
            extra: vec![],
            want_codes: vec![("CN=Bad", "DS001")],
            want_mailboxes: vec![],
        },
        Case {
            name: "user in both groups",
            ex: vec![both.clone()],
            rs: vec![both],
            extra: vec![],
            want_codes: vec![("CN=Both", "DS102")],
            want_mailboxes: vec![],
        },
        Case {
            name: "nested group member",
            ex: vec![list, direct_user.clone()],
            rs: vec![],
            extra: vec![nested_user],
            want_codes: vec![("CN=Nested", "DS101")],
            want_mailboxes: vec!["direct@example.com"],
        },
        Case {
            name: "duplicate primary",
            ex: vec![
                user(1, "A", Some("same@example.com")),
                user(2, "B", Some("SAME@example.com")),
            ],
            rs: vec![],
            extra: vec![],
            want_codes: vec![("CN=B", "DS103")],
            want_mailboxes: vec!["same@example.com"],
        },
        Case {
            name: "duplicate alternate",
            ex: vec![direct_user, dup_alt],
            rs: vec![],
            extra: vec![],
            want_codes: vec![("CN=Dup Alt", "DS103")],
            want_mailboxes: vec!["direct@example.com", "dupalt@example.com"],
        },
        Case {
            name: "contact with invalid address",
            ex: vec![contact(9, "Ext", "not valid", &[])],
            rs: vec![],
            extra: vec![],
            want_codes: vec![("CN=Ext", "DS001")],
            want_mailboxes: vec![],
        },
    ];
    for c in cases {
        let s = snapshot(c.ex, c.rs, c.extra);
        let d = desired_state(&s, MappingSettings::default());
        let owned = desired_state_owned(s, MappingSettings::default());
        assert_eq!(owned, d, "{}: consumed vs borrowed", c.name);
        let got: Vec<(String, &str)> = codes(&d);
        assert_eq!(got.len(), c.want_codes.len(), "{}: {got:?}", c.name);
        for ((dn, code), (want_dn, want_code)) in got.iter().zip(&c.want_codes) {
            assert!(dn.starts_with(want_dn), "{}: {dn} vs {want_dn}", c.name);
            assert_eq!(code, want_code, "{}", c.name);
        }
        let mut mb: Vec<String> = d
            .mailboxes
            .iter()
            .map(|m| m.address.lower().to_string())
            .collect();
        mb.sort();
        assert_eq!(mb, c.want_mailboxes, "{}", c.name);
    }
}

#[test]
fn lists_and_contacts() {
    let a = user(1, "A", Some("a@example.com"));
    let ext = contact(
        2,
        "Gmail Aaron Medrano",
        "aaron@gmail.com",
        &["example.com"],
    );
    let l = group(3, "Sales", Some("sales@example.com"), &[&a, &ext]);
    let plain = group(4, "No Mail", None, &[&a]);
    let d = desired_state(
        &snapshot(vec![a, ext, l, plain], vec![], vec![]),
        MappingSettings::default(),
    );
    assert_eq!(d.lists.len(), 1);
    assert_eq!(d.lists[0].members, [guid(1), guid(2)].into_iter().collect());
    assert_eq!(d.contacts.len(), 1);
    assert_eq!(d.contacts[0].proposed_name, "gmail.aaron.medrano");
    assert_eq!(d.contacts[0].other_mailbox, vec!["example.com"]);
    assert!(d.in_scope.contains(&guid(4)));
    assert!(d.findings.is_empty(), "{:?}", d.findings);
}

/// The mapping that consumes its snapshot, dropping each object once
/// mapped, gives the borrowed mapping's desired state; and the labels
/// it keeps are those of the lists' members, in scope or not.
#[test]
fn consuming_mapping_is_the_borrowed_one() {
    let a = user(1, "A", Some("a@example.com"));
    let mut b = user(2, "B", Some("b@example.com"));
    b.proxy_addresses = vec!["smtp:team@example.com".into(), "bad".into()];
    let outside = user(3, "Outside", Some("out@example.com"));
    let ext = contact(4, "Ext", "ext@gmail.com", &[]);
    let inner = group(5, "Inner", Some("inner@example.com"), &[&a, &outside]);
    let mut team = group(6, "Team", Some("team@example.com"), &[&a, &b, &inner, &ext]);
    team.members.push("CN=Nobody,DC=example,DC=com".into());
    let plain = group(7, "Plain", None, &[&b]);
    let both = user(8, "Both", Some("both@example.com"));
    let rs_only = user(9, "Rs", Some("rs@example.com"));
    struct Case {
        name: &'static str,
        snapshot: DirectorySnapshot,
        labels: Vec<Guid>,
    }
    let cases = [
        Case {
            name: "lists, nesting, contacts, both services",
            snapshot: snapshot(
                vec![
                    a.clone(),
                    b,
                    ext.clone(),
                    inner,
                    team.clone(),
                    plain,
                    both.clone(),
                ],
                vec![both, rs_only.clone()],
                vec![outside],
            ),
            labels: vec![guid(1), guid(2), guid(3), guid(4), guid(5)],
        },
        Case {
            name: "no lists: no labels",
            snapshot: snapshot(vec![a, ext], vec![rs_only], vec![]),
            labels: vec![],
        },
        Case {
            name: "a list's member outside the read is unresolved",
            snapshot: snapshot(vec![team.clone()], vec![], vec![]),
            labels: vec![],
        },
        Case {
            name: "empty",
            snapshot: snapshot(vec![], vec![], vec![]),
            labels: vec![],
        },
    ];
    for c in cases {
        for alternates in [true, false] {
            let settings = MappingSettings {
                sync_alternates: alternates,
            };
            let d = desired_state(&c.snapshot, settings);
            assert_eq!(
                desired_state_owned(c.snapshot.clone(), settings),
                d,
                "{}",
                c.name
            );
            let labels: Vec<Guid> = d.labels.keys().copied().collect();
            assert_eq!(labels, c.labels, "{}", c.name);
        }
    }
}

#[test]
fn names_from_labels() {
    for (label, want) in [
        ("Gmail Aaron Medrano", "gmail.aaron.medrano"),
        ("  O'Brien, Pat ", "obrien.pat"),
        ("...", ""),
    ] {
        assert_eq!(name_from_label(label), want);
    }
}
