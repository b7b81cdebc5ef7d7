//! Every endpoint and rule through the HTTP layer, on SQLite and on the
//! real PostgreSQL (`DIRSYNC_TEST_PG_URL`, a fresh database per test).

mod common;

use axum::http::StatusCode;
use cloudoffice_api::messages::*;
use cloudoffice_api::RuleViolation;
use common::Env;
use serde_json::json;

const MB: &str = "/customers/me/domains/example.com/ex/mailboxes";
const RS: &str = "/customers/me/domains/example.com/rs/mailboxes";
const AL: &str = "/customers/me/domains/example.com/rs/aliases";
const CT: &str = "/customers/me/domains/example.com/ex/contacts";
const DL: &str = "/customers/me/domains/example.com/ex/distributionlists";

fn ok(r: &common::Resp, what: &str) {
    assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.json);
}

fn fault(r: &common::Resp, status: u16, message: &str, what: &str) {
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.json);
    assert_eq!(r.message(), message, "{what}: {}", r.json);
    assert_eq!(
        r.headers
            .get("x-error-message")
            .and_then(|v| v.to_str().ok()),
        Some(message),
        "{what}: x-error-message header"
    );
}

/// A write answered 200 with the documented empty body; then the object as
/// a GET of `path` answers it.
async fn wrote(env: &Env, r: &common::Resp, what: &str, path: &str) -> common::Resp {
    ok(r, what);
    assert_eq!(
        r.json,
        serde_json::Value::Null,
        "{what}: a write answers an empty body"
    );
    let g = env.req("GET", path, None).await;
    ok(&g, &format!("{what}: read back"));
    g
}

