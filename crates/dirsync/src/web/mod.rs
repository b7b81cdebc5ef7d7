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

mod login_limit;
mod objects;
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

use crate::secret::Secret;
use crate::service::Service;
use dirsync_engine::RunReport;

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
    login_limit: Mutex<login_limit::LoginLimit>,
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
            login_limit: Mutex::new(login_limit::LoginLimit::default()),
        })
    }

    fn login_limit(&self) -> std::sync::MutexGuard<'_, login_limit::LoginLimit> {
        self.login_limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionData>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        .route("/objects", get(objects::objects))
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn state(password: Option<&str>, local: &str) -> (Arc<WebState>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("dirsync.toml");
        std::fs::write(
            &conf,
            "[api]\nurl = \"https://api.invalid/v1\"\nuser_key = \"k\"\naccount = \"1\"\n",
        )
        .unwrap();
        let mut env = vec![(
            crate::config::ENV_API_SECRET.to_string(),
            "api-secret-value".to_string(),
        )];
        if let Some(p) = password {
            env.push((crate::config::ENV_UI_PASSWORD.to_string(), p.to_string()));
        }
        let loaded = Arc::new(
            crate::config::load(
                &conf,
                true,
                &crate::config::Overrides { flags: vec![], env },
            )
            .unwrap(),
        );
        let agent = crate::agent::Agent::open(loaded.clone()).await.unwrap();
        let svc = Service::new(agent, loaded, false);
        (WebState::new(svc, local.parse().unwrap(), true), dir)
    }

    fn get(path: &str, host: &str, cookie: Option<&str>) -> Request<Body> {
        let mut b = Request::get(path).header("host", host);
        if let Some(c) = cookie {
            b = b.header("cookie", c);
        }
        b.body(Body::empty()).unwrap()
    }

    fn post(path: &str, host: &str, cookie: &str, body: String) -> Request<Body> {
        Request::post(path)
            .header("host", host)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    }

    async fn body(r: Response) -> String {
        use http_body_util::BodyExt;
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    fn cookie_of(r: &Response) -> String {
        r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }

    fn csrf_in(html: &str) -> String {
        html.split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn off_loopback_every_page_needs_the_admin_password() {
        let (st, _dir) = state(Some("correct horse battery"), "192.0.2.10:8080").await;
        let host = "192.0.2.10:8080";
        let r = app(st.clone())
            .oneshot(get("/settings", host, None))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/login");
        let set = r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let cookie = cookie_of(&r);
        // Health and metrics stay open for monitoring.
        assert_eq!(
            app(st.clone())
                .oneshot(get("/healthz", host, None))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        // POST before login: refused.
        let r = app(st.clone())
            .oneshot(post("/sync", host, &cookie, "kind=full".into()))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        let r = app(st.clone())
            .oneshot(get("/login", host, Some(&cookie)))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = body(r).await;
        assert!(html.contains("<label for=\"password\">"), "{html}");
        let csrf = csrf_in(&html);
        let r = app(st.clone())
            .oneshot(post(
                "/login",
                host,
                &cookie,
                format!("csrf={csrf}&password=wrong"),
            ))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = app(st.clone())
            .oneshot(post(
                "/login",
                host,
                &cookie,
                "password=correct+horse+battery".into(),
            ))
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "login without CSRF token is refused"
        );
        let r = app(st.clone())
            .oneshot(post(
                "/login",
                host,
                &cookie,
                format!("csrf={csrf}&password=correct+horse+battery"),
            ))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let authed = cookie_of(&r);
        assert_ne!(authed, cookie, "the session id rotates on login");
        // The old (pre-login) session is gone.
        let r = app(st.clone())
            .oneshot(get("/settings", host, Some(&cookie)))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        let r = app(st.clone())
            .oneshot(get("/settings", host, Some(&authed)))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = body(r).await;
        assert!(html.contains("Log out"), "{html}");
        assert!(
            !html.contains("api-secret-value") && !html.contains("correct horse battery"),
            "secrets leak into Settings"
        );
        assert!(
            html.contains("[redacted] (from env DIRSYNC_API_SECRET_KEY)"),
            "{html}"
        );
    }

    /// 50 parallel guessers used to make about 98 guesses a second: the
    /// limit is global, so after MAX_FAILURES wrong passwords even the
    /// right one is refused until the lockout ends.
    #[tokio::test]
    async fn parallel_guessers_hit_a_global_lockout() {
        let (st, _dir) = state(Some("correct horse battery"), "192.0.2.10:8080").await;
        let host = "192.0.2.10:8080";
        let mut guesses = Vec::new();
        for i in 0..50 {
            let st = st.clone();
            guesses.push(tokio::spawn(async move {
                let r = app(st.clone())
                    .oneshot(get("/login", host, None))
                    .await
                    .unwrap();
                let cookie = cookie_of(&r);
                let csrf = csrf_in(&body(r).await);
                let r = app(st)
                    .oneshot(post(
                        "/login",
                        host,
                        &cookie,
                        format!("csrf={csrf}&password=guess{i}"),
                    ))
                    .await
                    .unwrap();
                r.status()
            }));
        }
        let mut statuses = Vec::new();
        for g in guesses {
            statuses.push(g.await.unwrap());
        }
        let checked = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(
            (checked, refused),
            (login_limit::MAX_FAILURES, 50 - login_limit::MAX_FAILURES)
        );
        // The right password is refused too while the lockout lasts.
        let r = app(st.clone())
            .oneshot(get("/login", host, None))
            .await
            .unwrap();
        let cookie = cookie_of(&r);
        let csrf = csrf_in(&body(r).await);
        let r = app(st)
            .oneshot(post(
                "/login",
                host,
                &cookie,
                format!("csrf={csrf}&password=correct+horse+battery"),
            ))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(body(r)
            .await
            .contains("Too many failed logins: login is locked for"));
    }

    #[tokio::test]
    async fn loopback_checks_host_and_csrf() {
        let (st, _dir) = state(None, "127.0.0.1:8080").await;
        let r = app(st.clone())
            .oneshot(get("/", "attacker.example:8080", None))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
        let r = app(st.clone())
            .oneshot(get("/settings", "localhost:8080", None))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = cookie_of(&r);
        let html = body(r).await;
        assert!(
            !html.contains("Log out"),
            "no login on loopback, so no logout"
        );
        let r = app(st.clone())
            .oneshot(post(
                "/sync",
                "127.0.0.1:8080",
                &cookie,
                "kind=full&csrf=nope".into(),
            ))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(body(r).await.contains("security token (CSRF)"));
    }
}
