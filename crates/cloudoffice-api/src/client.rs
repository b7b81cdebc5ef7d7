//! An async client for any endpoint of the Cloud Office API shape.
//!
//! Every request is signed ([`crate::signing`]), paced by a client-side
//! rate limiter that holds the Cloud Office limits (by default 60 GETs and
//! 30 writes per rolling minute), and retried with exponential backoff and
//! jitter when the failure is transient: connection refused, reset or
//! closed, timeouts, 5xx answers and throttle answers ("Exceeded request
//! limits", 429). Fault bodies are parsed into [`ClientError::Fault`] with
//! the recognised [`RuleViolation`], so callers can map them to their own
//! catalogue. List reads are paged (at most [`MAX_PAGE_SIZE`] per page).
//!
//! The client knows only the API's shape (paths, wire types, faults); it
//! works against officed or any other implementation of it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::fault::{Fault, RuleViolation, ERROR_MESSAGE_HEADER};
use crate::paths::{self, MAX_PAGE_SIZE};
use crate::signing::{sign, SIGNATURE_HEADER};
use crate::types::*;
use crate::Secret;

/// Requests allowed per rolling minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimit {
    pub gets_per_min: u32,
    pub writes_per_min: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            gets_per_min: 60,
            writes_per_min: 30,
        }
    }
}

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in total (first try included).
    pub max_attempts: u32,
    /// First backoff, milliseconds; doubled on each retry, with full jitter.
    pub base_delay_ms: u64,
    /// Longest backoff, milliseconds.
    pub max_delay_ms: u64,
    /// Per-request timeout, milliseconds.
    pub timeout_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay_ms: 500,
            max_delay_ms: 30_000,
            timeout_ms: 30_000,
        }
    }
}

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

/// Why a request failed (after retries, when the failure was transient).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The connection failed, was reset or closed, or timed out.
    #[error("{method} {path}: connection failed after {attempts} attempt(s): {detail}")]
    Transport {
        method: String,
        path: String,
        detail: String,
        attempts: u32,
    },
    /// The API answered with an error status.
    #[error("{method} {path}: HTTP {status}: {message}")]
    Fault {
        method: String,
        path: String,
        status: u16,
        /// The fault message (from the body or the `x-error-message` header).
        message: String,
        /// The fault's details, when any.
        details: String,
        rule: Option<RuleViolation>,
        attempts: u32,
    },
    /// The answer could not be read as the expected type.
    #[error("{method} {path}: unexpected answer: {detail}")]
    Decode {
        method: String,
        path: String,
        detail: String,
    },
    /// The configuration cannot work (bad URL...).
    #[error("client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The HTTP status of a fault.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Fault { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// The control-panel rule the fault reports.
    pub fn rule(&self) -> Option<RuleViolation> {
        match self {
            ClientError::Fault { rule, .. } => *rule,
            _ => None,
        }
    }
    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
    /// True when retrying later may succeed (connection trouble, 5xx, throttling).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Fault { status, rule, .. } => {
                *status >= 500
                    || *status == 429
                    || *rule == Some(RuleViolation::ExceededRequestLimits)
            }
            _ => false,
        }
    }
    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        match self {
            ClientError::Transport { attempts, .. } | ClientError::Fault { attempts, .. } => {
                *attempts
            }
            _ => 1,
        }
    }
    /// The API's own message (faults) or the transport detail.
    pub fn message(&self) -> String {
        match self {
            ClientError::Fault {
                message, details, ..
            } if !details.is_empty() => format!("{message} ({details})"),
            ClientError::Fault { message, .. } => message.clone(),
            ClientError::Transport { detail, .. } | ClientError::Decode { detail, .. } => {
                detail.clone()
            }
            ClientError::Config(d) => d.clone(),
        }
    }
}

