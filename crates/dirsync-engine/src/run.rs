//! One run, step by step: the directory, the guard, the desired state,
//! the control panel and the plan, the safety limits, the apply and the
//! commit. [`crate::engine`] owns the engine and what surrounds a run.
//!
//! Memory: the directory snapshot is the largest structure of a full run.
//! Once the safety limits' membership is taken from it, a run that writes
//! stages it in the state store ([`Store::stage_replica`]) for its commit,
//! and the mapping consumes it ([`crate::mapping::desired_state_owned`]),
//! dropping each object as it maps it: the snapshot and the desired state
//! are never both held whole, and the plan and the apply run without it. The plan's operations are spilled to
//! temporary files as the planner makes them ([`crate::spill`]): the run
//! holds their counts, and the apply reads them back a batch at a time in
//! plan order. The operations' outcomes are written as they
//! end ([`crate::outcomes`]); the run keeps one result per operation (for
//! the commit's anchors and the counts) and returns a report holding only
//! the operations that failed or were skipped
//! ([`RunReport::operations_stored`]). A full run that writes reads the
//! last sync's groups from the replica row by row
//! (`Store::replica_membership`), never the whole replica beside its read.
//! A full read staged as it was read ([`crate::staged`]) is not held at
//! all: the run keeps its index and maps it from the staging table
//! ([`crate::mapping_staged`]).

use std::collections::{BTreeMap, HashSet};

use dirsync_model::{Code, DirectoryObject, DirectorySnapshot, Finding, Guid, Severity};

use crate::clock;
use crate::engine::{DirectoryInput, Engine, EngineError, Progress, RunOptions};
use crate::executor::{Applied, ApplyState, Executor};
use crate::guard::{
    group_drops, unsafe_read_counts, unsafe_read_synced, Membership, ReadCounts, Synced,
};
use crate::mapping::{desired_state_owned, MappingSettings};
use crate::mapping_staged::desired_staged;
use crate::narrow::Narrow;
use crate::outcomes::OutcomeSink;
use crate::plan::PlanSettings;
use crate::reader::{self, ClientReader, TargetReader};
use crate::replica_diff::apply_changes;
use crate::report::*;
use crate::report::{count, count_op};
use crate::spill::SpilledOps;
use crate::staged::StagedRead;
use crate::store::Commit;
use crate::types::*;
use crate::verify::{rfc3339, VerifiedObject};

/// The directory a whole run maps: a snapshot held whole, or a full read
/// staged in the state store as it was read ([`crate::staged`]).
enum Read {
    Whole(DirectorySnapshot),
    Staged(StagedRead),
}

impl Read {
    /// How many objects the read holds.
    fn len(&self) -> usize {
        match self {
            Read::Whole(s) => s.objects.len(),
            Read::Staged(r) => r.len(),
        }
    }
}

/// What the commit writes of the directory.
enum DirCommit {
    /// A full read, staged in the store (or nothing, for a run that does
    /// not write).
    Full {
        cookie: Option<Vec<u8>>,
        groups: (Option<Guid>, Option<Guid>),
    },
    /// The objects an incremental read changed and removed.
    Incremental {
        upserts: Vec<DirectoryObject>,
        deletes: Vec<Guid>,
        cookie: Vec<u8>,
    },
}

