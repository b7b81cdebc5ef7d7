//! Conformance: Rackspace Email aliases (docs/cloud-office-api.md section
//! 11), from the Rackspace Alias page's examples and error table and the
//! Rust client's reads (numberOfMembers, singleMemberName, the nested
//! emailAddressList).

#[macro_use]
mod wire;

use serde_json::json;
use wire::*;

async fn mailboxes(w: &Wire, names: &[&str]) {
    for n in names {
        w.form(
            "POST",
            &format!("{RS}/{n}"),
            "password=Secret-Pass-1&size=1024",
        )
        .await
        .ok_empty("add target mailbox");
    }
}

// Alias page "Add" example (domain and non-domain addresses, with spaces
// after commas) and "Index" at the trailing-slash URL.
conformance!(alias_add_documented, |w| {
    mailboxes(w, &["jane.doe", "joe.schmoe"]).await;
    w.form(
        "POST",
        &format!("{AL}/alias1"),
        "aliasEmails=jane.doe%40example.com%2C+joe.schmoe%40example.com%2Ce1%40yahoo.com%2C+e2%40gmail.com",
    )
    .await
    .ok_empty("add alias1");
    w.form(
        "POST",
        &format!("{AL}/solo"),
        "aliasEmails=jane.doe%40example.com",
    )
    .await
    .ok_empty("add solo");
    let p = w.get(&format!("{AL}/")).await;
    p.ok("index with trailing slash");
    let p = p.json();
    let items = p["aliases"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "alias1");
    assert_eq!(items[0]["numberOfMembers"], 4);
    assert_eq!(items[1]["name"], "solo");
    assert_eq!(items[1]["numberOfMembers"], 1);
    assert_eq!(items[1]["singleMemberName"], "jane.doe@example.com");
    let x = w.get_xml(AL).await;
    x.ok("xml index");
    let n = x.xml();
    assert_eq!(n.name, "aliasList");
    assert_eq!(n.ns(), Some("urn:xml:aliasList"));
    let a = n.at(&["aliases", "alias"]);
    assert_eq!(a.text_of("name"), "alias1");
    assert_eq!(a.text_of("numberOfMembers"), "4");
});

// Show: the address list nested as emailAddressList/emailAddress, in JSON
// as in XML.
conformance!(alias_show, |w| {
    mailboxes(w, &["a", "b"]).await;
    w.form(
        "POST",
        &format!("{AL}/complex"),
        "aliasEmails=a%40example.com%2Cb%40example.com",
    )
    .await
    .ok_empty("add");
    let j = w.get(&format!("{AL}/complex")).await;
    j.ok("show");
    let j = j.json();
    assert_eq!(j["name"], "complex");
    assert_eq!(
        j["emailAddressList"]["emailAddress"],
        json!(["a@example.com", "b@example.com"])
    );
    let n = w.get_xml(&format!("{AL}/complex")).await.xml();
    assert_eq!(n.text_of("name"), "complex");
    let list: Vec<&str> = n
        .at(&["emailAddressList"])
        .children
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(list, ["a@example.com", "b@example.com"]);
});

// The Alias page's error table, message for message (all 400).
conformance!(alias_documented_errors, |w| {
    mailboxes(w, &["jane.doe"]).await;
    let r = w
        .form(
            "POST",
            &format!("{AL}/alias1"),
            "aliasEmails=jane.doe%40example.com%2Ca%40example.com",
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.message(),
        "An alias must point to a valid email address. The following email addresses do not exist: a@example.com"
    );
    let r = w
        .form("POST", &format!("{AL}/alias1"), "aliasEmails=")
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.message(), "An alias must point to a valid email address.");
    let r = w
        .form(
            "POST",
            &format!("{AL}/alias1"),
            "aliasEmails=e1%40yahoo.com%2Ce2%40gmail.com%2Ce3%40aol.com%2Ce4%40mail.example%2Ce5%40other.example",
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.message(),
        "Max number of non-local email recipients reached."
    );
    assert_eq!(
        r.header("x-error-message"),
        Some("Max number of non-local email recipients reached.")
    );
    assert_eq!(
        w.get(&format!("{AL}/alias1")).await.status,
        404,
        "nothing added"
    );
});

// "Bulk Modify Alias List": PUT replaces the addresses; the same limits.
conformance!(alias_bulk_modify, |w| {
    mailboxes(w, &["a", "b", "c"]).await;
    w.form(
        "POST",
        &format!("{AL}/team"),
        "aliasEmails=a%40example.com%2Cb%40example.com",
    )
    .await
    .ok_empty("add");
    w.form(
        "PUT",
        &format!("{AL}/team"),
        "aliasEmails=c%40example.com%2Cx%40ext.example",
    )
    .await
    .ok_empty("replace");
    let j = w.get(&format!("{AL}/team")).await.json();
    assert_eq!(
        j["emailAddressList"]["emailAddress"],
        json!(["c@example.com", "x@ext.example"])
    );
    let r = w.form("PUT", &format!("{AL}/team"), "aliasEmails=").await;
    assert_eq!(r.status, 400, "at least one address: {}", r.body);
    let r = w
        .form(
            "PUT",
            &format!("{AL}/nosuch"),
            "aliasEmails=a%40example.com",
        )
        .await;
    let f = r.fault(404, "itemNotFoundFault", None, "edit a missing alias");
    assert_eq!(f["resourceType"], "Alias");
});

// Adding and removing one address of an alias, with the same checks.
conformance!(alias_one_address, |w| {
    mailboxes(w, &["jane.doe", "joe"]).await;
    w.form(
        "POST",
        &format!("{AL}/alias1"),
        "aliasEmails=jane.doe%40example.com",
    )
    .await
    .ok_empty("add");
    w.bare("POST", &format!("{AL}/alias1/joe@example.com"))
        .await
        .ok_empty("add one address");
    let j = w.get(&format!("{AL}/alias1")).await.json();
    assert_eq!(
        j["emailAddressList"]["emailAddress"],
        json!(["jane.doe@example.com", "joe@example.com"])
    );
    let r = w
        .bare("POST", &format!("{AL}/alias1/ghost@example.com"))
        .await;
    assert_eq!(r.status, 400, "target must exist: {}", r.body);
    for e in [
        "e1@a.example",
        "e2@a.example",
        "e3@a.example",
        "e4@a.example",
    ] {
        w.bare("POST", &format!("{AL}/alias1/{e}"))
            .await
            .ok_empty("external address");
    }
    let r = w.bare("POST", &format!("{AL}/alias1/e5@a.example")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.message(),
        "Max number of non-local email recipients reached."
    );
    w.bare("DELETE", &format!("{AL}/alias1/jane.doe@example.com"))
        .await
        .ok_empty("remove one address");
    let r = w
        .bare("DELETE", &format!("{AL}/alias1/jane.doe@example.com"))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.message(),
        "Email address jane.doe@example.com does not exist in alias alias1."
    );
});

// Delete, then 404 Alias; JSON bodies are accepted like forms.
conformance!(alias_delete_and_json, |w| {
    mailboxes(w, &["a"]).await;
    w.json(
        "POST",
        &format!("{AL}/j"),
        json!({"aliasEmails": "a@example.com"}),
    )
    .await
    .ok_empty("JSON add");
    w.bare("DELETE", &format!("{AL}/j"))
        .await
        .ok_empty("delete");
    let r = w.get(&format!("{AL}/j")).await;
    let f = r.fault(404, "itemNotFoundFault", None, "deleted alias");
    assert_eq!(f["resourceType"], "Alias");
    assert_eq!(w.bare("DELETE", &format!("{AL}/j")).await.status, 404);
});
