//! Work proportional to change (issue 12): an incremental read of k
//! changed objects after a clean run maps and plans those k objects (and
//! the few others their plan depends on: the lists they are members of and
//! those lists' members), reads from the control panel only the domains
//! and those objects, and writes what changed; it does not replay the
//! replica, map or plan the other objects, or list the control panel.
//!
//! Every case runs twice, on twin control panels (two officed) and twin
//! state stores that start equal: once narrowed, once forced to run whole
//! (the same changes with an object out of scope upserted and deleted in
//! the same read, [`force_whole`]). Both must end with the same control
//! panel, the same anchors, replica and clean marker, and the same
//! operations. Requests are counted on the
//! wire by a real TCP proxy in front of the narrowed twin's officed.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::proxy::{self, Fault, Proxy};
use common::*;
use dirsync_engine::types::{Anchor, TargetState};
use dirsync_engine::*;
use dirsync_model::{
    ChangeTracking, DirectoryChange, DirectoryChanges, DirectoryObject, DirectorySnapshot, Guid,
};
use testkit::officed::{Officed, OfficedOptions};

fn incremental(changes: Vec<DirectoryChange>, cookie: &str) -> DirectoryInput {
    DirectoryInput::Incremental(DirectoryChanges {
        changes,
        cookie: cookie.as_bytes().to_vec(),
        method: ChangeTracking::DirSync,
    })
}

/// The upserts and deletions that turn `before` into `now`, as a DirSync
/// read reports them.
fn changes_between(before: &DirectorySnapshot, now: &DirectorySnapshot) -> Vec<DirectoryChange> {
    let old: BTreeMap<Guid, &DirectoryObject> =
        before.objects.iter().map(|o| (o.guid, o)).collect();
    let new: BTreeMap<Guid, &DirectoryObject> = now.objects.iter().map(|o| (o.guid, o)).collect();
    let mut out: Vec<DirectoryChange> = new
        .iter()
        .filter(|(g, o)| old.get(g) != Some(o))
        .map(|(_, o)| DirectoryChange::Upsert((*o).clone()))
        .collect();
    out.extend(
        old.keys()
            .filter(|g| !new.contains_key(g))
            .map(|g| DirectoryChange::Delete {
                guid: *g,
                last_dn: None,
            }),
    );
    out
}

/// The directory of the cases: Exchange users (some with an alternate
/// address), Rackspace Email users (with an alias), contacts, a
/// distribution list of both kinds of users and a user synced only through
/// it, and a second list.
struct World {
    ex: Vec<DirectoryObject>,
    rs: Vec<DirectoryObject>,
    lists: Vec<DirectoryObject>,
    extra: Vec<DirectoryObject>,
}

impl World {
    fn new() -> World {
        let ex: Vec<DirectoryObject> = (1..=12)
            .map(|i| {
                let mut u = user(i, &format!("Ex U{i:02}"), &format!("u{i}@example.com"));
                if i % 3 == 0 {
                    u.proxy_addresses = vec![
                        format!("SMTP:u{i}@example.com"),
                        format!("smtp:u{i}.alt@example.com"),
                    ];
                }
                u
            })
            .chain((100..102).map(|i| {
                contact(
                    i,
                    &format!("Partner P{i}"),
                    &format!("p{i}@partner.test"),
                    &["example.com"],
                )
            }))
            .collect();
        let rs: Vec<DirectoryObject> = (200..204)
            .map(|i| {
                let mut u = user(i, &format!("Rs R{i}"), &format!("r{i}@example.com"));
                u.proxy_addresses = vec![
                    format!("SMTP:r{i}@example.com"),
                    format!("smtp:r{i}.alias@example.com"),
                ];
                u
            })
            .collect();
        let nested = user(300, "Nested N300", "n300@example.com");
        let sales = group(
            400,
            "Sales",
            Some("sales@example.com"),
            &[&ex[0], &ex[1], &ex[2], &ex[3], &ex[4], &rs[0], &nested],
        );
        let ops = group(401, "Ops", Some("ops@example.com"), &[&ex[5], &ex[6]]);
        World {
            ex,
            rs,
            lists: vec![sales, ops],
            extra: vec![nested],
        }
    }

    fn snapshot(&self) -> DirectorySnapshot {
        let ex: Vec<&DirectoryObject> = self.ex.iter().chain(&self.lists).collect();
        let rs: Vec<&DirectoryObject> = self.rs.iter().collect();
        let extra: Vec<&DirectoryObject> = self.extra.iter().collect();
        snapshot(&ex, &rs, &extra)
    }

