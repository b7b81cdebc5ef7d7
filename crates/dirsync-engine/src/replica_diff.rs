//! The changes a whole read of the directory makes to the stored replica.
//!
//! Why: a source with no change tracking of its own (an LDIF file) is read
//! whole every run. Handing that read to the engine as a full sync makes
//! every rerun cost a full sync. Compared with the replica it becomes the
//! short list of objects that changed, and the engine takes the cheap
//! incremental path (nothing at all to do when nothing changed).
//!
//! The comparison streams the replica out of the state store one page at a
//! time, ordered by GUID, and compares each stored row with the object's
//! JSON as it would be stored: the replica is never held whole in memory
//! beside the new read.

use std::collections::{BTreeMap, HashMap};

use dirsync_model::{DirectoryChange, DirectoryChanges, DirectoryObject, DirectorySnapshot, Guid};

use crate::store::{corrupt, Store, StoreError};

/// Rows read from the replica per query.
const PAGE: i64 = 2_000;

/// One stored replica row: the GUID (canonical text) and the object's JSON.
pub type ReplicaRow = (String, String);

/// Compares one page of replica rows with the new read (pure).
///
/// `pending` maps the GUID text of each object of the new read not yet met
/// in the replica to its index in `objects`; each row met is removed from
/// it. A stored row whose object is not in the read is a deletion; one
/// whose JSON differs from the object's is an upsert. What is left in
/// `pending` after the last page is new.
pub fn diff_rows(
    objects: &[DirectoryObject],
    pending: &mut HashMap<String, usize>,
    rows: &[ReplicaRow],
    out: &mut Vec<DirectoryChange>,
) -> Result<(), StoreError> {
    for (guid, json) in rows {
        match pending.remove(guid) {
            None => {
                let old: DirectoryObject =
                    serde_json::from_str(json).map_err(|e| corrupt("replica object", e))?;
                out.push(DirectoryChange::Delete {
                    guid: old.guid,
                    last_dn: Some(old.dn),
                });
            }
            Some(i) => {
                let o = &objects[i];
                let now = serde_json::to_string(o).map_err(|e| corrupt("replica object", e))?;
                if &now != json {
                    out.push(DirectoryChange::Upsert(o.clone()));
                }
            }
        }
    }
    Ok(())
}

/// The changes that turn the stored replica into `snapshot`, or `None` when
/// they cannot say it: no replica was committed yet, or a service group is
/// not the one of the replica (the scope itself changed, which a full sync
/// handles). An empty list means the read is the replica.
pub async fn changes_since_replica(
    store: &Store,
    snapshot: &DirectorySnapshot,
) -> Result<Option<Vec<DirectoryChange>>, StoreError> {
    changes_paged(store, snapshot, PAGE).await
}

async fn changes_paged(
    store: &Store,
    snapshot: &DirectorySnapshot,
    page: i64,
) -> Result<Option<Vec<DirectoryChange>>, StoreError> {
    if !store.has_replica().await? {
        return Ok(None);
    }
    let (ex, rs) = store.replica_groups().await?;
    if (ex, rs) != (snapshot.exchange_group, snapshot.rsemail_group) {
        return Ok(None);
    }
    let mut pending: HashMap<String, usize> = snapshot
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.guid.to_string(), i))
        .collect();
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let rows = store.replica_page(&after, page).await?;
        diff_rows(&snapshot.objects, &mut pending, &rows, &mut out)?;
        match rows.last() {
            Some((g, _)) if rows.len() as i64 == page => after = g.clone(),
            _ => break,
        }
    }
    let mut new: Vec<usize> = pending.into_values().collect();
    new.sort_unstable();
    out.extend(
        new.into_iter()
            .map(|i| DirectoryChange::Upsert(snapshot.objects[i].clone())),
    );
    Ok(Some(out))
}

