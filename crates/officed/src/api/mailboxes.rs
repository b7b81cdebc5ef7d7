//! Exchange and Rackspace Email mailboxes, and Exchange alternate addresses.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{
    EmailAddressList, ExchangeMailbox, ExchangeMailboxForm, ExchangeMailboxList, LoginToken,
    MailboxRenameForm, PageQuery, RsMailbox, RsMailboxForm, RsMailboxList,
};

use super::extract::{Body, Form, Path, Query, Scope};
use super::{ApiRoute, AppState, Caller};
use crate::db::internal;
use crate::error::{Error, Result};
use crate::store::{self, summarize, MailboxInput, Page, Service};

/// The documented `fields=` extras of the Exchange mailbox list.
pub const EX_LIST_FIELDS: &[&str] = &[
    "size",
    "currentUsage",
    "hasBlackBerryMobileService",
    "hasActiveSyncMobileService",
];
/// The documented `fields=` extras of the Rackspace Email mailbox list.
pub const RS_LIST_FIELDS: &[&str] = &[
    "size",
    "currentUsage",
    "enabled",
    "createdDate",
    "lastLogin",
];

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::EX_MAILBOXES,
            handler: get(ex_list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::EX_MAILBOX,
            handler: get(ex_show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_MAILBOX,
            handler: post(ex_add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::EX_MAILBOX,
            handler: put(ex_edit),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::EX_MAILBOX,
            handler: delete(ex_delete),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_MAILBOX_RENAME,
            handler: post(ex_rename),
        },
        ApiRoute {
            method: Method::GET,
            path: r::EX_MAILBOX_ADDRESSES,
            handler: get(addr_list),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_MAILBOX_ADDRESS,
            handler: post(addr_add),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::EX_MAILBOX_ADDRESS,
            handler: delete(addr_remove),
        },
        ApiRoute {
            method: Method::GET,
            path: r::RS_MAILBOXES,
            handler: get(rs_list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::RS_MAILBOX,
            handler: get(rs_show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::RS_MAILBOX_LOGIN_TOKEN,
            handler: post(rs_login_token_lower),
        },
        ApiRoute {
            method: Method::POST,
            path: r::RS_MAILBOX_LOGIN_TOKEN_LOWER,
            handler: post(rs_login_token),
        },
        ApiRoute {
            method: Method::POST,
            path: r::RS_MAILBOX,
            handler: post(rs_add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::RS_MAILBOX,
            handler: put(rs_edit),
        },
        ApiRoute {
            method: Method::POST,
            path: r::RS_MAILBOX_RENAME,
            handler: post(rs_rename),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::RS_MAILBOX,
            handler: delete(rs_delete),
        },
    ]
}

/// `/customers/{c}/domains/{d}/.../{name}`: customer, domain and object name.
type ObjectPath = Path<(String, String, String)>;

#[utoipa::path(
    get,
    path = r::EX_MAILBOXES,
    operation_id = "listExchangeMailboxes",
    summary = "List Exchange mailboxes (paged: size <= 250, offset)",
    params(PageQuery),
    responses((status = 200, description = "OK", body = ExchangeMailboxList), crate::openapi::Faults),
)]
async fn ex_list(
    State(st): State<AppState>,
    scope: Scope,
    Query(q): Query<PageQuery>,
) -> Result<Json<ExchangeMailboxList>> {
    let page = Page::from_query(q)?;
    let (boxes, total) = store::mailbox_list(&st.db, &scope.dom, Service::Exchange, &page).await?;
    let mailboxes = boxes
        .iter()
        .map(|m| summarize(&m.exchange(), EX_LIST_FIELDS, &page.fields))
        .collect::<Result<_>>()?;
    Ok(Json(ExchangeMailboxList {
        mailboxes,
        offset: page.offset,
        size: page.size,
        total,
    }))
}

#[utoipa::path(
    get,
    path = r::EX_MAILBOX,
    operation_id = "getExchangeMailbox",
    summary = "Show an Exchange mailbox",
    responses((status = 200, description = "OK", body = ExchangeMailbox), crate::openapi::Faults),
)]
async fn ex_show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Json<ExchangeMailbox>> {
    Ok(Json(
        store::mailbox_get(&st.db, &scope.dom, Service::Exchange, &n)
            .await?
            .exchange(),
    ))
}