async fn endpoints(env: &Env) {
    // Domains.
    let r = env.req("GET", "/customers/me/domains", None).await;
    ok(&r, "list domains");
    assert_eq!(r.json["total"], 3);
    let names: Vec<&str> = r.json["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["example.com", "example.org", "rsonly.com"]);
    let r = env
        .req("GET", "/customers/100001/domains/Example.COM", None)
        .await;
    ok(&r, "get domain by account number, mixed case");
    assert_eq!(r.json["serviceType"], "both");
    assert_eq!(r.json["exchangeMaxNumMailboxes"], 3);
    assert_eq!(r.json["aliases"], json!(["example.net"]));
    assert_eq!(r.json["acceptedDomains"], json!(["example.org"]));

    // Exchange mailbox CRUD.
    let r = env
        .form("POST", &format!("{MB}/jane.doe"), "displayName=Jane+Doe&firstName=Jane&lastName=Doe&size=2048&jobTitle=Engineer&city=Blacksburg&customID=E42&password=Passw0rd%21")
        .await;
    let r = wrote(env, &r, "add ex mailbox", &format!("{MB}/jane.doe")).await;
    assert_eq!(r.json["displayName"], "Jane Doe");
    assert_eq!(r.json["contactInfo"]["city"], "Blacksburg");
    assert_eq!(r.json["contactInfo"]["jobTitle"], "Engineer");
    assert_eq!(r.json["contactInfo"]["firstName"], "Jane");
    assert_eq!(r.json["contactInfo"]["customID"], "E42");
    assert_eq!(
        r.json["emailAddressList"],
        json!([{"address": "jane.doe@example.com", "replyTo": true}, {"address": "jane.doe@example.net", "replyTo": false}])
    );
    let r = env.req("GET", &format!("{MB}/JANE.DOE"), None).await;
    ok(&r, "get ex mailbox case-insensitively");
    assert_eq!(r.json["size"], 2048);
    let r = env
        .form(
            "PUT",
            &format!("{MB}/jane.doe"),
            "displayName=Jane+Q.+Doe&enabled=false&isHidden=true&title=&department=R%26D",
        )
        .await;
    let r = wrote(env, &r, "edit ex mailbox", &format!("{MB}/jane.doe")).await;
    assert_eq!(r.json["displayName"], "Jane Q. Doe");
    assert_eq!(r.json["enabled"], false);
    assert_eq!(r.json["isHidden"], true);
    assert!(
        r.json["contactInfo"].get("jobTitle").is_none(),
        "empty string clears: {}",
        r.json
    );
    assert_eq!(r.json["contactInfo"]["department"], "R&D");
    let r = env
        .form("PUT", &format!("{MB}/jane.doe"), "name=jane.doe&initials=Q")
        .await;
    ok(&r, "edit with unchanged name");

    // Alternate addresses.
    let r = env
        .req(
            "POST",
            &format!("{MB}/jane.doe/emailaddresses/jd@example.com"),
            None,
        )
        .await;
    ok(&r, "add alternate in primary domain");
    let r = env
        .req(
            "POST",
            &format!("{MB}/jane.doe/emailaddresses/jane@example.org"),
            None,
        )
        .await;
    ok(&r, "add alternate in accepted domain");
    let r = env
        .req("GET", &format!("{MB}/jane.doe/emailaddresses"), None)
        .await;
    ok(&r, "list addresses");
    let addrs: Vec<&str> = r.json["emailAddressList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addrs,
        [
            "jane.doe@example.com",
            "jane.doe@example.net",
            "jane@example.org",
            "jd@example.com"
        ]
    );
    let r = env
        .req(
            "DELETE",
            &format!("{MB}/jane.doe/emailaddresses/JD@example.com"),
            None,
        )
        .await;
    ok(&r, "remove alternate");
    let r = env
        .req(
            "DELETE",
            &format!("{MB}/jane.doe/emailaddresses/jd@example.com"),
            None,
        )
        .await;
    fault(&r, 404, "Email address not found.", "remove twice");
    let r = env
        .req(
            "DELETE",
            &format!("{MB}/jane.doe/emailaddresses/jane.doe@example.com"),
            None,
        )
        .await;
    fault(
        &r,
        400,
        "The primary address cannot be removed.",
        "remove primary",
    );

    // Paging.
    for n in ["a1", "a2"] {
        ok(
            &env.form(
                "POST",
                &format!("{MB}/{n}"),
                "displayName=X&password=Passw0rd%21",
            )
            .await,
            "add",
        );
    }
    let r = env.req("GET", &format!("{MB}?size=2&offset=0"), None).await;
    ok(&r, "page 1");
    assert_eq!(
        (
            r.json["size"].as_u64(),
            r.json["offset"].as_u64(),
            r.json["total"].as_u64()
        ),
        (Some(2), Some(0), Some(3))
    );
    let names: Vec<&str> = r.json["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a1", "a2"]);
    let r = env.req("GET", &format!("{MB}?size=2&offset=2"), None).await;
    assert_eq!(r.json["mailboxes"][0]["name"], "jane.doe");
    // A list item has the documented summary only; fields= adds extras.
    assert_eq!(
        r.json["mailboxes"][0],
        json!({"name": "jane.doe", "displayName": "Jane Q. Doe"})
    );
    let r = env
        .req(
            "GET",
            &format!("{MB}?size=2&offset=2&fields=size,currentUsage"),
            None,
        )
        .await;
    assert_eq!(
        r.json["mailboxes"][0],
        json!({"name": "jane.doe", "displayName": "Jane Q. Doe", "size": 2048, "currentUsage": 0})
    );
    let r = env.req("GET", &format!("{MB}?startswith=JA"), None).await;
    assert_eq!(r.json["total"], 1, "{}", r.json);
    let r = env.req("GET", &format!("{MB}?contains=q.+d"), None).await;
    assert_eq!(
        r.json["total"], 1,
        "contains searches display names: {}",
        r.json
    );
    let r = env.req("GET", &format!("{MB}?enabled=false"), None).await;
    assert_eq!(r.json["total"], 1, "{}", r.json);
    let r = env.req("GET", &format!("{MB}?enabled=True"), None).await;
    assert_eq!(r.json["total"], 2, "{}", r.json);
    fault(
        &env.req("GET", &format!("{MB}?startswith=a&contains=b"), None)
            .await,
        400,
        "Only one of startswith and contains may be given.",
        "both filters",
    );
    let r = env.req("GET", &format!("{MB}?size=250"), None).await;
    ok(&r, "size 250");
    fault(
        &env.req("GET", &format!("{MB}?size=251"), None).await,
        400,
        "The page size 251 is invalid.",
        "size 251",
    );
    fault(
        &env.req("GET", &format!("{MB}?size=0"), None).await,
        400,
        "The page size 0 is invalid.",
        "size 0",
    );

    let r = env.req("DELETE", &format!("{MB}/a2"), None).await;
    ok(&r, "delete ex mailbox");
    assert_eq!(
        env.req("GET", &format!("{MB}/a2"), None).await.status,
        StatusCode::NOT_FOUND
    );

    // Rackspace Email mailboxes.
    let r = env
        .form(
            "POST",
            &format!("{RS}/bob"),
            "displayName=Bob&size=1024&businessNumber=555&password=Passw0rd%21",
        )
        .await;
    let r = wrote(env, &r, "add rs mailbox", &format!("{RS}/bob")).await;
    assert_eq!(r.json["name"], "bob");
    assert!(r.json.get("isHidden").is_none());
    let r = env
        .form("PUT", &format!("{RS}/bob"), "lastName=Builder")
        .await;
    let r = wrote(env, &r, "edit rs", &format!("{RS}/bob")).await;
    assert_eq!(r.json["contactInfo"]["lastName"], "Builder");
    assert_eq!(r.json["contactInfo"]["businessNumber"], "555");
    let r = env.req("GET", RS, None).await;
    ok(&r, "list rs");
    assert_eq!(
        r.json["rsMailboxes"][0],
        json!({"name": "bob", "displayName": "Bob"})
    );
    assert_eq!(r.json["total"], 1);
    ok(
        &env.req("DELETE", &format!("{RS}/bob"), None).await,
        "delete rs",
    );
    assert_eq!(env.req("GET", RS, None).await.json["total"], 0);

    // Aliases.
    let r = env
        .form(
            "POST",
            &format!("{AL}/info"),
            "aliasEmails=jane.doe%40example.com%2C+a1%40example.com",
        )
        .await;
    let r = wrote(env, &r, "add alias", &format!("{AL}/info")).await;
    assert_eq!(
        r.json["emailAddressList"],
        json!({"emailAddress": ["jane.doe@example.com", "a1@example.com"]})
    );
    let r = env
        .form("PUT", &format!("{AL}/info"), "aliasEmails=a1%40example.com")
        .await;
    ok(&r, "edit alias");
    ok(
        &env.req("GET", &format!("{AL}/INFO"), None).await,
        "get alias",
    );
    let r = env.req("GET", AL, None).await;
    assert_eq!(
        r.json["aliases"][0],
        json!({"name": "info", "numberOfMembers": 1, "singleMemberName": "a1@example.com"})
    );
    fault(
        &env.form("POST", &format!("{AL}/empty"), "aliasEmails=")
            .await,
        400,
        "An alias must point to a valid email address.",
        "alias without targets",
    );
    ok(
        &env.req("DELETE", &format!("{AL}/info"), None).await,
        "delete alias",
    );
    fault(
        &env.req("GET", &format!("{AL}/info"), None).await,
        404,
        "Alias not found.",
        "deleted alias",
    );

    // Contacts.
    let r = env
        .form(
            "POST",
            &format!("{CT}/ext.partner"),
            "displayName=Partner&externalEmail=partner%40gmail.com&company=Partner+Inc",
        )
        .await;
    let r = wrote(env, &r, "add contact", &format!("{CT}/ext.partner")).await;
    assert_eq!(r.json["externalEmail"], "partner@gmail.com");
    fault(
        &env.form("POST", &format!("{CT}/nomail"), "displayName=X")
            .await,
        400,
        "Missing required field: externalEmail",
        "contact without external address",
    );
    let r = env
        .form(
            "PUT",
            &format!("{CT}/ext.partner"),
            "externalEmail=p2%40gmail.com&isHidden=true",
        )
        .await;
    let r = wrote(env, &r, "edit contact", &format!("{CT}/ext.partner")).await;
    assert_eq!(r.json["isHidden"], true);
    assert_eq!(r.json["externalEmail"], "p2@gmail.com");
    assert_eq!(
        env.req("GET", CT, None).await.json["contacts"][0],
        json!({"name": "ext.partner", "displayName": "Partner"})
    );

    // Distribution lists (JSON).
    let r = env
        .json("POST", &format!("{DL}/sales"), json!({"DisplayName": "Sales", "Members": [{"Value": "jane.doe@example.com"}, {"Value": "ext.partner@example.com"}], "EmailAddresses": [{"Value": "sales@example.org"}]}))
        .await;
    let r = wrote(env, &r, "add list", &format!("{DL}/sales")).await;
    assert_eq!(
        r.json["Members"],
        json!([{"Value": "ext.partner@example.com"}, {"Value": "jane.doe@example.com"}])
    );
    assert_eq!(r.json["MemberCount"], 2);
    assert_eq!(r.json["PrimarySmtpAddress"], "sales@example.com");
    assert_eq!(
        r.json["EmailAddresses"][2],
        json!({"AddressPrimary": false, "AddressProtocol": "smtp", "Value": "sales@example.org"})
    );
    let r = env
        .req("POST", &format!("{DL}/sales/members/a1@example.com"), None)
        .await;
    let r = wrote(env, &r, "add member", &format!("{DL}/sales/members")).await;
    assert_eq!(r.json["members"].as_array().unwrap().len(), 3);
    ok(
        &env.req(
            "DELETE",
            &format!("{DL}/sales/members/ext.partner@example.com"),
            None,
        )
        .await,
        "remove member",
    );
    fault(
        &env.req(
            "DELETE",
            &format!("{DL}/sales/members/nobody@example.com"),
            None,
        )
        .await,
        404,
        "Member not found.",
        "remove non-member",
    );
    fault(
        &env.req(
            "POST",
            &format!("{DL}/sales/members/ghost@example.com"),
            None,
        )
        .await,
        400,
        "The member 'ghost@example.com' was not found in control panel.",
        "unknown member",
    );
    let r = env.req("GET", &format!("{DL}/sales/members"), None).await;
    assert_eq!(
        r.json["members"],
        json!(["a1@example.com", "jane.doe@example.com"])
    );
    let r = env.json("PUT", &format!("{DL}/sales"), json!({"DisplayName": "Sales Team", "Members": [{"Action": "Remove", "Value": "jane.doe@example.com"}], "EmailAddresses": [{"Action": "Remove", "Value": "sales@example.org"}]})).await;
    let r = wrote(env, &r, "edit list", &format!("{DL}/sales")).await;
    assert_eq!(r.json["Members"], json!([{"Value": "a1@example.com"}]));
    assert_eq!(r.json["EmailAddresses"].as_array().unwrap().len(), 2);
    let r = env.req("GET", DL, None).await;
    assert_eq!(r.json["distributionlists"][0]["displayName"], "Sales Team");
    // Deleting a mailbox removes its memberships.
    ok(
        &env.req("DELETE", &format!("{MB}/a1"), None).await,
        "delete member mailbox",
    );
    assert_eq!(
        env.req("GET", &format!("{DL}/sales"), None).await.json["Members"],
        json!([])
    );
    ok(
        &env.req("DELETE", &format!("{DL}/sales"), None).await,
        "delete list",
    );
    ok(
        &env.req("DELETE", &format!("{CT}/ext.partner"), None).await,
        "delete contact",
    );
    fault(
        &env.req("GET", &format!("{CT}/ext.partner"), None).await,
        404,
        "Contact not found.",
        "deleted contact",
    );

    // Audit log: every change with its key.
    let log = officed::admin::audit_log(&env.db, 500).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "ex_mailbox.create",
        "ex_mailbox.edit",
        "ex_mailbox.delete",
        "ex_mailbox.address.add",
        "ex_mailbox.address.remove",
        "rs_mailbox.create",
        "rs_alias.edit",
        "ex_contact.delete",
        "ex_list.member.add",
        "ex_list.delete",
        "domain.create",
        "api_key.issue",
    ] {
        assert!(actions.contains(&a), "audit log lacks {a}: {actions:?}");
    }
    let create = log
        .iter()
        .find(|e| e.action == "ex_mailbox.create" && e.target == "jane.doe@example.com")
        .unwrap();
    assert_eq!(create.actor, format!("key:{}", env.key));
}
both_backends!(endpoints);

