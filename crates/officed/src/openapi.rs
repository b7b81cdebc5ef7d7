//! The OpenAPI 3.0 document, generated from the routers' `routes()` lists
//! and the schema table below. Served at `GET /v1/openapi.json` and
//! committed at `docs/openapi.json` (a test fails when the committed copy
//! is stale: regenerate with `officed openapi > docs/openapi.json`).

use serde_json::{json, Map, Value};

use cloudoffice_api::{ExchangeContactForm, ExchangeMailboxForm, RsMailboxForm};

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

/// A request body schema from a form type's field table (form or JSON;
/// other accepted spellings are listed in `x-aliases`).
fn form(fields: &[(&str, &str, &[&str])], passive: &[&str], notes: &[(&str, &str)]) -> Value {
    let mut props = Map::new();
    for (name, kind, aliases) in fields {
        let mut p = json!({"type": kind});
        if !aliases.is_empty() {
            p["x-aliases"] = json!(aliases);
        }
        if passive.contains(name) {
            p["description"] = json!("stored and returned; officed does not act on it");
        }
        if let Some((_, n)) = notes.iter().find(|(k, _)| k == name) {
            p["description"] = json!(n);
        }
        props.insert(name.to_string(), p);
    }
    json!({"type": "object", "additionalProperties": false, "properties": props,
        "description": "Form-encoded (documented) or JSON. Booleans true/false in any case; numbers may be strings. An unknown field is a validationFault naming it."})
}

/// The documented domain fields officed stores and returns without acting
/// on them (Show carries those that were set).
fn stored_domain_fields() -> Vec<(&'static str, Value)> {
    crate::store::STORED_DOMAIN_FIELDS
        .iter()
        .map(|(name, kind)| {
            (
                *name,
                json!({"type": kind, "description": "stored and returned; officed does not act on it"}),
            )
        })
        .collect()
}

/// The domain Add/Edit body.
fn domain_form() -> Value {
    let mut props = Map::new();
    props.insert(
        "serviceType".into(),
        json!({"type": "string", "enum": ["exchange", "rsemail", "both"], "description": "required on add; any case"}),
    );
    props.insert(
        "exchangeMaxNumMailboxes".into(),
        json!({"type": "integer", "minimum": 0, "description": "required on add with Exchange"}),
    );
    props.insert(
        "rsEmailMaxNumberMailboxes".into(),
        json!({"type": "integer", "minimum": 0, "description": "required on add with Rackspace Email"}),
    );
    for (k, v) in stored_domain_fields() {
        props.insert(k.into(), v);
    }
    json!({"type": "object", "additionalProperties": false, "properties": props,
        "description": "Form-encoded (documented) or JSON. Booleans true/false in any case; numbers may be strings. An unknown field is a validationFault naming it."})
}