/// A sliding-window limiter: at most `limit` acquisitions in any `window`.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    gets: Mutex<(u32, VecDeque<Instant>)>,
    writes: Mutex<(u32, VecDeque<Instant>)>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self::with_window(limit, Duration::from_secs(60))
    }

    /// A limiter with another window (tests).
    pub fn with_window(limit: RateLimit, window: Duration) -> Self {
        RateLimiter {
            window,
            gets: Mutex::new((limit.gets_per_min.max(1), VecDeque::new())),
            writes: Mutex::new((limit.writes_per_min.max(1), VecDeque::new())),
        }
    }

    /// Waits until one more request of this class fits in the window.
    pub async fn acquire(&self, write: bool) {
        loop {
            let wait = {
                let mut g = if write {
                    self.writes.lock()
                } else {
                    self.gets.lock()
                }
                .unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                let (limit, q) = &mut *g;
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    q.pop_front();
                }
                if (q.len() as u32) < *limit {
                    q.push_back(now);
                    None
                } else {
                    q.front()
                        .map(|t| self.window.saturating_sub(now.duration_since(*t)))
                }
            };
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d.max(Duration::from_millis(1))).await,
            }
        }
    }
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
        let mut attempt = 0u32;
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
            if !err.is_transient() || attempt >= policy.max_attempts.max(1) {
                return Err(err);
            }
            if err.rule() == Some(RuleViolation::ExceededRequestLimits) || err.status() == Some(429)
            {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let exp = policy
                .base_delay_ms
                .saturating_mul(1u64 << (attempt - 1).min(20))
                .min(policy.max_delay_ms);
            let jittered = rand::thread_rng().gen_range(exp / 2..=exp.max(1));
            let delay = retry_after
                .map(|s| (s * 1000).min(policy.max_delay_ms))
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

    /// Renames a mailbox (`POST .../mailboxes/{name}/rename`, `newName=`):
    /// the administrator's operation, which only keys with the rename
    /// permission may call. Without it the answer is 403 `Not authorized`
    /// ([`RuleViolation::NotAuthorized`]).
    pub async fn rename_mailbox(
        &self,
        customer: &str,
        domain: &str,
        exchange: bool,
        name: &str,
        new_name: &str,
    ) -> Result<(), ClientError> {
        let path = if exchange {
            paths::ex_mailbox_rename(customer, domain, name)
        } else {
            paths::rs_mailbox_rename(customer, domain, name)
        };
        self.send_form(
            Method::POST,
            &path,
            &MailboxRenameForm {
                new_name: new_name.to_string(),
            },
        )
        .await
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

    /// All domains of the customer.
    pub async fn domains(&self, customer: &str) -> Result<Vec<Domain>, ClientError> {
        self.list_all(&paths::domains(customer), |p: DomainList| {
            (p.domains, p.total)
        })
        .await
    }

    /// `GET` one object; `None` when the answer is 404.
    pub async fn get_one<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ClientError> {
        match self.get_json(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The Exchange mailboxes' list items (`name`, `displayName`): one GET
    /// per page of 250.
    pub async fn ex_mailbox_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(
            &paths::ex_mailboxes(customer, domain),
            |p: ExchangeMailboxList| (p.mailboxes, p.total),
        )
        .await
    }

    /// One Exchange mailbox (`None` when it does not exist).
    pub async fn ex_mailbox(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<ExchangeMailbox>, ClientError> {
        self.get_one(&paths::ex_mailbox(customer, domain, name))
            .await
    }

    /// Every Exchange mailbox in full: the list, then one GET per mailbox
    /// (the documented list items carry only names).
    pub async fn ex_mailboxes(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ExchangeMailbox>, ClientError> {
        let mut out = Vec::new();
        for item in self.ex_mailbox_names(customer, domain).await? {
            out.extend(self.ex_mailbox(customer, domain, &item.name).await?);
        }
        Ok(out)
    }

    /// The Rackspace Email mailboxes' list items.
    pub async fn rs_mailbox_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(
            &paths::rs_mailboxes(customer, domain),
            |p: RsMailboxList| (p.rs_mailboxes, p.total),
        )
        .await
    }

    /// One Rackspace Email mailbox.
    pub async fn rs_mailbox(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<RsMailbox>, ClientError> {
        self.get_one(&paths::rs_mailbox(customer, domain, name))
            .await
    }

    /// Every Rackspace Email mailbox in full (list, then one GET each).
    pub async fn rs_mailboxes(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<RsMailbox>, ClientError> {
        let mut out = Vec::new();
        for item in self.rs_mailbox_names(customer, domain).await? {
            out.extend(self.rs_mailbox(customer, domain, &item.name).await?);
        }
        Ok(out)
    }

    /// The aliases' list items (`name`, `numberOfMembers`, `singleMemberName`).
    pub async fn rs_alias_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(&paths::rs_aliases(customer, domain), |p: RsAliasList| {
            (p.aliases, p.total)
        })
        .await
    }

    /// One alias.
    pub async fn rs_alias(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<RsAlias>, ClientError> {
        self.get_one(&paths::rs_alias(customer, domain, name)).await
    }

    /// Every alias in full (list, then one GET each).
    pub async fn rs_aliases(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<RsAlias>, ClientError> {
        let mut out = Vec::new();
        for item in self.rs_alias_names(customer, domain).await? {
            out.extend(self.rs_alias(customer, domain, &item.name).await?);
        }
        Ok(out)
    }

    /// The contacts' list items.
    pub async fn ex_contact_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(
            &paths::ex_contacts(customer, domain),
            |p: ExchangeContactList| (p.contacts, p.total),
        )
        .await
    }

    /// One contact.
    pub async fn ex_contact(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<ExchangeContact>, ClientError> {
        self.get_one(&paths::ex_contact(customer, domain, name))
            .await
    }

    /// Every contact in full (list, then one GET each).
    pub async fn ex_contacts(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ExchangeContact>, ClientError> {
        let mut out = Vec::new();
        for item in self.ex_contact_names(customer, domain).await? {
            out.extend(self.ex_contact(customer, domain, &item.name).await?);
        }
        Ok(out)
    }

    /// The distribution lists' list items.
    pub async fn ex_list_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(
            &paths::ex_lists(customer, domain),
            |p: DistributionListList| (p.distribution_lists, p.total),
        )
        .await
    }

    /// One distribution list with its members.
    pub async fn ex_list(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<DistributionList>, ClientError> {
        self.get_one(&paths::ex_list(customer, domain, name)).await
    }

    /// The members of one distribution list.
    pub async fn ex_list_members(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<MemberList>, ClientError> {
        self.get_one(&paths::ex_list_members(customer, domain, name))
            .await
    }

    /// Every distribution list in full (list, then one GET each).
    pub async fn ex_lists(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<DistributionList>, ClientError> {
        let mut out = Vec::new();
        for item in self.ex_list_names(customer, domain).await? {
            out.extend(self.ex_list(customer, domain, &item.name).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limiter_holds_the_window() {
        let window = Duration::from_millis(300);
        let l = RateLimiter::with_window(
            RateLimit {
                gets_per_min: 3,
                writes_per_min: 1,
            },
            window,
        );
        let start = Instant::now();
        for _ in 0..3 {
            l.acquire(false).await;
        }
        assert!(start.elapsed() < Duration::from_millis(100));
        l.acquire(true).await;
        // The fourth GET waits for the first to leave the window.
        l.acquire(false).await;
        assert!(start.elapsed() >= window, "{:?}", start.elapsed());
    }

    #[test]
    fn transient_classification() {
        let f = |status: u16, message: &str| ClientError::Fault {
            method: "GET".into(),
            path: "/".into(),
            status,
            message: message.into(),
            details: String::new(),
            rule: RuleViolation::classify(message),
            attempts: 1,
        };
        assert!(f(500, "boom").is_transient());
        assert!(f(503, "").is_transient());
        assert!(f(429, "").is_transient());
        assert!(f(403, "Exceeded request limits").is_transient());
        assert!(!f(403, "Not authorized").is_transient());
        assert!(!f(400, "Mailbox limit exceeded.").is_transient());
        assert_eq!(
            f(400, "Mailbox limit exceeded.").rule(),
            Some(RuleViolation::MailboxLimitExceeded)
        );
        assert!(f(404, "").is_not_found());
    }
}
