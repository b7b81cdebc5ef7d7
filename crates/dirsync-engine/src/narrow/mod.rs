//! Incremental runs narrowed to what changed (issue 12).
//!
//! An incremental read that reports k changed objects should cost O(k):
//! read those objects and their anchors from the state store by key, map
//! and plan them alone, and read from the control panel only them (and the
//! domains), instead of replaying the whole replica, mapping and planning
//! every object and listing the whole control panel.
//!
//! A run is narrowed only when the result is provably the one the whole
//! run would reach. The last committed run must be clean (the idle
//! conditions: same plan settings, nothing left to retry, no grace period
//! ended). Every object the read touched (and every object whose
//! membership of a service group changed) then gets a role
//! ([`decide::role`]): a local change of a user, contact or list in scope,
//! a user whose addresses changed, a user joining a service group, a user
//! or contact leaving the scope, or an object out of scope. Anything else
//! (a deleted, moved or renamed object, a kind change, a new contact or
//! list, a list's address change, a user switching service or in both)
//! runs whole, and says why in a debug log. A deletion of an object the
//! replica does not hold and no anchor names is nothing to the run (the
//! whole run would remove nothing and retire nothing); anchored, it runs
//! whole.
//!
//! What the run maps: the objects with a role, the distribution lists that
//! contain an object whose synced address may change (joining, leaving,
//! readdressed, new), the members of the lists it plans (looked up by DN)
//! other than the unchanged synced mailboxes among them, which are planned
//! at their anchors' addresses without being mapped ([`pins`]), and the
//! rolling verification's sample; with the service groups as they
//! are, whole. The proof that mapping these alone gives what the whole
//! mapping gives for them:
//!
//! - mapping their versions of the last run alone gives exactly the state
//!   dirsync last wrote for each anchored one in scope (its anchor's hash;
//!   for a list, over its members' addresses): no address claim was lost to
//!   an object left out, no member resolved otherwise;
//! - no address carried by an object whose addresses or scope changed is
//!   carried by any other object of the replica, or is the address of
//!   another anchor (checked by key in the store, [`lookup`]): no claim
//!   moves between objects, no other object's mapping depends on them;
//! - no mapping of the narrow run reports a duplicate address;
//! - a joining user without anchor has no mailbox at its address in the
//!   control panel (a GET of it: the whole run would adopt it).
//!
//! The safety limits are decided as a whole run decides them: the
//! disable/delete threshold (DS201) against the number of anchors, the
//! group limits (DS204) on the service groups' and the planned lists'
//! whole member lists before and now.
//!
//! Not proven, as for the idle run: control-panel objects dirsync does not
//! anchor, created by hand since the last run at an address a joining user
//! or a new alternate takes, are not listed; the write is then refused,
//! the run is not clean, and the next run runs whole.

mod decide;
mod index;
pub(crate) mod keys;
mod lookup;
mod pins;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::StreamExt;

use dirsync_model::{
    Code, DirectoryChange, DirectoryChanges, DirectoryObject, DirectorySnapshot, Guid, ObjectKind,
};

use crate::engine::{Engine, EngineError};
use crate::guard::Membership;
use crate::mapping::{desired_state, MappingSettings};
use crate::reader::{ClientReader, Listing, ObjectRef, Summary, TargetReader};
use crate::types::{Anchor, Desired, DesiredMailbox, Service, TargetKind};
use decide::{addresses_of, lookup_safe, role, Role, Scope};
use index::{listed_items, Index};
use pins::pin;

/// An incremental run narrowed to the objects it changed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Narrow {
    /// The changed objects, as the directory has them now: the commit's
    /// upserts.
    pub objects: Vec<DirectoryObject>,
    /// The objects the read removed: the commit's deletions.
    pub deletes: Vec<Guid>,
    /// What the run maps and plans: the service groups as they are now
    /// and the objects it plans (see the module documentation).
    pub snapshot: DirectorySnapshot,
    /// The service groups' and the planned lists' membership at the last
    /// run (for the group limits, DS204).
    pub before: Membership,
    /// The anchors of the objects planned.
    pub anchors: Vec<Anchor>,
    /// When the objects planned were last verified.
    pub verified: HashMap<Guid, i64>,
    /// The listing items of the anchored objects planned, as dirsync last
    /// wrote them.
    pub items: BTreeMap<(Listing, String), Summary>,
    /// Objects in scope after this run's changes.
    pub in_scope: u64,
    /// The directory objects mapped, the service groups aside.
    pub mapped: u64,
    /// The desired state of `snapshot`, its lists naming the unchanged
    /// members that are not mapped ([`pins`], named with [`pin`]): mapped once
    /// here (the proof needs it) and planned by the run as it is, instead
    /// of mapping the same snapshot again (with its service groups' whole
    /// member lists).
    pub desired: Desired,
}