impl Engine {
    /// The run after its start is recorded. `ops_written` is set once the
    /// operations' outcome rows are all in the store.
    pub(crate) async fn run_inner(
        &self,
        input: DirectoryInput,
        opts: RunOptions,
        writes: bool,
        report: &mut RunReport,
        ops_written: &mut bool,
        progress: &(impl Fn(Progress) + Send + Sync),
    ) -> Result<(), EngineError> {
        // 1. The directory: a full snapshot, or the replica with the changes
        // applied; and the groups' membership at the last sync.
        let mut last_sync = None;
        let mut narrowed: Option<Narrow> = None;
        // A staged read's lock, held here until the run has emptied a
        // staging table it did not commit (the commit empties it).
        let mut staging_lock = None;
        let (snapshot, commit): (Read, DirCommit) = match input {
            DirectoryInput::Full { snapshot, cookie } => {
                if opts.mode == Mode::Apply && self.store.has_replica().await? {
                    last_sync = Some(self.store.replica_membership().await?);
                }
                let groups = (snapshot.exchange_group, snapshot.rsemail_group);
                (Read::Whole(snapshot), DirCommit::Full { cookie, groups })
            }
            DirectoryInput::Staged { mut read, cookie } => {
                staging_lock = read.take_lock();
                if opts.mode == Mode::Apply && self.store.has_replica().await? {
                    last_sync = Some(self.store.replica_membership().await?);
                }
                let groups = (read.exchange_group, read.rsemail_group);
                (Read::Staged(read), DirCommit::Full { cookie, groups })
            }
            DirectoryInput::Incremental(changes) => {
                if !self.store.has_replica().await? {
                    return Err(EngineError::NeedFullSync);
                }
                if writes {
                    narrowed = self.narrow(&changes).await?;
                }
                if let Some(n) = &mut narrowed {
                    // Only the objects it plans: no replica replay.
                    let snapshot = std::mem::take(&mut n.snapshot);
                    let before = std::mem::take(&mut n.before);
                    let commit = DirCommit::Incremental {
                        upserts: std::mem::take(&mut n.objects),
                        deletes: std::mem::take(&mut n.deletes),
                        cookie: changes.cookie,
                    };
                    // The narrowing kept what the commit needs: the read
                    // (with the service groups' whole member lists) is not
                    // held through the plan and the apply.
                    drop(changes.changes);
                    return self
                        .run_rest(
                            Read::Whole(snapshot),
                            commit,
                            (opts.mode == Mode::Apply).then_some(before),
                            narrowed,
                            opts,
                            writes,
                            report,
                            ops_written,
                            progress,
                        )
                        .await;
                }
                let mut replica = self.store.replica().await?;
                if opts.mode == Mode::Apply {
                    last_sync = Some(Membership::of(&replica));
                }
                let (upserted, deletes) = apply_changes(&mut replica, &changes);
                drop(changes.changes);
                let upserts = replica
                    .objects
                    .iter()
                    .filter(|o| upserted.contains(&o.guid))
                    .cloned()
                    .collect();
                (
                    Read::Whole(replica),
                    DirCommit::Incremental {
                        upserts,
                        deletes,
                        cookie: changes.cookie,
                    },
                )
            }
        };
        let result = self
            .run_rest(
                snapshot,
                commit,
                last_sync,
                None,
                opts,
                writes,
                report,
                ops_written,
                progress,
            )
            .await;
        // A run that does not write, or one that stopped before its commit:
        // its staged rows are not kept until the next full read (the state
        // store would hold a second copy of the directory). Cleared while
        // the lock is held, so that no other staged read is wiped.
        let cleared = match staging_lock {
            Some(_) if !report.cookie_committed => self.store.stage_clear().await,
            _ => Ok(()),
        };
        drop(staging_lock);
        result?;
        Ok(cleared?)
    }

