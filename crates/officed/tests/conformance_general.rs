//! Conformance: what every resource shares (docs/cloud-office-api.md
//! sections 1-7): authentication, paths, formats, paging and filters,
//! faults and throttling, checked over HTTP on SQLite and PostgreSQL.

#[macro_use]
mod wire;

use cloudoffice_api::{signing, Secret};
use serde_json::json;
use wire::*;

/// The rst's worked example: key, agent, timestamp and secret hash to the
/// documented 28-character value.
#[test]
fn signature_matches_the_documented_example() {
    let h = signing::signature_hash(
        "eGbq9/2hcZsRlr1JV1Pi",
        "Rackspace Management Interface",
        "20010308143725",
        &Secret::new("QHOvchm/40czXhJ1OxfxK7jDHr3t"),
    );
    assert_eq!(h, "46VIwd66mOFGG8IkbgnLlXnfnkU=");
    assert_eq!(h.len(), 28);
}

// Errors page, "403 Unauthorized": a request without valid authentication
// answers 403 unauthorizedFault "Authentication failed." in JSON or XML.
conformance!(auth_failure_is_403, |w| {
    let url = format!("{}/v1{RS}/user.1", w.root());
    let cases: Vec<(&str, String)> = vec![
        ("no signature", String::new()),
        ("malformed", "not-a-signature".into()),
        (
            "wrong hash",
            format!("{}:{}:AAAAAAAAAAAAAAAAAAAAAAAAAAA=", w.key, {
                let s = w.signature();
                s.split(':').nth(1).unwrap().to_string()
            }),
        ),
        (
            "unknown key",
            signing::sign(
                "nosuchkey0000000000x",
                UA,
                &w.secret,
                time::OffsetDateTime::now_utc(),
            ),
        ),
        (
            "stale timestamp",
            signing::sign(
                &w.key,
                UA,
                &w.secret,
                time::OffsetDateTime::now_utc() - time::Duration::hours(3),
            ),
        ),
    ];
    for (what, sig) in cases {
        let r = w
            .raw_url(
                "GET",
                &url,
                &[("Accept", "application/json"), ("X-Api-Signature", &sig)],
                None,
            )
            .await;
        r.fault(
            403,
            "unauthorizedFault",
            Some("Authentication failed."),
            what,
        );
    }
    // The same fault in XML when XML is asked for.
    let r = w
        .raw_url(
            "GET",
            &url,
            &[("Accept", "text/xml"), ("X-Api-Signature", "")],
            None,
        )
        .await;
    assert_eq!(r.status, 403, "xml: {}", r.body);
    let x = r.xml();
    assert_eq!(x.name, "unauthorizedFault", "xml fault root");
    assert_eq!(x.text_of("message"), "Authentication failed.");
    assert_eq!(x.text_of("code"), "403");
    assert_eq!(r.header("x-error-message"), Some("Authentication failed."));
});

// Another customer's account number in the path is refused (403), and
// `me` and the key's own number both work.
conformance!(customer_in_path, |w| {
    let me = w.get("/customers/me/domains").await;
    me.ok("me");
    let own = w.get("/customers/100001/domains").await;
    own.ok("own account number");
    assert_eq!(me.json(), own.json(), "me = own account number");
    let other = w.get("/customers/200002/domains").await;
    assert_eq!(other.status, 403, "other customer: {}", other.body);
    assert_eq!(
        w.get("/customers/200002/domains/example.com/ex/mailboxes")
            .await
            .status,
        403
    );
});

// Domain page: "Leaving the customers/{customer account number} out of the
// url is acceptable and returns the sames results as /customers/me".
conformance!(short_domains_path, |w| {
    let short = w.get("/domains").await;
    short.ok("/v1/domains");
    assert_eq!(short.json(), w.get("/customers/me/domains").await.json());
    w.form(
        "POST",
        &format!("{MB}/short.form"),
        "displayName=Short&password=Secret-Pass-1&size=1024",
    )
    .await
    .ok_empty("add");
    let r = w.get("/domains/example.com/ex/mailboxes/short.form").await;
    r.ok("mailbox under the short form");
    assert_eq!(r.json()["name"], "short.form");
});

// Index URLs written with a trailing slash (the Alias page writes
// `.../rs/aliases/`) answer like those without.
conformance!(index_trailing_slash, |w| {
    for p in ["/customers/me/domains", MB, RS, AL, CT, DL] {
        let a = w.get(p).await;
        a.ok(p);
        let b = w.get(&format!("{p}/")).await;
        b.ok(&format!("{p}/"));
        assert_eq!(a.json(), b.json(), "{p} with and without /");
    }
});

