//! Spam settings and lists of domains and Rackspace Email mailboxes (the
//! Domain Spam and Rackspace Mailbox Spam pages). officed stores and
//! answers them so clients that manage them work; it does not filter mail.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use axum::Json;
use cloudoffice_api::paths::routes as r;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Body, Path, Scope};
use super::{ApiRoute, AppState, BodyDoc};
use crate::error::{Error, Result};
use crate::store::{self, Svc};

/// The documented list names (`blacklist`, the name before 2020, is read
/// as `blocklist`).
pub const LISTS: &[&str] = &["safelist", "blocklist", "ipsafelist", "ipblocklist"];

/// The fields of a spam settings edit (`PUT .../spam/settings`), form or
/// JSON. `exchange.*` applies to domains only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpamSettingsForm {
    #[serde(
        default,
        rename = "filterLevel",
        deserialize_with = "cloudoffice_api::lenient::opt_string"
    )]
    filter_level: Option<String>,
    #[serde(
        default,
        rename = "overrideUserSettings",
        deserialize_with = "cloudoffice_api::lenient::opt_bool"
    )]
    override_user_settings: Option<bool>,
    #[serde(
        default,
        rename = "rsEmail.spamHandling",
        deserialize_with = "cloudoffice_api::lenient::opt_string"
    )]
    spam_handling: Option<String>,
    #[serde(
        default,
        rename = "rsEmail.hasFolderCleaner",
        deserialize_with = "cloudoffice_api::lenient::opt_bool"
    )]
    has_folder_cleaner: Option<bool>,
    #[serde(
        default,
        rename = "rsEmail.spamFolderAgeLimit",
        deserialize_with = "cloudoffice_api::lenient::opt_u32"
    )]
    spam_folder_age_limit: Option<u32>,
    #[serde(
        default,
        rename = "rsEmail.spamFolderNumLimit",
        deserialize_with = "cloudoffice_api::lenient::opt_u32"
    )]
    spam_folder_num_limit: Option<u32>,
    #[serde(
        default,
        rename = "rsEmail.spamForwardingAddress",
        deserialize_with = "cloudoffice_api::lenient::opt_string"
    )]
    spam_forwarding_address: Option<String>,
    #[serde(
        default,
        rename = "exchange.forwardToDomainQuarantine",
        deserialize_with = "cloudoffice_api::lenient::opt_string"
    )]
    forward_to_domain_quarantine: Option<String>,
    #[serde(
        default,
        rename = "exchange.quarantineOwner",
        deserialize_with = "cloudoffice_api::lenient::opt_string"
    )]
    quarantine_owner: Option<String>,
    #[serde(
        default,
        rename = "exchange.defaultQuarantineOwner",
        deserialize_with = "cloudoffice_api::lenient::opt_string"
    )]
    default_quarantine_owner: Option<String>,
}

/// The form's field names, for the OpenAPI document.
pub const FORM_FIELDS: &[(&str, &str)] = &[
    ("filterLevel", "string"),
    ("overrideUserSettings", "boolean"),
    ("rsEmail.spamHandling", "string"),
    ("rsEmail.hasFolderCleaner", "boolean"),
    ("rsEmail.spamFolderAgeLimit", "integer"),
    ("rsEmail.spamFolderNumLimit", "integer"),
    ("rsEmail.spamForwardingAddress", "string"),
    ("exchange.forwardToDomainQuarantine", "string"),
    ("exchange.quarantineOwner", "string"),
    ("exchange.defaultQuarantineOwner", "string"),
];

fn route(
    method: Method,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    body: BodyDoc,
    response: Option<&'static str>,
    handler: axum::routing::MethodRouter<AppState>,
) -> ApiRoute {
    ApiRoute {
        method,
        path,
        operation_id,
        summary,
        body,
        response,
        handler,
    }
}

