//! Domains of the caller's customer (read-only through the API; an
//! administrator creates them with the CLI).

use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use axum::Json;
use cloudoffice_api::paths::routes as r;
use cloudoffice_api::{Domain, DomainList, PageQuery};

use super::extract::{Path, Query};
use super::{check_customer, domain_for, ApiRoute, AppState, CallerExt};
use crate::error::Result;
use crate::store::{self, Page};

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
    ]
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
) -> Result<Json<Domain>> {
    let dom = domain_for(&st, &caller, &c, &d).await?;
    Ok(Json(store::domain_wire(&dom)))
}
