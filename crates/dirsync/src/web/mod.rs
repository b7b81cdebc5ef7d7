//! The web UI: server-rendered HTML, readable without JavaScript, with a small
//! bundled script for live progress. No external resources are loaded.
//!
//! Access control:
//! - bound to loopback (the default), pages are open to local users, and the
//!   `Host` header must name the loopback address (which defeats DNS
//!   rebinding from a web page);
//! - bound elsewhere, a UI admin password is required (config validation
//!   refuses to start without one) and every page needs a login;
//! - every state-changing request is a POST carrying the session's CSRF
//!   token; session cookies are `HttpOnly` and `SameSite=Strict`.

mod pages;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::engine_glue::RunReport;
use crate::secret::Secret;
use crate::service::Service;

pub const SESSION_COOKIE: &str = "dirsync_session";
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone)]
struct SessionData {
    csrf: String,
    authenticated: bool,
    created: Instant,
}

/// The current request's session, put in request extensions by the middleware.
#[derive(Debug, Clone)]
pub struct Sess {
    pub id: String,
    pub csrf: String,
    pub authenticated: bool,
    /// True when the UI has an admin password (so "Log out" means something).
    pub login_required: bool,
}

/// The last computed preview: when, wall time, and the plan or why it failed.
type CachedPreview = (Instant, time::OffsetDateTime, Result<RunReport, String>);

/// Everything the handlers share.
pub struct WebState {
    pub svc: Arc<Service>,
    pub local: SocketAddr,
    pub ui_enabled: bool,
    admin_password: Option<Secret>,
    sessions: Mutex<HashMap<String, SessionData>>,
    preview: tokio::sync::Mutex<Option<CachedPreview>>,
}

impl WebState {
    pub fn new(svc: Arc<Service>, local: SocketAddr, ui_enabled: bool) -> Arc<WebState> {
        let admin_password = svc
            .loaded
            .secrets
            .ui_admin_password
            .clone()
            .filter(|p| !p.is_empty());
        Arc::new(WebState {
            svc,
            local,
            ui_enabled,
            admin_password,
            sessions: Mutex::new(HashMap::new()),
            preview: tokio::sync::Mutex::new(None),
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionData>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_session(&self, authenticated: bool) -> Sess {
        let id = random_hex(32);
        let csrf = random_hex(32);
        let mut s = self.sessions();
        s.retain(|_, d| d.created.elapsed() < SESSION_TTL);
        if s.len() >= MAX_SESSIONS {
            if let Some(oldest) = s
                .iter()
                .min_by_key(|(_, d)| d.created)
                .map(|(k, _)| k.clone())
            {
                s.remove(&oldest);
            }
        }
        s.insert(
            id.clone(),
            SessionData {
                csrf: csrf.clone(),
                authenticated,
                created: Instant::now(),
            },
        );
        Sess {
            id,
            csrf,
            authenticated,
            login_required: self.admin_password.is_some(),
        }
    }

    /// True when the password matches (constant time over SHA-256 digests, so length leaks nothing).
    fn password_ok(&self, given: &str) -> bool {
        use subtle::ConstantTimeEq;
        match &self.admin_password {
            None => false,
            Some(p) => {
                let a = Sha256::digest(given.as_bytes());
                let b = Sha256::digest(p.expose().as_bytes());
                a.ct_eq(&b).into()
            }
        }
    }

    pub fn requires_login(&self) -> bool {
        self.admin_password.is_some()
    }
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Checks a submitted CSRF token against the session's, in constant time.
pub fn csrf_ok(sess: &Sess, given: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    match given {
        Some(g) if g.len() == sess.csrf.len() => g.as_bytes().ct_eq(sess.csrf.as_bytes()).into(),
        _ => false,
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict"
    ))
    .expect("hex cookie value")
}

fn host_allowed(state: &WebState, headers: &HeaderMap) -> bool {
    if !state.local.ip().is_loopback() {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true; // HTTP/1.0 clients; the socket is loopback-only anyway.
    };
    let port = state.local.port();
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "127.0.0.1".into(),
        "localhost".into(),
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(host))
}

fn security_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

async fn guard(State(state): State<Arc<WebState>>, mut req: Request, next: Next) -> Response {
    if !host_allowed(&state, req.headers()) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "This dirsync UI answers only to its loopback address.\n",
        )
            .into_response();
    }
    let path = req.uri().path().to_string();
    let open = path == "/healthz" || path == "/metrics" || path.starts_with("/assets/");
    if open {
        let mut resp = next.run(req).await;
        security_headers(&mut resp);
        return resp;
    }
    if !state.ui_enabled {
        return (
            StatusCode::NOT_FOUND,
            "The web UI is disabled (ui.enabled = false); /healthz and /metrics remain.\n",
        )
            .into_response();
    }
    let existing = cookie_value(req.headers(), SESSION_COOKIE).and_then(|id| {
        let s = state.sessions();
        s.get(&id)
            .filter(|d| d.created.elapsed() < SESSION_TTL)
            .map(|d| Sess {
                id: id.clone(),
                csrf: d.csrf.clone(),
                authenticated: d.authenticated,
                login_required: state.requires_login(),
            })
    });
    let (sess, fresh) = match existing {
        Some(s) => (s, false),
        None => (state.new_session(!state.requires_login()), true),
    };
    if state.requires_login() && !sess.authenticated && path != "/login" {
        let mut resp = if req.method() == axum::http::Method::GET {
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response()
        } else {
            (StatusCode::FORBIDDEN, "Log in first.\n").into_response()
        };
        if fresh {
            resp.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&sess.id));
        }
        security_headers(&mut resp);
        return resp;
    }
    req.extensions_mut().insert(sess.clone());
    let mut resp = next.run(req).await;
    if fresh && !resp.headers().contains_key(header::SET_COOKIE) {
        resp.headers_mut()
            .insert(header::SET_COOKIE, set_cookie(&sess.id));
    }
    security_headers(&mut resp);
    resp
}

/// The router: pages, the sync trigger, status polling, health and metrics.
pub fn app(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/history", get(pages::history))
        .route("/history/{id}", get(pages::run_detail))
        .route("/errors", get(pages::errors))
        .route("/errors/{code}", get(pages::error_detail))
        .route("/preview", get(pages::preview))
        .route("/settings", get(pages::settings))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/sync", post(pages::sync_now))
        .route("/api/status", get(pages::api_status))
        .route("/healthz", get(pages::healthz))
        .route("/metrics", get(pages::metrics))
        .route("/assets/app.css", get(pages::css))
        .route("/assets/app.js", get(pages::js))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}