    /// Takes the object `n` out of its service group; it stays in the
    /// directory (a leaver is disabled, never deleted).
    fn leave(&mut self, n: u32) {
        for v in [&mut self.ex, &mut self.rs] {
            if let Some(i) = v.iter().position(|o| o.guid == guid(n)) {
                let o = v.remove(i);
                self.extra.push(o);
            }
        }
    }

    fn list(&mut self, n: u32) -> &mut DirectoryObject {
        self.lists.iter_mut().find(|l| l.guid == guid(n)).unwrap()
    }
}

/// Changes that make a run whole and change nothing: an object out of
/// scope upserted and deleted in the same read (a narrowed run never
/// decides an object both upserted and deleted).
fn force_whole() -> Vec<DirectoryChange> {
    vec![
        DirectoryChange::Upsert(user(999_999, "Forced Whole", "forced@example.com")),
        DirectoryChange::Delete {
            guid: guid(999_999),
            last_dn: None,
        },
    ]
}

/// One control panel and state store.
struct Side {
    officed: Officed,
    proxy: Proxy,
    engine: Engine,
    dir: tempfile::TempDir,
}

impl Side {
    async fn start() -> Side {
        let officed = officed(OfficedOptions::default());
        let proxy = proxy::start(&officed.addr, Arc::new(|_, _| Fault::Forward)).await;
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(&proxy.base_url, &officed);
        s.verify.budget = 2;
        let engine = open(dir.path(), s).await;
        Side {
            officed,
            proxy,
            engine,
            dir,
        }
    }

    /// Anchors (when a mailbox was disabled aside: a clock reading),
    /// replica and the clean marker's count of objects in scope (its
    /// settings name each twin's own control panel).
    async fn stored(&self) -> (Vec<Anchor>, DirectorySnapshot, Option<u64>) {
        let s = store::Store::open(&self.dir.path().join("state.db"))
            .await
            .unwrap();
        let anchors = s
            .anchors()
            .await
            .unwrap()
            .into_iter()
            .map(|mut a| {
                a.disabled_at = a.disabled_at.map(|_| 1);
                a
            })
            .collect();
        let marker = s.clean_marker().await.unwrap().map(|m| {
            serde_json::from_str::<serde_json::Value>(&m).unwrap()["in_scope"]
                .as_u64()
                .unwrap()
        });
        (anchors, s.replica().await.unwrap(), marker)
    }
}

/// The operations of a run, in a comparable order.
fn ops(r: &RunReport) -> Vec<String> {
    let mut v: Vec<String> = r
        .operations
        .iter()
        .map(|o| {
            format!(
                "{:?} {:?} {:?} {} {:?} {:?}",
                o.op, o.kind, o.service, o.target, o.address, o.result
            )
        })
        .collect();
    v.sort();
    v
}

fn sorted(mut t: TargetState) -> TargetState {
    t.mailboxes.sort_by(|a, b| a.address.cmp(&b.address));
    t.contacts.sort_by(|a, b| a.address.cmp(&b.address));
    t.lists.sort_by(|a, b| a.address.cmp(&b.address));
    t.aliases.sort_by(|a, b| a.address.cmp(&b.address));
    t
}

/// Twin control panels and stores: `narrow` runs the changes as they
/// come, `whole` the same changes forced to run whole.
struct Twins {
    narrow: Side,
    whole: Side,
    runs: u32,
    last: DirectorySnapshot,
    /// Changes the next step reads besides those between the snapshots.
    extra_changes: Vec<DirectoryChange>,
}

impl Twins {
    async fn start(w: &World) -> Twins {
        let (narrow, whole) = (Side::start().await, Side::start().await);
        let s = w.snapshot();
        for side in [&narrow, &whole] {
            let r = side
                .engine
                .run(full(s.clone()), apply(), |_| {})
                .await
                .unwrap();
            assert_eq!(r.status, RunStatus::Success, "{r:#?}");
        }
        Twins {
            narrow,
            whole,
            runs: 0,
            last: s,
            extra_changes: Vec::new(),
        }
    }

