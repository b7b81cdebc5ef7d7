//! Pacing: the Cloud Office request limits a client holds, and the retry
//! policy for transient failures.
//!
//! The limits belong to the key, not to one process: a `dirsync sync`
//! started in a minute the previous run spent, or beside the service's own
//! runs, would take one refusal per kind before it waited. A limiter given
//! a [`SharedBudget`] (the agent's state store implements one) also counts
//! the requests every other process of the same key sent in the current
//! clock minute, the unit the service counts in.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

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

/// How much longer than a minute the client's window is (see
/// [`RateLimiter::new`]).
pub const WINDOW_MARGIN: Duration = Duration::from_millis(500);

/// The future a [`SharedBudget`] answers with.
pub type BudgetFuture<'a> = Pin<Box<dyn Future<Output = Result<u32, String>> + Send + 'a>>;

/// The requests of one key counted across processes, per clock minute
/// (UTC) and class (GETs or writes): what another process of the same key
/// (the previous `dirsync sync`, or the service beside a manual sync) spent
/// is then known to this one.
///
/// Why a trait: the count lives in the caller's storage (dirsync's state
/// store), and this crate stays free of it.
pub trait SharedBudget: Send + Sync {
    /// Takes up to `want` requests of the class (`write`) in the clock
    /// minute `minute` (minutes since the Unix epoch), as many as are left
    /// of `limit` in it: how many were taken, 0 when the minute is spent.
    /// Two processes taking at once must never together take more than
    /// `limit`. `Err` (the storage failed) says why; the limiter then paces
    /// by its own count alone.
    fn take(&self, write: bool, minute: u64, limit: u32, want: u32) -> BudgetFuture<'_>;
}

/// How many requests a limiter takes from its [`SharedBudget`] at once: one
/// at the documented limits (60 and 30 a minute), one in 60 of the limit
/// above them, so a fast run (limits raised for a private endpoint) asks
/// the budget about once a second rather than per request. What a process
/// took and did not send is lost to the others until the minute ends: at
/// most `want - 1`, under 2% of the limit.
pub fn shared_take(limit: u32) -> u32 {
    (limit / 60).max(1)
}

/// A sliding-window limiter: at most `limit` acquisitions in any `window`,
/// and none while the service's last refusal holds; with a
/// [`SharedBudget`], none either once the key's clock minute is spent.
pub struct RateLimiter {
    window: Duration,
    gets: Mutex<Class>,
    writes: Mutex<Class>,
    shared: OnceLock<Arc<dyn SharedBudget>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("window", &self.window)
            .field("gets", &self.gets)
            .field("writes", &self.writes)
            .field("shared", &self.shared.get().is_some())
            .finish()
    }
}

/// One class of requests (GETs or writes): its limit, when its recent
/// requests left, and until when the service refuses it.
#[derive(Debug)]
struct Class {
    limit: u32,
    sent: VecDeque<Instant>,
    refused_until: Option<Instant>,
    /// Requests taken from the shared budget and not sent yet: (clock
    /// minute, how many).
    lease: (u64, u32),
}

/// How long after the service's refusal a class waits when the answer gave
/// no `Retry-After`: the service counts per clock minute (UTC), so its count
/// starts again at the next minute; `WINDOW_MARGIN` covers the clocks'
/// difference and the request's way there.
pub fn until_next_minute(now: SystemTime) -> Duration {
    let ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() % 60_000)
        .unwrap_or(0) as u64;
    Duration::from_millis(60_000 - ms) + WINDOW_MARGIN
}

impl RateLimiter {
    /// The service counts per clock minute, by when each request arrives,
    /// while this window is timed by when each one leaves. A request slowed
    /// on its way across a minute boundary could otherwise land in the same
    /// minute as the one sent 60 s after it; `WINDOW_MARGIN` absorbs that
    /// jitter (under 1% of the rate).
    pub fn new(limit: RateLimit) -> Self {
        Self::with_window(limit, Duration::from_secs(60) + WINDOW_MARGIN)
    }

    /// A limiter with another window (tests).
    pub fn with_window(limit: RateLimit, window: Duration) -> Self {
        let class = |limit: u32| {
            Mutex::new(Class {
                limit: limit.max(1),
                sent: VecDeque::new(),
                refused_until: None,
                lease: (0, 0),
            })
        };
        RateLimiter {
            window,
            gets: class(limit.gets_per_min),
            writes: class(limit.writes_per_min),
            shared: OnceLock::new(),
        }
    }

    /// Counts this limiter's requests in `budget` too, and waits when
    /// other processes of the key spent the minute. Set once: false when a
    /// budget was already set.
    pub fn share(&self, budget: Arc<dyn SharedBudget>) -> bool {
        self.shared.set(budget).is_ok()
    }

