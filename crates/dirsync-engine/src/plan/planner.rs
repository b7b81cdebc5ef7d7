//! The planner's working state: the control panel's objects indexed by
//! address, the anchors, the addresses the directory claims, and what the
//! plan has gathered so far (operations, findings, anchor changes).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use dirsync_model::{DomainName, Finding, Guid};

use super::PlanSettings;
use crate::types::{
    AddressSet, Anchor, AnchorUpdate, Desired, DesiredMailbox, Fields, Plan, PlanOp, Service,
    TargetAlias, TargetContact, TargetDomain, TargetKind, TargetList, TargetMailbox, TargetState,
};

/// Who holds an address in the control panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Owner<'a> {
    pub kind: TargetKind,
    pub service: Service,
    /// The owning object's primary `name@domain` (lower case).
    pub object: &'a str,
}

/// Everything one planning pass reads and writes. Lookups are by lower-case
/// address, the keys borrowed from the state planned (a sync of 100,000
/// users indexes about 300,000 addresses: copies were tens of MB).
pub(super) struct Planner<'a> {
    pub settings: &'a PlanSettings,
    pub domains: HashMap<String, &'a TargetDomain>,
    /// Lower address -> the control-panel object that holds it.
    pub index: HashMap<&'a str, Owner<'a>>,
    /// (service, lower `name@domain`) -> the control-panel mailbox; the
    /// address borrowed from the mailbox.
    pub mailboxes: HashMap<(Service, &'a str), &'a TargetMailbox>,
    pub contacts: HashMap<&'a str, &'a TargetContact>,
    pub lists: HashMap<&'a str, &'a TargetList>,
    pub aliases: &'a [TargetAlias],
    pub anchors: HashMap<Guid, &'a Anchor>,
    /// Lower `name@domain` of anchored objects -> their GUID.
    pub anchored: HashMap<&'a str, Guid>,
    /// Lower address -> GUID of the desired object that claims it.
    pub claims: HashMap<&'a str, Guid>,
    /// Addresses chosen for contacts in this plan (lower case).
    pub contact_names: HashSet<String>,
    /// Desired mailboxes (their alternates are reconciled in this plan).
    pub planned_mailboxes: HashSet<Guid>,
    /// (lower domain, service) -> licences left.
    pub licences: HashMap<(String, Service), i64>,
    /// Where each operation goes as it is made.
    sink: &'a mut dyn OpSink,
    /// The phase of every operation made, by number: enough to renumber
    /// the plan in phase order without holding its operations.
    phases: Vec<u8>,
    pub findings: Vec<Finding>,
    pub anchor_updates: Vec<AnchorUpdate>,
    /// GUID -> the address it will have in the control panel (for list
    /// members), lower case: borrowed from the desired object or its
    /// anchor, owned only for a contact's chosen name (a copy per synced
    /// object was 4 MB at 100,000 users).
    pub synced: HashMap<Guid, Cow<'a, str>>,
    /// GUID -> its desired mailbox, for the control-panel mailboxes
    /// assembled as dirsync last wrote them ([`TargetMailbox::written_as`]).
    written: HashMap<Guid, &'a DesiredMailbox>,
}

