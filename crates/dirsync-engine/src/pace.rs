//! The API client's request budget shared through the state store
//! (migration 0007): every process on the same state store (the service,
//! a manual `dirsync sync`, the next scheduled run in a new process) counts
//! its requests of the current clock minute in one row per endpoint,
//! customer and class, so none starts a minute another one spent.
//!
//! Why a connection of its own: the store commits with
//! `synchronous=FULL` (an fsync per commit); a count taken per request
//! needs no such durability (a crash loses at most a minute's count), so
//! this pool commits with `synchronous=NORMAL`, which in WAL mode does not
//! sync on commit and never leaves the file inconsistent.

use std::path::Path;
use std::time::Duration;

use cloudoffice_api::client::{BudgetFuture, SharedBudget};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::store::StoreError;

/// The shared budget of one endpoint and customer, in the state store.
pub(crate) struct StoreBudget {
    pool: SqlitePool,
    /// The endpoint's host and the customer.
    scope: String,
}

impl StoreBudget {
    /// Opens the budget of `scope` on the (migrated) state store at `path`.
    pub(crate) async fn open(path: &Path, scope: String) -> Result<StoreBudget, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: e,
            })?;
        Ok(StoreBudget { pool, scope })
    }

    /// Up to `want` requests taken in `minute`, as many as are left of
    /// `limit`: one statement, so SQLite's write lock makes it atomic
    /// across processes (the row's old values are those of the whole
    /// `SET`; `granted` returns what this take got).
    async fn take_some(
        &self,
        write: bool,
        minute: u64,
        limit: u32,
        want: u32,
    ) -> Result<u32, sqlx::Error> {
        let granted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO pace (scope, class, minute, sent, granted) \
               VALUES (?1, ?2, ?3, MIN(?4, ?5), MIN(?4, ?5)) \
             ON CONFLICT (scope, class) DO UPDATE SET \
               sent = (CASE WHEN pace.minute = excluded.minute THEN pace.sent ELSE 0 END) \
                      + MIN(?4, ?5 - (CASE WHEN pace.minute = excluded.minute THEN pace.sent ELSE 0 END)), \
               granted = MIN(?4, ?5 - (CASE WHEN pace.minute = excluded.minute THEN pace.sent ELSE 0 END)), \
               minute = excluded.minute \
             WHERE pace.minute <> excluded.minute OR pace.sent < ?5 \
             RETURNING granted",
        )
        .bind(&self.scope)
        .bind(if write { "write" } else { "get" })
        .bind(minute as i64)
        .bind(i64::from(want.max(1)))
        .bind(i64::from(limit.max(1)))
        .fetch_optional(&self.pool)
        .await?;
        Ok(granted.map_or(0, |g| g.max(0) as u32))
    }
}

impl SharedBudget for StoreBudget {
    fn take(&self, write: bool, minute: u64, limit: u32, want: u32) -> BudgetFuture<'_> {
        Box::pin(async move {
            self.take_some(write, minute, limit, want)
                .await
                .map_err(|e| format!("state store: {e}"))
        })
    }
}

/// The scope of a budget: the endpoint's host (and port) and the
/// customer, so two endpoints or two customers never share a count.
pub(crate) fn scope_of(base_url: &str, customer: &str) -> String {
    let host = url::Url::parse(base_url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
        })
        .unwrap_or_else(|| base_url.to_string());
    format!("{host} {customer}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn scopes_differ_by_host_port_and_customer() {
        let cases = [
            (
                "https://api.emailsrvr.com/v1",
                "42",
                "api.emailsrvr.com:443 42",
            ),
            (
                "https://API.emailsrvr.com/v1/",
                "42",
                "api.emailsrvr.com:443 42",
            ),
            ("http://127.0.0.1:8080/v1", "42", "127.0.0.1:8080 42"),
            ("http://127.0.0.1:8081/v1", "42", "127.0.0.1:8081 42"),
            ("http://127.0.0.1:8080/v1", "7", "127.0.0.1:8080 7"),
            ("not a url", "7", "not a url 7"),
        ];
        for (url, customer, want) in cases {
            assert_eq!(scope_of(url, customer), want, "{url}");
        }
    }

    /// Two budgets on one state store (two processes) taking at once: the
    /// minute's limit holds across both, classes and scopes count apart,
    /// and a new minute starts again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_never_both_take_the_last_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(Store::open(&path).await.unwrap());
        let a = StoreBudget::open(&path, "h:443 1".into()).await.unwrap();
        let b = StoreBudget::open(&path, "h:443 1".into()).await.unwrap();
        let other = StoreBudget::open(&path, "h:443 2".into()).await.unwrap();
        let minute = 29_000_000;
        // Twenty takes from each process at once, against a limit of 15.
        let takes = |budget: &'static StoreBudget| {
            futures::future::join_all((0..20).map(move |_| budget.take(true, minute, 15, 1)))
        };
        let (a, b) = (Box::leak(Box::new(a)), Box::leak(Box::new(b)));
        let (ta, tb) = tokio::join!(tokio::spawn(takes(a)), tokio::spawn(takes(b)));
        let (ta, tb) = (ta.unwrap(), tb.unwrap());
        let taken: u32 = ta.iter().chain(&tb).map(|t| *t.as_ref().unwrap()).sum();
        assert_eq!(taken, 15, "a {ta:?} b {tb:?}");
        assert_eq!(a.take(true, minute, 15, 1).await.unwrap(), 0, "spent");
        // GETs and another customer are counted apart.
        assert_eq!(a.take(false, minute, 15, 1).await.unwrap(), 1);
        assert_eq!(other.take(true, minute, 15, 1).await.unwrap(), 1);
        // The next minute starts again, and holds its own limit.
        assert_eq!(b.take(true, minute + 1, 1, 1).await.unwrap(), 1);
        assert_eq!(a.take(true, minute + 1, 1, 1).await.unwrap(), 0);
    }

    /// Several at once: as many as are left, never more than the limit.
    #[tokio::test]
    async fn a_take_of_several_gets_what_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(Store::open(&path).await.unwrap());
        let a = StoreBudget::open(&path, "h:443 1".into()).await.unwrap();
        let minute = 29_000_000;
        // (want, limit, granted): the limit 25 of one minute, then a new one.
        let cases = [
            (minute, 10, 25, 10),
            (minute, 10, 25, 10),
            (minute, 10, 25, 5),
            (minute, 10, 25, 0),
            (minute, 0, 25, 0),
            (minute + 1, 30, 25, 25),
            (minute + 2, 0, 25, 1),
        ];
        for (i, (m, want, limit, granted)) in cases.into_iter().enumerate() {
            assert_eq!(
                a.take(true, m, limit, want).await.unwrap(),
                granted,
                "case {i}"
            );
        }
    }
}
