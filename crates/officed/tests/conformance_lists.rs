//! Conformance: Hosted Exchange distribution lists, the documented v1
//! model (docs/cloud-office-api.md section 13): JSON bodies with
//! DisplayName, EmailAddresses (Action/AddressPrimary/AddressProtocol/Value),
//! Members and AcceptMessagesOnlyFrom; JSON and XML answers.

#[macro_use]
mod wire;

use serde_json::{json, Value};
use wire::*;

async fn mailboxes(w: &Wire, names: &[&str]) {
    for n in names {
        w.form(
            "POST",
            &format!("{MB}/{n}"),
            &format!("displayName={n}&password=Secret-Pass-1&size=1024"),
        )
        .await
        .ok_empty("add member mailbox");
    }
}

fn values(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("an array: {v}"))
        .iter()
        .map(|e| e["Value"].as_str().unwrap_or_default().to_ascii_lowercase())
        .collect();
    out.sort();
    out
}

// Create with the v1 JSON model, then Read: the documented fields.
conformance!(dl_create_read, |w| {
    mailboxes(w, &["ann", "ben"]).await;
    w.json(
        "POST",
        &format!("{DL}/sales"),
        json!({
            "DisplayName": "Sales Team",
            "Description": "Everyone in sales",
            "EmailAddresses": [{"AddressProtocol": "smtp", "Value": "sales-team@example.com"}],
            "Members": [{"Value": "ann@example.com"}, {"Value": "ben@example.com"}],
            "AcceptMessagesOnlyFrom": [{"Value": "ann@example.com"}]
        }),
    )
    .await
    .ok_empty("create");
    let r = w.get(&format!("{DL}/sales")).await;
    r.ok("read");
    let l = r.json();
    assert_eq!(l["DisplayName"], "Sales Team");
    assert_eq!(l["Description"], "Everyone in sales");
    assert_eq!(l["MemberCount"], 2);
    assert_eq!(l["PrimarySmtpAddress"], "sales@example.com");
    assert_eq!(
        values(&l["Members"]),
        ["ann@example.com", "ben@example.com"]
    );
    assert_eq!(values(&l["AcceptMessagesOnlyFrom"]), ["ann@example.com"]);
    let addrs = l["EmailAddresses"].as_array().unwrap();
    let primary: Vec<&Value> = addrs
        .iter()
        .filter(|a| a["AddressPrimary"] == true)
        .collect();
    assert_eq!(primary.len(), 1, "one primary: {l}");
    assert_eq!(primary[0]["Value"], "sales@example.com");
    assert_eq!(primary[0]["AddressProtocol"], "smtp");
    let all = values(&l["EmailAddresses"]);
    assert!(
        all.contains(&"sales-team@example.com".to_string()),
        "{all:?}"
    );
    assert!(
        all.contains(&"sales-team@example.net".to_string()),
        "a primary-domain address gets its domain-alias twin: {all:?}"
    );
});

