//! A full directory read staged in the state store as it is read, never
//! held whole.
//!
//! Why: at 100,000 users the whole `DirectorySnapshot` of a full read
//! held about 190 MB, and the mapping then built the desired state beside
//! it. A source hands its objects to a [`Stager`] a chunk at a time; each
//! chunk is written to the staging table (`replica_next`, which the run's
//! commit makes the replica) and only a compact index of it is kept
//! ([`StagedIndex`]): every object's GUID, kind, DN and label, with the
//! groups whole (their members drive the scope, the lists and the group
//! safety limits). The mapping then reads the objects it maps back from
//! the staging table a batch at a time (`mapping_staged.rs`).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use dirsync_model::{DirectoryObject, Guid, ObjectKind};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::guard::Membership;
use crate::store::{Store, StoreError};

/// Objects staged per transaction. Why: each commit is synced to disk;
/// a transaction per chunk of 500 made a 100,000-user read 6 s slower
/// than the read held whole.
const OBJECTS_PER_COMMIT: usize = 5000;

/// One object of the staged read, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub guid: Guid,
    pub kind: ObjectKind,
    /// The DN as read.
    pub dn: Box<str>,
    /// [`DirectoryObject::label`], for messages naming a list's member.
    pub label: Box<str>,
}

/// What the run needs of the whole read before and while it maps, taken
/// as the objects pass: a few dozen bytes per object instead of the
/// object (about 1.7 KB per user).
#[derive(Debug, Default)]
pub struct StagedIndex {
    /// Every object, in the order read.
    pub(crate) entries: Vec<Entry>,
    /// The lower-case DN's 128-bit key -> the index of the last object
    /// read with it (as the whole-snapshot mapping's index: the last of a
    /// DN wins).
    by_dn: HashMap<u128, u32>,
    /// Groups, and any object naming members, whole: the last read with
    /// each GUID.
    groups: HashMap<Guid, DirectoryObject>,
}

/// A 128-bit key of a DN, compared as the mapping compares DNs (trimmed,
/// ASCII case folded). The index holds keys, not the DNs' lower-case
/// copies.
pub(crate) fn dn_hash(dn: &str) -> u128 {
    hash128(dn.trim().bytes().map(|b| b.to_ascii_lowercase()))
}

/// A 128-bit key of some bytes: two 64-bit SipHash values of distinct
/// prefixes (a collision among a directory's million keys is about as
/// likely as 2^-88).
pub(crate) fn hash128(bytes: impl Iterator<Item = u8> + Clone) -> u128 {
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        for b in bytes.clone() {
            h.write_u8(b);
        }
        h.finish() as u128
    };
    (half(1) << 64) | half(2)
}

impl StagedIndex {
    /// Records one object read.
    pub(crate) fn add(&mut self, o: &DirectoryObject) {
        let i = self.entries.len() as u32;
        self.entries.push(Entry {
            guid: o.guid,
            kind: o.kind,
            dn: o.dn.as_str().into(),
            label: o.label().into(),
        });
        self.by_dn.insert(dn_hash(&o.dn), i);
        if o.kind == ObjectKind::Group || !o.members.is_empty() {
            self.groups.insert(o.guid, o.clone());
        }
    }

    /// The index of the object a DN names, if the read holds one.
    pub(crate) fn of_dn(&self, dn: &str) -> Option<usize> {
        self.by_dn.get(&dn_hash(dn)).map(|&i| i as usize)
    }

    /// The group (or member-naming object) with this GUID, whole; for an
    /// object without members, a stand-in with its DN and label and no
    /// members (all a group's reader needs of it).
    pub(crate) fn group(&self, guid: Guid) -> Option<std::borrow::Cow<'_, DirectoryObject>> {
        use std::borrow::Cow;
        if let Some(g) = self.groups.get(&guid) {
            return Some(Cow::Borrowed(g));
        }
        let e = self.entries.iter().rev().find(|e| e.guid == guid)?;
        let mut o = DirectoryObject::new(e.guid, e.kind, e.dn.to_string());
        o.info.display_name = Some(e.label.to_string());
        Some(Cow::Owned(o))
    }

    /// How many members the group with this GUID names (the read guard's
    /// count of a service group's members).
    pub(crate) fn members_of(&self, guid: Option<Guid>) -> usize {
        guid.and_then(|g| self.groups.get(&g))
            .map(|o| o.members.len())
            .unwrap_or(0)
    }

    /// The groups' membership ([`Membership::of`] of the read).
    pub(crate) fn membership(&self, service: [Option<Guid>; 2]) -> Membership {
        let groups: HashMap<Guid, &DirectoryObject> =
            self.groups.iter().map(|(g, o)| (*g, o)).collect();
        let stand_ins: Vec<DirectoryObject> = service
            .into_iter()
            .flatten()
            .filter(|g| !groups.contains_key(g))
            .filter_map(|g| self.group(g).map(std::borrow::Cow::into_owned))
            .collect();
        let mut groups = groups;
        for s in &stand_ins {
            groups.insert(s.guid, s);
        }
        crate::guard::membership_with(service, &groups, |dn| {
            self.of_dn(dn).map(|i| self.entries[i].guid)
        })
    }
}

