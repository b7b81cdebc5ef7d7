//! Faults injected by a real TCP proxy between the engine and officed:
//! dropped and reset connections, 500s, throttle answers and answers lost
//! after the server did the work. The sync must finish without a manual
//! rerun, with nothing duplicated and nothing missing. Also: a run
//! interrupted at any point and rerun, and the client-side rate limiter
//! against officed's own throttling.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::proxy::{self, Fault};
use common::*;
use dirsync_engine::types::Service;
use dirsync_engine::*;
use testkit::officed::OfficedOptions;

fn directory() -> (
    Vec<dirsync_model::DirectoryObject>,
    dirsync_model::DirectoryObject,
) {
    let mut users: Vec<_> = (0..12)
        .map(|i| user(i, &format!("Person P{i}"), &format!("p{i}@example.com")))
        .collect();
    users[0].proxy_addresses = vec![
        "smtp:first@example.com".into(),
        "smtp:first@example.org".into(),
    ];
    let refs: Vec<&_> = users.iter().take(5).collect();
    let list = group(100, "Crew", Some("crew@example.com"), &refs);
    (users, list)
}

fn expected_mailboxes() -> Vec<String> {
    let mut v: Vec<String> = (0..12).map(|i| format!("p{i}@example.com")).collect();
    v.sort();
    v
}