async fn rule_licences(env: &Env) {
    for n in ["m1", "m2", "m3"] {
        ok(
            &env.form(
                "POST",
                &format!("{MB}/{n}"),
                "displayName=M&password=Passw0rd%21",
            )
            .await,
            n,
        );
    }
    let r = env
        .form(
            "POST",
            &format!("{MB}/m4"),
            "displayName=M&password=Passw0rd%21",
        )
        .await;
    fault(&r, 400, MAILBOX_LIMIT_EXCEEDED, "4th of 3");
    assert_eq!(r.fault_kind(), "appsFault");
    assert_eq!(
        RuleViolation::classify(&r.message()),
        Some(RuleViolation::MailboxLimitExceeded)
    );
    // Disabled mailboxes still count.
    ok(
        &env.form("PUT", &format!("{MB}/m1"), "enabled=false").await,
        "disable",
    );
    fault(
        &env.form(
            "POST",
            &format!("{MB}/m4"),
            "displayName=M&password=Passw0rd%21",
        )
        .await,
        400,
        MAILBOX_LIMIT_EXCEEDED,
        "disabled counts",
    );
    // Licences are per service: Rackspace Email has its own 2.
    ok(
        &env.form(
            "POST",
            &format!("{RS}/r1"),
            "displayName=R&password=Passw0rd%21&size=2048",
        )
        .await,
        "rs 1",
    );
    ok(
        &env.form(
            "POST",
            &format!("{RS}/r2"),
            "displayName=R&password=Passw0rd%21&size=2048",
        )
        .await,
        "rs 2",
    );
    fault(
        &env.form(
            "POST",
            &format!("{RS}/r3"),
            "displayName=R&password=Passw0rd%21&size=2048",
        )
        .await,
        400,
        MAILBOX_LIMIT_EXCEEDED,
        "rs 3",
    );
    // More licences (admin) lift the limit.
    officed::admin::set_licences(&env.db, "example.com", Some(4), None)
        .await
        .unwrap();
    ok(
        &env.form(
            "POST",
            &format!("{MB}/m4"),
            "displayName=M&password=Passw0rd%21",
        )
        .await,
        "after licence change",
    );
    let d = env
        .req("GET", "/customers/me/domains/example.com", None)
        .await;
    assert_eq!(
        (
            d.json["exchangeUsedStorage"].as_u64(),
            d.json["rsEmailUsedStorage"].as_u64()
        ),
        (Some(4), Some(2))
    );
    counters_match_the_mailboxes(env).await;
}
both_backends!(rule_licences);

