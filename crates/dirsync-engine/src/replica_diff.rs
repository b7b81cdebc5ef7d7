//! The changes a whole read of the directory makes to the stored replica.
//!
//! Why: a source with no change tracking of its own (an LDIF file) is read
//! whole every run. Handing that read to the engine as a full sync makes
//! every rerun cost a full sync. Compared with the replica it becomes the
//! short list of objects that changed, and the engine takes the cheap
//! incremental path (nothing at all to do when nothing changed).
//!
//! The comparison never holds the replica's objects: the replica keeps a
//! content hash per object (the SHA-256 of its stored JSON, migration
//! 0005), and a [`ReplicaIndex`] holds only the GUID and hash of each,
//! read from the state store a page at a time. Each object of the new
//! read is compared with it as it comes ([`ReplicaIndex::compare`]), so a
//! streamed reader keeps only the changed objects; what the read never
//! met is the deletions, whose last DN is then looked up by key.

use std::collections::{BTreeMap, HashMap};

use dirsync_model::{DirectoryChange, DirectoryChanges, DirectoryObject, DirectorySnapshot, Guid};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::store::{corrupt, Store, StoreError};

/// Rows read from the replica per query.
const PAGE: i64 = 5_000;

/// The content hash of an object as the replica stores it: the first 16
/// bytes of the SHA-256 of its JSON, in hex.
pub fn json_hash(json: &str) -> String {
    hex::encode(&Sha256::digest(json.as_bytes())[..16])
}

type Hash = [u8; 16];

fn raw_hash(json: &str) -> Hash {
    let d = Sha256::digest(json.as_bytes());
    let mut h = [0u8; 16];
    h.copy_from_slice(&d[..16]);
    h
}

/// What a comparison needs of the committed replica: its service groups
/// and each object's GUID and content hash (about 40 bytes an object),
/// never the objects themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaIndex {
    exchange_group: Option<Guid>,
    rsemail_group: Option<Guid>,
    hashes: HashMap<Guid, Hash>,
}

impl ReplicaIndex {
    /// An index of these objects (for tests and small replicas).
    pub fn of(snapshot: &DirectorySnapshot) -> Result<ReplicaIndex, StoreError> {
        let mut hashes = HashMap::with_capacity(snapshot.objects.len());
        for o in &snapshot.objects {
            let j = serde_json::to_string(o).map_err(|e| corrupt("replica object", e))?;
            hashes.insert(o.guid, raw_hash(&j));
        }
        Ok(ReplicaIndex {
            exchange_group: snapshot.exchange_group,
            rsemail_group: snapshot.rsemail_group,
            hashes,
        })
    }

    /// The service groups of the replica (Exchange, Rackspace Email): a
    /// read with other groups is a changed scope, which only a full sync
    /// takes.
    pub fn groups(&self) -> (Option<Guid>, Option<Guid>) {
        (self.exchange_group, self.rsemail_group)
    }

    /// Objects of the replica not met yet.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when every object of the replica was met.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Compares one object of the new read with the replica (pure): the
    /// object back when it is new or differs from the stored one, `None`
    /// when it is the replica's. Either way it is met (no deletion).
    pub fn compare(
        &mut self,
        object: DirectoryObject,
    ) -> Result<Option<DirectoryObject>, StoreError> {
        let j = serde_json::to_string(&object).map_err(|e| corrupt("replica object", e))?;
        let now = raw_hash(&j);
        Ok(match self.hashes.remove(&object.guid) {
            Some(h) if h == now => None,
            _ => Some(object),
        })
    }

    /// Marks an object met without comparing it (a record the reader could
    /// not read): the replica keeps it as it is. True when the replica
    /// holds it.
    pub fn hold(&mut self, guid: Guid) -> bool {
        self.hashes.remove(&guid).is_some()
    }