async fn assert_complete(o: &testkit::officed::Officed) {
    let t = target_state(o).await;
    assert_eq!(mailboxes(&t, Service::Exchange), expected_mailboxes());
    let p0 = t
        .mailboxes
        .iter()
        .find(|m| m.address.lower() == "p0@example.com")
        .unwrap();
    assert!(p0
        .addresses
        .iter()
        .any(|a| a.lower() == "first@example.com"));
    assert!(p0
        .addresses
        .iter()
        .any(|a| a.lower() == "first@example.org"));
    assert_eq!(t.lists.len(), 1);
    assert_eq!(t.lists[0].members.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_finishes_through_drops_resets_500s_and_throttles() {
    let o = officed(OfficedOptions::default());
    // Every kind of fault, on a fixed rotation: about half the requests fail.
    let schedule: proxy::Schedule = Arc::new(|n, _line| match n % 10 {
        1 => Fault::Drop,
        3 => Fault::ServerError,
        4 => Fault::Throttle,
        6 => Fault::ForwardThenDrop,
        8 => Fault::Reset,
        _ => Fault::Forward,
    });
    let px = proxy::start(&o.addr, schedule).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), settings(&px.base_url, &o)).await;
    let (users, list) = directory();
    let mut ex: Vec<&_> = users.iter().collect();
    ex.push(&list);
    let r = engine
        .run(full(snapshot(&ex, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(
        r.status,
        RunStatus::Success,
        "{:#?}",
        r.operations
            .iter()
            .filter(|o| o.result != OpResult::Done)
            .collect::<Vec<_>>()
    );
    assert!(r.api.retries > 0 && r.api.throttled > 0, "{:?}", r.api);
    let kinds: std::collections::HashSet<_> =
        px.faults.lock().unwrap().iter().map(|(_, f)| *f).collect();
    assert_eq!(kinds.len(), 5, "every fault kind was injected: {kinds:?}");
    assert_complete(&o).await;
    // And a rerun finds nothing to do: no duplicates, nothing missing.
    let again = engine
        .run(full(snapshot(&ex, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let again = whole(&engine, &again).await;
    assert!(again.operations.is_empty(), "{:#?}", again.operations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_running_out_is_ds009_and_the_next_run_catches_up() {
    let o = officed(OfficedOptions::default());
    // Reads pass; every write to p3's mailbox is dropped.
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
    s.retry.max_attempts = 3;
    let engine = open(dir.path(), s).await;
    let (users, list) = directory();
    let mut ex: Vec<&_> = users.iter().collect();
    ex.push(&list);
    let r = engine
        .run(full(snapshot(&ex, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.status, RunStatus::ObjectErrors);
    let failed: Vec<_> = r
        .operations
        .iter()
        .filter(|o| o.result == OpResult::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(
        failed[0].code.map(|c| c.to_string()).as_deref(),
        Some("DS009")
    );
    assert_eq!(failed[0].attempts, 3);
    assert!(failed[0].message.as_deref().unwrap().starts_with(
        "There was an error writing to the pipe: The pipe is being closed. (232, 0xe8)"
    ));
    // One object's failure did not block the others; the list went without it.
    assert_eq!(r.counts.created, 12);
    drop(engine);
    drop(px);

    // The next run (the network healed) catches up without anything else changing.
    let engine = open(dir.path(), settings(&o.base_url, &o)).await;
    let r = engine
        .run(full(snapshot(&ex, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    let mut ops: Vec<String> = r
        .operations
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o.op.as_str(),
                o.address.clone().unwrap_or(o.target.clone())
            )
        })
        .collect();
    ops.sort();
    assert_eq!(
        ops,
        vec!["add_member p3@example.com", "create p3@example.com"]
    );
    assert_complete(&o).await;
}

/// A run interrupted at many different points (the future is dropped, as
/// when the process is killed: SQLite commits are atomic), then rerun to
/// completion, ends with exactly the expected state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_runs_rerun_to_exactly_the_expected_state() {
    let o = officed(OfficedOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let (users, list) = directory();
    let mut ex: Vec<&_> = users.iter().collect();
    ex.push(&list);
    let snap = snapshot(&ex, &[], &[]);
    // Writes paced so a run takes a while; interrupt after growing delays.
    let mut s = settings(&o.base_url, &o);
    s.concurrency = 2;
    let mut interrupted = 0;
    for cut_ms in [30u64, 60, 90, 120, 160, 200, 250, 300] {
        let engine = open(dir.path(), s.clone()).await;
        match tokio::time::timeout(
            Duration::from_millis(cut_ms),
            engine.run(full(snap.clone()), apply(), |_| {}),
        )
        .await
        {
            Err(_) => interrupted += 1,
            Ok(r) => {
                r.unwrap();
            }
        }
    }
    assert!(
        interrupted > 0,
        "no run was interrupted; the test proves nothing"
    );
    let engine = open(dir.path(), s).await;
    let r = engine
        .run(full(snap.clone()), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_complete(&o).await;
    let again = engine.run(full(snap), apply(), |_| {}).await.unwrap();
    let again = whole(&engine, &again).await;
    assert!(again.operations.is_empty(), "{:#?}", again.operations);
    let runs = engine.runs(20).await.unwrap();
    assert!(runs.iter().any(|r| r.status == "interrupted"), "{runs:#?}");
}

/// With officed enforcing its request limits, the client-side limiter set
/// to the same limits keeps every answer clear of "Exceeded request limits".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiter_holds_the_target_limits() {
    let o = officed(OfficedOptions {
        serve_args: vec!["--throttle".into(), "40,8".into()],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&o.base_url, &o);
    s.rate_limit = RateLimit {
        gets_per_min: 40,
        writes_per_min: 8,
    };
    s.retry.max_attempts = 1;
    let engine = open(dir.path(), s).await;
    let users: Vec<_> = (0..10)
        .map(|i| user(i, &format!("Rate R{i}"), &format!("r{i}@example.com")))
        .collect();
    let refs: Vec<&_> = users.iter().collect();
    let started = std::time::Instant::now();
    let r = engine
        .run(full(snapshot(&refs, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    assert_eq!(
        r.status,
        RunStatus::Success,
        "{:#?}",
        r.operations
            .iter()
            .filter(|o| o.result != OpResult::Done)
            .collect::<Vec<_>>()
    );
    assert_eq!(r.api.throttled, 0);
    assert_eq!(r.counts.created, 10);
    // Ten writes at eight per minute: the limiter must have waited.
    assert!(
        started.elapsed() >= Duration::from_secs(50),
        "{:?}",
        started.elapsed()
    );
}

/// A run that starts after the key's writes for the minute were spent by
/// the run just before it, as another process with its own client. On the
/// same state store, the first run's writes of that clock minute were
/// counted (migration 0008), so the second waits for officed's next minute
/// before its first write and is never refused (`shared`); without the
/// shared count it took a refusal per kind first. On another state store
/// (another agent of the same key), officed refuses its writes and the
/// client holds them until officed's next minute instead of giving up
/// after the retry policy's backoff (six attempts, about 15 s at most).
/// Either way the run succeeds. Returns the second run's refusals.
async fn second_run_in_a_spent_minute(shared: bool) -> u64 {
    let o = officed(OfficedOptions {
        serve_args: vec!["--throttle".into(), "100,4".into()],
        ..Default::default()
    });
    let (first_dir, other_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let second_dir = if shared { &first_dir } else { &other_dir };
    let settings = || {
        let mut s = settings(&o.base_url, &o);
        s.rate_limit = RateLimit {
            gets_per_min: 100,
            writes_per_min: 4,
        };
        s
    };
    // Start early in a clock minute: its end must be further away than the
    // retry policy's backoff, or a client without the wait would pass too.
    let into = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        % 60_000;
    if into > 10_000 {
        tokio::time::sleep(Duration::from_millis(60_000 - into + 300)).await;
    }
    let users: Vec<_> = (0..7)
        .map(|i| user(i, &format!("Spent S{i}"), &format!("s{i}@example.com")))
        .collect();
    let first: Vec<&_> = users.iter().take(4).collect();
    let r = open(first_dir.path(), settings())
        .await
        .run(full(snapshot(&first, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.counts.created),
        (RunStatus::Success, 4),
        "{r:#?}"
    );
    // The next run: a new engine and client, as a new `dirsync sync` process.
    let started = std::time::Instant::now();
    let all: Vec<&_> = users.iter().collect();
    let r = open(second_dir.path(), settings())
        .await
        .run(full(snapshot(&all, &[], &[])), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        r.status,
        RunStatus::Success,
        "{:#?}",
        r.operations
            .iter()
            .filter(|o| o.result != OpResult::Done)
            .collect::<Vec<_>>()
    );
    assert_eq!(r.counts.created, 3);
    assert!(
        started.elapsed() >= Duration::from_secs(30),
        "the writes did not wait for officed's next minute: {:?}",
        started.elapsed()
    );
    r.api.throttled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_minute_is_waited_out_not_failed() {
    // Refused at most once each: the first refusal holds the others.
    let throttled = second_run_in_a_spent_minute(false).await;
    assert!((1..=3).contains(&throttled), "throttled {throttled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_knows_the_minute_its_state_store_spent() {
    // Never refused: the spent minute was known before the first write.
    assert_eq!(second_run_in_a_spent_minute(true).await, 0);
}

/// The client's observer (dirsync's API latency histogram) sees every HTTP
/// attempt, retries included, with its status, or none when the connection
/// was dropped; and it is set once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_observer_times_every_attempt() {
    let o = officed(OfficedOptions::default());
    let schedule: proxy::Schedule = Arc::new(|n, _line| match n {
        0 => Fault::ServerError,
        1 => Fault::Drop,
        _ => Fault::Forward,
    });
    let px = proxy::start(&o.addr, schedule).await;
    let c = client_to(&px.base_url, &o);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    assert!(c.stats().observer.set(Arc::new(move |t| {
        s2.lock()
            .unwrap()
            .push((t.method.to_string(), t.status, t.elapsed));
    })));
    assert!(!c.stats().observer.set(Arc::new(|_| {})));
    let domains = c.domains(&o.account_number).await.unwrap();
    assert!(!domains.is_empty());
    let seen = seen.lock().unwrap().clone();
    let attempts: Vec<(&str, Option<u16>)> =
        seen.iter().map(|(m, s, _)| (m.as_str(), *s)).collect();
    assert_eq!(
        attempts,
        [("GET", Some(500)), ("GET", None), ("GET", Some(200))]
    );
    assert!(seen.iter().all(|(_, _, d)| *d < Duration::from_secs(5)));
    // A clone shares the observer.
    c.clone().domains(&o.account_number).await.unwrap();
    assert_eq!(
        c.stats()
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        4
    );
}