fn schemas() -> Value {
    let fault_detail = object(
        &["message", "details", "code"],
        vec![
            ("message", s()),
            ("details", s()),
            ("code", i()),
            (
                "resourceType",
                json!({"type": "string", "description": "itemNotFoundFault only: what was not found (Domain, Mailbox, ...)"}),
            ),
        ],
    );
    let mailbox_common = |rs: bool| {
        let mut p = vec![("name", s()), ("displayName", s())];
        if !rs {
            p.push(("isHidden", b()));
            p.push(("isPublicFolderAdmin", b()));
            p.push(("emailForwardingAddress", s()));
        } else {
            p.push(("enableVacationMessage", b()));
            p.push(("vacationMessage", s()));
            p.push(("emailForwardingAddressList", arr(s())));
            p.push(("saveForwardedEmail", b()));
        }
        p.extend([
            ("visibleInExchangeGAL", b()),
            ("visibleInRackspaceEmailCompanyDirectory", b()),
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
            (
                "contactInfo",
                r(if rs { "RsContactInfo" } else { "ExContactInfo" }),
            ),
            ("emailAddressList", arr(r("EmailAddressEntry"))),
        ]);
        p
    };
    let mut rs_contact = contact_props();
    rs_contact.extend([("firstName", s()), ("lastName", s()), ("initials", s())]);
    for f in RsMailboxForm::PASSIVE_CONTACT {
        rs_contact.push((f, s()));
    }
    let ex_contact_props: Vec<(&str, Value)> = [
        "firstName",
        "lastName",
        "initials",
        "jobTitle",
        "company",
        "department",
        "office",
        "businessNumber",
        "homeNumber",
        "mobileNumber",
        "faxNumber",
        "pagerNumber",
        "addressLine1",
        "city",
        "state",
        "zip",
        "country",
        "customID",
        "employeeType",
        "notes",
    ]
    .into_iter()
    .map(|f| (f, s()))
    .collect();
    let spam_fields: Vec<(&str, &str, &[&str])> = crate::api::spam::FORM_FIELDS
        .iter()
        .map(|(n, k)| (*n, *k, &[][..]))
        .collect();
    let spam_form = form(
        &spam_fields,
        &[],
        &[
            ("filterLevel", "required: on, off or exclusive"),
            (
                "exchange.forwardToDomainQuarantine",
                "domains only: on or off",
            ),
        ],
    );
    let domain_spam = object(
        &["filterLevel", "rsEmailSettings", "exchangeSettings"],
        vec![
            ("filterLevel", s()),
            ("overrideUserSettings", b()),
            ("rsEmailSettings", json!({"type": "object"})),
            ("exchangeSettings", json!({"type": "object"})),
        ],
    );
    let mailbox_spam = object(
        &["filterLevel", "rsEmailSettings"],
        vec![
            ("filterLevel", s()),
            ("rsEmailSettings", json!({"type": "object"})),
        ],
    );
    let spam_list = object(&["addresses"], vec![("addresses", arr(s()))]);
    let mut out = json!({
        "Fault": {
            "type": "object",
            "description": "Exactly one of the keys, naming the fault kind. The message is repeated in the x-error-message header.",
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "badRequestFault": fault_detail,
                "validationFault": fault_detail,
                "itemNotFoundFault": fault_detail,
                "unauthorizedFault": fault_detail,
                "appsFault": fault_detail,
            }
        },
        "Health": object(&["status", "database"], vec![("status", s()), ("database", s())]),
        "Domain": object(
            &["name", "accountNumber", "serviceType", "exchangeMaxNumMailboxes", "exchangeUsedStorage", "rsEmailMaxNumberMailboxes", "rsEmailUsedStorage", "publicFoldersEnabled"],
            vec![
                ("name", s()),
                ("accountNumber", s()),
                ("serviceType", json!({"type": "string", "enum": ["exchange", "rsemail", "both"]})),
                ("exchangeMaxNumMailboxes", i()),
                ("exchangeUsedStorage", i()),
                ("rsEmailMaxNumberMailboxes", i()),
                ("rsEmailUsedStorage", i()),
                ("aliases", arr(s())),
                ("acceptedDomains", arr(s())),
                ("publicFoldersEnabled", b()),
            ]
            .into_iter()
            .chain(stored_domain_fields())
            .collect(),
        ),
        "DomainList": page("domains", "Domain"),
        "LoginToken": object(&["token"], vec![("token", s())]),
        "ContactInfo": object(&[], contact_props()),
        "RsContactInfo": object(&[], rs_contact),
        "ExContactInfo": object(&[], ex_contact_props),
        "ListItem": {
            "type": "object",
            "required": ["name"],
            "description": "A list item: the documented summary, plus the extras asked for with fields= (aliases: numberOfMembers and singleMemberName).",
            "properties": {"name": s(), "displayName": s(), "numberOfMembers": i(), "singleMemberName": s()},
            "additionalProperties": true
        },
        "EmailAddressEntry": object(&["address"], vec![("address", s()), ("replyTo", b())]),
        "EmailAddressList": object(&["emailAddressList"], vec![("emailAddressList", arr(r("EmailAddressEntry")))]),
        "ExchangeMailbox": object(&["name", "displayName", "enabled", "isHidden", "size", "currentUsage", "createdDate"], mailbox_common(false)),
        "ExchangeMailboxList": page("mailboxes", "ListItem"),
        "ExchangeMailboxForm": form(ExchangeMailboxForm::FIELDS, ExchangeMailboxForm::PASSIVE, &[
            ("name", "edit: must equal the current name (the Service ID cannot change)"),
            ("displayName", "required on add"),
            ("password", "accepted, never stored"),
            ("recoverDeleted", "add: recover a mailbox deleted in the last 14 days"),
        ]),
        "RsMailbox": object(&["name", "displayName", "enabled", "size", "currentUsage", "createdDate"], mailbox_common(true)),
        "RsMailboxList": page("rsMailboxes", "ListItem"),
        "RsMailboxForm": form(RsMailboxForm::FIELDS, &[RsMailboxForm::PASSIVE, RsMailboxForm::PASSIVE_CONTACT].concat(), &[
            ("password", "required on add; never stored"),
            ("size", "required on add (MB)"),
        ]),
        "MailboxRenameForm": {
            "type": "object",
            "additionalProperties": false,
            "required": ["newName"],
            "properties": {"newName": {"type": "string", "description": "the new name: the local part of the new primary address (must be free across the customer and both services)"}}
        },
        "RsAlias": object(&["name", "emailAddressList"], vec![("name", s()), ("emailAddressList", arr(s()))]),
        "RsAliasList": page("aliases", "ListItem"),
        "RsAliasForm": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"aliasEmails": {"type": "string", "description": "comma-separated forwarding addresses"}}
        },
        "ExchangeContact": object(
            &["name", "displayName", "externalEmail", "isHidden"],
            vec![("name", s()), ("displayName", s()), ("externalEmail", s()), ("isHidden", b()), ("contactInfo", r("ExContactInfo"))],
        ),
        "ExchangeContactList": page("contacts", "ListItem"),
        "ExchangeContactForm": form(ExchangeContactForm::FIELDS, ExchangeContactForm::PASSIVE, &[
            ("externalEmail", "required on add"),
        ]),
        "DlAddress": {
            "type": "object", "additionalProperties": false, "required": ["Value"],
            "properties": {
                "Action": {"type": "string", "enum": ["Add", "Update", "Remove"], "description": "PUT only"},
                "AddressPrimary": b(), "AddressProtocol": {"type": "string", "enum": ["smtp"]}, "Value": s()
            }
        },
        "DlMember": {
            "type": "object", "additionalProperties": false, "required": ["Value"],
            "properties": {"Action": {"type": "string", "enum": ["Add", "Remove"], "description": "PUT only"}, "Value": s()}
        },
        "DistributionList": object(
            &["Name", "DisplayName", "IsHidden", "MemberCount", "PrimarySmtpAddress", "EmailAddresses", "Members", "AcceptMessagesOnlyFrom"],
            vec![("Name", s()), ("DisplayName", s()), ("Description", s()), ("IsHidden", b()), ("MemberCount", i()), ("PrimarySmtpAddress", s()),
                 ("EmailAddresses", arr(r("DlAddress"))), ("Members", arr(r("DlMember"))), ("AcceptMessagesOnlyFrom", arr(r("DlMember")))],
        ),
        "DistributionListList": page("distributionlists", "ListItem"),
        "DistributionListBody": {
            "type": "object",
            "additionalProperties": false,
            "description": "The documented v1 model, JSON only. On POST, DisplayName is required and the arrays give the initial sets; on PUT, array entries carry an Action.",
            "properties": {
                "DisplayName": s(), "Description": s(), "IsHidden": b(),
                "EmailAddresses": arr(r("DlAddress")),
                "Members": arr(r("DlMember")),
                "AcceptMessagesOnlyFrom": arr(r("DlMember"))
            }
        },
        "MemberList": object(&["members"], vec![("members", arr(s()))]),
    });
    for (k, v) in [
        ("SpamSettingsForm", spam_form),
        ("DomainSpamSettings", domain_spam),
        ("MailboxSpamSettings", mailbox_spam),
        ("SpamList", spam_list),
    ] {
        out[k] = v;
    }
    out["DomainForm"] = domain_form();
    out["AlternateDomainForm"] = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["type"],
        "properties": {"type": {"type": "string", "enum": ["DomainAlias", "AcceptedDomain"], "description": "any case"}},
        "description": "Form-encoded or JSON."
    });
    out["AlternateDomain"] = object(
        &["name", "type"],
        vec![
            ("name", s()),
            (
                "type",
                json!({"type": "string", "enum": ["DomainAlias", "AcceptedDomain"]}),
            ),
        ],
    );
    out["AlternateDomainList"] = object(
        &["alternateDomains"],
        vec![("alternateDomains", arr(r("AlternateDomain")))],
    );
    out
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
                "address" => param(
                    "address",
                    "email address (an alternate address, or an alias target)",
                ),
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
    json!({"400": f, "403": f, "404": f, "500": f})
}

