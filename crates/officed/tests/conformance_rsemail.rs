//! Conformance: Rackspace Email mailboxes and login tokens
//! (docs/cloud-office-api.md section 9), from the Rackspace Mailbox page's
//! examples, the Errors page's 400 example, and the requests rackmail 0.6.0,
//! PowerShell and the Ruby client send.

#[macro_use]
mod wire;

use serde_json::json;
use wire::*;

// Errors page, "400 Bad Request": a Rackspace Email add without a password.
conformance!(rs_add_without_password, |w| {
    let r = w
        .bare(
            "POST",
            "/customers/me/domains/example.com/rs/mailboxes/user.1",
        )
        .await;
    r.fault(
        400,
        "badRequestFault",
        Some("Missing required field: password"),
        "the documented 400 example",
    );
    let x = w
        .raw(
            "POST",
            &format!("{RS}/user.1"),
            &[("Accept", "text/xml")],
            Some(("application/x-www-form-urlencoded", b"size=1024".to_vec())),
        )
        .await;
    assert_eq!(x.status, 400);
    let n = x.xml();
    assert_eq!(n.name, "badRequestFault");
    assert_eq!(n.text_of("message"), "Missing required field: password");
    assert_eq!(n.text_of("code"), "400");
});

// rackmail createuser: POST with the JSON body {"password": ...} only (no
// displayName, no size) succeeds with the documented defaults.
conformance!(rs_add_rackmail_password_only, |w| {
    w.json(
        "POST",
        &format!("{RS}/new.user"),
        json!({"password": "aB3$dE5^gH7*jK9("}),
    )
    .await
    .ok_empty("rackmail createuser");
    let m = w.get(&format!("{RS}/new.user")).await;
    m.ok("show");
    let m = m.json();
    assert_eq!(m["name"], "new.user");
    assert!(m["size"].as_u64().unwrap_or(0) > 0, "a default size: {m}");
    assert_eq!(m["enabled"], true);
    // PowerShell README: password and size (25*1024) only, as a form.
    w.form(
        "POST",
        &format!("{RS}/jane.doe"),
        "password=Password%211&size=25600",
    )
    .await
    .ok_empty("PowerShell add");
    assert_eq!(w.get(&format!("{RS}/jane.doe")).await.json()["size"], 25600);
});

