//! Exchange contacts.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{ExchangeContact, ExchangeContactForm, ExchangeContactList, PageQuery};

use super::extract::{Body, Path, Query, Scope};
use super::{ApiRoute, AppState};
use crate::error::Result;
use crate::store::{self, summarize, Page};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::EX_CONTACTS,
            handler: get(list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::EX_CONTACT,
            handler: get(show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_CONTACT,
            handler: post(add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::EX_CONTACT,
            handler: put(edit),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::EX_CONTACT,
            handler: delete(remove),
        },
    ]
}

/// `/customers/{c}/domains/{d}/.../{name}`: customer, domain and object name.
type ObjectPath = Path<(String, String, String)>;

#[utoipa::path(
    get,
    path = r::EX_CONTACTS,
    operation_id = "listExchangeContacts",
    summary = "List Exchange contacts (paged)",
    params(PageQuery),
    responses((status = 200, description = "OK", body = ExchangeContactList), crate::openapi::Faults),
)]
async fn list(
    State(st): State<AppState>,
    scope: Scope,
    Query(q): Query<PageQuery>,
) -> Result<Json<ExchangeContactList>> {
    let page = Page::from_query(q)?;
    let (rows, total) = store::contact_list(&st.db, &scope.dom, &page).await?;
    let contacts = rows
        .iter()
        .map(|r| summarize(&r.wire(), &[], &page.fields))
        .collect::<Result<_>>()?;
    Ok(Json(ExchangeContactList {
        contacts,
        offset: page.offset,
        size: page.size,
        total,
    }))
}

#[utoipa::path(
    get,
    path = r::EX_CONTACT,
    operation_id = "getExchangeContact",
    summary = "Show a contact",
    responses((status = 200, description = "OK", body = ExchangeContact), crate::openapi::Faults),
)]
async fn show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<Json<ExchangeContact>> {
    Ok(Json(
        store::contact_get(&st.db, &scope.dom, &n).await?.wire(),
    ))
}

#[utoipa::path(
    post,
    path = r::EX_CONTACT,
    operation_id = "addExchangeContact",
    summary = "Add a contact (externalEmail required)",
    request_body(content((ExchangeContactForm = "application/x-www-form-urlencoded"), (ExchangeContactForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<ExchangeContactForm>,
) -> Result<()> {
    store::contact_create(&st.db, &scope.actor, &scope.dom, &n, &f).await?;
    Ok(())
}

#[utoipa::path(
    put,
    path = r::EX_CONTACT,
    operation_id = "editExchangeContact",
    summary = "Edit a contact (the name cannot change)",
    request_body(content((ExchangeContactForm = "application/x-www-form-urlencoded"), (ExchangeContactForm = "application/json"))),
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
    Body(f): Body<ExchangeContactForm>,
) -> Result<()> {
    store::contact_edit(&st.db, &scope.actor, &scope.dom, &n, &f).await?;
    Ok(())
}

#[utoipa::path(
    delete,
    path = r::EX_CONTACT,
    operation_id = "deleteExchangeContact",
    summary = "Delete a contact",
    responses((status = 200, description = "OK (empty body)"), crate::openapi::Faults),
)]
async fn remove(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): ObjectPath,
) -> Result<()> {
    store::contact_delete(&st.db, &scope.actor, &scope.dom, &n).await
}