// rst "Formats": Accept text/xml answers XML, application/json JSON; the
// index of domains matches the rst's own XML example.
conformance!(formats_json_and_xml, |w| {
    let j = w.get("/customers/me/domains").await;
    j.ok("json");
    assert!(
        j.content_type().starts_with("application/json"),
        "{}",
        j.content_type()
    );
    let x = w.get_xml("/customers/me/domains").await;
    x.ok("xml");
    assert!(
        x.content_type().contains("xml"),
        "xml content type: {}",
        x.content_type()
    );
    assert!(x.body.trim_start().starts_with("<?xml"), "declaration");
    let n = x.xml();
    assert_eq!(n.name, "domainList");
    assert_eq!(n.ns(), Some("urn:xml:domainList"));
    assert_eq!(
        n.attrs.get("xmlns:xsi").map(String::as_str),
        Some("http://www.w3.org/2001/XMLSchema-instance")
    );
    assert_eq!(n.text_of("offset"), "0");
    assert_eq!(n.text_of("size"), "50");
    assert_eq!(n.text_of("total"), "3");
    let doms: Vec<&str> = n
        .at(&["domains"])
        .children
        .iter()
        .map(|d| {
            assert_eq!(d.name, "domain");
            d.text_of("name")
        })
        .collect();
    assert_eq!(doms, ["example.com", "example.org", "rsonly.com"]);
    let first = n.at(&["domains", "domain"]);
    assert_eq!(first.text_of("accountNumber"), "100001");
    assert_eq!(first.text_of("serviceType"), "both");
    // No Accept (rackmail-style clients that forget it): JSON.
    let none = w.raw("GET", "/customers/me/domains", &[], None).await;
    none.ok("no accept");
    assert_eq!(none.json(), j.json());
    // Something neither format: 406 ("Format is invalid | 406").
    let bad = w
        .raw(
            "GET",
            "/customers/me/domains",
            &[("Accept", "image/png")],
            None,
        )
        .await;
    assert_eq!(bad.status, 406, "unsupported accept: {}", bad.body);
});

// rst "Paging": size default 50, maximum 250; offset; the page answers
// offset, size and total.
conformance!(paging, |w| {
    for i in 0..5 {
        w.form(
            "POST",
            &format!("{MB}/page.user{i}"),
            &format!("displayName=Page+User+{i}&password=Secret-Pass-1&size=1024"),
        )
        .await
        .ok_empty("add");
    }
    let all = w.get(MB).await.json();
    assert_eq!(
        (
            all["offset"].clone(),
            all["size"].clone(),
            all["total"].clone()
        ),
        (json!(0), json!(50), json!(5))
    );
    let p = w.get(&format!("{MB}?size=2&offset=1")).await.json();
    assert_eq!(p["offset"], 1);
    assert_eq!(p["size"], 2);
    assert_eq!(p["total"], 5);
    assert_eq!(names(&p, "mailboxes"), ["page.user1", "page.user2"]);
    let last = w.get(&format!("{MB}?size=2&offset=4")).await.json();
    assert_eq!(names(&last, "mailboxes"), ["page.user4"]);
    w.get(&format!("{MB}?size=250"))
        .await
        .ok("size=250 is the maximum");
    let over = w.get(&format!("{MB}?size=251")).await;
    assert_eq!(over.status, 400, "size over 250: {}", over.body);
    let neg = w.get(&format!("{MB}?offset=-1")).await;
    assert_eq!(neg.status, 400, "negative offset: {}", neg.body);
});

// rst "Index Filter/Search": startswith or contains (name, display name,
// custom ID for mailboxes); both together is a 400; "0-9" means any
// leading digit.
conformance!(filters, |w| {
    for (n, d) in [
        ("alice", "Alice Smith"),
        ("bob", "Robert Jones"),
        ("9lives", "Cat Nine"),
    ] {
        w.form(
            "POST",
            &format!("{MB}/{n}"),
            &format!(
                "displayName={}&password=Secret-Pass-1&size=1024",
                d.replace(' ', "+")
            ),
        )
        .await
        .ok_empty("add");
    }
    let sw = w.get(&format!("{MB}?startswith=al")).await.json();
    assert_eq!(names(&sw, "mailboxes"), ["alice"]);
    let digits = w.get(&format!("{MB}?startswith=0-9")).await.json();
    assert_eq!(names(&digits, "mailboxes"), ["9lives"]);
    let c = w.get(&format!("{MB}?contains=jones")).await.json();
    assert_eq!(
        names(&c, "mailboxes"),
        ["bob"],
        "contains searches the display name"
    );
    assert_eq!(c["total"], 1, "total counts the filtered list");
    let both = w.get(&format!("{MB}?startswith=a&contains=b")).await;
    assert_eq!(both.status, 400, "both filters: {}", both.body);
    let doms = w.get("/customers/me/domains?startswith=rs").await.json();
    assert_eq!(names(&doms, "domains"), ["rsonly.com"]);
});