    /// Runs the change from the last state to `w` on both twins, checks
    /// they end equal, and returns the narrowed twin's report and its
    /// requests on the wire.
    async fn step(&mut self, w: &World) -> (RunReport, RunReport, u64) {
        let now = w.snapshot();
        let mut changes = changes_between(&self.last, &now);
        changes.append(&mut self.extra_changes);
        self.last = now;
        self.runs += 1;
        let cookie = format!("cookie-{}", self.runs);
        let before = self.narrow.proxy.requests.load(Ordering::SeqCst);
        let n = self
            .narrow
            .engine
            .run(incremental(changes.clone(), &cookie), apply(), |_| {})
            .await
            .unwrap();
        let requests = self.narrow.proxy.requests.load(Ordering::SeqCst) - before;
        let mut forced = changes;
        forced.extend(force_whole());
        let w = self
            .whole
            .engine
            .run(incremental(forced, &cookie), apply(), |_| {})
            .await
            .unwrap();
        // Every operation of both, from their run histories (a write run
        // keeps in memory only those not done).
        let n = whole(&self.narrow.engine, &n).await;
        let w = whole(&self.whole.engine, &w).await;
        assert!(
            w.verification.list_pages > 1,
            "the whole twin lists: {w:#?}"
        );
        assert_eq!(
            (n.status, ops(&n)),
            (w.status, ops(&w)),
            "narrowed {n:#?}\nwhole {w:#?}"
        );
        assert_eq!(n.counts.in_scope, w.counts.in_scope);
        assert_eq!(
            sorted(target_state(&self.narrow.officed).await),
            sorted(target_state(&self.whole.officed).await),
            "control panels"
        );
        let (a, b) = (self.narrow.stored().await, self.whole.stored().await);
        let only = |x: &Vec<Anchor>, y: &Vec<Anchor>| -> Vec<Anchor> {
            x.iter().filter(|a| !y.contains(a)).cloned().collect()
        };
        assert_eq!(
            only(&a.0, &b.0),
            vec![],
            "anchors only the narrowed twin has"
        );
        assert_eq!(only(&b.0, &a.0), vec![], "anchors only the whole twin has");
        assert!(a.1 == b.1, "replicas differ");
        assert_eq!(a.2, b.2, "clean markers");
        (n, w, requests)
    }
}

fn narrowed(r: &RunReport, mapped: u64) {
    assert_eq!(r.counts.mapped, mapped, "mapped: {r:#?}");
    assert_eq!(
        r.verification.list_pages, 1,
        "only the domains are listed: {:#?}",
        r.verification
    );
}

