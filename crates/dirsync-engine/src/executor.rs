//! The executor: applies a plan through the API client, phase by phase,
//! with bounded concurrency inside a phase. The client paces and retries
//! every request; this module makes each operation idempotent (a create
//! that finds its own object already there, a delete that finds nothing,
//! an address or member already present) and maps API faults to the
//! catalogue. One object's failure never blocks the others; only the later
//! operations of that same object are skipped.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use cloudoffice_api::client::{Client, ClientError};
use cloudoffice_api::{
    paths, DistributionListBody, DlMember, EmailAddressList, MemberList, RuleViolation,
};
use dirsync_model::{Code, EmailAddress, Finding, Guid};
use futures::stream::{self, StreamExt};
use reqwest::Method;

use crate::outcomes::OutcomeSink;
use crate::report::{OpOutcome, OpResult};
use crate::store::Store;
use crate::types::{Anchor, OpKind, PlanOp, Service, TargetKind};

/// What the executor needs.
pub struct Executor<'a> {
    pub client: &'a Client,
    pub customer: &'a str,
    pub concurrency: usize,
    pub store: &'a Store,
}

/// How the operations of a plan ended, in plan order.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Each operation's result.
    pub results: Vec<OpResult>,
    /// The whole outcome of each operation that did not end done (failed
    /// or skipped), by position in the plan: what the report shows of them.
    pub not_done: BTreeMap<usize, OpOutcome>,
}

impl Applied {
    /// The outcomes of `ops` in plan order: the kept ones for operations
    /// that did not end done, the others built from the operation (moved,
    /// not copied, so the plan and its outcomes are never held twice).
    pub fn outcomes(&mut self, ops: Vec<PlanOp>) -> Vec<OpOutcome> {
        ops.into_iter()
            .enumerate()
            .map(|(i, op)| match self.not_done.remove(&i) {
                Some(o) => o,
                None => {
                    let mut o = OpOutcome::from_op(op);
                    o.result = self.results.get(i).copied().unwrap_or(OpResult::Planned);
                    o
                }
            })
            .collect()
    }

    /// True when the operation of plan position (`seq`) `seq` ended done.
    pub fn done(&self, seq: u32) -> bool {
        self.results.get(seq as usize) == Some(&OpResult::Done)
    }

    /// True when every operation ended done.
    pub fn all_done(&self) -> bool {
        self.results.iter().all(|r| *r == OpResult::Done)
    }
}

/// What one apply carries from operation to operation, across the parts
/// of a plan applied a batch at a time ([`Executor::run_part`]).
pub(crate) struct ApplyState {
    results: Mutex<Vec<OpResult>>,
    not_done: Mutex<BTreeMap<usize, OpOutcome>>,
    failed: Mutex<HashSet<Guid>>,
    missing: Mutex<HashSet<String>>,
    done: std::sync::atomic::AtomicUsize,
}