/// A full read staged in the state store, with its index: what
/// `DirectoryInput::Staged` hands the engine instead of a snapshot.
#[derive(Debug)]
pub struct StagedRead {
    /// The Exchange service group, if configured and found.
    pub exchange_group: Option<Guid>,
    /// The Rackspace Email service group, if configured and found.
    pub rsemail_group: Option<Guid>,
    pub(crate) index: StagedIndex,
    /// Held until the run ends: one staged read at a time per engine
    /// (taken by the run that clears an uncommitted staging table).
    staging: Option<OwnedMutexGuard<()>>,
}

impl StagedRead {
    /// How many objects the read staged.
    pub fn len(&self) -> usize {
        self.index.entries.len()
    }

    /// True when the read staged nothing.
    pub fn is_empty(&self) -> bool {
        self.index.entries.is_empty()
    }

    /// Drops the index, keeping the staging table for the run's commit
    /// until the lock returned is dropped.
    pub(crate) fn into_lock(self) -> Option<OwnedMutexGuard<()>> {
        self.staging
    }

    /// The staging lock, for the caller to hold past this read's use: the
    /// run keeps it until it has emptied a staging table it did not commit.
    pub(crate) fn take_lock(&mut self) -> Option<OwnedMutexGuard<()>> {
        self.staging.take()
    }

    /// The service groups (Exchange, Rackspace Email).
    pub(crate) fn service(&self) -> [Option<Guid>; 2] {
        [self.exchange_group, self.rsemail_group]
    }
}

/// Writes a full read to the staging table as it arrives; see the
/// module's documentation. Made by `Engine::stage_full`.
pub struct Stager {
    store: Store,
    /// The open transaction and the objects written in it: a few
    /// thousand objects a commit (the store syncs each commit to disk).
    tx: Option<(sqlx::Transaction<'static, sqlx::Sqlite>, usize)>,
    index: StagedIndex,
    staging: OwnedMutexGuard<()>,
}

impl Stager {
    /// Empties the staging table, holding `lock` (the engine's staging
    /// lock) until the staged read's run ends.
    pub(crate) async fn begin(store: Store, lock: Arc<Mutex<()>>) -> Result<Stager, StoreError> {
        let staging = lock.lock_owned().await;
        store.stage_clear().await?;
        Ok(Stager {
            store,
            tx: None,
            index: StagedIndex::default(),
            staging,
        })
    }

    /// Stages a chunk of the read and indexes it.
    pub async fn push(&mut self, objects: &[DirectoryObject]) -> Result<(), StoreError> {
        let (mut tx, n) = match self.tx.take() {
            Some(t) => t,
            None => (self.store.pool.begin().await?, 0),
        };
        Store::stage_more(&mut tx, objects).await?;
        let n = n + objects.len();
        if n >= OBJECTS_PER_COMMIT {
            tx.commit().await?;
        } else {
            self.tx = Some((tx, n));
        }
        for o in objects {
            self.index.add(o);
        }
        Ok(())
    }

    /// How many objects are staged so far.
    pub fn len(&self) -> usize {
        self.index.entries.len()
    }

    /// True when nothing is staged yet.
    pub fn is_empty(&self) -> bool {
        self.index.entries.is_empty()
    }

    /// The read, once every object is staged, with its service groups.
    pub async fn finish(
        mut self,
        exchange_group: Option<Guid>,
        rsemail_group: Option<Guid>,
    ) -> Result<StagedRead, StoreError> {
        if let Some((tx, _)) = self.tx.take() {
            tx.commit().await?;
        }
        Ok(StagedRead {
            exchange_group,
            rsemail_group,
            index: self.index,
            staging: Some(self.staging),
        })
    }
}
