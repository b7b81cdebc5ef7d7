//! Outcome rows written as operations end.
//!
//! Why: a run used to keep every operation's outcome in memory and write
//! them all in one transaction at its end (156,000 rows for a full sync of
//! 50,000 users). The executor now hands each ended operation to an
//! [`OutcomeSink`], which writes a batch of rows in one transaction once
//! [`BATCH`] have ended, and the rest when the apply is over. The run
//! history and the web UI can then show a long run's outcomes while it
//! runs, and what a run holds is bounded by the batch: the returned report
//! keeps only the operations that did not end done
//! ([`crate::RunReport::operations_stored`]).

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Mutex;

use crate::history::{insert_rows, OutcomeRow};
use crate::report::OpOutcome;
use crate::store::Store;

/// Outcome rows per transaction.
pub const BATCH: usize = 1_000;

/// Buffers ended operations and writes them as outcome rows of one run,
/// a batch per transaction.
pub struct OutcomeSink<'a> {
    store: &'a Store,
    /// The run the rows belong to; 0 writes nothing (a run not recorded).
    run_id: i64,
    pending: Mutex<Vec<(usize, OpOutcome)>>,
    /// Set when a batch could not be written: the run's end then writes
    /// every operation's row again.
    lost: AtomicBool,
}

impl<'a> OutcomeSink<'a> {
    pub fn new(store: &'a Store, run_id: i64) -> Self {
        OutcomeSink {
            store,
            run_id,
            pending: Mutex::new(Vec::new()),
            lost: AtomicBool::new(false),
        }
    }

    /// Takes the outcome of the operation at position `idx` of the plan;
    /// writes the batch when it is full.
    pub async fn push(&self, idx: usize, o: OpOutcome) {
        if self.run_id == 0 {
            return;
        }
        let full = {
            let mut p = self.pending.lock().await;
            p.push((idx, o));
            if p.len() >= BATCH {
                std::mem::take(&mut *p)
            } else {
                Vec::new()
            }
        };
        self.write(full).await;
    }

    /// Writes what is left.
    pub async fn flush(&self) {
        let rest = std::mem::take(&mut *self.pending.lock().await);
        self.write(rest).await;
    }

    /// True when every row pushed was written.
    pub fn complete(&self) -> bool {
        self.run_id != 0 && !self.lost.load(Ordering::Relaxed)
    }

    async fn write(&self, batch: Vec<(usize, OpOutcome)>) {
        if batch.is_empty() {
            return;
        }
        let rows: Vec<(usize, OutcomeRow<'_>)> =
            batch.iter().map(|(i, o)| (*i, OutcomeRow::Op(o))).collect();
        let r = async {
            let mut tx = self.store.pool.begin().await?;
            insert_rows(&mut tx, self.run_id, &rows).await?;
            tx.commit().await?;
            Ok::<(), crate::store::StoreError>(())
        }
        .await;
        if let Err(e) = r {
            self.lost.store(true, Ordering::Relaxed);
            tracing::warn!(error = %e, run = self.run_id, "could not write a batch of outcome rows; they are written again when the run ends");
        }
    }
}
