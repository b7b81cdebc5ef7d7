//! Shared helpers: an in-process officed app on SQLite or on a fresh
//! PostgreSQL database, driven through the HTTP layer with `oneshot`.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use cloudoffice_api::{signing, Secret, ServiceType};
use http_body_util::BodyExt;
use officed::admin::{self, NewDomain};
use officed::api::{app, ApiConfig, AppState};
use officed::crypto::MasterKey;
use officed::Db;
use tower::ServiceExt;

pub const UA: &str = "officed-tests";

pub enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

pub struct Env {
    pub db: Db,
    pub master: MasterKey,
    pub app: Router,
    /// Customer A ("100001"): example.org (exchange, 5), example.com (both,
    /// 3 Exchange + 2 Rackspace Email licences, alias example.net, accepts
    /// example.org), rsonly.com (rsemail, 2).
    pub key: String,
    pub secret: Secret,
    /// Customer B ("200002"): other.com (both, 5 + 5).
    pub key_b: String,
    pub secret_b: Secret,
    pub backend: Backend,
    /// The API settings of `app` (and of [`Env::second_instance`]).
    pub config: ApiConfig,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: serde_json::Value,
}

impl Resp {
    pub fn message(&self) -> String {
        let obj = self.json.as_object().expect("fault object");
        let (_, inner) = obj.iter().next().expect("one fault key");
        inner["message"].as_str().unwrap_or_default().to_string()
    }
    pub fn fault_kind(&self) -> String {
        self.json
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default()
    }
}

impl Env {
    pub async fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = officed::service::sqlite_url(&dir.path().join("t.db"));
        Self::build(&url, Backend::Sqlite(dir), ApiConfig::default()).await
    }

    pub async fn postgres() -> Option<Env> {
        let url = testkit::officed::create_postgres_database("officed")?;
        Some(Self::build(&url.clone(), Backend::Postgres(url), ApiConfig::default()).await)
    }

    pub async fn with(kind: &str, config: ApiConfig) -> Option<Env> {
        match kind {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let url = officed::service::sqlite_url(&dir.path().join("t.db"));
                Some(Self::build(&url, Backend::Sqlite(dir), config).await)
            }
            _ => {
                let url = testkit::officed::create_postgres_database("officed")?;
                Some(Self::build(&url.clone(), Backend::Postgres(url), config).await)
            }
        }
    }

    pub async fn open(kind: &str) -> Option<Env> {
        Self::with(kind, ApiConfig::default()).await
    }

    async fn build(url: &str, backend: Backend, config: ApiConfig) -> Env {
        let db = Db::open(url).await.unwrap();
        let master = MasterKey::generate();
        admin::create_customer(&db, "100001", "Customer A")
            .await
            .unwrap();
        admin::create_customer(&db, "200002", "Customer B")
            .await
            .unwrap();
        let dom = |customer: &str, name: &str, st, ex, rs, aliases: &[&str], accepted: &[&str]| {
            NewDomain {
                customer: customer.into(),
                name: name.into(),
                service_type: st,
                exchange_licences: ex,
                rsemail_licences: rs,
                aliases: aliases.iter().map(ToString::to_string).collect(),
                accepted: accepted.iter().map(ToString::to_string).collect(),
            }
        };
        for d in [
            dom(
                "100001",
                "example.org",
                ServiceType::Exchange,
                5,
                0,
                &[],
                &[],
            ),
            dom(
                "100001",
                "example.com",
                ServiceType::Both,
                3,
                2,
                &["example.net"],
                &["example.org"],
            ),
            dom("100001", "rsonly.com", ServiceType::RsEmail, 0, 2, &[], &[]),
            dom("200002", "other.com", ServiceType::Both, 5, 5, &[], &[]),
        ] {
            admin::create_domain(&db, &d).await.unwrap();
        }
        let a = admin::issue_key(&db, &master, "100001", "tests")
            .await
            .unwrap();
        let b = admin::issue_key(&db, &master, "200002", "tests")
            .await
            .unwrap();
        let app = app(AppState::new(db.clone(), master.clone(), config.clone()));
        Env {
            db,
            master,
            app,
            key: a.user_key,
            secret: a.secret,
            key_b: b.user_key,
            secret_b: b.secret,
            backend,
            config,
        }
    }

    /// Another app (own pool, own process state) on the same database, with
    /// the same API settings: a second instance.
    pub async fn second_instance(&self) -> Router {
        let url = match &self.backend {
            Backend::Sqlite(dir) => officed::service::sqlite_url(&dir.path().join("t.db")),
            Backend::Postgres(u) => u.clone(),
        };
        let db = Db::open(&url).await.unwrap();
        app(AppState::new(db, self.master.clone(), self.config.clone()))
    }

    pub async fn req(&self, method: &str, path: &str, body: Option<(&str, String)>) -> Resp {
        send(&self.app, &self.key, &self.secret, method, path, body).await
    }

    pub async fn req_b(&self, method: &str, path: &str, body: Option<(&str, String)>) -> Resp {
        send(&self.app, &self.key_b, &self.secret_b, method, path, body).await
    }

    pub async fn form(&self, method: &str, path: &str, form: &str) -> Resp {
        self.req(
            method,
            path,
            Some(("application/x-www-form-urlencoded", form.to_string())),
        )
        .await
    }

    pub async fn json(&self, method: &str, path: &str, v: serde_json::Value) -> Resp {
        self.req(method, path, Some(("application/json", v.to_string())))
            .await
    }

    pub async fn finish(self) {
        let Env { db, backend, .. } = self;
        db.close().await;
        if let Backend::Postgres(url) = backend {
            testkit::officed::drop_postgres_database(&url);
        }
    }
}

pub fn signed(user_key: &str, secret: &Secret) -> String {
    signing::sign(user_key, UA, secret, time::OffsetDateTime::now_utc())
}

pub async fn send(
    app: &Router,
    key: &str,
    secret: &Secret,
    method: &str,
    path: &str,
    body: Option<(&str, String)>,
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("/v1{path}"))
        .header("user-agent", UA)
        .header("x-api-signature", signed(key, secret));
    let body = match body {
        Some((ct, s)) => {
            b = b.header("content-type", ct);
            Body::from(s)
        }
        None => Body::empty(),
    };
    raw(app, b.body(body).unwrap()).await
}

pub async fn raw(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Resp {
        status,
        headers,
        json,
    }
}

/// Runs an async scenario against SQLite and PostgreSQL as two tests.
#[macro_export]
macro_rules! both_backends {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let env = $crate::common::Env::open("sqlite").await.unwrap();
                super::$scenario(&env).await;
                env.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(env) = $crate::common::Env::open("postgres").await else {
                    return;
                };
                super::$scenario(&env).await;
                env.finish().await;
            }
        }
    };
}