fn dn_key(dn: &str) -> String {
    dn.trim().to_ascii_lowercase()
}

/// A snapshot of the service groups `ex` and `rs` and these `objects`.
/// The groups are taken, not copied: a service group holds every member's
/// DN (100,000 at the scale of issue 12), and the caller clones one only
/// when it needs it again.
fn mini(
    ex: DirectoryObject,
    rs: Option<DirectoryObject>,
    objects: Vec<DirectoryObject>,
) -> DirectorySnapshot {
    let (exchange_group, rsemail_group) = (Some(ex.guid), rs.as_ref().map(|g| g.guid));
    let mut all = Vec::with_capacity(objects.len() + 2);
    all.push(ex);
    all.extend(rs);
    all.extend(objects);
    DirectorySnapshot {
        exchange_group,
        rsemail_group,
        objects: all,
    }
}

/// The kind and service an object in scope is anchored as.
fn anchored_as(kind: ObjectKind, scope: Scope) -> (TargetKind, Service) {
    match kind {
        ObjectKind::User if !scope.ex && scope.rs => (TargetKind::Mailbox, Service::RsEmail),
        ObjectKind::User => (TargetKind::Mailbox, Service::Exchange),
        ObjectKind::Contact => (TargetKind::Contact, Service::Exchange),
        ObjectKind::Group => (TargetKind::List, Service::Exchange),
    }
}

/// Runs whole, with this reason.
macro_rules! whole {
    ($($t:tt)*) => {
        return Ok(Err(format!($($t)*)))
    };
}

impl Engine {
    /// The narrowed form of an incremental run with these changes, or
    /// `None` when it must run whole (see the module documentation).
    pub(crate) async fn narrow(
        &self,
        changes: &DirectoryChanges,
    ) -> Result<Option<Narrow>, EngineError> {
        match self.try_narrow(changes).await? {
            Ok(n) => {
                tracing::debug!(
                    changes = changes.changes.len(),
                    mapped = n.mapped,
                    "incremental run narrowed to the objects it changed"
                );
                Ok(Some(n))
            }
            Err(why) => {
                tracing::debug!(why = %why, "incremental run not narrowed: it runs whole");
                Ok(None)
            }
        }
    }