    fn class(&self, write: bool) -> std::sync::MutexGuard<'_, Class> {
        if write { &self.writes } else { &self.gets }
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The service refused a request of this class for its limits: no
    /// request of the class leaves for `wait` (the answer's `Retry-After`,
    /// else [`until_next_minute`]). Requests already waiting in
    /// [`RateLimiter::acquire`] wait too, instead of each being refused in
    /// turn: the limits may have been spent before this client started (by
    /// an earlier run of the same key, or another client of it).
    pub fn refused(&self, write: bool, wait: Duration) {
        let until = Instant::now() + wait;
        let mut c = self.class(write);
        c.refused_until = Some(c.refused_until.map_or(until, |u| u.max(until)));
    }

    /// Waits until one more request of this class fits in the window (and,
    /// with a [`SharedBudget`], in the key's clock minute).
    pub async fn acquire(&self, write: bool) {
        loop {
            let (wait, limit) = {
                let mut g = self.class(write);
                let now = Instant::now();
                let c = &mut *g;
                while c
                    .sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    c.sent.pop_front();
                }
                let wait = match c.refused_until {
                    Some(u) if u > now => Err(u - now),
                    _ if (c.sent.len() as u32) < c.limit => {
                        c.refused_until = None;
                        c.sent.push_back(now);
                        Ok(now)
                    }
                    _ => Err(c
                        .sent
                        .front()
                        .map(|t| self.window.saturating_sub(now.duration_since(*t)))
                        .unwrap_or_default()),
                };
                (wait, c.limit)
            };
            let sent = match wait {
                Ok(sent) => sent,
                Err(d) => {
                    tokio::time::sleep(d.max(Duration::from_millis(1))).await;
                    continue;
                }
            };
            let Some(shared) = self.shared.get() else {
                return;
            };
            let clock = SystemTime::now();
            let minute = clock
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() / 60)
                .unwrap_or(0);
            {
                let mut c = self.class(write);
                if c.lease.0 == minute && c.lease.1 > 0 {
                    c.lease.1 -= 1;
                    return;
                }
            }
            match shared.take(write, minute, limit, shared_take(limit)).await {
                Ok(n) if n > 0 => {
                    let mut c = self.class(write);
                    let left = if c.lease.0 == minute { c.lease.1 } else { 0 };
                    c.lease = (minute, left + n - 1);
                    return;
                }
                Ok(_) => {
                    // Spent by other processes of the key: this request did
                    // not leave, and none of its class does this minute.
                    {
                        let mut c = self.class(write);
                        if let Some(i) = c.sent.iter().rposition(|t| *t == sent) {
                            c.sent.remove(i);
                        }
                    }
                    tracing::debug!(
                        write,
                        "the key's requests for this minute were spent by another process; waiting for the next minute"
                    );
                    self.refused(write, until_next_minute(clock));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the shared request budget could not be read; pacing by this process's count alone");
                    return;
                }
            }
        }
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

    #[tokio::test]
    async fn a_refusal_holds_its_class_only_until_it_ends() {
        let l = RateLimiter::with_window(
            RateLimit {
                gets_per_min: 100,
                writes_per_min: 100,
            },
            Duration::from_secs(60),
        );
        let start = Instant::now();
        l.refused(true, Duration::from_millis(300));
        // A shorter refusal later does not shorten the first.
        l.refused(true, Duration::from_millis(10));
        l.acquire(false).await;
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "GETs are not held"
        );
        l.acquire(true).await;
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );
        let again = Instant::now();
        l.acquire(true).await;
        assert!(
            again.elapsed() < Duration::from_millis(100),
            "the refusal is over"
        );
    }

    #[test]
    fn a_refusal_without_retry_after_lasts_to_the_next_clock_minute() {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        let m = WINDOW_MARGIN.as_millis() as u64;
        for (now_ms, wait_ms) in [
            (1_800_000_000_000, 60_000 + m), // on the minute: a whole minute
            (1_800_000_000_001, 59_999 + m), // just after it
            (1_800_000_059_999, 1 + m),      // just before the next one
            (1_800_000_030_000, 30_000 + m), // half way
        ] {
            assert_eq!(
                until_next_minute(at(now_ms)),
                Duration::from_millis(wait_ms),
                "{now_ms}"
            );
        }
    }

    #[test]
    fn the_shared_budget_is_taken_one_at_a_time_at_the_documented_limits() {
        for (limit, want) in [
            (1, 1),
            (30, 1),
            (60, 1),
            (119, 1),
            (120, 2),
            (600, 10),
            (10_000_000, 166_666),
        ] {
            assert_eq!(shared_take(limit), want, "{limit}");
        }
    }

    #[test]
    fn the_minute_window_outlasts_a_clock_minute() {
        let l = RateLimiter::new(RateLimit::default());
        assert_eq!(l.window, Duration::from_millis(60_500));
    }
}
