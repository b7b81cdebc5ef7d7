//! End to end against the real officed binary: snapshots built in code, the
//! seed article's errors exactly where expected, a clean result elsewhere,
//! incremental syncs, the safety gates and staging mode.

mod common;

use std::collections::BTreeMap;

use cloudoffice_api::{paths, RuleViolation};
use common::*;
use dirsync_engine::executor::finding_for;
use dirsync_engine::types::{OpKind, PlanOp, Service, TargetKind};
use dirsync_engine::*;
use dirsync_model::{ChangeTracking, DirectoryChange, DirectoryChanges, EmailAddress};
use reqwest::Method;
use testkit::officed::OfficedOptions;

fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The seed's errors, each exactly where expected, and everything else synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_errors_exactly_where_expected() {
    let o = officed(OfficedOptions::default());
    let c = direct_client(&o);
    let cu = o.account_number.clone();
    // Already in the control panel: a Rackspace Email mailbox (pat) and an
    // Exchange mailbox whose address a directory group wants (taken).
    c.send_form(
        Method::POST,
        &paths::rs_mailbox(&cu, "example.com", "pat"),
        &form(&[
            ("displayName", "Pat"),
            ("password", "Rs-Passw0rd!"),
            ("size", "2048"),
        ]),
    )
    .await
    .unwrap();
    c.send_form(
        Method::POST,
        &paths::ex_mailbox(&cu, "example.com", "taken"),
        &form(&[("password", "Passw0rd!x"), ("displayName", "Taken")]),
    )
    .await
    .unwrap();

    let mut jane = user(1, "Jane Doe", "jane@example.com");
    jane.proxy_addresses = vec![
        "SMTP:jane@example.com".into(),
        "smtp:jane.doe@example.com".into(),
        "smtp:jane@example.org".into(),
    ];
    jane.info.title = Some("Engineer".into());
    let empty = user(2, "Empty Mail", ""); // DS001
    let foreign = user(3, "Foreign Domain", "x@notmine.test"); // DS004
    let pat = user(4, "Pat Smith", "pat@example.com"); // DS003 (Rackspace Email mailbox exists)
    let mut bob = user(5, "Bob Alias", "bob@example.com");
    bob.proxy_addresses = vec![
        "smtp:bob@example.net".into(),
        "smtp:bob@gmail.test".into(),
        "bogus".into(),
    ]; // DS006 x2, DS105
    let ext_two = contact(6, "Gmail Aaron Medrano", "aaron@gmail.test", &[]); // DS007: two Exchange domains
    let ext_ok = contact(7, "Partner Pam", "pam@partner.test", &["example.com"]);
    // example.org has 5 Exchange licences: the sixth mailbox there is DS002.
    let org: Vec<_> = (0..6)
        .map(|i| {
            user(
                20 + i,
                &format!("Org User{i}"),
                &format!("org{i}@example.org"),
            )
        })
        .collect();
    let mut rs_user = user(8, "Rita Rs", "rita@example.com");
    rs_user.proxy_addresses = vec!["smtp:rita.r@example.com".into()]; // a Rackspace Email alias
    let both = user(9, "Both Groups", "both@example.com"); // DS102
    let nested = user(10, "Nested Only", "nested@example.com"); // DS101
    let sales = group(
        11,
        "Sales",
        Some("sales@example.com"),
        &[&jane, &ext_ok, &nested, &empty],
    ); // DS104 for empty
    let taken = group(12, "Security Group", Some("taken@example.com"), &[&jane]); // DS005

    let mut ex: Vec<&_> = vec![
        &jane, &empty, &foreign, &pat, &bob, &ext_two, &ext_ok, &both, &sales, &taken,
    ];
    ex.extend(org.iter());
    let snap = snapshot(&ex, &[&rs_user, &both], &[&nested]);

    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), settings(&o.base_url, &o)).await;
    let report = engine
        .run(full(snap.clone()), apply(), |_| {})
        .await
        .unwrap();
    let report = whole(&engine, &report).await;

    let dn = |x: &dirsync_model::DirectoryObject| x.dn.clone();
    let mut want = vec![
        ("DS001".to_string(), dn(&empty)),
        ("DS002".to_string(), dn(&org[5])),
        ("DS003".to_string(), dn(&pat)),
        ("DS004".to_string(), dn(&foreign)),
        ("DS005".to_string(), dn(&taken)),
        ("DS006".to_string(), dn(&bob)),
        ("DS006".to_string(), dn(&bob)),
        ("DS007".to_string(), dn(&ext_two)),
        ("DS101".to_string(), dn(&nested)),
        ("DS102".to_string(), dn(&both)),
        ("DS104".to_string(), dn(&empty)),
        ("DS104".to_string(), dn(&nested)),
        ("DS105".to_string(), dn(&bob)),
    ];
    want.sort();
    assert_eq!(codes_by_dn(&report), want, "{:#?}", report.findings);
    assert_eq!(report.status, RunStatus::ObjectErrors);
    assert_eq!(report.exit_code, 1);
    assert!(
        report
            .operations
            .iter()
            .all(|op| op.result == OpResult::Done),
        "{:#?}",
        report.operations
    );
    assert!(report.cookie_committed);

    // Seed wording with the placeholders filled.
    let msg = |code: &str| {
        report
            .findings
            .iter()
            .find(|f| f.code.as_str() == code)
            .unwrap()
            .message
            .clone()
    };
    assert_eq!(
        msg("DS001"),
        format!(
            "The value '' specified in the mail attribute for user '{}' is invalid.",
            empty.dn
        )
    );
    assert_eq!(
        msg("DS002"),
        "Performed action 'Create' for user 'Org User5'. Mailbox limit exceeded."
    );
    assert_eq!(msg("DS003"), "Error occurred when provisioning user 'Pat Smith' for Hosted Exchange Mailboxes. Please check that the user does not already exist in another service in control panel.");
    assert_eq!(msg("DS004"), "Performed action 'Create' for user 'Foreign Domain' on domain 'notmine.test'. Not authorized");
    assert_eq!(
        msg("DS007"),
        format!(
            "The value '' specified in the otherMailBox attribute for contact '{}' is invalid.",
            ext_two.dn
        )
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.code.as_str() == "DS004")
        .unwrap();
    assert!(f
        .solution
        .contains("match a domain associated with your Cloud Office account"));

    // The control panel now holds exactly what the directory says.
    let t = target_state(&o).await;
    assert_eq!(
        mailboxes(&t, Service::Exchange),
        vec![
            "bob@example.com",
            "jane@example.com",
            "org0@example.org",
            "org1@example.org",
            "org2@example.org",
            "org3@example.org",
            "org4@example.org",
            "taken@example.com"
        ]
    );
    assert_eq!(
        mailboxes(&t, Service::RsEmail),
        vec!["pat@example.com", "rita@example.com"]
    );
    let jane_t = t
        .mailboxes
        .iter()
        .find(|m| m.address.lower() == "jane@example.com")
        .unwrap();
    for a in ["jane.doe@example.com", "jane@example.org"] {
        assert!(
            jane_t.addresses.contains(&EmailAddress::parse(a).unwrap()),
            "{a} on jane: {:?}",
            jane_t.addresses
        );
    }
    assert_eq!(
        jane_t.fields.get("title").map(String::as_str),
        Some("Engineer")
    );
    assert_eq!(
        t.contacts
            .iter()
            .map(|c| c.address.lower().to_string())
            .collect::<Vec<_>>(),
        vec!["partner.pam@example.com"]
    );
    let sales_t = t
        .lists
        .iter()
        .find(|l| l.address.lower() == "sales@example.com")
        .expect("sales list created");
    assert_eq!(
        sales_t.members.iter().cloned().collect::<Vec<_>>(),
        vec!["jane@example.com", "partner.pam@example.com"]
    );

    // A second run changes nothing and reports the same problems.
    let again = engine
        .run(full(snap.clone()), apply(), |_| {})
        .await
        .unwrap();
    let again = whole(&engine, &again).await;
    assert!(again.operations.is_empty(), "{:#?}", again.operations);
    assert_eq!(codes_by_dn(&again), want);

    // Renaming jane's mail local part: DS008 with the seed's wording, nothing changed.
    let mut renamed = jane.clone();
    renamed.mail = Some("jdoe@example.com".into());
    renamed.proxy_addresses = vec![
        "SMTP:jdoe@example.com".into(),
        "smtp:jane.doe@example.com".into(),
        "smtp:jane@example.org".into(),
    ];
    let ex2: Vec<&_> = vec![&renamed, &ext_ok, &sales];
    let snap2 = snapshot(&ex2, &[&rs_user], &[&nested]);
    let r = engine
        .run(
            full(snap2),
            RunOptions {
                override_threshold: true,
                ..apply()
            },
            |_| {},
        )
        .await
        .unwrap();
    let f = r
        .findings
        .iter()
        .find(|f| f.code.as_str() == "DS008")
        .expect("DS008");
    assert_eq!(f.message, format!("The Service ID specified in the mail attribute for user '{}' has changed from 'jane' to 'jdoe'. Directory Sync cannot change the Service ID for an object.", jane.dn));
    assert_eq!(f.dn.as_deref(), Some(jane.dn.as_str()));

    // History has the runs with their outcomes.
    let runs = engine.runs(10).await.unwrap();
    assert_eq!(runs.len(), 3);
    let stored = engine.run_report(runs[2].id).await.unwrap().unwrap();
    assert_eq!(stored, report);
}

