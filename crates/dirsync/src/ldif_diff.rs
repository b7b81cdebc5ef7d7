//! An LDIF rerun that costs what changed (issue 12): the file streamed
//! twice and compared with the committed replica object by object.
//!
//! Why: before, a changed file was read into one string, parsed whole into
//! a snapshot and compared with the replica page by page: at 50,000 users
//! that was 5.6 s and 308 MB for 500 changed titles. Here neither the text
//! nor the snapshot is ever held. Pass one
//! ([`dirsync_directory::ldif_scope::LdifScope::scan`]) keeps 16 bytes
//! per record and resolves the scope; pass two hands each object in scope
//! to the replica's index of content hashes
//! ([`dirsync_engine::replica_diff::ReplicaIndex`]), which keeps only the
//! objects that changed. What the read never met is the deletions.
//!
//! Both passes hash the bytes they read: the fingerprint cookie is that of
//! exactly the text compared, and a file rewritten between the passes (or
//! whose size or time moved) is refused like one still being written.
//!
//! A record that cannot be read stops nothing else: it is a finding of the
//! run (DS107, [`crate::ldif_findings`]) with its line, and its object stays
//! as last synced (neither updated nor taken as gone). When the read cannot
//! tell which object such a record is (no readable objectGUID), no object
//! is taken as gone this run. The cookie committed then makes the next run
//! read the file again ([`ldif_fingerprint::read_again`]), so every run
//! reports the record until it is fixed.

use std::collections::HashSet;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dirsync_directory::entry::dn_key;
use dirsync_directory::ldif_scope::{Found, LdifScope};
use dirsync_directory::Scope;
use dirsync_engine::replica_diff::ReplicaIndex;
use dirsync_engine::Engine;
use dirsync_model::{
    ChangeTracking, DirectoryChange, DirectoryChanges, DirectoryObject, DirectorySnapshot, Finding,
    Guid,
};
use sha2::{Digest, Sha256};

use crate::config::Loaded;
use crate::ldif_findings::{Effect, Unreadable};
use crate::ldif_fingerprint;

/// Bytes read from the file at a time.
const BUFFER: usize = 1 << 20;

/// What pass two found, before the deletions are looked up.
#[derive(Debug, Default)]
struct FileDiff {
    /// Objects new or changed since the replica.
    upserts: Vec<DirectoryObject>,
    /// Replica objects the read never met.
    unseen: Vec<Guid>,
    /// Records in scope that could not be read (kept as last synced).
    held: Vec<Unreadable>,
    /// Records out of scope that could not be read (reported only).
    unread: Vec<Unreadable>,
    /// The DN keys of the held records.
    held_dns: HashSet<String>,
    /// A held record has no readable objectGUID: no object is taken as
    /// gone this run.
    hold_all: bool,
    /// The SHA-256 of the file's bytes.
    digest: Vec<u8>,
    /// How long each pass took (for the log).
    pass_ms: [u128; 2],
}

/// A reader that hashes what it reads.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn open(path: &Path) -> Result<BufReader<Hashing<std::fs::File>>> {
    let f = std::fs::File::open(path).with_context(|| {
        format!(
            "cannot read the LDIF file {} (directory.ldif_path)",
            path.display()
        )
    })?;
    Ok(BufReader::with_capacity(
        BUFFER,
        Hashing {
            inner: f,
            hash: Sha256::new(),
        },
    ))
}

