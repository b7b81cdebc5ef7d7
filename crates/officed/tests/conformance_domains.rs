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

// "Add/Edit (Reseller Only)", "Delete (Reseller Only)", alternate domains
// "(Reseller Only)": an ordinary customer key gets 403 `Not authorized`,
// and nothing changes.
conformance!(domain_writes_need_permission, |w| {
    for (m, p) in [
        ("POST", "/customers/me/domains/new.example".to_string()),
        ("PUT", D.to_string()),
        ("DELETE", "/customers/me/domains/example.org".to_string()),
        ("POST", format!("{D}/alternatedomains/alias.example")),
        ("DELETE", format!("{D}/alternatedomains/example.net")),
    ] {
        let r = w
            .form(m, &p, "serviceType=exchange&exchangeMaxNumMailboxes=5")
            .await;
        r.fault(
            403,
            "unauthorizedFault",
            Some("Not authorized"),
            &format!("{m} {p}"),
        );
    }
    w.get(&format!("{D}/alternatedomains")).await.fault(
        403,
        "unauthorizedFault",
        Some("Not authorized"),
        "alternate domain index",
    );
    assert_eq!(w.get("/customers/me/domains").await.json()["total"], 3);
    assert_eq!(w.get(D).await.json()["aliases"], json!(["example.net"]));
});

// Domain page "Add/Edit (Reseller Only)": the Ruby example's form
// (serviceType=exchange, exchangeMaxNumMailboxes=4) adds a domain that the
// index and Show then carry; an edit changes services and counts; the
// stored fields come back from Show (JSON and XML).
conformance!(domain_add_edit, |w| {
    w.as_domain_admin();
    let p = "/customers/me/domains/newdomain.com";
    w.form("POST", p, "serviceType=exchange&exchangeMaxNumMailboxes=4")
        .await
        .ok_empty("add (form)");
    let d = w.get(p).await;
    d.ok("show");
    let d = d.json();
    assert_eq!(d["name"], "newdomain.com");
    assert_eq!(d["accountNumber"], "100001");
    assert_eq!(d["serviceType"], "exchange");
    assert_eq!(d["exchangeMaxNumMailboxes"], 4);
    assert_eq!(d["exchangeUsedStorage"], 0);
    let idx = w.get("/customers/me/domains").await.json();
    assert_eq!(idx["total"], 4);
    assert!(names(&idx, "domains").contains(&"newdomain.com".to_string()));
    // A mailbox can be added in it at once.
    w.form(
        "POST",
        &format!("{p}/ex/mailboxes/first"),
        "displayName=First&password=Secret-Pass-1&size=1024",
    )
    .await
    .ok_empty("mailbox in the new domain");
    // Edit: add Rackspace Email, with the documented storage fields (JSON,
    // booleans and numbers as strings, as PowerShell sends them).
    w.json(
        "PUT",
        p,
        json!({"serviceType": "both", "rsEmailMaxNumberMailboxes": "3",
               "rsEmailBaseMailboxSize": 2048, "exchangeExtraStorage": "10240",
               "archivingServiceEnabled": "False", "activeSyncLicenses": 4}),
    )
    .await
    .ok_empty("edit (JSON)");
    let d = w.get(p).await.json();
    assert_eq!(d["serviceType"], "both");
    assert_eq!(d["exchangeMaxNumMailboxes"], 4, "kept");
    assert_eq!(d["rsEmailMaxNumberMailboxes"], 3);
    assert_eq!(d["exchangeUsedStorage"], 1);
    assert_eq!(d["rsEmailBaseMailboxSize"], 2048);
    assert_eq!(d["exchangeExtraStorage"], 10240);
    assert_eq!(d["archivingServiceEnabled"], false);
    assert_eq!(d["activeSyncLicenses"], 4);
    let x = w.get_xml(p).await;
    x.ok("xml show");
    let n = x.xml();
    assert_eq!(n.name, "domain");
    assert_eq!(n.text_of("serviceType"), "both");
    assert_eq!(n.text_of("rsEmailBaseMailboxSize"), "2048");
    // Taking Exchange away while it has a mailbox is refused.
    let r = w.form("PUT", p, "serviceType=rsemail").await;
    let f = r.fault(400, "appsFault", None, "remove a service in use");
    assert!(r.message().contains("Hosted Exchange"), "{f}");
    assert_eq!(w.get(p).await.json()["serviceType"], "both");
    // Lowering a count below use is allowed (adds are refused after).
    w.form("PUT", p, "exchangeMaxNumMailboxes=1")
        .await
        .ok_empty("lower the count");
    w.form(
        "POST",
        &format!("{p}/ex/mailboxes/second"),
        "displayName=Second&password=Secret-Pass-1&size=1024",
    )
    .await
    .fault(
        400,
        "appsFault",
        Some("Mailbox limit exceeded."),
        "over the new count",
    );
});

