//! A plan's operations kept out of memory: written to temporary files as
//! the planner makes them, read back in plan order a batch at a time.
//!
//! Why: a full sync of 100,000 users plans some 360,000 operations, about
//! 1 KB each in memory; held whole beside the desired state and the
//! control panel's state they made the planning the run's peak. Spilled,
//! the run holds one batch of operations at a time (the executor applies
//! a batch, then the next: `Executor::run_part`),
//! and a few facts counted as the operations went by.
//!
//! One anonymous temporary file per phase (the system's temporary
//! directory; removed by the system when closed, also if the process
//! dies): the planner makes each phase's operations in increasing number,
//! so reading the phases in order gives the plan's order, numbered as
//! [`crate::plan::final_numbers`] does.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use dirsync_model::Guid;

use crate::plan::OpSink;
use crate::types::{OpKind, PlanOp};

/// Operations per batch read back.
pub const BATCH: usize = 5_000;

/// A plan's operations being written: the planner's [`OpSink`].
pub struct SpillWriter {
    /// Per phase, its file (created on the phase's first operation).
    files: Vec<Option<BufWriter<File>>>,
    counts: Vec<usize>,
    destructive: usize,
    watch: HashSet<Guid>,
    planned_for: HashSet<Guid>,
    /// The first write error; the writer then drops what follows.
    error: Option<std::io::Error>,
}

impl SpillWriter {
    /// A writer that also notes which of the objects in `watch` have an
    /// operation (for the report's verification: drift that was planned).
    pub fn new(watch: HashSet<Guid>) -> Self {
        SpillWriter {
            files: Vec::new(),
            counts: Vec::new(),
            destructive: 0,
            watch,
            planned_for: HashSet::new(),
            error: None,
        }
    }

    fn write(&mut self, op: &PlanOp) -> std::io::Result<()> {
        let ph = op.phase as usize;
        if self.files.len() <= ph {
            self.files.resize_with(ph + 1, || None);
            self.counts.resize(ph + 1, 0);
        }
        let f = match &mut self.files[ph] {
            Some(f) => f,
            slot => slot.insert(BufWriter::new(tempfile::tempfile()?)),
        };
        serde_json::to_writer(&mut *f, op)?;
        f.write_all(b"\n")?;
        self.counts[ph] += 1;
        Ok(())
    }

    /// The operations written, ready to read back in plan order; an error
    /// when one could not be written.
    pub fn finish(self) -> std::io::Result<SpilledOps> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut files = Vec::new();
        for (f, n) in self.files.into_iter().zip(self.counts) {
            if let Some(f) = f {
                let mut f = f
                    .into_inner()
                    .map_err(std::io::IntoInnerError::into_error)?;
                f.seek(SeekFrom::Start(0))?;
                files.push((f, n));
            }
        }
        let total = files.iter().map(|(_, n)| n).sum();
        Ok(SpilledOps {
            files,
            total,
            destructive: self.destructive,
            planned_for: self.planned_for,
        })
    }
}

impl OpSink for SpillWriter {
    fn op(&mut self, op: PlanOp) {
        if self.error.is_some() {
            return;
        }
        if matches!(op.op, OpKind::Disable | OpKind::Delete) {
            self.destructive += 1;
        }
        if let Some(g) = op.guid.filter(|g| self.watch.contains(g)) {
            self.planned_for.insert(g);
        }
        if let Err(e) = self.write(&op) {
            self.error = Some(e);
        }
    }
}

/// A plan's operations, spilled: read back in plan order.
pub struct SpilledOps {
    /// Per phase that has operations, in phase order: its file and count.
    files: Vec<(File, usize)>,
    total: usize,
    destructive: usize,
    planned_for: HashSet<Guid>,
}

impl SpilledOps {
    /// How many operations the plan has.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many disable or delete (what [`crate::types::Plan::destructive`] counts).
    pub fn destructive(&self) -> usize {
        self.destructive
    }

    /// True when `guid` (one of those the writer watched) has an operation.
    pub fn planned_for(&self, guid: &Guid) -> bool {
        self.planned_for.contains(guid)
    }

    /// The operations in plan order, numbered, `batch` at a time (the
    /// last batch of a phase may be shorter: a batch never spans phases).
    pub fn batches(&self, batch: usize) -> Batches<'_> {
        Batches {
            files: self.files.iter().map(|(f, _)| f).collect(),
            reader: None,
            next: 0,
            batch: batch.max(1),
        }
    }

    /// Every operation, in plan order (a run that keeps them all: a plan
    /// or check, or outcome rows that could not be written).
    pub fn all(&self) -> std::io::Result<Vec<PlanOp>> {
        let mut v = Vec::with_capacity(self.total);
        for b in self.batches(BATCH) {
            v.extend(b?);
        }
        Ok(v)
    }
}

