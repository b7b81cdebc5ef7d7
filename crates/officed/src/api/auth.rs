//! Authentication (`X-Api-Signature`) and per-key throttling.
//!
//! Every `/v1` request (except the OpenAPI document) must carry a valid
//! signature of a live key; the caller's customer is then the only one it
//! can reach. Throttling counts requests per key per clock minute, GETs and
//! writes separately, plus the documented narrower rows: writes on a
//! domain itself and writes on its alternate domains (2 a minute each, and
//! counted as writes too): on PostgreSQL in the database, so that several
//! instances behind a balancer enforce one limit together; on SQLite (one
//! process per database file) in memory. Logs name the user key and never
//! the header or the secret.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cloudoffice_api::{SignatureError, SignatureHeader, SIGNATURE_HEADER};

use super::AppState;
use crate::admin;
use crate::db::{Backend, Db};
use crate::error::Error;

/// The authenticated caller, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_key: String,
    pub customer_id: String,
    pub account_number: String,
    /// The key may call the administrator's mailbox rename.
    pub allow_rename: bool,
    /// The key may add, edit and delete its own customer's domains and
    /// their alternate domains (the documented "Reseller Only" operations).
    pub allow_domain_admin: bool,
}

/// Per-key limits per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    pub gets_per_minute: u32,
    pub writes_per_minute: u32,
    /// POST, PUT, DELETE on a domain itself (`/customers/{c}/domains/{d}`).
    pub domain_writes_per_minute: u32,
    /// POST, DELETE on a domain's alternate domains.
    pub alternate_domain_writes_per_minute: u32,
}

impl ThrottleLimits {
    /// The documented Cloud Office limits per key: 60 GETs, 30 writes, of
    /// which 2 on domains and 2 on alternate domains, per minute.
    pub const CLOUD_OFFICE: ThrottleLimits = ThrottleLimits {
        gets_per_minute: 60,
        writes_per_minute: 30,
        domain_writes_per_minute: 2,
        alternate_domain_writes_per_minute: 2,
    };
}

/// What a request counts as. A domain or alternate-domain write is also a
/// write: it counts against both its own row of the table and the
/// general write limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Get,
    Write,
    DomainWrite,
    AlternateDomainWrite,
}

impl RequestKind {
    /// Classifies a request by method and path (with or without `/v1`,
    /// `customers/{c}/domains/...` or the short `domains/...`): the
    /// documented rows "POST, PUT, DELETE on a domain" and "POST, DELETE on
    /// alternate domains".
    pub fn of(method: &Method, path: &str) -> RequestKind {
        if method == Method::GET || method == Method::HEAD {
            return RequestKind::Get;
        }
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut rest: &[&str] = &segs;
        if rest.first() == Some(&"v1") {
            rest = &rest[1..];
        }
        if rest.len() >= 2 && rest[0].eq_ignore_ascii_case("customers") {
            rest = &rest[2..];
        }
        let word = |i: usize, w: &str| rest.get(i).is_some_and(|s| s.eq_ignore_ascii_case(w));
        if !word(0, "domains") {
            return RequestKind::Write;
        }
        let domain_method = matches!(*method, Method::POST | Method::PUT | Method::DELETE);
        match rest.len() {
            2 if domain_method => RequestKind::DomainWrite,
            4 if word(2, "alternatedomains")
                && matches!(*method, Method::POST | Method::DELETE) =>
            {
                RequestKind::AlternateDomainWrite
            }
            _ => RequestKind::Write,
        }
    }
}

/// One key's counters in one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    gets: i64,
    writes: i64,
    domain_writes: i64,
    alternate_writes: i64,
}

impl Counts {
    /// The increments of one request of `kind`.
    fn one(kind: RequestKind) -> Counts {
        let mut c = Counts::default();
        match kind {
            RequestKind::Get => c.gets = 1,
            RequestKind::Write => c.writes = 1,
            RequestKind::DomainWrite => {
                c.writes = 1;
                c.domain_writes = 1;
            }
            RequestKind::AlternateDomainWrite => {
                c.writes = 1;
                c.alternate_writes = 1;
            }
        }
        c
    }