    /// The replica's objects the read never met, in GUID order: each left
    /// the scope or the directory.
    pub fn unseen(self) -> Vec<Guid> {
        let mut v: Vec<Guid> = self.hashes.into_keys().collect();
        v.sort_unstable();
        v
    }
}

/// The index of the committed replica, or `None` when no replica was
/// committed yet. Read a page at a time; rows stored before their hash
/// was kept (before migration 0005) are hashed here and the hash stored.
pub async fn replica_index(store: &Store) -> Result<Option<ReplicaIndex>, StoreError> {
    index_paged(store, PAGE).await
}

async fn index_paged(store: &Store, page: i64) -> Result<Option<ReplicaIndex>, StoreError> {
    if !store.has_replica().await? {
        return Ok(None);
    }
    let (exchange_group, rsemail_group) = store.replica_groups().await?;
    let mut index = ReplicaIndex {
        exchange_group,
        rsemail_group,
        hashes: HashMap::new(),
    };
    let mut after = String::new();
    loop {
        let rows = sqlx::query(
            "SELECT guid, hash, CASE WHEN hash IS NULL THEN object END AS object \
             FROM replica WHERE guid > ? ORDER BY guid LIMIT ?",
        )
        .bind(&after)
        .bind(page)
        .fetch_all(&store.pool)
        .await?;
        let mut backfill: Vec<(String, String)> = Vec::new();
        for r in &rows {
            let g: String = r.try_get("guid")?;
            let h: Option<String> = r.try_get("hash")?;
            let h = match h {
                Some(h) => h,
                None => {
                    let j: String = r.try_get("object")?;
                    let h = json_hash(&j);
                    backfill.push((g.clone(), h.clone()));
                    h
                }
            };
            let mut raw = [0u8; 16];
            hex::decode_to_slice(&h, &mut raw).map_err(|e| corrupt("replica hash", e))?;
            let guid: Guid = g.parse().map_err(|e| corrupt("replica guid", e))?;
            index.hashes.insert(guid, raw);
        }
        if !backfill.is_empty() {
            let mut tx = store.pool.begin().await?;
            for (g, h) in &backfill {
                sqlx::query("UPDATE replica SET hash = ? WHERE guid = ?")
                    .bind(h)
                    .bind(g)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == page => after = r.try_get("guid")?,
            _ => break,
        }
    }
    Ok(Some(index))
}

/// The deletions of these replica objects, each with its last DN, in
/// GUID order.
pub async fn deletions(store: &Store, guids: &[Guid]) -> Result<Vec<DirectoryChange>, StoreError> {
    let mut gone = store.replica_objects(guids).await?;
    gone.sort_by_key(|o| o.guid);
    Ok(gone
        .into_iter()
        .map(|o| DirectoryChange::Delete {
            guid: o.guid,
            last_dn: Some(o.dn),
        })
        .collect())
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
    let Some(mut index) = index_paged(store, page).await? else {
        return Ok(None);
    };
    if index.groups() != (snapshot.exchange_group, snapshot.rsemail_group) {
        return Ok(None);
    }
    let mut upserts = Vec::new();
    for o in &snapshot.objects {
        if let Some(o) = index.compare(o.clone())? {
            upserts.push(DirectoryChange::Upsert(o));
        }
    }
    let mut out = deletions(store, &index.unseen()).await?;
    out.append(&mut upserts);
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

    /// (replica, new read, expected: upserted numbers, unseen numbers)
    #[test]
    fn each_object_against_the_replica_index() {
        type Case<'a> = (&'a [(u8, &'a str)], &'a [(u8, &'a str)], &'a [u8], &'a [u8]);
        let cases: [Case<'_>; 7] = [
            (&[], &[], &[], &[]),
            (&[(1, "a"), (2, "b")], &[(1, "a"), (2, "b")], &[], &[]),
            (&[(1, "a"), (2, "b")], &[(2, "b"), (1, "a")], &[], &[]),
            (&[(1, "a"), (2, "b")], &[(1, "a"), (2, "c")], &[2], &[]),
            (&[(1, "a"), (2, "b")], &[(1, "a")], &[], &[2]),
            (&[(1, "a"), (2, "b")], &[], &[], &[1, 2]),
            (
                &[(1, "a"), (4, "w")],
                &[(3, "x"), (1, "z"), (2, "y")],
                &[3, 1, 2],
                &[4],
            ),
        ];
        for (stored, read, ups, unseen) in cases {
            let snap = |v: &[(u8, &str)]| DirectorySnapshot {
                objects: v.iter().map(|(n, t)| obj(*n, t)).collect(),
                ..Default::default()
            };
            let mut index = ReplicaIndex::of(&snap(stored)).unwrap();
            let got_ups: Vec<u8> = snap(read)
                .objects
                .into_iter()
                .filter_map(|o| index.compare(o).unwrap())
                .map(|o| o.guid.canonical_bytes()[0])
                .collect();
            let got_unseen: Vec<u8> = index
                .unseen()
                .iter()
                .map(|g| g.canonical_bytes()[0])
                .collect();
            assert_eq!(
                (got_ups.as_slice(), got_unseen.as_slice()),
                (ups, unseen),
                "{stored:?} -> {read:?}"
            );
        }
        // A held object is met: never unseen, never compared.
        let mut index = ReplicaIndex::of(&snap_of(&[1, 2])).unwrap();
        assert!(index.hold(obj(1, "t").guid));
        assert!(!index.hold(obj(9, "t").guid));
        assert_eq!(index.unseen(), vec![obj(2, "t").guid]);
    }

    fn snap_of(ns: &[u8]) -> DirectorySnapshot {
        DirectorySnapshot {
            objects: ns.iter().map(|n| obj(*n, "t")).collect(),
            ..Default::default()
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

    /// The hash is written with every row (committed or staged), and rows
    /// stored before it was kept are hashed on their first comparison.
    #[tokio::test]
    async fn hashes_are_stored_and_filled_in_for_older_rows() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).await.unwrap();
        let snap = DirectorySnapshot {
            exchange_group: Some(Guid::from_canonical_bytes([200; 16])),
            rsemail_group: None,
            objects: (0..30u8).map(|n| obj(n, "t")).collect(),
        };
        assert_eq!(replica_index(&s).await.unwrap(), None);
        s.stage_replica(&snap).await.unwrap();
        s.commit(crate::store::Commit {
            staged: Some((snap.exchange_group, None)),
            ..Default::default()
        })
        .await
        .unwrap();
        let nulls = || async {
            sqlx::query("SELECT count(*) AS n FROM replica WHERE hash IS NULL")
                .fetch_one(&s.pool)
                .await
                .unwrap()
                .get::<i64, _>("n")
        };
        assert_eq!(nulls().await, 0);
        let want = ReplicaIndex::of(&snap).unwrap();
        assert_eq!(replica_index(&s).await.unwrap().as_ref(), Some(&want));
        // As a replica written before migration 0005 has them.
        sqlx::query("UPDATE replica SET hash = NULL WHERE guid < ?")
            .bind(obj(20, "t").guid.to_string())
            .execute(&s.pool)
            .await
            .unwrap();
        assert_eq!(nulls().await, 20);
        for page in [7, 5_000] {
            assert_eq!(index_paged(&s, page).await.unwrap().as_ref(), Some(&want));
        }
        assert_eq!(nulls().await, 0);
        // An incremental commit stores the hash of what it upserts.
        let mut changed = obj(3, "new title");
        changed.mail = Some("x@example.com".into());
        s.commit_directory(None, &[&changed], &[], None)
            .await
            .unwrap();
        let mut index = replica_index(&s).await.unwrap().unwrap();
        assert_eq!(index.compare(changed).unwrap(), None);
        assert!(index.compare(obj(4, "other")).unwrap().is_some());
    }
}
