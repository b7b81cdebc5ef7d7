//! The OpenAPI document, derived by `utoipa` from the code: each
//! operation from its handler's `#[utoipa::path]` attribute (in
//! `crate::api::*`), each schema from the wire type's `ToSchema` derive
//! (cloudoffice-api, feature `openapi`). Served at `GET /v1/openapi.json`
//! and committed at `docs/openapi.json` (a test fails when the committed
//! copy is stale: regenerate with `scripts/gen-docs`).
//!
//! What holds for every operation because one layer of the router does it
//! is added here once, by [`document`], rather than on each handler:
//! the path parameters (named in the route template), the XML alternative
//! of every JSON answer (`api::format::negotiate`), and the signature
//! security scheme (`api::auth::authenticate`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use utoipa::openapi::{Ref, RefOr, Response};
use utoipa::OpenApi;

use crate::api::{aliases, contacts, domains, lists, mailboxes, spam};

/// The service description at the top of the document.
const DESCRIPTION: &str = "The hosted-email control panel API, shaped like the Cloud Office API. Every operation needs the X-Api-Signature header: <userKey>:<yyyyMMddHHmmss>:<base64(SHA1(userKey + User-Agent + timestamp + secret))>, timestamp in UTC within 10 minutes. A failed authentication is 403 \"Authentication failed.\". Add and edit take form-encoded or JSON bodies (distribution lists JSON) and answer 200 with an empty body. Lists carry the documented summary fields; fields= adds the documented extras. Answers are JSON, or XML for Accept: text/xml. Errors are fault bodies with the message repeated in x-error-message. Operations marked x-officed-extension are officed's own additions to the documented API.";

/// The derived document (before [`document`] adds what every operation
/// shares).
#[derive(OpenApi)]
#[openapi(
    info(title = "officed", description = DESCRIPTION),
    servers((url = "/v1")),
    security(("apiSignature" = [])),
    paths(
        domains::list,
        domains::show,
        domains::add,
        domains::edit,
        domains::remove,
        domains::alternate_list,
        domains::alternate_add,
        domains::alternate_remove,
        mailboxes::ex_list,
        mailboxes::ex_show,
        mailboxes::ex_add,
        mailboxes::ex_edit,
        mailboxes::ex_rename,
        mailboxes::ex_delete,
        mailboxes::addr_list,
        mailboxes::addr_add,
        mailboxes::addr_remove,
        mailboxes::rs_list,
        mailboxes::rs_show,
        mailboxes::rs_login_token,
        mailboxes::rs_login_token_lower,
        mailboxes::rs_add,
        mailboxes::rs_edit,
        mailboxes::rs_rename,
        mailboxes::rs_delete,
        aliases::list,
        aliases::show,
        aliases::add,
        aliases::edit,
        aliases::remove,
        aliases::address_add,
        aliases::address_remove,
        contacts::list,
        contacts::show,
        contacts::add,
        contacts::edit,
        contacts::remove,
        lists::list,
        lists::show,
        lists::add,
        lists::edit,
        lists::remove,
        lists::members,
        lists::member_add,
        lists::member_remove,
        spam::domain_show,
        spam::domain_edit,
        spam::domain_list,
        spam::domain_list_add,
        spam::domain_list_remove,
        spam::mailbox_show,
        spam::mailbox_edit,
        spam::mailbox_list,
        spam::mailbox_list_add,
        spam::mailbox_list_remove
    ),
    components(schemas(cloudoffice_api::Health, cloudoffice_api::Fault))
)]
pub struct ApiDoc;

/// The fault answers every operation can give, as references to the
/// shared responses of the document, each with what it means.
pub struct Faults;

/// Status, response name and what it means, for [`Faults`].
const FAULT_RESPONSES: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequestFault",
        "badRequestFault (a bad path, query or body), or validationFault naming the unknown or invalid field.",
    ),
    (
        "403",
        "ForbiddenFault",
        "unauthorizedFault: \"Authentication failed.\", a customer or action this key may not reach, or the throttle (\"Exceeded request limits.\"; GETs 60 a minute, writes 30 a minute per key, of them 2 on a domain and 2 on alternate domains).",
    ),
    (
        "404",
        "NotFoundFault",
        "itemNotFoundFault, with resourceType naming what was not found (Domain, Mailbox, ...).",
    ),
    (
        "500",
        "ServerFault",
        "appsFault: the service could not complete the request.",
    ),
];