    /// The run from the directory state on: the whole snapshot (or the
    /// replica with the changes), or a narrowed run's changed objects.
    #[allow(clippy::too_many_arguments)]
    async fn run_rest(
        &self,
        snapshot: Read,
        mut commit: DirCommit,
        last_sync: Option<Membership>,
        narrowed: Option<Narrow>,
        opts: RunOptions,
        writes: bool,
        report: &mut RunReport,
        ops_written: &mut bool,
        progress: &(impl Fn(Progress) + Send + Sync),
    ) -> Result<(), EngineError> {
        // A whole run reads its anchors after the mapping, so that they are
        // not held beside the directory read; its guard asks the store
        // which kinds are synced.
        let (anchors, synced, in_scope, narrow_verified, narrow_items, narrow_desired) =
            match narrowed {
                Some(n) => {
                    report.counts.synced_before = self.store.anchor_count().await?;
                    report.counts.mapped = n.mapped;
                    let (v, i) = (Some(n.verified), Some(n.items));
                    let synced = Synced::of(&n.anchors);
                    (
                        Some(n.anchors),
                        synced,
                        Some(n.in_scope),
                        v,
                        i,
                        Some(n.desired),
                    )
                }
                None => {
                    report.counts.synced_before = self.store.anchor_count().await?;
                    report.counts.mapped = snapshot.len() as u64;
                    let synced = self.store.synced_kinds().await?;
                    (None, synced, None, None, None, None)
                }
            };

        // 2. The empty/partial read guard.
        let unsafe_read = match &snapshot {
            Read::Whole(s) => unsafe_read_synced(s, synced, opts.override_threshold),
            Read::Staged(r) => unsafe_read_counts(
                ReadCounts {
                    objects: r.len(),
                    groups: r.service(),
                    members: r.index.members_of(r.exchange_group)
                        + r.index.members_of(r.rsemail_group),
                },
                synced,
                opts.override_threshold,
            ),
        };
        if let Some(why) = unsafe_read {
            let f = Finding::new(Code::UnsafeDirectoryRead, None, None, [("detail", why)]);
            report.summary = f.message.clone();
            report.findings.push((&f).into());
            report.status = RunStatus::Failed;
            return Ok(());
        }

        // 3. The per-group limits (DS204), decided here and reported after
        // the plan's findings (step 5), so that neither membership is held
        // beside the desired state; the snapshot staged for the commit;
        // and the desired state (pure), mapped from the snapshot object by
        // object: from here the run no longer holds the directory.
        let group_stops: Vec<Finding> = match (last_sync, opts.override_threshold) {
            (Some(before), false) => {
                let now = match &snapshot {
                    Read::Whole(s) => Membership::of(s),
                    Read::Staged(r) => r.index.membership(r.service()),
                };
                group_drops(&before, &now, &self.settings.threshold)
            }
            _ => Vec::new(),
        };
        if let (true, DirCommit::Full { .. }, Read::Whole(s)) = (writes, &commit, &snapshot) {
            self.store.stage_replica(s).await?;
        }
        // A staged read keeps the staging table until the commit.
        let mut _staging = None;
        // A narrowed run mapped its snapshot already (its lists name the
        // members it did not map): the same desired state, not mapped
        // again. A whole run's mapping consumes the snapshot, dropping each
        // object as it maps it.
        let settings = MappingSettings {
            sync_alternates: self.settings.sync_alternates,
        };
        let desired = match (narrow_desired, snapshot) {
            (Some(d), _) => d,
            (None, Read::Whole(s)) => desired_state_owned(s, settings),
            (None, Read::Staged(r)) => {
                let d = desired_staged(&self.store, &r, settings).await?;
                _staging = r.into_lock();
                d
            }
        };
        report.counts.in_scope = in_scope.unwrap_or(desired.in_scope.len() as u64);
        let anchors = match anchors {
            Some(a) => a,
            None => self.store.anchors().await?,
        };

        // and a GET of one object where a decision needs it), and the plan.
        progress(Progress {
            phase: "read_target",
            done: 0,
            total: 1,
        });
        let budget = match (writes, report.full) {
            (false, _) => 0,
            (true, false) => self.settings.verify.budget,
            (true, true) => self.settings.verify.full_budget,
        };
        report.verification.budget = budget;
        let verified = match narrow_verified {
            Some(v) => v,
            None => self.store.verified_times().await?,
        };
        let rd = ClientReader::new(&self.client, &self.settings.target.customer);
        let ps = PlanSettings {
            sync_alternates: self.settings.sync_alternates,
            allow_rename: self.settings.allow_rename,
            delete_policy: self.settings.delete_policy,
            now: clock::now_unix(),
        };
        let known = match in_scope {
            None => {
                reader::read_and_plan(&rd, &desired, &anchors, &ps, &verified, budget as usize)
                    .await
            }
            // A narrowed run lists nothing but the domains: its objects'
            // listing items are their anchors, and a GET of each changed
            // one shows the control panel's state.
            Some(_) => match rd.domains().await {
                Ok(domains) => {
                    let listed = crate::known::Listed {
                        domains,
                        items: narrow_items.unwrap_or_default().into(),
                    };
                    reader::plan_listed(
                        &rd,
                        listed,
                        &desired,
                        &anchors,
                        &ps,
                        &verified,
                        budget as usize,
                    )
                    .await
                }
                Err(e) => Err(e.into()),
            },
        };
        report.verification.list_pages = rd.counts().pages();
        report.verification.object_reads = rd.counts().objects();
        let reader::KnownPlan {
            plan: mut the_plan,
            ops: spilled,
            reads,
        } = match known {
            Ok(k) => k,
            Err(reader::PlanError::Target(e)) => {
                let f = Finding::new(
                    Code::TargetReadFailed,
                    None,
                    None,
                    [("detail", e.to_string())],
                );
                report.summary = f.message.clone();
                report.findings.push((&f).into());
                report.status = RunStatus::Failed;
                return Ok(());
            }
            Err(reader::PlanError::Spill(e)) => return Err(EngineError::PlanSpill(e)),
        };
        report.verification.needed_reads = reads
            .iter()
            .filter(|r| r.why != crate::known::ReadWhy::Verify)
            .count() as u64;
        for r in &reads {
            let (kind, service) = r.object.kind_service();
            report.verification.objects.push(VerifiedObject {
                guid: r.guid,
                kind,
                service,
                target: r.address.to_string(),
                drift: matches!(
                    r.why,
                    crate::known::ReadWhy::Verify | crate::known::ReadWhy::ListedDrift
                ) && spilled.planned_for(&r.guid),
            });
        }
        progress(Progress {
            phase: "read_target",
            done: 1,
            total: 1,
        });
        progress(Progress {
            phase: "plan",
            done: 0,
            total: 1,
        });
        // The plan's operations are spilled; the desired state is the
        // largest structure left.
        drop(desired);
        drop(anchors);
        progress(Progress {
            phase: "plan",
            done: 1,
            total: 1,
        });
        // After the directory read's own findings (Engine::run_read).
        report
            .findings
            .extend(the_plan.findings.iter().map(ReportFinding::from));
        report.counts.planned = spilled.len() as u64;

        // 5. The safety limits, all reported when several hold: per group
        // (DS204, whatever the directory's size), then the whole directory (DS201).
        let mut stops: Vec<Finding> = group_stops;
        if in_scope.is_some() {
            // The threshold's base is every synced object, not the few planned.
            the_plan.synced = report.counts.synced_before as usize;
        }
        let destructive = spilled.destructive();
        let t = self.settings.threshold;
        if t.exceeded(destructive, the_plan.synced)
            && !opts.override_threshold
            && opts.mode == Mode::Apply
        {
            stops.push(Finding::new(
                Code::ThresholdExceeded,
                None,
                None,
                [
                    ("count", destructive.to_string()),
                    ("total", the_plan.synced.to_string()),
                    ("percent", t.percent.to_string()),
                    ("min_count", t.min_count.to_string()),
                ],
            ));
        }
        if let Some(first) = stops.first() {
            report.summary = first.message.clone();
            report
                .findings
                .extend(stops.iter().map(ReportFinding::from));
            report.status = RunStatus::ThresholdStopped;
            // Nothing was applied: the plan is recorded as planned, its
            // rows written a batch at a time rather than held whole.
            let sink = OutcomeSink::new(&self.store, report.id);
            for batch in spilled.batches(self.apply_batch) {
                for op in &batch.map_err(EngineError::PlanSpill)? {
                    sink.push(op.seq as usize, OpOutcome::planned(op)).await;
                }
            }
            sink.flush().await;
            *ops_written = sink.complete();
            if *ops_written {
                report.operations_stored = true;
            } else {
                report.operations = all_ops(&spilled)?
                    .into_iter()
                    .map(OpOutcome::from_op)
                    .collect();
            }
            count(report);
            return Ok(());
        }

        // 6. Apply, then commit what it established.
        if !writes {
            report.operations = all_ops(&spilled)?
                .into_iter()
                .map(OpOutcome::from_op)
                .collect();
        } else {
            let total = spilled.len() as u64;
            progress(Progress {
                phase: "apply",
                done: 0,
                total,
            });
            if !spilled.is_empty() {
                // From here the control panel changes: until this run's
                // commit, the last clean run no longer describes it.
                self.store.clear_clean().await?;
            }
            let exec = Executor {
                client: &self.client,
                customer: &self.settings.target.customer,
                concurrency: self.settings.concurrency,
                store: &self.store,
            };
            let cb = |n: usize| {
                progress(Progress {
                    phase: "apply",
                    done: n as u64,
                    total,
                });
            };
            // The plan a batch at a time, in plan order: the counts and
            // what the verified record needs are taken from each batch as
            // it ends.
            let sink = OutcomeSink::new(&self.store, report.id);
            let state = ApplyState::new(spilled.len());
            let planned_only = report.planned_only();
            // Counted as batches end; kept if the outcome rows are all
            // written (otherwise `count` counts the report's operations).
            let counts_before = report.counts.clone();
            let mut ended = Ended::default();
            let mut base = 0usize;
            for batch in spilled.batches(self.apply_batch) {
                let batch = batch.map_err(EngineError::PlanSpill)?;
                exec.run_part(&state, base, &batch, &sink, &cb).await;
                for (i, op) in batch.iter().enumerate() {
                    let r = state.result(base + i);
                    count_op(&mut report.counts, op.op, r, planned_only);
                    ended.note(op, r);
                }
                base += batch.len();
            }
            sink.flush().await;
            let mut applied = state.applied();
            *ops_written = sink.complete();
            if *ops_written {
                // The outcome rows are in the store: the report keeps the
                // counts and the operations that did not end done.
                report.operations_stored = true;
                report.operations = std::mem::take(&mut applied.not_done)
                    .into_values()
                    .collect();
            } else {
                report.counts = counts_before;
                report.operations = applied.outcomes(all_ops(&spilled)?);
            }
            drop(spilled);
            self.commit_applied(report, &the_plan, &applied, ended, &mut commit)
                .await?;
        }
        let (never, oldest) = self.store.verification_coverage().await?;
        report.verification.never_verified = never;
        report.verification.oldest_verified_at = oldest.map(rfc3339);
        count(report);
        Ok(())
    }