/// Faults answered by the real officed map to the same catalogue codes as
/// the planner's predictions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_faults_map_to_catalogue_codes() {
    let o = officed(OfficedOptions::default());
    let c = direct_client(&o);
    let cu = o.account_number.clone();
    c.send_form(
        Method::POST,
        &paths::rs_mailbox(&cu, "example.com", "pat"),
        &form(&[
            ("displayName", "Pat"),
            ("password", "Rs-Passw0rd!"),
            ("size", "2048"),
        ]),
    )
    .await
    .unwrap();
    c.send_form(
        Method::POST,
        &paths::ex_mailbox(&cu, "example.com", "ann"),
        &form(&[("password", "Passw0rd!x"), ("displayName", "Ann")]),
    )
    .await
    .unwrap();
    for i in 0..5 {
        c.send_form(
            Method::POST,
            &paths::ex_mailbox(&cu, "example.org", &format!("u{i}")),
            &form(&[("password", "Passw0rd!x"), ("displayName", "U")]),
        )
        .await
        .unwrap();
    }
    let op = |kind: TargetKind, op: OpKind, target: &str, address: Option<&str>| PlanOp {
        seq: 0,
        phase: 1,
        op,
        kind,
        service: Service::Exchange,
        target: EmailAddress::parse(target).unwrap(),
        guid: None,
        dn: Some("CN=X,DC=corp,DC=test".into()),
        label: "X".into(),
        fields: Default::default(),
        address: address.map(str::to_string),
        members: vec![],
        reason: String::new(),
    };
    let cases: Vec<(
        PlanOp,
        Result<(), cloudoffice_api::client::ClientError>,
        &str,
    )> = vec![
        (
            op(TargetKind::Mailbox, OpKind::Create, "u5@example.org", None),
            c.send_form(
                Method::POST,
                &paths::ex_mailbox(&cu, "example.org", "u5"),
                &form(&[("password", "Passw0rd!x"), ("displayName", "U")]),
            )
            .await,
            "DS002",
        ),
        (
            op(TargetKind::Mailbox, OpKind::Create, "pat@example.com", None),
            c.send_form(
                Method::POST,
                &paths::ex_mailbox(&cu, "example.com", "pat"),
                &form(&[("password", "Passw0rd!x"), ("displayName", "P")]),
            )
            .await,
            "DS003",
        ),
        (
            op(TargetKind::Mailbox, OpKind::Create, "x@notmine.test", None),
            c.send_form(
                Method::POST,
                &paths::ex_mailbox(&cu, "notmine.test", "x"),
                &form(&[("password", "Passw0rd!x"), ("displayName", "X")]),
            )
            .await,
            "DS004",
        ),
        (
            op(TargetKind::List, OpKind::Create, "ann@example.com", None),
            c.send_json(
                Method::POST,
                &paths::ex_list(&cu, "example.com", "ann"),
                &cloudoffice_api::DistributionListBody {
                    display_name: Some("Ann".into()),
                    ..Default::default()
                },
            )
            .await,
            "DS005",
        ),
        (
            op(
                TargetKind::Mailbox,
                OpKind::AddAddress,
                "ann@example.com",
                Some("ann@gmail.test"),
            ),
            c.post_empty(&paths::ex_mailbox_address(
                &cu,
                "example.com",
                "ann",
                "ann@gmail.test",
            ))
            .await,
            "DS006",
        ),
        (
            op(
                TargetKind::Mailbox,
                OpKind::Rename,
                "ann@example.com",
                Some("anne@example.com"),
            ),
            c.send_form(
                Method::PUT,
                &paths::ex_mailbox(&cu, "example.com", "ann"),
                &form(&[("password", "Passw0rd!x"), ("name", "anne")]),
            )
            .await,
            "DS008",
        ),
        (
            // The rename operation with a key lacking the rename permission.
            op(
                TargetKind::Mailbox,
                OpKind::Rename,
                "ann@example.com",
                Some("anne@example.com"),
            ),
            c.rename_mailbox(&cu, "example.com", true, "ann", "anne")
                .await,
            "DS008",
        ),
    ];
    for (op, result, want) in cases {
        let e = result.expect_err(want);
        assert!(!e.is_transient(), "{want}: {e}");
        let f = finding_for(&op, &e);
        assert_eq!(f.code.as_str(), want, "{e}");
    }
    let e = c
        .get_json::<serde_json::Value>(&paths::ex_mailbox(&cu, "example.com", "nobody"))
        .await
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.rule(), None::<RuleViolation>);
}

