//! The planner's table of cases and its scenario tests.

use std::collections::BTreeSet;

use super::*;
use crate::mapping::tests::{contact, group, guid, snapshot, user};
use crate::mapping::{desired_state, MappingSettings};
use dirsync_model::{DirectoryObject, DomainName, EmailAddress};

fn dom(name: &str, ex: bool, rs: bool, limit: u32, used: u32) -> TargetDomain {
    TargetDomain {
        name: DomainName::parse(name).unwrap(),
        exchange: ex,
        rs_email: rs,
        exchange_limit: limit,
        exchange_used: used,
        rs_email_limit: limit,
        rs_email_used: used,
        aliases: vec![],
        accepted: vec![],
    }
}

fn e(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn tmb(service: Service, address: &str, display: &str, alts: &[&str]) -> TargetMailbox {
    let mut fields = Fields::new();
    fields.insert("displayName".into(), display.into());
    let first = display.split(' ').next().unwrap().to_string();
    fields.insert("firstName".into(), first);
    TargetMailbox {
        service,
        address: e(address),
        enabled: true,
        fields,
        addresses: std::iter::once(e(address))
            .chain(alts.iter().map(|a| e(a)))
            .collect(),
        written_as: None,
    }
}

fn anchor(n: u8, kind: TargetKind, service: Service, address: &str, dn: &str) -> Anchor {
    Anchor {
        guid: guid(n),
        kind,
        service,
        address: e(address),
        dn: dn.into(),
        hash: String::new(),
        disabled_at: None,
    }
}

fn base_target() -> TargetState {
    TargetState {
        domains: vec![dom("example.com", true, true, 100, 0)],
        ..Default::default()
    }
}

fn run(
    ex: Vec<DirectoryObject>,
    rs: Vec<DirectoryObject>,
    target: &TargetState,
    anchors: &[Anchor],
    s: PlanSettings,
) -> Plan {
    let d = desired_state(
        &snapshot(ex, rs, vec![]),
        MappingSettings {
            sync_alternates: s.sync_alternates,
        },
    );
    plan(&d, target, anchors, &s)
}

fn summary(p: &Plan) -> Vec<String> {
    p.ops
        .iter()
        .map(|o| {
            let mut s = format!("{}:{} {}", o.phase, o.op.as_str(), o.target.lower());
            if let Some(a) = &o.address {
                s.push_str(&format!(" {}", a.to_ascii_lowercase()));
            }
            if o.op == OpKind::Update {
                s.push_str(&format!(" [{}]", field_names(&o.fields)));
            }
            s
        })
        .collect()
}

fn codes(p: &Plan) -> Vec<&'static str> {
    p.findings.iter().map(|f| f.code.as_str()).collect()
}

const JANE_DN: &str = "CN=Jane Doe,OU=Staff,DC=example,DC=com";

