//! Authentication (`X-Api-Signature`) and per-key throttling.
//!
//! Every `/v1` request (except the OpenAPI document) must carry a valid
//! signature of a live key; the caller's customer is then the only one it
//! can reach. Throttling counts requests per key per clock minute, GETs and
//! writes separately: on PostgreSQL in the database, so that several
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
}

/// Per-key limits per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    pub gets_per_minute: u32,
    pub writes_per_minute: u32,
}

impl ThrottleLimits {
    /// The Cloud Office limits: 60 GETs and 30 writes per minute per key.
    pub const CLOUD_OFFICE: ThrottleLimits = ThrottleLimits {
        gets_per_minute: 60,
        writes_per_minute: 30,
    };
}

/// Request counters per key for the current minute.
#[derive(Debug, Default)]
pub struct Throttle {
    windows: Mutex<HashMap<String, (i64, u32, u32)>>,
    /// The last minute whose older shared counters this process deleted.
    swept: AtomicI64,
}

/// The refusal when `count` requests of one kind exceed the limit.
fn verdict(limits: ThrottleLimits, is_get: bool, count: i64) -> Result<(), Error> {
    let (limit, what) = if is_get {
        (limits.gets_per_minute, "GET")
    } else {
        (limits.writes_per_minute, "write")
    };
    if count > i64::from(limit) {
        return Err(Error::throttled(format!(
            "This key may make {limit} {what} requests per minute; wait until the next minute."
        )));
    }
    Ok(())
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
        is_get: bool,
        minute: i64,
    ) -> Result<(), Error> {
        match db.backend {
            Backend::Sqlite => self.check(limits, user_key, is_get, minute),
            Backend::Postgres => {
                let count = self.count_shared(db, user_key, is_get, minute).await?;
                verdict(limits, is_get, count)
            }
        }
    }

    /// Adds one to the key's counter row for the minute and returns the new
    /// count, in one statement: concurrent requests on any instance each
    /// see their own count. (PostgreSQL only, which has `RETURNING` on an
    /// upsert; the portable subset elsewhere avoids it.)
    async fn count_shared(
        &self,
        db: &Db,
        user_key: &str,
        is_get: bool,
        minute: i64,
    ) -> Result<i64, Error> {
        let (g, w): (i64, i64) = if is_get { (1, 0) } else { (0, 1) };
        let row = sqlx::query(
            "INSERT INTO api_throttle (user_key, minute, gets, writes) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_key, minute) DO UPDATE \
             SET gets = api_throttle.gets + excluded.gets, writes = api_throttle.writes + excluded.writes \
             RETURNING gets, writes",
        )
        .bind(user_key)
        .bind(minute)
        .bind(g)
        .bind(w)
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
        Ok(row.try_get::<i64, _>(if is_get { "gets" } else { "writes" })?)
    }

    /// Counts one request in this process; `Err` when over the limit.
    pub fn check(
        &self,
        limits: ThrottleLimits,
        user_key: &str,
        is_get: bool,
        minute: i64,
    ) -> Result<(), Error> {
        let count = {
            let mut w = self
                .windows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if w.len() > 10_000 {
                w.retain(|_, v| v.0 == minute);
            }
            let e = w.entry(user_key.to_string()).or_insert((minute, 0, 0));
            if e.0 != minute {
                *e = (minute, 0, 0);
            }
            if is_get {
                e.1 += 1;
                e.1
            } else {
                e.2 += 1;
                e.2
            }
        };
        verdict(limits, is_get, i64::from(count))
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
    let key = match admin::lookup_key(&st.db, &st.master, &header.user_key).await {
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
        let is_get = req.method() == Method::GET;
        if let Err(e) = st
            .throttle
            .admit(&st.db, limits, &key.user_key, is_get, minute)
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
    });
    next.run(req).await
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
        };
        assert!(t.check(l, "k", true, 1).is_ok());
        assert!(t.check(l, "k", true, 1).is_ok());
        assert!(t.check(l, "k", true, 1).is_err());
        assert!(t.check(l, "k", false, 1).is_ok());
        assert!(t.check(l, "k", false, 1).is_err());
        assert!(t.check(l, "other", true, 1).is_ok());
        assert!(t.check(l, "k", true, 2).is_ok(), "new minute");
    }
}
