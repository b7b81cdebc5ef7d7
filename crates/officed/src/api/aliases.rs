//! Rackspace Email aliases.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{PageQuery, RsAlias, RsAliasForm, RsAliasList};

use super::extract::{Body, Path, Query, Scope};
use super::{ApiRoute, AppState, BodyDoc};
use crate::error::Result;
use crate::store::{self, Page};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::RS_ALIASES,
            operation_id: "listRsAliases",
            summary: "List Rackspace Email aliases (paged)",
            body: BodyDoc::None,
            response: Some("RsAliasList"),
            handler: get(list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::RS_ALIAS,
            operation_id: "getRsAlias",
            summary: "Show an alias",
            body: BodyDoc::None,
            response: Some("RsAlias"),
            handler: get(show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::RS_ALIAS,
            operation_id: "addRsAlias",
            summary: "Add an alias (aliasEmails: comma-separated forwarding addresses)",
            body: BodyDoc::Form("RsAliasForm"),
            response: None,
            handler: post(add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::RS_ALIAS,
            operation_id: "editRsAlias",
            summary: "Replace an alias's forwarding addresses",
            body: BodyDoc::Form("RsAliasForm"),
            response: None,
            handler: put(edit),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::RS_ALIAS,
            operation_id: "deleteRsAlias",
            summary: "Delete an alias",
            body: BodyDoc::None,
            response: None,
            handler: delete(remove),
        },
        ApiRoute {
            method: Method::POST,
            path: r::RS_ALIAS_ADDRESS,
            operation_id: "addRsAliasAddress",
            summary: "Add one forwarding address (local targets must exist; at most 4 outside the account's domains)",
            body: BodyDoc::None,
            response: None,
            handler: post(address_add),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::RS_ALIAS_ADDRESS,
            operation_id: "removeRsAliasAddress",
            summary: "Remove one forwarding address",
            body: BodyDoc::None,
            response: None,
            handler: delete(address_remove),
        },
    ]
}

type P3 = Path<(String, String, String)>;

async fn list(
    State(st): State<AppState>,
    scope: Scope,
    Query(q): Query<PageQuery>,
) -> Result<Json<RsAliasList>> {
    Ok(Json(
        store::alias_list(&st.db, &scope.dom, &Page::from_query(q)?).await?,
    ))
}

async fn show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
) -> Result<Json<RsAlias>> {
    Ok(Json(store::alias_get(&st.db, &scope.dom, &n).await?))
}

async fn add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
    Body(f): Body<RsAliasForm>,
) -> Result<()> {
    store::alias_create(&st.db, &scope.actor, &scope.dom, &n, &f).await?;
    Ok(())
}

async fn edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
    Body(f): Body<RsAliasForm>,
) -> Result<()> {
    store::alias_edit(&st.db, &scope.actor, &scope.dom, &n, &f).await?;
    Ok(())
}

async fn remove(State(st): State<AppState>, scope: Scope, Path((_, _, n)): P3) -> Result<()> {
    store::alias_delete(&st.db, &scope.actor, &scope.dom, &n).await
}

type P4 = Path<(String, String, String, String)>;

async fn address_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, a)): P4,
) -> Result<()> {
    store::alias_address_add(&st.db, &scope.actor, &scope.dom, &n, &a).await
}

async fn address_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, a)): P4,
) -> Result<()> {
    store::alias_address_remove(&st.db, &scope.actor, &scope.dom, &n, &a).await
}