impl ApplyState {
    /// The state of an apply of `total` operations, none run yet.
    pub fn new(total: usize) -> Self {
        ApplyState {
            results: Mutex::new(vec![OpResult::Planned; total]),
            not_done: Mutex::new(BTreeMap::new()),
            failed: Mutex::new(HashSet::new()),
            missing: Mutex::new(HashSet::new()),
            done: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// How the operation at plan position `i` ended so far.
    pub fn result(&self, i: usize) -> OpResult {
        locked(&self.results)
            .get(i)
            .copied()
            .unwrap_or(OpResult::Planned)
    }

    /// How every operation ended.
    pub fn applied(self) -> Applied {
        Applied {
            results: self
                .results
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            not_done: self
                .not_done
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        }
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn split(a: &EmailAddress) -> (String, String) {
    (a.local_part().to_string(), a.domain().to_string())
}

fn kind_word(k: TargetKind) -> &'static str {
    match k {
        TargetKind::Mailbox => "user",
        TargetKind::Contact => "contact",
        TargetKind::List => "group",
    }
}

/// Maps a failed API call to the catalogue.
pub fn finding_for(op: &PlanOp, e: &ClientError) -> Finding {
    let dn = op.dn.as_deref();
    let label = op.label.clone();
    let action = op.op.action().to_string();
    if e.is_transient() {
        return Finding::new(
            Code::ConnectionInterrupted,
            dn,
            op.guid,
            [
                ("action", action),
                ("object", label),
                ("detail", e.message()),
                ("attempts", e.attempts().to_string()),
            ],
        );
    }
    let address = op.address.clone().unwrap_or_else(|| op.target.to_string());
    // A rename the target refuses for lack of permission (the key lacks the
    // rename permission, or the target has no rename operation) leaves the
    // Service ID unchanged: that is DS008, exactly as without `allow_rename`.
    let rule = match e.rule() {
        Some(RuleViolation::NotAuthorized) if op.op == OpKind::Rename => {
            Some(RuleViolation::ServiceIdCannotChange)
        }
        None if op.op == OpKind::Rename && e.status() == Some(405) => {
            Some(RuleViolation::ServiceIdCannotChange)
        }
        r => r,
    };
    match rule {
        Some(RuleViolation::MailboxLimitExceeded) => Finding::new(
            Code::MailboxLimitExceeded,
            dn,
            op.guid,
            [("action", action), ("user", label)],
        ),
        Some(RuleViolation::UserExistsInAnotherService) if op.kind == TargetKind::Mailbox => {
            Finding::new(
                Code::ExistsInAnotherService,
                dn,
                op.guid,
                [
                    ("user", label),
                    ("service", op.service.mailboxes_label().to_string()),
                ],
            )
        }
        Some(RuleViolation::GroupExistsInAnotherService) => Finding::new(
            Code::GroupAddressInUse,
            dn,
            op.guid,
            [("action", action), ("group", label)],
        ),
        Some(RuleViolation::NotAuthorized) => Finding::new(
            Code::DomainNotAuthorized,
            dn,
            op.guid,
            [
                ("action", action),
                ("user", label),
                ("domain", op.target.domain().to_string()),
            ],
        ),
        Some(RuleViolation::AlternateAddressDomain) => Finding::new(
            Code::AlternateAddressNotInDomain,
            dn,
            op.guid,
            [
                ("user", op.dn.clone().unwrap_or(label)),
                ("address", address),
            ],
        ),
        Some(RuleViolation::ServiceIdCannotChange) => {
            let new = op
                .address
                .as_deref()
                .and_then(|a| EmailAddress::parse(a).ok());
            Finding::new(
                Code::ServiceIdChanged,
                dn,
                op.guid,
                [
                    ("user", op.dn.clone().unwrap_or(label)),
                    ("old", op.target.local_part().to_string()),
                    (
                        "new",
                        new.map(|n| n.local_part().to_string()).unwrap_or_default(),
                    ),
                ],
            )
        }
        Some(RuleViolation::AddressInUse | RuleViolation::UserExistsInAnotherService) => {
            Finding::new(
                Code::AddressInUse,
                dn,
                op.guid,
                [
                    ("action", action),
                    ("kind", kind_word(op.kind).to_string()),
                    ("object", label),
                    ("address", address),
                ],
            )
        }
        _ => Finding::new(
            Code::ApiRefused,
            dn,
            op.guid,
            [
                ("action", action),
                ("kind", kind_word(op.kind).to_string()),
                ("object", label),
                ("detail", e.message()),
            ],
        ),
    }
}

impl Executor<'_> {
    fn object_path(&self, op: &PlanOp, at: &EmailAddress) -> String {
        let (name, d) = split(at);
        match (op.kind, op.service) {
            (TargetKind::Mailbox, Service::Exchange) => paths::ex_mailbox(self.customer, &d, &name),
            (TargetKind::Mailbox, Service::RsEmail) => paths::rs_mailbox(self.customer, &d, &name),
            (TargetKind::Contact, _) => paths::ex_contact(self.customer, &d, &name),
            (TargetKind::List, _) => paths::ex_list(self.customer, &d, &name),
        }
    }

    /// True when the object exists (for idempotent creates).
    async fn exists(&self, path: &str) -> Result<bool, ClientError> {
        match self.client.get_json::<serde_json::Value>(path).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Runs one operation. `missing` are addresses whose create failed in
    /// this run: they are left out of a list created now.
    async fn apply(&self, op: &PlanOp, missing: &HashSet<String>) -> Result<(), ClientError> {
        let c = self.client;
        let path = self.object_path(op, &op.target);
        match op.op {
            OpKind::Create => {
                let r = match op.kind {
                    TargetKind::List => {
                        let body = DistributionListBody {
                            display_name: op.fields.get("displayName").cloned(),
                            members: Some(
                                op.members
                                    .iter()
                                    .filter(|m| !missing.contains(&m.to_ascii_lowercase()))
                                    .map(|m| DlMember {
                                        action: None,
                                        value: m.clone(),
                                    })
                                    .collect(),
                            ),
                            ..Default::default()
                        };
                        c.send_json(Method::POST, &path, &body).await
                    }
                    TargetKind::Mailbox => {
                        c.send_form(Method::POST, &path, &mailbox_add_fields(&op.fields))
                            .await
                    }
                    _ => c.send_form(Method::POST, &path, &op.fields).await,
                };
                match r {
                    Ok(()) => Ok(()),
                    // Idempotent: a create (perhaps retried after its answer was
                    // lost) that finds its own object there is a success.
                    Err(e) if !e.is_transient() && self.exists(&path).await.unwrap_or(false) => {
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            OpKind::Update => match op.kind {
                TargetKind::List => {
                    let body = DistributionListBody {
                        display_name: op.fields.get("displayName").cloned(),
                        ..Default::default()
                    };
                    c.send_json(Method::PUT, &path, &body).await
                }
                _ => c.send_form(Method::PUT, &path, &op.fields).await,
            },
            OpKind::Enable | OpKind::Disable => {
                let mut f = BTreeMap::new();
                f.insert("enabled".to_string(), (op.op == OpKind::Enable).to_string());
                c.send_form(Method::PUT, &path, &f).await
            }
            OpKind::Rename => {
                // The control panel's rename operation (an edit can never
                // change the Service ID). Keys without the rename permission
                // are refused with "Not authorized": see `finding_for`.
                let new = op
                    .address
                    .as_deref()
                    .and_then(|a| EmailAddress::parse(a).ok());
                let new_name = new
                    .as_ref()
                    .map(|n| n.local_part().to_string())
                    .unwrap_or_default();
                let (name, d) = split(&op.target);
                let exchange = op.service == Service::Exchange;
                match c
                    .rename_mailbox(self.customer, &d, exchange, &name, &new_name)
                    .await
                {
                    Ok(()) => Ok(()),
                    // Idempotent: a rename retried after its answer was lost
                    // finds the old name gone and the new one there.
                    Err(e) if e.is_not_found() => {
                        let renamed = match &new {
                            Some(n) => self.exists(&self.object_path(op, n)).await.unwrap_or(false),
                            None => false,
                        };
                        if renamed {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            OpKind::Delete => match c.delete(&path).await {
                Err(e) if e.is_not_found() => Ok(()),
                r => r,
            },
            OpKind::AddAddress | OpKind::RemoveAddress => {
                let alt = op.address.clone().unwrap_or_default();
                let (name, d) = split(&op.target);
                let add = op.op == OpKind::AddAddress;
                match op.service {
                    Service::Exchange => {
                        let p = paths::ex_mailbox_address(self.customer, &d, &name, &alt);
                        let r = if add {
                            c.post_empty(&p).await
                        } else {
                            c.delete(&p).await
                        };
                        match r {
                            Err(e) if !add && e.is_not_found() => Ok(()),
                            Err(e) if add && !e.is_transient() => {
                                let list: Result<EmailAddressList, _> = c
                                    .get_json(&paths::ex_mailbox_addresses(
                                        self.customer,
                                        &d,
                                        &name,
                                    ))
                                    .await;
                                match list {
                                    Ok(l)
                                        if l.email_address_list
                                            .iter()
                                            .any(|x| x.address.eq_ignore_ascii_case(&alt)) =>
                                    {
                                        Ok(())
                                    }
                                    _ => Err(e),
                                }
                            }
                            r => r,
                        }
                    }
                    Service::RsEmail => {
                        let a = EmailAddress::parse(&alt)
                            .map_err(|e| ClientError::Config(e.to_string()))?;
                        let (an, ad) = split(&a);
                        let p = paths::rs_alias(self.customer, &ad, &an);
                        if add {
                            let mut f = BTreeMap::new();
                            f.insert("aliasEmails".to_string(), op.target.to_string());
                            match c.send_form(Method::POST, &p, &f).await {
                                Err(e)
                                    if !e.is_transient()
                                        && self.exists(&p).await.unwrap_or(false) =>
                                {
                                    Ok(())
                                }
                                r => r,
                            }
                        } else {
                            match c.delete(&p).await {
                                Err(e) if e.is_not_found() => Ok(()),
                                r => r,
                            }
                        }
                    }
                }
            }
            OpKind::AddMember | OpKind::RemoveMember => {
                let member = op.address.clone().unwrap_or_default();
                let (name, d) = split(&op.target);
                let p = paths::ex_list_member(self.customer, &d, &name, &member);
                let add = op.op == OpKind::AddMember;
                let r = if add {
                    c.post_empty(&p).await
                } else {
                    c.delete(&p).await
                };
                match r {
                    Err(e) if !add && e.is_not_found() => Ok(()),
                    Err(e) if add && !e.is_transient() => {
                        let list: Result<MemberList, _> = c
                            .get_json(&paths::ex_list_members(self.customer, &d, &name))
                            .await;
                        match list {
                            Ok(l) if l.members.iter().any(|m| m.eq_ignore_ascii_case(&member)) => {
                                Ok(())
                            }
                            _ => Err(e),
                        }
                    }
                    r => r,
                }
            }
        }
    }

    /// Runs one part of a plan, phase by phase: `ops`, the plan's
    /// operations from position `base` on, in plan order (a plan read back
    /// a batch at a time, see [`crate::spill`]). Each operation's outcome
    /// row is written through `sink` as the operation ends (in batches, see
    /// [`OutcomeSink`]); how each ended is kept in `state`
    /// ([`ApplyState::applied`]), the whole outcome only for the operations
    /// that did not succeed. `state` carries what one operation's end means
    /// for later ones (an object whose create failed, a member never
    /// created) from part to part. The caller flushes `sink` after the
    /// last part.
    pub(crate) async fn run_part(
        &self,
        state: &ApplyState,
        base: usize,
        ops: &[PlanOp],
        sink: &OutcomeSink<'_>,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) {
        let ApplyState {
            results,
            not_done,
            failed,
            missing,
            done,
        } = state;
        let anchors = AnchorBatch::default();
        let mut phases: Vec<u8> = ops.iter().map(|o| o.phase).collect();
        phases.dedup();
        for ph in phases {
            let batch = ops
                .iter()
                .enumerate()
                .map(|(i, o)| (base + i, o))
                .filter(|(_, o)| o.phase == ph);
            stream::iter(batch)
                .for_each_concurrent(self.concurrency.max(1), |(i, op)| {
                    let (results, not_done, failed, missing, done, anchors) =
                        (&results, &not_done, &failed, &missing, &done, &anchors);
                    async move {
                        let blocked = op.guid.is_some_and(|g| locked(failed).contains(&g));
                        let member_missing = op.op == OpKind::AddMember
                            && op.address.as_ref().is_some_and(|a| {
                                locked(missing).contains(&a.to_ascii_lowercase())
                            });
                        let mut o = OpOutcome::planned(op);
                        if blocked || member_missing {
                            o.result = OpResult::Skipped;
                            o.message = Some(if blocked {
                                "not attempted: an earlier operation on this object failed".into()
                            } else {
                                "not attempted: the member's own create failed".into()
                            });
                        } else {
                            let gone = locked(missing).clone();
                            match self.apply(op, &gone).await {
                                Ok(()) => {
                                    if matches!(op.op, OpKind::Create | OpKind::Rename) {
                                        self.anchor_now(op, anchors).await;
                                    }
                                    o.result = OpResult::Done;
                                }
                                Err(e) => {
                                    let f = finding_for(op, &e);
                                    tracing::warn!(code = %f.code, object = %op.target, op = op.op.as_str(), "{}", f.message);
                                    if matches!(op.op, OpKind::Create | OpKind::Rename) {
                                        if let Some(g) = op.guid {
                                            locked(failed).insert(g);
                                        }
                                    }
                                    if op.op == OpKind::Create {
                                        locked(missing).insert(op.target.lower().to_string());
                                    }
                                    o.fail(&f, e.attempts());
                                }
                            }
                        }
                        locked(results)[i] = o.result;
                        if o.result != OpResult::Done {
                            locked(not_done).insert(i, o.clone());
                        }
                        sink.push(i, o).await;
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(n);
                    }
                })
                .await;
            // Each phase's anchors are stored before the next phase starts.
            self.write_anchors(anchors.take().await).await;
        }
    }

    /// Anchors a created or renamed object: the anchor joins the batch,
    /// and a full batch is written in one transaction (see [`ANCHOR_BATCH`]).
    async fn anchor_now(&self, op: &PlanOp, batch: &AnchorBatch) {
        let (Some(guid), Some(dn)) = (op.guid, op.dn.clone()) else {
            return;
        };
        let address = match op.op {
            OpKind::Rename => op
                .address
                .as_deref()
                .and_then(|a| EmailAddress::parse(a).ok())
                .unwrap_or(op.target.clone()),
            _ => op.target.clone(),
        };
        let a = Anchor {
            guid,
            kind: op.kind,
            service: op.service,
            address,
            dn,
            hash: String::new(),
            disabled_at: None,
        };
        let full = batch.push(a).await;
        self.write_anchors(full).await;
    }

    async fn write_anchors(&self, anchors: Vec<Anchor>) {
        if anchors.is_empty() {
            return;
        }
        let refs: Vec<&Anchor> = anchors.iter().collect();
        if let Err(e) = self.store.put_anchors(&refs).await {
            tracing::error!(error = %e, "could not record {} anchors; the next run will match those objects by address", refs.len());
        }
    }
}

/// Anchors of created or renamed objects written per transaction. Why: one
/// transaction per create cost an fsync each (the state store is
/// `synchronous = FULL`, about 1.5 ms per fsync on the benchmark machine),
/// and the creates of a phase waited on each other's fsyncs. A run killed before a batch is written loses at most these
/// anchors; its rerun matches those objects by address (soft match), and
/// the commit at the end of the apply writes every anchor anyway.
pub const ANCHOR_BATCH: usize = 200;

/// The anchors not yet written (see [`ANCHOR_BATCH`]).
#[derive(Default)]
struct AnchorBatch(tokio::sync::Mutex<Vec<Anchor>>);

impl AnchorBatch {
    /// Adds an anchor; returns the batch to write when it is full.
    async fn push(&self, a: Anchor) -> Vec<Anchor> {
        let mut p = self.0.lock().await;
        p.push(a);
        if p.len() >= ANCHOR_BATCH {
            std::mem::take(&mut *p)
        } else {
            Vec::new()
        }
    }

    /// What is left to write.
    async fn take(&self) -> Vec<Anchor> {
        std::mem::take(&mut *self.0.lock().await)
    }
}

/// Default quota of a mailbox dirsync adds, MB (when the mapping sets none).
pub const DEFAULT_MAILBOX_SIZE_MB: u32 = 25_600;

/// The fields of a mailbox add: the mapped fields plus what the documented
/// API requires on add, `password` and `size`. The password is random and
/// used once: users sign in through the provider's own password reset or
/// single sign-on, and dirsync never stores, logs or shows it.
fn mailbox_add_fields(fields: &crate::types::Fields) -> crate::types::Fields {
    use rand::Rng;
    let mut f = fields.clone();
    f.get_or_insert_with("size".into(), || DEFAULT_MAILBOX_SIZE_MB.to_string());
    if !f.contains_key("password") {
        const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-=?";
        let mut rng = rand::thread_rng();
        // Upper, lower, digit and symbol, then 20 more of any.
        let mut pw: Vec<u8> = vec![
            CHARS[rng.gen_range(0..24)],
            CHARS[24 + rng.gen_range(0..25)],
            CHARS[49 + rng.gen_range(0..8)],
            CHARS[57 + rng.gen_range(0..7)],
        ];
        for _ in 0..20 {
            pw.push(CHARS[rng.gen_range(0..CHARS.len())]);
        }
        f.insert("password".into(), String::from_utf8_lossy(&pw).into_owned());
    }
    f
}
