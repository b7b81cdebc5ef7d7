//! Shared test fixtures: start real binaries and services and wait on their
//! health checks. Under `CI=true` a fixture whose service is missing panics
//! (the test fails); elsewhere it reports the skip and returns `None`.

pub mod chrome;
pub mod officed;
pub mod postgres;
pub mod samba;

/// True when running under CI, where a missing service is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Reads a required service variable (set by `scripts/test`).
///
/// Returns `None` (and prints why) when it is missing outside CI; panics when
/// it is missing under `CI=true`, so a CI run can never silently skip.
pub fn service_env(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if in_ci() {
                panic!("{what} is required under CI=true but {var} is not set; run the tests through scripts/test");
            }
            eprintln!("skipping: {what} not available ({var} is not set; scripts/test sets it)");
            None
        }
    }
}
