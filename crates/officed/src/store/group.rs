//! Group commit of the API's writes on SQLite: the writes of concurrent
//! requests share one transaction, each in its own savepoint, so that one
//! commit (its WAL frames, and the checkpoints they lead to) serves a whole
//! batch.
//!
//! Why: on SQLite every statement is a hand-off to sqlx's database thread
//! and every commit appends each page the transaction changed to the WAL.
//! Concurrent requests queue for the one writer connection anyway; while
//! they queue, the transaction is left open for them instead of being
//! committed per request.
//!
//! How, per request (`write_in_domain` drives it):
//! 1. [`GroupWriter::enter`] takes the connection (a fair FIFO lock) and
//!    first undoes whatever an earlier write left unfinished.
//! 2. The first write of a batch opens the transaction (`BEGIN IMMEDIATE`:
//!    the database's write lock, so reads and writes see one state); each
//!    later one opens the savepoint `officed_write`. [`Slot::opening`] is
//!    that statement, sent with the write's first statement (the domain
//!    lock) in one hand-off.
//! 3. The write's work. When it fails (or its future is dropped), the
//!    [`Slot`]'s drop marks its work to undo: `ROLLBACK TO` its savepoint,
//!    or a `ROLLBACK` of the whole transaction when it opened it (nothing
//!    else is in it then). The next holder of the connection (or the
//!    flusher) runs that undo before anything else, so other requests'
//!    work in the batch stays.
//! 4. Done: its savepoint is released ([`Slot::closing`], sent with the
//!    audit log entry), and the request waits for the batch's commit
//!    ([`Slot::finish`]). Its answer is sent only once its work is
//!    committed; if the commit fails, every request of the batch gets a
//!    retryable error and runs its write again.
//!
//! The commit is made by the flusher task, which queues for the connection
//! like a request: behind the requests already waiting, so a batch holds
//! about as many writes as there are concurrent requests (at most
//! [`MAX_BATCH`]; a full batch is committed by the write that filled it).
//! One request at a time costs what it did without batching: `BEGIN`, its
//! statements, `COMMIT`.

use std::sync::Arc;

use sqlx::{AnyConnection, Executor};
use tokio::sync::{oneshot, Mutex, Notify, OwnedMutexGuard};

use crate::error::{Error, Result};

/// The most writes one transaction carries before it is committed.
pub const MAX_BATCH: usize = 32;

/// Opens a batch's transaction, as the first write's opening statement.
const BEGIN: &str = "BEGIN IMMEDIATE; ";
/// Opens a later write's savepoint.
const SAVEPOINT: &str = "SAVEPOINT officed_write; ";
/// Ends a later write's savepoint, keeping its work in the transaction.
const RELEASE: &str = "; RELEASE officed_write";
const UNDO_SAVEPOINT: &str = "ROLLBACK TO officed_write; RELEASE officed_write";

/// What a write that did not finish leaves to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undo {
    /// It opened the transaction: roll the whole transaction back.
    Transaction,
    /// It ran in a savepoint: roll back to it.
    Savepoint,
}

/// The writer connection and the batch in progress.
struct State {
    conn: AnyConnection,
    /// A transaction is open (`BEGIN` was sent).
    open: bool,
    /// The requests whose work is in the open transaction, waiting for
    /// its commit.
    members: Vec<oneshot::Sender<std::result::Result<(), String>>>,
    /// The last holder's unfinished work.
    undo: Option<Undo>,
    /// The flusher has been asked to commit and has not yet done it.
    flush_asked: bool,
    closed: bool,
}