pub fn routes() -> Vec<ApiRoute> {
    vec![
        route(
            Method::GET,
            r::DOMAIN_SPAM_SETTINGS,
            "getDomainSpamSettings",
            "Show a domain's spam settings (stored; officed does not filter mail)",
            BodyDoc::None,
            Some("DomainSpamSettings"),
            get(domain_show),
        ),
        route(
            Method::PUT,
            r::DOMAIN_SPAM_SETTINGS,
            "editDomainSpamSettings",
            "Edit a domain's spam settings (filterLevel required: on, off or exclusive)",
            BodyDoc::Form("SpamSettingsForm"),
            None,
            put(domain_edit),
        ),
        route(
            Method::GET,
            r::DOMAIN_SPAM_LIST,
            "getDomainSpamList",
            "A domain spam list: safelist, blocklist, ipsafelist or ipblocklist",
            BodyDoc::None,
            Some("SpamList"),
            get(domain_list),
        ),
        route(
            Method::POST,
            r::DOMAIN_SPAM_LIST_ENTRY,
            "addDomainSpamListEntry",
            "Add an address, domain or IP address to a domain spam list",
            BodyDoc::None,
            None,
            post(domain_list_add),
        ),
        route(
            Method::DELETE,
            r::DOMAIN_SPAM_LIST_ENTRY,
            "removeDomainSpamListEntry",
            "Remove an entry from a domain spam list",
            BodyDoc::None,
            None,
            delete(domain_list_remove),
        ),
        route(
            Method::GET,
            r::RS_MAILBOX_SPAM_SETTINGS,
            "getRsMailboxSpamSettings",
            "Show a Rackspace Email mailbox's spam settings (stored; officed does not filter mail)",
            BodyDoc::None,
            Some("MailboxSpamSettings"),
            get(mailbox_show),
        ),
        route(
            Method::PUT,
            r::RS_MAILBOX_SPAM_SETTINGS,
            "editRsMailboxSpamSettings",
            "Edit a Rackspace Email mailbox's spam settings (filterLevel required)",
            BodyDoc::Form("SpamSettingsForm"),
            None,
            put(mailbox_edit),
        ),
        route(
            Method::GET,
            r::RS_MAILBOX_SPAM_LIST,
            "getRsMailboxSpamList",
            "A Rackspace Email mailbox spam list",
            BodyDoc::None,
            Some("SpamList"),
            get(mailbox_list),
        ),
        route(
            Method::POST,
            r::RS_MAILBOX_SPAM_LIST_ENTRY,
            "addRsMailboxSpamListEntry",
            "Add an entry to a Rackspace Email mailbox spam list",
            BodyDoc::None,
            None,
            post(mailbox_list_add),
        ),
        route(
            Method::DELETE,
            r::RS_MAILBOX_SPAM_LIST_ENTRY,
            "removeRsMailboxSpamListEntry",
            "Remove an entry from a Rackspace Email mailbox spam list",
            BodyDoc::None,
            None,
            delete(mailbox_list_remove),
        ),
    ]
}

type P3 = Path<(String, String, String)>;
type P4 = Path<(String, String, String, String)>;
type P5 = Path<(String, String, String, String, String)>;

async fn domain_show(State(st): State<AppState>, scope: Scope) -> Result<Json<Value>> {
    let o = scope.dom.id;
    Ok(Json(load(&st, &o, true).await?))
}

async fn domain_edit(
    State(st): State<AppState>,
    scope: Scope,
    Body(f): Body<SpamSettingsForm>,
) -> Result<()> {
    let o = scope.dom.id;
    edit(&st, &o, true, f).await
}

async fn domain_list(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, l)): P3,
) -> Result<Json<Value>> {
    let o = scope.dom.id;
    list_show(&st, &o, &l).await
}

async fn domain_list_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, l, e)): P4,
) -> Result<()> {
    let o = scope.dom.id;
    list_add(&st, &o, &l, &e).await
}

async fn domain_list_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, l, e)): P4,
) -> Result<()> {
    let o = scope.dom.id;
    list_remove(&st, &o, &l, &e).await
}

async fn mailbox_show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
) -> Result<Json<Value>> {
    let o = store::mailbox_id(&st.db, &scope.dom, Svc::Rs, &n).await?;
    Ok(Json(load(&st, &o, false).await?))
}

async fn mailbox_edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
    Body(f): Body<SpamSettingsForm>,
) -> Result<()> {
    let o = store::mailbox_id(&st.db, &scope.dom, Svc::Rs, &n).await?;
    edit(&st, &o, false, f).await
}

async fn mailbox_list(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, l)): P4,
) -> Result<Json<Value>> {
    let o = store::mailbox_id(&st.db, &scope.dom, Svc::Rs, &n).await?;
    list_show(&st, &o, &l).await
}

async fn mailbox_list_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, l, e)): P5,
) -> Result<()> {
    let o = store::mailbox_id(&st.db, &scope.dom, Svc::Rs, &n).await?;
    list_add(&st, &o, &l, &e).await
}

async fn mailbox_list_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, l, e)): P5,
) -> Result<()> {
    let o = store::mailbox_id(&st.db, &scope.dom, Svc::Rs, &n).await?;
    list_remove(&st, &o, &l, &e).await
}

