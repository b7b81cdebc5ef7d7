//! Exchange contacts.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{ExchangeContact, ExchangeContactForm, ExchangeContactList, PageQuery};

use super::extract::{Body, Path, Query, Scope};
use super::{ApiRoute, AppState, BodyDoc};
use crate::error::Result;
use crate::store::{self, summarize, Page};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::EX_CONTACTS,
            operation_id: "listExchangeContacts",
            summary: "List Exchange contacts (paged)",
            body: BodyDoc::None,
            response: Some("ExchangeContactList"),
            handler: get(list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::EX_CONTACT,
            operation_id: "getExchangeContact",
            summary: "Show a contact",
            body: BodyDoc::None,
            response: Some("ExchangeContact"),
            handler: get(show),
        },
        ApiRoute {
            method: Method::POST,
            path: r::EX_CONTACT,
            operation_id: "addExchangeContact",
            summary: "Add a contact (externalEmail required)",
            body: BodyDoc::Form("ExchangeContactForm"),
            response: None,
            handler: post(add),
        },
        ApiRoute {
            method: Method::PUT,
            path: r::EX_CONTACT,
            operation_id: "editExchangeContact",
            summary: "Edit a contact (the name cannot change)",
            body: BodyDoc::Form("ExchangeContactForm"),
            response: None,
            handler: put(edit),
        },
        ApiRoute {
            method: Method::DELETE,
            path: r::EX_CONTACT,
            operation_id: "deleteExchangeContact",
            summary: "Delete a contact",
            body: BodyDoc::None,
            response: None,
            handler: delete(remove),
        },
    ]
}

type P3 = Path<(String, String, String)>;

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

async fn show(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
) -> Result<Json<ExchangeContact>> {
    Ok(Json(
        store::contact_get(&st.db, &scope.dom, &n).await?.wire(),
    ))
}

async fn add(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
    Body(f): Body<ExchangeContactForm>,
) -> Result<()> {
    store::contact_create(&st.db, &scope.actor, &scope.dom, &n, &f).await?;
    Ok(())
}

async fn edit(
    State(st): State<AppState>,
    scope: Scope,
    Path((_, _, n)): P3,
    Body(f): Body<ExchangeContactForm>,
) -> Result<()> {
    store::contact_edit(&st.db, &scope.actor, &scope.dom, &n, &f).await?;
    Ok(())
}

async fn remove(State(st): State<AppState>, scope: Scope, Path((_, _, n)): P3) -> Result<()> {
    store::contact_delete(&st.db, &scope.actor, &scope.dom, &n).await
}