#[test]
fn planner_table() {
    struct Case {
        name: &'static str,
        ex: Vec<DirectoryObject>,
        rs: Vec<DirectoryObject>,
        target: TargetState,
        anchors: Vec<Anchor>,
        settings: PlanSettings,
        ops: Vec<&'static str>,
        codes: Vec<&'static str>,
    }
    let jane = || user(1, "Jane Doe", Some("jane@example.com"));
    let mut jane_alt = jane();
    jane_alt.proxy_addresses = vec!["SMTP:jane@example.com".into(), "smtp:jd@example.com".into()];
    let mut jane_title = jane();
    jane_title.info.title = Some("CTO".into());
    let mut jane_off = jane();
    jane_off.disabled = true;
    let mut jane_foreign_alt = jane();
    jane_foreign_alt.proxy_addresses = vec!["smtp:jane@other.org".into()];
    let anchored = || {
        vec![anchor(
            1,
            TargetKind::Mailbox,
            Service::Exchange,
            "jane@example.com",
            JANE_DN,
        )]
    };
    let with_jane = |alts: &[&str]| {
        let mut t = base_target();
        t.mailboxes
            .push(tmb(Service::Exchange, "jane@example.com", "Jane Doe", alts));
        t
    };
    let mut two_licences_used = base_target();
    two_licences_used.domains[0].exchange_limit = 3;
    two_licences_used.domains[0].exchange_used = 2;
    let mut accepted = base_target();
    accepted.domains[0].accepted = vec![DomainName::parse("other.org").unwrap()];
    let mut aliased = base_target();
    aliased.domains[0].aliases = vec![DomainName::parse("other.org").unwrap()];
    let mut rs_has_jane = base_target();
    rs_has_jane
        .mailboxes
        .push(tmb(Service::RsEmail, "jane@example.com", "Jane Doe", &[]));
    let mut bob_has_jd = base_target();
    bob_has_jd.mailboxes.push(tmb(
        Service::Exchange,
        "bob@example.com",
        "Bob",
        &["jd@example.com"],
    ));
    let bob = user(2, "Bob", Some("bob@example.com"));
    let mut moved = with_jane(&[]);
    moved.mailboxes.push(tmb(
        Service::Exchange,
        "bob@example.com",
        "Bob",
        &["jd@example.com"],
    ));
    let mut moved_anchors = anchored();
    moved_anchors.push(anchor(
        2,
        TargetKind::Mailbox,
        Service::Exchange,
        "bob@example.com",
        "CN=Bob,OU=Staff,DC=example,DC=com",
    ));
    let renamed = user(1, "Jane Doe", Some("jane.doe@example.com"));
    let grace = PlanSettings {
        delete_policy: DeletePolicy::AfterGrace { days: 30 },
        now: 100 * 86_400,
        ..Default::default()
    };
    let mut old_leaver = anchored();
    old_leaver[0].disabled_at = Some(50 * 86_400);

    let cases = vec![
        Case {
            name: "new user with an alternate",
            ex: vec![jane_alt.clone()],
            rs: vec![],
            target: base_target(),
            anchors: vec![],
            settings: PlanSettings::default(),
            ops: vec![
                "1:create jane@example.com",
                "3:add_address jane@example.com jd@example.com",
            ],
            codes: vec![],
        },
        Case {
            name: "new Rackspace Email user",
            ex: vec![],
            rs: vec![jane()],
            target: base_target(),
            anchors: vec![],
            settings: PlanSettings::default(),
            ops: vec!["1:create jane@example.com"],
            codes: vec![],
        },
        Case {
            name: "anchored and unchanged",
            ex: vec![jane()],
            rs: vec![],
            target: with_jane(&[]),
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec![],
            codes: vec![],
        },
        Case {
            name: "only changed fields are sent",
            ex: vec![jane_title.clone()],
            rs: vec![],
            target: with_jane(&[]),
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec!["1:update jane@example.com [title]"],
            codes: vec![],
        },
        Case {
            name: "soft match adopts",
            ex: vec![jane_title],
            rs: vec![],
            target: with_jane(&[]),
            anchors: vec![],
            settings: PlanSettings::default(),
            ops: vec!["1:update jane@example.com [title]"],
            codes: vec![],
        },
        Case {
            name: "disabled in AD",
            ex: vec![jane_off],
            rs: vec![],
            target: with_jane(&[]),
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec!["1:disable jane@example.com"],
            codes: vec![],
        },
        Case {
            name: "alternate removed from AD",
            ex: vec![jane()],
            rs: vec![],
            target: with_jane(&["jd@example.com"]),
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec!["2:remove_address jane@example.com jd@example.com"],
            codes: vec![],
        },
        Case {
            name: "alternates off leaves them alone",
            ex: vec![jane()],
            rs: vec![],
            target: with_jane(&["jd@example.com"]),
            anchors: anchored(),
            settings: PlanSettings {
                sync_alternates: false,
                ..Default::default()
            },
            ops: vec![],
            codes: vec![],
        },
        Case {
            name: "domain not on the account",
            ex: vec![user(1, "X", Some("x@nowhere.net"))],
            rs: vec![],
            target: base_target(),
            anchors: vec![],
            settings: PlanSettings::default(),
            ops: vec![],
            codes: vec!["DS004"],
        },
        Case {
            name: "licences run out",
            ex: vec![
                user(1, "A", Some("a@example.com")),
                user(2, "B", Some("b@example.com")),
            ],
            rs: vec![],
            target: two_licences_used,
            anchors: vec![],
            settings: PlanSettings::default(),
            ops: vec!["1:create a@example.com"],
            codes: vec!["DS002"],
        },
        Case {
            name: "exists in another service",
            ex: vec![jane()],
            rs: vec![],
            target: rs_has_jane,
            anchors: vec![],
            settings: PlanSettings::default(),
            ops: vec![],
            codes: vec!["DS003"],
        },
        Case {
            name: "alternate outside accepted domains",
            ex: vec![jane_foreign_alt.clone()],
            rs: vec![],
            target: with_jane(&[]),
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec![],
            codes: vec!["DS006"],
        },
        Case {
            name: "alternate in an accepted domain",
            ex: vec![jane_foreign_alt.clone()],
            rs: vec![],
            target: {
                let mut t = accepted.clone();
                t.mailboxes
                    .push(tmb(Service::Exchange, "jane@example.com", "Jane Doe", &[]));
                t
            },
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec!["3:add_address jane@example.com jane@other.org"],
            codes: vec![],
        },
        Case {
            name: "alternate in a domain alias",
            ex: vec![jane_foreign_alt],
            rs: vec![],
            target: aliased,
            anchors: vec![],
            settings: PlanSettings::default(),
            ops: vec!["1:create jane@example.com"],
            codes: vec!["DS006"],
        },
        Case {
            name: "alternate used by an unmanaged mailbox",
            ex: vec![jane_alt.clone()],
            rs: vec![],
            target: bob_has_jd,
            anchors: vec![],
            settings: PlanSettings::default(),
            ops: vec!["1:create jane@example.com"],
            codes: vec!["DS010"],
        },
        Case {
            name: "alternate moves between synced users",
            ex: vec![jane_alt, bob],
            rs: vec![],
            target: moved,
            anchors: moved_anchors,
            settings: PlanSettings::default(),
            ops: vec![
                "2:remove_address bob@example.com jd@example.com",
                "3:add_address jane@example.com jd@example.com",
            ],
            codes: vec![],
        },
        Case {
            name: "rename refused",
            ex: vec![renamed.clone()],
            rs: vec![],
            target: with_jane(&[]),
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec![],
            codes: vec!["DS008"],
        },
        Case {
            name: "rename refused, mailbox disabled as a leaver comes back enabled",
            ex: vec![renamed.clone()],
            rs: vec![],
            target: {
                let mut t = with_jane(&[]);
                t.mailboxes[0].enabled = false;
                t
            },
            anchors: old_leaver.clone(),
            settings: PlanSettings::default(),
            ops: vec!["1:enable jane@example.com"],
            codes: vec!["DS008"],
        },
        Case {
            name: "rename allowed",
            ex: vec![renamed],
            rs: vec![],
            target: with_jane(&[]),
            anchors: anchored(),
            settings: PlanSettings {
                allow_rename: true,
                ..Default::default()
            },
            ops: vec!["0:rename jane@example.com jane.doe@example.com"],
            codes: vec![],
        },
        Case {
            name: "leaver is disabled, never deleted",
            ex: vec![],
            rs: vec![],
            target: with_jane(&[]),
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec!["8:disable jane@example.com"],
            codes: vec![],
        },
        Case {
            name: "leaver within grace period",
            ex: vec![],
            rs: vec![],
            target: with_jane(&[]),
            anchors: anchored(),
            settings: grace,
            ops: vec!["8:disable jane@example.com"],
            codes: vec!["DS106"],
        },
        Case {
            name: "leaver after grace period",
            ex: vec![],
            rs: vec![],
            target: with_jane(&[]),
            anchors: old_leaver,
            settings: grace,
            ops: vec!["8:delete jane@example.com"],
            codes: vec![],
        },
        Case {
            name: "leaver already gone",
            ex: vec![],
            rs: vec![],
            target: base_target(),
            anchors: anchored(),
            settings: PlanSettings::default(),
            ops: vec![],
            codes: vec![],
        },
    ];
    for c in cases {
        let p = run(c.ex, c.rs, &c.target, &c.anchors, c.settings);
        assert_eq!(summary(&p), c.ops, "{}", c.name);
        assert_eq!(codes(&p), c.codes, "{}: {:?}", c.name, p.findings);
    }
}