// Update with Action Add/Remove on EmailAddresses and Members.
conformance!(dl_update_actions, |w| {
    mailboxes(w, &["ann", "ben", "cat"]).await;
    w.json(
        "POST",
        &format!("{DL}/team"),
        json!({"DisplayName": "Team", "Members": [{"Value": "ann@example.com"}]}),
    )
    .await
    .ok_empty("create");
    w.json(
        "PUT",
        &format!("{DL}/team"),
        json!({
            "DisplayName": "The Team",
            "EmailAddresses": [{"Action": "Add", "AddressProtocol": "smtp", "Value": "crew@example.org"}],
            "Members": [
                {"Action": "Add", "Value": "ben@example.com"},
                {"Action": "Add", "Value": "cat@example.com"},
                {"Action": "Remove", "Value": "ann@example.com"}
            ]
        }),
    )
    .await
    .ok_empty("update");
    let l = w.get(&format!("{DL}/team")).await.json();
    assert_eq!(l["DisplayName"], "The Team");
    assert_eq!(
        values(&l["Members"]),
        ["ben@example.com", "cat@example.com"]
    );
    assert_eq!(l["MemberCount"], 2);
    assert!(values(&l["EmailAddresses"]).contains(&"crew@example.org".to_string()));
    w.json(
        "PUT",
        &format!("{DL}/team"),
        json!({"EmailAddresses": [{"Action": "Remove", "Value": "crew@example.org"}]}),
    )
    .await
    .ok_empty("remove address");
    let l = w.get(&format!("{DL}/team")).await.json();
    assert!(!values(&l["EmailAddresses"]).contains(&"crew@example.org".to_string()));
    // "The common name email address ... cannot be" removed.
    let r = w
        .json(
            "PUT",
            &format!("{DL}/team"),
            json!({"EmailAddresses": [{"Action": "Remove", "Value": "team@example.com"}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // "Domain alias entries cannot be independently added or removed".
    let r = w
        .json(
            "PUT",
            &format!("{DL}/team"),
            json!({"EmailAddresses": [{"Action": "Add", "AddressProtocol": "smtp", "Value": "x@example.net"}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = w
        .json(
            "PUT",
            &format!("{DL}/team"),
            json!({"Members": [{"Action": "Frobnicate", "Value": "ben@example.com"}]}),
        )
        .await;
    assert_eq!(
        r.status, 400,
        "Action must be Add, Update or Remove: {}",
        r.body
    );
});

// v1: "The v0 method of submitting data via form URL-encoded variables is
// NOT supported"; unknown fields are a validationFault.
conformance!(dl_bodies, |w| {
    let r = w
        .form("POST", &format!("{DL}/formed"), "DisplayName=Formed")
        .await;
    assert!(
        r.status == 400 || r.status == 415,
        "form body: {} {}",
        r.status,
        r.body
    );
    assert!(r.header("x-error-message").is_some());
    let r = w
        .json(
            "POST",
            &format!("{DL}/odd"),
            json!({"DisplayName": "Odd", "Colour": "blue"}),
        )
        .await;
    r.fault(400, "validationFault", None, "unknown field");
    assert!(r.message().contains("Colour"), "{}", r.message());
    let r = w.json("POST", &format!("{DL}/nameless"), json!({})).await;
    assert_eq!(r.status, 400, "DisplayName required: {}", r.body);
    assert!(r.message().contains("DisplayName"), "{}", r.message());
});

// List: the index shape (distributionlists, name and displayName) in JSON
// and XML (distributionlistList).
conformance!(dl_index, |w| {
    for n in ["apiexgroup4", "apiexgroup62"] {
        w.json(
            "POST",
            &format!("{DL}/{n}"),
            json!({"DisplayName": "API Test Group"}),
        )
        .await
        .ok_empty("create");
    }
    let p = w.get(DL).await.json();
    assert_eq!(
        p,
        json!({"offset": 0, "size": 50, "total": 2, "distributionlists": [
            {"name": "apiexgroup4", "displayName": "API Test Group"},
            {"name": "apiexgroup62", "displayName": "API Test Group"}]})
    );
    let x = w.get_xml(DL).await;
    x.ok("xml");
    let n = x.xml();
    assert_eq!(n.name, "distributionlistList");
    assert_eq!(n.ns(), Some("urn:xml:distributionlistList"));
    let items = &n.at(&["distributionlists"]).children;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].name, "distributionlist");
    assert_eq!(items[0].text_of("name"), "apiexgroup4");
    assert_eq!(items[0].text_of("displayName"), "API Test Group");
    let c = w.get(&format!("{DL}?contains=62")).await.json();
    assert_eq!(names(&c, "distributionlists"), ["apiexgroup62"]);
});

// Read in XML; delete; 404 DistributionList.
conformance!(dl_xml_and_delete, |w| {
    mailboxes(w, &["ann"]).await;
    w.json(
        "POST",
        &format!("{DL}/x.list"),
        json!({"DisplayName": "X List", "Members": [{"Value": "ann@example.com"}]}),
    )
    .await
    .ok_empty("create");
    let x = w.get_xml(&format!("{DL}/x.list")).await;
    x.ok("xml read");
    let n = x.xml();
    assert_eq!(n.text_of("DisplayName"), "X List");
    assert_eq!(n.text_of("MemberCount"), "1");
    assert!(n.child("EmailAddresses").is_some(), "{:?}", n.names());
    assert!(n.child("Members").is_some(), "{:?}", n.names());
    w.bare("DELETE", &format!("{DL}/x.list"))
        .await
        .ok_empty("delete");
    let r = w.get(&format!("{DL}/x.list")).await;
    let f = r.fault(404, "itemNotFoundFault", None, "deleted");
    assert_eq!(f["resourceType"], "DistributionList");
    let r = w
        .json("PUT", &format!("{DL}/x.list"), json!({"DisplayName": "Y"}))
        .await;
    assert_eq!(r.status, 404);
});

// Members must exist in the customer's domains (mailboxes, contacts,
// lists); a missing member is refused.
conformance!(dl_member_checks, |w| {
    mailboxes(w, &["ann"]).await;
    w.form(
        "POST",
        &format!("{CT}/ext"),
        "displayName=Ext&externalEmail=ext%40partner.example",
    )
    .await
    .ok_empty("contact");
    w.json(
        "POST",
        &format!("{DL}/mixed"),
        json!({"DisplayName": "Mixed", "Members": [{"Value": "ann@example.com"}, {"Value": "ext@example.com"}]}),
    )
    .await
    .ok_empty("mailbox and contact members");
    let r = w
        .json(
            "PUT",
            &format!("{DL}/mixed"),
            json!({"Members": [{"Action": "Add", "Value": "ghost@example.com"}]}),
        )
        .await;
    assert!(
        r.status == 400 || r.status == 404,
        "missing member: {} {}",
        r.status,
        r.body
    );
    assert_eq!(w.get(&format!("{DL}/mixed")).await.json()["MemberCount"], 2);
});
