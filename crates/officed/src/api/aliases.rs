//! Rackspace Email aliases.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{PageQuery, RsAlias, RsAliasForm, RsAliasList};

use super::extract::{Body, Path, Query, Scope};
use super::{ApiRoute, AppState};
use crate::error::Result;
use crate::store::{self, Page};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::RS_ALIASES,
            handler: get(list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::RS_ALIAS,
            handler: get(show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::RS_ALIAS,
            handler: post(add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::RS_ALIAS,
            handler: put(edit),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::RS_ALIAS,
            handler: delete(remove),
        },
        ApiRoute {
            method: Method::POST,
            path: r::RS_ALIAS_ADDRESS,
            handler: post(address_add),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::RS_ALIAS_ADDRESS,
            handler: delete(address_remove),
        },
    ]
}

/// `/customers/{c}/domains/{d}/.../{name}`: customer, domain and object name.
type ObjectPath = Path<(String, String, String)>;

#[utoipa::path(
    get,
    path = r::RS_ALIASES,
    operation_id = "listRsAliases",
    summary = "List Rackspace Email aliases (paged)",
    params(PageQuery),
    responses((status = 200, description = "OK", body = RsAliasList), crate::openapi::Faults),
)]
async fn list(
    State(st): State<AppState>,
    scope: Scope,
    Query(q): Query<PageQuery>,
) -> Result<Json<RsAliasList>> {
    Ok(Json(
        store::alias_list(&st.db, &scope.dom, &Page::from_query(q)?).await?,
    ))
}

#[utoipa::path(
    get,
    path = r::RS_ALIAS,
    operation_id = "getRsAlias",
    summary = "Show an alias",
    responses((status = 200, description = "OK", body = RsAlias), crate::openapi::Faults),
)]
async fn show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Json<RsAlias>> {
    Ok(Json(store::alias_get(&st.db, &scope.dom, &n).await?))
}

#[utoipa::path(
    post,
    path = r::RS_ALIAS,
    operation_id = "addRsAlias",
    summary = "Add an alias (aliasEmails: comma-separated forwarding addresses)",
    request_body(content((RsAliasForm = "application/x-www-form-urlencoded"), (RsAliasForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<RsAliasForm>,
) -> Result<()> {
    store::alias_create(&st.db, &scope.actor, &scope.dom, &n, &f).await?;
    Ok(())
}

#[utoipa::path(
    put,
    path = r::RS_ALIAS,
    operation_id = "editRsAlias",
    summary = "Replace an alias's forwarding addresses",
    request_body(content((RsAliasForm = "application/x-www-form-urlencoded"), (RsAliasForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<RsAliasForm>,
) -> Result<()> {
    store::alias_edit(&st.db, &scope.actor, &scope.dom, &n, &f).await?;
    Ok(())
}

#[utoipa::path(
    delete,
    path = r::RS_ALIAS,
    operation_id = "deleteRsAlias",
    summary = "Delete an alias",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<()> {
    store::alias_delete(&st.db, &scope.actor, &scope.dom, &n).await
}

/// `.../{name}/.../{item}`: customer, domain, object name and one item of it (a member, an address).
type ItemPath = Path<(String, String, String, String)>;

#[utoipa::path(
    post,
    path = r::RS_ALIAS_ADDRESS,
    operation_id = "addRsAliasAddress",
    summary = "Add one forwarding address (local targets must exist; at most 4 outside the account's domains)",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn address_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, a)): ItemPath,
) -> Result<()> {
    store::alias_address_add(&st.db, &scope.actor, &scope.dom, &n, &a).await
}

#[utoipa::path(
    delete,
    path = r::RS_ALIAS_ADDRESS,
    operation_id = "removeRsAliasAddress",
    summary = "Remove one forwarding address",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn address_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, a)): ItemPath,
) -> Result<()> {
    store::alias_address_remove(&st.db, &scope.actor, &scope.dom, &n, &a).await
}
