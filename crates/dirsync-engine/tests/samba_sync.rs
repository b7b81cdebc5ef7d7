//! End to end: the real Samba AD DC (read by dirsync-directory's LDAP
//! reader) and the real officed. Each of the seed article's errors appears
//! exactly where expected, everything else syncs cleanly, and an
//! incremental sync after directory changes applies exactly those changes.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cloudoffice_api::paths;
use common::proxy::{self, Fault};
use common::*;
use dirsync_directory::{Incremental, LdapConfig, LdapSource, Scope, Secret};
use dirsync_engine::types::Service;
use dirsync_engine::*;
use reqwest::Method;
use testkit::officed::OfficedOptions;
use testkit::samba::{SambaDc, TestOu};

fn ldap_config(dc: &SambaDc) -> LdapConfig {
    let mut c = LdapConfig::new(&dc.url, &dc.bind_dn, Secret::new(dc.password.clone()));
    c.ca_file = Some(dc.ca_file.clone().into());
    c
}

/// Appends an add record for an object with these attribute lines to
/// `batch` (applied with one `ldapmodify`); returns its DN.
fn add(batch: &mut String, ou: &TestOu, cn: &str, class: &str, attrs: &str) -> String {
    let dn = format!("CN={cn},{}", ou.dn);
    let mut ldif = format!("dn: {dn}\nchangetype: add\nobjectClass: {class}\n");
    // sAMAccountName: unique domain-wide and at most 20 characters.
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let sam = format!(
        "{}{}",
        ou.name,
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    if class == "user" {
        ldif.push_str(&format!("sAMAccountName: {sam}\nuserAccountControl: 544\n"));
    }
    if class == "group" {
        ldif.push_str(&format!("sAMAccountName: {sam}\n"));
    }
    ldif.push_str(attrs.trim());
    ldif.push_str("\n\n");
    batch.push_str(&ldif);
    dn
}

fn add_members(batch: &mut String, group_dn: &str, members: &[&str]) {
    batch.push_str(&format!(
        "dn: {group_dn}\nchangetype: modify\nadd: member\n"
    ));
    for m in members {
        batch.push_str(&format!("member: {m}\n"));
    }
    batch.push('\n');
}

fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samba_to_officed_seed_errors_and_incremental() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let t0 = std::time::Instant::now();
    let stage = |what: &str| eprintln!("[{:>6.1}s] {what}", t0.elapsed().as_secs_f64());
    let ou = dc.test_ou("eng").expect("test OU");
    let o = officed(OfficedOptions::default());
    let c = direct_client(&o);
    let cu = o.account_number.clone();
    c.send_form(
        Method::POST,
        &paths::rs_mailbox(&cu, "example.com", "pat"),
        &form(&[
            ("displayName", "Pat"),
            ("password", "Rs-Passw0rd!"),
            ("size", "2048"),
        ]),
    )
    .await
    .unwrap();
    c.send_form(
        Method::POST,
        &paths::ex_mailbox(&cu, "example.com", "taken"),
        &form(&[("password", "Passw0rd!x"), ("displayName", "Taken")]),
    )
    .await
    .unwrap();

    stage("officed up");
    // The directory, written with one ldapmodify.
    let mut b = String::new();
    let jane = add(&mut b, &ou, "Jane Doe", "user", "displayName: Jane Doe\ngivenName: Jane\nsn: Doe\ntitle: Engineer\nmail: jane@example.com\nproxyAddresses: SMTP:jane@example.com\nproxyAddresses: smtp:jane.doe@example.com\nproxyAddresses: smtp:jane@example.org");
    let ben = add(
        &mut b,
        &ou,
        "Ben Baker",
        "user",
        "displayName: Ben Baker\nmail: ben@example.com",
    );
    let nomail = add(&mut b, &ou, "No Mail", "user", "displayName: No Mail"); // DS001
    let foreign = add(
        &mut b,
        &ou,
        "Foreign Domain",
        "user",
        "displayName: Foreign Domain\nmail: x@notmine.test",
    ); // DS004
    let pat = add(
        &mut b,
        &ou,
        "Pat Smith",
        "user",
        "displayName: Pat Smith\nmail: pat@example.com",
    ); // DS003
    let bob = add(
        &mut b,
        &ou,
        "Bob Alias",
        "user",
        "displayName: Bob Alias\nmail: bob@example.com\nproxyAddresses: smtp:bob@gmail.test",
    ); // DS006
    let drop = add(
        &mut b,
        &ou,
        "Drop Me",
        "user",
        "displayName: Drop Me\nmail: dropme@example.com",
    ); // DS009
    let org: Vec<String> = (0..6)
        .map(|i| {
            add(
                &mut b,
                &ou,
                &format!("Org User{i}"),
                "user",
                &format!("displayName: Org User{i}\nmail: org{i}@example.org"),
            )
        })
        .collect(); // DS002 on the 6th
    let ext_two = add(
        &mut b,
        &ou,
        "Gmail Aaron Medrano",
        "contact",
        "displayName: Gmail Aaron Medrano\nmail: aaron@gmail.test",
    ); // DS007
    let pam = add(
        &mut b,
        &ou,
        "Partner Pam",
        "contact",
        "displayName: Partner Pam\nmail: pam@partner.test\notherMailbox: example.com",
    );
    let sales = add(
        &mut b,
        &ou,
        "Sales",
        "group",
        &format!("mail: sales@example.com\nmember: {jane}\nmember: {pam}"),
    );
    let taken = add(
        &mut b,
        &ou,
        "Security Group",
        "group",
        &format!("mail: taken@example.com\nmember: {jane}"),
    ); // DS005
    let mut members = vec![
        jane.as_str(),
        ben.as_str(),
        nomail.as_str(),
        foreign.as_str(),
        pat.as_str(),
        bob.as_str(),
        drop.as_str(),
        ext_two.as_str(),
        pam.as_str(),
        sales.as_str(),
        taken.as_str(),
    ];
    members.extend(org.iter().map(String::as_str));
    add_members(&mut b, &ou.exchange_dn, &members);
    let rita = add(
        &mut b,
        &ou,
        "Rita Rs",
        "user",
        "displayName: Rita Rs\nmail: rita@example.com",
    );
    add_members(&mut b, &ou.rsemail_dn, &[&rita]);
    dc.ldapmodify(&b).expect("ldapmodify");

    stage("directory written");
    // Writes for dropme are dropped on the wire every time: DS009.
    let px = proxy::start(
        &o.addr,
        Arc::new(|_, line: &str| {
            if line.starts_with("POST") && line.contains("/dropme ") {
                Fault::Drop
            } else {
                Fault::Forward
            }
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&px.base_url, &o);
    s.retry.max_attempts = 3;
    let engine = open(dir.path(), s).await;

    stage("engine open");
    let scope = Scope::new(Some(&ou.exchange_dn), Some(&ou.rsemail_dn)).unwrap();
    let mut src = LdapSource::connect(ldap_config(&dc))
        .await
        .expect("LDAP connect");
    let first = src
        .incremental(&scope, engine.cookie().await.unwrap().as_deref())
        .await
        .expect("read");
    let Incremental::FullResync {
        snapshot, cookie, ..
    } = first
    else {
        panic!("first read must be a full read")
    };
    stage("read done");
    let report = engine
        .run(
            DirectoryInput::Full {
                snapshot,
                cookie: Some(cookie),
            },
            apply(),
            |_| {},
        )
        .await
        .unwrap();
    let report = whole(&engine, &report).await;

    stage("first run done");
    let mut want = [
        ("DS001".to_string(), nomail.clone()),
        ("DS002".to_string(), org[5].clone()),
        ("DS003".to_string(), pat.clone()),
        ("DS004".to_string(), foreign.clone()),
        ("DS005".to_string(), taken.clone()),
        ("DS006".to_string(), bob.clone()),
        ("DS007".to_string(), ext_two.clone()),
        ("DS009".to_string(), drop.clone()),
    ];
    want.sort();
    let got: Vec<(String, String)> = codes_by_dn(&report)
        .into_iter()
        .map(|(c, d)| (c, d.to_ascii_lowercase()))
        .collect();
    let want_l: Vec<(String, String)> = want
        .iter()
        .map(|(c, d)| (c.clone(), d.to_ascii_lowercase()))
        .collect();
    assert_eq!(got, want_l, "{:#?}", report.findings);
    assert_eq!(report.status, RunStatus::ObjectErrors);
    let done = report
        .operations
        .iter()
        .filter(|o| o.result == OpResult::Done)
        .count();
    assert_eq!(
        done + 1,
        report.operations.len(),
        "only dropme's create fails"
    );

    let t = target_state(&o).await;
    assert_eq!(
        mailboxes(&t, Service::Exchange),
        vec![
            "ben@example.com",
            "bob@example.com",
            "jane@example.com",
            "org0@example.org",
            "org1@example.org",
            "org2@example.org",
            "org3@example.org",
            "org4@example.org",
            "taken@example.com"
        ]
    );
    assert_eq!(
        mailboxes(&t, Service::RsEmail),
        vec!["pat@example.com", "rita@example.com"]
    );
    let sales_t = t
        .lists
        .iter()
        .find(|l| l.address.lower() == "sales@example.com")
        .expect("sales list");
    assert_eq!(
        sales_t.members.iter().cloned().collect::<Vec<_>>(),
        vec!["jane@example.com", "partner.pam@example.com"]
    );
    drop_proxy(px);

    stage("checks done");
    // Directory changes: Jane's title and mail local part, Ben leaves the
    // group, a new user joins it.
    let mut b = format!("dn: {jane}\nchangetype: modify\nreplace: title\ntitle: Lead\n-\nreplace: mail\nmail: jdoe@example.com\n\n");
    b.push_str(&format!(
        "dn: {}\nchangetype: modify\ndelete: member\nmember: {ben}\n\n",
        ou.exchange_dn
    ));
    let cat = add(
        &mut b,
        &ou,
        "Cat Cole",
        "user",
        "displayName: Cat Cole\nmail: cat@example.com",
    );
    add_members(&mut b, &ou.exchange_dn, &[&cat]);
    dc.ldapmodify(&b).expect("ldapmodify");

    stage("changes written");
    let engine = open(dir.path(), settings(&o.base_url, &o)).await;
    let next = src
        .incremental(&scope, engine.cookie().await.unwrap().as_deref())
        .await
        .expect("incremental read");
    stage("incremental read done");
    let Incremental::Changes(changes) = next else {
        panic!("expected an incremental read, got a full resync")
    };
    let r = engine
        .run(DirectoryInput::Incremental(changes), apply(), |_| {})
        .await
        .unwrap();
    let r = whole(&engine, &r).await;
    stage("second run done");
    let mut ops: Vec<String> = r
        .operations
        .iter()
        .map(|o| format!("{} {}", o.op.as_str(), o.target))
        .collect();
    ops.sort();
    // dropme is created now (the network healed); Cat is new; Ben is disabled;
    // Jane's rename is DS008 and nothing else of hers changes.
    assert_eq!(
        ops,
        vec![
            "create cat@example.com",
            "create dropme@example.com",
            "disable ben@example.com"
        ],
        "{r:#?}"
    );
    let ds008 = r
        .findings
        .iter()
        .find(|f| f.code.as_str() == "DS008")
        .expect("DS008");
    assert!(
        ds008.message.contains("has changed from 'jane' to 'jdoe'"),
        "{}",
        ds008.message
    );
    assert!(r.cookie_committed);
    let t = target_state(&o).await;
    assert!(
        !t.mailboxes
            .iter()
            .find(|m| m.address.lower() == "ben@example.com")
            .unwrap()
            .enabled
    );
    src.unbind().await;
}

fn drop_proxy(p: proxy::Proxy) {
    drop(p);
}
