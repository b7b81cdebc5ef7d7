//! An async client for any endpoint of the Cloud Office API shape.
//!
//! Every request is signed ([`crate::signing`]), paced by a client-side
//! rate limiter that holds the Cloud Office limits (by default 60 GETs and
//! 30 writes per rolling minute), and retried with exponential backoff and
//! jitter when the failure is transient: connection refused, reset or
//! closed, timeouts and 5xx answers. A throttle answer ("Exceeded request
//! limits", 429) means the key's limits for the minute are spent, perhaps
//! before this client started: every request of its kind waits for the
//! answer's `Retry-After` or the service's next minute, then goes again
//! (up to [`MAX_THROTTLE_REFUSALS`] times per request). Fault bodies are parsed into [`ClientError::Fault`] with
//! the recognised [`RuleViolation`], so callers can map them to their own
//! catalogue. List reads are paged (at most [`MAX_PAGE_SIZE`] per page).
//!
//! The client knows only the API's shape (paths, wire types, faults); it
//! works against officed or any other implementation of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::fault::{Fault, RuleViolation, ERROR_MESSAGE_HEADER};
use crate::paths::{self, MAX_PAGE_SIZE};
use crate::signing::{sign, SIGNATURE_HEADER};
use crate::Secret;

mod error;
mod pacing;
mod resources;

pub use error::ClientError;
pub use pacing::{
    shared_take, until_next_minute, BudgetFuture, RateLimit, RateLimiter, RetryPolicy, SharedBudget,
};

/// Throttle refusals one request waits out before it fails: each waits for
/// the service's next minute, so five cover a key whose limits other
/// clients keep spending for minutes.
pub const MAX_THROTTLE_REFUSALS: u32 = 5;

/// The longest `Retry-After` a throttle refusal is taken at.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL including the version prefix, e.g. `https://api.example.com/v1`.
    pub base_url: String,
    pub user_key: String,
    pub secret: Secret,
    /// The User-Agent, part of the signature.
    pub user_agent: String,
    pub rate_limit: RateLimit,
    pub retry: RetryPolicy,
}

/// Counters of what the client did (for reports and metrics).
#[derive(Debug, Default)]
pub struct ClientStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    /// Times each HTTP attempt for the caller (dirsync's API latency histogram).
    pub observer: crate::observe::ObserverSlot,
}

/// The client. Cheap to clone (shared connection pool, limiter and stats).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    cfg: Arc<ClientConfig>,
    limiter: Arc<RateLimiter>,
    stats: Arc<ClientStats>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.cfg.base_url)
            .field("user_key", &self.cfg.user_key)
            .finish()
    }
}

