//! Shared helpers for the engine's end-to-end tests.
#![allow(dead_code)]

pub mod proxy;

use std::path::Path;

use cloudoffice_api::client::{Client, ClientConfig, RateLimit, RetryPolicy};
use dirsync_engine::types::TargetState;
use dirsync_engine::*;
use dirsync_model::{DirectoryObject, DirectorySnapshot, Guid, ObjectKind};
use testkit::officed::{Officed, OfficedOptions};

pub const UA: &str = "dirsync-engine-tests";

/// Starts officed with the fixture's default account: `example.org`
/// (Exchange, 5 licences) and `example.com` (both services, 25 Exchange and
/// 10 Rackspace Email licences, domain alias `example.net`, accepted domain
/// `example.org`).
pub fn officed(opts: OfficedOptions) -> Officed {
    Officed::start(opts).expect("officed fixture")
}

/// Engine settings for a test: fast retries, generous client-side limits.
pub fn settings(base_url: &str, o: &Officed) -> EngineSettings {
    let mut s = EngineSettings::new(TargetSettings {
        base_url: base_url.to_string(),
        user_key: o.user_key.clone(),
        secret: Secret::new(o.secret.clone()),
        customer: o.account_number.clone(),
        user_agent: UA.into(),
    });
    s.rate_limit = RateLimit {
        gets_per_min: 100_000,
        writes_per_min: 100_000,
    };
    s.retry = RetryPolicy {
        max_attempts: 8,
        base_delay_ms: 20,
        max_delay_ms: 300,
        timeout_ms: 5_000,
    };
    s.concurrency = 4;
    s
}

/// A client straight to officed, for checking its state.
pub fn direct_client(o: &Officed) -> Client {
    client_to(&o.base_url, o)
}

/// A client with `o`'s credentials to `base_url` (officed or a proxy before it).
pub fn client_to(base_url: &str, o: &Officed) -> Client {
    Client::new(ClientConfig {
        base_url: base_url.to_string(),
        user_key: o.user_key.clone(),
        secret: Secret::new(o.secret.clone()),
        user_agent: UA.into(),
        rate_limit: RateLimit {
            gets_per_min: 100_000,
            writes_per_min: 100_000,
        },
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 20,
            max_delay_ms: 200,
            timeout_ms: 5_000,
        },
    })
    .unwrap()
}

pub async fn open(dir: &Path, s: EngineSettings) -> Engine {
    Engine::open(&dir.join("state.db"), s)
        .await
        .expect("engine opens")
}

pub async fn target_state(o: &Officed) -> TargetState {
    // An engine on a throwaway store reads the target the same way a run does.
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path(), settings(&o.base_url, o)).await;
    e.read_target().await.expect("read officed")
}

pub fn guid(n: u32) -> Guid {
    let mut b = [0x5au8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    Guid::from_canonical_bytes(b)
}

pub fn user(n: u32, cn: &str, mail: &str) -> DirectoryObject {
    let mut o = DirectoryObject::new(
        guid(n),
        ObjectKind::User,
        format!("CN={cn},OU=Staff,DC=corp,DC=test"),
    );
    o.mail = Some(mail.to_string());
    o.info.display_name = Some(cn.to_string());
    let mut parts = cn.split(' ');
    o.info.given_name = parts.next().map(str::to_string);
    o.info.surname = parts.next().map(str::to_string);
    o
}

pub fn contact(n: u32, cn: &str, mail: &str, other: &[&str]) -> DirectoryObject {
    let mut o = DirectoryObject::new(
        guid(n),
        ObjectKind::Contact,
        format!("CN={cn},OU=Contacts,DC=corp,DC=test"),
    );
    o.mail = Some(mail.to_string());
    o.info.display_name = Some(cn.to_string());
    o.other_mailbox = other.iter().map(ToString::to_string).collect();
    o
}

pub fn group(
    n: u32,
    cn: &str,
    mail: Option<&str>,
    members: &[&DirectoryObject],
) -> DirectoryObject {
    let mut o = DirectoryObject::new(
        guid(n),
        ObjectKind::Group,
        format!("CN={cn},OU=Groups,DC=corp,DC=test"),
    );
    o.mail = mail.map(str::to_string);
    o.members = members.iter().map(|m| m.dn.clone()).collect();
    o
}

pub const EX_GROUP: u32 = 9000;
pub const RS_GROUP: u32 = 9001;

/// A snapshot: the two service groups with these direct members, plus
/// `extra` objects (nested groups' members).
pub fn snapshot(
    ex: &[&DirectoryObject],
    rs: &[&DirectoryObject],
    extra: &[&DirectoryObject],
) -> DirectorySnapshot {
    let exg = group(EX_GROUP, "Hosted Exchange Users", None, ex);
    let rsg = group(RS_GROUP, "Rackspace Email Users", None, rs);
    let mut objects = vec![exg.clone(), rsg.clone()];
    for o in ex.iter().chain(rs).chain(extra) {
        if !objects.iter().any(|x| x.guid == o.guid) {
            objects.push((*o).clone());
        }
    }
    DirectorySnapshot {
        exchange_group: Some(exg.guid),
        rsemail_group: Some(rsg.guid),
        objects,
    }
}

pub fn full(s: DirectorySnapshot) -> DirectoryInput {
    DirectoryInput::Full {
        snapshot: s,
        cookie: Some(b"cookie-full".to_vec()),
    }
}

pub fn apply() -> RunOptions {
    RunOptions {
        mode: Mode::Apply,
        trigger: Trigger::Manual,
        override_threshold: false,
    }
}

pub fn codes_by_dn(r: &RunReport) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .findings
        .iter()
        .map(|f| (f.code.to_string(), f.dn.clone().unwrap_or_default()))
        .chain(r.operations.iter().filter_map(|o| {
            o.code
                .map(|c| (c.to_string(), o.dn.clone().unwrap_or_default()))
        }))
        .collect();
    v.sort();
    v
}

/// Lower-case primary addresses of all mailboxes of one service, sorted.
pub fn mailboxes(t: &TargetState, service: types::Service) -> Vec<String> {
    let mut v: Vec<String> = t
        .mailboxes
        .iter()
        .filter(|m| m.service == service)
        .map(|m| m.address.lower().to_string())
        .collect();
    v.sort();
    v
}

/// `r` with its whole list of operations: read back from the run history
/// when the run kept in memory only those that failed or were skipped
/// ([`RunReport::operations_stored`]), checking on the way that the report
/// held exactly those, and that the history holds every planned operation.
pub async fn whole(engine: &Engine, r: &RunReport) -> RunReport {
    if !r.operations_stored {
        return r.clone();
    }
    let w = engine
        .run_report(r.id)
        .await
        .unwrap()
        .expect("the run is recorded");
    assert_eq!(w.operations.len() as u64, r.counts.planned, "{w:#?}");
    let not_done: Vec<OpOutcome> = w
        .operations
        .iter()
        .filter(|o| matches!(o.result, OpResult::Failed | OpResult::Skipped))
        .cloned()
        .collect();
    assert_eq!(
        not_done, r.operations,
        "the report holds the operations not done"
    );
    assert_eq!((&w.counts, &w.findings), (&r.counts, &r.findings));
    w
}
