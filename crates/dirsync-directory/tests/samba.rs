//! The LDAP source against the real Samba AD DC started by `scripts/samba-dc`.
//! Each test works in its own OU (testkit::samba::TestOu), so tests can share the DC.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use dirsync_directory::fixture::FixtureSpec;
use dirsync_directory::{
    read_snapshot, Incremental, LdapConfig, LdapSource, LdapSourceError, ResyncReason, Scope,
    Secret,
};
use dirsync_model::{
    ChangeTracking, DirectoryChange, DirectoryObject, DirectorySnapshot, ObjectKind,
};
use testkit::samba::{SambaDc, TestOu};

mod common;
use common::{assert_idle_shortcut, cookie};

fn config(dc: &SambaDc) -> LdapConfig {
    let mut c = LdapConfig::new(&dc.url, &dc.bind_dn, Secret::new(dc.password.clone()));
    c.ca_file = Some(dc.ca_file.clone().into());
    c
}

async fn connect(dc: &SambaDc) -> LdapSource {
    LdapSource::connect(config(dc))
        .await
        .expect("connect to the test DC")
}

fn scope_of(ou: &TestOu) -> Scope {
    Scope::new(Some(&ou.exchange_dn), None).unwrap()
}

fn find<'a>(s: &'a DirectorySnapshot, cn: &str) -> &'a DirectoryObject {
    s.objects
        .iter()
        .find(|o| o.dn.starts_with(&format!("CN={cn},")))
        .unwrap_or_else(|| panic!("{cn} not in snapshot"))
}