/// Incremental syncs: changes are applied to the replica and the desired
/// state recomputed, so membership changes and deletions work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_after_directory_changes() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), settings(&o.base_url, &o)).await;
    let a = user(1, "Ann Able", "ann@example.com");
    let b = user(2, "Ben Baker", "ben@example.com");
    let p = contact(3, "Partner Pam", "pam@partner.test", &["example.com"]);
    let l = group(4, "Team", Some("team@example.com"), &[&a, &b]);
    let snap = snapshot(&[&a, &b, &p, &l], &[], &[]);

    // Incremental before any full sync: refused with a clear error.
    let early = DirectoryChanges {
        changes: vec![],
        cookie: b"c0".to_vec(),
        method: ChangeTracking::DirSync,
    };
    assert!(matches!(
        engine
            .run(DirectoryInput::Incremental(early), apply(), |_| {})
            .await,
        Err(EngineError::NeedFullSync)
    ));

    let r = engine
        .run(full(snap.clone()), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{:#?}", r.findings);
    assert_eq!(
        engine.cookie().await.unwrap().as_deref(),
        Some(&b"cookie-full"[..])
    );

    // Changes: a new user joins the group and the list, Ben leaves both,
    // Ann's title changes, the contact is deleted in AD.
    let c = user(5, "Cat Cole", "cat@example.com");
    let mut a2 = a.clone();
    a2.info.title = Some("Lead".into());
    let l2 = group(4, "Team", Some("team@example.com"), &[&a2, &c]);
    let exg = group(EX_GROUP, "Hosted Exchange Users", None, &[&a2, &c, &l2]);
    let changes = DirectoryChanges {
        changes: vec![
            DirectoryChange::Upsert(exg),
            DirectoryChange::Upsert(a2),
            DirectoryChange::Upsert(c),
            DirectoryChange::Upsert(l2),
            DirectoryChange::Delete {
                guid: p.guid,
                last_dn: Some(p.dn.clone()),
            },
        ],
        cookie: b"cookie-2".to_vec(),
        method: ChangeTracking::DirSync,
    };
    let r = engine
        .run(DirectoryInput::Incremental(changes), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert!(!r.full);
    let mut ops: Vec<String> = r
        .operations
        .iter()
        .map(|o| {
            format!(
                "{} {} {}",
                o.op.as_str(),
                o.target,
                o.address.clone().unwrap_or_default()
            )
        })
        .collect();
    ops.sort();
    assert_eq!(
        ops,
        vec![
            "add_member team@example.com cat@example.com",
            "create cat@example.com ",
            "delete partner.pam@example.com ",
            "disable ben@example.com ",
            "remove_member team@example.com ben@example.com",
            "update ann@example.com ",
        ]
    );
    assert_eq!(
        engine.cookie().await.unwrap().as_deref(),
        Some(&b"cookie-2"[..])
    );
    let t = target_state(&o).await;
    let ben = t
        .mailboxes
        .iter()
        .find(|m| m.address.lower() == "ben@example.com")
        .unwrap();
    assert!(!ben.enabled, "Ben left the scope: disabled, not deleted");
    assert!(t.contacts.is_empty());
    let team = t
        .lists
        .iter()
        .find(|l| l.address.lower() == "team@example.com")
        .unwrap();
    assert_eq!(
        team.members.iter().cloned().collect::<Vec<_>>(),
        vec!["ann@example.com", "cat@example.com"]
    );

    // Nothing changed: an empty incremental is a no-op that still moves the cookie.
    let none = DirectoryChanges {
        changes: vec![],
        cookie: b"cookie-3".to_vec(),
        method: ChangeTracking::UsnHighWater,
    };
    let r = engine
        .run(DirectoryInput::Incremental(none), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert!(r.operations.is_empty());
    assert_eq!(
        engine.cookie().await.unwrap().as_deref(),
        Some(&b"cookie-3"[..])
    );
}

/// The disable threshold, its per-run override, the empty-read guard and staging mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_empty_read_guard_and_staging() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    // 25 licences on example.com and 5 on example.org: 30 mailboxes.
    let users: Vec<_> = (0..30)
        .map(|i| {
            user(
                100 + i,
                &format!("User N{i}"),
                &format!("u{i}@example.{}", if i < 25 { "com" } else { "org" }),
            )
        })
        .collect();
    let refs: Vec<&_> = users.iter().collect();

    // Staging: plans, never writes.
    let mut staging = settings(&o.base_url, &o);
    staging.staging = true;
    let engine = open(dir.path(), staging).await;
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert!(r.staging);
    assert_eq!(r.operations.len(), 30);
    assert!(r.operations.iter().all(|op| op.result == OpResult::Planned));
    assert!(!r.cookie_committed);
    assert!(
        target_state(&o).await.mailboxes.is_empty(),
        "staging wrote to the control panel"
    );
    drop(engine);

    let engine = open(dir.path(), settings(&o.base_url, &o)).await;
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success);
    assert_eq!(r.counts.created, 30);

    // Empty and partial reads are refused.
    let empty = dirsync_model::DirectorySnapshot::default();
    let r = engine.run(full(empty), apply(), |_| {}).await.unwrap();
    assert_eq!((r.status, r.exit_code), (RunStatus::Failed, 2));
    assert_eq!(r.findings[0].code.as_str(), "DS202");
    let r = engine
        .run(full(snapshot(&[], &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    let mut no_group = snapshot(&refs, &[], &[]);
    no_group.exchange_group = None;
    let r = engine.run(full(no_group), apply(), |_| {}).await.unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.findings[0]
        .message
        .contains("Hosted Exchange service group was not found"));

    // 27 of 30 leave: more than 10% and at least 25 -> stopped, nothing disabled.
    let stay: Vec<&_> = refs[..3].to_vec();
    let r = engine
        .run(full(snapshot(&stay, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!((r.status, r.exit_code), (RunStatus::ThresholdStopped, 3));
    assert_eq!(r.findings.last().unwrap().code.as_str(), "DS201");
    assert!(r.operations.iter().all(|op| op.result == OpResult::Planned));
    assert!(target_state(&o).await.mailboxes.iter().all(|m| m.enabled));
    // A plan (dry run) shows the same operations without stopping.
    let plan = engine
        .run(
            full(snapshot(&stay, &[], &[])),
            RunOptions {
                mode: Mode::Plan,
                ..apply()
            },
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(plan.operations.len(), 27);
    assert_eq!(plan.status, RunStatus::Success);
    // Overridden for one run: disabled, never deleted.
    let r = engine
        .run(
            full(snapshot(&stay, &[], &[])),
            RunOptions {
                override_threshold: true,
                ..apply()
            },
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success);
    assert_eq!(r.counts.disabled, 27);
    let t = target_state(&o).await;
    assert_eq!(t.mailboxes.len(), 30);
    assert_eq!(t.mailboxes.iter().filter(|m| !m.enabled).count(), 27);

    // Emptying the groups on purpose: refused as a partial read, accepted
    // with the per-run override.
    let r = engine
        .run(full(snapshot(&[], &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.findings[0].message.contains("without any member"),
        "{}",
        r.findings[0].message
    );
    let r = engine
        .run(
            full(snapshot(&[], &[], &[])),
            RunOptions {
                override_threshold: true,
                ..apply()
            },
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.counts.disabled), (RunStatus::Success, 3));
}

/// With `allow_rename` and a key that has officed's rename permission, a
/// changed `mail` local part is renamed through the API: the mailbox gets
/// the new name, keeps its alternate addresses, the anchor follows, and a
/// second run plans nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_rename_goes_through_the_api() {
    let o = officed(OfficedOptions {
        allow_rename: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&o.base_url, &o);
    s.allow_rename = true;
    let engine = open(dir.path(), s).await;
    let mut jane = user(1, "Jane Doe", "jane@example.com");
    jane.proxy_addresses = vec![
        "SMTP:jane@example.com".into(),
        "smtp:jane.doe@example.com".into(),
    ];
    let r = engine
        .run(full(snapshot(&[&jane], &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.counts.created, 1);
    let mut renamed = jane.clone();
    renamed.mail = Some("jdoe@example.com".into());
    renamed.proxy_addresses = vec![
        "SMTP:jdoe@example.com".into(),
        "smtp:jane.doe@example.com".into(),
    ];
    let snap = snapshot(&[&renamed], &[], &[]);
    let r = engine
        .run(full(snap.clone()), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.operations.len(), 1, "{:#?}", r.operations);
    let op = &r.operations[0];
    assert_eq!(
        (op.op, op.address.as_deref()),
        (OpKind::Rename, Some("jdoe@example.com"))
    );
    assert_eq!(op.result, OpResult::Done, "{:#?}", r.findings);
    assert_eq!(r.status, RunStatus::Success, "{:#?}", r.findings);
    let t = target_state(&o).await;
    assert_eq!(mailboxes(&t, Service::Exchange), vec!["jdoe@example.com"]);
    let m = &t.mailboxes[0];
    assert!(
        m.addresses
            .iter()
            .any(|a| a.lower() == "jane.doe@example.com"),
        "alternate kept: {:?}",
        m.addresses
    );
    // The anchor follows the new name: nothing more to do.
    let again = engine.run(full(snap), apply(), |_| {}).await.unwrap();
    let again = whole(&engine, &again).await;
    assert!(again.operations.is_empty(), "{:#?}", again.operations);
    assert!(again.findings.is_empty(), "{:#?}", again.findings);
}

/// With `allow_rename` but an ordinary key, officed refuses the rename for
/// lack of permission: the outcome is DS008 with its solution, exactly as
/// without the setting, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_without_the_permission_is_ds008() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&o.base_url, &o);
    s.allow_rename = true;
    let engine = open(dir.path(), s).await;
    let jane = user(1, "Jane Doe", "jane@example.com");
    let r = engine
        .run(full(snapshot(&[&jane], &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.counts.created, 1);
    let mut renamed = jane.clone();
    renamed.mail = Some("jdoe@example.com".into());
    let r = engine
        .run(full(snapshot(&[&renamed], &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.operations.len(), 1, "{:#?}", r.operations);
    let op = &r.operations[0];
    assert_eq!(
        (op.op, op.address.as_deref()),
        (OpKind::Rename, Some("jdoe@example.com"))
    );
    assert_eq!(op.result, OpResult::Failed);
    assert_eq!(op.code.map(|c| c.to_string()).as_deref(), Some("DS008"));
    assert_eq!(r.status, RunStatus::ObjectErrors);
    assert_eq!(op.message.as_deref(), Some(format!("The Service ID specified in the mail attribute for user '{}' has changed from 'jane' to 'jdoe'. Directory Sync cannot change the Service ID for an object.", jane.dn).as_str()));
    let ds008 = dirsync_model::Code::ServiceIdChanged.definition();
    assert_eq!(
        op.solution.as_deref(),
        Some(ds008.solution_text().as_str()),
        "the solution of DS008"
    );
    assert_eq!(
        mailboxes(&target_state(&o).await, Service::Exchange),
        vec!["jane@example.com"]
    );
}

/// A list read of several pages returns every object exactly once, in the
/// control panel's order (the planner's view of a large account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_reads_of_many_pages_return_every_object_once() {
    let o = officed(OfficedOptions {
        domains: vec![testkit::officed::DomainSpec::new(
            "example.com",
            "exchange",
            2000,
            0,
        )],
        ..OfficedOptions::default()
    });
    let c = direct_client(&o);
    let cu = o.account_number.clone();
    // 1,101 mailboxes: 4 full pages of 250 and a partial fifth.
    let n = 1101;
    use futures::StreamExt as _;
    futures::stream::iter(0..n)
        .for_each_concurrent(8, |i| {
            let c = &c;
            let cu = &cu;
            async move {
                c.send_form(
                    Method::POST,
                    &paths::ex_mailbox(cu, "example.com", &format!("m{i:04}")),
                    &form(&[
                        ("password", "Passw0rd!x"),
                        ("displayName", &format!("M {i}")),
                    ]),
                )
                .await
                .unwrap();
            }
        })
        .await;
    let got = c.ex_mailboxes(&cu, "example.com").await.unwrap();
    let names: Vec<String> = got.iter().map(|m| m.name.to_lowercase()).collect();
    let mut want: Vec<String> = (0..n).map(|i| format!("m{i:04}")).collect();
    want.sort();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, want, "every mailbox exactly once");
    // The pages keep the panel's order (a page appended out of order shows here).
    let one_at_a_time: Vec<String> = {
        let mut v = Vec::new();
        for offset in (0..n).step_by(250) {
            let page: cloudoffice_api::ExchangeMailboxList = c
                .get_json(&format!(
                    "{}{}",
                    paths::ex_mailboxes(&cu, "example.com"),
                    paths::page_query(250, offset as u32)
                ))
                .await
                .unwrap();
            v.extend(page.mailboxes.iter().map(|m| m.name.to_lowercase()));
        }
        v
    };
    assert_eq!(names, one_at_a_time);
}
