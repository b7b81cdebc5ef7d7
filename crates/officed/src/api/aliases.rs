//! Rackspace Email aliases.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{PageQuery, RsAlias, RsAliasForm, RsAliasList};

use super::extract::{Body, Path, Query};
use super::{domain_for, ApiRoute, AppState, BodyDoc, CallerExt};
use crate::error::Result;
use crate::store::{self, Actor, Page};

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

/// `/customers/{c}/domains/{d}/.../{name}`: customer, domain and object name.
type ObjectPath = Path<(String, String, String)>;

async fn list(
    State(st): State<AppState>,
    caller: CallerExt,
    Path((c, d)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<RsAliasList>> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    Ok(Json(
        store::alias_list(&st.db, &dom, &Page::from_query(q)?).await?,
    ))
}

async fn show(
    State(st): State<AppState>,
    caller: CallerExt,
    Path((c, d, n)): ObjectPath,
) -> Result<Json<RsAlias>> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    Ok(Json(store::alias_get(&st.db, &dom, &n).await?))
}

async fn add(
    State(st): State<AppState>,
    caller: CallerExt,
    Path((c, d, n)): ObjectPath,
    Body(f): Body<RsAliasForm>,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    store::alias_create(&st.db, &Actor::key(&caller.user_key), &dom, &n, &f).await?;
    Ok(())
}

async fn edit(
    State(st): State<AppState>,
    caller: CallerExt,
    Path((c, d, n)): ObjectPath,
    Body(f): Body<RsAliasForm>,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    store::alias_edit(&st.db, &Actor::key(&caller.user_key), &dom, &n, &f).await?;
    Ok(())
}

async fn remove(
    State(st): State<AppState>,
    caller: CallerExt,
    Path((c, d, n)): ObjectPath,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    store::alias_delete(&st.db, &Actor::key(&caller.user_key), &dom, &n).await
}

/// `.../{name}/.../{item}`: customer, domain, object name and one item of it (a member, an address).
type ItemPath = Path<(String, String, String, String)>;

async fn address_add(
    State(st): State<AppState>,
    caller: CallerExt,
    Path((c, d, n, a)): ItemPath,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    store::alias_address_add(&st.db, &Actor::key(&caller.user_key), &dom, &n, &a).await
}

async fn address_remove(
    State(st): State<AppState>,
    caller: CallerExt,
    Path((c, d, n, a)): ItemPath,
) -> Result<()> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    store::alias_address_remove(&st.db, &Actor::key(&caller.user_key), &dom, &n, &a).await
}