/// The licence counters kept on each domain equal the live mailboxes.
async fn counters_match_the_mailboxes(env: &Env) {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT d.name, d.ex_used, d.rs_used, \
         (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = d.id AND m.service = 'ex' AND m.deleted_at IS NULL) AS ex_live, \
         (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = d.id AND m.service = 'rs' AND m.deleted_at IS NULL) AS rs_live \
         FROM domains d",
    )
    .fetch_all(&env.db.pool)
    .await
    .unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        let name: String = r.get("name");
        let got: (i64, i64) = (r.get("ex_used"), r.get("rs_used"));
        let want: (i64, i64) = (r.get("ex_live"), r.get("rs_live"));
        assert_eq!(got, want, "licence counters of {name}");
    }
}

async fn rule_unique_across_services(env: &Env) {
    ok(
        &env.form(
            "POST",
            &format!("{MB}/jdoe"),
            "displayName=J&password=Passw0rd%21",
        )
        .await,
        "ex jdoe",
    );
    let r = env
        .form(
            "POST",
            &format!("{RS}/JDoe"),
            "displayName=J&password=Passw0rd%21&size=2048",
        )
        .await;
    fault(
        &r,
        400,
        &user_exists_in_another_service("JDoe", RSEMAIL_MAILBOXES),
        "rs with same address",
    );
    assert_eq!(
        RuleViolation::classify(&r.message()),
        Some(RuleViolation::UserExistsInAnotherService)
    );
    fault(
        &env.form(
            "POST",
            &format!("{MB}/jdoe"),
            "displayName=J&password=Passw0rd%21",
        )
        .await,
        400,
        &user_exists_in_another_service("jdoe", EXCHANGE_MAILBOXES),
        "same service twice",
    );
    fault(
        &env.form("POST", &format!("{AL}/jdoe"), "aliasEmails=x%40y.com")
            .await,
        400,
        &object_exists_in_another_service("alias", "jdoe", RSEMAIL_ALIASES),
        "alias",
    );
    fault(
        &env.form(
            "POST",
            &format!("{CT}/jdoe"),
            "displayName=J&externalEmail=x%40y.com",
        )
        .await,
        400,
        &object_exists_in_another_service("contact", "jdoe", EXCHANGE_CONTACTS),
        "contact",
    );
    let r = env
        .json("POST", &format!("{DL}/jdoe"), json!({"DisplayName": "J"}))
        .await;
    fault(&r, 400, &group_exists_in_another_service("jdoe"), "list");
    assert_eq!(
        RuleViolation::classify(&r.message()),
        Some(RuleViolation::GroupExistsInAnotherService)
    );
    // An alternate address blocks the same address as a primary elsewhere.
    ok(
        &env.req(
            "POST",
            &format!("{MB}/jdoe/emailaddresses/John@example.org"),
            None,
        )
        .await,
        "alt in accepted domain",
    );
    fault(
        &env.form(
            "POST",
            "/customers/me/domains/example.org/ex/mailboxes/john",
            "displayName=J&password=Passw0rd%21",
        )
        .await,
        400,
        &user_exists_in_another_service("john", EXCHANGE_MAILBOXES),
        "primary equal to another's alternate",
    );
    ok(
        &env.form(
            "POST",
            &format!("{MB}/other"),
            "displayName=O&password=Passw0rd%21",
        )
        .await,
        "other",
    );
    let r = env
        .req(
            "POST",
            &format!("{MB}/other/emailaddresses/JOHN@EXAMPLE.ORG"),
            None,
        )
        .await;
    fault(
        &r,
        400,
        &address_in_use("JOHN@EXAMPLE.ORG"),
        "alternate used by another",
    );
    let r = env
        .json(
            "POST",
            &format!("{DL}/team"),
            json!({"DisplayName": "Team", "EmailAddresses": [{"Value": "jdoe@example.com"}]}),
        )
        .await;
    fault(
        &r,
        400,
        &address_in_use("jdoe@example.com"),
        "list alternate used",
    );
    // Another customer may use the same address in its own domain space.
    ok(
        &env.req_b(
            "POST",
            "/customers/me/domains/other.com/ex/mailboxes/jdoe",
            Some((
                "application/x-www-form-urlencoded",
                "displayName=J&password=Passw0rd%21".into(),
            )),
        )
        .await,
        "B's own jdoe",
    );
}
both_backends!(rule_unique_across_services);

