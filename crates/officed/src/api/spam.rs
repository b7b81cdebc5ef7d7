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
use super::{ApiRoute, AppState};
use crate::error::{Error, Result};
use crate::store::{self, Service};

/// The documented list names (`blacklist`, the name before 2020, is read
/// as `blocklist`).
pub const LISTS: &[&str] = &["safelist", "blocklist", "ipsafelist", "ipblocklist"];

/// The fields of a spam settings edit (`PUT .../spam/settings`), form or
/// JSON. `exchange.*` applies to domains only.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpamSettingsForm {
    #[serde(
        default,
        rename = "filterLevel",
        deserialize_with = "cloudoffice_api::lenient::opt_string"
    )]
    /// Required: `on`, `off` or `exclusive`.
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
    /// Domains only: `on` or `off`.
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

fn route(
    method: Method,
    path: &'static str,
    handler: axum::routing::MethodRouter<AppState>,
) -> ApiRoute {
    ApiRoute {
        method,
        path,
        handler,
    }
}

pub fn routes() -> Vec<ApiRoute> {
    vec![
        route(Method::GET, r::DOMAIN_SPAM_SETTINGS, get(domain_show)),
        route(Method::PUT, r::DOMAIN_SPAM_SETTINGS, put(domain_edit)),
        route(Method::GET, r::DOMAIN_SPAM_LIST, get(domain_list)),
        route(
            Method::POST,
            r::DOMAIN_SPAM_LIST_ENTRY,
            post(domain_list_add),
        ),
        route(
            Method::DELETE,
            r::DOMAIN_SPAM_LIST_ENTRY,
            delete(domain_list_remove),
        ),
        route(Method::GET, r::RS_MAILBOX_SPAM_SETTINGS, get(mailbox_show)),
        route(Method::PUT, r::RS_MAILBOX_SPAM_SETTINGS, put(mailbox_edit)),
        route(Method::GET, r::RS_MAILBOX_SPAM_LIST, get(mailbox_list)),
        route(
            Method::POST,
            r::RS_MAILBOX_SPAM_LIST_ENTRY,
            post(mailbox_list_add),
        ),
        route(
            Method::DELETE,
            r::RS_MAILBOX_SPAM_LIST_ENTRY,
            delete(mailbox_list_remove),
        ),
    ]
}

type ObjectPath = Path<(String, String, String)>;
type ItemPath = Path<(String, String, String, String)>;
/// `.../{name}/spam/{list}/{entry}`: customer, domain, mailbox, spam list and one entry of it.
type EntryPath = Path<(String, String, String, String, String)>;

/// A domain's spam settings as `GET .../spam/settings` answers them (the
/// shape of [`defaults`]`(true)`; a test checks the two agree).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DomainSpamSettings {
    pub filter_level: String,
    pub override_user_settings: bool,
    pub rs_email_settings: RsEmailSpamSettings,
    pub exchange_settings: ExchangeSpamSettings,
}

/// A Rackspace Email mailbox's spam settings (the shape of
/// [`defaults`]`(false)`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct MailboxSpamSettings {
    pub filter_level: String,
    pub rs_email_settings: RsEmailSpamSettings,
}

/// Rackspace Email's spam handling (`rsEmailSettings`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RsEmailSpamSettings {
    pub spam_handling: String,
    pub has_folder_cleaner: bool,
    pub spam_folder_age_limit: u32,
    pub spam_folder_num_limit: u32,
    pub spam_forwarding_address: String,
}

/// Exchange's quarantine settings of a domain (`exchangeSettings`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ExchangeSpamSettings {
    pub forward_to_domain_quarantine: String,
    pub quarantine_owner: String,
    pub default_quarantine_owner: String,
}

/// A spam list as `GET .../spam/{list}` answers it.
#[derive(utoipa::ToSchema)]
pub struct SpamList {
    pub addresses: Vec<String>,
}

#[utoipa::path(
    get,
    path = r::DOMAIN_SPAM_SETTINGS,
    operation_id = "getDomainSpamSettings",
    summary = "Show a domain's spam settings (stored; officed does not filter mail)",
    responses((status = 200, description = "OK", body = DomainSpamSettings), crate::openapi::Faults),
)]
async fn domain_show(State(st): State<AppState>, scope: Scope) -> Result<Json<Value>> {
    let o = scope.dom.id;
    Ok(Json(load(&st, &o, true).await?))
}