// Errors page: itemNotFound (404) names the resourceType that was not found.
conformance!(item_not_found_names_resource_type, |w| {
    let cases = [
        (format!("{MB}/nobody"), "Mailbox"),
        (format!("{RS}/nobody"), "Mailbox"),
        (format!("{AL}/nothing"), "Alias"),
        (format!("{CT}/nobody"), "Contact"),
        (format!("{DL}/nothing"), "DistributionList"),
    ];
    for (path, rt) in cases {
        let r = w.get(&path).await;
        let f = r.fault(404, "itemNotFoundFault", None, &path);
        assert_eq!(f["resourceType"], rt, "{path}");
    }
    // A domain that is not one of the account's: "Not authorized", the
    // answer the seed article's users know (error 4), whether or not the
    // domain exists elsewhere; the Contact page's older "404 abc.com not
    // found" is not followed (docs/cloud-office-api.md section 6).
    for path in [
        "/customers/me/domains/nosuch.example",
        "/customers/me/domains/nosuch.example/ex/mailboxes",
        "/customers/me/domains/nosuch.example/rs/mailboxes/x",
    ] {
        w.get(path)
            .await
            .fault(403, "unauthorizedFault", Some("Not authorized"), path);
    }
    let x = w.get_xml(&format!("{MB}/nobody")).await;
    assert_eq!(x.status, 404);
    let n = x.xml();
    assert_eq!(n.name, "itemNotFoundFault");
    assert_eq!(n.text_of("resourceType"), "Mailbox");
    assert_eq!(n.text_of("code"), "404");
});

// rst "HTTP Method": POST/PUT/DELETE answer "Response code and error
// message (if applicable) only".
conformance!(writes_answer_without_body, |w| {
    w.form(
        "POST",
        &format!("{MB}/quiet"),
        "displayName=Quiet&password=Secret-Pass-1&size=1024",
    )
    .await
    .ok_empty("POST");
    w.form("PUT", &format!("{MB}/quiet"), "displayName=Quieter")
        .await
        .ok_empty("PUT");
    w.bare("DELETE", &format!("{MB}/quiet"))
        .await
        .ok_empty("DELETE");
});

// An unknown path or a method the path does not have: a fault, not HTML.
conformance!(unknown_paths_and_methods, |w| {
    let r = w.get("/customers/me/nothing-here").await;
    r.fault(404, "itemNotFoundFault", None, "unknown path");
    let r = w.bare("PATCH", &format!("{MB}/x")).await;
    assert_eq!(r.status, 405, "PATCH: {}", r.body);
    assert!(r.header("x-error-message").is_some(), "405 says why");
});

// rst "Throttling": GET 60 a minute; calls refused for any reason count;
// over the limit answers 403 unauthorizedFault "Exceeded request limits"
// (the exact text the C# client retries on).
conformance!(throttle_get, ["--throttle", "cloud-office"], |w| {
    start_of_minute_window().await;
    for i in 0..60 {
        let path = if i % 2 == 0 {
            MB.to_string()
        } else {
            format!("{MB}/no.such.{i}")
        };
        let r = w.get(&path).await;
        assert!(
            r.status == 200 || r.status == 404,
            "call {i} is under the limit: {} {}",
            r.status,
            r.body
        );
    }
    let r = w.get(MB).await;
    r.fault(
        403,
        "unauthorizedFault",
        Some("Exceeded request limits"),
        "61st GET",
    );
    // Writes have their own budget.
    let r = w
        .form(
            "POST",
            &format!("{MB}/after.gets"),
            "displayName=After&password=Secret-Pass-1&size=1024",
        )
        .await;
    assert_eq!(r.status, 200, "a write after 61 GETs: {}", r.body);
});

// rst "Throttling": PUT, POST, DELETE 30 a minute, failed ones included.
conformance!(throttle_writes, ["--throttle", "cloud-office"], |w| {
    start_of_minute_window().await;
    for i in 0..30 {
        let r = if i % 3 == 0 {
            // Refused (an unknown field), still counted.
            w.form(
                "POST",
                &format!("{MB}/bad{i}"),
                "displayName=Bad&bogusField=1",
            )
            .await
        } else {
            w.form("PUT", &format!("{MB}/nobody{i}"), "displayName=X")
                .await
        };
        assert!(
            r.status != 403 && r.status != 200,
            "write {i} is refused, but not throttled: {} {}",
            r.status,
            r.body
        );
    }
    let r = w
        .form(
            "POST",
            &format!("{MB}/thirty.first"),
            "displayName=X&password=Secret-Pass-1&size=1024",
        )
        .await;
    r.fault(
        403,
        "unauthorizedFault",
        Some("Exceeded request limits"),
        "31st write",
    );
    w.get(MB).await.ok("GETs have their own budget");
});

