//! Conformance: Hosted Exchange mailboxes and their alternate addresses
//! (docs/cloud-office-api.md section 10), from the documented examples and
//! the official C# and PowerShell clients' requests.

#[macro_use]
mod wire;

use serde_json::json;
use wire::*;

/// The C# README's "Add A Mailbox" body, as the client form-encodes it
/// (`Convert.ToString` turns booleans into `True`/`False`).
const CSHARP_ADD_FORM: &str = "displayName=Jane+Doe&password=Password%211&size=10240\
&isHidden=False&isPublicFolderAdmin=False&firstName=Jane&lastName=Doe\
&company=ACME+Widgets+Inc.&department=Sales&jobTitle=&addressLine1=1234+Sycamore+Ln\
&city=Blacksburg&state=Virginia&zip=24060&country=USA&businessNumber=555-555-5555\
&pagerNumber=555-555-5556&homeNumber=555-555-5557&mobileNumber=555-555-5558\
&faxNumber=555-555-5559&notes=&customID=JDOE.1234&emailForwardingAddress=\
&visibleInRackspaceEmailCompanyDirectory=False&enabled=True";

// rst "Adding New Exchange Mailbox": the form body of the documented
// example is accepted and the mailbox reads back.
conformance!(ex_add_documented_form, |w| {
    w.form(
        "POST",
        &format!("{MB}/john.smith"),
        "size=2048&displayName=John%20Smith&password=abcABC123",
    )
    .await
    .ok_empty("add john.smith");
    let m = w.get(&format!("{MB}/john.smith")).await;
    m.ok("show");
    let m = m.json();
    assert_eq!(m["name"], "john.smith");
    assert_eq!(m["displayName"], "John Smith");
    assert_eq!(m["size"], 2048);
    assert_eq!(m["enabled"], true);
    assert!(
        m.get("password").is_none(),
        "the password is never answered"
    );
});

// The C# client's full add (form, .NET booleans) and its Mailbox type:
// every documented field is accepted, stored and answered in the
// documented nesting (contact fields inside contactInfo).
conformance!(ex_add_csharp_fields, |w| {
    w.form("POST", &format!("{MB}/jane.doe"), CSHARP_ADD_FORM)
        .await
        .ok_empty("C# add");
    let m = w.get(&format!("{MB}/jane.doe")).await.json();
    assert_eq!(m["displayName"], "Jane Doe");
    assert_eq!(m["size"], 10240);
    assert_eq!(m["isHidden"], false);
    assert_eq!(m["isPublicFolderAdmin"], false);
    assert_eq!(m["enabled"], true);
    assert_eq!(m["visibleInRackspaceEmailCompanyDirectory"], false);
    let ci = &m["contactInfo"];
    for (k, v) in [
        ("firstName", "Jane"),
        ("lastName", "Doe"),
        ("company", "ACME Widgets Inc."),
        ("department", "Sales"),
        ("addressLine1", "1234 Sycamore Ln"),
        ("city", "Blacksburg"),
        ("state", "Virginia"),
        ("zip", "24060"),
        ("country", "USA"),
        ("businessNumber", "555-555-5555"),
        ("pagerNumber", "555-555-5556"),
        ("homeNumber", "555-555-5557"),
        ("mobileNumber", "555-555-5558"),
        ("faxNumber", "555-555-5559"),
        ("customID", "JDOE.1234"),
    ] {
        assert_eq!(ci[k], v, "contactInfo.{k}: {m}");
    }
    for k in [
        "name",
        "displayName",
        "size",
        "currentUsage",
        "enabled",
        "isHidden",
        "createdDate",
        "emailAddressList",
        "contactInfo",
    ] {
        assert!(m.get(k).is_some(), "Show has {k}: {m}");
    }
    // Documented fields officed keeps without acting on them.
    w.form(
        "PUT",
        &format!("{MB}/jane.doe"),
        "emailForwardingAddress=jane%40elsewhere.example&isPublicFolderAdmin=True&visibleInExchangeGAL=false",
    )
    .await
    .ok_empty("edit passive fields");
    let m = w.get(&format!("{MB}/jane.doe")).await.json();
    assert_eq!(m["emailForwardingAddress"], "jane@elsewhere.example");
    assert_eq!(m["isPublicFolderAdmin"], true);
});