#[utoipa::path(
    put,
    path = r::DOMAIN_SPAM_SETTINGS,
    operation_id = "editDomainSpamSettings",
    summary = "Edit a domain's spam settings (filterLevel required: on, off or exclusive)",
    request_body(content((SpamSettingsForm = "application/x-www-form-urlencoded"), (SpamSettingsForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn domain_edit(
    State(st): State<AppState>,
    scope: Scope,
    Body(f): Body<SpamSettingsForm>,
) -> Result<()> {
    let o = scope.dom.id;
    edit(&st, &o, true, f).await
}

#[utoipa::path(
    get,
    path = r::DOMAIN_SPAM_LIST,
    operation_id = "getDomainSpamList",
    summary = "A domain spam list: safelist, blocklist, ipsafelist or ipblocklist",
    responses((status = 200, description = "OK", body = SpamList), crate::openapi::Faults),
)]
async fn domain_list(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, l)): ObjectPath,
) -> Result<Json<Value>> {
    let o = scope.dom.id;
    list_show(&st, &o, &l).await
}

#[utoipa::path(
    post,
    path = r::DOMAIN_SPAM_LIST_ENTRY,
    operation_id = "addDomainSpamListEntry",
    summary = "Add an address, domain or IP address to a domain spam list",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn domain_list_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, l, e)): ItemPath,
) -> Result<()> {
    let o = scope.dom.id;
    list_add(&st, &o, &l, &e).await
}

#[utoipa::path(
    delete,
    path = r::DOMAIN_SPAM_LIST_ENTRY,
    operation_id = "removeDomainSpamListEntry",
    summary = "Remove an entry from a domain spam list",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn domain_list_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, l, e)): ItemPath,
) -> Result<()> {
    let o = scope.dom.id;
    list_remove(&st, &o, &l, &e).await
}

#[utoipa::path(
    get,
    path = r::RS_MAILBOX_SPAM_SETTINGS,
    operation_id = "getRsMailboxSpamSettings",
    summary = "Show a Rackspace Email mailbox's spam settings (stored; officed does not filter mail)",
    responses((status = 200, description = "OK", body = MailboxSpamSettings), crate::openapi::Faults),
)]
async fn mailbox_show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Json<Value>> {
    let o = store::mailbox_id(&st.db, &scope.dom, Service::RsEmail, &n).await?;
    Ok(Json(load(&st, &o, false).await?))
}

#[utoipa::path(
    put,
    path = r::RS_MAILBOX_SPAM_SETTINGS,
    operation_id = "editRsMailboxSpamSettings",
    summary = "Edit a Rackspace Email mailbox's spam settings (filterLevel required)",
    request_body(content((SpamSettingsForm = "application/x-www-form-urlencoded"), (SpamSettingsForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn mailbox_edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<SpamSettingsForm>,
) -> Result<()> {
    let o = store::mailbox_id(&st.db, &scope.dom, Service::RsEmail, &n).await?;
    edit(&st, &o, false, f).await
}

#[utoipa::path(
    get,
    path = r::RS_MAILBOX_SPAM_LIST,
    operation_id = "getRsMailboxSpamList",
    summary = "A Rackspace Email mailbox spam list",
    responses((status = 200, description = "OK", body = SpamList), crate::openapi::Faults),
)]
async fn mailbox_list(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, l)): ItemPath,
) -> Result<Json<Value>> {
    let o = store::mailbox_id(&st.db, &scope.dom, Service::RsEmail, &n).await?;
    list_show(&st, &o, &l).await
}

#[utoipa::path(
    post,
    path = r::RS_MAILBOX_SPAM_LIST_ENTRY,
    operation_id = "addRsMailboxSpamListEntry",
    summary = "Add an entry to a Rackspace Email mailbox spam list",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn mailbox_list_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, l, e)): EntryPath,
) -> Result<()> {
    let o = store::mailbox_id(&st.db, &scope.dom, Service::RsEmail, &n).await?;
    list_add(&st, &o, &l, &e).await
}

#[utoipa::path(
    delete,
    path = r::RS_MAILBOX_SPAM_LIST_ENTRY,
    operation_id = "removeRsMailboxSpamListEntry",
    summary = "Remove an entry from a Rackspace Email mailbox spam list",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn mailbox_list_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, l, e)): EntryPath,
) -> Result<()> {
    let o = store::mailbox_id(&st.db, &scope.dom, Service::RsEmail, &n).await?;
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
