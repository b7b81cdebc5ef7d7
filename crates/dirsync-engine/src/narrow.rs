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
//! runs whole. A narrowed run spends no GET on the rolling verification.

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
    /// Their anchors.
    pub anchors: Vec<Anchor>,
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
        let anchors = self.store.anchors_of(&guids).await?;
        if old.len() != guids.len() || anchors.len() != guids.len() {
            return Ok(None);
        }
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
        let by_guid: BTreeMap<Guid, &Anchor> = anchors.iter().map(|a| (a.guid, a)).collect();
        for o in &old {
            let (Some(n), Some(a)) = (new.get(&o.guid), by_guid.get(&o.guid)) else {
                return Ok(None);
            };
            let anchored_as = match o.kind {
                ObjectKind::User => (TargetKind::Mailbox, Service::Exchange),
                _ => (TargetKind::Contact, Service::Exchange),
            };
            let key = dn_key(&o.dn);
            if !local_change(o, n)
                || (a.kind, a.service) != anchored_as
                || a.disabled_at.is_some()
                || !ex_members.contains(&key)
                || rs_members.contains(&key)
            {
                return Ok(None);
            }
        }
        // The narrow mapping of the old versions is what dirsync last wrote.
        let settings = MappingSettings {
            sync_alternates: self.settings.sync_alternates,
        };
        let before = desired_state(&mini_snapshot(old, ex), settings);
        if anchors
            .iter()
            .any(|a| hash_of(&before, a.guid).as_deref() != Some(a.hash.as_str()))
        {
            return Ok(None);
        }
        Ok(Some(Narrow {
            objects: new.into_values().cloned().collect(),
            anchors,
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