    fn add(&mut self, o: Counts) {
        self.gets += o.gets;
        self.writes += o.writes;
        self.domain_writes += o.domain_writes;
        self.alternate_writes += o.alternate_writes;
    }
}

/// Request counters per key for the current minute.
#[derive(Debug, Default)]
pub struct Throttle {
    windows: Mutex<HashMap<String, (i64, Counts)>>,
    /// The last minute whose older shared counters this process deleted.
    swept: AtomicI64,
}

/// The refusal when the counts after a request of `kind` exceed a limit.
fn verdict(limits: ThrottleLimits, kind: RequestKind, c: Counts) -> Result<(), Error> {
    let over = |count: i64, limit: u32| count > i64::from(limit);
    let refused = match kind {
        RequestKind::Get => over(c.gets, limits.gets_per_minute)
            .then(|| format!("{} GET requests", limits.gets_per_minute)),
        RequestKind::DomainWrite if over(c.domain_writes, limits.domain_writes_per_minute) => {
            Some(format!(
                "{} writes (POST, PUT, DELETE) on domains",
                limits.domain_writes_per_minute
            ))
        }
        RequestKind::AlternateDomainWrite
            if over(
                c.alternate_writes,
                limits.alternate_domain_writes_per_minute,
            ) =>
        {
            Some(format!(
                "{} writes (POST, DELETE) on alternate domains",
                limits.alternate_domain_writes_per_minute
            ))
        }
        _ => over(c.writes, limits.writes_per_minute)
            .then(|| format!("{} write requests", limits.writes_per_minute)),
    };
    match refused {
        Some(what) => Err(Error::throttled(format!(
            "This key may make {what} per minute; wait until the next minute."
        ))),
        None => Ok(()),
    }
}

impl Throttle {
    /// Counts one request of `user_key` in `minute`; `Err` when over the
    /// limit. Shared through the database on PostgreSQL, in memory on
    /// SQLite.
    pub async fn admit(
        &self,
        db: &Db,
        limits: ThrottleLimits,
        user_key: &str,
        kind: RequestKind,
        minute: i64,
    ) -> Result<(), Error> {
        match db.backend {
            Backend::Sqlite => self.check(limits, user_key, kind, minute),
            Backend::Postgres => {
                let counts = self.count_shared(db, user_key, kind, minute).await?;
                verdict(limits, kind, counts)
            }
        }
    }

    /// Adds the request to the key's counter row for the minute and returns
    /// the new counts, in one statement: concurrent requests on any
    /// instance each see their own count. (PostgreSQL only, which has
    /// `RETURNING` on an upsert; the portable subset elsewhere avoids it.)
    async fn count_shared(
        &self,
        db: &Db,
        user_key: &str,
        kind: RequestKind,
        minute: i64,
    ) -> Result<Counts, Error> {
        let one = Counts::one(kind);
        let row = sqlx::query(
            "INSERT INTO api_throttle (user_key, minute, gets, writes, domain_writes, alternate_writes) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_key, minute) DO UPDATE \
             SET gets = api_throttle.gets + excluded.gets, writes = api_throttle.writes + excluded.writes, \
             domain_writes = api_throttle.domain_writes + excluded.domain_writes, \
             alternate_writes = api_throttle.alternate_writes + excluded.alternate_writes \
             RETURNING gets, writes, domain_writes, alternate_writes",
        )
        .bind(user_key)
        .bind(minute)
        .bind(one.gets)
        .bind(one.writes)
        .bind(one.domain_writes)
        .bind(one.alternate_writes)
        .fetch_one(&db.pool)
        .await?;
        if self.swept.fetch_max(minute, Ordering::Relaxed) < minute {
            // Once per minute per instance: the counters of past minutes.
            if let Err(e) = sqlx::query("DELETE FROM api_throttle WHERE minute < $1")
                .bind(minute - 1)
                .execute(&db.pool)
                .await
            {
                tracing::warn!(error = %e, "could not delete old throttle counters");
            }
        }
        use sqlx::Row;
        Ok(Counts {
            gets: row.try_get("gets")?,
            writes: row.try_get("writes")?,
            domain_writes: row.try_get("domain_writes")?,
            alternate_writes: row.try_get("alternate_writes")?,
        })
    }

