//! The conformance suite's view of officed: a real `officed serve` process
//! (SQLite file or a fresh PostgreSQL database), spoken to over raw HTTP with
//! reqwest and signed with `cloudoffice_api::signing`, so each test sees the
//! exact status, headers and body a third-party client would see.
//!
//! `conformance!(name, |w| async move { ... })` makes one test module with a
//! `sqlite` and a `postgres` test. The PostgreSQL one needs
//! `DIRSYNC_TEST_PG_URL` (`bash scripts/test` sets it); outside CI it returns
//! early when PostgreSQL is not configured, under `CI=true` it fails.
#![allow(dead_code)]

pub mod xml;

use std::path::Path;

use cloudoffice_api::{signing, Secret};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use testkit::officed::{DomainSpec, Officed, OfficedOptions};

/// The User-Agent every request signs with.
pub const UA: &str = "officed-conformance";
/// `/customers/me/domains/example.com` (the fixture's domain with both services).
pub const D: &str = "/customers/me/domains/example.com";
/// Exchange mailboxes of example.com.
pub const MB: &str = "/customers/me/domains/example.com/ex/mailboxes";
/// Rackspace Email mailboxes of example.com.
pub const RS: &str = "/customers/me/domains/example.com/rs/mailboxes";
/// Rackspace Email aliases of example.com.
pub const AL: &str = "/customers/me/domains/example.com/rs/aliases";
/// Exchange contacts of example.com.
pub const CT: &str = "/customers/me/domains/example.com/ex/contacts";
/// Exchange distribution lists of example.com.
pub const DL: &str = "/customers/me/domains/example.com/ex/distributionlists";

/// Which database the instance runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running officed and a signed HTTP client for its fixture key.
pub struct Wire {
    pub officed: Officed,
    pub http: reqwest::Client,
    pub key: String,
    pub secret: Secret,
    pg_url: Option<String>,
    /// Another key to sign with instead of the fixture's (see [`Wire::use_key`]).
    signing_key: std::sync::Mutex<Option<(String, Secret)>>,
}

/// One HTTP answer, read whole.
pub struct R {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

/// The fixture: customer 100001 with example.org (Exchange, 5 licences),
/// example.com (both: 25 Exchange + 10 Rackspace Email licences, domain alias
/// example.net, accepted domain example.org) and rsonly.com (Rackspace
/// Email, 5).
pub fn fixture() -> OfficedOptions {
    let mut o = OfficedOptions::default();
    o.domains
        .push(DomainSpec::new("rsonly.com", "rsemail", 0, 5));
    o
}

impl Wire {
    /// Starts officed on `backend` with `serve_args`; `None` when the
    /// backend is PostgreSQL and it is not configured (never under CI).
    pub fn start(backend: Backend, serve_args: &[&str]) -> Option<Wire> {
        let mut opts = fixture();
        opts.serve_args = serve_args.iter().map(ToString::to_string).collect();
        let pg_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => match testkit::officed::create_postgres_database("conf") {
                Some(u) => Some(u),
                None => {
                    assert!(
                        !testkit::in_ci(),
                        "PostgreSQL is required under CI (DIRSYNC_TEST_PG_URL)"
                    );
                    eprintln!("PostgreSQL not configured: skipping the postgres variant");
                    return None;
                }
            },
        };
        opts.database_url = pg_url.clone();
        let officed = Officed::start_with(Path::new(env!("CARGO_BIN_EXE_officed")), opts)
            .expect("start officed");
        let secret = Secret::new(officed.secret.clone());
        Some(Wire {
            key: officed.user_key.clone(),
            officed,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            secret,
            pg_url,
            signing_key: std::sync::Mutex::new(None),
        })
    }

    /// `http://127.0.0.1:PORT` (no `/v1`).
    pub fn root(&self) -> String {
        format!("http://{}", self.officed.addr)
    }

    /// A valid `X-Api-Signature` for `UA`, made now, with the key in use.
    pub fn signature(&self) -> String {
        let now = time::OffsetDateTime::now_utc();
        match &*self.signing_key.lock().unwrap() {
            Some((k, s)) => signing::sign(k, UA, s, now),
            None => signing::sign(&self.key, UA, &self.secret, now),
        }
    }

    /// Issues another key for the fixture's customer with `officed key
    /// issue` and these extra arguments (e.g. `--allow-domain-admin`).
    pub fn issue_key(&self, extra: &[&str]) -> (String, Secret) {
        let mut args = vec![
            "key",
            "issue",
            "--customer",
            &self.officed.account_number,
            "--label",
            "conformance",
            "--plain",
        ];
        args.extend_from_slice(extra);
        let out = self.officed.admin(&args).expect("key issue");
        let (k, s) = out.trim().split_once(' ').expect("user_key secret");
        (k.to_string(), Secret::new(s.to_string()))
    }

    /// Signs the following requests with `key` (`None`: the fixture's key).
    pub fn use_key(&self, key: Option<(String, Secret)>) {
        *self.signing_key.lock().unwrap() = key;
    }

    /// Issues a key with the domain permission and signs with it from now on.
    pub fn as_domain_admin(&self) {
        let k = self.issue_key(&["--allow-domain-admin"]);
        self.use_key(Some(k));
    }

