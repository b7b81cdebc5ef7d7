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
//! have closed it) is pinged before use, as the pool does. One that sat
//! idle for [`IDLE_CLOSE`] is closed by a background task
//! ([`HeldConns::spawn_reaper`]), as sqlx's pool closes its own idle
//! connections: an instance that was busy once does not keep its peak
//! number of sessions open for good (on PostgreSQL, every instance's
//! sessions count against the server's `max_connections`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection};

use crate::db::{internal, sqlite_setup, Synchronous, IDLE_BEFORE_TEST};
use crate::error::Result;

/// How long a held connection may sit idle before it is closed: sqlx's
/// pool default, so both kinds of connection age out alike.
pub(crate) const IDLE_CLOSE: Duration = Duration::from_secs(600);

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
    /// Connections not in use, with when each was given back: the oldest
    /// first (given back at the end, taken from the end).
    idle: std::sync::Mutex<Vec<(AnyConnection, Instant)>>,
    permits: tokio::sync::Semaphore,
    opts: AnyConnectOptions,
    setup: Setup,
    /// Idle longer than this, a connection is closed ([`IDLE_CLOSE`]).
    idle_close: Duration,
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
            idle_close: IDLE_CLOSE,
        }
    }

    /// The same with another idle timeout (tests).
    #[cfg(test)]
    fn with_idle_close(mut self, idle_close: Duration) -> HeldConns {
        self.idle_close = idle_close;
        self
    }

    /// Takes out the idle connections unused for the idle timeout.
    fn expired(&self) -> Vec<AnyConnection> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = idle
            .iter()
            .take_while(|(_, since)| since.elapsed() >= self.idle_close)
            .count();
        idle.drain(..n).map(|(c, _)| c).collect()
    }

    /// How many connections are idle now.
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Starts the task that closes the connections idle for the idle
    /// timeout, checking four times per timeout (at most once a minute,
    /// at least every 10 ms). It ends when the connections are closed
    /// ([`HeldConns::close`]) or dropped. Needs a Tokio runtime.
    pub(crate) fn spawn_reaper(this: &Arc<HeldConns>) {
        let every = (this.idle_close / 4).clamp(Duration::from_millis(10), Duration::from_secs(60));
        let weak = Arc::downgrade(this);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(held) = weak.upgrade() else { return };
                if held.permits.is_closed() {
                    return;
                }
                let old = held.expired();
                drop(held);
                for c in old {
                    // A clean goodbye (PostgreSQL's Terminate); a failure
                    // leaves nothing to do, the socket is closed anyway.
                    let _ = c.close().await;
                }
            }
        });
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

    /// Three connections in use at once, then given back: the idle ones.
    async fn three_idle(held: &HeldConns) {
        let (a, b, c) = tokio::join!(held.take(), held.take(), held.take());
        let mut all = vec![a.unwrap(), b.unwrap(), c.unwrap()];
        for h in &mut all {
            let r = sqlx::query("SELECT 1").execute(&mut **h).await;
            h.settled(&r);
            r.unwrap();
        }
        drop(all);
        assert_eq!(held.idle_count(), 3);
    }

    /// Only the connections idle for the timeout are taken out, oldest
    /// first; one given back since stays.
    #[tokio::test]
    async fn only_connections_idle_for_the_timeout_expire() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "{}?mode=rwc",
            crate::service::sqlite_url(&dir.path().join("held.db"))
        );
        sqlx::any::install_default_drivers();
        let opts: AnyConnectOptions = url.parse().unwrap();
        let held = HeldConns::new(opts, Setup::Sqlite(Synchronous::Normal), 4)
            .with_idle_close(Duration::from_millis(300));
        three_idle(&held).await;
        assert!(held.expired().is_empty(), "nothing is idle for 300 ms yet");
        tokio::time::sleep(Duration::from_millis(350)).await;
        // One used again just now: given back last, it stays.
        drop(held.take().await.unwrap());
        let old = held.expired();
        assert_eq!(old.len(), 2, "the two idle for the timeout expire");
        assert_eq!(held.idle_count(), 1);
        for c in old {
            c.close().await.unwrap();
        }
        // A take after that opens what it needs.
        three_idle(&held).await;
    }

    /// The sessions of this database other than the asking one.
    async fn sessions(watch: &mut AnyConnection) -> i64 {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(watch)
        .await
        .unwrap();
        sqlx::Row::get::<i64, _>(&row, "n")
    }

    /// On PostgreSQL, the server sees the idle sessions end: the reaper
    /// closes them, and a later take opens a new one.
    #[tokio::test]
    async fn the_reaper_closes_idle_postgres_sessions() {
        let Some(url) = testkit::officed::create_postgres_database("officed_reaper") else {
            return;
        };
        sqlx::any::install_default_drivers();
        let opts: AnyConnectOptions = url.parse().unwrap();
        let held = Arc::new(
            HeldConns::new(opts, Setup::Postgres, 4).with_idle_close(Duration::from_millis(400)),
        );
        HeldConns::spawn_reaper(&held);
        let mut watch = AnyConnection::connect(&url).await.unwrap();
        three_idle(&held).await;
        assert_eq!(sessions(&mut watch).await, 3);
        let deadline = Instant::now() + Duration::from_secs(10);
        while sessions(&mut watch).await > 0 {
            assert!(
                Instant::now() < deadline,
                "idle sessions still open 10 s after the 400 ms timeout"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(held.idle_count(), 0);
        let mut h = held.take().await.unwrap();
        let r = sqlx::query("SELECT 1").execute(&mut *h).await;
        h.settled(&r);
        r.unwrap();
        drop(h);
        held.close();
        watch.close().await.unwrap();
        testkit::officed::drop_postgres_database(&url);
    }
}
