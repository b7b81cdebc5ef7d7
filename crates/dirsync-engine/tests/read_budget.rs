//! Working within the documented API's reads and limits, counted on the wire
//! by a real TCP proxy in front of officed.
//!
//! The constant c: a run lists the domains (one page per 250) and, per
//! domain, each listing its services have (Exchange: mailboxes, contacts,
//! distribution lists; Rackspace Email: mailboxes, aliases; one page per
//! 250 items), and spends at most the verification budget B on GETs of one
//! object:
//!
//!   c = domain pages + listing pages + B
//!
//! With the fixture's two domains (example.org: Exchange; example.com:
//! both) and fewer than 250 objects of each kind: c = 1 + (3 + 5) + B = 9 + B.
//! An incremental run with k changed objects makes at most k + c GETs and
//! exactly the writes the changes need; an idle run makes none (or at most
//! c when a verification is due).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use cloudoffice_api::paths;
use common::proxy::{self, Fault};
use common::*;
use dirsync_engine::types::Service;
use dirsync_engine::*;
use dirsync_model::{ChangeTracking, DirectoryChange, DirectoryChanges, DirectoryObject};
use reqwest::Method;
use testkit::officed::OfficedOptions;

/// Listing pages of a run against the fixture (see the module documentation).
const LISTING_PAGES: usize = 9;

fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn incremental(changes: Vec<DirectoryChange>, cookie: &str) -> DirectoryInput {
    DirectoryInput::Incremental(DirectoryChanges {
        changes,
        cookie: cookie.as_bytes().to_vec(),
        method: ChangeTracking::DirSync,
    })
}

/// Request lines seen by the proxy.
#[derive(Clone, Default)]
struct Wire(Arc<Mutex<Vec<String>>>);