// JSON bodies (PowerShell -ContentType application/json, C# ContentType.Json)
// with JSON booleans and numbers as strings.
conformance!(ex_add_json, |w| {
    w.json(
        "POST",
        &format!("{MB}/ps.user"),
        json!({"displayName": "PS User", "password": "Password!1", "size": "2048",
               "isHidden": true, "firstName": "Pat", "city": "Austin"}),
    )
    .await
    .ok_empty("JSON add");
    let m = w.get(&format!("{MB}/ps.user")).await.json();
    assert_eq!(m["size"], 2048);
    assert_eq!(m["isHidden"], true);
    assert_eq!(m["contactInfo"]["firstName"], "Pat");
    assert_eq!(m["contactInfo"]["city"], "Austin");
    w.json(
        "PUT",
        &format!("{MB}/ps.user"),
        json!({"firstName": "New Name", "isHidden": "False"}),
    )
    .await
    .ok_empty("JSON edit (PowerShell README)");
    let m = w.get(&format!("{MB}/ps.user")).await.json();
    assert_eq!(m["contactInfo"]["firstName"], "New Name");
    assert_eq!(m["isHidden"], false);
});

// Required fields on add, and unknown fields, are refused naming the field.
conformance!(ex_add_validation, |w| {
    let r = w
        .form(
            "POST",
            &format!("{MB}/no.password"),
            "displayName=X&size=1024",
        )
        .await;
    r.fault(
        400,
        "badRequestFault",
        Some("Missing required field: password"),
        "no password",
    );
    let r = w
        .form(
            "POST",
            &format!("{MB}/no.display"),
            "password=Secret-Pass-1&size=1024",
        )
        .await;
    r.fault(
        400,
        "badRequestFault",
        Some("Missing required field: displayName"),
        "no displayName",
    );
    let r = w
        .form(
            "POST",
            &format!("{MB}/odd.field"),
            "displayName=X&password=Secret-Pass-1&size=1024&bogusField=1",
        )
        .await;
    r.fault(400, "validationFault", None, "unknown field");
    assert!(
        r.message().contains("bogusField"),
        "names the field: {}",
        r.message()
    );
    let r = w
        .form(
            "POST",
            &format!("{MB}/bad.bool"),
            "displayName=X&password=Secret-Pass-1&size=1024&isHidden=maybe",
        )
        .await;
    r.fault(400, "validationFault", None, "bad boolean");
    assert!(
        r.message().contains("isHidden"),
        "names the field: {}",
        r.message()
    );
    assert_eq!(
        w.get(&format!("{MB}/odd.field")).await.status,
        404,
        "nothing added"
    );
});