// The Add/Edit faults: the documented "Missing required field" wording,
// validationFault naming a bad or unknown field, a name hosted already.
conformance!(domain_add_faults, |w| {
    w.as_domain_admin();
    let p = "/customers/me/domains/faults.example";
    w.form("POST", p, "exchangeMaxNumMailboxes=4").await.fault(
        400,
        "badRequestFault",
        Some("Missing required field: serviceType"),
        "no serviceType",
    );
    w.form("POST", p, "serviceType=exchange").await.fault(
        400,
        "badRequestFault",
        Some("Missing required field: exchangeMaxNumMailboxes"),
        "Exchange without a count",
    );
    w.form("POST", p, "serviceType=none&exchangeMaxNumMailboxes=1")
        .await
        .fault(
            400,
            "validationFault",
            Some("Invalid value for field: serviceType"),
            "bad serviceType",
        );
    w.form("POST", p, "serviceType=exchange&exchangeMaxNumMailboxes=x")
        .await
        .fault(
            400,
            "validationFault",
            Some("Invalid value for field: exchangeMaxNumMailboxes"),
            "bad number",
        );
    w.form(
        "POST",
        p,
        "serviceType=exchange&exchangeMaxNumMailboxes=1&color=red",
    )
    .await
    .fault(
        400,
        "validationFault",
        Some("Unknown field: color"),
        "unknown field",
    );
    for taken in ["example.org", "EXAMPLE.NET"] {
        w.form(
            "POST",
            &format!("/customers/me/domains/{taken}"),
            "serviceType=rsemail&rsEmailMaxNumberMailboxes=1",
        )
        .await
        .fault(
            400,
            "appsFault",
            Some(&format!(
                "The domain '{}' already exists.",
                taken.to_ascii_lowercase()
            )),
            taken,
        );
    }
    w.form(
        "POST",
        "/customers/me/domains/not_a_domain",
        "serviceType=rsemail&rsEmailMaxNumberMailboxes=1",
    )
    .await
    .fault(400, "badRequestFault", None, "bad domain name");
    // Each API key reaches only its own customer.
    w.form(
        "POST",
        "/customers/999999/domains/other.example",
        "serviceType=rsemail&rsEmailMaxNumberMailboxes=1",
    )
    .await
    .fault(
        403,
        "unauthorizedFault",
        Some("Not authorized"),
        "another customer",
    );
    w.form(
        "PUT",
        "/customers/me/domains/abc.com",
        "exchangeMaxNumMailboxes=1",
    )
    .await
    .fault(
        403,
        "unauthorizedFault",
        Some("Not authorized"),
        "edit a domain not of this account",
    );
    assert_eq!(w.get("/customers/me/domains").await.json()["total"], 3);
});