impl Wire {
    fn schedule(&self) -> proxy::Schedule {
        let w = self.0.clone();
        Arc::new(move |_, line: &str| {
            w.lock().unwrap().push(line.to_string());
            Fault::Forward
        })
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// (list page GETs, GETs of one object, writes) in request lines.
fn split(lines: &[String]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut pages, mut ones, mut writes) = (vec![], vec![], vec![]);
    for l in lines {
        let path = l.split(' ').nth(1).unwrap_or("").to_string();
        if l.starts_with("GET ") {
            if path.contains('?') {
                pages.push(path);
            } else {
                ones.push(path);
            }
        } else {
            writes.push(l.clone());
        }
    }
    (pages, ones, writes)
}

fn staff(n: u32) -> Vec<DirectoryObject> {
    (0..n)
        .map(|i| {
            let mut u = user(i, &format!("Read R{i}"), &format!("r{i}@example.com"));
            if i % 3 == 0 {
                u.proxy_addresses = vec![
                    format!("SMTP:r{i}@example.com"),
                    format!("smtp:r{i}.alt@example.com"),
                ];
            }
            u
        })
        .collect()
}

fn budgeted(s: &mut EngineSettings, budget: u32, idle_after_secs: u64) {
    s.verify = VerifySettings {
        budget,
        full_budget: budget,
        idle_after_secs,
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_with_k_changes_makes_minimal_writes_and_at_most_k_plus_c_gets() {
    const B: u32 = 2;
    let o = officed(OfficedOptions::default());
    let wire = Wire::default();
    let px = proxy::start(&o.addr, wire.schedule()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&px.base_url, &o);
    budgeted(&mut s, B, 3600);
    let engine = open(dir.path(), s).await;
    let mut us = staff(12);
    let refs: Vec<&_> = us.iter().collect();
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(r.counts.created, 12);
    // Nothing was anchored before: only the listings were read.
    let (pages, ones, _) = split(&wire.take());
    assert_eq!((pages.len(), ones.len()), (LISTING_PAGES, 0), "{pages:?}");

    // k = 3 users change a field.
    let k = 3usize;
    for u in us.iter_mut().take(k) {
        u.info.title = Some("Changed".into());
    }
    let changes = us
        .iter()
        .take(k)
        .cloned()
        .map(DirectoryChange::Upsert)
        .collect();
    let r = engine
        .run(incremental(changes, "cookie-2"), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    let (pages, ones, writes) = split(&wire.take());
    // Exactly the minimal writes: one update per changed user.
    assert_eq!(writes.len(), k, "{writes:?}");
    assert!(writes.iter().all(|w| w.starts_with("PUT ")), "{writes:?}");
    assert_eq!(r.counts.updated, k as u64);
    assert_eq!(r.counts.planned, k as u64, "{:#?}", r.operations);
    // At most k + c GETs: the listings, the k changed objects, B verified.
    let c = LISTING_PAGES + B as usize;
    // Changes to the users' own fields after a clean run: the run is
    // narrowed to them (crate::narrow) and lists only the domains.
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(pages.len() + ones.len() <= k + c, "{pages:?} {ones:?}");
    for u in us.iter().take(k) {
        let name = u.mail.as_deref().unwrap().split('@').next().unwrap();
        let path = paths::ex_mailbox(&o.account_number, "example.com", name);
        assert!(
            ones.iter().any(|p| p.ends_with(&path)),
            "{path} in {ones:?}"
        );
    }
    assert_eq!(ones.len(), k + B as usize, "{ones:?}");
    // The report says the same.
    let v = &r.verification;
    assert_eq!(v.list_pages as usize, pages.len());
    assert_eq!(v.object_reads as usize, ones.len());
    assert_eq!((v.needed_reads as usize, v.budget), (k, B));
    assert!(v.objects.iter().all(|x| !x.drift), "{v:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_run_makes_at_most_c_gets_and_no_write() {
    const B: u32 = 3;
    let o = officed(OfficedOptions::default());
    let wire = Wire::default();
    let px = proxy::start(&o.addr, wire.schedule()).await;
    let dir = tempfile::tempdir().unwrap();
    let us = staff(8);
    let refs: Vec<&_> = us.iter().collect();
    {
        let mut s = settings(&px.base_url, &o);
        budgeted(&mut s, B, 3600);
        let engine = open(dir.path(), s).await;
        let r = engine
            .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
            .await
            .unwrap();
        assert_eq!(r.status, RunStatus::Success, "{r:#?}");
        wire.take();
        // A verification was made moments ago: an idle run is free.
        let idle = engine
            .run(incremental(vec![], "cookie-2"), apply(), |_| {})
            .await
            .unwrap();
        assert_eq!(idle.status, RunStatus::Success);
        assert!(wire.take().is_empty());
    }
    // With a verification due at every run, an idle run lists and verifies B
    // objects: exactly c GETs and no write.
    let mut s = settings(&px.base_url, &o);
    budgeted(&mut s, B, 0);
    let engine = open(dir.path(), s).await;
    for cookie in ["cookie-3", "cookie-4"] {
        let idle = engine
            .run(incremental(vec![], cookie), apply(), |_| {})
            .await
            .unwrap();
        let idle = whole(&engine, &idle).await;
        assert_eq!(idle.status, RunStatus::Success, "{idle:#?}");
        assert!(idle.operations.is_empty(), "{idle:#?}");
        let (pages, ones, writes) = split(&wire.take());
        let c = LISTING_PAGES + B as usize;
        assert!(writes.is_empty(), "{writes:?}");
        assert_eq!(pages.len() + ones.len(), c, "{pages:?} {ones:?}");
        assert_eq!(idle.verification.object_reads, B as u64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edits_are_repaired_by_verification_within_the_budgeted_runs() {
    const B: u32 = 2;
    let o = officed(OfficedOptions::default());
    let wire = Wire::default();
    let px = proxy::start(&o.addr, wire.schedule()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&px.base_url, &o);
    budgeted(&mut s, B, 0);
    let engine = open(dir.path(), s).await;
    let us: Vec<DirectoryObject> = (0..6)
        .map(|i| {
            let mut u = user(i, &format!("Hand H{i}"), &format!("h{i}@example.com"));
            u.proxy_addresses = vec![
                format!("SMTP:h{i}@example.com"),
                format!("smtp:h{i}.alt@example.com"),
            ];
            u
        })
        .collect();
    let refs: Vec<&_> = us.iter().collect();
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    let synced = engine.history().synced_objects().await.unwrap();
    assert_eq!(synced.len(), 6);
    assert!(
        synced.iter().all(|x| x.verified_at.is_some()),
        "{synced:#?}"
    );

    // Hand edits in the control panel: a display name, a removed alternate.
    let c = direct_client(&o);
    let cu = o.account_number.clone();
    c.send_form(
        Method::PUT,
        &paths::ex_mailbox(&cu, "example.com", "h1"),
        &form(&[("displayName", "Edited By Hand")]),
    )
    .await
    .unwrap();
    c.delete(&paths::ex_mailbox_address(
        &cu,
        "example.com",
        "h4",
        "h4.alt@example.com",
    ))
    .await
    .unwrap();
    let has_alt = |t: &types::TargetState| {
        t.mailboxes.iter().any(|m| {
            m.address.lower() == "h4@example.com"
                && m.addresses
                    .iter()
                    .any(|a| a.lower() == "h4.alt@example.com")
        })
    };
    let display = |t: &types::TargetState| {
        t.mailboxes
            .iter()
            .find(|m| m.address.lower() == "h1@example.com")
            .and_then(|m| m.fields.get("displayName").cloned())
    };
    let t = target_state(&o).await;
    assert!(!has_alt(&t));
    assert_eq!(display(&t).as_deref(), Some("Edited By Hand"));

    // No directory change. Six objects at two a run: within three runs every
    // object is verified; the edited display name shows in the listing and
    // is repaired by the first.
    let runs = 6usize.div_ceil(B as usize);
    let mut repaired_in = None;
    for n in 1..=runs {
        let r = engine
            .run(incremental(vec![], &format!("cookie-{n}")), apply(), |_| {})
            .await
            .unwrap();
        let r = whole(&engine, &r).await;
        assert_eq!(r.status, RunStatus::Success, "{r:#?}");
        let t = target_state(&o).await;
        assert_eq!(display(&t).as_deref(), Some("Hand H1"), "run {n}");
        if has_alt(&t) && repaired_in.is_none() {
            repaired_in = Some(n);
            let v = r
                .verification
                .objects
                .iter()
                .find(|x| x.target == "h4@example.com")
                .expect("h4 verified in the run that repaired it");
            assert!(v.drift, "{:#?}", r.verification);
            assert_eq!(r.counts.addresses_added, 1, "{:#?}", r.operations);
        }
    }
    assert!(repaired_in.is_some(), "not repaired within {runs} runs");
    // Every object was verified after the hand edits, and the store says when.
    let after = engine.history().synced_objects().await.unwrap();
    for (a, b) in synced.iter().zip(&after) {
        assert!(b.verified_at > a.verified_at, "{a:?} {b:?}");
    }
    assert!(after.iter().any(|x| x.repaired));
    wire.take();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_unanchored_mailbox_is_adopted_with_one_get() {
    let o = officed(OfficedOptions::default());
    let c = direct_client(&o);
    c.send_form(
        Method::POST,
        &paths::ex_mailbox(&o.account_number, "example.com", "adopt"),
        &form(&[("displayName", "Old Name"), ("password", "Adopt-Pass-1234")]),
    )
    .await
    .unwrap();
    let wire = Wire::default();
    let px = proxy::start(&o.addr, wire.schedule()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), settings(&px.base_url, &o)).await;
    let adopt = user(1, "Adopt Me", "adopt@example.com");
    let other = user(2, "New One", "new.one@example.com");
    let r = engine
        .run(full(snapshot(&[&adopt, &other], &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(r.counts.created, 1, "{:#?}", r.operations);
    let ops: Vec<(String, types::OpKind)> = r
        .operations
        .iter()
        .filter(|o| o.target == "adopt@example.com")
        .map(|o| (o.reason.clone(), o.op))
        .collect();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0].1, types::OpKind::Update);
    assert!(ops[0].0.starts_with("adopted existing mailbox"), "{ops:?}");
    let (pages, ones, _) = split(&wire.take());
    assert_eq!(pages.len(), LISTING_PAGES);
    assert_eq!(
        ones,
        vec![format!(
            "/v1{}",
            paths::ex_mailbox(&o.account_number, "example.com", "adopt")
        )]
    );
    assert_eq!(r.verification.needed_reads, 1);
    let t = target_state(&o).await;
    let m = t
        .mailboxes
        .iter()
        .find(|m| m.address.lower() == "adopt@example.com")
        .unwrap();
    assert_eq!(
        m.fields.get("displayName").map(String::as_str),
        Some("Adopt Me")
    );
    assert_eq!(m.service, Service::Exchange);
}

/// check, plan and sync against officed with the documented limits on
/// (`--throttle cloud-office`: 60 GETs and 30 writes a minute per key) and
/// the client's default limiter: not one refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_plan_and_sync_under_the_cloud_office_throttle_without_refusals() {
    let o = officed(OfficedOptions {
        serve_args: vec!["--throttle".into(), "cloud-office".into()],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&o.base_url, &o);
    s.rate_limit = RateLimit::default();
    s.retry.max_attempts = 1; // a refusal would fail the run
    let engine = open(dir.path(), s).await;
    let mut us = staff(8);
    let refs: Vec<&_> = us.iter().collect();
    let snap = snapshot(&refs, &[], &[]);
    for mode in [Mode::Check, Mode::Plan] {
        let r = engine
            .run(full(snap.clone()), RunOptions { mode, ..apply() }, |_| {})
            .await
            .unwrap();
        assert_eq!(r.status, RunStatus::Success, "{mode:?} {r:#?}");
        assert_eq!(r.api.throttled, 0);
    }
    let r = engine.run(full(snap), apply(), |_| {}).await.unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!((r.counts.created, r.api.throttled), (8, 0));
    us[0].info.title = Some("Changed".into());
    let r = engine
        .run(
            incremental(vec![DirectoryChange::Upsert(us[0].clone())], "cookie-2"),
            apply(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!((r.counts.updated, r.api.throttled), (1, 0));
}