// Exchange Mailbox page "Index" and "Custom Fields": by default name and
// displayName only; fields= adds size, currentUsage,
// hasBlackBerryMobileService, hasActiveSyncMobileService; enabled= filters.
conformance!(ex_index_summary_and_fields, |w| {
    for (n, d) in [
        ("apiexmailbox55", "API Test"),
        ("apiexmailbox6", "API Test"),
    ] {
        w.form(
            "POST",
            &format!("{MB}/{n}"),
            &format!(
                "displayName={}&password=Secret-Pass-1&size=2048&firstName=F&city=C",
                d.replace(' ', "+")
            ),
        )
        .await
        .ok_empty("add");
    }
    w.form("PUT", &format!("{MB}/apiexmailbox6"), "enabled=false")
        .await
        .ok_empty("disable");
    let p = w.get(MB).await.json();
    assert_eq!(
        p,
        json!({"offset": 0, "size": 50, "total": 2, "mailboxes": [
            {"name": "apiexmailbox55", "displayName": "API Test"},
            {"name": "apiexmailbox6", "displayName": "API Test"}]}),
        "the documented index shape"
    );
    let f = w
        .get(&format!("{MB}?fields=size,currentUsage"))
        .await
        .json();
    let item = &f["mailboxes"][0];
    assert_eq!(keys(item), ["currentUsage", "displayName", "name", "size"]);
    assert_eq!(item["size"], 2048);
    let f = w
        .get(&format!(
            "{MB}?fields=hasBlackBerryMobileService,hasActiveSyncMobileService"
        ))
        .await
        .json();
    assert_eq!(
        keys(&f["mailboxes"][0]),
        [
            "displayName",
            "hasActiveSyncMobileService",
            "hasBlackBerryMobileService",
            "name"
        ]
    );
    let on = w.get(&format!("{MB}?enabled=true")).await.json();
    assert_eq!(names(&on, "mailboxes"), ["apiexmailbox55"]);
    let off = w.get(&format!("{MB}?enabled=false")).await.json();
    assert_eq!(names(&off, "mailboxes"), ["apiexmailbox6"]);
    let bad = w.get(&format!("{MB}?fields=size,password")).await;
    bad.fault(400, "validationFault", None, "unknown fields= name");
    assert!(bad.message().contains("password"));
});

// The documented XML index: mailboxList in urn:xml:mailboxList with
// offset/size/total and mailboxes/mailbox/{name,displayName}; Show in XML.
conformance!(ex_xml, |w| {
    for n in ["apiexmailbox55", "apiexmailbox90"] {
        w.form(
            "POST",
            &format!("{MB}/{n}"),
            "displayName=API+Test&password=Secret-Pass-1&size=2048",
        )
        .await
        .ok_empty("add");
    }
    let x = w.get_xml(MB).await;
    x.ok("xml index");
    let n = x.xml();
    assert_eq!(n.name, "mailboxList");
    assert_eq!(n.ns(), Some("urn:xml:mailboxList"));
    assert_eq!(n.names(), ["offset", "size", "total", "mailboxes"]);
    assert_eq!(n.text_of("total"), "2");
    let items = &n.at(&["mailboxes"]).children;
    assert_eq!(items.len(), 2);
    for it in items {
        assert_eq!(it.name, "mailbox");
        assert_eq!(it.text_of("displayName"), "API Test");
        assert!(it.child("name").is_some());
    }
    let s = w.get_xml(&format!("{MB}/apiexmailbox55")).await;
    s.ok("xml show");
    let m = s.xml();
    assert_eq!(m.name, "mailbox");
    assert!(
        m.ns().is_some_and(|ns| ns.starts_with("urn:xml:")),
        "namespace {:?}",
        m.ns()
    );
    assert_eq!(m.text_of("name"), "apiexmailbox55");
    assert_eq!(m.text_of("size"), "2048");
    let addrs = m.at(&["emailAddressList"]);
    assert!(
        addrs
            .children
            .iter()
            .any(|a| a.name == "emailAddress"
                && a.text_of("address") == "apiexmailbox55@example.com"),
        "primary address in emailAddressList: {addrs:?}"
    );
    // The documented XSD order: name, then displayName.
    for it in &n.at(&["mailboxes"]).children {
        assert_eq!(it.names(), ["name", "displayName"], "element order");
    }
});