#[utoipa::path(
    post,
    path = r::EX_MAILBOX,
    operation_id = "addExchangeMailbox",
    summary = "Add an Exchange mailbox (licences, address uniqueness; recoverDeleted=true recovers one deleted in the last 14 days)",
    request_body(content((ExchangeMailboxForm = "application/x-www-form-urlencoded"), (ExchangeMailboxForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn ex_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<ExchangeMailboxForm>,
) -> Result<()> {
    let input = MailboxInput::from(f);
    store::mailbox_create(
        &st.db,
        &scope.actor,
        &scope.dom,
        Service::Exchange,
        &n,
        &input,
    )
    .await?;
    Ok(())
}

#[utoipa::path(
    put,
    path = r::EX_MAILBOX,
    operation_id = "editExchangeMailbox",
    summary = "Edit an Exchange mailbox (the name cannot change)",
    request_body(content((ExchangeMailboxForm = "application/x-www-form-urlencoded"), (ExchangeMailboxForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn ex_edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<ExchangeMailboxForm>,
) -> Result<()> {
    let input = MailboxInput::from(f);
    store::mailbox_edit(
        &st.db,
        &scope.actor,
        &scope.dom,
        Service::Exchange,
        &n,
        &input,
    )
    .await?;
    Ok(())
}

/// Refuses keys without the rename permission, before anything else is
/// looked at (so the answer says nothing about the mailbox or its domain).
struct CanRename;

impl<S: Send + Sync> FromRequestParts<S> for CanRename {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        let Some(caller) = parts.extensions.get::<Caller>() else {
            return Err(internal(
                "CanRename is extracted on an unauthenticated route.",
            ));
        };
        if caller.allow_rename {
            Ok(CanRename)
        } else {
            tracing::info!(user_key = %caller.user_key, "refused: rename without the rename permission");
            Err(Error::not_authorized(
                "Renaming a mailbox changes its Service ID and is an administrator's operation: this API key lacks the rename permission (an administrator issues one with 'officed key issue --allow-rename').",
            ))
        }
    }
}

async fn rename(
    st: &AppState,
    scope: &Scope,
    name: &str,
    svc: Service,
    new_name: &str,
) -> Result<()> {
    store::mailbox_rename(&st.db, &scope.actor, &scope.dom, svc, name, new_name).await?;
    Ok(())
}

#[utoipa::path(
    post,
    path = r::EX_MAILBOX_RENAME,
    operation_id = "renameExchangeMailbox",
    summary = "Rename an Exchange mailbox (changes its Service ID; keeps alternate addresses and list memberships; audited). Only for API keys with the rename permission: others get 403 Not authorized",
    request_body(content((MailboxRenameForm = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
    extensions(("x-officed-extension" = json!(true))),
)]
async fn ex_rename(
    State(st): State<AppState>,
    _: CanRename,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Form(f): Form<MailboxRenameForm>,
) -> Result<()> {
    rename(&st, &scope, &n, Service::Exchange, &f.new_name).await
}

#[utoipa::path(
    delete,
    path = r::EX_MAILBOX,
    operation_id = "deleteExchangeMailbox",
    summary = "Delete an Exchange mailbox (recoverable for 14 days)",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn ex_delete(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<()> {
    store::mailbox_delete(&st.db, &scope.actor, &scope.dom, Service::Exchange, &n).await
}

#[utoipa::path(
    get,
    path = r::EX_MAILBOX_ADDRESSES,
    operation_id = "listExchangeMailboxAddresses",
    summary = "List a mailbox's addresses (primary, domain-alias and alternate)",
    responses((status = 200, description = "OK", body = EmailAddressList), crate::openapi::Faults),
)]
async fn addr_list(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Json<EmailAddressList>> {
    Ok(Json(
        store::mailbox_addresses(&st.db, &scope.dom, &n).await?,
    ))
}

#[utoipa::path(
    post,
    path = r::EX_MAILBOX_ADDRESS,
    operation_id = "addExchangeMailboxAddress",
    summary = "Add an alternate address (primary or accepted domain only)",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn addr_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, a)): Path<(String, String, String, String)>,
) -> Result<()> {
    store::mailbox_address_add(&st.db, &scope.actor, &scope.dom, &n, &a).await?;
    Ok(())
}

#[utoipa::path(
    delete,
    path = r::EX_MAILBOX_ADDRESS,
    operation_id = "removeExchangeMailboxAddress",
    summary = "Remove an alternate address",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn addr_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, a)): Path<(String, String, String, String)>,
) -> Result<()> {
    store::mailbox_address_remove(&st.db, &scope.actor, &scope.dom, &n, &a).await
}