/// The settings a domain or mailbox has before any edit.
pub fn defaults(domain: bool) -> Value {
    let mut v = json!({
        "filterLevel": "on",
        "rsEmailSettings": {
            "spamHandling": "toFolder",
            "hasFolderCleaner": false,
            "spamFolderAgeLimit": 0,
            "spamFolderNumLimit": 0,
            "spamForwardingAddress": "",
        },
    });
    if domain {
        v["overrideUserSettings"] = json!(false);
        v["exchangeSettings"] = json!({
            "forwardToDomainQuarantine": "off",
            "quarantineOwner": "",
            "defaultQuarantineOwner": "",
        });
    }
    v
}

async fn load(st: &AppState, owner: &str, domain: bool) -> Result<Value> {
    let stored = store::spam::settings(&st.db, owner).await?;
    Ok(stored.unwrap_or_else(|| defaults(domain)))
}

fn invalid(field: &str, why: &str) -> Error {
    Error::validation(format!("Invalid value for field: {field}"), why.to_string())
}

/// Applies an edit to the current settings (pure; table-tested below).
pub fn apply(mut cur: Value, domain: bool, f: SpamSettingsForm) -> Result<Value> {
    let Some(level) = f.filter_level else {
        return Err(Error::bad_request(
            "Missing required field: filterLevel",
            "filterLevel must be on, off or exclusive.",
        ));
    };
    if !["on", "off", "exclusive"].contains(&level.as_str()) {
        return Err(invalid(
            "filterLevel",
            "filterLevel must be on, off or exclusive.",
        ));
    }
    cur["filterLevel"] = json!(level);
    if !domain {
        for (set, name) in [
            (f.override_user_settings.is_some(), "overrideUserSettings"),
            (
                f.forward_to_domain_quarantine.is_some(),
                "exchange.forwardToDomainQuarantine",
            ),
            (f.quarantine_owner.is_some(), "exchange.quarantineOwner"),
            (
                f.default_quarantine_owner.is_some(),
                "exchange.defaultQuarantineOwner",
            ),
        ] {
            if set {
                return Err(Error::validation(
                    format!("Unknown field: {name}"),
                    "A mailbox's spam settings have filterLevel and rsEmail.* only.",
                ));
            }
        }
    }
    if let Some(b) = f.override_user_settings {
        cur["overrideUserSettings"] = json!(b);
    }
    let rs = &mut cur["rsEmailSettings"];
    if let Some(h) = f.spam_handling {
        if !["toFolder", "delete", "labelSubject", "toAddress"].contains(&h.as_str()) {
            return Err(invalid(
                "rsEmail.spamHandling",
                "spamHandling must be toFolder, delete, labelSubject or toAddress.",
            ));
        }
        rs["spamHandling"] = json!(h);
    }
    if let Some(b) = f.has_folder_cleaner {
        rs["hasFolderCleaner"] = json!(b);
    }
    if let Some(n) = f.spam_folder_age_limit {
        rs["spamFolderAgeLimit"] = json!(n);
    }
    if let Some(n) = f.spam_folder_num_limit {
        rs["spamFolderNumLimit"] = json!(n);
    }
    if let Some(a) = f.spam_forwarding_address {
        if !a.is_empty() && !a.contains('@') {
            return Err(invalid(
                "rsEmail.spamForwardingAddress",
                "spamForwardingAddress is an email address.",
            ));
        }
        rs["spamForwardingAddress"] = json!(a);
    }
    if rs["spamHandling"] == "toAddress"
        && rs["spamForwardingAddress"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    {
        return Err(Error::bad_request(
            "Missing required field: rsEmail.spamForwardingAddress",
            "spamHandling toAddress needs spamForwardingAddress.",
        ));
    }
    if domain {
        let ex = &mut cur["exchangeSettings"];
        if let Some(v) = f.forward_to_domain_quarantine {
            if !["on", "off"].contains(&v.as_str()) {
                return Err(invalid(
                    "exchange.forwardToDomainQuarantine",
                    "forwardToDomainQuarantine must be on or off.",
                ));
            }
            ex["forwardToDomainQuarantine"] = json!(v);
        }
        for (v, k) in [
            (f.quarantine_owner, "quarantineOwner"),
            (f.default_quarantine_owner, "defaultQuarantineOwner"),
        ] {
            if let Some(v) = v {
                if !v.is_empty() && !v.contains('@') {
                    return Err(invalid(&format!("exchange.{k}"), "An email address."));
                }
                ex[k] = json!(v);
            }
        }
    }
    Ok(cur)
}

async fn edit(st: &AppState, owner: &str, domain: bool, f: SpamSettingsForm) -> Result<()> {
    let next = apply(load(st, owner, domain).await?, domain, f)?;
    store::spam::save_settings(&st.db, owner, &next).await
}

/// The canonical list name, or a 404 naming the documented ones.
pub fn list_name(l: &str) -> Result<&'static str> {
    let l = l.to_ascii_lowercase();
    let l = if l == "blacklist" {
        "blocklist".to_string()
    } else {
        l
    };
    LISTS.iter().copied().find(|x| *x == l).ok_or_else(|| {
        Error::not_found(
            "Resource not found.",
            "The spam lists are safelist, blocklist, ipsafelist and ipblocklist.",
        )
    })
}