// "Delete (Reseller Only)": a domain with mailboxes is not deleted; once
// empty it is (its recoverable deleted mailboxes go with it), and other
// domains stop accepting it.
conformance!(domain_delete, |w| {
    w.as_domain_admin();
    let p = "/customers/me/domains/example.org";
    w.form(
        "POST",
        &format!("{p}/ex/mailboxes/keep"),
        "displayName=Keep&password=Secret-Pass-1&size=1024",
    )
    .await
    .ok_empty("mailbox");
    let r = w.bare("DELETE", p).await;
    r.fault(
        400,
        "appsFault",
        Some("The domain 'example.org' is not empty."),
        "with a mailbox",
    );
    w.bare("DELETE", &format!("{p}/ex/mailboxes/keep"))
        .await
        .ok_empty("delete the mailbox");
    // An alternate address of example.com's mailbox in the accepted
    // domain example.org also keeps it.
    w.form(
        "POST",
        &format!("{MB}/alt"),
        "displayName=Alt&password=Secret-Pass-1&size=1024",
    )
    .await
    .ok_empty("mailbox in example.com");
    w.bare("POST", &format!("{MB}/alt/emailaddresses/alt@example.org"))
        .await
        .ok_empty("alternate address in the accepted domain");
    w.bare("DELETE", p)
        .await
        .fault(400, "appsFault", None, "an address in it");
    w.bare(
        "DELETE",
        &format!("{MB}/alt/emailaddresses/alt@example.org"),
    )
    .await
    .ok_empty("remove the alternate address");
    w.bare("DELETE", p)
        .await
        .ok_empty("delete the empty domain");
    w.get(p)
        .await
        .fault(403, "unauthorizedFault", Some("Not authorized"), "gone");
    let d = w.get(D).await.json();
    assert_eq!(d["acceptedDomains"], json!([]), "no longer accepted: {d}");
    w.bare("DELETE", p)
        .await
        .fault(403, "unauthorizedFault", Some("Not authorized"), "twice");
    // The name is free again.
    w.form("POST", p, "serviceType=exchange&exchangeMaxNumMailboxes=1")
        .await
        .ok_empty("add it again");
});

// Domain page "Alternate Domains": Index (JSON as documented, and XML),
// Add with the required `type`, Delete; the alternate-address rules
// follow them.
conformance!(alternate_domains, |w| {
    w.as_domain_admin();
    let a = format!("{D}/alternatedomains");
    let l = w.get(&a).await;
    l.ok("index");
    assert_eq!(
        l.json(),
        json!({"alternateDomains": [
            {"name": "example.net", "type": "DomainAlias"},
            {"name": "example.org", "type": "AcceptedDomain"}
        ]})
    );
    let x = w.get_xml(&a).await;
    x.ok("xml index");
    let n = x.xml();
    assert_eq!(n.name, "alternateDomainList");
    assert!(x.body.contains("<type>DomainAlias</type>"), "{}", x.body);
    // Add: `type` is required ("Missing required field: type").
    w.form("POST", &format!("{a}/alias.example"), "")
        .await
        .fault(
            400,
            "badRequestFault",
            Some("Missing required field: type"),
            "no type",
        );
    w.form("POST", &format!("{a}/alias.example"), "type=Other")
        .await
        .fault(
            400,
            "validationFault",
            Some("Invalid value for field: type"),
            "bad type",
        );
    w.form("POST", &format!("{a}/alias.example"), "type=DomainAlias")
        .await
        .ok_empty("add a domain alias");
    w.json(
        "POST",
        &format!("{a}/rsonly.com"),
        json!({"type": "AcceptedDomain"}),
    )
    .await
    .ok_empty("add an accepted domain (JSON)");
    let d = w.get(D).await.json();
    assert_eq!(d["aliases"], json!(["alias.example", "example.net"]));
    assert_eq!(d["acceptedDomains"], json!(["example.org", "rsonly.com"]));
    // Faults: twice, a hosted name, another account's or unknown domain.
    w.form("POST", &format!("{a}/alias.example"), "type=DomainAlias")
        .await
        .fault(
            400,
            "appsFault",
            Some("The alternate domain 'alias.example' already exists."),
            "twice",
        );
    w.form("POST", &format!("{a}/example.org"), "type=DomainAlias")
        .await
        .fault(400, "appsFault", None, "an accepted domain as alias");
    w.form(
        "POST",
        &format!("{a}/elsewhere.example"),
        "type=AcceptedDomain",
    )
    .await
    .fault(
        400,
        "badRequestFault",
        None,
        "accepted domain not of the account",
    );
    // The domain alias gives every mailbox an address there; an address in
    // the accepted domain may now be added.
    w.form(
        "POST",
        &format!("{MB}/ann"),
        "displayName=Ann&password=Secret-Pass-1&size=1024",
    )
    .await
    .ok_empty("mailbox");
    let m = w.get(&format!("{MB}/ann")).await.json();
    assert!(m.to_string().contains("ann@alias.example"), "{m}");
    w.bare("POST", &format!("{MB}/ann/emailaddresses/ann@rsonly.com"))
        .await
        .ok_empty("alternate address in the new accepted domain");
    w.bare(
        "POST",
        &format!("{MB}/ann/emailaddresses/ann2@alias.example"),
    )
    .await
    .fault(
        400,
        "badRequestFault",
        Some(
            "The alternate address was not in the primary domain or any of the alternate domains.",
        ),
        "not by hand in a domain alias",
    );
    // An accepted domain in use stays; once unused it goes, and then its
    // addresses are refused.
    w.bare("DELETE", &format!("{a}/rsonly.com")).await.fault(
        400,
        "appsFault",
        Some("The accepted domain 'rsonly.com' is in use."),
        "in use",
    );
    w.bare("DELETE", &format!("{MB}/ann/emailaddresses/ann@rsonly.com"))
        .await
        .ok_empty("remove the address");
    w.bare("DELETE", &format!("{a}/rsonly.com"))
        .await
        .ok_empty("remove the accepted domain");
    w.bare("POST", &format!("{MB}/ann/emailaddresses/ann@rsonly.com"))
        .await
        .fault(
            400,
            "badRequestFault",
            Some("The alternate address was not in the primary domain or any of the alternate domains."),
            "no longer accepted",
        );
    w.bare("DELETE", &format!("{a}/alias.example"))
        .await
        .ok_empty("remove the domain alias");
    let m = w.get(&format!("{MB}/ann")).await.json();
    assert!(!m.to_string().contains("alias.example"), "{m}");
    w.bare("DELETE", &format!("{a}/alias.example")).await.fault(
        404,
        "itemNotFoundFault",
        Some("Alternate domain not found."),
        "not an alternate domain",
    );
});

