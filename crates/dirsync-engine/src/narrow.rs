//! Incremental runs narrowed to what changed (issue 12).
//!
//! An incremental read that reports k changed objects should cost O(k):
//! read those objects and their anchors from the state store by key, map
//! and plan them alone, and read from the control panel only them (and the
//! domains), instead of replaying the whole replica, mapping and planning
//! every object and listing the whole control panel.
//!
//! A run is narrowed only when the result is provably the one the whole
//! run would reach: the last committed run was clean (the idle conditions:
//! same plan settings, nothing left to retry, no grace period ended), and
//! every change is an update of a user or contact the replica holds, that
//! is anchored (an Exchange mailbox or a contact) and a direct member of
//! the Exchange service group only, and whose addresses, DN and kind did
//! not change; so no other object's mapping or plan can depend on it
//! (claims on addresses, list members, scope). Mapping its old version
//! alone must give exactly the state dirsync last wrote for it (the
//! anchor's hash): that proves the narrow mapping is the whole one for
//! this object. Anything else (a new, deleted, moved or renamed object, a
//! group or service group change, Rackspace Email, a run after errors)
//! runs whole. The rolling verification's sample of a narrowed run is
//! taken by index among the synced Exchange mailboxes and contacts (lists
//! and Rackspace Email objects are verified by the runs that run whole),
//! and mapped and planned with the changed objects.

use std::collections::{BTreeMap, HashSet};

use dirsync_model::{
    DirectoryChange, DirectoryChanges, DirectoryObject, DirectorySnapshot, Guid, ObjectKind,
};

use crate::engine::{Engine, EngineError};
use crate::known::listing_of;
use crate::mapping::{desired_state, MappingSettings};
use crate::plan::state_hash;
use crate::reader::{ObjectRef, Summary};
use crate::types::{Anchor, Desired, Service, TargetKind};

/// An incremental run narrowed to the objects it changed.
#[derive(Debug, Clone)]
pub(crate) struct Narrow {
    /// The changed objects, as the directory has them now, in GUID order.
    pub objects: Vec<DirectoryObject>,
    /// Unchanged objects of the rolling verification's sample, as the
    /// replica has them: mapped and planned too, so that a GET of them can
    /// show a hand edit, but not written to the replica.
    pub sample: Vec<DirectoryObject>,
    /// The anchors of both.
    pub anchors: Vec<Anchor>,
    /// When the sample's objects were last verified.
    pub verified: std::collections::HashMap<Guid, i64>,
    /// Objects in scope (unchanged by these changes: from the clean marker).
    pub in_scope: u64,
    /// The Exchange service group.
    pub exchange: Guid,
}

fn dn_key(dn: &str) -> String {
    dn.trim().to_ascii_lowercase()
}

/// True when `new` differs from `old` only in what maps to its own fields
/// (names, titles, phone numbers, the disabled flag): not in its kind, DN,
/// addresses or members.
pub(crate) fn local_change(old: &DirectoryObject, new: &DirectoryObject) -> bool {
    old.guid == new.guid
        && old.kind == new.kind
        && matches!(new.kind, ObjectKind::User | ObjectKind::Contact)
        && dn_key(&old.dn) == dn_key(&new.dn)
        && old.mail == new.mail
        && old.proxy_addresses == new.proxy_addresses
        && old.other_mailbox == new.other_mailbox
        && old.members == new.members
}

/// The snapshot of `objects` alone, all direct members of the Exchange
/// service group `exchange`.
pub(crate) fn mini_snapshot(
    mut objects: Vec<DirectoryObject>,
    exchange: Guid,
) -> DirectorySnapshot {
    let mut g = DirectoryObject::new(exchange, ObjectKind::Group, "CN=Exchange service group");
    g.members = objects.iter().map(|o| o.dn.clone()).collect();
    objects.push(g);
    DirectorySnapshot {
        exchange_group: Some(exchange),
        rsemail_group: None,
        objects,
    }
}

/// The hash of the desired state of `guid`, as the planner records it in
/// the anchor (mailboxes and contacts).
fn hash_of(d: &Desired, guid: Guid) -> Option<String> {
    d.mailboxes
        .iter()
        .find(|m| m.guid == guid)
        .map(state_hash)
        .or_else(|| d.contacts.iter().find(|c| c.guid == guid).map(state_hash))
}