fn ran_whole(r: &RunReport) {
    assert!(
        r.verification.list_pages > 1,
        "ran whole: {:#?}",
        r.verification
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_changes_map_plan_and_read_only_those_k() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // k = 3 changed: two users' titles, one contact's display name.
    w.ex[7].info.title = Some("Director".into());
    w.ex[10].info.title = Some("Engineer".into());
    w.ex[12].info.display_name = Some("Partner Renamed".into());
    let (r, _, requests) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    // The k changed objects and the B = 2 of the verification sample.
    narrowed(&r, 3 + 2);
    assert_eq!((r.counts.planned, r.counts.updated), (3, 3), "{r:#?}");
    assert_eq!(r.verification.object_reads, 3 + 2, "{:#?}", r.verification);
    assert_eq!(r.verification.needed_reads, 3, "{:#?}", r.verification);
    // The domains, a GET of each changed and sampled object, a write each.
    assert_eq!(requests, 1 + (3 + 2) + 3);
    assert_eq!(r.api.requests, requests);
    assert_eq!(t.narrow.engine.run_report(r.id).await.unwrap().unwrap(), r);
    // Then nothing to do, without a request.
    let idle = t
        .narrow
        .engine
        .run(incremental(vec![], "idle"), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!((idle.status, idle.api.requests), (RunStatus::Success, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_users_join_and_lists_pick_them_up() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // A new Exchange user with an alternate, a new Rackspace Email user
    // with an alias, and an existing nested user (member of Sales) who
    // joins the Exchange group: Sales gets it as a member.
    let mut newcomer = user(20, "Ex New", "new@example.com");
    newcomer.proxy_addresses = vec![
        "SMTP:new@example.com".into(),
        "smtp:new.alt@example.com".into(),
    ];
    w.ex.push(newcomer);
    let mut rsnew = user(220, "Rs New", "rnew@example.com");
    rsnew.proxy_addresses = vec![
        "SMTP:rnew@example.com".into(),
        "smtp:rnew.alias@example.com".into(),
    ];
    w.rs.push(rsnew);
    let nested = w.extra.remove(0);
    w.ex.push(nested);
    assert_eq!(w.extra.len(), 0);
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!((r.counts.created, r.counts.members_added), (3, 1), "{r:#?}");
    assert_eq!(
        (r.counts.addresses_added, r.counts.in_scope),
        (2, 23),
        "{r:#?}"
    );
    // The three joiners, Sales, the sample: Sales' other members are
    // unchanged synced mailboxes, planned at their anchors' addresses
    // without being mapped.
    narrowed(&r, 3 + 1 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leavers_are_disabled_and_leave_their_lists() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // u3 (in Sales) leaves the Exchange group, r200 (in Sales) the
    // Rackspace Email group, u12 (in no list) the Exchange group, and a
    // contact leaves: disabled, member removals, the contact deleted.
    for n in [3, 12, 101, 200] {
        w.leave(n);
    }
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(
        (
            r.counts.disabled,
            r.counts.members_removed,
            r.counts.deleted
        ),
        (3, 2, 1),
        "{r:#?}"
    );
    assert_eq!(r.counts.in_scope, 16);
    // The four leavers, Sales and its member out of scope (the nested
    // one: not a synced mailbox, so mapped), the sample.
    narrowed(&r, 4 + 1 + 1 + 2);
    // The next run is idle: the leavers' anchors say they were disabled.
    let idle = t
        .narrow
        .engine
        .run(incremental(vec![], "idle"), apply(), |_| {})
        .await
        .unwrap();
    assert_eq!(idle.api.requests, 0, "{idle:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_membership_changes_touch_the_list_and_its_members_only() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // Sales loses u4 and gains u8; Ops gets a new display name.
    let (u4, u8) = (w.ex[3].dn.clone(), w.ex[7].dn.clone());
    let sales = w.list(400);
    sales.members.retain(|m| *m != u4);
    sales.members.push(u8);
    w.list(401).info.display_name = Some("Operations".into());
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(
        (
            r.counts.members_added,
            r.counts.members_removed,
            r.counts.updated
        ),
        (1, 1, 1),
        "{r:#?}"
    );
    // Both lists, the member removed and the one added, Sales' member out
    // of scope, the sample: the lists' unchanged synced members are not
    // mapped.
    narrowed(&r, 2 + 2 + 1 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_changes_narrow_when_no_other_object_holds_the_address() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // u6 drops its alternate, u1 gets one, r201 changes its alias.
    w.ex[5].proxy_addresses.truncate(1);
    w.ex[0].proxy_addresses = vec![
        "SMTP:u1@example.com".into(),
        "smtp:u1.second@example.com".into(),
    ];
    w.rs[1].proxy_addresses[1] = "smtp:r201.other@example.com".into();
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(
        (r.counts.addresses_added, r.counts.addresses_removed),
        (2, 2),
        "{r:#?}"
    );
    // The three readdressed users; Sales (u1's list) and its member out
    // of scope; Ops (u6's); the sample.
    narrowed(&r, 3 + 1 + 1 + 1 + 2);

    // An alternate another user has runs whole (the claim moves between
    // objects), with the same result.
    w.ex[0]
        .proxy_addresses
        .push("smtp:u3.alt@example.com".into());
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    ran_whole(&r);
    // A leaver's mailbox stays, disabled: a new user at its address runs
    // whole (the whole run reports the address as taken).
    w.leave(11);
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.counts.disabled, 1, "{r:#?}");
    assert_eq!(r.verification.list_pages, 1, "{:#?}", r.verification);
    w.ex.push(user(21, "Ex Again", "u11@example.com"));
    let (r, _, _) = t.step(&w).await;
    ran_whole(&r);
    w.ex.pop();
    t.step(&w).await;

    // A changed mail without the rename setting: DS008, the mailbox stays
    // under its old address; narrowed all the same.
    w.ex[7].mail = Some("u8.renamed@example.com".into());
    let (r, _, _) = t.step(&w).await;
    assert!(
        r.findings.iter().any(|f| f.code.to_string() == "DS008"),
        "{r:#?}"
    );
    assert_eq!(r.verification.list_pages, 1, "{:#?}", r.verification);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_limits_and_deletions_are_decided_as_a_whole_run_decides_them() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // Sales loses six of its seven members at once: DS204 stops both.
    let keep = w.ex[0].dn.clone();
    w.list(400).members.retain(|m| *m == keep);
    let (r, whole, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::ThresholdStopped, "{r:#?}");
    assert_eq!(whole.status, RunStatus::ThresholdStopped);
    assert!(
        r.findings.iter().any(|f| f.code.to_string() == "DS204"),
        "{r:#?}"
    );
    assert_eq!(r.verification.list_pages, 1, "{:#?}", r.verification);

    // Objects deleted from the directory (what the LDIF source reports
    // for a user out of every group): a synced user is disabled as a
    // leaver, a nested one leaves Sales' members; narrowed.
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    w.extra.clear();
    w.ex.retain(|o| o.guid != guid(9));
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(r.counts.disabled, 1, "{r:#?}");
    assert_eq!(r.verification.list_pages, 1, "{:#?}", r.verification);
    // A deleted list runs whole.
    w.lists.retain(|l| l.guid != guid(401));
    let (r, _, _) = t.step(&w).await;
    ran_whole(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_churn_of_every_kind_at_once_is_narrowed() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // As the benchmark's churn: new users, title changes, removals from a
    // list and from a service group, in one read.
    w.ex.push(user(30, "Ex Churn1", "churn1@example.com"));
    w.rs.push(user(230, "Rs Churn2", "churn2@example.com"));
    w.ex[8].info.title = Some("Churned".into());
    w.ex[9].info.title = Some("Churned".into());
    let u5 = w.ex[4].dn.clone();
    w.list(400).members.retain(|m| *m != u5);
    w.leave(203);
    let (r, _, requests) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(
        (
            r.counts.created,
            r.counts.updated,
            r.counts.members_removed,
            r.counts.disabled
        ),
        (2, 2, 1, 1),
        "{r:#?}"
    );
    assert_eq!(r.verification.list_pages, 1, "{:#?}", r.verification);
    assert!(r.counts.mapped < 20, "{r:#?}");
    assert!(requests < 30, "{requests}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_object_the_replica_never_held_stays_narrowed() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // A title change, and the deletion of an object neither the replica
    // nor an anchor knows (deleted while a read took it in scope): the
    // deletion is nothing to the run, which stays narrowed and ends as
    // the whole run does.
    w.ex[1].info.title = Some("Churned".into());
    t.extra_changes.push(DirectoryChange::Delete {
        guid: guid(888_888),
        last_dn: Some("CN=Gone,OU=Staff,DC=corp,DC=test".into()),
    });
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(r.counts.updated, 1, "{r:#?}");
    // The user and the sample.
    narrowed(&r, 1 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_is_planned_from_its_member_changes_at_the_anchors_addresses() {
    let mut w = World::new();
    let mut t = Twins::start(&w).await;
    // Ops gains u8 (a user with an alternate address: u9).
    let u8 = w.ex[7].dn.clone();
    w.list(401).members.push(u8);
    t.step(&w).await;
    // Ops loses u6 and gains u9, Sales loses u2: u7 and u8 (Ops) and u1,
    // u3, u4, u5 and r200 (Sales) are unchanged synced mailboxes, kept in
    // their lists at their anchors' addresses without being mapped; the
    // whole twin maps them all and ends the same.
    let (u6, u9, u2) = (w.ex[5].dn.clone(), w.ex[8].dn.clone(), w.ex[1].dn.clone());
    let ops_list = w.list(401);
    ops_list.members.retain(|m| *m != u6);
    ops_list.members.push(u9);
    w.list(400).members.retain(|m| *m != u2);
    let (r, _, _) = t.step(&w).await;
    assert_eq!(r.status, RunStatus::Success, "{r:#?}");
    assert_eq!(
        (r.counts.members_added, r.counts.members_removed),
        (1, 2),
        "{r:#?}"
    );
    // Both lists, u6, u9 and u2, Sales' member out of scope, the sample.
    narrowed(&r, 2 + 3 + 1 + 2);
    let panel = target_state(&t.narrow.officed).await;
    let members = |l: &str| -> Vec<String> {
        let x = panel.lists.iter().find(|x| x.address.to_string() == l);
        x.unwrap().members.iter().cloned().collect()
    };
    assert_eq!(
        members("ops@example.com"),
        ["u7@example.com", "u8@example.com", "u9@example.com"]
    );
    assert_eq!(
        members("sales@example.com"),
        [
            "r200@example.com",
            "u1@example.com",
            "u3@example.com",
            "u4@example.com",
            "u5@example.com"
        ]
    );
}