impl State {
    /// Runs a pending undo. When it cannot (the transaction is already
    /// gone, say after an I/O error), the whole batch is rolled back and
    /// its requests told to run again.
    async fn settle(&mut self) {
        let Some(undo) = self.undo.take() else {
            return;
        };
        let done = match undo {
            Undo::Transaction => self.conn.execute("ROLLBACK").await.map(|_| ()),
            Undo::Savepoint => self.conn.execute(UNDO_SAVEPOINT).await.map(|_| ()),
        };
        match (undo, done) {
            (Undo::Savepoint, Ok(())) => {}
            (Undo::Transaction, _) => {
                // Nothing but the unfinished write was in the transaction
                // (or BEGIN itself never ran: then ROLLBACK fails harmlessly).
                self.open = false;
            }
            (Undo::Savepoint, Err(e)) => {
                tracing::warn!(error = %e, "could not undo one write of a batch: the batch runs again");
                self.abort(format!("the batch's undo failed: {e}")).await;
            }
        }
    }

    /// Commits the open transaction and tells its requests.
    async fn commit(&mut self) {
        if !self.open {
            return;
        }
        let result = self.conn.execute("COMMIT").await;
        match result {
            Ok(_) => {
                self.open = false;
                for m in self.members.drain(..) {
                    let _ = m.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a batch's commit failed: its writes run again");
                self.abort(format!("the batch's commit failed: {e}")).await;
            }
        }
    }

    /// Rolls the open transaction back and tells its requests to run again.
    async fn abort(&mut self, why: String) {
        let _ = self.conn.execute("ROLLBACK").await;
        self.open = false;
        for m in self.members.drain(..) {
            let _ = m.send(Err(why.clone()));
        }
    }
}

/// The SQLite writer connection, shared by the API's writes through group
/// commit (see the module's documentation).
pub struct GroupWriter {
    state: Arc<Mutex<State>>,
    flush: Arc<Notify>,
}

impl std::fmt::Debug for GroupWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupWriter")
    }
}

impl GroupWriter {
    /// Takes `conn` (set up as the writer: WAL, pragmas) and starts its
    /// flusher task.
    pub fn new(conn: AnyConnection) -> GroupWriter {
        let state = Arc::new(Mutex::new(State {
            conn,
            open: false,
            members: Vec::new(),
            undo: None,
            flush_asked: false,
            closed: false,
        }));
        let flush = Arc::new(Notify::new());
        tokio::spawn(flusher(Arc::downgrade(&state), flush.clone()));
        GroupWriter { state, flush }
    }

    /// Takes the connection for one write: see [`Slot`].
    pub(crate) async fn enter(&self) -> Result<Slot> {
        let mut guard = self.state.clone().lock_owned().await;
        guard.settle().await;
        if guard.closed {
            return Err(Error::Internal("the database is closed".into()));
        }
        let first = !guard.open;
        // Marked before the opening statement runs: if that statement fails
        // or is dropped, the slot's undo covers whatever part of it ran.
        guard.open = true;
        Ok(Slot {
            guard: Some(guard),
            first,
            flush: self.flush.clone(),
        })
    }

    /// Commits any open batch and closes the connection.
    pub async fn close(&self) {
        let mut guard = self.state.lock().await;
        guard.settle().await;
        guard.commit().await;
        guard.closed = true;
        self.flush.notify_one();
    }
}

/// The flusher: commits the open batch when asked, after the requests
/// already queued for the connection have added their writes to it. Ends
/// when the writer is closed or dropped.
async fn flusher(state: std::sync::Weak<Mutex<State>>, flush: Arc<Notify>) {
    loop {
        flush.notified().await;
        let Some(state) = state.upgrade() else { return };
        let mut guard = state.lock().await;
        guard.flush_asked = false;
        guard.settle().await;
        guard.commit().await;
        if guard.closed {
            return;
        }
    }
}

/// One write's hold on the writer connection, inside the batch's
/// transaction. Dereferences to the connection. Dropped unfinished (the
/// write failed, or its request went away), its work is undone before the
/// connection's next use.
pub(crate) struct Slot {
    guard: Option<OwnedMutexGuard<State>>,
    first: bool,
    flush: Arc<Notify>,
}

