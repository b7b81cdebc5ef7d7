//! A hook that times each HTTP attempt, so that a caller can export API
//! latency (dirsync's `/metrics`) without this crate depending on a metrics
//! library.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// One finished HTTP attempt (a retried request makes several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTiming<'a> {
    /// `GET`, `POST`, `PUT`, `DELETE`, ...
    pub method: &'a str,
    /// The answer's HTTP status; `None` when none came (refused, reset, timed out).
    pub status: Option<u16>,
    /// From sending the request to the end of the answer's body. The wait
    /// for the client-side rate limiter comes before and is not included.
    pub elapsed: Duration,
}

/// Called after every HTTP attempt, on the task that made it: keep it cheap.
pub type RequestObserver = Arc<dyn Fn(&RequestTiming<'_>) + Send + Sync>;

/// The observer of a client, set at most once (see [`ObserverSlot::set`]).
#[derive(Default)]
pub struct ObserverSlot(OnceLock<RequestObserver>);

impl std::fmt::Debug for ObserverSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "ObserverSlot(set)"
        } else {
            "ObserverSlot(empty)"
        })
    }
}

impl ObserverSlot {
    /// Installs `observer` for every later attempt of the client (and of its
    /// clones). Returns false, leaving the first one, if one was set before.
    pub fn set(&self, observer: RequestObserver) -> bool {
        self.0.set(observer).is_ok()
    }

    pub(crate) fn notify(&self, method: &str, status: Option<u16>, sent: Instant) {
        if let Some(o) = self.0.get() {
            o(&RequestTiming {
                method,
                status,
                elapsed: sent.elapsed(),
            });
        }
    }
}