    /// Sends a request to `/v1{path}` with the given extra headers and body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> R {
        self.raw_url(method, &format!("{}/v1{path}", self.root()), headers, body)
            .await
    }

    /// Like [`Wire::raw`] but with a full URL, signed unless `headers` already
    /// carries `X-Api-Signature` (give it an empty value to send none).
    pub async fn raw_url(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> R {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, url).header("User-Agent", UA);
        let mut signed = false;
        for (k, v) in headers {
            if k.eq_ignore_ascii_case("x-api-signature") {
                signed = true;
                if v.is_empty() {
                    continue;
                }
            }
            req = req.header(*k, *v);
        }
        if !signed {
            req = req.header("X-Api-Signature", self.signature());
        }
        if let Some((ct, b)) = body {
            req = req.header("Content-Type", ct).body(b);
        }
        let resp = req.send().await.expect("request reaches officed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        R {
            status,
            headers,
            body,
        }
    }

    /// GET with `Accept: application/json`.
    pub async fn get(&self, path: &str) -> R {
        self.raw("GET", path, &[("Accept", "application/json")], None)
            .await
    }

    /// GET with `Accept: text/xml`.
    pub async fn get_xml(&self, path: &str) -> R {
        self.raw("GET", path, &[("Accept", "text/xml")], None).await
    }

    /// A form-encoded write (`application/x-www-form-urlencoded`).
    pub async fn form(&self, method: &str, path: &str, form: &str) -> R {
        self.raw(
            method,
            path,
            &[("Accept", "application/json")],
            Some((
                "application/x-www-form-urlencoded",
                form.as_bytes().to_vec(),
            )),
        )
        .await
    }

    /// A JSON write.
    pub async fn json(&self, method: &str, path: &str, v: Value) -> R {
        self.raw(
            method,
            path,
            &[("Accept", "application/json")],
            Some(("application/json", v.to_string().into_bytes())),
        )
        .await
    }

    /// A write without a body.
    pub async fn bare(&self, method: &str, path: &str) -> R {
        self.raw(method, path, &[("Accept", "application/json")], None)
            .await
    }

    /// Stops officed and drops its PostgreSQL database.
    pub fn finish(self) {
        let Wire {
            officed, pg_url, ..
        } = self;
        drop(officed);
        if let Some(u) = pg_url {
            testkit::officed::drop_postgres_database(&u);
        }
    }
}

impl R {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): status {} body {:?}",
                self.status, self.body
            )
        })
    }

    /// The body as an XML tree.
    pub fn xml(&self) -> xml::Node {
        xml::parse(&self.body).unwrap_or_else(|e| {
            panic!("not XML ({e}): status {} body {:?}", self.status, self.body)
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    }

    pub fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    /// Asserts 200.
    #[track_caller]
    pub fn ok(&self, what: &str) -> &Self {
        assert_eq!(self.status, 200, "{what}: body {:?}", self.body);
        self
    }

    /// Asserts 200 with an empty body: the documented answer of Add, Edit
    /// and Delete ("Response code and error message (if applicable) only").
    #[track_caller]
    pub fn ok_empty(&self, what: &str) {
        assert_eq!(self.status, 200, "{what}: body {:?}", self.body);
        assert!(
            self.body.trim().is_empty(),
            "{what}: a write answers with no body, got {:?}",
            self.body
        );
    }

    /// Asserts a JSON fault: status, fault element name, and that the
    /// message equals `message` (when given) and is repeated in
    /// `x-error-message`. Returns the fault's inner object.
    #[track_caller]
    pub fn fault(&self, status: u16, kind: &str, message: Option<&str>, what: &str) -> Value {
        assert_eq!(self.status, status, "{what}: body {:?}", self.body);
        let v = self.json();
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("{what}: fault body is an object: {:?}", self.body));
        assert_eq!(obj.len(), 1, "{what}: one fault element: {:?}", self.body);
        let (k, inner) = obj.iter().next().unwrap();
        assert_eq!(k, kind, "{what}: fault element: {:?}", self.body);
        let msg = inner["message"].as_str().unwrap_or_default().to_string();
        if let Some(m) = message {
            assert_eq!(msg, m, "{what}: fault message");
        }
        assert_eq!(
            inner["code"].as_u64(),
            Some(status as u64),
            "{what}: fault code: {:?}",
            self.body
        );
        assert_eq!(
            self.header("x-error-message"),
            Some(msg.as_str()),
            "{what}: x-error-message repeats the message"
        );
        inner.clone()
    }

    /// The fault's message, whatever the element.
    pub fn message(&self) -> String {
        let v: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|i| i["message"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

/// Waits, if needed, so that at least 15 seconds of the current clock
/// minute remain: throttle counters are per minute, and a burst that
/// straddles a minute boundary would be counted in two windows.
pub async fn start_of_minute_window() {
    let sec = time::OffsetDateTime::now_utc().second() as u64;
    if sec >= 45 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - sec)).await;
    }
}

/// The names of the items of an index page under `key`.
pub fn names(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("page has an array {key:?}: {page}"))
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The keys of one index item, sorted.
pub fn keys(item: &Value) -> Vec<String> {
    let mut k: Vec<String> = item
        .as_object()
        .unwrap_or_else(|| panic!("item is an object: {item}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// Makes `mod $name { sqlite, postgres }`, each starting its own officed
/// (with `serve_args`, if given) and running the body on it.
#[macro_export]
macro_rules! conformance {
    ($name:ident, [$($arg:expr),*], |$w:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($w: &$crate::wire::Wire) $body
            #[tokio::test]
            async fn sqlite() {
                let w = $crate::wire::Wire::start($crate::wire::Backend::Sqlite, &[$($arg),*])
                    .expect("sqlite always runs");
                run(&w).await;
                w.finish();
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(w) = $crate::wire::Wire::start($crate::wire::Backend::Postgres, &[$($arg),*]) {
                    run(&w).await;
                    w.finish();
                }
            }
        }
    };
    ($name:ident, |$w:ident| $body:block) => {
        $crate::conformance!($name, [], |$w| $body);
    };
}
