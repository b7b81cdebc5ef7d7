//! The mapping of a read staged in the state store ([`crate::staged`]):
//! the same desired state and findings as [`crate::mapping::desired_state`]
//! of the whole snapshot, from the read's index and the staged objects,
//! read back a batch at a time in the order the mapping takes them (users
//! in DN order, then the lists, whose members are resolved from the index,
//! then the contacts).
//!
//! Why: the run then holds the index, the desired state and one batch of
//! objects, never the directory. Two objects of a read sharing a GUID (a
//! broken export) are one row in the staging table (and the replica
//! committed from it), which keeps one row per GUID; the mapping goes on,
//! and for users read twice gives the snapshot's desired state
//! (`a_guid_read_twice_across_batches_maps_as_the_snapshot`).

use std::collections::BTreeSet;

use dirsync_model::{DirectoryObject, Guid, ObjectKind};

use crate::mapping::{
    dn_key, list_members, map_contact, map_list, map_user, note, Claimed, MappingSettings,
};
use crate::staged::StagedRead;
use crate::store::{corrupt, Store, StoreError};
use crate::types::{Desired, Service};

/// Objects read back from the staging table per query batch.
const BATCH: usize = 999;

/// The desired state of a staged read; see the module's documentation.
pub(crate) async fn desired_staged(
    store: &Store,
    read: &StagedRead,
    settings: MappingSettings,
) -> Result<Desired, StoreError> {
    let ix = &read.index;
    let e = &ix.entries;
    let service = read.service();
    let mut d = Desired::default();
    // The direct members of a service group, in DN order (stable), each
    // GUID once: the snapshot mapping's `direct`.
    let direct = |group: Option<Guid>| -> Vec<usize> {
        let Some(g) = group.and_then(|g| ix.group(g)) else {
            return Vec::new();
        };
        let mut v: Vec<usize> = g
            .members
            .iter()
            .filter_map(|m| ix.of_dn(m))
            .filter(|&i| Some(e[i].guid) != group)
            .collect();
        v.sort_by_cached_key(|&i| dn_key(&e[i].dn));
        v.dedup_by_key(|i| e[*i].guid);
        v
    };
    let (ex_direct, rs_direct) = (direct(service[0]), direct(service[1]));
    let users_of = |v: &[usize]| -> BTreeSet<Guid> {
        v.iter()
            .filter(|&&i| e[i].kind == ObjectKind::User)
            .map(|&i| e[i].guid)
            .collect()
    };
    let ex_users = users_of(&ex_direct);
    let rs_users = users_of(&rs_direct);
    let group_of = |i: usize| -> Result<DirectoryObject, StoreError> {
        ix.group(e[i].guid)
            .map(std::borrow::Cow::into_owned)
            .ok_or_else(|| corrupt("staged group", format!("{} is not indexed", e[i].dn)))
    };

    // The labels of every member of a group that may become a list.
    for &gi in &ex_direct {
        if e[gi].kind != ObjectKind::Group {
            continue;
        }
        let g = group_of(gi)?;
        for m in &g.members {
            if let Some(mi) = ix.of_dn(m) {
                let mo = &e[mi];
                d.labels
                    .entry(mo.guid)
                    .or_insert_with(|| (mo.dn.to_string(), mo.label.to_string()));
            }
        }
    }

    let mut claimed = Claimed::new();

    // Users, in DN order across both services.
    let mut users: Vec<(usize, Service)> = Vec::new();
    for &i in &ex_direct {
        if e[i].kind == ObjectKind::User {
            users.push((i, Service::Exchange));
        }
    }
    for &i in &rs_direct {
        if e[i].kind == ObjectKind::User && !ex_users.contains(&e[i].guid) {
            users.push((i, Service::RsEmail));
        }
    }
    users.sort_by_cached_key(|(i, _)| dn_key(&e[*i].dn));
    for part in users.chunks(BATCH) {
        let objects = fetch(store, part.iter().map(|(i, _)| e[*i].guid)).await?;
        for (o, (_, service)) in objects.iter().zip(part) {
            let both = ex_users.contains(&o.guid) && rs_users.contains(&o.guid);
            map_user(&mut d, o, *service, both, settings, &mut claimed);
        }
    }

    // Nested groups become distribution lists; their non-member users are reported.
    let synced_users: BTreeSet<Guid> = ex_users.union(&rs_users).copied().collect();
    let mut nested_reported: BTreeSet<Guid> = BTreeSet::new();
    for &gi in &ex_direct {
        if e[gi].kind != ObjectKind::Group {
            continue;
        }
        let g = group_of(gi)?;
        note(&mut d, &g);
        let (members, unresolved) = list_members(
            &mut d,
            &g,
            |m| {
                ix.of_dn(m).map(|mi| {
                    let mo = &e[mi];
                    (mo.guid, mo.kind, &*mo.dn)
                })
            },
            &synced_users,
            &mut nested_reported,
        );
        map_list(&mut d, &g, members, unresolved, &mut claimed);
    }
    drop(claimed);

    // Contacts.
    let contacts: Vec<usize> = ex_direct
        .iter()
        .copied()
        .filter(|&i| e[i].kind == ObjectKind::Contact)
        .collect();
    for part in contacts.chunks(BATCH) {
        for c in fetch(store, part.iter().map(|&i| e[i].guid)).await? {
            map_contact(&mut d, &c);
        }
    }
    Ok(d)
}