    /// Counts one request in this process; `Err` when over the limit.
    pub fn check(
        &self,
        limits: ThrottleLimits,
        user_key: &str,
        kind: RequestKind,
        minute: i64,
    ) -> Result<(), Error> {
        let counts = {
            let mut w = self
                .windows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if w.len() > 10_000 {
                w.retain(|_, v| v.0 == minute);
            }
            let e = w
                .entry(user_key.to_string())
                .or_insert((minute, Counts::default()));
            if e.0 != minute {
                *e = (minute, Counts::default());
            }
            e.1.add(Counts::one(kind));
            e.1
        };
        verdict(limits, kind, counts)
    }
}

fn refuse(e: SignatureError) -> Response {
    Error::authentication(e.to_string()).into_response()
}

/// Middleware: verifies the signature, throttles, and stores the [`Caller`].
pub async fn authenticate(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(value) = req.headers().get(SIGNATURE_HEADER) else {
        return refuse(SignatureError::Missing);
    };
    let Ok(value) = value.to_str() else {
        return refuse(SignatureError::Malformed);
    };
    let header = match SignatureHeader::parse(value) {
        Ok(h) => h,
        Err(e) => return refuse(e),
    };
    let user_agent = req
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let now = time::OffsetDateTime::now_utc();
    if let Err(e) = header.check_window(now, st.config.signature_window) {
        return refuse(e);
    }
    // A request about one domain reads it with its key, in one statement
    // (the `Scope` extractor takes it from the request's extensions).
    let found = match domain_in_path(req.uri().path()) {
        Some(d) => admin::lookup_key_with_domain(&st.db, &st.master, &header.user_key, d)
            .await
            .map(|k| k.map(|(k, d)| (k, Some(d)))),
        None => admin::lookup_key(&st.db, &st.master, &header.user_key)
            .await
            .map(|k| k.map(|k| (k, None))),
    };
    let (key, domain) = match found {
        Ok(Some(k)) => k,
        Ok(None) => {
            tracing::info!(user_key = %header.user_key, "refused: unknown or revoked key");
            return Error::authentication("The API key is unknown or revoked.").into_response();
        }
        Err(e) => return e.into_response(),
    };
    if let Err(e) = header.check_hash(&user_agent, &key.secret) {
        tracing::info!(user_key = %header.user_key, "refused: signature mismatch");
        return refuse(e);
    }
    if let Some(limits) = st.config.throttle {
        let minute = now.unix_timestamp().div_euclid(60);
        let kind = RequestKind::of(req.method(), req.uri().path());
        if let Err(e) = st
            .throttle
            .admit(&st.db, limits, &key.user_key, kind, minute)
            .await
        {
            if matches!(e, Error::Fault { .. }) {
                tracing::info!(user_key = %key.user_key, method = %req.method(), path = %req.uri().path(), "refused: throttled");
            } else {
                tracing::error!(user_key = %key.user_key, error = %e, "the throttle counter could not be updated");
            }
            return e.into_response();
        }
    }
    tracing::debug!(user_key = %key.user_key, method = %req.method(), path = %req.uri().path(), "request");
    req.extensions_mut().insert(Caller {
        user_key: key.user_key,
        customer_id: key.customer_id,
        account_number: key.account_number,
        allow_rename: key.permissions.allow_rename,
        allow_domain_admin: key.permissions.allow_domain_admin,
    });
    if let Some(d) = domain {
        req.extensions_mut().insert(d);
    }
    next.run(req).await
}

