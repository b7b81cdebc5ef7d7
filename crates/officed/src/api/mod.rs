//! The HTTP layer: `fn app(state) -> Router`, the `/v1` API on the Cloud
//! Office paths, `GET /healthz`, and `GET /v1/openapi.json`.
//!
//! Each API module starts with `routes()`: the list of its operations, each
//! with its method, path and handler. Each handler carries its
//! `#[utoipa::path]` attribute, from which `crate::openapi` derives the
//! document; a test fails when a route is missing from the document or the
//! document names an operation the router does not serve.

pub mod aliases;
pub mod auth;
pub mod contacts;
pub mod domains;
pub mod extract;
pub mod format;
pub mod lists;
pub mod mailboxes;
pub mod spam;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, MethodRouter};
use axum::{Extension, Json, Router};
use cloudoffice_api::{Health, SIGNATURE_HEADER};

use crate::crypto::MasterKey;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::store::{self, DomainRow};

pub use auth::{Caller, ThrottleLimits};

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Accepted clock difference for `X-Api-Signature` timestamps.
    pub signature_window: time::Duration,
    /// Per-key, per-minute limits; `None` (the default) disables throttling.
    pub throttle: Option<ThrottleLimits>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            signature_window: cloudoffice_api::signing::DEFAULT_WINDOW,
            throttle: None,
        }
    }
}

/// Shared state of the app.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub master: MasterKey,
    pub config: Arc<ApiConfig>,
    pub throttle: Arc<auth::Throttle>,
}

impl AppState {
    pub fn new(db: Db, master: MasterKey, config: ApiConfig) -> Self {
        AppState {
            db,
            master,
            config: Arc::new(config),
            throttle: Arc::new(auth::Throttle::default()),
        }
    }
}

/// One API operation: its method, path and handler. What the OpenAPI
/// document says about it is the handler's `#[utoipa::path]` attribute
/// (see `crate::openapi`); a test fails when the two disagree.
pub struct ApiRoute {
    pub method: Method,
    /// Route template relative to `/v1`.
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
}

/// Every API operation, in document order.
pub fn all_routes() -> Vec<ApiRoute> {
    let mut v = domains::routes();
    v.extend(mailboxes::routes());
    v.extend(aliases::routes());
    v.extend(contacts::routes());
    v.extend(lists::routes());
    v.extend(spam::routes());
    v
}

/// Rewrites a request's path to the canonical route before routing: an
/// index URL written with a trailing slash (the alias page writes
/// `.../rs/aliases/`) loses it, and the documented short form
/// `/v1/domains...` is `/v1/customers/me/domains...`.
pub fn canonical_path(path: &str) -> Option<String> {
    let mut p = path.to_string();
    if p.len() > 1 && p.ends_with('/') {
        p = p.trim_end_matches('/').to_string();
        if p.is_empty() {
            p = "/".into();
        }
    }
    if let Some(rest) = p.strip_prefix("/v1/domains") {
        if rest.is_empty() || rest.starts_with('/') {
            p = format!("/v1/customers/me/domains{rest}");
        }
    }
    (p != path).then_some(p)
}

fn normalize(mut req: axum::extract::Request) -> axum::extract::Request {
    if let Some(p) = canonical_path(req.uri().path()) {
        let pq = match req.uri().query() {
            Some(q) => format!("{p}?{q}"),
            None => p,
        };
        if let Ok(pq) = axum::http::uri::PathAndQuery::try_from(pq) {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// The whole service as a router (testable with `oneshot`).
pub fn app(state: AppState) -> Router {
    // Paths are made canonical before the inner router matches them.
    let inner = routes(state);
    Router::new().fallback_service(tower::ServiceExt::map_request(inner, normalize))
}

fn routes(state: AppState) -> Router {
    let mut v1 = Router::new();
    for r in all_routes() {
        v1 = v1.route(r.path, r.handler);
    }
    let v1 = v1
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn(format::negotiate))
        .route("/openapi.json", get(openapi));
    Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(1 << 20))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}

async fn health(axum::extract::State(st): axum::extract::State<AppState>) -> impl IntoResponse {
    match st.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
                database: "ok".into(),
            }),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable".into(),
                    database: "unreachable".into(),
                }),
            )
        }
    }
}