    /// Commits, in one transaction, the anchors of the objects whose
    /// operations all succeeded, the directory state and its cookie, and
    /// the clean marker when nothing is left to retry; then records the
    /// objects verified. Objects that failed are retried by the next run,
    /// which recomputes them from the replica against the control panel.
    async fn commit_applied(
        &self,
        report: &mut RunReport,
        the_plan: &Plan,
        applied: &Applied,
        ended: Ended,
        commit: &mut DirCommit,
    ) -> Result<(), EngineError> {
        let mut put: Vec<&Anchor> = Vec::new();
        let mut forget: Vec<Guid> = Vec::new();
        for u in &the_plan.anchors {
            if u.after.iter().all(|s| applied.done(*s)) {
                match &u.anchor {
                    Some(a) => put.push(a),
                    None => forget.push(u.guid),
                }
            }
        }
        // Nothing left to retry: every operation done, no error finding.
        let clean = applied.all_done()
            && !report
                .findings
                .iter()
                .any(|f| f.severity == Severity::Error);
        let marker = clean.then(|| self.clean_marker(report.counts.in_scope));
        let mut c = Commit {
            anchors: &put,
            forget: &forget,
            clean: marker.as_deref(),
            ..Commit::default()
        };
        let ups: Vec<&DirectoryObject>;
        match commit {
            DirCommit::Full { cookie, groups } => {
                c.staged = Some(*groups);
                c.cookie = cookie.as_deref();
            }
            DirCommit::Incremental {
                upserts,
                deletes,
                cookie,
            } => {
                ups = upserts.iter().collect();
                c.upserts = &ups;
                c.deletes = deletes;
                c.cookie = Some(cookie);
            }
        }
        self.store.commit(c).await?;
        report.cookie_committed = true;
        self.record_verified(report, ended).await?;
        Ok(())
    }

