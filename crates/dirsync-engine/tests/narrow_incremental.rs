//! Work proportional to change (issue 12): an incremental read of k
//! changed users after a clean run maps and plans those k objects, reads
//! from the control panel only the domains and the k objects, and writes
//! the k updates; it does not replay the replica, map or plan the other
//! objects, or list the control panel. A change that can affect other
//! objects (a new user) still runs whole. Requests are counted on the wire
//! by a real TCP proxy in front of officed.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::proxy::{self, Fault};
use common::*;
use dirsync_engine::*;
use dirsync_model::{ChangeTracking, DirectoryChange, DirectoryChanges, DirectoryObject};
use testkit::officed::OfficedOptions;

fn incremental(changes: Vec<DirectoryChange>, cookie: &str) -> DirectoryInput {
    DirectoryInput::Incremental(DirectoryChanges {
        changes,
        cookie: cookie.as_bytes().to_vec(),
        method: ChangeTracking::DirSync,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_with_k_changes_maps_plans_and_reads_only_those_k() {
    let o = officed(OfficedOptions::default());
    let px = proxy::start(&o.addr, Arc::new(|_, _| Fault::Forward)).await;
    let dir = tempfile::tempdir().unwrap();
    // The rolling verification reads B unchanged objects per run.
    const B: u64 = 2;
    let mut s = settings(&px.base_url, &o);
    s.verify.budget = B as u32;
    let engine = open(dir.path(), s).await;
    let users: Vec<DirectoryObject> = (0..20)
        .map(|i| user(i, &format!("Narrow N{i:02}"), &format!("n{i}@example.com")))
        .collect();
    let contacts: Vec<DirectoryObject> = (100..105)
        .map(|i| {
            contact(
                i,
                &format!("Partner P{i}"),
                &format!("p{i}@partner.test"),
                &["example.com"],
            )
        })
        .collect();
    let members: Vec<&DirectoryObject> = users.iter().chain(&contacts).collect();
    let r = engine
        .run(full(snapshot(&members, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!((r.counts.created, r.counts.in_scope), (25, 25));
    // The full run mapped every object it read (25 and the two service groups).
    assert_eq!(r.counts.mapped, 27);

    // k = 3 changed: two users' titles, one contact's display name.
    let mut changed = [users[7].clone(), users[17].clone(), contacts[2].clone()];
    changed[0].info.title = Some("Director".into());
    changed[1].info.title = Some("Engineer".into());
    changed[2].info.display_name = Some("Partner Renamed".into());
    let before = px.requests.load(Ordering::SeqCst);
    let r = engine
        .run(
            incremental(
                changed
                    .iter()
                    .cloned()
                    .map(DirectoryChange::Upsert)
                    .collect(),
                "cookie-2",
            ),
            apply(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    // Only the k changed objects and the B of the verification sample were
    // mapped and planned; the in-scope and synced counts are still the
    // whole directory's.
    assert_eq!(r.counts.mapped, 3 + B, "{r:#?}");
    assert_eq!((r.counts.planned, r.counts.updated), (3, 3), "{r:#?}");
    assert_eq!((r.counts.in_scope, r.counts.synced_before), (25, 25));
    // No listing but the domains, a GET of each changed and each sampled
    // object, a write for each change.
    assert_eq!(r.verification.list_pages, 1, "{:#?}", r.verification);
    assert_eq!(r.verification.object_reads, 3 + B, "{:#?}", r.verification);
    assert_eq!(r.verification.needed_reads, 3, "{:#?}", r.verification);
    assert_eq!(r.api.requests, 1 + (3 + B) + 3, "{r:#?}");
    assert_eq!(px.requests.load(Ordering::SeqCst) - before, 1 + (3 + B) + 3);
    assert!(r.cookie_committed);
    // The stored report is the returned one, with its operations in rows
    // (the returned one holds those not done only).
    assert!(r.operations_stored && r.operations.is_empty(), "{r:#?}");
    assert_eq!(
        engine.run_report(r.id).await.unwrap().unwrap(),
        whole(&engine, &r).await
    );

    // The control panel has the changes, and the next run with no change
    // finds nothing to do without a request.
    let t = engine.read_target().await.unwrap();
    let mb = |a: &str| {
        t.mailboxes
            .iter()
            .find(|m| m.address.to_string() == a)
            .unwrap()
    };
    assert_eq!(
        mb("n7@example.com").fields.get("title").map(String::as_str),
        Some("Director")
    );
    assert_eq!(
        mb("n17@example.com")
            .fields
            .get("title")
            .map(String::as_str),
        Some("Engineer")
    );
    assert_eq!(mb("n8@example.com").fields.get("title"), None);
    assert!(t
        .contacts
        .iter()
        .any(|c| c.fields.get("displayName").map(String::as_str) == Some("Partner Renamed")));
    let before = px.requests.load(Ordering::SeqCst);
    let idle = engine
        .run(incremental(vec![], "cookie-3"), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        (idle.status, idle.api.requests),
        (RunStatus::Success, 0),
        "{idle:#?}"
    );
    assert_eq!(px.requests.load(Ordering::SeqCst), before);

    // A new user can affect other objects (address claims, scope): the run
    // replays the replica and plans every object, as before.
    let newcomer = user(60, "Narrow New", "new@example.com");
    let mut members2 = members.clone();
    members2.push(&newcomer);
    let group = snapshot(&members2, &[], &[]).objects[0].clone();
    let r = engine
        .run(
            incremental(
                vec![
                    DirectoryChange::Upsert(newcomer.clone()),
                    DirectoryChange::Upsert(group),
                ],
                "cookie-4",
            ),
            apply(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!((r.counts.created, r.counts.in_scope), (1, 26), "{r:#?}");
    assert_eq!(r.counts.mapped, 28, "{r:#?}");
    assert!(r.verification.list_pages > 1, "{:#?}", r.verification);
}