impl Slot {
    /// The statement that opens this write (a transaction or a savepoint),
    /// to send ahead of its first statement in the same hand-off.
    pub(crate) fn opening(&self) -> &'static str {
        if self.first {
            BEGIN
        } else {
            SAVEPOINT
        }
    }

    /// The statement that closes this write (none when it opened the
    /// transaction), to send after its last statement in the same
    /// hand-off.
    pub(crate) fn closing(&self) -> &'static str {
        if self.first {
            ""
        } else {
            RELEASE
        }
    }

    fn state(&mut self) -> &mut State {
        self.guard.as_mut().expect("a slot holds the connection")
    }

    /// Ends the write with its work kept (its closing statement already
    /// ran): waits until the batch is committed. `Err` (retryable) when the
    /// batch's commit failed and the write must run again.
    pub(crate) async fn finish(mut self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let mut guard = self.guard.take().expect("a slot holds the connection");
        guard.members.push(tx);
        if guard.members.len() >= MAX_BATCH {
            guard.commit().await;
        } else if !guard.flush_asked {
            guard.flush_asked = true;
            self.flush.notify_one();
        }
        drop(guard);
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(Error::BatchAborted(why)),
            Err(_) => Err(Error::BatchAborted("the writer was dropped".into())),
        }
    }
}

impl std::ops::Deref for Slot {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self
            .guard
            .as_ref()
            .expect("a slot holds the connection")
            .conn
    }
}

impl std::ops::DerefMut for Slot {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.state().conn
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let first = self.first;
        if let Some(mut guard) = self.guard.take() {
            guard.undo = Some(if first {
                Undo::Transaction
            } else {
                Undo::Savepoint
            });
            // The flusher runs the undo (and commits the rest of the
            // batch) if no request comes first.
            if !guard.flush_asked {
                guard.flush_asked = true;
                self.flush.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    async fn keys(db: &Db) -> Vec<String> {
        sqlx::query_scalar::<_, String>("SELECT k FROM t ORDER BY k")
            .fetch_all(&db.pool)
            .await
            .unwrap()
    }

    async fn run(slot: &mut Slot, sql: &str) -> std::result::Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&mut **slot).await.map(|_| ())
    }

    /// A write that fails inside a batch is undone alone, and one that
    /// fails after opening a batch takes nothing else with it; the
    /// successful writes are committed and told so.
    #[tokio::test]
    async fn a_failed_write_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::service::sqlite_url(&dir.path().join("t.db"));
        let db = Db::open(&url).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .execute(&db.pool)
            .await
            .unwrap();
        let g = db.group.clone().unwrap();

        // `a` opens a batch, then waits for its commit in another task.
        let mut a = g.enter().await.unwrap();
        assert_eq!(a.opening(), BEGIN);
        let sql = format!("{}INSERT INTO t VALUES ('a')", a.opening());
        run(&mut a, &sql).await.unwrap();
        let a_done = tokio::spawn(a.finish());
        // `b` queued for the connection before the commit: same batch, in
        // a savepoint. It sees `a`'s row (its insert of `a` is refused)
        // after inserting `b`, and fails.
        let mut b = g.enter().await.unwrap();
        assert_eq!(b.opening(), SAVEPOINT, "b joins a's batch");
        let sql = format!("{}INSERT INTO t VALUES ('b')", b.opening());
        run(&mut b, &sql).await.unwrap();
        assert!(run(&mut b, "INSERT INTO t VALUES ('a')").await.is_err());
        drop(b);
        a_done.await.unwrap().unwrap();
        assert_eq!(keys(&db).await, ["a"], "b undone, a committed");

        // A write that opened its batch and fails rolls back only itself.
        let mut c = g.enter().await.unwrap();
        let sql = format!("{}INSERT INTO t VALUES ('c')", c.opening());
        run(&mut c, &sql).await.unwrap();
        drop(c);
        let mut d = g.enter().await.unwrap();
        let sql = format!("{}INSERT INTO t VALUES ('d')", d.opening());
        run(&mut d, &sql).await.unwrap();
        let closing = d.closing().trim_start_matches("; ");
        if !closing.is_empty() {
            run(&mut d, closing).await.unwrap();
        }
        d.finish().await.unwrap();
        assert_eq!(keys(&db).await, ["a", "d"]);
        db.close().await;
    }
}
