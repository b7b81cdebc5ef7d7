//! Exchange distribution lists and their members (JSON bodies).

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{
    DistributionList, DistributionListBody, DistributionListList, MemberList, PageQuery,
};

use super::extract::{Json, Path, Query, Scope};
use super::{ApiRoute, AppState, BodyDoc};
use crate::error::Result;
use crate::store::{self, Page};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::EX_LISTS,
            operation_id: "listDistributionLists",
            summary: "List distribution lists (paged)",
            body: BodyDoc::None,
            response: Some("DistributionListList"),
            handler: get(list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::EX_LIST,
            operation_id: "getDistributionList",
            summary: "Show a distribution list with its addresses and members",
            body: BodyDoc::None,
            response: Some("DistributionList"),
            handler: get(show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_LIST,
            operation_id: "addDistributionList",
            summary: "Add a distribution list (JSON)",
            body: BodyDoc::Json("DistributionListBody"),
            response: None,
            handler: post(add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::EX_LIST,
            operation_id: "editDistributionList",
            summary: "Edit a distribution list (JSON; emailAddresses and members replace the current sets)",
            body: BodyDoc::Json("DistributionListBody"),
            response: None,
            handler: put(edit),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::EX_LIST,
            operation_id: "deleteDistributionList",
            summary: "Delete a distribution list",
            body: BodyDoc::None,
            response: None,
            handler: delete(remove),
        },
        ApiRoute {
            method: Method::GET,
            path: r::EX_LIST_MEMBERS,
            operation_id: "listDistributionListMembers",
            summary: "List members",
            body: BodyDoc::None,
            response: Some("MemberList"),
            handler: get(members),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_LIST_MEMBER,
            operation_id: "addDistributionListMember",
            summary: "Add a member (an address of this account)",
            body: BodyDoc::None,
            response: None,
            handler: post(member_add),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::EX_LIST_MEMBER,
            operation_id: "removeDistributionListMember",
            summary: "Remove a member",
            body: BodyDoc::None,
            response: None,
            handler: delete(member_remove),
        },
    ]
}

type P3 = Path<(String, String, String)>;
type P4 = Path<(String, String, String, String)>;
type Out<T> = axum::Json<T>;

async fn list(
    State(st): State<AppState>,
    scope: Scope,
    Query(q): Query<PageQuery>,
) -> Result<Out<DistributionListList>> {
    Ok(axum::Json(
        store::list_list(&st.db, &scope.dom, &Page::from_query(q)?).await?,
    ))
}

async fn show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
) -> Result<Out<DistributionList>> {
    Ok(axum::Json(
        store::list_get(&st.db, &scope.dom, &n)
            .await?
            .wire(&scope.dom),
    ))
}

async fn add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
    Json(b): Json<DistributionListBody>,
) -> Result<()> {
    store::list_create(&st.db, &scope.actor, &scope.dom, &n, &b).await?;
    Ok(())
}

async fn edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
    Json(b): Json<DistributionListBody>,
) -> Result<()> {
    store::list_edit(&st.db, &scope.actor, &scope.dom, &n, &b).await?;
    Ok(())
}

async fn remove(State(st): State<AppState>, scope: Scope, Path((_, _, n)): P3) -> Result<()> {
    store::list_delete(&st.db, &scope.actor, &scope.dom, &n).await
}

async fn members(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
) -> Result<Out<MemberList>> {
    Ok(axum::Json(
        store::members_get(&st.db, &scope.dom, &n).await?,
    ))
}

async fn member_add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, m)): P4,
) -> Result<()> {
    store::member_add(&st.db, &scope.actor, &scope.dom, &n, &m).await?;
    Ok(())
}

async fn member_remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n, m)): P4,
) -> Result<()> {
    store::member_remove(&st.db, &scope.actor, &scope.dom, &n, &m).await
}
