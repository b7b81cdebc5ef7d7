//! Pacing: the Cloud Office request limits a client holds, and the retry
//! policy for transient failures.

use std::collections::VecDeque;
use std::sync::Mutex;
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

/// A sliding-window limiter: at most `limit` acquisitions in any `window`,
/// and none while the service's last refusal holds.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    gets: Mutex<Class>,
    writes: Mutex<Class>,
}

/// One class of requests (GETs or writes): its limit, when its recent
/// requests left, and until when the service refuses it.
#[derive(Debug)]
struct Class {
    limit: u32,
    sent: VecDeque<Instant>,
    refused_until: Option<Instant>,
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
            })
        };
        RateLimiter {
            window,
            gets: class(limit.gets_per_min),
            writes: class(limit.writes_per_min),
        }
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

    /// Waits until one more request of this class fits in the window.
    pub async fn acquire(&self, write: bool) {
        loop {
            let wait = {
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
                match c.refused_until {
                    Some(u) if u > now => Some(u - now),
                    _ if (c.sent.len() as u32) < c.limit => {
                        c.refused_until = None;
                        c.sent.push_back(now);
                        None
                    }
                    _ => c
                        .sent
                        .front()
                        .map(|t| self.window.saturating_sub(now.duration_since(*t))),
                }
            };
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d.max(Duration::from_millis(1))).await,
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
    fn the_minute_window_outlasts_a_clock_minute() {
        let l = RateLimiter::new(RateLimit::default());
        assert_eq!(l.window, Duration::from_millis(60_500));
    }
}