/// A second `officed serve` on the same database and data directory as
/// `w`'s; killed on drop.
struct SecondInstance {
    child: std::process::Child,
    root: String,
}

impl SecondInstance {
    fn start(w: &Wire, serve_args: &[&str]) -> SecondInstance {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_officed"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(serve_args)
            .env("OFFICED_DATABASE_URL", &w.officed.database_url)
            .env("OFFICED_DATA_DIR", &w.officed.data_dir)
            .env_remove("OFFICED_MASTER_KEY")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start a second officed");
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufReader::new(stderr).lines();
        let url = loop {
            let l = lines
                .next()
                .expect("the second officed reports its address")
                .unwrap();
            if let Some(u) = l.strip_prefix("officed listening on ") {
                break u.trim().trim_end_matches("/v1").to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        SecondInstance { child, root: url }
    }
}

impl Drop for SecondInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 11: on PostgreSQL the limits are shared by every instance: 30
/// GETs on one and 30 on the other use the key's 60, the next is refused
/// on either.
#[tokio::test]
async fn throttle_shared_between_instances_postgres() {
    let Some(w) = Wire::start(Backend::Postgres, &["--throttle", "cloud-office"]) else {
        return;
    };
    let second = SecondInstance::start(&w, &["--throttle", "cloud-office"]);
    start_of_minute_window().await;
    for i in 0..60 {
        let base = if i % 2 == 0 {
            w.root()
        } else {
            second.root.clone()
        };
        let r = w
            .raw_url(
                "GET",
                &format!("{base}/v1{MB}"),
                &[("Accept", "application/json")],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "call {i}: {}", r.body);
    }
    for base in [w.root(), second.root.clone()] {
        let r = w
            .raw_url(
                "GET",
                &format!("{base}/v1{MB}"),
                &[("Accept", "application/json")],
                None,
            )
            .await;
        r.fault(
            403,
            "unauthorizedFault",
            Some("Exceeded request limits"),
            &base,
        );
    }
    drop(second);
    w.finish();
}

/// The domain and alternate-domain rows (2 a minute each) are counted once
/// for all instances on one PostgreSQL database, like the GET and write
/// limits.
#[tokio::test]
async fn domain_throttle_shared_between_instances_postgres() {
    let Some(w) = Wire::start(Backend::Postgres, &["--throttle", "cloud-office"]) else {
        return;
    };
    let second = SecondInstance::start(&w, &["--throttle", "cloud-office"]);
    w.as_domain_admin();
    start_of_minute_window().await;
    let form = |body: &str| {
        Some((
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
        ))
    };
    let json = [("Accept", "application/json")];
    // One domain write on each instance, then a third on either is refused.
    for (i, base) in [w.root(), second.root.clone()].into_iter().enumerate() {
        let r = w
            .raw_url(
                "POST",
                &format!("{base}/v1/customers/me/domains/shared{i}.example"),
                &json,
                form("serviceType=exchange&exchangeMaxNumMailboxes=1"),
            )
            .await;
        assert_eq!(r.status, 200, "domain write {i}: {}", r.body);
    }
    for base in [w.root(), second.root.clone()] {
        let r = w
            .raw_url(
                "PUT",
                &format!("{base}/v1/customers/me/domains/shared0.example"),
                &json,
                form("exchangeMaxNumMailboxes=2"),
            )
            .await;
        r.fault(
            403,
            "unauthorizedFault",
            Some("Exceeded request limits"),
            &base,
        );
    }
    // Alternate domains: the same, with their own counter.
    let alt = format!("/v1{D}/alternatedomains");
    for (i, base) in [second.root.clone(), w.root()].into_iter().enumerate() {
        let r = w
            .raw_url(
                "POST",
                &format!("{base}{alt}/sharedalias{i}.example"),
                &json,
                form("type=DomainAlias"),
            )
            .await;
        assert_eq!(r.status, 200, "alternate-domain write {i}: {}", r.body);
    }
    let r = w
        .raw_url(
            "DELETE",
            &format!("{}{alt}/sharedalias0.example", second.root),
            &json,
            None,
        )
        .await;
    r.fault(
        403,
        "unauthorizedFault",
        Some("Exceeded request limits"),
        "third alternate-domain write",
    );
    drop(second);
    w.finish();
}