/// Both passes over the file (blocking): `None` when the file's service
/// groups are not the replica's (the scope changed: a full sync).
fn diff_file(path: &Path, scope: &Scope, mut index: ReplicaIndex) -> Result<Option<FileDiff>> {
    let t = std::time::Instant::now();
    let mut src = open(path)?;
    let ldif = LdifScope::scan(&mut src, scope)?;
    // Whatever the buffer read ahead is hashed: scan reads to the end.
    let digest = src.into_inner().hash.finalize().to_vec();
    if (ldif.exchange_group, ldif.rsemail_group) != index.groups() {
        tracing::info!("the LDIF file's service groups are not the replica's: a full sync");
        return Ok(None);
    }
    let mut out = FileDiff::default();
    out.pass_ms[0] = t.elapsed().as_millis();
    let t = std::time::Instant::now();
    let mut failed: Option<anyhow::Error> = None;
    let mut src = open(path)?;
    let unread = ldif.read(&mut src, |found| match found {
        Found::Object { object, .. } => match index.compare(object) {
            Ok(Some(changed)) => out.upserts.push(changed),
            Ok(None) => {}
            Err(e) => {
                failed.get_or_insert(e.into());
            }
        },
        Found::Held(b) => {
            let effect = match b.partial.guid() {
                Ok(g) if index.hold(g) => Effect::Kept,
                Ok(_) => Effect::NotSynced,
                Err(_) => {
                    out.hold_all = true;
                    Effect::Kept
                }
            };
            if let Some(dn) = &b.dn {
                out.held_dns.insert(dn_key(dn));
            }
            out.held.push(Unreadable::of(&b, Some(effect)));
        }
    })?;
    out.unread = unread.iter().map(|b| Unreadable::of(b, None)).collect();
    if let Some(e) = failed {
        return Err(e);
    }
    if src.into_inner().hash.finalize().as_slice() != digest.as_slice() {
        anyhow::bail!(
            "the LDIF file {} changed while it was read (its two passes read different content); it is not applied, \
             and the next run reads it again. Let the export finish before the sync",
            path.display()
        );
    }
    out.unseen = index.unseen();
    out.digest = digest;
    out.pass_ms[1] = t.elapsed().as_millis();
    Ok(Some(out))
}

/// A whole read of the LDIF file's scope (a full sync's).
#[derive(Debug)]
pub struct FullRead {
    pub snapshot: DirectorySnapshot,
    /// The SHA-256 of the bytes read.
    pub digest: Vec<u8>,
    /// Records in scope that could not be read: each object's GUID when
    /// it could be read (its last synced state may stand in for it).
    pub held: Vec<Unreadable>,
    /// Records out of scope that could not be read (reported only).
    pub unread: Vec<Unreadable>,
}

/// Reads the whole scope of the LDIF file, streamed (blocking): the
/// snapshot of a full sync, the SHA-256 of the bytes read, and the records
/// that could not be read. Neither the text nor the records out of scope
/// are held. The caller decides what stands in for a held record
/// ([`crate::source`]: the object as last synced).
pub fn snapshot_file(path: &Path, scope: &Scope) -> Result<FullRead> {
    let mut objects = Vec::new();
    let mut read = read_file(path, scope, |o| objects.push(o))?;
    read.snapshot.objects = objects;
    Ok(read)
}

/// [`snapshot_file`], handing each object in scope to `each` as it is
/// read rather than collecting them: the returned snapshot holds the
/// service groups and no object. Why: a full sync stages the objects in
/// the state store as they pass (`dirsync_engine::staged`), never holding
/// the directory whole.
pub fn read_file(
    path: &Path,
    scope: &Scope,
    mut each: impl FnMut(DirectoryObject),
) -> Result<FullRead> {
    let mut src = open(path)?;
    let ldif = LdifScope::scan(&mut src, scope)?;
    let digest = src.into_inner().hash.finalize().to_vec();
    let mut held: Vec<Unreadable> = Vec::new();
    let mut src = open(path)?;
    let unread = ldif.read(&mut src, |found| match found {
        Found::Object { object, .. } => each(object),
        Found::Held(b) => held.push(Unreadable::of(&b, Some(Effect::NotSynced))),
    })?;
    if src.into_inner().hash.finalize().as_slice() != digest.as_slice() {
        anyhow::bail!(
            "the LDIF file {} changed while it was read (its two passes read different content); it is not applied, \
             and the next run reads it again. Let the export finish before the sync",
            path.display()
        );
    }
    let snapshot = DirectorySnapshot {
        exchange_group: ldif.exchange_group,
        rsemail_group: ldif.rsemail_group,
        objects: Vec::new(),
    };
    Ok(FullRead {
        snapshot,
        digest,
        held,
        unread: unread.iter().map(|b| Unreadable::of(b, None)).collect(),
    })
}