async fn not_found(uri: axum::http::Uri) -> Error {
    if is_spam_path(uri.path()) {
        return Error::fault(
            cloudoffice_api::FaultKind::Apps,
            501,
            SPAM_NOT_SUPPORTED,
            "officed does not filter spam; see docs/cloud-office-conformance.md.",
        );
    }
    Error::not_found(
        "Resource not found.",
        "No such path; see /v1/openapi.json for the API.",
    )
}

/// The documented "not supported" answer (501 `appsFault`) for the
/// domain and mailbox spam settings and lists, which officed does not offer.
pub const SPAM_NOT_SUPPORTED: &str = "Not supported: spam settings and lists.";

/// True for a documented spam path: `.../domains/{d}/spam/...` or
/// `.../domains/{d}/{ex,rs}/mailboxes/{name}/spam/...`.
fn is_spam_path(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(d) = segs.iter().position(|s| s.eq_ignore_ascii_case("domains")) else {
        return false;
    };
    let rest = &segs[d + 1..];
    let spam_at = |i: usize| rest.get(i).is_some_and(|s| s.eq_ignore_ascii_case("spam"));
    spam_at(1)
        || (rest
            .get(2)
            .is_some_and(|s| s.eq_ignore_ascii_case("mailboxes"))
            && spam_at(4))
}

async fn method_not_allowed() -> Error {
    Error::fault(
        cloudoffice_api::FaultKind::BadRequest,
        405,
        "Method not allowed.",
        "See /v1/openapi.json for the methods of this path.",
    )
}

/// Checks the `{c}` path segment: `me` or the key's own account number.
/// Any other customer answers like one that does not exist.
pub fn check_customer(caller: &Caller, c: &str) -> Result<()> {
    // `all` means the key's customer and its sub-accounts; officed has no
    // sub-accounts, so it is the same as `me`.
    if c == cloudoffice_api::paths::ME
        || c == cloudoffice_api::paths::ALL
        || c == caller.account_number
    {
        Ok(())
    } else {
        Err(Error::not_authorized(format!(
            "The customer '{}' is not the customer of this API key.",
            crate::validate::printable(c)
        )))
    }
}

/// Resolves `{c}` and `{d}` for the caller (handlers take
/// [`extract::Scope`], which calls this once).
pub async fn domain_for(st: &AppState, caller: &Caller, c: &str, d: &str) -> Result<DomainRow> {
    check_customer(caller, c)?;
    store::customer_domain(&st.db, &caller.customer_id, d).await
}

/// Extension type alias used by handlers.
pub type CallerExt = Extension<Caller>;

/// The header name, re-exported for tests.
pub const SIGNATURE: &str = SIGNATURE_HEADER;

#[cfg(test)]
mod tests {
    use super::{canonical_path, is_spam_path};

    #[test]
    fn spam_paths() {
        let cases: &[(&str, bool)] = &[
            ("/v1/customers/me/domains/x.com/spam/settings", true),
            ("/v1/customers/me/domains/x.com/spam/blocklist/a@b.c", true),
            (
                "/v1/customers/me/domains/x.com/rs/mailboxes/m/spam/settings",
                true,
            ),
            (
                "/v1/customers/me/domains/x.com/ex/mailboxes/m/spam/safelist",
                true,
            ),
            ("/v1/customers/me/domains/x.com/rs/mailboxes/spam", false),
            ("/v1/customers/me/domains/spam", false),
            ("/v1/customers/me/domains/x.com/rs/aliases/spam", false),
            (
                "/v1/customers/me/domains/x.com/ex/mailboxes/m/settings",
                false,
            ),
        ];
        for (p, want) in cases {
            assert_eq!(is_spam_path(p), *want, "{p}");
        }
    }

    #[test]
    fn canonical_paths() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "/v1/customers/me/domains/x.com/rs/aliases/",
                Some("/v1/customers/me/domains/x.com/rs/aliases"),
            ),
            ("/v1/domains", Some("/v1/customers/me/domains")),
            ("/v1/domains/", Some("/v1/customers/me/domains")),
            (
                "/v1/domains/x.com/ex/mailboxes",
                Some("/v1/customers/me/domains/x.com/ex/mailboxes"),
            ),
            ("/v1/domainsx", None),
            ("/v1/customers/me/domains", None),
            ("/", None),
            ("/healthz", None),
        ];
        for (path, want) in cases {
            assert_eq!(canonical_path(path).as_deref(), *want, "{path}");
        }
    }
}
