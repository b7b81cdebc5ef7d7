//! The idle fast path: an incremental read with no change, after a run that
//! applied everything it planned, records a run with nothing to do without
//! reading the control panel or planning, and commits the new cookie. Every
//! case where the last run left something to do (failed objects, a grace
//! period running out, changed settings) still reads and plans. Requests are
//! counted on the wire by a real TCP proxy in front of officed.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::proxy::{self, Fault};
use common::*;
use dirsync_engine::types::Service;
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

fn users(n: u32) -> Vec<DirectoryObject> {
    (0..n)
        .map(|i| user(i, &format!("Idle I{i}"), &format!("i{i}@example.com")))
        .collect()
}

fn forward() -> proxy::Schedule {
    Arc::new(|_, _| Fault::Forward)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_incremental_after_a_clean_run_makes_no_api_call() {
    let o = officed(OfficedOptions::default());
    let px = proxy::start(&o.addr, forward()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), settings(&px.base_url, &o)).await;
    let us = users(6);
    let refs: Vec<&_> = us.iter().collect();
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(r.counts.created, 6);

    // Nothing changed in the directory: no request at all, the cookie moves on.
    let before = px.requests.load(Ordering::SeqCst);
    let idle = engine
        .run(incremental(vec![], "cookie-2"), apply(), |_| {})
        .await
        .unwrap();
    let idle = whole(&engine, &idle).await;
    assert_eq!(px.requests.load(Ordering::SeqCst), before, "{idle:#?}");
    assert_eq!(idle.api.requests, 0);
    assert_eq!(idle.status, RunStatus::Success);
    assert!(idle.operations.is_empty() && idle.findings.is_empty());
    assert!(idle.cookie_committed);
    assert_eq!((idle.counts.in_scope, idle.counts.synced_before), (6, 6));
    assert_eq!(
        engine.cookie().await.unwrap().as_deref(),
        Some(&b"cookie-2"[..])
    );
    assert!(idle.id > r.id);
    let stored = engine.run_report(idle.id).await.unwrap().unwrap();
    assert_eq!(stored, idle);
    assert_eq!(engine.runs(1).await.unwrap()[0].status, "success");

    // A real change still reads the control panel and applies it.
    let newcomer = user(50, "Idle New", "new@example.com");
    let mut refs2 = refs.clone();
    refs2.push(&newcomer);
    let group = snapshot(&refs2, &[], &[]).objects[0].clone();
    let r = engine
        .run(
            incremental(
                vec![
                    DirectoryChange::Upsert(newcomer.clone()),
                    DirectoryChange::Upsert(group),
                ],
                "cookie-3",
            ),
            apply(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(r.counts.created, 1);
    assert!(px.requests.load(Ordering::SeqCst) > before);
    let t = target_state(&o).await;
    assert!(mailboxes(&t, Service::Exchange).contains(&"new@example.com".to_string()));

    // Idle again after it: no request.
    let before = px.requests.load(Ordering::SeqCst);
    let idle = engine
        .run(incremental(vec![], "cookie-4"), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(px.requests.load(Ordering::SeqCst), before);
    assert_eq!(idle.counts.in_scope, 7);
    drop(engine);

    // Changed plan-relevant settings: the last clean run proves nothing, so
    // the same idle read compares against the control panel again.
    let mut s = settings(&px.base_url, &o);
    s.sync_alternates = !s.sync_alternates;
    let engine = open(dir.path(), s).await;
    let r = engine
        .run(incremental(vec![], "cookie-5"), apply(), |_| {})
        .await
        .unwrap();
    assert!(px.requests.load(Ordering::SeqCst) > before, "{r:#?}");
    assert!(r.api.requests > 0);
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    // And with those settings committed clean, idle is free again.
    let before = px.requests.load(Ordering::SeqCst);
    engine
        .run(incremental(vec![], "cookie-6"), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(px.requests.load(Ordering::SeqCst), before);

    // Plan mode and staging never take the shortcut: they show the real plan.
    let r = engine
        .run(
            incremental(vec![], "cookie-7"),
            RunOptions {
                mode: Mode::Plan,
                ..apply()
            },
            |_| {},
        )
        .await
        .unwrap();
    assert!(r.api.requests > 0);
    assert_eq!(
        engine.cookie().await.unwrap().as_deref(),
        Some(&b"cookie-6"[..])
    );
}

/// The seed article makes admins rerun by hand after a failure; dirsync
/// retries on its own, so an incremental with no directory change after a
/// run with a failed object must still compare and retry it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_after_a_failed_object_still_retries_it() {
    let o = officed(OfficedOptions::default());
    // Every write to i3's mailbox is dropped.
    let schedule: proxy::Schedule = Arc::new(|_, line| {
        if line.starts_with("POST") && line.contains("/i3 ") {
            Fault::Drop
        } else {
            Fault::Forward
        }
    });
    let px = proxy::start(&o.addr, schedule).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&px.base_url, &o);
    s.retry.max_attempts = 2;
    let engine = open(dir.path(), s).await;
    let us = users(6);
    let refs: Vec<&_> = us.iter().collect();
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::ObjectErrors, "{r:#?}");
    assert_eq!(r.counts.created, 5);
    drop(engine);
    drop(px);

    // The network healed; the directory reports nothing new.
    let healed = proxy::start(&o.addr, forward()).await;
    let engine = open(dir.path(), settings(&healed.base_url, &o)).await;
    let r = engine
        .run(incremental(vec![], "cookie-2"), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    let created: Vec<_> = r
        .operations
        .iter()
        .filter(|o| o.op.as_str() == "create")
        .map(|o| o.address.clone().unwrap_or(o.target.clone()))
        .collect();
    assert_eq!(created, vec!["i3@example.com".to_string()]);
    let t = target_state(&o).await;
    assert_eq!(mailboxes(&t, Service::Exchange).len(), 6);

    // Now that it finished cleanly, idle runs are free.
    let before = healed.requests.load(Ordering::SeqCst);
    let idle = engine
        .run(incremental(vec![], "cookie-3"), apply(), |_| {})
        .await
        .unwrap();
    let idle = whole(&engine, &idle).await;
    assert_eq!(healed.requests.load(Ordering::SeqCst), before);
    assert!(idle.operations.is_empty());
}

/// A mailbox disabled for leaving the scope is deleted when its grace period
/// runs out, even if the directory reports nothing new then (while it
/// runs, idle runs are free).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_period_running_out_is_not_skipped_as_idle() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&o.base_url, &o);
    s.delete_policy = DeletePolicy::AfterGrace { days: 1 };
    let engine = open(dir.path(), s).await;
    let us = users(6);
    let refs: Vec<&_> = us.iter().collect();
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    // i5 leaves the service group: disabled now, deletable from then on.
    let group = snapshot(&refs[..5], &[], &[]).objects[0].clone();
    let r = engine
        .run(
            incremental(vec![DirectoryChange::Upsert(group)], "cookie-2"),
            RunOptions {
                override_threshold: true,
                ..apply()
            },
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.counts.disabled, 1, "{r:#?}");
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    let idle = engine
        .run(incremental(vec![], "cookie-3"), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(idle.api.requests, 0, "{idle:#?}");
    // Two days pass (the disable is back-dated in the store, through a
    // second handle on the same file: the engine hands out no store).
    let store = store::Store::open(&dir.path().join("state.db"))
        .await
        .unwrap();
    let mut a = store
        .anchors()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.disabled_at.is_some())
        .unwrap();
    a.disabled_at = a.disabled_at.map(|t| t - 2 * 86_400);
    store.put_anchor(&a).await.unwrap();
    let r = engine
        .run(
            incremental(vec![], "cookie-4"),
            RunOptions {
                override_threshold: true,
                ..apply()
            },
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.counts.deleted, 1, "{r:#?}");
    let t = target_state(&o).await;
    assert_eq!(mailboxes(&t, Service::Exchange).len(), 5);
}

/// Sets the start time of run `id` straight in the state store, as if it had
/// run long ago.
async fn age_run(dir: &std::path::Path, id: i64) {
    let url = format!("sqlite://{}", dir.join("state.db").display());
    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query("UPDATE runs SET started_at = '2020-01-01T00:00:00Z' WHERE id = ?")
        .bind(id)
        .execute(&mut c)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_runs_leave_the_history_after_idle_and_full_runs() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&o.base_url, &o);
    s.history = HistorySettings {
        keep_days: 1,
        keep_runs: 2,
    };
    let engine = open(dir.path(), s).await;
    let us = users(3);
    let refs: Vec<&_> = us.iter().collect();
    let first = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Success, "{first:#?}");
    let mut ids = vec![first.id];
    for n in 2..=4 {
        let r = engine
            .run(incremental(vec![], &format!("c{n}")), apply(), |_| {})
            .await
            .unwrap();
        ids.push(r.id);
    }
    let listed = |v: Vec<RunSummary>| v.iter().map(|r| r.id).collect::<Vec<_>>();
    // All recent: nothing is deleted, whatever keep_runs says.
    let mut want = ids.clone();
    want.reverse();
    assert_eq!(listed(engine.runs(10).await.unwrap()), want);

    // The first two runs are now old: the next idle run deletes them (and
    // the first run's report); the third is recent and stays.
    age_run(dir.path(), ids[0]).await;
    age_run(dir.path(), ids[1]).await;
    let idle = engine
        .run(incremental(vec![], "c5"), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        listed(engine.runs(10).await.unwrap()),
        vec![idle.id, ids[3], ids[2]]
    );
    assert_eq!(engine.run_report(ids[0]).await.unwrap(), None);

    // A full run applies the same retention: the third and fourth runs,
    // once old, go; the idle run is old by neither measure and stays.
    age_run(dir.path(), ids[2]).await;
    age_run(dir.path(), ids[3]).await;
    let again = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(again.status, RunStatus::Success, "{again:#?}");
    assert_eq!(
        listed(engine.runs(10).await.unwrap()),
        vec![again.id, idle.id]
    );
    assert!(engine.run_report(again.id).await.unwrap().is_some());
}
