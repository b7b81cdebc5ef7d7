//! Conformance: Hosted Exchange contacts (docs/cloud-office-api.md section
//! 12), from the Exchange Contact page's field table and errors, and the
//! Exchange contact field names clients send.

#[macro_use]
mod wire;

use serde_json::json;
use wire::*;

// Exchange Contact page "Add/Edit": displayName and externalEmail required
// for add; isHidden, firstName, lastName, jobTitle, company, department,
// businessNumber and the address fields optional. Show answers them in
// contactInfo.
conformance!(contact_add_documented_fields, |w| {
    w.form(
        "POST",
        &format!("{CT}/alex.smith"),
        "displayName=Alex+Smith&externalEmail=alex%40partner.example&isHidden=False\
&firstName=Alex&lastName=Smith&jobTitle=Buyer&company=Partner+Inc&department=Sales\
&businessNumber=555-0100&addressLine1=1+Main+St&city=Austin&state=TX&zip=78701&country=USA",
    )
    .await
    .ok_empty("add contact");
    let c = w.get(&format!("{CT}/alex.smith")).await;
    c.ok("show");
    let c = c.json();
    assert_eq!(c["name"], "alex.smith");
    assert_eq!(c["displayName"], "Alex Smith");
    assert_eq!(c["externalEmail"], "alex@partner.example");
    assert_eq!(c["isHidden"], false);
    for (k, v) in [
        ("firstName", "Alex"),
        ("lastName", "Smith"),
        ("jobTitle", "Buyer"),
        ("company", "Partner Inc"),
        ("department", "Sales"),
        ("businessNumber", "555-0100"),
        ("addressLine1", "1 Main St"),
        ("city", "Austin"),
        ("state", "TX"),
        ("zip", "78701"),
        ("country", "USA"),
    ] {
        assert_eq!(c["contactInfo"][k], v, "contactInfo.{k}: {c}");
    }
    // The page spells it `businessnumber`; accepted too.
    w.form(
        "PUT",
        &format!("{CT}/alex.smith"),
        "businessnumber=555-0199",
    )
    .await
    .ok_empty("edit businessnumber");
    assert_eq!(
        w.get(&format!("{CT}/alex.smith")).await.json()["contactInfo"]["businessNumber"],
        "555-0199"
    );
});

// Required fields and unknown fields.
conformance!(contact_validation, |w| {
    let r = w
        .form("POST", &format!("{CT}/x"), "externalEmail=x%40p.example")
        .await;
    r.fault(
        400,
        "badRequestFault",
        Some("Missing required field: displayName"),
        "no displayName",
    );
    let r = w.form("POST", &format!("{CT}/x"), "displayName=X").await;
    r.fault(
        400,
        "badRequestFault",
        Some("Missing required field: externalEmail"),
        "no externalEmail",
    );
    let r = w
        .form(
            "POST",
            &format!("{CT}/x"),
            "displayName=X&externalEmail=x%40p.example&favouriteColour=blue",
        )
        .await;
    r.fault(400, "validationFault", None, "unknown field");
    assert!(r.message().contains("favouriteColour"), "{}", r.message());
    let r = w
        .form(
            "POST",
            &format!("{CT}/x"),
            "displayName=X&externalEmail=not-an-address",
        )
        .await;
    assert_eq!(r.status, 400, "bad address: {}", r.body);
});

// Index: name and displayName; contains searches display name and external
// email (rst); JSON and XML.
conformance!(contact_index, |w| {
    for (n, d, e) in [
        ("c1", "John Partner", "john%40partner.example"),
        ("c2", "Mary Vendor", "mary%40vendor.example"),
    ] {
        w.form(
            "POST",
            &format!("{CT}/{n}"),
            &format!("displayName={}&externalEmail={e}", d.replace(' ', "+")),
        )
        .await
        .ok_empty("add");
    }
    let p = w.get(CT).await.json();
    assert_eq!(p["total"], 2);
    assert_eq!(p["offset"], 0);
    assert_eq!(p["size"], 50);
    assert_eq!(
        p["contacts"],
        json!([{"name": "c1", "displayName": "John Partner"},
               {"name": "c2", "displayName": "Mary Vendor"}])
    );
    let c = w.get(&format!("{CT}?contains=vendor.example")).await.json();
    assert_eq!(
        names(&c, "contacts"),
        ["c2"],
        "contains searches externalEmail"
    );
    let c = w.get(&format!("{CT}?contains=john")).await.json();
    assert_eq!(
        names(&c, "contacts"),
        ["c1"],
        "contains searches displayName"
    );
    let x = w.get_xml(CT).await;
    x.ok("xml");
    let n = x.xml();
    assert_eq!(n.name, "contactList");
    assert!(
        n.ns().is_some_and(|s| s.starts_with("urn:xml:")),
        "{:?}",
        n.ns()
    );
    assert_eq!(n.text_of("total"), "2");
    let items = &n.at(&["contacts"]).children;
    assert_eq!(items[0].name, "contact");
    assert_eq!(items[0].text_of("displayName"), "John Partner");
});

// Edit, delete, 404 Contact (the page's "Contact is not found | 404"), and
// JSON bodies.
conformance!(contact_edit_delete_json, |w| {
    w.json(
        "POST",
        &format!("{CT}/j.contact"),
        json!({"displayName": "J", "externalEmail": "j@p.example", "isHidden": "True"}),
    )
    .await
    .ok_empty("JSON add");
    assert_eq!(
        w.get(&format!("{CT}/j.contact")).await.json()["isHidden"],
        true
    );
    w.form(
        "PUT",
        &format!("{CT}/j.contact"),
        "externalEmail=j2%40p.example&isHidden=false",
    )
    .await
    .ok_empty("edit");
    let c = w.get(&format!("{CT}/j.contact")).await.json();
    assert_eq!(c["externalEmail"], "j2@p.example");
    assert_eq!(c["isHidden"], false);
    let x = w.get_xml(&format!("{CT}/j.contact")).await.xml();
    assert_eq!(x.name, "contact");
    assert_eq!(x.text_of("externalEmail"), "j2@p.example");
    w.bare("DELETE", &format!("{CT}/j.contact"))
        .await
        .ok_empty("delete");
    let r = w.get(&format!("{CT}/j.contact")).await;
    let f = r.fault(404, "itemNotFoundFault", None, "deleted");
    assert_eq!(f["resourceType"], "Contact");
    let r = w.get("/customers/me/domains/abc.com/ex/contacts").await;
    r.fault(
        403,
        "unauthorizedFault",
        Some("Not authorized"),
        "a domain not of this account",
    );
});
