//! The OpenAPI 3.0 document, generated from the routers' `routes()` lists
//! and the schema table below. Served at `GET /v1/openapi.json` and
//! committed at `docs/openapi.json` (a test fails when the committed copy
//! is stale: regenerate with `officed openapi > docs/openapi.json`).

use serde_json::{json, Map, Value};

use crate::api::{all_routes, BodyDoc};

fn s() -> Value {
    json!({"type": "string"})
}
fn b() -> Value {
    json!({"type": "boolean"})
}
fn i() -> Value {
    json!({"type": "integer", "minimum": 0})
}
fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
fn arr(v: Value) -> Value {
    json!({"type": "array", "items": v})
}

fn object(required: &[&str], props: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in props {
        m.insert(k.to_string(), v);
    }
    json!({"type": "object", "required": required, "properties": m})
}

fn contact_props() -> Vec<(&'static str, Value)> {
    cloudoffice_api::CONTACT_INFO_FIELDS
        .iter()
        .map(|f| (*f, s()))
        .collect()
}

fn page(key: &str, item: &str) -> Value {
    object(
        &[key, "offset", "size", "total"],
        vec![
            (key, arr(r(item))),
            ("offset", i()),
            ("size", i()),
            ("total", i()),
        ],
    )
}

fn form(extra: Vec<(&'static str, Value)>) -> Value {
    let mut props = extra;
    props.extend(contact_props());
    let mut v = object(&[], props);
    v["additionalProperties"] = json!(false);
    v
}

fn schemas() -> Value {
    let fault_detail = object(
        &["message", "details", "code"],
        vec![("message", s()), ("details", s()), ("code", i())],
    );
    let mailbox_common = |rs: bool| {
        let mut p = vec![
            ("name", s()),
            ("displayName", s()),
            ("firstName", s()),
            ("lastName", s()),
        ];
        if !rs {
            p.push(("initials", s()));
            p.push(("isHidden", b()));
        }
        p.extend([
            ("enabled", b()),
            (
                "size",
                json!({"type": "integer", "description": "quota in MB"}),
            ),
            ("currentUsage", i()),
            (
                "createdDate",
                json!({"type": "string", "format": "date-time"}),
            ),
            ("contactInfo", r("ContactInfo")),
            ("emailAddressList", arr(r("EmailAddressEntry"))),
        ]);
        p
    };
    json!({
        "Fault": {
            "type": "object",
            "description": "Exactly one of the keys, naming the fault kind. The message is repeated in the x-error-message header.",
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "badRequestFault": fault_detail,
                "itemNotFoundFault": fault_detail,
                "unauthorizedFault": fault_detail,
                "appsFault": fault_detail,
            }
        },
        "Health": object(&["status", "database"], vec![("status", s()), ("database", s())]),
        "Domain": object(
            &["name", "accountNumber", "serviceType", "exchangeMaxNumMailboxes", "exchangeUsedMailboxes", "rsEmailMaxNumberMailboxes", "rsEmailUsedMailboxes"],
            vec![
                ("name", s()),
                ("accountNumber", s()),
                ("serviceType", json!({"type": "string", "enum": ["exchange", "rsemail", "both"]})),
                ("exchangeMaxNumMailboxes", i()),
                ("exchangeUsedMailboxes", i()),
                ("rsEmailMaxNumberMailboxes", i()),
                ("rsEmailUsedMailboxes", i()),
                ("aliases", arr(s())),
                ("acceptedDomains", arr(s())),
            ],
        ),
        "DomainList": page("domains", "Domain"),
        "ContactInfo": object(&[], contact_props()),
        "EmailAddressEntry": object(&["address"], vec![("address", s()), ("replyTo", b())]),
        "EmailAddressList": object(&["emailAddressList"], vec![("emailAddressList", arr(r("EmailAddressEntry")))]),
        "ExchangeMailbox": object(&["name", "displayName", "enabled", "isHidden", "size", "currentUsage", "createdDate"], mailbox_common(false)),
        "ExchangeMailboxList": page("mailboxes", "ExchangeMailbox"),
        "ExchangeMailboxForm": form(vec![
            ("name", json!({"type": "string", "description": "edit: must equal the current name (the Service ID cannot change)"})),
            ("displayName", json!({"type": "string", "description": "required on add"})),
            ("firstName", s()), ("lastName", s()), ("initials", s()),
            ("enabled", b()), ("isHidden", b()),
            ("size", json!({"type": "integer", "minimum": 1, "maximum": 102400})),
            ("password", json!({"type": "string", "description": "accepted, never stored"})),
            ("recoverDeleted", json!({"type": "boolean", "description": "add: recover a mailbox deleted in the last 14 days"})),
        ]),
        "RsMailbox": object(&["name", "displayName", "enabled", "size", "currentUsage", "createdDate"], mailbox_common(true)),
        "RsMailboxList": page("rsMailboxes", "RsMailbox"),
        "RsMailboxForm": form(vec![
            ("name", s()), ("displayName", s()), ("firstName", s()), ("lastName", s()),
            ("enabled", b()), ("size", json!({"type": "integer", "minimum": 1, "maximum": 102400})),
            ("password", s()), ("recoverDeleted", b()),
        ]),
        "MailboxRenameForm": {
            "type": "object",
            "additionalProperties": false,
            "required": ["newName"],
            "properties": {"newName": {"type": "string", "description": "the new name: the local part of the new primary address (must be free across the customer and both services)"}}
        },
        "RsAlias": object(&["name", "emailAddressList"], vec![("name", s()), ("emailAddressList", arr(s()))]),
        "RsAliasList": page("aliases", "RsAlias"),
        "RsAliasForm": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"aliasEmails": {"type": "string", "description": "comma-separated forwarding addresses"}}
        },
        "ExchangeContact": object(
            &["name", "displayName", "externalEmail", "isHidden"],
            vec![("name", s()), ("displayName", s()), ("firstName", s()), ("lastName", s()), ("externalEmail", s()), ("isHidden", b()), ("contactInfo", r("ContactInfo"))],
        ),
        "ExchangeContactList": page("contacts", "ExchangeContact"),
        "ExchangeContactForm": form(vec![
            ("name", s()), ("displayName", s()), ("firstName", s()), ("lastName", s()),
            ("externalEmail", json!({"type": "string", "description": "required on add"})), ("isHidden", b()),
        ]),
        "DistributionList": object(
            &["name", "displayName", "isHidden", "emailAddressList", "members"],
            vec![("name", s()), ("displayName", s()), ("isHidden", b()), ("emailAddressList", arr(r("EmailAddressEntry"))), ("members", arr(s()))],
        ),
        "DistributionListList": page("distributionLists", "DistributionList"),
        "DistributionListBody": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "name": s(), "displayName": s(), "isHidden": b(),
                "emailAddresses": {"type": "array", "items": {"type": "string"}, "description": "alternate addresses (replace on edit)"},
                "members": {"type": "array", "items": {"type": "string"}, "description": "member addresses (replace on edit)"}
            }
        },
        "MemberList": object(&["members"], vec![("members", arr(s()))]),
    })
}