impl utoipa::IntoResponses for Faults {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        FAULT_RESPONSES
            .iter()
            .map(|(status, name, _)| {
                (
                    status.to_string(),
                    RefOr::Ref(Ref::from_response_name(*name)),
                )
            })
            .collect()
    }
}

/// What a path parameter means, by its name in the route template.
fn path_param_description(name: &str) -> &str {
    match name {
        "c" => "customer account number, or 'me' for the key's own customer",
        "d" => "domain name",
        "a" => "alternate domain name (a domain alias or accepted domain)",
        "name" => "object name (the local part; the Service ID)",
        "address" => "email address (an alternate address, or an alias target)",
        "alias" => "alias name (local part)",
        "member" => "member email address",
        "list" => "spam list: safelist, blocklist, ipsafelist or ipblocklist",
        "entry" => "an address, domain or IP address of the spam list",
        other => other,
    }
}

/// The path parameters of a route template, in order.
fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|n| {
            json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"},
                "description": path_param_description(n)})
        })
        .collect()
}

/// A form type's field table: wire name, kind, other spellings.
type FormFields = &'static [(&'static str, &'static str, &'static [&'static str])];

/// The form schemas and their field tables: the other spellings each field
/// accepts (`x-aliases`) and the fields officed stores without acting on.
fn form_tables() -> Vec<(&'static str, FormFields, Vec<&'static str>)> {
    use cloudoffice_api::{ExchangeContactForm, ExchangeMailboxForm, RsMailboxForm};
    vec![
        (
            "ExchangeMailboxForm",
            ExchangeMailboxForm::FIELDS,
            [
                ExchangeMailboxForm::PASSIVE,
                ExchangeMailboxForm::PASSIVE_CONTACT,
            ]
            .concat(),
        ),
        (
            "RsMailboxForm",
            RsMailboxForm::FIELDS,
            [RsMailboxForm::PASSIVE, RsMailboxForm::PASSIVE_CONTACT].concat(),
        ),
        (
            "ExchangeContactForm",
            ExchangeContactForm::FIELDS,
            [
                ExchangeContactForm::PASSIVE,
                ExchangeContactForm::PASSIVE_CONTACT,
            ]
            .concat(),
        ),
    ]
}

/// The document: [`ApiDoc`] plus what every operation shares.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
    let fault_content = json!({
        "application/json": {"schema": {"$ref": "#/components/schemas/Fault"}},
        "text/xml": {"schema": {"$ref": "#/components/schemas/Fault"}}
    });
    let mut responses = Map::new();
    for (_, name, description) in FAULT_RESPONSES {
        responses.insert(
            name.to_string(),
            json!({"description": description, "content": fault_content,
                "headers": {"x-error-message": {"schema": {"type": "string"}, "description": "the fault message"}}}),
        );
    }
    let components = &mut doc["components"];
    components["responses"] = Value::Object(responses);
    components["securitySchemes"] =
        json!({"apiSignature": {"type": "apiKey", "in": "header", "name": "X-Api-Signature"}});
    for (schema, fields, passive) in form_tables() {
        let props = &mut components["schemas"][schema]["properties"];
        for (name, _, aliases) in fields {
            let p = &mut props[*name];
            if !aliases.is_empty() {
                p["x-aliases"] = json!(aliases);
            }
            if passive.contains(name) && p.get("description").is_none() {
                p["description"] = json!("stored and returned; officed does not act on it");
            }
        }
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            item["parameters"] = Value::Array(path_params(path));
            let Some(ops) = item.as_object_mut() else {
                continue;
            };
            for op in ops.values_mut().filter(|o| o.get("responses").is_some()) {
                let Some(rs) = op["responses"].as_object_mut() else {
                    continue;
                };
                for r in rs.values_mut() {
                    if let Some(c) = r.get_mut("content").and_then(Value::as_object_mut) {
                        if let Some(j) = c.get("application/json").cloned() {
                            c.insert("text/xml".into(), j);
                        }
                    }
                }
            }
        }
    }
    doc
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).expect("JSON values always serialize");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::all_routes;

    fn operations(doc: &Value) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (m, op) in item.as_object().unwrap() {
                if op.get("responses").is_some() {
                    out.insert((m.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        out
    }

    /// A route in the router but not in the document fails, and so does an
    /// operation in the document that the router does not serve.
    #[test]
    fn router_and_document_name_the_same_operations() {
        let routes: BTreeSet<(String, String)> = all_routes()
            .iter()
            .map(|r| (r.method.as_str().to_string(), r.path.to_string()))
            .collect();
        assert_eq!(routes.len(), all_routes().len(), "no route twice");
        let documented = operations(&document());
        let missing: Vec<_> = routes.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routes).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "routes without #[utoipa::path] in openapi.rs: {missing:?}; documented but not routed: {extra:?}"
        );
    }

    #[test]
    fn every_operation_has_an_id_faults_and_an_answer() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (m, op) in item.as_object().unwrap() {
                if op.get("responses").is_none() {
                    continue;
                }
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(!id.is_empty(), "{m} {path}: operationId");
                assert!(ids.insert(id.to_string()), "{id} twice");
                for s in ["200", "400", "403", "404", "500"] {
                    assert!(op["responses"][s].is_object(), "{id}: {s}");
                }
            }
        }
    }

    /// Every property a wire type serializes is declared in its schema.
    fn declared(schema: &str, v: &Value) {
        let doc = document();
        let s = &doc["components"]["schemas"][schema];
        let mut props = BTreeSet::new();
        let mut collect = |o: &Value| {
            if let Some(p) = o["properties"].as_object() {
                props.extend(p.keys().cloned());
            }
        };
        collect(s);
        for part in s["allOf"].as_array().into_iter().flatten() {
            collect(part);
        }
        for k in v.as_object().unwrap().keys() {
            assert!(props.contains(k), "{schema} lacks {k}");
        }
    }

    #[test]
    fn form_tables_match_the_derived_schemas() {
        let doc = document();
        for (schema, fields, passive) in form_tables() {
            let props: BTreeSet<&str> = doc["components"]["schemas"][schema]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{schema}"))
                .keys()
                .map(String::as_str)
                .collect();
            let table: BTreeSet<&str> = fields.iter().map(|f| f.0).collect();
            assert_eq!(props, table, "{schema}: FIELDS and the struct disagree");
            for p in &passive {
                assert!(table.contains(p), "{schema}: passive {p}");
            }
        }
    }

    #[test]
    fn spam_schemas_match_the_answers() {
        declared("DomainSpamSettings", &spam::defaults(true));
        declared("MailboxSpamSettings", &spam::defaults(false));
        declared(
            "RsEmailSpamSettings",
            &spam::defaults(false)["rsEmailSettings"],
        );
        declared(
            "ExchangeSpamSettings",
            &spam::defaults(true)["exchangeSettings"],
        );
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
            enabled: true,
            is_hidden: false,
            size: 1,
            current_usage: 0,
            created_date: String::new(),
            contact_info: ExContactInfo::from_common(Some("a".into()), None, None, &ci),
            email_address_list: vec![],
            extra: Map::new(),
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
        let page = |items: &str| json!({items: [], "offset": 0, "size": 50, "total": 0});
        let pages = [
            (
                "DomainList",
                serde_json::to_value(DomainList {
                    domains: vec![],
                    offset: 0,
                    size: 50,
                    total: 0,
                }),
            ),
            (
                "RsMailboxList",
                serde_json::to_value(RsMailboxList {
                    rs_mailboxes: vec![],
                    offset: 0,
                    size: 50,
                    total: 0,
                }),
            ),
            (
                "DistributionListList",
                serde_json::to_value(DistributionListList {
                    distribution_lists: vec![],
                    offset: 0,
                    size: 50,
                    total: 0,
                }),
            ),
        ];
        for (schema, v) in pages {
            let v = v.unwrap();
            declared(schema, &v);
            let key = v
                .as_object()
                .unwrap()
                .keys()
                .find(|k| !["offset", "size", "total"].contains(&k.as_str()))
                .unwrap()
                .clone();
            assert_eq!(v, page(&key), "{schema}");
        }
        for (schema, key) in [
            ("ExchangeMailboxList", "mailboxes"),
            ("RsAliasList", "aliases"),
            ("ExchangeContactList", "contacts"),
        ] {
            declared(schema, &page(key));
        }
        declared(
            "RsAlias",
            &serde_json::to_value(RsAlias {
                name: "a".into(),
                email_address_list: vec!["x@y.z".to_string()].into(),
            })
            .unwrap(),
        );
    }
}