    /// Records as verified, now, the objects whose details this run read
    /// and the objects it created, where every operation on them succeeded:
    /// their state in the control panel is then the one dirsync wants.
    async fn record_verified(&self, report: &RunReport, ended: Ended) -> Result<(), EngineError> {
        let mut ok: BTreeMap<Guid, bool> = BTreeMap::new();
        for v in &report.verification.objects {
            ok.insert(v.guid, v.drift);
        }
        for g in ended.created {
            ok.entry(g).or_insert(false);
        }
        for g in &ended.not_done {
            ok.remove(g);
        }
        let list: Vec<(Guid, bool)> = ok.into_iter().collect();
        self.store
            .record_verified(&list, crate::verify::now_ms())
            .await?;
        Ok(())
    }
}

/// What the verified record needs of the apply, noted as each batch of
/// operations ends: the objects created, and those with an operation that
/// did not end done.
#[derive(Default)]
struct Ended {
    created: Vec<Guid>,
    not_done: HashSet<Guid>,
}

impl Ended {
    fn note(&mut self, o: &PlanOp, r: OpResult) {
        let Some(g) = o.guid else { return };
        if r != OpResult::Done {
            self.not_done.insert(g);
        }
        if o.op == OpKind::Create {
            self.created.push(g);
        }
    }
}

/// Every operation of a spilled plan, for a report that keeps them all.
fn all_ops(spilled: &SpilledOps) -> Result<Vec<PlanOp>, EngineError> {
    spilled.all().map_err(EngineError::PlanSpill)
}