fn param(name: &str, desc: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}, "description": desc})
}

fn path_params(path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for seg in path.split('/') {
        if let Some(n) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            out.push(match n {
                "c" => param(
                    "c",
                    "customer account number, or 'me' for the key's own customer",
                ),
                "d" => param("d", "domain name"),
                "name" => param("name", "object name (the local part; the Service ID)"),
                "address" => param("address", "alternate email address"),
                "alias" => param("alias", "alias name (local part)"),
                "member" => param("member", "member email address"),
                other => param(other, other),
            });
        }
    }
    out
}

fn fault_responses() -> Value {
    let f = json!({"$ref": "#/components/responses/Fault"});
    json!({"400": f, "401": f, "403": f, "404": f, "500": f})
}

fn fault_response() -> Value {
    json!({"description": "A fault body; the message is repeated in x-error-message.",
        "content": {"application/json": {"schema": r("Fault")}},
        "headers": {"x-error-message": {"schema": {"type": "string"}, "description": "the fault message"}}})
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in all_routes() {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({"parameters": path_params(route.path)}));
        let mut op = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "responses": fault_responses(),
        });
        op["responses"]["200"] = match route.response {
            Some(schema) => {
                json!({"description": "OK", "content": {"application/json": {"schema": r(schema)}}})
            }
            None => json!({"description": "OK (empty body)"}),
        };
        if route.method == axum::http::Method::GET
            && route.response.is_some_and(|s| {
                s.ends_with("List") && s != "EmailAddressList" && s != "MemberList"
            })
        {
            op["parameters"] = json!([
                {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 250, "default": 50}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}
            ]);
        }
        match route.body {
            BodyDoc::None => {}
            BodyDoc::Form(schema) => {
                op["requestBody"] = json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": r(schema)}}});
            }
            BodyDoc::Json(schema) => {
                op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": r(schema)}}});
            }
        }
        entry[route.method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "officed",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The hosted-email control panel API, shaped like the Cloud Office API. Every operation needs the X-Api-Signature header: <userKey>:<yyyyMMddHHmmss>:<base64(SHA1(userKey + User-Agent + timestamp + secret))>, timestamp in UTC within 10 minutes. Add and edit take form-encoded bodies, distribution lists JSON. Errors are fault bodies with the message repeated in x-error-message."
        },
        "servers": [{"url": "/v1"}],
        "security": [{"apiSignature": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiSignature": {"type": "apiKey", "in": "header", "name": "X-Api-Signature"}},
            "schemas": schemas(),
            "responses": {"Fault": fault_response()},
        }
    })
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).expect("JSON values always serialize");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property a wire type serializes must be declared in its schema.
    fn declared(schema: &str, v: &Value) {
        let doc = document();
        let props = doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap()
            .clone();
        for k in v.as_object().unwrap().keys() {
            assert!(props.contains_key(k), "{schema} lacks {k}");
        }
    }

    #[test]
    fn schemas_cover_wire_types() {
        use cloudoffice_api::*;
        let ci = ContactInfo {
            title: Some("x".into()),
            custom_id: Some("1".into()),
            employee_type: Some("e".into()),
            notes: Some("n".into()),
            ..Default::default()
        };
        declared("ContactInfo", &serde_json::to_value(&ci).unwrap());
        let mb = ExchangeMailbox {
            name: "a".into(),
            display_name: "A".into(),
            first_name: None,
            last_name: None,
            initials: None,
            enabled: true,
            is_hidden: false,
            size: 1,
            current_usage: 0,
            created_date: String::new(),
            contact_info: ci,
            email_address_list: vec![],
        };
        declared("ExchangeMailbox", &serde_json::to_value(&mb).unwrap());
        declared(
            "RsMailbox",
            &serde_json::to_value(crate::store::exchange_to_rs(mb)).unwrap(),
        );
        let mut f = ExchangeMailboxForm {
            name: Some("a".into()),
            display_name: Some("a".into()),
            enabled: Some(true),
            is_hidden: Some(true),
            size: Some(1),
            password: Some("p".into()),
            recover_deleted: Some(true),
            first_name: Some("a".into()),
            last_name: Some("a".into()),
            initials: Some("a".into()),
            ..Default::default()
        };
        f.set_contact_info(&ContactInfo {
            office: Some("o".into()),
            ..Default::default()
        });
        declared("ExchangeMailboxForm", &serde_json::to_value(&f).unwrap());
        let d = Domain {
            name: "e.com".into(),
            account_number: "1".into(),
            service_type: ServiceType::Both,
            exchange_max_num_mailboxes: 1,
            exchange_used_mailboxes: 0,
            rs_email_max_number_mailboxes: 1,
            rs_email_used_mailboxes: 0,
            aliases: vec![],
            accepted_domains: vec![],
        };
        declared("Domain", &serde_json::to_value(&d).unwrap());
        let l = DistributionListBody {
            name: Some("x".into()),
            display_name: Some("x".into()),
            is_hidden: Some(true),
            email_addresses: Some(vec![]),
            members: Some(vec![]),
        };
        declared("DistributionListBody", &serde_json::to_value(&l).unwrap());
        declared(
            "MailboxRenameForm",
            &serde_json::to_value(MailboxRenameForm {
                new_name: "b".into(),
            })
            .unwrap(),
        );
    }

    #[test]
    fn every_route_is_documented_with_its_method() {
        let doc = document();
        for route in all_routes() {
            let m = route.method.as_str().to_ascii_lowercase();
            assert!(
                doc["paths"][route.path][&m].is_object(),
                "{} {}",
                m,
                route.path
            );
        }
    }
}