fn names(objects: &[DirectoryObject]) -> Vec<String> {
    let mut v: Vec<String> = objects.iter().map(|o| o.label().to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_base_dn_that_names_nothing_fails_at_connect() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    for base in [
        format!("OU=Nowhere Such,{}", dc.base_dn),
        "DC=nope,DC=test".to_string(),
    ] {
        let mut c = config(&dc);
        c.base_dn = Some(base.clone());
        let err = LdapSource::connect(c).await.unwrap_err();
        assert!(matches!(err, LdapSourceError::Config(_)), "{base}: {err:?}");
        let want = format!(
            "directory settings: the base DN '{base}' does not exist in the directory; correct base_dn, or leave it unset to search the whole domain ('{}' on this server)",
            dc.base_dn
        );
        assert_eq!(err.to_string(), want);
    }
    // A base that exists, below the domain, is taken as given.
    let mut c = config(&dc);
    let users = format!("CN=Users,{}", dc.base_dn);
    c.base_dn = Some(users.clone());
    let src = LdapSource::connect(c).await.expect("an existing base DN");
    assert_eq!(src.base_dn(), users);
    src.unbind().await;
}

#[tokio::test]
async fn tls_verification_needs_the_ca() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    // Without the CA: the self-signed chain is not trusted.
    let mut no_ca = config(&dc);
    no_ca.ca_file = None;
    let err = LdapSource::connect(no_ca.clone()).await.unwrap_err();
    assert!(matches!(err, LdapSourceError::Tls { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("not signed by a CA this machine trusts"),
        "{err}"
    );
    // The same over StartTLS.
    no_ca.url = dc.starttls_url.clone();
    let err = LdapSource::connect(no_ca.clone()).await.unwrap_err();
    assert!(matches!(err, LdapSourceError::Tls { .. }), "{err:?}");
    // With the CA, over LDAPS and over StartTLS.
    connect(&dc).await.unbind().await;
    let mut st = config(&dc);
    st.url = dc.starttls_url.clone();
    let src = LdapSource::connect(st).await.expect("StartTLS with the CA");
    assert_eq!(src.base_dn(), dc.base_dn);
    // Turning verification off is possible, explicitly.
    no_ca.tls_verify = false;
    LdapSource::connect(no_ca)
        .await
        .expect("verification off")
        .unbind()
        .await;
    // A name the certificate does not carry fails even with the CA.
    let mut wrong_name = config(&dc);
    wrong_name.url = dc.url.replace("127.0.0.1", "127.0.0.2");
    if let Err(e) = LdapSource::connect(wrong_name).await {
        assert!(
            matches!(
                e,
                LdapSourceError::Tls { .. } | LdapSourceError::Unreachable { .. }
            ),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn wrong_password_and_unreachable_server() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let mut c = config(&dc);
    c.password = Secret::new("not-the-password");
    let err = LdapSource::connect(c).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the directory refused the credentials of '{}': wrong password or unknown account (AD data code 52e); check the password",
            dc.bind_dn
        )
    );
    assert!(!format!("{err:?}").contains("not-the-password"));
    let mut c = config(&dc);
    c.url = "ldaps://127.0.0.1:1".into();
    let err = LdapSource::connect(c).await.unwrap_err();
    assert!(
        matches!(err, LdapSourceError::Unreachable { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("cannot reach the directory at ldaps://127.0.0.1:1"),
        "{err}"
    );
}

#[tokio::test]
async fn object_guid_matches_sambas_string_form() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let ou = dc.test_ou("guid").unwrap();
    let dn = ou.add_user(&format!("g{}", ou.name), "").unwrap();
    ou.add_members(&ou.exchange_dn, &[&dn]).unwrap();
    let mut src = connect(&dc).await;
    let s = src.full(&scope_of(&ou)).await.unwrap();
    let user = s.objects.iter().find(|o| o.dn == dn).unwrap();
    // Samba's own string form, read locally from sam.ldb by samba-tool.
    let Some(dir) = dc.samba_dir.clone() else {
        return;
    };
    let sam = user.sam_account_name.clone().unwrap();
    let out = std::process::Command::new("samba-tool")
        .args([
            "user",
            "show",
            &sam,
            "-s",
            &format!("{dir}/etc/smb.conf"),
            "-H",
            &format!("{dir}/private/sam.ldb"),
        ])
        .args(["--attributes", "objectGUID"])
        .output()
        .expect("samba-tool");
    let text = String::from_utf8_lossy(&out.stdout);
    let samba_guid = text
        .lines()
        .find_map(|l| l.strip_prefix("objectGUID: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(user.guid.to_string(), samba_guid.trim());
}

#[tokio::test]
async fn nested_groups_and_contacts() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let ou = dc.test_ou("nest").unwrap();
    let n = &ou.name;
    let a = ou.add_user(&format!("a{n}"), "displayName: Alice Direct\nproxyAddresses: SMTP:alice@example.com\nproxyAddresses: smtp:al@example.com\nproxyAddresses: X500:/o=x").unwrap();
    let b = ou
        .add_user(
            &format!("b{n}"),
            "displayName: Bob Nested\nuserAccountControl: 546",
        )
        .unwrap();
    let e = ou
        .add_user(&format!("e{n}"), "displayName: Eve Deep")
        .unwrap();
    let c = format!("CN=c{n},{}", ou.dn);
    let d = format!("CN=d{n},{}", ou.dn);
    let l1 = format!("CN=L1 {n},{}", ou.dn);
    let l2 = format!("CN=L2 {n},{}", ou.dn);
    dc.ldapmodify(&format!(
        "dn: {c}\nchangetype: add\nobjectClass: contact\ndisplayName: Carol Contact\nmail: carol@partner.org\notherMailbox: example.com\n\n\
         dn: {d}\nchangetype: add\nobjectClass: contact\ndisplayName: Dan Contact\nmail: dan@partner.org\n\n\
         dn: {l2}\nchangetype: add\nobjectClass: group\nsAMAccountName: l2{n}\ndisplayName: List Two\nmember: {e}\n\n\
         dn: {l1}\nchangetype: add\nobjectClass: group\nsAMAccountName: l1{n}\ngroupType: 8\nmail: l1@example.com\ndisplayName: List One\nmember: {b}\nmember: {d}\nmember: {l2}\n"
    ))
    .unwrap();
    ou.add_members(&ou.exchange_dn, &[&a, &c, &l1]).unwrap();
    let mut src = connect(&dc).await;
    let s = src.full(&scope_of(&ou)).await.unwrap();
    let mut want = vec![
        "Alice Direct",
        "Bob Nested",
        "Carol Contact",
        "Dan Contact",
        "List One",
        "List Two",
    ];
    let svc = format!("Exchange {n}");
    want.push(&svc);
    want.sort();
    // Eve is a member of List Two, two levels down: not read.
    assert_eq!(names(&s.objects), want);
    let alice = find(&s, &format!("a{n}"));
    assert_eq!(alice.kind, ObjectKind::User);
    assert_eq!(alice.proxy_addresses.len(), 3);
    assert!(!alice.disabled);
    assert!(find(&s, &format!("b{n}")).disabled);
    let carol = find(&s, &format!("c{n}"));
    assert_eq!(carol.kind, ObjectKind::Contact);
    assert_eq!(carol.other_mailbox, vec!["example.com"]);
    let list = find(&s, &format!("L1 {n}"));
    assert_eq!(list.kind, ObjectKind::Group);
    assert_eq!(list.members.len(), 3);
    assert_eq!(
        s.exchange_group,
        Some(find(&s, &format!("Exchange {n}")).guid)
    );
    // By name instead of DN: the same snapshot.
    let by_name = src
        .full(&Scope::new(Some(&ou.exchange_name), None).unwrap())
        .await
        .unwrap();
    assert_eq!(names(&by_name.objects), names(&s.objects));
    // Both services: the Rackspace Email group (empty here) is resolved too.
    let both = src
        .full(&Scope::new(Some(&ou.exchange_name), Some(&ou.rsemail_dn)).unwrap())
        .await
        .unwrap();
    assert!(both.rsemail_group.is_some());
    // The incremental reader's notion of scope agrees with the full read's:
    // right after a full resync, nothing enters or leaves scope.
    let first = src.incremental(&scope_of(&ou), None).await.unwrap();
    let Incremental::FullResync {
        snapshot, cookie, ..
    } = first
    else {
        panic!("{first:?}")
    };
    assert_eq!(names(&snapshot.objects), names(&s.objects));
    let again = src
        .incremental(&scope_of(&ou), Some(&cookie))
        .await
        .unwrap();
    assert_eq!(upserts(&again).len(), 0, "{again:?}");
    // A missing group is an error, never an empty snapshot.
    let err = src
        .full(&Scope::new(Some("No Such Group xyz"), None).unwrap())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("service group 'No Such Group xyz' was not found"),
        "{err}"
    );
}

fn sorted(mut s: DirectorySnapshot) -> BTreeMap<String, DirectoryObject> {
    s.objects
        .drain(..)
        .map(|mut o| {
            o.members.sort();
            o.object_classes.sort();
            (o.guid.to_string(), o)
        })
        .collect()
}

#[tokio::test]
async fn full_read_pages_and_ranges_and_matches_ldif_export() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let ou = dc.test_ou("big").unwrap();
    let mut src = connect(&dc).await;
    let mut spec = FixtureSpec::new(&ou.dn, &ou.name, 1600);
    spec.contacts = 30;
    spec.groups = 3;
    spec.service_group_dn = Some(ou.exchange_dn.clone());
    let loaded = src.load_fixture(&spec).await.unwrap();
    let s = src.full(&scope_of(&ou)).await.unwrap();
    assert_eq!(s.objects.len(), 1 + 1600 + 30 + 3);
    let svc = s
        .objects
        .iter()
        .find(|o| Some(o.guid) == s.exchange_group)
        .unwrap();
    // More than 1500 members: read through ranged retrieval.
    assert_eq!(svc.members.len(), 1633);
    let users: Vec<&DirectoryObject> = s
        .objects
        .iter()
        .filter(|o| o.kind == ObjectKind::User)
        .collect();
    assert_eq!(users.len(), 1600);
    assert_eq!(users.iter().filter(|u| u.disabled).count(), 80);
    let guids: HashSet<_> = s.objects.iter().map(|o| o.guid).collect();
    assert_eq!(guids.len(), s.objects.len());
    let u7 = s
        .objects
        .iter()
        .find(|o| o.dn == loaded.user_dns[7])
        .unwrap();
    assert!(u7.mail.as_deref().unwrap().ends_with("@example.com"));
    assert_eq!(
        u7.proxy_addresses
            .iter()
            .filter(|p| p.starts_with("SMTP:"))
            .count(),
        1
    );
    assert!(u7.info.city.is_some() && u7.info.telephone.is_some() && u7.info.employee_id.is_some());
    assert!(u7.usn_changed.is_some() && u7.when_changed.is_some());

    // The same OU exported by ldapsearch and read by the LDIF reader gives the same snapshot.
    let mut attrs: Vec<&str> = dirsync_directory::entry::ATTRIBUTES.to_vec();
    attrs.retain(|a| *a != "member");
    attrs.push("member;range=0-*");
    let ldif = dc
        .ldapsearch(&ou.dn, "sub", "(objectClass=*)", &attrs)
        .unwrap();
    let from_ldif = read_snapshot(&ldif, &scope_of(&ou)).unwrap();
    assert_eq!(sorted(from_ldif), sorted(s));

    // A list with more members than one range, nested in the service group: the
    // read converts entries as they arrive and completes this one when its page
    // ends. With pages of 7 entries it is met in the middle of a page; the
    // snapshot is the one read with pages of 1000, the list read whole.
    let all = format!("CN=All {},{}", ou.name, ou.dn);
    let members: String = loaded
        .user_dns
        .iter()
        .map(|d| format!("member: {d}\n"))
        .collect();
    dc.ldapmodify(&format!(
        "dn: {all}\nchangetype: add\nobjectClass: group\nsAMAccountName: all{}\n{members}\n",
        ou.name
    ))
    .unwrap();
    ou.add_members(&ou.exchange_dn, &[&all]).unwrap();
    let whole = src.full(&scope_of(&ou)).await.unwrap();
    let mut small = config(&dc);
    small.page_size = 7;
    let mut small = LdapSource::connect(small).await.unwrap();
    let paged = small.full(&scope_of(&ou)).await.unwrap();
    assert_eq!(paged.objects.len(), 1 + 1600 + 30 + 3 + 1);
    assert_eq!(
        find(&paged, &format!("All {}", ou.name)).members.len(),
        1600
    );
    // Pages of 7: the members' search took one request a page.
    assert!(small.stats().searches > 1634 / 7, "{:?}", small.stats());
    assert_eq!(sorted(paged), sorted(whole));
}

fn upserts(c: &Incremental) -> Vec<&DirectoryObject> {
    match c {
        Incremental::Changes(ch) => ch
            .changes
            .iter()
            .filter_map(|c| match c {
                DirectoryChange::Upsert(o) => Some(o),
                _ => None,
            })
            .collect(),
        other => panic!("expected changes, got {other:?}"),
    }
}

fn method(c: &Incremental) -> ChangeTracking {
    match c {
        Incremental::Changes(ch) => ch.method,
        Incremental::FullResync { method, .. } => *method,
    }
}

/// Whether an incremental read reported no change at all.
fn r_is_empty(r: &Incremental) -> bool {
    matches!(r, Incremental::Changes(c) if c.changes.is_empty())
}

/// Runs one incremental read from a cookie persisted in a file, and persists the new one.
async fn step(src: &mut LdapSource, scope: &Scope, file: &std::path::Path) -> Incremental {
    let stored = std::fs::read(file).ok();
    let r = src.incremental(scope, stored.as_deref()).await.unwrap();
    std::fs::write(file, cookie(&r)).unwrap();
    r
}

async fn incremental_scenario(
    dc: &SambaDc,
    src: &mut LdapSource,
    ou: &TestOu,
    want: ChangeTracking,
) {
    let n = &ou.name;
    let scope = scope_of(ou);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cookie.bin");
    let a = ou.add_user(&format!("a{n}"), "displayName: Alice").unwrap();
    ou.add_members(&ou.exchange_dn, &[&a]).unwrap();

    // First run: no cookie, a full read.
    let first = step(src, &scope, &file).await;
    match &first {
        Incremental::FullResync {
            snapshot, reason, ..
        } => {
            assert_eq!(*reason, ResyncReason::NoCookie);
            assert_eq!(snapshot.objects.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(method(&first), want);

    // Nothing changed in scope: no changes, and the service groups'
    // membership is not read again (the cookie's scope set is carried forward),
    // even when something outside scope changed.
    let before = src.stats();
    let r = step(src, &scope, &file).await;
    assert_eq!(upserts(&r).len(), 0, "{r:?}");
    let outsider = ou
        .add_user(&format!("o{n}"), "displayName: Outsider")
        .unwrap();
    let r = step(src, &scope, &file).await;
    assert!(r_is_empty(&r), "{r:?}");
    assert!(!format!("{r:?}").contains(&outsider));
    if want == ChangeTracking::DirSync {
        assert_eq!(
            src.stats().scope_recomputations,
            before.scope_recomputations,
            "an idle incremental re-read the scope's membership"
        );
    }

    idle_fast_path(dc, src, ou, &scope, &file).await;

    // Add: a new user joins the group.
    let before = src.stats();
    let b = ou.add_user(&format!("b{n}"), "displayName: Bob").unwrap();
    ou.add_members(&ou.exchange_dn, &[&b]).unwrap();
    let r = step(src, &scope, &file).await;
    assert_eq!(method(&r), want);
    let up = upserts(&r);
    let bob = up
        .iter()
        .find(|o| o.dn == b)
        .unwrap_or_else(|| panic!("add not reported: {r:?}"));
    assert_eq!(bob.info.display_name.as_deref(), Some("Bob"));
    let group = up
        .iter()
        .find(|o| o.dn == ou.exchange_dn)
        .expect("group membership change reported");
    assert_eq!(group.members.len(), 2);
    let after = src.stats();
    assert!(
        after.scope_recomputations + after.scope_updates
            > before.scope_recomputations + before.scope_updates,
        "a membership change must update the scope"
    );
    if want == ChangeTracking::DirSync {
        // Followed from DirSync's incremental values, not by re-reading the group.
        assert_eq!(after.scope_recomputations, before.scope_recomputations);
    }

    // Modify: the object comes back complete, not as a diff.
    dc.ldapmodify(&format!(
        "dn: {b}\nchangetype: modify\nreplace: title\ntitle: Chief\n"
    ))
    .unwrap();
    let r = step(src, &scope, &file).await;
    let up = upserts(&r);
    let bob = up
        .iter()
        .find(|o| o.dn == b)
        .unwrap_or_else(|| panic!("modify not reported: {r:?}"));
    assert_eq!(bob.info.title.as_deref(), Some("Chief"));
    assert_eq!(bob.info.display_name.as_deref(), Some("Bob"));
    assert!(bob.mail.is_some());
    let bob_guid = bob.guid;

    // Rename.
    dc.ldapmodify(&format!(
        "dn: {b}\nchangetype: modrdn\nnewrdn: CN=Robert {n}\ndeleteoldrdn: 1\n"
    ))
    .unwrap();
    let renamed = format!("CN=Robert {n},{}", ou.dn);
    let r = step(src, &scope, &file).await;
    let up = upserts(&r);
    assert!(
        up.iter().any(|o| o.guid == bob_guid && o.dn == renamed),
        "rename not reported: {r:?}"
    );

    // Move into a child OU.
    let sub = format!("OU=sub,{}", ou.dn);
    dc.ldapmodify(&format!(
        "dn: {sub}\nchangetype: add\nobjectClass: organizationalUnit\n"
    ))
    .unwrap();
    dc.ldapmodify(&format!("dn: {renamed}\nchangetype: modrdn\nnewrdn: CN=Robert {n}\ndeleteoldrdn: 1\nnewsuperior: {sub}\n"))
        .unwrap();
    let moved = format!("CN=Robert {n},{sub}");
    let r = step(src, &scope, &file).await;
    assert!(
        upserts(&r)
            .iter()
            .any(|o| o.guid == bob_guid && o.dn == moved),
        "move not reported: {r:?}"
    );

    // Removal from the group: the group comes back without the member.
    ou.remove_members(&ou.exchange_dn, &[&a]).unwrap();
    let r = step(src, &scope, &file).await;
    let group = upserts(&r)
        .into_iter()
        .find(|o| o.dn == ou.exchange_dn)
        .cloned()
        .expect("group reported");
    assert_eq!(group.members, vec![moved.clone()]);

    // Delete.
    dc.ldapmodify(&format!("dn: {moved}\nchangetype: delete\n"))
        .unwrap();
    let r = step(src, &scope, &file).await;
    let Incremental::Changes(ch) = &r else {
        panic!("{r:?}")
    };
    assert!(
        ch.changes
            .iter()
            .any(|c| matches!(c, DirectoryChange::Delete { guid, .. } if *guid == bob_guid)),
        "delete not reported: {r:?}"
    );

    // A damaged cookie or a changed scope falls back to a full read, and says why.
    let r = src.incremental(&scope, Some(b"garbage")).await.unwrap();
    assert!(
        matches!(
            r,
            Incremental::FullResync {
                reason: ResyncReason::InvalidCookie(_),
                ..
            }
        ),
        "{r:?}"
    );
    let other = Scope::new(Some(&ou.exchange_dn), Some(&ou.rsemail_dn)).unwrap();
    let stored = std::fs::read(&file).unwrap();
    let r = src.incremental(&other, Some(&stored)).await.unwrap();
    assert!(
        matches!(
            r,
            Incremental::FullResync {
                reason: ResyncReason::ScopeChanged,
                ..
            }
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn incremental_with_dirsync() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let ou = dc.test_ou("inc").unwrap();
    let mut src = connect(&dc).await;
    incremental_scenario(&dc, &mut src, &ou, ChangeTracking::DirSync).await;
    // A DirSync cookie the server cannot use (well-formed envelope, bad inner cookie) → full read.
    let scope = scope_of(&ou);
    let first = src.incremental(&scope, None).await.unwrap();
    let mut env = dirsync_directory::incremental::Cookie::decode(&cookie(&first)).unwrap();
    env.position = dirsync_directory::incremental::Position::DirSync(vec![1, 2, 3, 4, 5]);
    // Without the server mark, so the idle fast path cannot answer for it.
    env.server = None;
    let r = src.incremental(&scope, Some(&env.encode())).await.unwrap();
    assert!(
        matches!(
            r,
            Incremental::FullResync {
                reason: ResyncReason::CookieRejected(_),
                ..
            }
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn incremental_falls_back_to_usn_without_the_dirsync_right() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let ou = dc.test_ou("usn").unwrap();
    // An ordinary account: may read the directory, may not replicate changes.
    let pw = "Plain-Reader-Pw9!";
    let quoted: Vec<u8> = format!("\"{pw}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let reader = format!("CN=reader{},{}", ou.name, ou.dn);
    dc.ldapmodify(&format!(
        "dn: {reader}\nchangetype: add\nobjectClass: user\nsAMAccountName: r{}\nunicodePwd:: {}\nuserAccountControl: 512\n",
        ou.name,
        base64::engine::general_purpose::STANDARD.encode(quoted)
    ))
    .unwrap();
    let mut c = config(&dc);
    c.bind_dn = reader;
    c.password = Secret::new(pw);
    let mut src = LdapSource::connect(c).await.unwrap();
    incremental_scenario(&dc, &mut src, &ou, ChangeTracking::UsnHighWater).await;
}

/// The idle fast path: when the DC's highestCommittedUSN has not moved since
/// the cookie, the answer is "no changes" with the same cookie and no search
/// for changes; any write moves it, and the next read searches and sees it.
async fn idle_fast_path(
    dc: &SambaDc,
    src: &mut LdapSource,
    ou: &TestOu,
    scope: &Scope,
    file: &std::path::Path,
) {
    // Other tests write to the same DC at the same time, so a quiet moment (two
    // reads in a row with no write in between) may not come here; the rule is
    // checked on every try: the shortcut is taken exactly when the DC's mark
    // has not moved. `tests/samba_idle.rs` runs alone and requires a shortcut.
    step(src, scope, file).await;
    let tries = 5;
    for _ in 0..tries {
        step(src, scope, file).await;
        let before = src.stats();
        let stored = std::fs::read(file).unwrap();
        let r = step(src, scope, file).await;
        let was = dirsync_directory::incremental::Cookie::decode(&stored).unwrap();
        let now = dirsync_directory::incremental::Cookie::decode(&cookie(&r)).unwrap();
        assert!(was.server.is_some(), "the DC's mark was not recorded");
        assert_eq!(
            src.stats().idle_shortcuts > before.idle_shortcuts,
            was.server == now.server,
            "the shortcut must be taken exactly when the DC's mark has not moved"
        );
        if src.stats().idle_shortcuts > before.idle_shortcuts {
            assert_idle_shortcut(&r, &stored, before, src.stats());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A write after the cookie moves the USN: the next read searches and sees it.
    let c = ou
        .add_user(&format!("c{}", ou.name), "displayName: Carol")
        .unwrap();
    ou.add_members(&ou.exchange_dn, &[&c]).unwrap();
    let before = src.stats();
    let r = step(src, scope, file).await;
    assert_eq!(src.stats().change_searches, before.change_searches + 1);
    assert!(
        upserts(&r).iter().any(|o| o.dn == c),
        "a change after an idle shortcut was missed: {r:?}"
    );
    ou.remove_members(&ou.exchange_dn, &[&c]).unwrap();
    dc.ldapmodify(&format!("dn: {c}\nchangetype: delete\n"))
        .unwrap();
    let r = step(src, scope, file).await;
    assert!(upserts(&r).iter().any(|o| o.dn == ou.exchange_dn), "{r:?}");

    // A cookie from before server marks (or from another DC) takes the
    // normal path, and still reports nothing when nothing changed in scope.
    let stored = std::fs::read(file).unwrap();
    let mut env = dirsync_directory::incremental::Cookie::decode(&stored).unwrap();
    for server in [
        None,
        env.server.clone().map(|mut m| {
            m.dc = "cn=ntds settings,cn=another dc|00000000-0000-0000-0000-000000000001".into();
            m
        }),
    ] {
        env.server = server;
        let before = src.stats();
        let r = src.incremental(scope, Some(&env.encode())).await.unwrap();
        assert!(r_is_empty(&r), "{r:?}");
        assert_eq!(src.stats().change_searches, before.change_searches + 1);
        assert_eq!(src.stats().idle_shortcuts, before.idle_shortcuts);
        // The new cookie carries this DC's mark again.
        let next = dirsync_directory::incremental::Cookie::decode(&cookie(&r)).unwrap();
        assert!(next.server.is_some());
        // Nothing in scope changed: the scope is the cookie's, carried over
        // without reading any membership (whatever else the DC wrote). (The
        // uSNChanged fallback reads the scope again on every run.)
        let mut was = env.in_scope.clone();
        was.sort();
        assert_eq!(next.in_scope, was);
        if method(&r) == ChangeTracking::DirSync {
            assert_eq!(
                src.stats().scope_recomputations,
                before.scope_recomputations
            );
            assert_eq!(src.stats().scope_updates, before.scope_updates);
        }
    }
}

/// The scope set the cookie carries.
fn cookie_scope(r: &Incremental) -> HashSet<dirsync_model::Guid> {
    dirsync_directory::incremental::Cookie::decode(&cookie(r))
        .unwrap()
        .in_scope
        .into_iter()
        .collect()
}

#[tokio::test]
async fn membership_changes_update_the_scope_without_rereading_it() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let ou = dc.test_ou("mem").unwrap();
    let n = &ou.name;
    let scope = scope_of(&ou);
    let mut src = connect(&dc).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cookie.bin");
    let users: Vec<String> = (0..30)
        .map(|i| ou.add_user(&format!("u{i}{n}"), "").unwrap())
        .collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let list = format!("CN=list{n},{}", ou.dn);
    dc.ldapmodify(&format!(
        "dn: {list}\nchangetype: add\nobjectClass: group\nsAMAccountName: list{n}\n"
    ))
    .unwrap();
    ou.add_members(&ou.exchange_dn, &refs[..20]).unwrap();
    ou.add_members(&ou.exchange_dn, &[&list]).unwrap();
    ou.add_members(&list, &[refs[0]]).unwrap();
    let first = step(&mut src, &scope, &file).await;
    assert!(matches!(first, Incremental::FullResync { .. }));
    let full_guids =
        |s: &DirectorySnapshot| s.objects.iter().map(|o| o.guid).collect::<HashSet<_>>();
    let guid_of = |snap: &DirectorySnapshot, dn: &str| {
        snap.objects.iter().find(|o| o.dn == dn).map(|o| o.guid)
    };

    // Each step: one membership change; the scope set is updated from the
    // change alone, and equals what a full read finds.
    let steps: Vec<(&str, String)> = vec![
        // A new member of the service group.
        (
            "add to the service group",
            format!(
                "dn: {}\nchangetype: modify\nadd: member\nmember: {}\n",
                ou.exchange_dn, refs[20]
            ),
        ),
        // A new member of the list in the service group enters scope too.
        (
            "add to the list",
            format!(
                "dn: {list}\nchangetype: modify\nadd: member\nmember: {}\n",
                refs[21]
            ),
        ),
        // Removed from the service group but still in the list: stays.
        (
            "remove, still in the list",
            format!(
                "dn: {}\nchangetype: modify\ndelete: member\nmember: {}\n",
                ou.exchange_dn, refs[0]
            ),
        ),
        // Removed from the list too: leaves.
        (
            "remove from the list",
            format!(
                "dn: {list}\nchangetype: modify\ndelete: member\nmember: {}\n",
                refs[0]
            ),
        ),
        // Removed from the service group: leaves; exactly that change is reported.
        (
            "remove from the service group",
            format!(
                "dn: {}\nchangetype: modify\ndelete: member\nmember: {}\n",
                ou.exchange_dn, refs[5]
            ),
        ),
    ];
    for (what, ldif) in steps {
        dc.ldapmodify(&ldif).unwrap();
        let before = src.stats();
        let r = step(&mut src, &scope, &file).await;
        let after = src.stats();
        assert_eq!(
            after.scope_recomputations, before.scope_recomputations,
            "{what}: the scope was read again"
        );
        assert_eq!(after.scope_updates, before.scope_updates + 1, "{what}");
        let full = src.full(&scope).await.unwrap();
        assert_eq!(
            cookie_scope(&r),
            full_guids(&full),
            "{what}: scope differs from a full read"
        );
        if what == "remove from the service group" {
            let Incremental::Changes(ch) = &r else {
                panic!("{r:?}")
            };
            assert_eq!(ch.changes.len(), 1, "{what}: {r:?}");
            let group = upserts(&r)[0];
            assert_eq!(group.dn, ou.exchange_dn);
            assert_eq!(group.members.len(), 20, "{what}");
            assert!(guid_of(&full, refs[5]).is_none());
        }
    }
}