/// Streams the LDIF file and compares it with the committed replica:
/// `None` when only a full read can take it (no replica yet, or the scope's
/// service groups changed).
pub async fn read_changes(
    loaded: &Loaded,
    scope: &Scope,
    engine: &Engine,
) -> Result<Option<(DirectoryChanges, Vec<Finding>)>> {
    let path: PathBuf = loaded
        .ldif_path()
        .context("directory.ldif_path is not set")?;
    let settle = loaded.config.directory.ldif_settle;
    let before = crate::source::settled(&path, settle).await?;
    let t = std::time::Instant::now();
    let Some(index) = engine.replica_index().await? else {
        return Ok(None);
    };
    let index_ms = t.elapsed().as_millis();
    let replica = index.len();
    let (p, s) = (path.clone(), scope.clone());
    let diff = tokio::task::spawn_blocking(move || diff_file(&p, &s, index))
        .await
        .context("the LDIF read stopped")?
        .with_context(|| format!("{} (directory.ldif_path)", path.display()))?;
    let Some(diff) = diff else {
        return Ok(None);
    };
    crate::source::unchanged_since(&path, settle, before)?;
    let mut fingerprint = ldif_fingerprint::of_digest(ldif_fingerprint::stat(&path)?, &diff.digest);
    if !diff.held.is_empty() {
        fingerprint = ldif_fingerprint::read_again(fingerprint);
    }
    log_unreadable(&path, &diff.held, &diff.unread);
    let mut unreadable = diff.held.clone();
    unreadable.extend(diff.unread.iter().cloned());
    let findings = crate::ldif_findings::findings(&path.display().to_string(), &unreadable);
    let mut changes: Vec<DirectoryChange> = if diff.hold_all {
        if !diff.unseen.is_empty() {
            tracing::warn!(
                objects = diff.unseen.len(),
                "an LDIF record in scope has no readable objectGUID, so the objects missing from the file are \
                 not taken as gone this run; fix the record named above"
            );
        }
        Vec::new()
    } else {
        engine
            .replica_deletions(&diff.unseen)
            .await?
            .into_iter()
            .filter(|c| match c {
                DirectoryChange::Delete {
                    last_dn: Some(dn), ..
                } => !diff.held_dns.contains(&dn_key(dn)),
                _ => true,
            })
            .collect()
    };
    tracing::info!(
        replica = replica,
        changed = diff.upserts.len(),
        gone = changes.len(),
        held = diff.held.len(),
        index_ms,
        scope_ms = diff.pass_ms[0],
        compare_ms = diff.pass_ms[1],
        "LDIF file compared with the replica"
    );
    changes.extend(diff.upserts.into_iter().map(DirectoryChange::Upsert));
    Ok(Some((
        DirectoryChanges {
            changes,
            cookie: fingerprint,
            method: ChangeTracking::LdifDiff,
        },
        findings,
    )))
}

/// Logs each record that could not be read, with its line and what to do
/// (the run report has them as findings too).
pub(crate) fn log_unreadable(path: &Path, held: &[Unreadable], unread: &[Unreadable]) {
    for b in held {
        tracing::warn!(
            file = %path.display(),
            line = b.line,
            dn = b.dn.as_deref().unwrap_or(""),
            "LDIF line {}: {}; this object is left as last synced until the record is fixed: correct it in the directory \
             and export the file again",
            b.line,
            b.detail
        );
    }
    for b in unread {
        tracing::warn!(
            file = %path.display(),
            line = b.line,
            dn = b.dn.as_deref().unwrap_or(""),
            "LDIF line {}: {}; the record is outside the sync scope and ignored: correct it, or leave it out of the export",
            b.line,
            b.detail
        );
    }
}