// rackmail enableuser/disableuser/setpassword/set: PUT with JSON bodies and
// JSON booleans; deleteuser: DELETE with a JSON body.
conformance!(rs_edit_rackmail, |w| {
    w.json(
        "POST",
        &format!("{RS}/rm.user"),
        json!({"password": "Secret-Pass-1"}),
    )
    .await
    .ok_empty("add");
    w.json("PUT", &format!("{RS}/rm.user"), json!({"enabled": false}))
        .await
        .ok_empty("disableuser");
    assert_eq!(
        w.get(&format!("{RS}/rm.user")).await.json()["enabled"],
        false
    );
    w.json("PUT", &format!("{RS}/rm.user"), json!({"enabled": true}))
        .await
        .ok_empty("enableuser");
    assert_eq!(
        w.get(&format!("{RS}/rm.user")).await.json()["enabled"],
        true
    );
    w.json(
        "PUT",
        &format!("{RS}/rm.user"),
        json!({"password": "N3w-Pass-word"}),
    )
    .await
    .ok_empty("setpassword");
    w.json(
        "PUT",
        &format!("{RS}/rm.user"),
        json!({"displayName": "Rack Mail"}),
    )
    .await
    .ok_empty("set displayName");
    assert_eq!(
        w.get(&format!("{RS}/rm.user")).await.json()["displayName"],
        "Rack Mail"
    );
    let r = w
        .json(
            "PUT",
            &format!("{RS}/rm.user"),
            json!({"BusinessUnit": "WaffleOps"}),
        )
        .await;
    r.fault(400, "validationFault", None, "undocumented property");
    assert!(r.message().contains("BusinessUnit"), "{}", r.message());
    w.raw(
        "DELETE",
        &format!("{RS}/rm.user"),
        &[("Accept", "application/json")],
        Some(("application/json", br#"{"enabled": false}"#.to_vec())),
    )
    .await
    .ok_empty("deleteuser (a body on DELETE is ignored)");
    let r = w.get(&format!("{RS}/rm.user")).await;
    let f = r.fault(404, "itemNotFoundFault", None, "deleted");
    assert_eq!(f["resourceType"], "Mailbox");
});

// Rackspace Mailbox page "Index": the documented JSON and XML shapes,
// fields= extras (size, currentUsage, enabled, createdDate, lastLogin) and
// the enabled= filter.
conformance!(rs_index, |w| {
    for n in ["apirsmailbox37", "apirsmailbox91"] {
        w.form(
            "POST",
            &format!("{RS}/{n}"),
            "password=Secret-Pass-1&size=10240",
        )
        .await
        .ok_empty("add");
    }
    let p = w.get(RS).await.json();
    assert_eq!(p["offset"], 0);
    assert_eq!(p["size"], 50);
    assert_eq!(p["total"], 2);
    assert_eq!(
        names(&p, "rsMailboxes"),
        ["apirsmailbox37", "apirsmailbox91"]
    );
    for it in p["rsMailboxes"].as_array().unwrap() {
        for k in keys(it) {
            assert!(
                k == "name" || k == "displayName",
                "summary fields only, got {k}: {it}"
            );
        }
    }
    let f = w
        .get(&format!(
            "{RS}?fields=size,currentUsage,enabled,createdDate,lastLogin"
        ))
        .await
        .json();
    let it = &f["rsMailboxes"][0];
    for k in ["size", "currentUsage", "enabled", "createdDate"] {
        assert!(it.get(k).is_some(), "fields= adds {k}: {it}");
    }
    // lastLogin: null or absent for a mailbox nobody has logged in to.
    assert!(
        it.get("lastLogin")
            .is_none_or(|v| v.is_null() || v.is_string()),
        "{it}"
    );
    assert_eq!(it["size"], 10240);
    let x = w.get_xml(RS).await;
    x.ok("xml");
    let n = x.xml();
    assert_eq!(n.name, "rsMailboxList");
    assert_eq!(n.ns(), Some("urn:xml:rsMailboxList"));
    assert_eq!(n.text_of("total"), "2");
    let items = &n.at(&["rsMailboxes"]).children;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].name, "rsMailbox");
    assert_eq!(items[0].text_of("name"), "apirsmailbox37");
    w.json(
        "PUT",
        &format!("{RS}/apirsmailbox91"),
        json!({"enabled": false}),
    )
    .await
    .ok_empty("disable");
    let on = w.get(&format!("{RS}?enabled=true")).await.json();
    assert_eq!(names(&on, "rsMailboxes"), ["apirsmailbox37"]);
    let off = w.get(&format!("{RS}?enabled=false")).await.json();
    assert_eq!(names(&off, "rsMailboxes"), ["apirsmailbox91"]);
});

