//! Measures the pure mapping and planner on a large directory.
//!
//! `cargo run --release -p dirsync-engine --example plan_bench -- [USERS]`
//!
//! Builds USERS users (default 10000, each with one alternate address),
//! USERS/50 distribution lists of 50 members and USERS/10 contacts; the
//! control panel already holds 90% of them (anchored), and 2% of the
//! anchored users changed a field. Prints the median of 5 runs of each step.

use std::time::Instant;

use dirsync_engine::mapping::{desired_state, MappingSettings};
use dirsync_engine::plan::{plan, PlanSettings};
use dirsync_engine::types::*;
use dirsync_model::{DirectoryObject, DirectorySnapshot, DomainName, Guid, ObjectKind};

fn guid(n: u32) -> Guid {
    let mut b = [7u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    Guid::from_canonical_bytes(b)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let users: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let lists = users / 50;
    let contacts = users / 10;
    let mut objects = Vec::new();
    let mut ex_members = Vec::new();
    for i in 0..users {
        let mut o = DirectoryObject::new(
            guid(i),
            ObjectKind::User,
            format!("CN=User {i},OU=Staff,DC=corp,DC=test"),
        );
        o.mail = Some(format!("user{i}@example.com"));
        o.proxy_addresses = vec![
            format!("SMTP:user{i}@example.com"),
            format!("smtp:u{i}@example.com"),
        ];
        o.info.display_name = Some(format!("User {i}"));
        o.info.title = Some(if i % 50 == 0 {
            "Changed".into()
        } else {
            "Staff".into()
        });
        ex_members.push(o.dn.clone());
        objects.push(o);
    }
    for i in 0..contacts {
        let mut o = DirectoryObject::new(
            guid(1_000_000 + i),
            ObjectKind::Contact,
            format!("CN=Contact {i},OU=Contacts,DC=corp,DC=test"),
        );
        o.mail = Some(format!("c{i}@partner.test"));
        ex_members.push(o.dn.clone());
        objects.push(o);
    }
    for l in 0..lists {
        let mut o = DirectoryObject::new(
            guid(2_000_000 + l),
            ObjectKind::Group,
            format!("CN=List {l},OU=Groups,DC=corp,DC=test"),
        );
        o.mail = Some(format!("list{l}@example.com"));
        o.members = (0..50)
            .map(|k| format!("CN=User {},OU=Staff,DC=corp,DC=test", l * 50 + k))
            .collect();
        ex_members.push(o.dn.clone());
        objects.push(o);
    }
    let mut g = DirectoryObject::new(
        guid(3_000_000),
        ObjectKind::Group,
        "CN=Exchange,DC=corp,DC=test",
    );
    g.members = ex_members;
    objects.push(g);
    let snapshot = DirectorySnapshot {
        exchange_group: Some(guid(3_000_000)),
        rsemail_group: None,
        objects,
    };

    // The control panel holds 90% of everything, as last written.
    let desired = desired_state(&snapshot, MappingSettings::default());
    let domain = TargetDomain {
        name: DomainName::parse("example.com").unwrap(),
        exchange: true,
        rs_email: false,
        exchange_limit: users * 2,
        exchange_used: users,
        rs_email_limit: 0,
        rs_email_used: 0,
        aliases: vec![],
        accepted: vec![],
    };
    let mut target = TargetState {
        domains: vec![domain],
        ..Default::default()
    };
    let mut anchors = Vec::new();
    for (i, m) in desired.mailboxes.iter().enumerate() {
        if i % 10 == 9 {
            continue;
        }
        let mut fields = m.fields.clone();
        fields.insert("title".into(), "Staff".into());
        let mut addresses = m.alternates.clone();
        addresses.insert(m.address.clone());
        target.mailboxes.push(TargetMailbox {
            service: m.service,
            address: m.address.clone(),
            enabled: true,
            fields,
            addresses,
            written_as: None,
        });
        anchors.push(Anchor {
            guid: m.guid,
            kind: TargetKind::Mailbox,
            service: m.service,
            address: m.address.clone(),
            dn: m.dn.clone(),
            hash: String::new(),
            disabled_at: None,
        });
    }

    let mut t_map = Vec::new();
    let mut t_plan = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        let d = desired_state(&snapshot, MappingSettings::default());
        t_map.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let p = plan(&d, &target, &anchors, &PlanSettings::default());
        t_plan.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some(p);
    }
    let n_ops = last.map(|p| p.ops.len()).unwrap_or(0);
    println!(
        "objects: {} users, {} contacts, {} lists ({} directory objects)",
        users,
        contacts,
        lists,
        snapshot.objects.len()
    );
    println!(
        "mapping (directory -> desired state): median {:.1} ms",
        median(t_map)
    );
    println!(
        "planning (desired vs target vs anchors): median {:.1} ms, {} operations",
        median(t_plan),
        n_ops
    );
}
