//! The idle fast path of incremental reads against the real Samba AD DC, in
//! its own test binary: the shortcut needs a moment when nothing in the
//! domain is written, which the Samba tests running in parallel in
//! `samba.rs` rarely leave. Cargo runs test binaries one after another, so
//! here only this test writes to the DC.

use dirsync_directory::{Incremental, LdapConfig, LdapSource, Scope, Secret};

mod common;
use common::{assert_idle_shortcut, cookie};

#[tokio::test]
async fn an_idle_read_answers_from_the_dcs_mark_without_searching() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let ou = dc.test_ou("idle").unwrap();
    let a = ou
        .add_user(&format!("a{}", ou.name), "displayName: Alice")
        .unwrap();
    ou.add_members(&ou.exchange_dn, &[&a]).unwrap();
    let mut cfg = LdapConfig::new(&dc.url, &dc.bind_dn, Secret::new(dc.password.clone()));
    cfg.ca_file = Some(dc.ca_file.clone().into());
    let mut src = LdapSource::connect(cfg)
        .await
        .expect("connect to the test DC");
    let scope = Scope::new(Some(&ou.exchange_dn), None).unwrap();
    let first = src.incremental(&scope, None).await.unwrap();
    assert!(matches!(first, Incremental::FullResync { .. }), "{first:?}");
    let mut stored = cookie(&first);

    // Samba's own background work may write now and then: retry until two
    // reads in a row see the same mark.
    let mut shortcut = false;
    for _ in 0..30 {
        let before = src.stats();
        let r = src.incremental(&scope, Some(&stored)).await.unwrap();
        if src.stats().idle_shortcuts > before.idle_shortcuts {
            assert_idle_shortcut(&r, &stored, before, src.stats());
            shortcut = true;
            break;
        }
        stored = cookie(&r);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        shortcut,
        "no idle incremental read took the fast path in 30 tries"
    );

    // A write in scope after the cookie moves the mark: the next read searches
    // and sees it.
    let b = ou
        .add_user(&format!("b{}", ou.name), "displayName: Bob")
        .unwrap();
    ou.add_members(&ou.exchange_dn, &[&b]).unwrap();
    let before = src.stats();
    let r = src.incremental(&scope, Some(&stored)).await.unwrap();
    assert_eq!(src.stats().idle_shortcuts, before.idle_shortcuts);
    match &r {
        Incremental::Changes(c) => assert!(!c.changes.is_empty(), "{r:?}"),
        other => panic!("expected changes, got {other:?}"),
    }
}