// rst "Throttling": "POST, PUT, DELETE on a domain" and "POST, DELETE on
// alternate domains" 2 a minute each, refused calls included; both are
// writes too, and other writes keep their own budget.
conformance!(
    throttle_domain_writes,
    ["--throttle", "cloud-office"],
    |w| {
        w.as_domain_admin();
        start_of_minute_window().await;
        // A refused domain write (missing serviceType) counts.
        w.form("POST", "/customers/me/domains/t1.example", "")
            .await
            .fault(400, "badRequestFault", None, "refused, counted");
        w.form(
            "POST",
            "/customers/me/domains/t1.example",
            "serviceType=exchange&exchangeMaxNumMailboxes=1",
        )
        .await
        .ok_empty("second domain write");
        let r = w.bare("DELETE", "/customers/me/domains/t1.example").await;
        let f = r.fault(
            403,
            "unauthorizedFault",
            Some("Exceeded request limits"),
            "third domain write",
        );
        assert!(
            f["details"].as_str().unwrap_or("").contains("on domains"),
            "{f}"
        );
        let a = format!("{D}/alternatedomains");
        w.form("POST", &format!("{a}/t2.example"), "type=DomainAlias")
            .await
            .ok_empty("first alternate-domain write");
        w.bare("DELETE", &format!("{a}/t2.example"))
            .await
            .ok_empty("second alternate-domain write");
        w.form("POST", &format!("{a}/t3.example"), "type=DomainAlias")
            .await
            .fault(
                403,
                "unauthorizedFault",
                Some("Exceeded request limits"),
                "third alternate-domain write",
            );
        w.form(
            "POST",
            &format!("{MB}/still.fine"),
            "displayName=Fine&password=Secret-Pass-1&size=1024",
        )
        .await
        .ok_empty("an ordinary write");
        w.get(&a).await.ok("GETs are not domain writes");
    }
);

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