fn fault_response() -> Value {
    json!({"description": "A fault body; the message is repeated in x-error-message.",
        "content": {"application/json": {"schema": r("Fault")}},
        "headers": {"x-error-message": {"schema": {"type": "string"}, "description": "the fault message"}}})
}

/// Operations officed adds to the documented Cloud Office API, marked
/// `x-officed-extension: true` in the document.
pub const EXTENSIONS: &[&str] = &[
    "renameExchangeMailbox",
    "renameRsMailbox",
    "listDistributionListMembers",
    "addDistributionListMember",
    "removeDistributionListMember",
];

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
        if EXTENSIONS.contains(&route.operation_id) {
            op["x-officed-extension"] = json!(true);
        }
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
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                {"name": "fields", "in": "query", "schema": {"type": "string"}, "description": "comma-separated documented extras"},
                {"name": "enabled", "in": "query", "schema": {"type": "boolean"}, "description": "mailboxes: only enabled or disabled ones"},
                {"name": "startswith", "in": "query", "schema": {"type": "string"}, "description": "name (or display name) starts with; 0-9 means a digit; not with contains"},
                {"name": "contains", "in": "query", "schema": {"type": "string"}, "description": "name (or display name, external address) contains; not with startswith"}
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
            "description": "The hosted-email control panel API, shaped like the Cloud Office API. Every operation needs the X-Api-Signature header: <userKey>:<yyyyMMddHHmmss>:<base64(SHA1(userKey + User-Agent + timestamp + secret))>, timestamp in UTC within 10 minutes. A failed authentication is 403 \"Authentication failed.\". Add and edit take form-encoded or JSON bodies (distribution lists JSON) and answer 200 with an empty body. Lists carry the documented summary fields; fields= adds the documented extras. Errors are fault bodies with the message repeated in x-error-message."
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
        let mut extra = Map::new();
        extra.insert("isPublicFolderAdmin".into(), json!(true));
        let mb = ExchangeMailbox {
            name: "a".into(),
            display_name: "A".into(),
            enabled: true,
            is_hidden: false,
            size: 1,
            current_usage: 0,
            created_date: String::new(),
            contact_info: ExContactInfo::from_common(Some("a".into()), None, None, &ci),
            email_address_list: vec![],
            extra,
        };
        declared("ExchangeMailbox", &serde_json::to_value(&mb).unwrap());
        declared(
            "ExContactInfo",
            &serde_json::to_value(&mb.contact_info).unwrap(),
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
            public_folders_enabled: false,
        };
        declared("Domain", &serde_json::to_value(&d).unwrap());
        declared(
            "LoginToken",
            &serde_json::to_value(LoginToken { token: "t".into() }).unwrap(),
        );
        let l = DistributionListBody {
            display_name: Some("x".into()),
            description: Some("d".into()),
            is_hidden: Some(true),
            email_addresses: Some(vec![]),
            members: Some(vec![]),
            accept_messages_only_from: Some(vec![]),
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
    fn extensions_name_existing_operations() {
        let ids: Vec<&str> = all_routes().iter().map(|r| r.operation_id).collect();
        for e in EXTENSIONS {
            assert!(ids.contains(e), "{e}");
        }
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