async fn rule_alternate_domains(env: &Env) {
    ok(
        &env.form(
            "POST",
            &format!("{MB}/amy"),
            "displayName=Amy&password=Passw0rd%21",
        )
        .await,
        "amy",
    );
    let r = env
        .req(
            "POST",
            &format!("{MB}/amy/emailaddresses/amy@elsewhere.com"),
            None,
        )
        .await;
    fault(&r, 400, ALTERNATE_ADDRESS_DOMAIN, "foreign domain");
    assert_eq!(
        RuleViolation::classify(&r.message()),
        Some(RuleViolation::AlternateAddressDomain)
    );
    fault(
        &env.req(
            "POST",
            &format!("{MB}/amy/emailaddresses/a.m.y@example.net"),
            None,
        )
        .await,
        400,
        ALTERNATE_ADDRESS_DOMAIN,
        "domain alias",
    );
    fault(
        &env.req(
            "POST",
            &format!("{MB}/amy/emailaddresses/amy@rsonly.com"),
            None,
        )
        .await,
        400,
        ALTERNATE_ADDRESS_DOMAIN,
        "own but not accepted",
    );
    fault(
        &env.req(
            "POST",
            &format!("{MB}/amy/emailaddresses/amy@other.com"),
            None,
        )
        .await,
        400,
        ALTERNATE_ADDRESS_DOMAIN,
        "other customer's domain",
    );
    let r = env
        .json(
            "POST",
            &format!("{DL}/l1"),
            json!({"DisplayName": "L1", "EmailAddresses": [{"Value": "l1@example.net"}]}),
        )
        .await;
    fault(
        &r,
        400,
        ALTERNATE_ADDRESS_DOMAIN,
        "list alternate in alias domain",
    );
    ok(
        &env.req(
            "POST",
            &format!("{MB}/amy/emailaddresses/amy.w@example.com"),
            None,
        )
        .await,
        "primary domain",
    );
}
both_backends!(rule_alternate_domains);

async fn rule_not_authorized_and_isolation(env: &Env) {
    // A's key on B's domain answers exactly like a domain that does not exist.
    let theirs = env
        .req("GET", "/customers/me/domains/other.com", None)
        .await;
    let none = env
        .req("GET", "/customers/me/domains/nowhere.com", None)
        .await;
    fault(&theirs, 403, NOT_AUTHORIZED, "other customer's domain");
    assert_eq!(
        theirs.json.to_string().replace("other.com", "X"),
        none.json.to_string().replace("nowhere.com", "X")
    );
    let theirs = env
        .form(
            "POST",
            "/customers/me/domains/other.com/ex/mailboxes/x",
            "displayName=X&password=Passw0rd%21",
        )
        .await;
    let none = env
        .form(
            "POST",
            "/customers/me/domains/nowhere.com/ex/mailboxes/x",
            "displayName=X&password=Passw0rd%21",
        )
        .await;
    fault(
        &theirs,
        403,
        NOT_AUTHORIZED,
        "create in other customer's domain",
    );
    assert_eq!(
        theirs.json.to_string().replace("other.com", "X"),
        none.json.to_string().replace("nowhere.com", "X")
    );
    assert_eq!(
        RuleViolation::classify(&theirs.message()),
        Some(RuleViolation::NotAuthorized)
    );
    // Another customer's account number answers like one that does not exist.
    let theirs = env.req("GET", "/customers/200002/domains", None).await;
    let none = env.req("GET", "/customers/999999/domains", None).await;
    fault(&theirs, 403, NOT_AUTHORIZED, "other customer");
    assert_eq!(
        theirs.json.to_string().replace("200002", "X"),
        none.json.to_string().replace("999999", "X")
    );
    // B sees only its own domains.
    let r = env.req_b("GET", "/customers/me/domains", None).await;
    assert_eq!(r.json["total"], 1);
    // A service the domain does not have.
    fault(
        &env.form(
            "POST",
            "/customers/me/domains/rsonly.com/ex/mailboxes/x",
            "displayName=X&password=Passw0rd%21",
        )
        .await,
        403,
        NOT_AUTHORIZED,
        "no exchange service",
    );
    fault(
        &env.form(
            "POST",
            "/customers/me/domains/example.org/rs/mailboxes/x",
            "displayName=X&password=Passw0rd%21&size=2048",
        )
        .await,
        403,
        NOT_AUTHORIZED,
        "no rsemail service",
    );
}
both_backends!(rule_not_authorized_and_isolation);

async fn rule_service_id_and_rename(env: &Env) {
    ok(
        &env.form(
            "POST",
            &format!("{MB}/userA"),
            "displayName=User+A&password=Passw0rd%21",
        )
        .await,
        "userA",
    );
    ok(
        &env.req(
            "POST",
            &format!("{MB}/userA/emailaddresses/ua@example.com"),
            None,
        )
        .await,
        "alt",
    );
    let r = env
        .form("PUT", &format!("{MB}/userA"), "name=userB&displayName=B")
        .await;
    fault(
        &r,
        400,
        &service_id_cannot_change("userA", "userB"),
        "edit rename",
    );
    assert_eq!(
        RuleViolation::classify(&r.message()),
        Some(RuleViolation::ServiceIdCannotChange)
    );
    assert_eq!(
        env.req("GET", &format!("{MB}/userA"), None).await.json["displayName"],
        "User A",
        "nothing changed"
    );
    fault(
        &env.form("PUT", &format!("{CT}/nobody"), "name=x").await,
        400,
        &service_id_cannot_change("nobody", "x"),
        "contact rename",
    );
    // The administrator's rename works and is logged.
    officed::admin::rename_mailbox(&env.db, "example.com", true, "userA", "userB")
        .await
        .unwrap();
    let r = env.req("GET", &format!("{MB}/userB"), None).await;
    ok(&r, "renamed");
    let addrs: Vec<&str> = r.json["emailAddressList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addrs,
        ["userB@example.com", "userB@example.net", "ua@example.com"]
    );
    assert_eq!(
        env.req("GET", &format!("{MB}/userA"), None).await.status,
        StatusCode::NOT_FOUND
    );
    ok(
        &env.form(
            "POST",
            &format!("{MB}/userA"),
            "displayName=New+A&password=Passw0rd%21",
        )
        .await,
        "old name free again",
    );
    let log = officed::admin::audit_log(&env.db, 50).await.unwrap();
    let e = log
        .iter()
        .find(|e| e.action == "ex_mailbox.rename")
        .expect("rename logged");
    assert_eq!(e.actor, "admin");
    assert_eq!(e.detail, json!({"from": "userA", "to": "userB"}));
}
both_backends!(rule_service_id_and_rename);

