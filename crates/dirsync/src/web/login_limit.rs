//! The web UI's global login failure limit.
//!
//! The half-second delay after a wrong password slows one guesser only:
//! parallel requests each wait their own half second (50 at once made 98
//! guesses a second). This limit counts every login attempt of the whole
//! UI, whoever sends it: more than [`MAX_FAILURES`] wrong passwords within
//! [`WINDOW`] lock the login for [`LOCKOUT`], during which every attempt,
//! right or wrong, is refused. An attempt is counted before its password
//! is checked, so parallel requests cannot slip past the limit together.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Wrong passwords allowed within [`WINDOW`] before the lockout.
pub const MAX_FAILURES: usize = 10;
/// The rolling window the failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long the login stays locked.
pub const LOCKOUT: Duration = Duration::from_secs(300);

/// Attempts and lockout state, shared by every login request.
#[derive(Debug, Default)]
pub struct LoginLimit {
    /// Failed (or in-flight) attempts within the window, oldest first.
    attempts: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// What [`LoginLimit::attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Check the password; report the outcome with `succeeded`/`failed`.
    Check,
    /// Refused: the login is locked for this long yet.
    Locked(Duration),
    /// Refused, and this attempt started the lockout (log it once).
    LockedNow(Duration),
}

impl LoginLimit {
    /// Counts an attempt at `now` and says whether its password may be checked.
    pub fn attempt(&mut self, now: Instant) -> Admit {
        if let Some(until) = self.locked_until {
            if now < until {
                return Admit::Locked(until - now);
            }
            self.locked_until = None;
            self.attempts.clear();
        }
        while self
            .attempts
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            self.attempts.pop_front();
        }
        if self.attempts.len() >= MAX_FAILURES {
            self.locked_until = Some(now + LOCKOUT);
            self.attempts.clear();
            return Admit::LockedNow(LOCKOUT);
        }
        self.attempts.push_back(now);
        Admit::Check
    }

    /// The password was right: the attempt counted by `attempt` is withdrawn.
    pub fn succeeded(&mut self) {
        self.attempts.pop_back();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_the_login_for_everyone_then_it_reopens() {
        let t0 = Instant::now();
        let mut l = LoginLimit::default();
        for i in 0..MAX_FAILURES {
            assert_eq!(
                l.attempt(t0 + Duration::from_millis(i as u64)),
                Admit::Check
            );
        }
        // The next attempt, right password or not, is refused and starts the lockout.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(l.attempt(t1), Admit::LockedNow(LOCKOUT));
        assert_eq!(
            l.attempt(t1 + Duration::from_secs(100)),
            Admit::Locked(LOCKOUT - Duration::from_secs(100))
        );
        // After the lockout, attempts are checked again.
        assert_eq!(l.attempt(t1 + LOCKOUT), Admit::Check);
    }

    #[test]
    fn failures_older_than_the_window_and_successes_do_not_count() {
        let t0 = Instant::now();
        let mut l = LoginLimit::default();
        for i in 0..MAX_FAILURES {
            assert_eq!(l.attempt(t0 + Duration::from_secs(i as u64)), Admit::Check);
        }
        // One window later the oldest failures have expired.
        assert_eq!(
            l.attempt(t0 + WINDOW + Duration::from_secs(1)),
            Admit::Check
        );
        // Right passwords are not failures.
        let mut ok = LoginLimit::default();
        for _ in 0..3 * MAX_FAILURES {
            assert_eq!(ok.attempt(t0), Admit::Check);
            ok.succeeded();
        }
    }
}
