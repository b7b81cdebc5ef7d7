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

// Domain Spam page: Show (documented JSON and XML shape) and Edit.
conformance!(domain_spam_settings, |w| {
    let p = format!("{D}/spam/settings");
    let s = w.get(&p).await;
    s.ok("show");
    let s = s.json();
    for k in ["filterLevel", "rsEmailSettings", "exchangeSettings"] {
        assert!(s.get(k).is_some(), "{k}: {s}");
    }
    for k in [
        "spamHandling",
        "hasFolderCleaner",
        "spamFolderAgeLimit",
        "spamFolderNumLimit",
        "spamForwardingAddress",
    ] {
        assert!(
            s["rsEmailSettings"].get(k).is_some(),
            "rsEmailSettings.{k}: {s}"
        );
    }
    for k in [
        "forwardToDomainQuarantine",
        "quarantineOwner",
        "defaultQuarantineOwner",
    ] {
        assert!(
            s["exchangeSettings"].get(k).is_some(),
            "exchangeSettings.{k}: {s}"
        );
    }
    w.form(
        "PUT",
        &p,
        "filterLevel=exclusive&overrideUserSettings=false",
    )
    .await
    .ok_empty("edit");
    assert_eq!(w.get(&p).await.json()["filterLevel"], "exclusive");
    let r = w.form("PUT", &p, "overrideUserSettings=true").await;
    assert_eq!(r.status, 400, "filterLevel is required: {}", r.body);
    let r = w.form("PUT", &p, "filterLevel=sometimes").await;
    assert_eq!(r.status, 400, "on, off or exclusive: {}", r.body);
    let x = w.get_xml(&p).await;
    x.ok("xml");
    let n = x.xml();
    assert_eq!(n.name, "domainSpamSettings");
    assert_eq!(n.ns(), Some("urn:xml:DomainSpamSettings"));
    assert_eq!(n.text_of("filterLevel"), "exclusive");
    assert!(n.at(&["rsEmailSettings"]).child("spamHandling").is_some());
    // Domain lists: add, show, refuse a bad entry, remove.
    let sl = format!("{D}/spam/safelist");
    w.bare("POST", &format!("{sl}/friend@example.net"))
        .await
        .ok_empty("add to the domain safelist");
    assert_eq!(
        w.get(&sl).await.json()["addresses"],
        json!(["friend@example.net"])
    );
    let r = w
        .bare("POST", &format!("{D}/spam/ipblocklist/not-an-ip"))
        .await;
    assert_eq!(r.status, 400, "an IP list takes IP addresses: {}", r.body);
    w.bare("DELETE", &format!("{sl}/friend@example.net"))
        .await
        .ok_empty("remove from the domain safelist");
    assert_eq!(w.get(&sl).await.json()["addresses"], json!([]));
});

// Rackspace Mailbox Spam page: settings and a list (blocklist).
conformance!(mailbox_spam, |w| {
    w.json(
        "POST",
        &format!("{RS}/alex.smith"),
        json!({"password": "Secret-Pass-1"}),
    )
    .await
    .ok_empty("add");
    let p = format!("{RS}/alex.smith/spam/settings");
    let s = w.get(&p).await;
    s.ok("show");
    let s = s.json();
    assert!(s.get("filterLevel").is_some(), "{s}");
    assert!(s["rsEmailSettings"].get("spamHandling").is_some(), "{s}");
    w.form(
        "PUT",
        &p,
        "filterLevel=on&rsEmail.spamHandling=toAddress&rsEmail.spamForwardingAddress=spam%40example.com",
    )
    .await
    .ok_empty("edit");
    let s = w.get(&p).await.json();
    assert_eq!(s["rsEmailSettings"]["spamHandling"], "toAddress");
    assert_eq!(
        s["rsEmailSettings"]["spamForwardingAddress"],
        "spam@example.com"
    );
    let x = w.get_xml(&p).await.xml();
    assert_eq!(x.name, "rsMailboxSpamSetting");
    assert_eq!(x.ns(), Some("urn:xml:RSMailboxSpamSetting"));
    let bl = format!("{RS}/alex.smith/spam/blocklist");
    w.bare("POST", &format!("{bl}/name1@spam.com"))
        .await
        .ok_empty("add to blocklist");
    w.bare("POST", &format!("{bl}/name2@spam.com"))
        .await
        .ok_empty("add to blocklist");
    let x = w.get_xml(&bl).await;
    x.ok("xml blocklist");
    let n = x.xml();
    assert_eq!(n.name, "blocklist");
    assert_eq!(n.ns(), Some("urn:xml:blocklist"));
    let a: Vec<&str> = n
        .at(&["addresses"])
        .children
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(a, ["name1@spam.com", "name2@spam.com"]);
    w.bare("DELETE", &format!("{bl}/name1@spam.com"))
        .await
        .ok_empty("remove from blocklist");
    assert!(!w.get(&bl).await.body.contains("name1@spam.com"));
});