// Rackspace Mailbox page "Show": the documented XML example's elements,
// with vacation and forwarding settings set through Edit.
conformance!(rs_show_documented, |w| {
    w.form(
        "POST",
        &format!("{RS}/apirsmailbox37"),
        "password=Secret-Pass-1&size=10240&displayName=API+RS",
    )
    .await
    .ok_empty("add");
    w.form(
        "PUT",
        &format!("{RS}/apirsmailbox37"),
        "vacationMessage=My+Test+Vacation+Message&enableVacationMessage=true\
&emailForwardingAddresses=notreal0%40apidomain.net%2Cnotreal1%40apidomain.net\
&saveForwardedEmail=false&lastName=Testlast&firstName=Testfirst",
    )
    .await
    .ok_empty("edit vacation and forwarding");
    let x = w.get_xml(&format!("{RS}/apirsmailbox37")).await;
    x.ok("xml show");
    let n = x.xml();
    assert_eq!(n.name, "rsMailbox");
    assert_eq!(n.ns(), Some("urn:xml:rsMailbox"));
    assert_eq!(n.text_of("name"), "apirsmailbox37");
    assert_eq!(n.text_of("size"), "10240");
    assert!(n.child("currentUsage").is_some());
    assert_eq!(n.text_of("vacationMessage"), "My Test Vacation Message");
    assert_eq!(n.text_of("enableVacationMessage"), "true");
    let fwd: Vec<&str> = n
        .at(&["emailForwardingAddressList"])
        .children
        .iter()
        .map(|c| {
            assert_eq!(c.name, "emailAddress");
            c.text.as_str()
        })
        .collect();
    assert_eq!(fwd, ["notreal0@apidomain.net", "notreal1@apidomain.net"]);
    assert_eq!(n.text_of("saveForwardedEmail"), "false");
    assert_eq!(n.at(&["contactInfo"]).text_of("lastName"), "Testlast");
    // The same in JSON, nested the same way.
    let j = w.get(&format!("{RS}/apirsmailbox37")).await.json();
    assert_eq!(j["vacationMessage"], "My Test Vacation Message");
    assert_eq!(j["enableVacationMessage"], true);
    assert_eq!(j["contactInfo"]["firstName"], "Testfirst");
    assert_eq!(j["displayName"], "API RS");
    assert_eq!(
        j["emailForwardingAddressList"]["emailAddress"],
        json!(["notreal0@apidomain.net", "notreal1@apidomain.net"]),
        "JSON nests the list as the XML does"
    );
});

// Login tokens: POST .../rs/mailboxes/{name}/loginToken (Ruby) and
// .../logintoken (rackmail) answer 200 with a JSON `token`.
conformance!(rs_login_token, |w| {
    w.json(
        "POST",
        &format!("{RS}/token.user"),
        json!({"password": "Secret-Pass-1"}),
    )
    .await
    .ok_empty("add");
    for word in ["loginToken", "logintoken"] {
        let r = w.bare("POST", &format!("{RS}/token.user/{word}")).await;
        r.ok(word);
        let t = r.json();
        let token = t["token"].as_str().unwrap_or_default();
        assert!(token.len() >= 16, "{word}: a token: {t}");
    }
    let r = w.bare("POST", &format!("{RS}/nobody/loginToken")).await;
    r.fault(
        404,
        "itemNotFoundFault",
        None,
        "token for a missing mailbox",
    );
});

// A Rackspace Email mailbox cannot be added in an Exchange-only domain, and
// the licence count is enforced.
conformance!(rs_service_and_licences, |w| {
    let r = w
        .form(
            "POST",
            "/customers/me/domains/example.org/rs/mailboxes/x",
            "password=Secret-Pass-1&size=1024",
        )
        .await;
    assert!(
        r.status >= 400 && r.status < 500,
        "exchange-only domain: {}",
        r.body
    );
    for i in 0..5 {
        w.form(
            "POST",
            &format!("/customers/me/domains/rsonly.com/rs/mailboxes/u{i}"),
            "password=Secret-Pass-1&size=1024",
        )
        .await
        .ok_empty("within the licences");
    }
    let r = w
        .form(
            "POST",
            "/customers/me/domains/rsonly.com/rs/mailboxes/u5",
            "password=Secret-Pass-1&size=1024",
        )
        .await;
    // The Errors page gives business rules no one element (appsFault is
    // "500, 400, 409 and other codes"); the message is the contract.
    assert_eq!(r.status, 400, "sixth of five: {}", r.body);
    let kind = r.json().as_object().unwrap().keys().next().unwrap().clone();
    assert!(kind == "appsFault" || kind == "badRequestFault", "{kind}");
    assert_eq!(r.message(), "Mailbox limit exceeded.");
    assert_eq!(r.header("x-error-message"), Some("Mailbox limit exceeded."));
});