impl<'a> Planner<'a> {
    /// Indexes the control panel's state, the anchors and the desired addresses.
    pub fn new(
        desired: &'a Desired,
        target: &'a TargetState,
        anchors: &'a [Anchor],
        settings: &'a PlanSettings,
        sink: &'a mut dyn OpSink,
    ) -> Self {
        let written: HashMap<Guid, &'a DesiredMailbox> =
            desired.mailboxes.iter().map(|m| (m.guid, m)).collect();
        let mut p = Planner {
            settings,
            domains: target
                .domains
                .iter()
                .map(|d| (d.name.lower().to_string(), d))
                .collect(),
            index: address_index(target, &written),
            mailboxes: target
                .mailboxes
                .iter()
                .map(|m| ((m.service, m.address.lower()), m))
                .collect(),
            contacts: target
                .contacts
                .iter()
                .map(|c| (c.address.lower(), c))
                .collect(),
            lists: target
                .lists
                .iter()
                .map(|l| (l.address.lower(), l))
                .collect(),
            aliases: &target.aliases,
            anchors: anchors.iter().map(|a| (a.guid, a)).collect(),
            anchored: anchors
                .iter()
                .map(|a| (a.address.lower(), a.guid))
                .collect(),
            claims: HashMap::new(),
            contact_names: HashSet::new(),
            planned_mailboxes: desired.mailboxes.iter().map(|m| m.guid).collect(),
            licences: HashMap::new(),
            sink,
            phases: Vec::new(),
            findings: desired.findings.clone(),
            anchor_updates: Vec::new(),
            synced: HashMap::new(),
            written,
        };
        for d in &target.domains {
            p.licences.insert(
                (d.name.lower().to_string(), Service::Exchange),
                d.exchange_limit as i64 - d.exchange_used as i64,
            );
            p.licences.insert(
                (d.name.lower().to_string(), Service::RsEmail),
                d.rs_email_limit as i64 - d.rs_email_used as i64,
            );
        }
        for m in &desired.mailboxes {
            p.claims.insert(m.address.lower(), m.guid);
            for a in &m.alternates {
                p.claims.insert(a.lower(), m.guid);
            }
        }
        for l in &desired.lists {
            p.claims.insert(l.address.lower(), l.guid);
        }
        p
    }

    /// The fields of a control-panel mailbox: as read, or, for one
    /// assembled as dirsync last wrote it, its desired mailbox's.
    pub fn fields_of<'t>(&'t self, tm: &'t TargetMailbox) -> &'t Fields {
        match tm.written_as.and_then(|g| self.written.get(&g)) {
            Some(m) => &m.fields,
            None => &tm.fields,
        }
    }

    /// The addresses of a control-panel mailbox besides its primary
    /// ([`TargetMailbox::addresses`]): as read, or, for one assembled as
    /// dirsync last wrote it, its desired mailbox's alternates.
    pub fn addresses_of<'t>(&'t self, tm: &'t TargetMailbox) -> &'t AddressSet {
        written_addresses(tm, &self.written)
    }

    /// Adds an operation; returns its number (for anchor dependencies).
    pub fn push(&mut self, op: PlanOp) -> u32 {
        let id = self.phases.len() as u32;
        self.phases.push(op.phase);
        self.sink.op(PlanOp { seq: id, ..op });
        id
    }

    pub fn domain(&self, d: &DomainName) -> Option<&'a TargetDomain> {
        self.domains.get(d.lower()).copied()
    }

    /// The anchor of `guid`, when it anchors an object of `kind`.
    pub fn anchor_of(&self, guid: Guid, kind: TargetKind) -> Option<&'a Anchor> {
        self.anchors.get(&guid).copied().filter(|a| a.kind == kind)
    }

    /// True when the control-panel object `object` is anchored to a
    /// directory object other than `guid`: it cannot be adopted.
    pub fn anchored_elsewhere(&self, object: &str, guid: Guid) -> bool {
        self.anchored.get(object).is_some_and(|g| *g != guid)
    }

    /// True when the control-panel `owner` of `address` is another synced
    /// mailbox that drops the address in this same plan (it moved between
    /// users in the directory), so the address is free by the time it is added.
    pub fn released(&self, address: &str, owner: &Owner<'_>) -> bool {
        match self.anchored.get(owner.object) {
            Some(g) => self.planned_mailboxes.contains(g) && self.claims.get(address) != Some(g),
            None => false,
        }
    }

    /// Records `new` as the object's anchor once the operations `after`
    /// succeed, unless `old` is already exactly that.
    pub fn record_anchor(&mut self, old: Option<&Anchor>, new: Anchor, after: Vec<u32>) {
        if old.is_none_or(|a| *a != new) {
            self.anchor_updates.push(AnchorUpdate {
                guid: new.guid,
                anchor: Some(new),
                after,
            });
        }
    }

    /// Drops the anchor of `guid` once the operations `after` succeed.
    pub fn forget(&mut self, guid: Guid, after: Vec<u32>) {
        self.anchor_updates.push(AnchorUpdate {
            guid,
            anchor: None,
            after,
        });
    }

    /// The plan without its operations (each went to the sink as it was
    /// made, numbered in that order): the findings, and the anchor updates with their dependencies
    /// renumbered to the operations' final numbers (in phase order, stable:
    /// see [`final_numbers`]).
    ///
    /// Memory: the working indexes are dropped first; the renumbering is
    /// one `u32` per operation.
    pub fn finish(mut self, synced: usize) -> Plan {
        let phases = std::mem::take(&mut self.phases);
        let findings = std::mem::take(&mut self.findings);
        let mut anchors = std::mem::take(&mut self.anchor_updates);
        drop(self);
        let remap = final_numbers(&phases);
        drop(phases);
        for a in &mut anchors {
            a.after = a
                .after
                .iter()
                .filter_map(|s| remap.get(*s as usize).copied())
                .collect();
        }
        anchors.shrink_to_fit();
        Plan {
            ops: Vec::new(),
            findings,
            anchors,
            synced,
        }
    }
}