    async fn try_narrow(
        &self,
        changes: &DirectoryChanges,
    ) -> Result<Result<Narrow, String>, EngineError> {
        if changes.changes.is_empty() {
            whole!("no change");
        }
        let Some(in_scope_before) = self.idle_ok().await? else {
            whole!("the last run was not clean (errors to retry, other settings or a grace period ended)");
        };
        let mut upserts: Vec<DirectoryObject> = Vec::new();
        let mut deleted: BTreeSet<Guid> = BTreeSet::new();
        for c in &changes.changes {
            match c {
                DirectoryChange::Upsert(o) => upserts.push(o.clone()),
                DirectoryChange::Delete { guid, .. } => {
                    deleted.insert(*guid);
                }
            }
        }
        let (Some(ex), rs) = self.store.replica_groups().await? else {
            whole!("the replica has no Hosted Exchange service group");
        };
        let mut new: BTreeMap<Guid, DirectoryObject> =
            upserts.iter().map(|o| (o.guid, o.clone())).collect();
        let mut keys: Vec<Guid> = new.keys().chain(&deleted).copied().collect();
        keys.push(ex);
        keys.extend(rs);
        keys.sort();
        keys.dedup();
        let mut old: HashMap<Guid, DirectoryObject> = self
            .store
            .replica_objects(&keys)
            .await?
            .into_iter()
            .map(|o| (o.guid, o))
            .collect();
        for g in &deleted {
            if new.contains_key(g) || *g == ex || Some(*g) == rs {
                whole!("a deleted object is a service group or upserted too");
            }
        }
        // A deleted object the replica does not hold (deleted while a read
        // took it in scope, or never read) is nothing to the run when no
        // anchor names it: the whole run's replica has nothing to remove
        // and its plan nothing to retire. Its deletion stays in the commit.
        let unknown: Vec<Guid> = deleted
            .iter()
            .filter(|g| !old.contains_key(g))
            .copied()
            .collect();
        if !unknown.is_empty() {
            if let Some(a) = self.store.anchors_by_guid(&unknown).await?.first() {
                whole!(
                    "a deleted object is not in the replica but is anchored: {}",
                    a.address
                );
            }
        }
        let Some(ex_old) = old.remove(&ex) else {
            whole!("the Hosted Exchange service group is not in the replica");
        };
        let rs_old = rs.and_then(|g| old.remove(&g));
        let ex_new = new.remove(&ex).unwrap_or_else(|| ex_old.clone());
        let rs_new = match rs {
            Some(g) => new.remove(&g).or_else(|| rs_old.clone()),
            None => None,
        };
        if ex_new.kind != ObjectKind::Group
            || rs_new.as_ref().is_some_and(|g| g.kind != ObjectKind::Group)
        {
            whole!("a service group is no longer a group");
        }
        let members = |g: Option<&DirectoryObject>| -> HashSet<String> {
            g.map(|g| g.members.iter().map(|m| dn_key(m)).collect())
                .unwrap_or_default()
        };
        let (ex_b, ex_a) = (members(Some(&ex_old)), members(Some(&ex_new)));
        let (rs_b, rs_a) = (members(rs_old.as_ref()), members(rs_new.as_ref()));
        let before = |dn: &str| {
            let k = dn_key(dn);
            Scope {
                ex: ex_b.contains(&k),
                rs: rs_b.contains(&k),
            }
        };
        let after = |dn: &str| {
            let k = dn_key(dn);
            Scope {
                ex: ex_a.contains(&k),
                rs: rs_a.contains(&k),
            }
        };

        // The objects whose service group membership changed: the changed
        // ones are known, the others looked up by DN.
        let mut known_dns: HashMap<String, Guid> = HashMap::new();
        for o in old.values().chain(new.values()) {
            if let Some(g) = known_dns.insert(dn_key(&o.dn), o.guid) {
                if g != o.guid {
                    whole!("two objects share the DN {}", o.dn);
                }
            }
        }
        let moved: BTreeSet<String> = ex_b
            .symmetric_difference(&ex_a)
            .chain(rs_b.symmetric_difference(&rs_a))
            .filter(|d| !known_dns.contains_key(*d))
            .cloned()
            .collect();
        let found = self
            .store
            .replica_by_dn(&moved.into_iter().collect::<Vec<_>>())
            .await?;
        if let Some(why) = self.remember(found, &mut old, &mut known_dns, ex, rs) {
            whole!("{why}");
        }

        // Each object's role.
        let mut roles: BTreeMap<Guid, Role> = BTreeMap::new();
        let version = |g: &Guid| new.get(g).or_else(|| old.get(g));
        for g in old.keys().chain(new.keys()) {
            let (o, n) = (old.get(g), version(g).expect("an old or new version"));
            let b = o.map(|o| before(&o.dn)).unwrap_or_default();
            // A deleted object is in no group now.
            let a = match deleted.contains(g) {
                true => Scope::default(),
                false => after(&n.dn),
            };
            match role(o, n, b, a) {
                Ok(r) => {
                    roles.insert(*g, r);
                }
                Err(why) => whole!("{why}: {}", n.dn),
            }
        }

        // The lists that contain an object whose synced address may change.
        let affecting: Vec<String> = roles
            .iter()
            .filter(|(g, r)| r.moves_address() || !old.contains_key(g) || deleted.contains(g))
            .filter_map(|(g, _)| version(g).map(|o| dn_key(&o.dn)))
            .collect();
        let mut lists: Vec<DirectoryObject> = Vec::new();
        for l in self.store.replica_groups_with_member(&affecting).await? {
            if l.guid != ex && Some(l.guid) != rs && !roles.contains_key(&l.guid) && after(&l.dn).ex
            {
                lists.push(l);
            }
        }
        for l in lists {
            roles.insert(l.guid, Role::List);
            known_dns.insert(dn_key(&l.dn), l.guid);
            old.insert(l.guid, l);
        }

        // Every member of the lists planned, looked up by DN.
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for (g, _) in roles.iter().filter(|(_, r)| **r == Role::List) {
            for o in [old.get(g), new.get(g)].into_iter().flatten() {
                wanted.extend(o.members.iter().map(|m| dn_key(m)));
            }
        }
        // Members out of scope already known (changed or deleted ones)
        // are mapped too: the list's members resolve as in the whole run.
        let mut context: BTreeSet<Guid> = roles
            .iter()
            .filter(|(_, r)| **r == Role::Outside)
            .filter_map(|(g, _)| new.get(g).or_else(|| old.get(g)))
            .filter(|o| wanted.contains(&dn_key(&o.dn)))
            .map(|o| o.guid)
            .collect();
        wanted.retain(|d| !known_dns.contains_key(d));
        // Of those, the unchanged mailboxes in every planned list's members
        // before and now are pinned, not read (pins.rs).
        let pins = self
            .pins(&roles, &old, &new, &wanted, &after, [Some(ex), rs])
            .await?;
        wanted.retain(|d| !pins.by_dn.contains_key(d));
        let found = self
            .store
            .replica_by_dn(&wanted.into_iter().collect::<Vec<_>>())
            .await?;
        context.extend(found.iter().map(|o| o.guid));
        if let Some(why) = self.remember(found, &mut old, &mut known_dns, ex, rs) {
            whole!("{why}");
        }
        for g in &context {
            if old[g].kind == ObjectKind::Group {
                whole!("a distribution list has a group as member: {}", old[g].dn);
            }
        }

        // The anchors: an object in scope is anchored as what it is.
        let planned: Vec<Guid> = roles
            .iter()
            .filter(|(_, r)| **r != Role::Outside)
            .map(|(g, _)| *g)
            .chain(context.iter().copied())
            .collect();
        let mut anchors: HashMap<Guid, Anchor> = self
            .store
            .anchors_by_guid(&planned)
            .await?
            .into_iter()
            .map(|a| (a.guid, a))
            .collect();
        for g in &planned {
            let o = new.get(g).or_else(|| old.get(g)).expect("known object");
            let r = roles.get(g).copied();
            let s = after(&o.dn);
            let a = anchors.get(g);
            let is = |a: &Anchor, (k, svc): (TargetKind, Service)| a.kind == k && a.service == svc;
            let ok = match r {
                Some(Role::Local | Role::Readdressed) => {
                    a.is_some_and(|a| is(a, anchored_as(o.kind, s)) && a.disabled_at.is_none())
                }
                Some(Role::List) => match a {
                    Some(a) => is(a, (TargetKind::List, Service::Exchange)),
                    None => [old.get(g), new.get(g)]
                        .into_iter()
                        .flatten()
                        .all(|l| l.mail.as_deref().is_none_or(|m| m.trim().is_empty())),
                },
                Some(Role::Joins(svc)) => a.is_none_or(|a| is(a, (TargetKind::Mailbox, svc))),
                Some(Role::Leaves) => a.is_none_or(|a| {
                    let b = before(&o.dn);
                    is(a, anchored_as(o.kind, b))
                }),
                // Out of scope: an anchor left is a mailbox disabled when it
                // left (the whole run plans nothing for it); not planned.
                Some(Role::Outside) => match anchors.remove(g) {
                    Some(a) => a.kind == TargetKind::Mailbox && a.disabled_at.is_some(),
                    None => true,
                },
                // A list's member: anchored when in scope, as what it is.
                None => {
                    let in_scope = match o.kind {
                        ObjectKind::User => s.ex || s.rs,
                        _ => s.ex,
                    };
                    if in_scope {
                        a.is_some_and(|a| is(a, anchored_as(o.kind, s)) && a.disabled_at.is_none())
                    } else {
                        // Out of scope: its anchor (a mailbox disabled when it
                        // left) is not planned.
                        anchors.remove(g);
                        true
                    }
                }
            };
            if !ok {
                whole!("an object in scope is not anchored as what it is: {}", o.dn);
            }
        }

        // The verification sample: the objects verified longest ago (a few
        // more than the budget, as some may not qualify), mapped and
        // planned too so that a GET of them can show a hand edit.
        let budget = self.settings.verify.budget;
        let oldest: Vec<(Guid, Option<i64>)> = if budget == 0 {
            Vec::new()
        } else {
            let except: Vec<Guid> = roles.keys().chain(context.iter()).copied().collect();
            self.store
                .oldest_verified(budget.saturating_mul(2), &except)
                .await?
        };
        let sample_guids: Vec<Guid> = oldest.iter().map(|(g, _)| *g).collect();
        let sample_anchors: HashMap<Guid, Anchor> = self
            .store
            .anchors_by_guid(&sample_guids)
            .await?
            .into_iter()
            .map(|a| (a.guid, a))
            .collect();
        let mut sample: Vec<DirectoryObject> = self
            .store
            .replica_objects(&sample_guids)
            .await?
            .into_iter()
            .filter(|o| {
                let s = after(&o.dn);
                matches!(o.kind, ObjectKind::User | ObjectKind::Contact)
                    && s.ex
                    && !s.rs
                    && !known_dns.contains_key(&dn_key(&o.dn))
                    && sample_anchors.get(&o.guid).is_some_and(|a| {
                        (a.kind, a.service) == anchored_as(o.kind, s) && a.disabled_at.is_none()
                    })
            })
            .collect();
        // Oldest verified first, as the sample is taken; an object that
        // shares an address with another one mapped is left out (its claim
        // would depend on objects left out).
        sample.sort_by_key(|o| sample_guids.iter().position(|g| *g == o.guid));
        let mut taken: HashSet<String> = planned
            .iter()
            .flat_map(|g| [old.get(g), new.get(g)])
            .flatten()
            .flat_map(addresses_of)
            .collect();
        sample.retain(|o| {
            let a = addresses_of(o);
            let free = a.iter().all(|x| !taken.contains(x));
            if free {
                taken.extend(a);
            }
            free
        });

        // The last run's state, mapped alone, must be what dirsync wrote.
        let settings = MappingSettings {
            sync_alternates: self.settings.sync_alternates,
        };
        let old_objects = |extra: &[DirectoryObject]| -> Vec<DirectoryObject> {
            let mut v: Vec<DirectoryObject> =
                planned.iter().filter_map(|g| old.get(g).cloned()).collect();
            v.extend(extra.iter().cloned());
            v
        };
        let mut before_desired = desired_state(
            &mini(ex_old.clone(), rs_old.clone(), old_objects(&sample)),
            settings,
        );
        pin(&mut before_desired, &pins);
        let mut all_anchors = anchors.clone();
        all_anchors.extend(sample_anchors.clone());
        let before_index = Index::of(&before_desired);
        let written = |g: &Guid| {
            all_anchors
                .get(g)
                .is_some_and(|a| before_index.hash(*g, &all_anchors).as_deref() == Some(&a.hash))
        };
        for g in &planned {
            let r = roles.get(g).copied();
            let o = &old.get(g);
            let was_in = o.is_some_and(|o| {
                let b = before(&o.dn);
                match o.kind {
                    ObjectKind::User => b.ex || b.rs,
                    _ => b.ex,
                }
            });
            let needs = was_in
                && anchors.contains_key(g)
                && !matches!(r, Some(Role::Leaves | Role::Joins(_) | Role::Outside));
            if needs && !written(g) {
                whole!(
                    "an object is not as dirsync last wrote it (or its mapping depends on objects left out): {}",
                    o.map(|o| o.dn.as_str()).unwrap_or_default()
                );
            }
        }
        let sample: Vec<DirectoryObject> = sample
            .into_iter()
            .filter(|o| written(&o.guid))
            .take(budget as usize)
            .collect();
        let now_objects: Vec<DirectoryObject> = planned
            .iter()
            .filter(|g| !deleted.contains(g))
            .filter_map(|g| new.get(g).or_else(|| old.get(g)).cloned())
            .chain(sample.iter().cloned())
            .collect();
        let has_rs = rs_new.is_some();
        let snapshot = mini(ex_new, rs_new, now_objects);
        let mut now_desired = desired_state(&snapshot, settings);
        pin(&mut now_desired, &pins);
        let dup = |d: &Desired| {
            d.findings
                .iter()
                .any(|f| f.code == Code::DuplicateDirectoryAddress)
        };
        if dup(&before_desired) || dup(&now_desired) {
            whole!("an address is claimed twice among the objects planned");
        }

        // Claims: the addresses of objects whose addresses or scope changed
        // are theirs alone, in the replica and among the anchors.
        let movers: Vec<Guid> = roles
            .iter()
            .filter(|(_, r)| r.moves_address())
            .map(|(g, _)| *g)
            .collect();
        let mut owners: BTreeMap<String, BTreeSet<Guid>> = BTreeMap::new();
        for g in &movers {
            for o in [old.get(g), new.get(g)].into_iter().flatten() {
                for a in addresses_of(o) {
                    owners.entry(a).or_default().insert(*g);
                }
            }
        }
        if let Some(a) = owners.keys().find(|a| !lookup_safe(a)) {
            whole!("the address {a} cannot be looked up by key");
        }
        let addrs: Vec<String> = owners.keys().cloned().collect();
        let holders = self.store.replica_address_holders(&addrs).await?;
        for o in holders.iter().chain(new.values()) {
            for a in addresses_of(o) {
                if let Some(set) = owners.get_mut(&a) {
                    set.insert(o.guid);
                }
            }
        }
        if let Some((a, _)) = owners.iter().find(|(_, s)| s.len() > 1) {
            whole!("the address {a} is carried by more than one object");
        }
        for (g, a) in self.store.anchors_at(&addrs).await? {
            if owners.get(&a).is_some_and(|s| !s.contains(&g)) {
                whole!("the address {a} is another synced object's");
            }
        }

        // A joining user without anchor, or a renamed one, takes an address
        // no mailbox has in the control panel (else the whole run adopts it).
        // Asked `concurrency` at a time (as the writes are), answers taken in
        // order so the reason to run whole is the first one's.
        let rd = ClientReader::new(&self.client, &self.settings.target.customer);
        let asked: Vec<&DesiredMailbox> = now_desired
            .mailboxes
            .iter()
            .filter(|m| match roles.get(&m.guid) {
                Some(Role::Joins(_)) => !anchors.contains_key(&m.guid),
                Some(Role::Readdressed) => {
                    anchors.get(&m.guid).is_some_and(|a| a.address != m.address)
                }
                _ => false,
            })
            .collect();
        let started = std::time::Instant::now();
        let questions: Vec<_> = asked
            .iter()
            .map(|m| rd.details(ObjectRef::Mailbox(m.service), &m.address))
            .collect();
        let answers: Vec<_> = futures::stream::iter(questions)
            .buffered(self.settings.concurrency.max(1))
            .collect()
            .await;
        tracing::debug!(
            asked = asked.len(),
            ms = started.elapsed().as_millis() as u64,
            "control panel asked about the joining users' addresses"
        );
        for (m, answer) in asked.iter().zip(answers) {
            match answer {
                Ok(None) => {}
                Ok(Some(_)) => whole!("a mailbox already exists at {}", m.address),
                Err(e) => whole!(
                    "the control panel could not be asked about {}: {e}",
                    m.address
                ),
            }
        }

        // The group limits' membership before (the planned lists' and the
        // service groups', on the same objects as now).
        let membership = Membership::of(&mini(ex_old, rs_old, old_objects(&sample)));

        // Objects in scope: the last run's count, with the planned objects'
        // change (the others' scope did not change).
        let planned_set: HashSet<Guid> = planned.iter().copied().collect();
        let count = |d: &Desired| {
            d.in_scope
                .iter()
                .filter(|g| planned_set.contains(g))
                .count() as u64
        };
        let in_scope =
            (in_scope_before + count(&now_desired)).saturating_sub(count(&before_desired));
        let mut anchor_list: Vec<Anchor> = anchors.into_values().collect();
        anchor_list.extend(
            sample
                .iter()
                .filter_map(|o| sample_anchors.get(&o.guid).cloned()),
        );
        anchor_list.sort_by_key(|a| a.guid);
        let guids: Vec<Guid> = anchor_list.iter().map(|a| a.guid).collect();
        let verified = self.store.verified_of(&guids).await?;
        let items = listed_items(&anchor_list, &before_desired, &now_desired);
        let mapped = (snapshot.objects.len() - 1 - usize::from(has_rs)) as u64;
        Ok(Ok(Narrow {
            objects: upserts,
            deletes: deleted.into_iter().collect(),
            snapshot,
            before: membership,
            anchors: anchor_list,
            verified,
            items,
            in_scope,
            mapped,
            desired: now_desired,
        }))
    }

    /// Adds objects looked up by DN to `old` (an unchanged object's version
    /// now is the same). `Some(why)` when two objects share a DN.
    fn remember(
        &self,
        found: Vec<DirectoryObject>,
        old: &mut HashMap<Guid, DirectoryObject>,
        known_dns: &mut HashMap<String, Guid>,
        ex: Guid,
        rs: Option<Guid>,
    ) -> Option<String> {
        for o in found {
            if o.guid == ex || Some(o.guid) == rs {
                return Some("a service group is a member of a group planned".into());
            }
            if let Some(g) = known_dns.insert(dn_key(&o.dn), o.guid) {
                if g != o.guid {
                    return Some(format!("two objects share the DN {}", o.dn));
                }
            }
            old.entry(o.guid).or_insert(o);
        }
        None
    }
}