/// The batches of [`SpilledOps::batches`].
pub struct Batches<'a> {
    files: std::collections::VecDeque<&'a File>,
    reader: Option<BufReader<&'a File>>,
    next: u32,
    batch: usize,
}

impl Iterator for Batches<'_> {
    type Item = std::io::Result<Vec<PlanOp>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut out = Vec::new();
        let mut line = String::new();
        while out.len() < self.batch {
            let r = match &mut self.reader {
                Some(r) => r,
                None => {
                    let mut f = self.files.pop_front()?;
                    if let Err(e) = f.seek(SeekFrom::Start(0)) {
                        return Some(Err(e));
                    }
                    self.reader.insert(BufReader::new(f))
                }
            };
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) => {
                    self.reader = None;
                    if !out.is_empty() {
                        break;
                    }
                }
                Ok(_) => match serde_json::from_str::<PlanOp>(&line) {
                    Ok(mut op) => {
                        op.seq = self.next;
                        self.next += 1;
                        out.push(op);
                    }
                    Err(e) => return Some(Err(e.into())),
                },
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{final_numbers, order_ops};
    use crate::types::{Service, TargetKind};
    use dirsync_model::EmailAddress;

    fn op(seq: u32, phase: u8, kind: OpKind, n: u8) -> PlanOp {
        PlanOp {
            seq,
            phase,
            op: kind,
            kind: TargetKind::Mailbox,
            service: Service::Exchange,
            target: EmailAddress::parse(&format!("u{seq}@example.com")).unwrap(),
            guid: Some(Guid::from_ad_bytes(&[n; 16]).unwrap()),
            dn: Some(format!("CN=u{seq},DC=example,DC=com")),
            label: format!("u{seq}"),
            fields: [("displayName".into(), format!("User {seq}"))].into(),
            address: None,
            members: Vec::new(),
            reason: "because".into(),
        }
    }

    /// Table: operations made in any phase order come back as the
    /// in-memory plan orders them, numbered alike, batch by batch, a
    /// batch never spanning two phases; the counts match.
    #[test]
    fn reads_back_in_plan_order() {
        let cases: Vec<(&str, Vec<u8>, usize)> = vec![
            ("empty", vec![], 3),
            ("one phase, batches of 2", vec![1, 1, 1, 1, 1], 2),
            ("phases out of order", vec![8, 1, 4, 1, 3, 8, 0, 4], 3),
            ("batch of one", vec![6, 5, 6, 5], 1),
            ("batch larger than the plan", vec![2, 1, 7], 100),
        ];
        for (name, phases, batch) in cases {
            let made: Vec<PlanOp> = phases
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let k = if *p >= 7 {
                        OpKind::Disable
                    } else {
                        OpKind::Create
                    };
                    op(i as u32, *p, k, i as u8)
                })
                .collect();
            let watch: HashSet<Guid> = [Guid::from_ad_bytes(&[1; 16]).unwrap()].into();
            let mut w = SpillWriter::new(watch);
            for o in made.clone() {
                w.op(o);
            }
            let s = w.finish().unwrap();
            let mut want = made.clone();
            order_ops(&mut want);
            let remap = final_numbers(&phases);
            for (i, o) in made.iter().enumerate() {
                assert_eq!(want[remap[i] as usize].label, o.label, "{name}");
            }
            let mut got = Vec::new();
            for b in s.batches(batch) {
                let b = b.unwrap();
                assert!(!b.is_empty() && b.len() <= batch, "{name}");
                assert!(b.iter().all(|o| o.phase == b[0].phase), "{name}");
                got.extend(b);
            }
            assert_eq!(got, want, "{name}");
            assert_eq!(s.all().unwrap(), want, "{name}: read twice");
            assert_eq!(s.len(), made.len(), "{name}");
            let destructive = made
                .iter()
                .filter(|o| matches!(o.op, OpKind::Disable | OpKind::Delete))
                .count();
            assert_eq!(s.destructive(), destructive, "{name}");
            assert_eq!(
                s.planned_for(&Guid::from_ad_bytes(&[1; 16]).unwrap()),
                made.len() > 1,
                "{name}"
            );
        }
    }
}