/// The `{d}` segment of a `customers/{c}/domains/{d}/...` path (with or
/// without `/v1`), when it needs no decoding.
fn domain_in_path(path: &str) -> Option<&str> {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let mut first = segs.next()?;
    if first == "v1" {
        first = segs.next()?;
    }
    let _customer = segs.next()?;
    let domains = segs.next()?;
    let d = segs.next()?;
    (first.eq_ignore_ascii_case("customers") && domains.eq_ignore_ascii_case("domains"))
        .then_some(d)
        .filter(|d| !d.contains('%'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_counts_per_minute_and_kind() {
        let t = Throttle::default();
        let l = ThrottleLimits {
            gets_per_minute: 2,
            writes_per_minute: 1,
            ..ThrottleLimits::CLOUD_OFFICE
        };
        let (g, w) = (RequestKind::Get, RequestKind::Write);
        assert!(t.check(l, "k", g, 1).is_ok());
        assert!(t.check(l, "k", g, 1).is_ok());
        assert!(t.check(l, "k", g, 1).is_err());
        assert!(t.check(l, "k", w, 1).is_ok());
        assert!(t.check(l, "k", w, 1).is_err());
        assert!(t.check(l, "other", g, 1).is_ok());
        assert!(t.check(l, "k", g, 2).is_ok(), "new minute");
    }

    /// The documented rows: 2 domain writes and 2 alternate-domain writes
    /// a minute, each also a write; refused calls count.
    #[test]
    fn domain_rows_count_separately_and_as_writes() {
        let t = Throttle::default();
        let l = ThrottleLimits::CLOUD_OFFICE;
        let (d, a, w) = (
            RequestKind::DomainWrite,
            RequestKind::AlternateDomainWrite,
            RequestKind::Write,
        );
        assert!(t.check(l, "k", d, 1).is_ok());
        assert!(t.check(l, "k", d, 1).is_ok());
        let e = t.check(l, "k", d, 1).unwrap_err().to_fault();
        assert!(e.detail.details.contains("on domains"), "{e:?}");
        assert!(t.check(l, "k", a, 1).is_ok(), "its own budget");
        assert!(t.check(l, "k", a, 1).is_ok());
        assert!(t.check(l, "k", a, 1).is_err());
        // 6 writes so far in minute 1, refused ones included; 24 more fill
        // the 30.
        for _ in 0..24 {
            assert!(t.check(l, "k", w, 1).is_ok());
        }
        assert!(t.check(l, "k", w, 1).is_err());
        assert!(t.check(l, "k", d, 2).is_ok(), "new minute");
        let t = Throttle::default();
        for _ in 0..30 {
            assert!(t.check(l, "j", w, 1).is_ok());
        }
        assert!(
            t.check(l, "j", d, 1).is_err(),
            "a domain write is a write too"
        );
    }

    #[test]
    fn domains_in_paths() {
        let cases: &[(&str, Option<&str>)] = &[
            ("/customers/me/domains/x.com/ex/mailboxes/a", Some("x.com")),
            ("/v1/customers/123/domains/X.com", Some("X.com")),
            ("/customers/me/Domains/x.com/", Some("x.com")),
            ("/customers/me/domains", None),
            ("/customers/me/domains/", None),
            ("/customers/me/domains/x%2Ecom/ex", None),
            ("/customers/me/lists/x.com", None),
            ("/domains/x.com/ex/mailboxes", None),
            ("/v1/openapi.json", None),
            ("/", None),
        ];
        for (path, want) in cases {
            assert_eq!(domain_in_path(path), *want, "{path}");
        }
    }

    #[test]
    fn request_kinds() {
        use RequestKind::*;
        let cases: &[(Method, &str, RequestKind)] = &[
            (Method::GET, "/customers/me/domains/x.com", Get),
            (Method::POST, "/customers/me/domains/x.com", DomainWrite),
            (Method::PUT, "/customers/123/domains/x.com", DomainWrite),
            (
                Method::DELETE,
                "/v1/customers/me/domains/x.com",
                DomainWrite,
            ),
            (Method::DELETE, "/domains/x.com", DomainWrite),
            (Method::POST, "/customers/me/domains/x.com/", DomainWrite),
            (
                Method::POST,
                "/customers/me/domains/x.com/alternatedomains/y.com",
                AlternateDomainWrite,
            ),
            (
                Method::DELETE,
                "/v1/customers/me/domains/x.com/AlternateDomains/y.com",
                AlternateDomainWrite,
            ),
            (
                Method::PUT,
                "/customers/me/domains/x.com/alternatedomains/y.com",
                Write,
            ),
            (
                Method::POST,
                "/customers/me/domains/x.com/ex/mailboxes/a",
                Write,
            ),
            (
                Method::PUT,
                "/customers/me/domains/x.com/spam/settings",
                Write,
            ),
            (Method::POST, "/customers/me/domains", Write),
        ];
        for (m, p, want) in cases {
            assert_eq!(RequestKind::of(m, p), *want, "{m} {p}");
        }
    }
}
