//! A plan applied a tiny batch at a time (the plan's operations are read
//! back from their spill, see `dirsync_engine::spill`): the plan's order
//! and the apply's rules hold across the parts. Real officed; a real
//! TCP proxy makes one mailbox's writes fail.

mod common;

use std::sync::Arc;

use common::proxy::{self, Fault};
use common::*;
use dirsync_engine::types::{OpKind, Service};
use dirsync_engine::*;
use testkit::officed::OfficedOptions;

fn users(n: u32) -> Vec<dirsync_model::DirectoryObject> {
    (0..n)
        .map(|i| user(i, &format!("Person P{i}"), &format!("p{i}@example.com")))
        .collect()
}

/// One operation per part: the list is created after every one of its
/// members (its operations come after theirs in the stored outcome rows,
/// which are numbered in plan order), and without the member whose create
/// failed in an earlier part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_after_members_and_skips_across_parts() {
    let o = officed(OfficedOptions::default());
    let schedule: proxy::Schedule = Arc::new(|_, line| {
        if line.starts_with("POST") && line.contains("/p3 ") {
            Fault::Drop
        } else {
            Fault::Forward
        }
    });
    let px = proxy::start(&o.addr, schedule).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&px.base_url, &o);
    s.retry.max_attempts = 2;
    let mut engine = open(dir.path(), s).await;
    engine.set_apply_batch(1);
    let us = users(8);
    let refs: Vec<&_> = us.iter().take(5).collect();
    let list = group(100, "Crew", Some("crew@example.com"), &refs);
    let mut ex: Vec<&_> = us.iter().collect();
    ex.push(&list);
    let r = engine
        .run(full(snapshot(&ex, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.status, RunStatus::ObjectErrors, "{r:#?}");
    let w = engine.run_report(r.id).await.unwrap().unwrap();
    let ops = &w.operations;
    assert!(ops.len() > 8, "{ops:#?}");
    // Plan order: every mailbox operation before any of the list's.
    let last_mailbox = ops
        .iter()
        .rposition(|o| o.kind == types::TargetKind::Mailbox)
        .unwrap();
    let first_list = ops
        .iter()
        .position(|o| o.kind == types::TargetKind::List)
        .unwrap();
    assert!(last_mailbox < first_list, "{ops:#?}");
    let failed: Vec<_> = ops
        .iter()
        .filter(|o| o.result == OpResult::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(
        (failed[0].op, failed[0].target.as_str()),
        (OpKind::Create, "p3@example.com")
    );
    // The list's create, in a later part, went without the member whose
    // create failed (the executor's record of it carried across parts).
    let list_create = ops
        .iter()
        .find(|o| o.kind == types::TargetKind::List && o.op == OpKind::Create)
        .unwrap();
    assert_eq!(list_create.result, OpResult::Done, "{list_create:#?}");
    assert_eq!(r.counts.created, 8, "{:#?}", r.counts);
    let t = target_state(&o).await;
    assert_eq!(mailboxes(&t, Service::Exchange).len(), 7);
    assert_eq!(t.lists.len(), 1);
    assert_eq!(t.lists[0].members.len(), 4, "{:#?}", t.lists[0]);
}

/// One operation per part: a run whose disables would come in parts after
/// its creates is refused by the threshold before any write (the count is
/// the whole plan's, taken while it was spilled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_refuses_before_the_first_part() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&o.base_url, &o);
    s.threshold.min_count = 5;
    let mut engine = open(dir.path(), s).await;
    engine.set_apply_batch(1);
    let us = users(20);
    let refs: Vec<&_> = us.iter().collect();
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{}", r.summary);
    assert_eq!(r.counts.created, 20);

    // All but one leave; one newcomer: its create is in the first part,
    // the 19 disables in the last ones.
    let newcomer = user(500, "New N", "new@example.com");
    let left: Vec<&_> = vec![&us[0], &newcomer];
    let r = engine
        .run(full(snapshot(&left, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.status, RunStatus::ThresholdStopped, "{r:#?}");
    let codes: Vec<String> = codes_by_dn(&r).into_iter().map(|(c, _)| c).collect();
    assert!(codes.contains(&"DS201".to_string()), "{codes:?}");
    let w = engine.run_report(r.id).await.unwrap().unwrap();
    assert_eq!(w.operations.len(), 20, "{:#?}", w.operations);
    assert_eq!(w.operations[0].op, OpKind::Create);
    assert!(w.operations.iter().all(|op| op.result == OpResult::Planned));
    let t = target_state(&o).await;
    let ex = mailboxes(&t, Service::Exchange);
    assert_eq!(ex.len(), 20, "nothing written: {ex:?}");
    assert!(!ex.contains(&"new@example.com".to_string()));
    assert!(t.mailboxes.iter().all(|m| m.enabled));
}
