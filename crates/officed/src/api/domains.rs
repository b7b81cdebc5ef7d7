//! Domains of the caller's customer: index and show for every key; add,
//! edit, delete and alternate domains (the Domain page's "Reseller Only"
//! operations) for keys issued with `--allow-domain-admin`, on their own
//! customer only.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post};
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{lenient, Domain, DomainList, PageQuery, ServiceType};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::extract::{Body, Path, Query};
use super::{check_customer, domain_for, ApiRoute, AppState, Caller, CallerExt};
use crate::error::{Error, Result};
use crate::store::{self, Actor, AlternateKind, DomainChange, Page};

/// `GET` the alternate domains of a domain.
pub const ALTERNATE_DOMAINS: &str = "/customers/{c}/domains/{d}/alternatedomains";
/// `POST`/`DELETE` one alternate domain.
pub const ALTERNATE_DOMAIN: &str = "/customers/{c}/domains/{d}/alternatedomains/{a}";

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::DOMAINS,
            handler: get(list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::DOMAIN,
            handler: get(show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::DOMAIN,
            handler: post(add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::DOMAIN,
            handler: axum::routing::put(edit),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::DOMAIN,
            handler: delete(remove),
        },
        ApiRoute {
            method: Method::GET,
            path: ALTERNATE_DOMAINS,
            handler: get(alternate_list),
        },
        ApiRoute {
            method: Method::POST,
            path: ALTERNATE_DOMAIN,
            handler: post(alternate_add),
        },
        ApiRoute {
            method: Method::DELETE,
            path: ALTERNATE_DOMAIN,
            handler: delete(alternate_remove),
        },
    ]
}

/// Add (`POST`) or edit (`PUT`) a domain, form-encoded or JSON: the
/// Domain page's "Add/Edit" fields. On add, `serviceType` and the mailbox
/// count of each included service are required; on edit every field is
/// optional. The storage, archiving, mobile and product fields are stored
/// and returned by Show; officed does not act on them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DomainForm {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub service_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub exchange_max_num_mailboxes: Option<u32>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub rs_email_max_number_mailboxes: Option<u32>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub exchange_extra_storage: Option<u32>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub rs_email_base_mailbox_size: Option<u32>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub rs_email_extra_storage: Option<u32>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub rs_email_product: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub archiving_service_enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub black_berry_mobile_service_enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub black_berry_licenses: Option<u32>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub active_sync_mobile_service_enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub active_sync_licenses: Option<u32>,
}

impl DomainForm {
    /// The change this form asks for; a bad `serviceType` is a
    /// `validationFault` naming it.
    pub fn change(&self) -> Result<DomainChange> {
        let service_type = match &self.service_type {
            None => None,
            Some(s) => Some(ServiceType::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
                Error::validation(
                    "Invalid value for field: serviceType",
                    format!(
                        "'{}' is not a service type: use exchange, rsemail or both.",
                        crate::validate::printable(s)
                    ),
                )
            })?),
        };
        // The stored fields, as the form's own JSON (absent ones skipped).
        let mut settings = Map::new();
        let all = serde_json::to_value(self).map_err(|e| Error::Internal(e.to_string()))?;
        for (name, _) in store::STORED_DOMAIN_FIELDS {
            if let Some(v) = all.get(*name).filter(|v| !v.is_null()) {
                settings.insert((*name).to_string(), v.clone());
            }
        }
        Ok(DomainChange {
            service_type,
            exchange_max: self.exchange_max_num_mailboxes,
            rsemail_max: self.rs_email_max_number_mailboxes,
            settings,
        })
    }
}

/// Add an alternate domain: `type` is `DomainAlias` or `AcceptedDomain`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlternateDomainForm {
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
}

/// One alternate domain as `GET .../alternatedomains` lists it.
#[derive(utoipa::ToSchema)]
pub struct AlternateDomain {
    pub name: String,
    /// `DomainAlias` or `AcceptedDomain`.
    #[schema(rename = "type")]
    pub kind: String,
}

/// A domain's alternate domains, as `GET .../alternatedomains` answers.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AlternateDomainList {
    pub alternate_domains: Vec<AlternateDomain>,
}

/// The caller of a domain write or alternate-domain operation, checked
/// before the body is read. The documented permission model: these are
/// "Reseller Only"; a key with the domain permission is its own customer's
/// reseller, and any other key gets 403 `Not authorized`.
pub struct DomainAdmin(pub Caller);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for DomainAdmin {
    type Rejection = Error;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Error::Internal("no authenticated caller".into()))?;
        if caller.allow_domain_admin {
            Ok(DomainAdmin(caller))
        } else {
            Err(Error::not_authorized(
                "Adding, editing and deleting domains and their alternate domains is a reseller's operation: this API key lacks the domain permission (an administrator issues one with 'officed key issue --allow-domain-admin').",
            ))
        }
    }
}

