//! The hostile-input checks of issue 13 against a real officed: an emptied
//! service group in a small directory, a group losing half its members in a
//! large one, and an LDIF export cut at every line.

mod common;

use common::*;
use dirsync_engine::types::OpKind;
use dirsync_engine::*;
use testkit::officed::OfficedOptions;

fn plan() -> RunOptions {
    RunOptions {
        mode: Mode::Plan,
        ..apply()
    }
}

fn overridden() -> RunOptions {
    RunOptions {
        override_threshold: true,
        ..apply()
    }
}

/// 17 synced objects: 10 Exchange mailboxes, a list, a contact and 5
/// Rackspace Email mailboxes. Emptying the Exchange group would disable 10
/// mailboxes and delete the list and the contact: 12 of 17 is over 10% but
/// under the threshold's minimum of 25, and the Rackspace Email group still
/// has members, so only the group limit (DS204) stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptied_service_group_of_a_small_directory_is_refused() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let ex: Vec<_> = (0..10)
        .map(|i| {
            user(
                100 + i,
                &format!("Ex User{i}"),
                &format!("ex{i}@example.com"),
            )
        })
        .collect();
    let rs: Vec<_> = (0..5)
        .map(|i| {
            user(
                200 + i,
                &format!("Rs User{i}"),
                &format!("rs{i}@example.com"),
            )
        })
        .collect();
    let pam = contact(300, "Partner Pam", "pam@partner.test", &["example.com"]);
    let list = group(
        301,
        "Sales",
        Some("sales@example.com"),
        &[&ex[0], &ex[1], &pam],
    );
    let mut ex_refs: Vec<&_> = ex.iter().collect();
    ex_refs.extend([&pam, &list]);
    let rs_refs: Vec<&_> = rs.iter().collect();

    let engine = open(dir.path(), settings(&o.base_url, &o)).await;
    let r = engine
        .run(full(snapshot(&ex_refs, &rs_refs, &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{:#?}", r.findings);
    assert_eq!(r.counts.created, 17);

    // The Exchange group is emptied; the Rackspace Email group is not.
    let emptied = snapshot(&[], &rs_refs, &[]);
    let r = engine
        .run(full(emptied.clone()), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!((r.status, r.exit_code), (RunStatus::ThresholdStopped, 3));
    assert_eq!(
        codes_by_dn(&r),
        vec![(
            "DS204".to_string(),
            "CN=Hosted Exchange Users,OU=Groups,DC=corp,DC=test".to_string()
        )]
    );
    assert_eq!(
        r.summary,
        "The service group 'Hosted Exchange Users' had 12 member(s) at the last sync and has 0 now: a group that had members reads as empty. Nothing was changed."
    );
    assert!(r.operations.iter().all(|op| op.result == OpResult::Planned));
    assert_eq!(r.counts.disabled + r.counts.deleted, 0);
    let t = target_state(&o).await;
    assert!(t.mailboxes.iter().all(|m| m.enabled));
    assert_eq!((t.lists.len(), t.contacts.len()), (1, 1));

    // Stopped again until overridden for one run; then applied.
    let r = engine
        .run(full(emptied.clone()), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::ThresholdStopped);
    let r = engine
        .run(full(emptied.clone()), overridden(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{:#?}", r.findings);
    assert_eq!((r.counts.disabled, r.counts.deleted), (10, 2));
    // The emptied group is now what was last synced: the next run is quiet.
    let r = engine.run(full(emptied), apply(), |_| {}).await.unwrap();
    assert_eq!((r.status, r.counts.planned), (RunStatus::Success, 0));
}

/// A directory of about 3,000 objects: 20 mailboxes, and an "All Staff"
/// list of 3,000 members (the mailboxes and 2,980 users who have none).
/// Half the list's members leave at once: no mailbox is disabled, so the
/// disable/delete threshold sees nothing, but the group limit stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_losing_half_its_members_in_a_large_directory_is_refused() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let staff: Vec<_> = (0..20)
        .map(|i| {
            user(
                100 + i,
                &format!("Staff U{i}"),
                &format!("s{i}@example.com"),
            )
        })
        .collect();
    let others: Vec<_> = (0..2980)
        .map(|i| {
            user(
                10_000 + i,
                &format!("Other U{i}"),
                &format!("o{i}@example.com"),
            )
        })
        .collect();
    let all_members: Vec<&_> = staff.iter().chain(&others).collect();
    let snap = |members: &[&dirsync_model::DirectoryObject]| {
        let list = group(50, "All Staff", Some("all@example.com"), members);
        let mut ex: Vec<&_> = staff.iter().collect();
        ex.push(&list);
        snapshot(&ex, &[], members)
    };
    let whole = snap(&all_members);
    assert!(whole.objects.len() >= 3_000, "{}", whole.objects.len());

    let engine = open(dir.path(), settings(&o.base_url, &o)).await;
    let r = engine.run(full(whole), apply(), |_| {}).await.unwrap();
    assert_eq!(r.status, RunStatus::Success, "{}", r.summary);
    assert_eq!(r.counts.created, 21);
    let list_members = || async { target_state(&o).await.lists[0].members.len() };
    assert_eq!(list_members().await, 20);

    // Every other member leaves: 1,500 of 3,000, ten of them with mailboxes.
    let half: Vec<&_> = all_members.iter().step_by(2).copied().collect();
    let r = engine
        .run(full(snap(&half)), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!((r.status, r.exit_code), (RunStatus::ThresholdStopped, 3));
    assert_eq!(r.findings.last().unwrap().code.as_str(), "DS204");
    assert!(
        r.summary.starts_with("The distribution list 'All Staff' had 3000 member(s) at the last sync and has 1500 now: 1500 of its members left at once, more than 25% of the group"),
        "{}",
        r.summary
    );
    assert_eq!(list_members().await, 20, "members were removed");

    let r = engine
        .run(full(snap(&half)), overridden(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{}", r.summary);
    assert_eq!(r.counts.members_removed, 10);
    assert_eq!(list_members().await, 10);
}

/// The sample directory's LDIF export cut after every line and in the
/// middle of every line: each cut file is read; one that reads is planned
/// against the control panel the whole file was synced into. No cut may
/// plan a disable or a delete (or take a member off a list).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_ldif_export_never_disables_or_deletes() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dirsync/demo/sample.ldif"
    ))
    .unwrap();
    let scope =
        dirsync_directory::Scope::new(Some("Exchange Users"), Some("Rackspace Email Users"))
            .unwrap();
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), settings(&o.base_url, &o)).await;
    let whole = dirsync_directory::read_snapshot(&text, &scope).unwrap();
    let r = engine
        .run(full(whole.clone()), apply(), |_| {})
        .await
        .unwrap();
    assert!(r.counts.created >= 10, "{}", r.summary);
    let again = engine.run(full(whole), plan(), |_| {}).await.unwrap();
    let settled = again.counts.planned;

    let mut cuts = vec![0];
    for (i, _) in text.match_indices('\n') {
        let start = *cuts.last().unwrap();
        cuts.push(start + (i + 1 - start) / 2);
        cuts.push(i + 1);
    }
    let (mut read, mut refused) = (0, 0);
    for cut in cuts {
        let part = &text[..cut];
        let Ok(snap) = dirsync_directory::read_snapshot(part, &scope) else {
            refused += 1;
            continue;
        };
        read += 1;
        let r = engine.run(full(snap), plan(), |_| {}).await.unwrap();
        let bad: Vec<String> = r
            .operations
            .iter()
            .filter(|op| {
                matches!(
                    op.op,
                    OpKind::Disable | OpKind::Delete | OpKind::RemoveMember
                )
            })
            .map(|op| format!("{:?} {}", op.op, op.target))
            .collect();
        assert!(
            bad.is_empty(),
            "cut at byte {cut} (line {}) plans {bad:?}",
            part.lines().count()
        );
        assert_eq!(r.counts.planned, settled, "cut at byte {cut}");
    }
    eprintln!("{read} cut files read whole, {refused} refused");
    assert!(
        read >= 1 && refused > read,
        "{read} read, {refused} refused"
    );
}