#[test]
fn ds008_mailbox_back_in_scope_is_enabled_and_loses_its_leaver_date() {
    // Steps of the report: mail renamed (DS008), user removed from the
    // group (disabled), then added back.
    let mut t = base_target();
    t.mailboxes
        .push(tmb(Service::Exchange, "jane@example.com", "Jane Doe", &[]));
    t.mailboxes[0].enabled = false;
    let mut a = anchor(
        1,
        TargetKind::Mailbox,
        Service::Exchange,
        "jane@example.com",
        JANE_DN,
    );
    a.disabled_at = Some(1_000);
    let p = run(
        vec![user(1, "Jane Doe", Some("jane.doe@example.com"))],
        vec![],
        &t,
        std::slice::from_ref(&a),
        PlanSettings::default(),
    );
    assert_eq!(summary(&p), vec!["1:enable jane@example.com"]);
    assert_eq!(codes(&p), vec!["DS008"]);
    let u = &p.anchors[0];
    let na = u.anchor.as_ref().unwrap();
    assert_eq!(
        (na.address.to_string(), na.disabled_at),
        ("jane@example.com".into(), None)
    );
    assert_eq!(
        u.after,
        vec![0],
        "the anchor changes once the enable is done"
    );
}

#[test]
fn rename_message_uses_seed_values() {
    let p = run(
        vec![user(1, "Jane Doe", Some("userB@example.com"))],
        vec![],
        &{
            let mut t = base_target();
            t.mailboxes
                .push(tmb(Service::Exchange, "userA@example.com", "Jane Doe", &[]));
            t
        },
        &[anchor(
            1,
            TargetKind::Mailbox,
            Service::Exchange,
            "userA@example.com",
            JANE_DN,
        )],
        PlanSettings::default(),
    );
    assert_eq!(p.findings[0].message, format!("The Service ID specified in the mail attribute for user '{JANE_DN}' has changed from 'userA' to 'userB'. Directory Sync cannot change the Service ID for an object."));
}