// Edit (PUT) and Delete; a deleted mailbox answers 404 Mailbox.
conformance!(ex_edit_delete, |w| {
    w.form(
        "POST",
        &format!("{MB}/edit.me"),
        "displayName=Before&password=Secret-Pass-1&size=1024&jobTitle=Clerk",
    )
    .await
    .ok_empty("add");
    w.form(
        "PUT",
        &format!("{MB}/EDIT.ME"),
        "displayName=After&size=4096&jobTitle=&isHidden=True&password=Other-Pass-2",
    )
    .await
    .ok_empty("edit, name in another case");
    let m = w.get(&format!("{MB}/edit.me")).await.json();
    assert_eq!(m["displayName"], "After");
    assert_eq!(m["size"], 4096);
    assert_eq!(m["isHidden"], true);
    assert!(
        m["contactInfo"].get("jobTitle").is_none() || m["contactInfo"]["jobTitle"] == "",
        "an empty value clears a field: {m}"
    );
    w.bare("DELETE", &format!("{MB}/edit.me"))
        .await
        .ok_empty("delete");
    let r = w.get(&format!("{MB}/edit.me")).await;
    let f = r.fault(404, "itemNotFoundFault", None, "deleted");
    assert_eq!(f["resourceType"], "Mailbox");
    assert_eq!(w.bare("DELETE", &format!("{MB}/edit.me")).await.status, 404);
    assert_eq!(
        w.form("PUT", &format!("{MB}/edit.me"), "displayName=X")
            .await
            .status,
        404
    );
    assert_eq!(w.get(MB).await.json()["total"], 0, "gone from the index");
});

// Adding a mailbox that exists is refused with a fault that says why
// (docs/cloud-office-api.md section 6; the element is not pinned down by
// the docs for this case).
conformance!(ex_add_existing, |w| {
    let body = "displayName=Twice&password=Secret-Pass-1&size=1024";
    w.form("POST", &format!("{MB}/twice"), body)
        .await
        .ok_empty("first add");
    let r = w.form("POST", &format!("{MB}/twice"), body).await;
    assert!(
        r.status == 400 || r.status == 409,
        "second add: {} {}",
        r.status,
        r.body
    );
    let kind = r.json().as_object().unwrap().keys().next().unwrap().clone();
    assert!(kind == "appsFault" || kind == "badRequestFault", "{kind}");
    assert!(r.header("x-error-message").is_some());
    assert_eq!(w.get(MB).await.json()["total"], 1, "still one mailbox");
});

// Alternate addresses: index, add and remove one address; they appear in
// the mailbox's emailAddressList; only the domain and its accepted domains.
conformance!(ex_alternate_addresses, |w| {
    w.form(
        "POST",
        &format!("{MB}/alt.user"),
        "displayName=Alt&password=Secret-Pass-1&size=1024",
    )
    .await
    .ok_empty("add");
    let base = format!("{MB}/alt.user/emailaddresses");
    w.bare("POST", &format!("{base}/second@example.com"))
        .await
        .ok_empty("add alternate");
    w.bare("POST", &format!("{base}/third@example.org"))
        .await
        .ok_empty("add alternate in an accepted domain");
    let r = w.bare("POST", &format!("{base}/x@elsewhere.example")).await;
    assert_eq!(r.status, 400, "foreign domain: {}", r.body);
    let idx = w.get(&base).await;
    idx.ok("index of addresses");
    let body = idx.body.clone();
    assert!(
        body.contains("second@example.com") && body.contains("third@example.org"),
        "{body}"
    );
    let m = w.get(&format!("{MB}/alt.user")).await.json();
    let list: Vec<&str> = m["emailAddressList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert!(list.contains(&"alt.user@example.com"), "{list:?}");
    assert!(list.contains(&"second@example.com"), "{list:?}");
    assert!(
        list.contains(&"alt.user@example.net"),
        "domain alias entry: {list:?}"
    );
    w.bare("DELETE", &format!("{base}/second@example.com"))
        .await
        .ok_empty("remove alternate");
    let m = w.get(&format!("{MB}/alt.user")).await.body;
    assert!(!m.contains("second@example.com"), "{m}");
    let r = w
        .bare("DELETE", &format!("{base}/alt.user@example.com"))
        .await;
    assert!(
        r.status >= 400,
        "the primary address cannot be removed: {}",
        r.body
    );
});
