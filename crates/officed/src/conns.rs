//! Database connections held outside sqlx's pool, for the statements every
//! API request makes (its key, its domain) and, on PostgreSQL, the API's
//! one-statement writes (`store::pg_writes`).
//!
//! Why not the pool: sqlx tests (pings) every connection going back to its
//! pool. On SQLite that is one more hand-off to the connection's database
//! thread, on PostgreSQL one more round trip to the server: with two or
//! three short statements per request, it doubled their cost.
//!
//! What the ping guarded against is handled here instead: a SQLite
//! connection to a local file does not go stale and is always given back.
//! A PostgreSQL connection is given back only when its last statement was
//! answered ([`Held::settled`]: a result, or the server's error); one
//! whose statement was cut short (the request went away mid-statement, or
//! the socket failed) is closed, so no half-read answer reaches the next
//! user. One that sat idle for [`IDLE_BEFORE_TEST`] (a server restart may
//! have closed it) is pinged before use, as the pool does.

use std::time::Instant;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection};

use crate::db::{internal, sqlite_setup, Synchronous, IDLE_BEFORE_TEST};
use crate::error::Result;

/// How a new connection is set up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Setup {
    /// SQLite's pragmas (WAL, busy timeout, ...), with this durability.
    Sqlite(Synchronous),
    /// Nothing beyond connecting.
    Postgres,
}

/// A bounded set of connections held outside sqlx's pool.
pub(crate) struct HeldConns {
    /// Connections not in use, with when each was given back.
    idle: std::sync::Mutex<Vec<(AnyConnection, Instant)>>,
    permits: tokio::sync::Semaphore,
    opts: AnyConnectOptions,
    setup: Setup,
}

impl std::fmt::Debug for HeldConns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeldConns")
    }
}

impl HeldConns {
    /// At most `size` connections, opened when first needed.
    pub(crate) fn new(opts: AnyConnectOptions, setup: Setup, size: usize) -> HeldConns {
        HeldConns {
            idle: std::sync::Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(size),
            opts,
            setup,
        }
    }

    /// A connection: an idle one (tested first when idle long), else a new
    /// one. Waits while all are in use.
    pub(crate) async fn take(&self) -> Result<Held<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| internal("the database is closed"))?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut conn = None;
        if let Some((mut c, since)) = idle {
            let fresh =
                matches!(self.setup, Setup::Sqlite(_)) || since.elapsed() < IDLE_BEFORE_TEST;
            if fresh || c.ping().await.is_ok() {
                conn = Some(c);
            }
        }
        let conn = match conn {
            Some(c) => c,
            None => {
                let mut c = AnyConnection::connect_with(&self.opts).await?;
                if let Setup::Sqlite(sync) = self.setup {
                    sqlite_setup(&mut c, false, sync).await?;
                }
                c
            }
        };
        Ok(Held {
            conn: Some(conn),
            reusable: matches!(self.setup, Setup::Sqlite(_)),
            owner: self,
            _permit: permit,
        })
    }

    /// Closes the idle connections and refuses new takes.
    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// A connection of [`HeldConns`], given back when dropped if it can be
/// reused. Dereferences to the connection.
pub(crate) struct Held<'a> {
    conn: Option<AnyConnection>,
    /// Whether the connection is known to be between statements.
    reusable: bool,
    owner: &'a HeldConns,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Held<'_> {
    /// Records how the statement just run on the connection ended: given a
    /// result or a database error (the server answered in full), the
    /// connection may serve the next request; any other error (I/O, the
    /// protocol) leaves it to be closed. On SQLite it is always reused.
    pub(crate) fn settled<T>(&mut self, result: &sqlx::Result<T>) {
        if matches!(self.owner.setup, Setup::Postgres) {
            self.reusable = reusable_after(result);
        }
    }
}

/// Whether a PostgreSQL connection is between statements after `result`.
fn reusable_after<T>(result: &sqlx::Result<T>) -> bool {
    matches!(
        result,
        Ok(_) | Err(sqlx::Error::Database(_) | sqlx::Error::RowNotFound)
    )
}

impl std::ops::Deref for Held<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn.as_ref().expect("a held connection")
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("a held connection")
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let Some(c) = self.conn.take() else { return };
        if self.reusable && !self.owner.permits.is_closed() {
            self.owner
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((c, Instant::now()));
        }
        // Otherwise the connection is dropped: sqlx closes its socket.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a statement the server answered in full leaves a PostgreSQL
    /// connection reusable.
    #[test]
    fn reusable_only_after_a_full_answer() {
        let io = || sqlx::Error::Io(std::io::Error::other("reset"));
        let cases: Vec<(sqlx::Result<()>, bool)> = vec![
            (Ok(()), true),
            (Err(sqlx::Error::RowNotFound), true),
            (Err(io()), false),
            (Err(sqlx::Error::Protocol("bad".into())), false),
            (Err(sqlx::Error::PoolClosed), false),
        ];
        for (r, want) in cases {
            assert_eq!(reusable_after(&r), want, "{r:?}");
        }
    }
}