#[test]
fn lists_after_members_and_anchor_dependencies() {
    let a = user(1, "A", Some("a@example.com"));
    let bad = user(2, "Bad", Some(""));
    let l = group(3, "Sales", Some("sales@example.com"), &[&a, &bad]);
    let p = run(
        vec![a, bad, l],
        vec![],
        &base_target(),
        &[],
        PlanSettings::default(),
    );
    assert_eq!(
        summary(&p),
        vec!["1:create a@example.com", "4:create sales@example.com"]
    );
    assert_eq!(p.ops[1].members, vec!["a@example.com"]);
    assert_eq!(codes(&p), vec!["DS001", "DS104"]);
    // DS104 names the member (its DN and display name), not the list's DN or a GUID.
    let ds104 = &p.findings[1];
    assert_eq!(
        ds104.dn.as_deref(),
        Some("CN=Bad,OU=Staff,DC=example,DC=com")
    );
    assert_eq!(
        ds104.message,
        "Member 'CN=Bad,OU=Staff,DC=example,DC=com' (Bad) of distribution list 'Sales' has no synced mailbox or contact; it is left out of the list."
    );
    let list_anchor = p.anchors.iter().find(|x| x.guid == guid(3)).unwrap();
    assert_eq!(list_anchor.after, vec![1]);
}

#[test]
fn list_member_changes_and_address_in_use() {
    let a = user(1, "A", Some("a@example.com"));
    let b = user(2, "B", Some("b@example.com"));
    let l = group(3, "Sales", Some("sales@example.com"), &[&a]);
    let mut t = base_target();
    t.mailboxes
        .push(tmb(Service::Exchange, "a@example.com", "A", &[]));
    t.mailboxes
        .push(tmb(Service::Exchange, "b@example.com", "B", &[]));
    t.lists.push(TargetList {
        address: e("sales@example.com"),
        display_name: "Sales".into(),
        addresses: BTreeSet::new(),
        members: ["b@example.com".to_string()].into_iter().collect(),
    });
    let anchors = vec![
        anchor(
            1,
            TargetKind::Mailbox,
            Service::Exchange,
            "a@example.com",
            "CN=A,OU=Staff,DC=example,DC=com",
        ),
        anchor(
            2,
            TargetKind::Mailbox,
            Service::Exchange,
            "b@example.com",
            "CN=B,OU=Staff,DC=example,DC=com",
        ),
        anchor(
            3,
            TargetKind::List,
            Service::Exchange,
            "sales@example.com",
            "CN=Sales,OU=Groups,DC=example,DC=com",
        ),
    ];
    let p = run(
        vec![a.clone(), b, l],
        vec![],
        &t,
        &anchors,
        PlanSettings::default(),
    );
    assert_eq!(
        summary(&p),
        vec![
            "5:remove_member sales@example.com b@example.com",
            "6:add_member sales@example.com a@example.com"
        ]
    );

    // A list whose address is a mailbox's: DS005 with the seed's wording.
    let l2 = group(4, "Security Group", Some("b@example.com"), &[&a]);
    let mut t2 = base_target();
    t2.mailboxes
        .push(tmb(Service::Exchange, "b@example.com", "B", &[]));
    let p = run(vec![a, l2], vec![], &t2, &[], PlanSettings::default());
    assert_eq!(codes(&p), vec!["DS005"]);
    assert_eq!(p.findings[0].message, "Performed action 'Create' for group 'Security Group'. Error occurred when provisioning group 'Security Group' for Hosted Exchange Distribution List: Please check that the group does not already exist in another service in control panel.");
}

