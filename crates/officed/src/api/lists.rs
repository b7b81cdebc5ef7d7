//! Exchange distribution lists and their members (JSON bodies).

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{
    DistributionList, DistributionListBody, DistributionListList, MemberList, PageQuery,
};

use super::extract::{Json, Path, Query, Scope};
use super::{ApiRoute, AppState};
use crate::error::Result;
use crate::store::{self, Page};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::EX_LISTS,
            handler: get(list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::EX_LIST,
            handler: get(show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_LIST,
            handler: post(add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::EX_LIST,
            handler: put(edit),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::EX_LIST,
            handler: delete(remove),
        },
        ApiRoute {
            method: Method::GET,
            path: r::EX_LIST_MEMBERS,
            handler: get(members),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_LIST_MEMBER,
            handler: post(member_add),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::EX_LIST_MEMBER,
            handler: delete(member_remove),
        },
    ]
}

/// `/customers/{c}/domains/{d}/.../{name}`: customer, domain and object name.
type ObjectPath = Path<(String, String, String)>;
/// `.../{name}/.../{item}`: customer, domain, object name and one item of it (a member, an address).
type ItemPath = Path<(String, String, String, String)>;
type Out<T> = axum::Json<T>;

#[utoipa::path(
    get,
    path = r::EX_LISTS,
    operation_id = "listDistributionLists",
    summary = "List distribution lists (paged)",
    params(PageQuery),
    responses((status = 200, description = "OK", body = DistributionListList), crate::openapi::Faults),
)]
async fn list(
    State(st): State<AppState>,
    scope: Scope,
    Query(q): Query<PageQuery>,
) -> Result<Out<DistributionListList>> {
    Ok(axum::Json(
        store::list_list(&st.db, &scope.dom, &Page::from_query(q)?).await?,
    ))
}

#[utoipa::path(
    get,
    path = r::EX_LIST,
    operation_id = "getDistributionList",
    summary = "Show a distribution list with its addresses and members",
    responses((status = 200, description = "OK", body = DistributionList), crate::openapi::Faults),
)]
async fn show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Out<DistributionList>> {
    Ok(axum::Json(
        store::list_get(&st.db, &scope.dom, &n)
            .await?
            .wire(&scope.dom),
    ))
}

#[utoipa::path(
    post,
    path = r::EX_LIST,
    operation_id = "addDistributionList",
    summary = "Add a distribution list (JSON)",
    request_body(content((DistributionListBody = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Json(b): Json<DistributionListBody>,
) -> Result<()> {
    store::list_create(&st.db, &scope.actor, &scope.dom, &n, &b).await?;
    Ok(())
}

#[utoipa::path(
    put,
    path = r::EX_LIST,
    operation_id = "editDistributionList",
    summary = "Edit a distribution list (JSON; emailAddresses and members replace the current sets)",
    request_body(content((DistributionListBody = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Json(b): Json<DistributionListBody>,
) -> Result<()> {
    store::list_edit(&st.db, &scope.actor, &scope.dom, &n, &b).await?;
    Ok(())
}

#[utoipa::path(
    delete,
    path = r::EX_LIST,
    operation_id = "deleteDistributionList",
    summary = "Delete a distribution list",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<()> {
    store::list_delete(&st.db, &scope.actor, &scope.dom, &n).await
}

#[utoipa::path(
    get,
    path = r::EX_LIST_MEMBERS,
    operation_id = "listDistributionListMembers",
    summary = "List members",
    responses((status = 200, description = "OK", body = MemberList), crate::openapi::Faults),
    extensions(("x-officed-extension" = json!(true))),
)]
async fn members(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Out<MemberList>> {
    Ok(axum::Json(
        store::members_get(&st.db, &scope.dom, &n).await?,
    ))
}

#[utoipa::path(
    post,
    path = r::EX_LIST_MEMBER,
    operation_id = "addDistributionListMember",
    summary = "Add a member (an address of this account)",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
    extensions(("x-officed-extension" = json!(true))),
)]
async fn member_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, m)): ItemPath,
) -> Result<()> {
    store::member_add(&st.db, &scope.actor, &scope.dom, &n, &m).await?;
    Ok(())
}

#[utoipa::path(
    delete,
    path = r::EX_LIST_MEMBER,
    operation_id = "removeDistributionListMember",
    summary = "Remove a member",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
    extensions(("x-officed-extension" = json!(true))),
)]
async fn member_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, m)): ItemPath,
) -> Result<()> {
    store::member_remove(&st.db, &scope.actor, &scope.dom, &n, &m).await
}