#[utoipa::path(
    get,
    path = r::RS_MAILBOXES,
    operation_id = "listRsMailboxes",
    summary = "List Rackspace Email mailboxes (paged)",
    params(PageQuery),
    responses((status = 200, description = "OK", body = RsMailboxList), crate::openapi::Faults),
)]
async fn rs_list(
    State(st): State<AppState>,
    scope: Scope,
    Query(q): Query<PageQuery>,
) -> Result<Json<RsMailboxList>> {
    let page = Page::from_query(q)?;
    let (boxes, total) = store::mailbox_list(&st.db, &scope.dom, Service::RsEmail, &page).await?;
    let rs_mailboxes = boxes
        .iter()
        .map(|m| summarize(&m.rs(), RS_LIST_FIELDS, &page.fields))
        .collect::<Result<_>>()?;
    Ok(Json(RsMailboxList {
        rs_mailboxes,
        offset: page.offset,
        size: page.size,
        total,
    }))
}

#[utoipa::path(
    get,
    path = r::RS_MAILBOX,
    operation_id = "getRsMailbox",
    summary = "Show a Rackspace Email mailbox",
    responses((status = 200, description = "OK", body = RsMailbox), crate::openapi::Faults),
)]
async fn rs_show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Json<RsMailbox>> {
    Ok(Json(
        store::mailbox_get(&st.db, &scope.dom, Service::RsEmail, &n)
            .await?
            .rs(),
    ))
}

#[utoipa::path(
    post,
    path = r::RS_MAILBOX_LOGIN_TOKEN_LOWER,
    operation_id = "rsMailboxLoginTokenLower",
    summary = "The same as loginToken, as rackmail spells it",
    responses((status = 200, description = "OK", body = LoginToken), crate::openapi::Faults),
)]
async fn rs_login_token(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Json<LoginToken>> {
    let token = store::rs_login_token(&st.db, &scope.dom, &n).await?;
    Ok(Json(LoginToken { token }))
}

#[utoipa::path(
    post,
    path = r::RS_MAILBOX_LOGIN_TOKEN,
    operation_id = "rsMailboxLoginToken",
    summary = "A new Rackspace Email login token (random, kept only as a hash, valid 5 minutes)",
    responses((status = 200, description = "OK", body = LoginToken), crate::openapi::Faults),
)]
async fn rs_login_token_lower(
    st: State<AppState>,
    scope: Scope,
    path: ObjectPath,
) -> Result<Json<LoginToken>> {
    rs_login_token(st, scope, path).await
}

#[utoipa::path(
    post,
    path = r::RS_MAILBOX,
    operation_id = "addRsMailbox",
    summary = "Add a Rackspace Email mailbox",
    request_body(content((RsMailboxForm = "application/x-www-form-urlencoded"), (RsMailboxForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn rs_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<RsMailboxForm>,
) -> Result<()> {
    let input = MailboxInput::from(f);
    store::mailbox_create(
        &st.db,
        &scope.actor,
        &scope.dom,
        Service::RsEmail,
        &n,
        &input,
    )
    .await?;
    Ok(())
}

#[utoipa::path(
    put,
    path = r::RS_MAILBOX,
    operation_id = "editRsMailbox",
    summary = "Edit a Rackspace Email mailbox (the name cannot change)",
    request_body(content((RsMailboxForm = "application/x-www-form-urlencoded"), (RsMailboxForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn rs_edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<RsMailboxForm>,
) -> Result<()> {
    let input = MailboxInput::from(f);
    store::mailbox_edit(
        &st.db,
        &scope.actor,
        &scope.dom,
        Service::RsEmail,
        &n,
        &input,
    )
    .await?;
    Ok(())
}

#[utoipa::path(
    post,
    path = r::RS_MAILBOX_RENAME,
    operation_id = "renameRsMailbox",
    summary = "Rename a Rackspace Email mailbox (changes its Service ID and primary address; audited). Only for API keys with the rename permission: others get 403 Not authorized",
    request_body(content((MailboxRenameForm = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
    extensions(("x-officed-extension" = json!(true))),
)]
async fn rs_rename(
    State(st): State<AppState>,
    _: CanRename,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Form(f): Form<MailboxRenameForm>,
) -> Result<()> {
    rename(&st, &scope, &n, Service::RsEmail, &f.new_name).await
}

#[utoipa::path(
    delete,
    path = r::RS_MAILBOX,
    operation_id = "deleteRsMailbox",
    summary = "Delete a Rackspace Email mailbox (recoverable for 14 days)",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn rs_delete(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<()> {
    store::mailbox_delete(&st.db, &scope.actor, &scope.dom, Service::RsEmail, &n).await
}