/// The API's rename: only keys with the rename permission; keeps alternate
/// addresses and list memberships; the new address must be free across the
/// customer and both services; audited with the key; edits still refuse.
async fn rule_api_rename(env: &Env) {
    let admin_key = officed::admin::issue_key_with(
        &env.db,
        &env.master,
        "100001",
        "renames",
        officed::admin::KeyPermissions {
            allow_rename: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let as_admin = |method: &'static str, path: String, form: &'static str| {
        let k = admin_key.clone();
        async move {
            common::send(
                &env.app,
                &k.user_key,
                &k.secret,
                method,
                &path,
                Some(("application/x-www-form-urlencoded", form.to_string())),
            )
            .await
        }
    };
    ok(
        &env.form(
            "POST",
            &format!("{MB}/userA"),
            "displayName=User+A&password=Passw0rd%21",
        )
        .await,
        "userA",
    );
    ok(
        &env.req(
            "POST",
            &format!("{MB}/userA/emailaddresses/ua@example.com"),
            None,
        )
        .await,
        "alt",
    );
    ok(
        &env.json(
            "POST",
            &format!("{DL}/sales"),
            json!({"DisplayName": "Sales", "Members": [{"Value": "userA@example.com"}]}),
        )
        .await,
        "list",
    );
    ok(
        &env.form(
            "POST",
            &format!("{RS}/taken"),
            "displayName=Taken&password=Passw0rd%21&size=2048",
        )
        .await,
        "rs mailbox",
    );

    // A key without the permission gets the API's unauthorised-action fault.
    let r = env
        .form("POST", &format!("{MB}/userA/rename"), "newName=userB")
        .await;
    fault(&r, 403, NOT_AUTHORIZED, "rename without permission");
    assert_eq!(r.fault_kind(), "unauthorizedFault");
    ok(
        &env.req("GET", &format!("{MB}/userA"), None).await,
        "unchanged",
    );
    // Another customer's domain answers as one that does not exist.
    fault(
        &as_admin(
            "POST",
            "/customers/me/domains/other.com/ex/mailboxes/x/rename".into(),
            "newName=y",
        )
        .await,
        403,
        NOT_AUTHORIZED,
        "other customer",
    );
    // The new address must be free across the customer and both services.
    fault(
        &as_admin("POST", format!("{MB}/userA/rename"), "newName=taken").await,
        400,
        &user_exists_in_another_service("taken", EXCHANGE_MAILBOXES),
        "collision",
    );
    fault(
        &as_admin("POST", format!("{MB}/userA/rename"), "newName=ua").await,
        400,
        &user_exists_in_another_service("ua", EXCHANGE_MAILBOXES),
        "collision with an alternate address",
    );
    fault(
        &as_admin("POST", format!("{MB}/nobody/rename"), "newName=x").await,
        404,
        &env.req("GET", &format!("{MB}/nobody"), None)
            .await
            .message(),
        "missing mailbox",
    );
    assert_eq!(
        as_admin("POST", format!("{MB}/userA/rename"), "")
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "newName missing"
    );
    assert_eq!(
        as_admin("POST", format!("{MB}/userA/rename"), "newName=bad%20name")
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "invalid new name"
    );
    // An edit still cannot rename, whatever the key.
    fault(
        &as_admin("PUT", format!("{MB}/userA"), "name=userB").await,
        400,
        &service_id_cannot_change("userA", "userB"),
        "edit rename with the admin key",
    );

    let r = as_admin("POST", format!("{MB}/userA/rename"), "newName=userB").await;
    let r = wrote(env, &r, "renamed", &format!("{MB}/userB")).await;
    assert_eq!(r.json["name"], "userB");
    let addrs: Vec<&str> = r.json["emailAddressList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addrs,
        ["userB@example.com", "userB@example.net", "ua@example.com"]
    );
    assert_eq!(
        env.req("GET", &format!("{MB}/userA"), None).await.status,
        StatusCode::NOT_FOUND,
        "old name gone"
    );
    assert_eq!(
        env.req("GET", &format!("{DL}/sales/members"), None)
            .await
            .json["members"],
        json!(["userB@example.com"]),
        "list membership kept"
    );
    ok(
        &as_admin("POST", format!("{RS}/taken/rename"), "newName=kept").await,
        "rs rename",
    );
    ok(
        &env.req("GET", &format!("{RS}/kept"), None).await,
        "rs new name",
    );
    let log = officed::admin::audit_log(&env.db, 50).await.unwrap();
    let e = log
        .iter()
        .find(|e| e.action == "ex_mailbox.rename")
        .expect("rename logged");
    assert_eq!(e.actor, format!("key:{}", admin_key.user_key));
    assert_eq!(e.target, "userA@example.com");
    assert_eq!(e.detail, json!({"from": "userA", "to": "userB"}));
    assert!(log
        .iter()
        .any(|e| e.action == "rs_mailbox.rename"
            && e.detail == json!({"from": "taken", "to": "kept"})));
    assert_eq!(
        log.iter().filter(|e| e.action.ends_with(".rename")).count(),
        2,
        "refused renames change nothing and log nothing"
    );
}
both_backends!(rule_api_rename);

async fn rule_soft_delete(env: &Env) {
    ok(
        &env.form(
            "POST",
            &format!("{MB}/gone"),
            "displayName=Gone&size=512&password=Passw0rd%21",
        )
        .await,
        "create",
    );
    ok(
        &env.req(
            "POST",
            &format!("{MB}/gone/emailaddresses/g@example.org"),
            None,
        )
        .await,
        "alt",
    );
    ok(
        &env.req("DELETE", &format!("{MB}/gone"), None).await,
        "delete",
    );
    let r = env.req("GET", &format!("{MB}/gone"), None).await;
    fault(&r, 404, "Mailbox not found.", "deleted");
    assert!(
        r.json["itemNotFoundFault"]["details"]
            .as_str()
            .unwrap()
            .contains("recoverDeleted=true"),
        "{}",
        r.json
    );
    // Recover: addresses and fields come back.
    let r = env
        .form("POST", &format!("{MB}/gone"), "recoverDeleted=true")
        .await;
    let r = wrote(env, &r, "recover", &format!("{MB}/gone")).await;
    assert_eq!(r.json["size"], 512);
    assert!(r.json["emailAddressList"]
        .to_string()
        .contains("g@example.org"));
    fault(
        &env.form("POST", &format!("{MB}/never"), "recoverDeleted=true")
            .await,
        404,
        "Mailbox not found.",
        "recover unknown",
    );
    // Deleted addresses are free; a recovery then cannot take them back.
    ok(
        &env.req("DELETE", &format!("{MB}/gone"), None).await,
        "delete again",
    );
    ok(
        &env.form(
            "POST",
            &format!("{MB}/gone"),
            "displayName=New+Gone&password=Passw0rd%21",
        )
        .await,
        "new owner of the name",
    );
    fault(
        &env.form("POST", &format!("{MB}/gone"), "recoverDeleted=true")
            .await,
        400,
        &user_exists_in_another_service("gone", EXCHANGE_MAILBOXES),
        "recover onto a taken address",
    );
    // Recovery respects licences.
    ok(
        &env.req("DELETE", &format!("{MB}/gone"), None).await,
        "delete new",
    );
    for n in ["f1", "f2", "f3"] {
        ok(
            &env.form(
                "POST",
                &format!("{MB}/{n}"),
                "displayName=F&password=Passw0rd%21",
            )
            .await,
            n,
        );
    }
    fault(
        &env.form("POST", &format!("{MB}/gone"), "recoverDeleted=true")
            .await,
        400,
        MAILBOX_LIMIT_EXCEEDED,
        "recover over licences",
    );
    counters_match_the_mailboxes(env).await;
    // After 14 days a deleted mailbox can no longer be recovered.
    let fifteen_days_ago = officed::store::now_ms() - 15 * 24 * 3600 * 1000;
    sqlx::query("UPDATE mailboxes SET deleted_at = $1 WHERE deleted_at IS NOT NULL")
        .bind(fifteen_days_ago)
        .execute(&env.db.pool)
        .await
        .unwrap();
    let r = env.req("GET", &format!("{MB}/gone"), None).await;
    assert!(!r.json.to_string().contains("recoverDeleted"), "{}", r.json);
    fault(
        &env.form("POST", &format!("{MB}/gone"), "recoverDeleted=true")
            .await,
        404,
        "Mailbox not found.",
        "recover after 14 days",
    );
    // The next delete in the domain purges the rows past the window (both
    // services) and keeps the one it just deleted, recoverable.
    ok(
        &env.req("DELETE", &format!("{MB}/f3"), None).await,
        "delete f3",
    );
    sqlx::query("UPDATE mailboxes SET deleted_at = $1 WHERE name = 'f3'")
        .bind(fifteen_days_ago)
        .execute(&env.db.pool)
        .await
        .unwrap();
    ok(
        &env.req("DELETE", &format!("{MB}/f1"), None).await,
        "delete f1",
    );
    let deleted: Vec<String> =
        sqlx::query_scalar("SELECT name FROM mailboxes WHERE deleted_at IS NOT NULL ORDER BY name")
            .fetch_all(&env.db.pool)
            .await
            .unwrap();
    assert_eq!(deleted, vec!["f1".to_string()]);
    counters_match_the_mailboxes(env).await;
}
both_backends!(rule_soft_delete);

async fn malformed_requests(env: &Env) {
    type Case<'a> = (&'a str, String, Option<(&'a str, String)>);
    let cases: Vec<Case<'_>> = vec![
        (
            "POST",
            format!("{MB}/x"),
            Some((
                "application/x-www-form-urlencoded",
                "displayName=X&enabled=maybe".into(),
            )),
        ),
        (
            "POST",
            format!("{MB}/x"),
            Some((
                "application/x-www-form-urlencoded",
                "displayName=X&size=-1".into(),
            )),
        ),
        (
            "POST",
            format!("{MB}/x"),
            Some((
                "application/x-www-form-urlencoded",
                "displayName=X&bogus=1".into(),
            )),
        ),
        (
            "POST",
            format!("{MB}/x"),
            Some(("application/x-www-form-urlencoded", "%ZZ".into())),
        ),
        (
            "POST",
            format!("{MB}/x"),
            Some(("application/x-www-form-urlencoded", "size=10".into())),
        ),
        (
            "POST",
            format!("{MB}/x"),
            Some((
                "application/x-www-form-urlencoded",
                "displayName=X&size=0".into(),
            )),
        ),
        (
            "POST",
            format!("{MB}/a..b"),
            Some(("application/x-www-form-urlencoded", "displayName=X".into())),
        ),
        (
            "POST",
            format!("{MB}/%FF%FE"),
            Some(("application/x-www-form-urlencoded", "displayName=X".into())),
        ),
        (
            "POST",
            format!("{MB}/{}", "x".repeat(65)),
            Some(("application/x-www-form-urlencoded", "displayName=X".into())),
        ),
        (
            "POST",
            format!("{MB}/x"),
            Some((
                "application/x-www-form-urlencoded",
                "displayName=%01".into(),
            )),
        ),
        ("GET", format!("{MB}?size=abc"), None),
        ("GET", format!("{MB}?offset=-3"), None),
        ("GET", format!("{MB}?bogus=1"), None),
        (
            "POST",
            format!("{DL}/l"),
            Some(("application/json", "{not json".into())),
        ),
        (
            "POST",
            format!("{DL}/l"),
            Some(("application/json", "{\"Members\": \"a\"}".into())),
        ),
        (
            "POST",
            format!("{DL}/l"),
            Some(("application/json", "{\"unknown\": 1}".into())),
        ),
        (
            "POST",
            format!("{DL}/l"),
            Some((
                "application/json",
                "{\"DisplayName\": \"L\", \"Members\": [{\"Value\": \"not an address\"}]}".into(),
            )),
        ),
        (
            "POST",
            format!("{MB}/x/emailaddresses/not-an-address"),
            None,
        ),
        (
            "POST",
            format!("{AL}/x"),
            Some((
                "application/x-www-form-urlencoded",
                "aliasEmails=nope".into(),
            )),
        ),
        (
            "POST",
            format!("{CT}/x"),
            Some((
                "application/x-www-form-urlencoded",
                "externalEmail=nope".into(),
            )),
        ),
    ];
    for (m, p, body) in cases {
        let r = env.req(m, &p, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{m} {p} {body:?}: {}",
            r.json
        );
        assert!(
            matches!(
                r.fault_kind().as_str(),
                "badRequestFault" | "validationFault"
            ),
            "{m} {p}: {}",
            r.json
        );
        assert!(r.headers.get("x-error-message").is_some());
    }
    // Body fields: an unknown one, or a bad value, is a validationFault naming it.
    let r = env
        .form(
            "POST",
            &format!("{MB}/x"),
            "displayName=X&bogus=1&password=Passw0rd%21",
        )
        .await;
    assert_eq!(r.fault_kind(), "validationFault", "{}", r.json);
    assert_eq!(r.message(), "Unknown field: bogus");
    let r = env
        .form(
            "POST",
            &format!("{MB}/x"),
            "displayName=X&enabled=maybe&password=Passw0rd%21",
        )
        .await;
    assert_eq!(r.fault_kind(), "validationFault", "{}", r.json);
    assert_eq!(r.message(), "Invalid value for field: enabled");
    let r = env
        .json(
            "POST",
            &format!("{MB}/x"),
            json!({"displayName": "X", "isHidden": 3}),
        )
        .await;
    assert_eq!(r.fault_kind(), "validationFault", "{}", r.json);
    assert_eq!(r.message(), "Invalid value for field: isHidden");
    let r = env
        .form(
            "POST",
            &format!("{MB}/j%C3%A9r%C3%B4me"),
            "displayName=J&password=Passw0rd%21",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.message(), "The mailbox name 'jérôme' is invalid.");
    assert_eq!(
        r.headers["x-error-message"],
        "The mailbox name 'j?r?me' is invalid."
    );
    let r = env.req("GET", "/customers/me/nothing/here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.json);
    assert_eq!(r.fault_kind(), "itemNotFoundFault");
    let r = env.req("PATCH", &format!("{MB}/x"), None).await;
    assert_eq!(r.status.as_u16(), 405, "{}", r.json);
    assert_eq!(r.fault_kind(), "badRequestFault");
}
both_backends!(malformed_requests);

/// A create answers 200 with an empty body, and a read of the new mailbox
/// gives every field sent (in the documented names, whichever spelling was
/// sent), the domain alias address, both services, form or JSON.
async fn create_answer_is_the_stored_mailbox(env: &Env) {
    for (base, form) in [
        (
            MB,
            "displayName=Ann+Example&firstName=Ann&lastName=Example&initials=A&size=2048&isHidden=true&enabled=false&title=Boss&company=Acme&businessCity=Paris&mobileNumber=%2B33+1&password=Passw0rd%21",
        ),
        (RS, "displayName=Rob&firstName=Rob&lastName=&size=1024&department=Ops&password=Passw0rd%21"),
        (MB, "displayName=Min&password=Passw0rd%21"),
    ] {
        let name = format!("created{}", form.len());
        let created = env.form("POST", &format!("{base}/{name}"), form).await;
        let read = wrote(env, &created, form, &format!("{base}/{name}")).await;
        assert!(
            read.json.to_string().contains(&format!("{name}@example.net")),
            "the alias address: {}",
            read.json
        );
    }
    // JSON bodies, .NET booleans, numbers as strings, nested contactInfo,
    // documented fields officed keeps without acting on them.
    let r = env
        .json(
            "POST",
            &format!("{MB}/json.box"),
            json!({"displayName": "Jay Son", "password": "Passw0rd!", "size": "4096",
                   "isHidden": "True", "enabled": "False", "isPublicFolderAdmin": true,
                   "emailForwardingAddress": "fwd@example.org", "visibleInExchangeGAL": "false",
                   "contactInfo": {"jobTitle": "Dev", "zip": 24060, "addressLine1": "1 Main St"}}),
        )
        .await;
    let r = wrote(env, &r, "json add", &format!("{MB}/json.box")).await;
    assert_eq!(r.json["size"], 4096);
    assert_eq!(r.json["isHidden"], true);
    assert_eq!(r.json["enabled"], false);
    assert_eq!(r.json["isPublicFolderAdmin"], true);
    assert_eq!(r.json["visibleInExchangeGAL"], false);
    assert_eq!(r.json["emailForwardingAddress"], "fwd@example.org");
    assert_eq!(r.json["contactInfo"]["jobTitle"], "Dev");
    assert_eq!(r.json["contactInfo"]["zip"], "24060");
    assert_eq!(r.json["contactInfo"]["addressLine1"], "1 Main St");
    let r = env
        .form(
            "PUT",
            &format!("{MB}/json.box"),
            "isPublicFolderAdmin=False&emailForwardingAddress=",
        )
        .await;
    let r = wrote(env, &r, "passive edit", &format!("{MB}/json.box")).await;
    assert_eq!(r.json["isPublicFolderAdmin"], false);
    assert!(r.json.get("emailForwardingAddress").is_none(), "{}", r.json);
    // Rackspace Email: password and size are required; displayName is not.
    let r = env.form("POST", &format!("{RS}/nopw"), "size=1024").await;
    fault(
        &r,
        400,
        "Missing required field: password",
        "rs without password",
    );
    let r = env
        .form(
            "POST",
            &format!("{RS}/vac"),
            "password=Passw0rd%21&size=1024&enableVacationMessage=True&vacationMessage=Away&emailForwardingAddresses=a%40x.com%2Cb%40x.com&homeCity=Paris",
        )
        .await;
    let r = wrote(env, &r, "rs add without displayName", &format!("{RS}/vac")).await;
    assert_eq!(r.json["displayName"], "vac");
    assert_eq!(r.json["enableVacationMessage"], true);
    assert_eq!(r.json["vacationMessage"], "Away");
    assert_eq!(
        r.json["emailForwardingAddressList"],
        json!({"emailAddress": ["a@x.com", "b@x.com"]})
    );
    assert_eq!(r.json["contactInfo"]["homeCity"], "Paris");
}
both_backends!(create_answer_is_the_stored_mailbox);
