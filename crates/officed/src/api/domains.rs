//! Domains of the caller's customer (read-only through the API; an
//! administrator creates them with the CLI).

use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{Domain, DomainList, PageQuery};

use super::extract::{Path, Query, Scope};
use super::{check_customer, ApiRoute, AppState, BodyDoc, CallerExt};
use crate::error::Result;
use crate::store::{self, Page};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::GET,
            path: r::DOMAINS,
            operation_id: "listDomains",
            summary: "List the customer's domains",
            body: BodyDoc::None,
            response: Some("DomainList"),
            handler: get(list),
        },
        ApiRoute {
            method: Method::GET,
            path: r::DOMAIN,
            operation_id: "getDomain",
            summary: "Show a domain with its licences, usage, aliases and accepted domains",
            body: BodyDoc::None,
            response: Some("Domain"),
            handler: get(show),
        },
    ]
}

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

async fn show(scope: Scope) -> Result<Json<Domain>> {
    Ok(Json(store::domain_wire(&scope.dom)))
}