/// Where the planner's operations go as they are made: a vector (the
/// whole plan in memory), or a spill that keeps them out of memory
/// ([`crate::spill`]). Operations arrive numbered in the order they were
/// made (`seq`), each phase's in increasing `seq`.
pub trait OpSink {
    fn op(&mut self, op: PlanOp);
}

impl OpSink for Vec<PlanOp> {
    fn op(&mut self, op: PlanOp) {
        self.push(op);
    }
}

/// The final number of each operation, by the number it was made with:
/// operations ordered by phase, in the order they were made within a
/// phase (a stable sort by phase).
pub fn final_numbers(phases: &[u8]) -> Vec<u32> {
    let mut start = [0u32; 256];
    for p in phases {
        start[*p as usize] += 1;
    }
    let mut at = 0u32;
    for s in start.iter_mut() {
        let n = *s;
        *s = at;
        at += n;
    }
    phases
        .iter()
        .map(|p| {
            let n = start[*p as usize];
            start[*p as usize] += 1;
            n
        })
        .collect()
}

/// Orders a plan's operations (made in the order of their `seq`) by
/// phase and gives them their final numbers ([`final_numbers`]).
pub fn order_ops(ops: &mut Vec<PlanOp>) {
    ops.sort_by_key(|o| (o.phase, o.seq));
    for (i, o) in ops.iter_mut().enumerate() {
        o.seq = i as u32;
    }
    ops.shrink_to_fit();
}

/// [`Planner::addresses_of`], before the planner is built: an Exchange
/// mailbox assembled as dirsync last wrote it has its desired alternates
/// (exactly what assembling copied before), any other its own.
fn written_addresses<'t>(
    tm: &'t TargetMailbox,
    written: &HashMap<Guid, &'t DesiredMailbox>,
) -> &'t AddressSet {
    match tm.written_as.and_then(|g| written.get(&g)) {
        Some(m) if tm.service == Service::Exchange => &m.alternates,
        _ => &tm.addresses,
    }
}

/// Lower address -> who holds it in the control panel. A primary address
/// wins over an alternate; the first holder wins among alternates.
fn address_index<'a>(
    target: &'a TargetState,
    written: &HashMap<Guid, &'a DesiredMailbox>,
) -> HashMap<&'a str, Owner<'a>> {
    let mut index = HashMap::new();
    for m in &target.mailboxes {
        let owner = Owner {
            kind: TargetKind::Mailbox,
            service: m.service,
            object: m.address.lower(),
        };
        index.insert(m.address.lower(), owner);
        for a in written_addresses(m, written) {
            index.entry(a.lower()).or_insert(owner);
        }
    }
    for c in &target.contacts {
        index.entry(c.address.lower()).or_insert(Owner {
            kind: TargetKind::Contact,
            service: Service::Exchange,
            object: c.address.lower(),
        });
    }
    for l in &target.lists {
        let owner = Owner {
            kind: TargetKind::List,
            service: Service::Exchange,
            object: l.address.lower(),
        };
        index.entry(l.address.lower()).or_insert(owner);
        for a in &l.addresses {
            index.entry(a.lower()).or_insert(owner);
        }
    }
    for al in &target.aliases {
        // An alias forwarding to exactly one mailbox is that mailbox's alternate.
        let object = if al.targets.len() == 1 {
            al.targets.iter().next().map_or("", String::as_str)
        } else {
            al.address.lower()
        };
        index.entry(al.address.lower()).or_insert(Owner {
            kind: TargetKind::Mailbox,
            service: Service::RsEmail,
            object,
        });
    }
    index
}