#[utoipa::path(
    get,
    path = r::DOMAINS,
    operation_id = "listDomains",
    summary = "List the customer's domains",
    params(PageQuery),
    responses((status = 200, description = "OK", body = DomainList), crate::openapi::Faults),
)]
async fn list(
    State(st): State<AppState>,
    caller: CallerExt,
    Path(c): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<DomainList>> {
    check_customer(&caller, &c)?;
    let page = Page::from_query(q)?;
    Ok(Json(
        store::list_domains(&st.db, &caller.customer_id, page).await?,
    ))
}

/// The documented Show fields plus the stored ones that were set.
#[utoipa::path(
    get,
    path = r::DOMAIN,
    operation_id = "getDomain",
    summary = "Show a domain with its licences, usage, aliases and accepted domains",
    responses((status = 200, description = "OK", body = Domain), crate::openapi::Faults),
)]
async fn show(
    State(st): State<AppState>,
    caller: CallerExt,
    Path((c, d)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    let mut v = serde_json::to_value(store::domain_wire(&dom))
        .map_err(|e| Error::Internal(e.to_string()))?;
    if let Value::Object(m) = &mut v {
        for (k, val) in store::domain_settings(&st.db, &dom.id).await? {
            m.entry(k).or_insert(val);
        }
    }
    Ok(Json(v))
}

#[utoipa::path(
    post,
    path = r::DOMAIN,
    operation_id = "addDomain",
    summary = "Add a domain to the key's customer (keys with the domain permission; 2 domain writes a minute)",
    request_body(content((DomainForm = "application/x-www-form-urlencoded"), (DomainForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn add(
    State(st): State<AppState>,
    DomainAdmin(caller): DomainAdmin,
    Path((c, d)): Path<(String, String)>,
    Body(f): Body<DomainForm>,
) -> Result<()> {
    check_customer(&caller, &c)?;
    let ch = f.change()?;
    store::domain_add(
        &st.db,
        &Actor::key(&caller.user_key),
        &caller.customer_id,
        &d,
        &ch,
    )
    .await
}

#[utoipa::path(
    put,
    path = r::DOMAIN,
    operation_id = "editDomain",
    summary = "Edit a domain's services, mailbox counts and stored settings (keys with the domain permission)",
    request_body(content((DomainForm = "application/x-www-form-urlencoded"), (DomainForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn edit(
    State(st): State<AppState>,
    DomainAdmin(caller): DomainAdmin,
    Path((c, d)): Path<(String, String)>,
    Body(f): Body<DomainForm>,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    let ch = f.change()?;
    store::domain_edit(&st.db, &Actor::key(&caller.user_key), &dom, &ch).await
}

#[utoipa::path(
    delete,
    path = r::DOMAIN,
    operation_id = "deleteDomain",
    summary = "Delete an empty domain (keys with the domain permission)",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn remove(
    State(st): State<AppState>,
    DomainAdmin(caller): DomainAdmin,
    Path((c, d)): Path<(String, String)>,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    store::domain_delete(&st.db, &Actor::key(&caller.user_key), &dom).await
}

#[utoipa::path(
    get,
    path = ALTERNATE_DOMAINS,
    operation_id = "listAlternateDomains",
    summary = "List a domain's domain aliases and accepted domains (keys with the domain permission)",
    responses((status = 200, description = "OK", body = AlternateDomainList), crate::openapi::Faults),
)]
async fn alternate_list(
    State(st): State<AppState>,
    DomainAdmin(caller): DomainAdmin,
    Path((c, d)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    let items: Vec<Value> = store::alternate_list(&dom)
        .into_iter()
        .map(|(name, kind)| json!({"name": name, "type": kind.as_str()}))
        .collect();
    Ok(Json(json!({ "alternateDomains": items })))
}

#[utoipa::path(
    post,
    path = ALTERNATE_DOMAIN,
    operation_id = "addAlternateDomain",
    summary = "Add a domain alias or accepted domain (type=DomainAlias|AcceptedDomain; 2 a minute)",
    request_body(content((AlternateDomainForm = "application/x-www-form-urlencoded"), (AlternateDomainForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn alternate_add(
    State(st): State<AppState>,
    DomainAdmin(caller): DomainAdmin,
    Path((c, d, a)): Path<(String, String, String)>,
    Body(f): Body<AlternateDomainForm>,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    let kind = match f.kind.as_deref() {
        None | Some("") => {
            return Err(Error::bad_request(
                "Missing required field: type",
                "An alternate domain is added with type DomainAlias or AcceptedDomain.",
            ))
        }
        Some(t) => AlternateKind::parse(t).ok_or_else(|| {
            Error::validation(
                "Invalid value for field: type",
                format!(
                    "'{}' is not an alternate domain type: use DomainAlias or AcceptedDomain.",
                    crate::validate::printable(t)
                ),
            )
        })?,
    };
    store::alternate_add(&st.db, &Actor::key(&caller.user_key), &dom, &a, kind).await
}

#[utoipa::path(
    delete,
    path = ALTERNATE_DOMAIN,
    operation_id = "deleteAlternateDomain",
    summary = "Remove a domain alias or accepted domain (2 a minute)",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn alternate_remove(
    State(st): State<AppState>,
    DomainAdmin(caller): DomainAdmin,
    Path((c, d, a)): Path<(String, String, String)>,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    store::alternate_remove(&st.db, &Actor::key(&caller.user_key), &dom, &a).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_form_change() {
        let f: DomainForm = serde_json::from_value(json!({
            "serviceType": "Both",
            "exchangeMaxNumMailboxes": "4",
            "rsEmailMaxNumberMailboxes": 5,
            "rsEmailBaseMailboxSize": "2048",
            "archivingServiceEnabled": "True",
        }))
        .unwrap();
        let ch = f.change().unwrap();
        assert_eq!(ch.service_type, Some(ServiceType::Both));
        assert_eq!(ch.exchange_max, Some(4));
        assert_eq!(ch.rsemail_max, Some(5));
        assert_eq!(
            Value::Object(ch.settings),
            json!({"rsEmailBaseMailboxSize": 2048, "archivingServiceEnabled": true})
        );
        let bad = DomainForm {
            service_type: Some("none".into()),
            ..Default::default()
        };
        let e = bad.change().unwrap_err().to_fault();
        assert_eq!(e.detail.message, "Invalid value for field: serviceType");
    }

    #[test]
    fn stored_fields_are_form_fields() {
        let v = serde_json::to_value(DomainForm::default()).unwrap();
        for (name, _) in store::STORED_DOMAIN_FIELDS {
            assert!(v.get(*name).is_some(), "{name}");
        }
    }
}
