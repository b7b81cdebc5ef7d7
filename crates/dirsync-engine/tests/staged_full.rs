//! A full read staged as it is read (`DirectoryInput::Staged`, the LDIF
//! source's) against the same read held whole (`DirectoryInput::Full`),
//! each into its own real officed: the same findings, counts, operations
//! and control panel, the same replica committed, and the same group
//! safety stop (DS204) on the next run.

mod common;

use common::*;
use dirsync_engine::types::Service;
use dirsync_engine::*;
use dirsync_model::{DirectoryObject, DirectorySnapshot};
use testkit::officed::OfficedOptions;

/// The read staged in chunks of two objects, as a source hands it over.
async fn staged(engine: &Engine, s: &DirectorySnapshot) -> DirectoryInput {
    let mut st = engine.stage_full().await.unwrap();
    for chunk in s.objects.chunks(2) {
        st.push(chunk).await.unwrap();
    }
    DirectoryInput::Staged {
        read: st.finish(s.exchange_group, s.rsemail_group).await.unwrap(),
        cookie: Some(b"cookie-full".to_vec()),
    }
}

/// Rows left in the staging table of the store in `dir`: none once a run
/// of a staged read has ended, committed or not.
async fn staged_rows(dir: &std::path::Path) -> i64 {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", dir.join("state.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM replica_next")
        .fetch_one(&mut c)
        .await
        .unwrap()
}

/// What two runs must share: status, counts, findings and every operation.
fn same(a: &RunReport, b: &RunReport, what: &str) {
    assert_eq!(a.status, b.status, "{what}");
    assert_eq!(a.counts, b.counts, "{what}");
    assert_eq!(a.findings, b.findings, "{what}");
    assert_eq!(codes_by_dn(a), codes_by_dn(b), "{what}");
    let ops = |r: &RunReport| -> Vec<_> {
        r.operations
            .iter()
            .map(|o| (o.dn.clone(), o.result, o.code))
            .collect()
    };
    assert_eq!(ops(a), ops(b), "{what}");
    assert_eq!(a.cookie_committed, b.cookie_committed, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_read_syncs_as_the_whole_read() {
    let mut users: Vec<DirectoryObject> = (0..12)
        .map(|i| user(i, &format!("User {i:02}"), &format!("user{i}@example.com")))
        .collect();
    users[1].proxy_addresses = vec!["smtp:user2@example.com".into(), "bad".into()]; // DS103, DS105
    users[3].mail = Some(String::new()); // DS001
    let nested = user(50, "Nested Only", "nested@example.com"); // DS101
    let ext = contact(60, "Partner Pam", "pam@partner.test", &["example.com"]);
    let sales = group(
        70,
        "Sales",
        Some("sales@example.com"),
        &[&users[0], &users[1], &nested, &ext],
    );
    let ex: Vec<&DirectoryObject> = users[..8].iter().chain([&ext, &sales]).collect();
    let rs: Vec<&DirectoryObject> = users[8..].iter().collect();
    let first = snapshot(&ex, &rs, &[&nested]);
    // The next read: the Rackspace Email group reads as empty (DS204).
    let second = snapshot(&ex, &[], &[&nested]);

    let (oa, ob) = (
        officed(OfficedOptions::default()),
        officed(OfficedOptions::default()),
    );
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(da.path(), settings(&oa.base_url, &oa)).await;
    let b = open(db.path(), settings(&ob.base_url, &ob)).await;

    // A plan of a staged read writes nothing and keeps no staged rows.
    let input = staged(&b, &first).await;
    let plan = RunOptions {
        mode: Mode::Plan,
        ..apply()
    };
    let rp = b.run(input, plan, |_| {}).await.unwrap();
    assert!(!rp.cookie_committed, "{rp:#?}");
    assert_eq!(staged_rows(db.path()).await, 0, "after a plan");

    let ra = a.run(full(first.clone()), apply(), |_| {}).await.unwrap();
    let input = staged(&b, &first).await;
    let rb = b.run(input, apply(), |_| {}).await.unwrap();
    let (ra, rb) = (whole(&a, &ra).await, whole(&b, &rb).await);
    same(&ra, &rb, "first run");
    assert_eq!(staged_rows(db.path()).await, 0, "after the commit");
    assert_eq!(rb.counts.mapped, first.objects.len() as u64);
    assert!(rb.counts.created > 0, "{rb:#?}");
    let (ta, tb) = (target_state(&oa).await, target_state(&ob).await);
    for s in [Service::Exchange, Service::RsEmail] {
        assert_eq!(mailboxes(&ta, s), mailboxes(&tb, s));
    }
    let guids: Vec<_> = first.objects.iter().map(|o| o.guid).collect();
    assert_eq!(
        a.replica_objects(&guids).await.unwrap(),
        b.replica_objects(&guids).await.unwrap(),
        "the replica committed from the staging table"
    );

    let ra = a.run(full(second.clone()), apply(), |_| {}).await.unwrap();
    let input = staged(&b, &second).await;
    let rb = b.run(input, apply(), |_| {}).await.unwrap();
    same(&ra, &rb, "second run");
    assert_eq!(rb.status, RunStatus::ThresholdStopped, "{rb:#?}");
    assert_eq!(staged_rows(db.path()).await, 0, "after a stopped run");
    assert!(
        rb.findings.iter().any(|f| f.code.as_str() == "DS204"),
        "{:#?}",
        rb.findings
    );
}