#[test]
fn contacts() {
    let two_domains = {
        let mut t = base_target();
        t.domains.push(dom("example.org", true, false, 10, 0));
        t
    };
    let c = contact(5, "Gmail Aaron Medrano", "aaron@gmail.com", &[]);
    let p = run(
        vec![c.clone()],
        vec![],
        &two_domains,
        &[],
        PlanSettings::default(),
    );
    assert_eq!(codes(&p), vec!["DS007"]);
    assert_eq!(p.findings[0].message, "The value '' specified in the otherMailBox attribute for contact 'CN=Gmail Aaron Medrano,OU=Contacts,DC=example,DC=com' is invalid.");
    let p = run(
        vec![c.clone()],
        vec![],
        &base_target(),
        &[],
        PlanSettings::default(),
    );
    assert_eq!(
        summary(&p),
        vec!["1:create gmail.aaron.medrano@example.com"]
    );
    let named = contact(
        5,
        "Gmail Aaron Medrano",
        "aaron@gmail.com",
        &["example.org"],
    );
    let p = run(
        vec![named],
        vec![],
        &two_domains,
        &[],
        PlanSettings::default(),
    );
    assert_eq!(
        summary(&p),
        vec!["1:create gmail.aaron.medrano@example.org"]
    );
    // External address change: updated in place.
    let mut t = base_target();
    let mut fields = Fields::new();
    fields.insert("displayName".into(), "Gmail Aaron Medrano".into());
    t.contacts.push(TargetContact {
        address: e("gmail.aaron.medrano@example.com"),
        external: "old@gmail.com".into(),
        fields,
    });
    let anchors = vec![anchor(
        5,
        TargetKind::Contact,
        Service::Exchange,
        "gmail.aaron.medrano@example.com",
        &c.dn,
    )];
    let p = run(vec![c], vec![], &t, &anchors, PlanSettings::default());
    assert_eq!(
        summary(&p),
        vec!["1:update gmail.aaron.medrano@example.com [externalEmail]"]
    );
    // Leaving scope: deleted.
    let p = run(vec![], vec![], &t, &anchors, PlanSettings::default());
    assert_eq!(
        summary(&p),
        vec!["7:delete gmail.aaron.medrano@example.com"]
    );
    assert_eq!(p.anchors[0].anchor, None);
}

#[test]
fn contacts_with_the_same_name_get_distinct_addresses() {
    let a = contact(5, "Pat Partner", "pat@one.test", &[]);
    let mut b = contact(6, "Pat Partner", "pat@two.test", &[]);
    b.dn = "CN=Pat Partner,OU=Other,DC=example,DC=com".into();
    let mut t = base_target();
    // A mailbox already holds the third candidate name.
    t.mailboxes
        .push(tmb(Service::Exchange, "pat.partner3@example.com", "X", &[]));
    let c = contact(7, "Pat Partner", "pat@three.test", &[]);
    let mut c = c;
    c.dn = "CN=Pat Partner,OU=Third,DC=example,DC=com".into();
    let p = run(vec![a, b, c], vec![], &t, &[], PlanSettings::default());
    let mut got: Vec<String> = summary(&p);
    got.sort();
    assert_eq!(
        got,
        vec![
            "1:create pat.partner2@example.com",
            "1:create pat.partner4@example.com",
            "1:create pat.partner@example.com"
        ]
    );
}

#[test]
fn objects_in_scope_with_errors_are_never_disabled() {
    let p = run(
        vec![user(1, "Jane Doe", Some(""))],
        vec![],
        &{
            let mut t = base_target();
            t.mailboxes
                .push(tmb(Service::Exchange, "jane@example.com", "Jane Doe", &[]));
            t
        },
        &[anchor(
            1,
            TargetKind::Mailbox,
            Service::Exchange,
            "jane@example.com",
            JANE_DN,
        )],
        PlanSettings::default(),
    );
    assert!(p.ops.is_empty(), "{:?}", p.ops);
    assert_eq!(codes(&p), vec!["DS001"]);
}
