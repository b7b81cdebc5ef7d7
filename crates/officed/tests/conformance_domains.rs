//! Conformance: domains and spam settings (docs/cloud-office-api.md
//! sections 8 and 14), from the Domain, Domain Spam and Rackspace Mailbox
//! Spam pages' examples.

#[macro_use]
mod wire;

use serde_json::json;
use wire::*;

// Domain page "Index": the documented JSON shape and domainNames=.
conformance!(domain_index, |w| {
    let p = w.get("/customers/me/domains").await.json();
    assert_eq!(p["offset"], 0);
    assert_eq!(p["size"], 50);
    assert_eq!(p["total"], 3);
    let first = &p["domains"][0];
    assert_eq!(first["name"], "example.com");
    assert_eq!(first["accountNumber"], "100001");
    assert_eq!(first["serviceType"], "both");
    let f = w
        .get("/customers/me/domains?domainNames=rsonly.com,example.org")
        .await
        .json();
    assert_eq!(names(&f, "domains"), ["example.org", "rsonly.com"]);
    assert_eq!(f["total"], 2);
});

// Domain page: "use 'all' as the customer account number" for the domains
// of every sub-account; officed has none, so `all` answers like `me`.
conformance!(customers_all, |w| {
    let all = w.get("/customers/all/domains").await;
    all.ok("customers/all (no sub-accounts: same as me)");
    assert_eq!(all.json(), w.get("/customers/me/domains").await.json());
});

// Domain page "Show": the documented fields; usage fields count mailboxes
// ("actually return the number of active mailboxes").
conformance!(domain_show, |w| {
    w.form(
        "POST",
        &format!("{MB}/one"),
        "displayName=One&password=Secret-Pass-1&size=1024",
    )
    .await
    .ok_empty("add");
    let d = w.get(D).await;
    d.ok("show");
    let d = d.json();
    assert_eq!(d["name"], "example.com");
    assert_eq!(d["accountNumber"], "100001");
    assert_eq!(d["serviceType"], "both");
    assert_eq!(d["exchangeMaxNumMailboxes"], 25);
    assert_eq!(d["rsEmailMaxNumberMailboxes"], 10);
    assert_eq!(d["exchangeUsedStorage"], 1);
    assert_eq!(d["rsEmailUsedStorage"], 0);
    assert_eq!(d["publicFoldersEnabled"], false);
    assert!(
        d["aliases"].to_string().contains("example.net"),
        "the domain alias is listed: {d}"
    );
    let x = w.get_xml(D).await;
    x.ok("xml show");
    let n = x.xml();
    assert_eq!(n.name, "domain");
    assert_eq!(n.text_of("name"), "example.com");
    assert_eq!(n.text_of("serviceType"), "both");
    let r = w.get("/customers/me/domains/abc.com").await;
    r.fault(
        403,
        "unauthorizedFault",
        Some("Not authorized"),
        "a domain not of this account",
    );
});

// "Add/Edit (Reseller Only)": an ordinary customer key may not add, edit or
// delete domains; the answer is a fault, and nothing changes.
conformance!(domain_writes_need_permission, |w| {
    for (m, p) in [
        ("POST", "/customers/me/domains/new.example"),
        ("PUT", "/customers/me/domains/example.com"),
        ("DELETE", "/customers/me/domains/example.org"),
    ] {
        let r = w
            .form(m, p, "serviceType=exchange&exchangeMaxNumMailboxes=5")
            .await;
        assert!(
            r.status == 403 || r.status == 405 || r.status == 501,
            "{m} {p}: {} {}",
            r.status,
            r.body
        );
        assert!(r.header("x-error-message").is_some(), "{m} {p} says why");
    }
    assert_eq!(w.get("/customers/me/domains").await.json()["total"], 3);
});

// Domain Spam page: Show and Edit are documented; officed does not filter
// spam, so it answers the documented "not supported" fault (501 appsFault,
// JSON and XML), and a PUT changes nothing.
conformance!(domain_spam_settings, |w| {
    let p = format!("{D}/spam/settings");
    w.get(&p).await.fault(
        501,
        "appsFault",
        Some(officed::api::SPAM_NOT_SUPPORTED),
        "domain spam settings: not supported",
    );
    w.form(
        "PUT",
        &p,
        "filterLevel=exclusive&overrideUserSettings=false",
    )
    .await
    .fault(
        501,
        "appsFault",
        Some(officed::api::SPAM_NOT_SUPPORTED),
        "domain spam edit: not supported",
    );
    w.bare("POST", &format!("{D}/spam/safelist/a@example.net"))
        .await
        .fault(
            501,
            "appsFault",
            Some(officed::api::SPAM_NOT_SUPPORTED),
            "domain spam list: not supported",
        );
    let x = w.get_xml(&p).await;
    assert_eq!(x.status, 501, "xml: {}", x.body);
    assert!(x.header("x-error-message").is_some(), "says why");
});

// Rackspace Mailbox Spam page: settings and lists (blocklist) are
// documented; officed answers the "not supported" fault for each, and the
// mailbox itself is unaffected.
conformance!(mailbox_spam, |w| {
    w.json(
        "POST",
        &format!("{RS}/alex.smith"),
        json!({"password": "Secret-Pass-1"}),
    )
    .await
    .ok_empty("add");
    let p = format!("{RS}/alex.smith/spam/settings");
    let bl = format!("{RS}/alex.smith/spam/blocklist");
    for (m, path) in [
        ("GET", p.clone()),
        ("PUT", p.clone()),
        ("GET", bl.clone()),
        ("POST", format!("{bl}/name1@spam.com")),
        ("DELETE", format!("{bl}/name1@spam.com")),
    ] {
        w.bare(m, &path).await.fault(
            501,
            "appsFault",
            Some(officed::api::SPAM_NOT_SUPPORTED),
            &format!("{m} {path}: not supported"),
        );
    }
    w.get(&format!("{RS}/alex.smith"))
        .await
        .ok("the mailbox is unaffected");
});