/// The listing items of the narrowed objects: each as its anchor says,
/// with the display name dirsync wants (a GET of each changed object then
/// shows what the control panel really has).
pub(crate) fn listed_items(
    anchors: &[Anchor],
    desired: &Desired,
) -> BTreeMap<(crate::reader::Listing, String), Summary> {
    let name = |g: Guid| -> String {
        desired
            .mailboxes
            .iter()
            .find(|m| m.guid == g)
            .map(|m| &m.fields)
            .or_else(|| {
                desired
                    .contacts
                    .iter()
                    .find(|c| c.guid == g)
                    .map(|c| &c.fields)
            })
            .and_then(|f| f.get("displayName").cloned())
            .unwrap_or_default()
    };
    anchors
        .iter()
        .map(|a| {
            (
                (
                    listing_of(ObjectRef::of(a.kind, a.service)),
                    a.address.lower().to_string(),
                ),
                Summary {
                    address: a.address.clone(),
                    display_name: name(a.guid),
                    members: 0,
                    single_member: None,
                },
            )
        })
        .collect()
}

impl Engine {
    /// The narrowed form of an incremental run with these changes, or
    /// `None` when it must run whole (see the module documentation).
    pub(crate) async fn narrow(
        &self,
        changes: &DirectoryChanges,
    ) -> Result<Option<Narrow>, EngineError> {
        if changes.changes.is_empty() {
            return Ok(None);
        }
        let Some(in_scope) = self.idle_ok().await? else {
            return Ok(None);
        };
        let mut new: BTreeMap<Guid, &DirectoryObject> = BTreeMap::new();
        for c in &changes.changes {
            match c {
                DirectoryChange::Upsert(o) => {
                    new.insert(o.guid, o);
                }
                DirectoryChange::Delete { .. } => return Ok(None),
            }
        }
        let (Some(ex), rs) = self.store.replica_groups().await? else {
            return Ok(None);
        };
        if new.contains_key(&ex) || rs.is_some_and(|g| new.contains_key(&g)) {
            return Ok(None);
        }
        let guids: Vec<Guid> = new.keys().copied().collect();
        let old = self.store.replica_objects(&guids).await?;
        let mut anchors = self.store.anchors_of(&guids).await?;
        if old.len() != guids.len() || anchors.len() != guids.len() {
            return Ok(None);
        }
        // The verification sample: the objects verified longest ago (a few
        // more than the budget, as the changed ones and some others may not count).
        let budget = self.settings.verify.budget;
        let oldest: Vec<(Guid, Option<i64>)> = if budget == 0 {
            Vec::new()
        } else {
            self.store
                .oldest_verified(budget.saturating_mul(2).saturating_add(guids.len() as u32))
                .await?
                .into_iter()
                .filter(|(g, _)| !new.contains_key(g))
                .collect()
        };
        let sample_guids: Vec<Guid> = oldest.iter().map(|(g, _)| *g).collect();
        let mut sample_old = self.store.replica_objects(&sample_guids).await?;
        // Oldest verified first, as the sample is taken.
        sample_old.sort_by_key(|o| sample_guids.iter().position(|g| *g == o.guid));
        let sample_anchors = self.store.anchors_of(&sample_guids).await?;
        // Scope: a direct member of the Exchange service group, not of the
        // Rackspace Email one.
        let mut groups = self
            .store
            .replica_objects(&[Some(ex), rs].into_iter().flatten().collect::<Vec<_>>())
            .await?;
        let members = |g: Guid, groups: &mut Vec<DirectoryObject>| -> HashSet<String> {
            groups
                .iter_mut()
                .find(|o| o.guid == g)
                .map(|o| {
                    std::mem::take(&mut o.members)
                        .iter()
                        .map(|m| dn_key(m))
                        .collect()
                })
                .unwrap_or_default()
        };
        let ex_members = members(ex, &mut groups);
        let rs_members = rs.map(|g| members(g, &mut groups)).unwrap_or_default();
        drop(groups);
        // Each object qualifies when it is in the Exchange scope only,
        // anchored as what it is, and (changed ones) changed locally.
        let qualifies = |o: &DirectoryObject, n: &DirectoryObject, a: Option<&Anchor>| {
            let anchored_as = match o.kind {
                ObjectKind::User => (TargetKind::Mailbox, Service::Exchange),
                _ => (TargetKind::Contact, Service::Exchange),
            };
            let key = dn_key(&o.dn);
            a.is_some_and(|a| (a.kind, a.service) == anchored_as && a.disabled_at.is_none())
                && local_change(o, n)
                && ex_members.contains(&key)
                && !rs_members.contains(&key)
        };
        let by_guid: BTreeMap<Guid, &Anchor> = anchors.iter().map(|a| (a.guid, a)).collect();
        for o in &old {
            let Some(n) = new.get(&o.guid) else {
                return Ok(None);
            };
            if !qualifies(o, n, by_guid.get(&o.guid).copied()) {
                return Ok(None);
            }
        }
        let sample_by_guid: BTreeMap<Guid, &Anchor> =
            sample_anchors.iter().map(|a| (a.guid, a)).collect();
        let sample_old: Vec<DirectoryObject> = sample_old
            .into_iter()
            .filter(|o| qualifies(o, o, sample_by_guid.get(&o.guid).copied()))
            .collect();
        // The narrow mapping of the old versions is what dirsync last wrote
        // (a sample object for which it is not is left out of the sample).
        let settings = MappingSettings {
            sync_alternates: self.settings.sync_alternates,
        };
        let mut all_old = old;
        all_old.extend(sample_old.iter().cloned());
        let before = desired_state(&mini_snapshot(all_old, ex), settings);
        let as_written = |a: &Anchor| hash_of(&before, a.guid).as_deref() == Some(a.hash.as_str());
        if !anchors.iter().all(as_written) {
            return Ok(None);
        }
        let sample: Vec<DirectoryObject> = sample_old
            .into_iter()
            .filter(|o| sample_by_guid.get(&o.guid).is_some_and(|a| as_written(a)))
            .take(budget as usize)
            .collect();
        let kept: HashSet<Guid> = sample.iter().map(|o| o.guid).collect();
        anchors.extend(
            sample_anchors
                .into_iter()
                .filter(|a| kept.contains(&a.guid)),
        );
        let verified = oldest
            .into_iter()
            .filter_map(|(g, at)| Some((g, at?)))
            .filter(|(g, _)| kept.contains(g))
            .collect();
        Ok(Some(Narrow {
            objects: new.into_values().cloned().collect(),
            sample,
            anchors,
            verified,
            in_scope,
            exchange: ex,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> DirectoryObject {
        let mut o = DirectoryObject::new(
            Guid::from_canonical_bytes([3; 16]),
            ObjectKind::User,
            "CN=Jane,OU=Staff,DC=corp,DC=test",
        );
        o.mail = Some("jane@example.com".into());
        o.proxy_addresses = vec!["SMTP:jane@example.com".into(), "smtp:j@example.com".into()];
        o
    }

    #[test]
    fn only_changes_to_an_objects_own_fields_are_local() {
        type Edit = fn(&mut DirectoryObject);
        let cases: [(&str, Edit, bool); 9] = [
            ("title", |o| o.info.title = Some("Director".into()), true),
            (
                "display name",
                |o| o.info.display_name = Some("J. Doe".into()),
                true,
            ),
            ("disabled", |o| o.disabled = true, true),
            ("DN case only", |o| o.dn = o.dn.to_uppercase(), true),
            (
                "moved",
                |o| o.dn = "CN=Jane,OU=Gone,DC=corp,DC=test".into(),
                false,
            ),
            (
                "mail",
                |o| o.mail = Some("jane.doe@example.com".into()),
                false,
            ),
            (
                "alternate",
                |o| o.proxy_addresses.pop().map(drop).unwrap_or(()),
                false,
            ),
            ("members", |o| o.members.push("CN=X".into()), false),
            ("became a group", |o| o.kind = ObjectKind::Group, false),
        ];
        for (what, edit, local) in cases {
            let old = user();
            let mut new = user();
            edit(&mut new);
            assert_eq!(local_change(&old, &new), local, "{what}");
        }
        let mut contact = user();
        contact.kind = ObjectKind::Contact;
        assert!(local_change(&contact, &contact.clone()));
        let mut group = user();
        group.kind = ObjectKind::Group;
        assert!(
            !local_change(&group, &group.clone()),
            "groups are never narrowed"
        );
    }
}