/// A request body.
enum Body {
    None,
    Form(String),
    Json(Vec<u8>),
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, ClientError> {
        url::Url::parse(&cfg.base_url)
            .map_err(|e| ClientError::Config(format!("base URL '{}': {e}", cfg.base_url)))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.retry.timeout_ms.max(1)))
            .connect_timeout(Duration::from_millis(cfg.retry.timeout_ms.clamp(1, 10_000)))
            .user_agent(cfg.user_agent.clone())
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(Client {
            http,
            limiter: Arc::new(RateLimiter::new(cfg.rate_limit)),
            cfg: Arc::new(cfg),
            stats: Arc::new(ClientStats::default()),
        })
    }

    /// Replaces the rate limiter (for example one with a shorter window in tests).
    pub fn with_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = Arc::new(limiter);
        self
    }

    /// Counts this client's requests in `budget`, shared with the other
    /// processes of the same key (see [`SharedBudget`]); set once, false
    /// when one was already set.
    pub fn share_budget(&self, budget: Arc<dyn SharedBudget>) -> bool {
        self.limiter.share(budget)
    }

    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.cfg.base_url.trim_end_matches('/'), path)
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Body,
    ) -> Result<Vec<u8>, ClientError> {
        let write = method != Method::GET;
        let policy = self.cfg.retry;
        // Every attempt; transient failures other than throttle refusals
        // (bounded by the retry policy); throttle refusals (bounded apart).
        let mut attempt = 0u32;
        let mut failures = 0u32;
        let mut refusals = 0u32;
        loop {
            attempt += 1;
            self.limiter.acquire(write).await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sig = sign(
                &self.cfg.user_key,
                &self.cfg.user_agent,
                &self.cfg.secret,
                time::OffsetDateTime::now_utc(),
            );
            let mut rb = self
                .http
                .request(method.clone(), self.url(path))
                .header(SIGNATURE_HEADER, sig)
                .header(reqwest::header::ACCEPT, "application/json");
            rb = match &body {
                Body::None => rb,
                Body::Form(f) => rb
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(f.clone()),
                Body::Json(j) => rb
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(j.clone()),
            };
            let sent = Instant::now();
            let (err, retry_after): (ClientError, Option<u64>) = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let header_msg = resp
                        .headers()
                        .get(ERROR_MESSAGE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|s| s.trim().parse::<u64>().ok());
                    match resp.bytes().await {
                        Ok(bytes) if status.is_success() => {
                            let status = Some(status.as_u16());
                            self.stats.observer.notify(method.as_str(), status, sent);
                            return Ok(bytes.to_vec());
                        }
                        Ok(bytes) => (
                            self.fault(&method, path, status, &bytes, header_msg, attempt),
                            retry_after,
                        ),
                        Err(e) => (self.transport(&method, path, &e, attempt), None),
                    }
                }
                Err(e) => (self.transport(&method, path, &e, attempt), None),
            };
            self.stats
                .observer
                .notify(method.as_str(), err.status(), sent);
            if !err.is_transient() {
                return Err(err);
            }
            if err.rule() == Some(RuleViolation::ExceededRequestLimits) || err.status() == Some(429)
            {
                // The key's limits are spent for this minute (by this client,
                // an earlier run or another client of the key): backing off
                // by attempts would give up before the minute ends. Hold the
                // class until the service counts afresh, then send again.
                refusals += 1;
                if refusals > MAX_THROTTLE_REFUSALS {
                    return Err(err);
                }
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                let wait = retry_after
                    .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
                    .unwrap_or_else(|| until_next_minute(std::time::SystemTime::now()));
                tracing::debug!(%method, path, attempt, wait_ms = wait.as_millis() as u64, "throttled; waiting");
                self.limiter.refused(write, wait);
                continue;
            }
            failures += 1;
            if failures >= policy.max_attempts.max(1) {
                return Err(err);
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let exp = policy
                .base_delay_ms
                .saturating_mul(1u64 << (failures - 1).min(20))
                .min(policy.max_delay_ms);
            let jittered = rand::thread_rng().gen_range(exp / 2..=exp.max(1));
            let delay = retry_after
                .map(|s| s.saturating_mul(1000).min(policy.max_delay_ms))
                .unwrap_or(0)
                .max(jittered);
            tracing::debug!(%method, path, attempt, delay_ms = delay, error = %err, "retrying");
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
    }

    fn transport(
        &self,
        method: &Method,
        path: &str,
        e: &reqwest::Error,
        attempts: u32,
    ) -> ClientError {
        let mut detail = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            src = s.source();
        }
        if e.is_timeout() {
            detail = format!("timed out: {detail}");
        }
        ClientError::Transport {
            method: method.to_string(),
            path: path.to_string(),
            detail,
            attempts,
        }
    }

    fn fault(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        body: &[u8],
        header: Option<String>,
        attempts: u32,
    ) -> ClientError {
        let (message, details) = match Fault::from_json(body) {
            Some(f) => (f.detail.message, f.detail.details),
            None => (
                header.unwrap_or_else(|| {
                    let text = String::from_utf8_lossy(body)
                        .trim()
                        .chars()
                        .take(300)
                        .collect::<String>();
                    if text.is_empty() {
                        status.canonical_reason().unwrap_or("error").to_string()
                    } else {
                        text
                    }
                }),
                String::new(),
            ),
        };
        ClientError::Fault {
            method: method.to_string(),
            path: path.to_string(),
            status: status.as_u16(),
            rule: RuleViolation::classify(&message),
            message,
            details,
            attempts,
        }
    }

    /// `GET` and decode JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let bytes = self.request(Method::GET, path, Body::None).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            method: "GET".into(),
            path: path.into(),
            detail: e.to_string(),
        })
    }

    /// `POST`/`PUT` a form.
    pub async fn send_form<F: Serialize>(
        &self,
        method: Method,
        path: &str,
        form: &F,
    ) -> Result<(), ClientError> {
        let enc =
            serde_urlencoded::to_string(form).map_err(|e| ClientError::Config(e.to_string()))?;
        self.request(method, path, Body::Form(enc))
            .await
            .map(|_| ())
    }

    /// `POST`/`PUT` JSON.
    pub async fn send_json<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<(), ClientError> {
        let j = serde_json::to_vec(body).map_err(|e| ClientError::Config(e.to_string()))?;
        self.request(method, path, Body::Json(j)).await.map(|_| ())
    }

    /// `POST` without a body.
    pub async fn post_empty(&self, path: &str) -> Result<(), ClientError> {
        self.request(Method::POST, path, Body::None)
            .await
            .map(|_| ())
    }

    /// `DELETE`.
    pub async fn delete(&self, path: &str) -> Result<(), ClientError> {
        self.request(Method::DELETE, path, Body::None)
            .await
            .map(|_| ())
    }

    /// Reads every page of a list call (`size` = [`MAX_PAGE_SIZE`]).
    pub async fn list_all<P, T>(
        &self,
        path: &str,
        items: impl Fn(P) -> (Vec<T>, u32),
    ) -> Result<Vec<T>, ClientError>
    where
        P: DeserializeOwned,
    {
        let mut out = Vec::new();
        let mut offset = 0u32;
        loop {
            let page: P = self
                .get_json(&format!(
                    "{path}{}",
                    paths::page_query(MAX_PAGE_SIZE, offset)
                ))
                .await?;
            let (mut v, total) = items(page);
            let n = v.len() as u32;
            out.append(&mut v);
            offset += n;
            if n == 0 || offset >= total {
                break;
            }
        }
        Ok(out)
    }

    /// `GET` one object; `None` when the answer is 404.
    pub async fn get_one<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ClientError> {
        match self.get_json(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
