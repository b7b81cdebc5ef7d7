//! Pacing: the Cloud Office request limits a client holds, and the retry
//! policy for transient failures.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// A sliding-window limiter: at most `limit` acquisitions in any `window`.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    gets: Mutex<(u32, VecDeque<Instant>)>,
    writes: Mutex<(u32, VecDeque<Instant>)>,
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
    fn the_minute_window_outlasts_a_clock_minute() {
        let l = RateLimiter::new(RateLimit::default());
        assert_eq!(l.window, Duration::from_millis(60_500));
    }
}