/// The staged objects with these GUIDs, in this order.
async fn fetch(
    store: &Store,
    guids: impl Iterator<Item = Guid>,
) -> Result<Vec<DirectoryObject>, StoreError> {
    let guids: Vec<Guid> = guids.collect();
    let mut found = store.staged_objects(&guids).await?;
    let mut out: Vec<DirectoryObject> = Vec::with_capacity(guids.len());
    for g in &guids {
        // A GUID read twice (under two DNs) is one staged object, mapped
        // for each.
        let o = match found.remove(g) {
            Some(o) => o,
            None => out
                .iter()
                .find(|o| o.guid == *g)
                .cloned()
                .ok_or_else(|| corrupt("staged object", format!("{g} is not staged")))?,
        };
        out.push(o);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use dirsync_model::{DirectorySnapshot, Guid};

    use super::*;
    use crate::guard::{unsafe_read_counts, unsafe_read_synced, Membership, ReadCounts, Synced};
    use crate::mapping::desired_state;
    use crate::mapping::tests::{contact, group, snapshot, user};
    use crate::staged::Stager;

    /// A user with a 16-bit number (more users than `user`'s 255).
    fn many(n: u16) -> DirectoryObject {
        let mut o = user(0, &format!("M{n:05}"), Some(&format!("m{n}@example.com")));
        let mut b = [7u8; 16];
        b[..2].copy_from_slice(&n.to_be_bytes());
        o.guid = Guid::from_canonical_bytes(b);
        // Every 700th claims the next one's primary as an alternate: a
        // duplicate found across the staged batches.
        if n.is_multiple_of(700) || n == 998 {
            o.proxy_addresses = vec![format!("smtp:m{}@example.com", n + 1)];
        }
        o
    }

    /// The read staged in chunks, as a source hands it over.
    async fn stage(store: &Store, s: &DirectorySnapshot) -> StagedRead {
        let mut st = Stager::begin(store.clone(), Arc::new(tokio::sync::Mutex::new(())))
            .await
            .unwrap();
        for chunk in s.objects.chunks(300) {
            st.push(chunk).await.unwrap();
        }
        st.finish(s.exchange_group, s.rsemail_group).await.unwrap()
    }

    /// A broken export reads two objects with one GUID, here in
    /// different mapping batches (more than `BATCH` users apart): the
    /// staged mapping goes on, and gives what the whole snapshot's gives.
    #[tokio::test]
    async fn a_guid_read_twice_across_batches_maps_as_the_snapshot() {
        let mut users: Vec<DirectoryObject> = (0..1200).map(many).collect();
        users[1100].guid = users[5].guid;
        let twin = users[5].guid;
        let s = snapshot(users, vec![], vec![]);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db")).await.unwrap();
        let read = stage(&store, &s).await;
        let got = desired_staged(&store, &read, MappingSettings::default())
            .await
            .expect("a GUID read twice does not stop the mapping");
        assert_eq!(got, desired_state(&s, MappingSettings::default()));
        assert_eq!(got.mailboxes.iter().filter(|m| m.guid == twin).count(), 1);
    }

    /// The twin table: a staged read's desired state, findings, group
    /// membership and read guard are the whole snapshot's, for reads
    /// with lists (nested, a member outside the read), contacts, users in
    /// both services, duplicates within and across the staged batches,
    /// member DNs in another case, and a missing service group.
    #[tokio::test]
    async fn staged_mapping_is_the_snapshots() {
        let a = user(1, "A", Some("a@example.com"));
        let mut b = user(2, "B", Some("b@example.com"));
        b.proxy_addresses = vec!["smtp:team@example.com".into(), "bad".into()];
        let outside = user(3, "Outside", Some("out@example.com"));
        let ext = contact(4, "Ext", "ext@gmail.com", &["x.example.com"]);
        let inner = group(5, "Inner", Some("inner@example.com"), &[&a, &outside]);
        let mut team = group(6, "Team", Some("team@example.com"), &[&a, &b, &inner, &ext]);
        team.members.push("CN=Nobody,DC=example,DC=com".into());
        team.members.push(a.dn.to_ascii_uppercase());
        let plain = group(7, "Plain", None, &[&b]);
        let both = user(8, "Both", Some("both@example.com"));
        let rs_only = user(9, "Rs", Some("rs@example.com"));
        let same = user(10, "Same", Some("A@example.com"));
        let bad = contact(11, "Bad", "not valid", &[]);
        let mut lower = snapshot(vec![a.clone(), same.clone()], vec![], vec![]);
        lower.objects[0].members = vec![a.dn.to_lowercase(), format!("  {}", same.dn)];
        let mut no_rs = snapshot(vec![a.clone()], vec![rs_only.clone()], vec![]);
        no_rs.rsemail_group = None;
        let users: Vec<DirectoryObject> = (0..5200).map(many).collect();
        let cases = [
            (
                "lists, nesting, contacts, both services",
                snapshot(
                    vec![
                        a.clone(),
                        b,
                        ext.clone(),
                        inner,
                        team.clone(),
                        plain,
                        both.clone(),
                    ],
                    vec![both, rs_only.clone()],
                    vec![outside],
                ),
            ),
            (
                "duplicates, bad contact",
                snapshot(vec![a.clone(), same, bad], vec![rs_only], vec![]),
            ),
            (
                "a list's member outside the read",
                snapshot(vec![team], vec![], vec![]),
            ),
            ("member DNs in other cases", lower),
            ("no Rackspace Email group", no_rs),
            ("batches", snapshot(users, vec![], vec![ext])),
            ("empty", snapshot(vec![], vec![], vec![])),
            ("nothing read", DirectorySnapshot::default()),
        ];
        let synced = Synced {
            exchange_mailboxes: true,
            rsemail_mailboxes: true,
            exchange_other: true,
        };
        for (name, s) in cases {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("state.db")).await.unwrap();
            let read = stage(&store, &s).await;
            assert_eq!(read.len(), s.objects.len(), "{name}");
            for alternates in [true, false] {
                let settings = MappingSettings {
                    sync_alternates: alternates,
                };
                let got = desired_staged(&store, &read, settings).await.unwrap();
                assert_eq!(got, desired_state(&s, settings), "{name}");
            }
            assert_eq!(
                read.index.membership(read.service()),
                Membership::of(&s),
                "{name}"
            );
            for allow in [true, false] {
                let counts = ReadCounts {
                    objects: read.len(),
                    groups: read.service(),
                    members: read.index.members_of(read.exchange_group)
                        + read.index.members_of(read.rsemail_group),
                };
                assert_eq!(
                    unsafe_read_counts(counts, synced, allow),
                    unsafe_read_synced(&s, synced, allow),
                    "{name}"
                );
            }
        }
    }
}