/// Applies incremental changes to a replica; returns the upserted GUIDs and the deleted ones.
pub fn apply_changes(
    replica: &mut DirectorySnapshot,
    changes: &DirectoryChanges,
) -> (std::collections::HashSet<Guid>, Vec<Guid>) {
    let mut by_guid: BTreeMap<Guid, DirectoryObject> =
        replica.objects.drain(..).map(|o| (o.guid, o)).collect();
    let mut upserts = std::collections::HashSet::new();
    let mut deletes = Vec::new();
    for c in &changes.changes {
        match c {
            DirectoryChange::Upsert(o) => {
                upserts.insert(o.guid);
                by_guid.insert(o.guid, o.clone());
            }
            DirectoryChange::Delete { guid, .. } => {
                upserts.remove(guid);
                by_guid.remove(guid);
                deletes.push(*guid);
            }
        }
    }
    replica.objects = by_guid.into_values().collect();
    (upserts, deletes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dirsync_model::{Guid, ObjectKind};

    fn obj(n: u8, title: &str) -> DirectoryObject {
        let mut o = DirectoryObject::new(
            Guid::from_canonical_bytes([n; 16]),
            ObjectKind::User,
            format!("CN=u{n},DC=example,DC=com"),
        );
        o.info.title = Some(title.into());
        o
    }

    fn row(o: &DirectoryObject) -> ReplicaRow {
        (o.guid.to_string(), serde_json::to_string(o).unwrap())
    }

    /// (replica, new read, expected: upserted numbers, deleted numbers)
    #[test]
    fn stored_rows_against_a_new_read() {
        type Case<'a> = (&'a [(u8, &'a str)], &'a [(u8, &'a str)], &'a [u8], &'a [u8]);
        let cases: [Case<'_>; 6] = [
            (&[], &[], &[], &[]),
            (&[(1, "a"), (2, "b")], &[(1, "a"), (2, "b")], &[], &[]),
            (&[(1, "a"), (2, "b")], &[(2, "b"), (1, "a")], &[], &[]),
            (&[(1, "a"), (2, "b")], &[(1, "a"), (2, "c")], &[2], &[]),
            (&[(1, "a"), (2, "b")], &[(1, "a")], &[], &[2]),
            (
                &[(1, "a")],
                &[(3, "x"), (1, "z"), (2, "y")],
                &[1, 3, 2],
                &[],
            ),
        ];
        for (stored, read, ups, dels) in cases {
            let objects: Vec<DirectoryObject> = read.iter().map(|(n, t)| obj(*n, t)).collect();
            let mut pending: HashMap<String, usize> = objects
                .iter()
                .enumerate()
                .map(|(i, o)| (o.guid.to_string(), i))
                .collect();
            let rows: Vec<ReplicaRow> = stored.iter().map(|(n, t)| row(&obj(*n, t))).collect();
            let mut out = Vec::new();
            // One row per page: the result must not depend on the paging.
            for r in &rows {
                diff_rows(&objects, &mut pending, std::slice::from_ref(r), &mut out).unwrap();
            }
            let mut rest: Vec<usize> = pending.into_values().collect();
            rest.sort_unstable();
            out.extend(
                rest.into_iter()
                    .map(|i| DirectoryChange::Upsert(objects[i].clone())),
            );
            let got_ups: Vec<u8> = out
                .iter()
                .filter_map(|c| match c {
                    DirectoryChange::Upsert(o) => Some(o.guid.canonical_bytes()[0]),
                    _ => None,
                })
                .collect();
            let got_dels: Vec<u8> = out
                .iter()
                .filter_map(|c| match c {
                    DirectoryChange::Delete { guid, last_dn } => {
                        assert!(last_dn.as_deref().unwrap().starts_with("CN=u"));
                        Some(guid.canonical_bytes()[0])
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(
                (got_ups.as_slice(), got_dels.as_slice()),
                (ups, dels),
                "{stored:?} -> {read:?}"
            );
        }
    }

    #[tokio::test]
    async fn streams_the_replica_in_pages_and_refuses_a_changed_scope() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let g = Guid::from_canonical_bytes([200; 16]);
        let mut snap = DirectorySnapshot {
            exchange_group: Some(g),
            rsemail_group: None,
            objects: (0..150u8).map(|n| obj(n, "t")).collect(),
        };
        // No replica yet.
        assert_eq!(changes_since_replica(&s, &snap).await.unwrap(), None);
        s.commit_directory(Some(&snap), &[], &[], None)
            .await
            .unwrap();
        assert_eq!(
            changes_since_replica(&s, &snap).await.unwrap(),
            Some(vec![])
        );
        snap.objects[7].info.title = Some("changed".into());
        snap.objects.remove(3);
        for page in [1, 7, 149, 150, 2_000] {
            let got = changes_paged(&s, &snap, page).await.unwrap().unwrap();
            assert!(
                matches!(&got[..], [DirectoryChange::Delete { .. }, DirectoryChange::Upsert(o)] if o.info.title.as_deref() == Some("changed")),
                "page {page}: {got:?}"
            );
        }
        snap.exchange_group = None;
        assert_eq!(changes_since_replica(&s, &snap).await.unwrap(), None);
    }
}