/// Checks one list entry; answers the key it is stored under.
pub fn entry_key(list: &str, e: &str) -> Result<String> {
    let bad = |why: &str| invalid("entry", why);
    if list.starts_with("ip") {
        e.parse::<std::net::IpAddr>()
            .map(|ip| ip.to_string())
            .map_err(|_| bad("An IP list entry is an IPv4 or IPv6 address."))
    } else if e.is_empty()
        || e.len() > 254
        || !e
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ".@_+-*'".contains(ch))
    {
        Err(bad("A list entry is an email address or a domain (ASCII letters, digits and . @ _ + - * ')."))
    } else {
        Ok(e.to_ascii_lowercase())
    }
}

async fn list_show(st: &AppState, owner: &str, l: &str) -> Result<Json<Value>> {
    let list = list_name(l)?;
    let a = store::spam::entries(&st.db, owner, list).await?;
    Ok(Json(json!({ "addresses": a })))
}

async fn list_add(st: &AppState, owner: &str, l: &str, e: &str) -> Result<()> {
    let list = list_name(l)?;
    let key = entry_key(list, e)?;
    store::spam::add_entry(&st.db, owner, list, &key).await
}

async fn list_remove(st: &AppState, owner: &str, l: &str, e: &str) -> Result<()> {
    let list = list_name(l)?;
    let key = entry_key(list, e)?;
    if !store::spam::remove_entry(&st.db, owner, list, &key).await? {
        return Err(Error::not_found(
            format!("{} is not in the {list}.", crate::validate::printable(e)),
            "Nothing was removed.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> SpamSettingsForm {
        let m: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        super::super::extract::decode_body(m).unwrap()
    }

    /// A case: domain (or mailbox), the form, the status of a refusal.
    type Case<'a> = (bool, &'a [(&'a str, &'a str)], Option<u16>);

    #[test]
    fn edits() {
        let cases: &[Case<'_>] = &[
            (
                true,
                &[
                    ("filterLevel", "exclusive"),
                    ("overrideUserSettings", "False"),
                ],
                None,
            ),
            (true, &[("overrideUserSettings", "true")], Some(400)),
            (true, &[("filterLevel", "sometimes")], Some(400)),
            (
                false,
                &[("filterLevel", "on"), ("rsEmail.spamHandling", "toAddress")],
                Some(400),
            ),
            (
                false,
                &[
                    ("filterLevel", "on"),
                    ("rsEmail.spamHandling", "toAddress"),
                    ("rsEmail.spamForwardingAddress", "s@x.com"),
                ],
                None,
            ),
            (
                false,
                &[("filterLevel", "on"), ("exchange.quarantineOwner", "a@b.c")],
                Some(400),
            ),
            (
                true,
                &[
                    ("filterLevel", "on"),
                    ("exchange.forwardToDomainQuarantine", "maybe"),
                ],
                Some(400),
            ),
        ];
        for (domain, pairs, want) in cases {
            let got = apply(defaults(*domain), *domain, form(pairs));
            match want {
                None => assert!(got.is_ok(), "{pairs:?}"),
                Some(code) => {
                    assert_eq!(got.unwrap_err().to_fault().detail.code, *code, "{pairs:?}");
                }
            }
        }
    }

    #[test]
    fn entries() {
        assert_eq!(list_name("Blacklist").unwrap(), "blocklist");
        assert!(list_name("greylist").is_err());
        assert_eq!(
            entry_key("blocklist", "Name1@Spam.com").unwrap(),
            "name1@spam.com"
        );
        assert_eq!(entry_key("safelist", "example.com").unwrap(), "example.com");
        assert!(entry_key("blocklist", "a b").is_err());
        assert_eq!(entry_key("ipblocklist", "10.0.0.1").unwrap(), "10.0.0.1");
        assert!(entry_key("ipsafelist", "example.com").is_err());
    }
}
