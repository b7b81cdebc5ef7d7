//! Reading the directory: LDIF or LDAP, full or incremental.
//!
//! The engine decides nothing about where the directory comes from; this
//! module turns the configuration into a `dirsync-directory` reader, reads
//! incrementally with the engine's stored cookie when it can, and falls back
//! to a full read on the first run, when asked, when the cookie is refused or
//! stale. LDIF files have no change tracking: a file with the fingerprint
//! of the last committed run's is "no change" without being parsed, and
//! another one is streamed and compared with the committed replica
//! ([`crate::ldif_diff`]), or, for a full sync, staged in the engine's
//! state store as it is read (`DirectoryRead::Staged`; `dirsync check`
//! still reads it whole).

use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use dirsync_directory::{Incremental, LdapConfig, LdapSource, Scope};
use dirsync_engine::staged::{StagedRead, Stager};
use dirsync_engine::Engine;
use dirsync_model::{
    ChangeTracking, DirectoryChanges, DirectoryObject, DirectorySnapshot, Finding,
};

use crate::ldif_fingerprint;

use crate::config::{Loaded, SourceKind};

/// What one read produced.
#[derive(Debug)]
pub enum DirectoryRead {
    /// Everything in scope. `cookie` is the change-tracking position to store
    /// with this run (LDAP only); `reason` says why the read was full.
    Full {
        snapshot: DirectorySnapshot,
        cookie: Option<Vec<u8>>,
        reason: String,
    },
    /// What changed since the stored cookie.
    Changes(DirectoryChanges),
    /// Everything in scope, staged in the engine's state store as it was
    /// read ([`Engine::stage_full`]): an LDIF full read for a run.
    Staged {
        read: StagedRead,
        cookie: Option<Vec<u8>>,
        reason: String,
    },
}

/// The configured scope (service groups).
pub fn scope(loaded: &Loaded) -> Result<Scope> {
    let d = &loaded.config.directory;
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Scope::new(
        nonempty(&d.exchange_group).as_deref(),
        nonempty(&d.rsemail_group).as_deref(),
    )?)
}

/// LDAP settings from the configuration (the password from the secrets).
pub fn ldap_config(loaded: &Loaded) -> LdapConfig {
    let d = &loaded.config.directory;
    let password = loaded
        .secrets
        .ldap_bind_password
        .clone()
        .unwrap_or_default();
    let mut cfg = LdapConfig::new(
        d.url.clone().unwrap_or_default(),
        d.bind_dn.clone().unwrap_or_default(),
        password,
    );
    cfg.base_dn = d.base_dn.clone().filter(|b| !b.trim().is_empty());
    cfg.ca_file = d
        .ca_file
        .as_deref()
        .map(|p| crate::config::resolve(&loaded.path, p));
    cfg.timeout = d.timeout;
    cfg
}

/// Reads the LDIF file once it has settled, streamed
/// ([`crate::ldif_diff::snapshot_file`]), with the fingerprint of the bytes
/// read and the findings of the records that could not be read.
///
/// A record in scope that cannot be read stands as its object was last
/// synced, from the replica of `replica` (so a full sync neither updates
/// nor disables it); an object never synced is left out (not created).
/// Only when such a record has no readable objectGUID and a replica
/// exists is the file refused: which synced object it is cannot be known,
/// and leaving it out would disable it.
async fn read_ldif(
    loaded: &Loaded,
    scope: &Scope,
    replica: Option<&Engine>,
) -> Result<(DirectorySnapshot, Vec<u8>, Vec<Finding>)> {
    let mut objects = Vec::new();
    let (mut snapshot, fingerprint, findings) =
        read_ldif_into(loaded, scope, replica, Sink::Whole(&mut objects)).await?;
    snapshot.objects = objects;
    Ok((snapshot, fingerprint, findings))
}

/// Where an LDIF read puts its objects.
enum Sink<'a> {
    /// Collected, for a snapshot held whole.
    Whole(&'a mut Vec<DirectoryObject>),
    /// Staged in the engine's state store a chunk at a time.
    Staged(&'a mut Stager),
}

impl Sink<'_> {
    async fn put(&mut self, chunk: Vec<DirectoryObject>) -> Result<()> {
        match self {
            Sink::Whole(v) => v.extend(chunk),
            Sink::Staged(s) => s.push(&chunk).await?,
        }
        Ok(())
    }
}

/// Objects a staged LDIF read hands the engine at a time.
const STAGE_CHUNK: usize = 500;

/// [`read_ldif`], putting the objects into `sink` as they are read: the
/// snapshot returned holds the service groups and no object.
async fn read_ldif_into(
    loaded: &Loaded,
    scope: &Scope,
    replica: Option<&Engine>,
    mut sink: Sink<'_>,
) -> Result<(DirectorySnapshot, Vec<u8>, Vec<Finding>)> {
    let path = loaded
        .ldif_path()
        .context("directory.ldif_path is not set")?;
    let settle = loaded.config.directory.ldif_settle;
    let before = settled(&path, settle).await?;
    let (p, s) = (path.clone(), scope.clone());
    // The blocking parse hands chunks over a short channel: at most a few
    // chunks wait while the sink writes one.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<DirectoryObject>>(2);
    let parse = tokio::task::spawn_blocking(move || {
        let mut chunk = Vec::with_capacity(STAGE_CHUNK);
        let read = crate::ldif_diff::read_file(&p, &s, |o| {
            chunk.push(o);
            if chunk.len() == STAGE_CHUNK {
                // A closed channel: the sink failed, and reports it.
                let _ = tx.blocking_send(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(STAGE_CHUNK),
                ));
            }
        });
        if !chunk.is_empty() {
            let _ = tx.blocking_send(chunk);
        }
        read
    });
    while let Some(chunk) = rx.recv().await {
        sink.put(chunk).await?;
    }
    let mut read = parse
        .await
        .context("the LDIF read stopped")?
        .with_context(|| format!("{} (directory.ldif_path)", path.display()))?;
    unchanged_since(&path, settle, before)?;
    // The size and time the settled read saw (a change since only makes the
    // next run read the file again: the hash is of the text read).
    let mut fingerprint = ldif_fingerprint::of_digest(ldif_fingerprint::stat(&path)?, &read.digest);
    if !read.held.is_empty() {
        let engine = match replica {
            Some(e) if e.has_replica().await? => Some(e),
            _ => None,
        };
        if let Some(engine) = engine {
            if let Some(b) = read.held.iter().find(|b| b.guid.is_none()) {
                anyhow::bail!(
                    "{} (directory.ldif_path): LDIF line {}: {}; a full sync cannot tell which synced object this \
                     record is (no readable objectGUID), so the file is not applied: fix the record and export \
                     the file again (an incremental run holds the objects as last synced instead)",
                    path.display(),
                    b.line,
                    b.detail
                );
            }
            let guids: Vec<_> = read.held.iter().filter_map(|b| b.guid).collect();
            let last = engine.replica_objects(&guids).await?;
            for b in &mut read.held {
                if last.iter().any(|o| Some(o.guid) == b.guid) {
                    b.effect = Some(crate::ldif_findings::Effect::Kept);
                }
            }
            sink.put(last).await?;
        }
        fingerprint = ldif_fingerprint::read_again(fingerprint);
    }
    crate::ldif_diff::log_unreadable(&path, &read.held, &read.unread);
    let mut unreadable = std::mem::take(&mut read.held);
    unreadable.append(&mut read.unread);
    let findings = crate::ldif_findings::findings(&path.display().to_string(), &unreadable);
    Ok((read.snapshot, fingerprint, findings))
}

/// The longest a read waits for an LDIF file to settle before leaving it
/// to the next run.
const MAX_SETTLE_WAIT: Duration = Duration::from_secs(60);

/// The size and modification time of a file.
pub(crate) type FileStat = (u64, Option<SystemTime>);

fn file_stat(path: &Path) -> Result<FileStat> {
    let m = std::fs::metadata(path).with_context(|| {
        format!(
            "cannot read the LDIF file {} (directory.ldif_path)",
            path.display()
        )
    })?;
    Ok((m.len(), m.modified().ok()))
}

fn still_written(path: &Path, settle: Duration, why: String) -> anyhow::Error {
    anyhow::anyhow!(
        "the LDIF file {} is still being written ({why}); it is not applied, and the next run reads it again. \
         Let the export finish before the sync (directory.ldif_settle is {})",
        path.display(),
        crate::config::format_duration(settle)
    )
}

/// Waits, once, for a file modified less than `settle` ago to settle;
/// fails when it changed meanwhile (another program may still be writing
/// it: the next run reads it again, instead of taking it whole). Returns its size and time, to compare
/// with those after the read ([`unchanged_since`]).
pub(crate) async fn settled(path: &Path, settle: Duration) -> Result<FileStat> {
    let age = |t: Option<SystemTime>| {
        t.map(|t| {
            SystemTime::now()
                .duration_since(t)
                .unwrap_or(Duration::ZERO)
        })
        .unwrap_or(Duration::MAX)
    };
    let before = file_stat(path)?;
    let young = age(before.1);
    if young < settle {
        // One wait, never longer than a scheduled run should hang on it.
        tokio::time::sleep((settle - young).min(MAX_SETTLE_WAIT)).await;
        let again = file_stat(path)?;
        if again != before || age(again.1) < settle {
            return Err(still_written(
                path,
                settle,
                format!(
                    "it changed within the last {}",
                    crate::config::format_duration(settle)
                ),
            ));
        }
        return Ok(again);
    }
    Ok(before)
}

/// Fails when the file's size or modification time changed since
/// `before`: it was written while it was read.
pub(crate) fn unchanged_since(path: &Path, settle: Duration, before: FileStat) -> Result<()> {
    let after = file_stat(path)?;
    if after != before {
        return Err(still_written(
            path,
            settle,
            format!(
                "its size or modification time changed while it was read: {} bytes before, {} after",
                before.0, after.0
            ),
        ));
    }
    Ok(())
}

/// Connects and binds (the preflight's directory test); returns a description.
pub async fn probe(loaded: &Loaded) -> Result<String> {
    let scope = scope(loaded)?;
    match loaded.config.directory.source {
        SourceKind::Ldif => {
            let (snap, _, _) = read_ldif(loaded, &scope, None).await?;
            Ok(format!(
                "read {} ({} objects in scope)",
                loaded.ldif_path().unwrap_or_default().display(),
                snap.objects.len()
            ))
        }
        SourceKind::Ldap => {
            let cfg = ldap_config(loaded);
            let url = cfg.url.clone();
            let bind = cfg.bind_dn.clone();
            let src = LdapSource::connect(cfg).await?;
            let base = src.base_dn().to_string();
            src.unbind().await;
            Ok(format!("bound to {url} as {bind} (base {base})"))
        }
    }
}

/// Reads the whole directory, for a prediction that commits nothing
/// (`dirsync check`), with the findings of the read (an LDIF record that
/// cannot be read stands as last synced in `replica`'s store).
pub async fn read_whole(
    loaded: &Loaded,
    replica: Option<&Engine>,
) -> Result<(DirectorySnapshot, Vec<Finding>)> {
    match read(loaded, None, true, replica, false).await? {
        (DirectoryRead::Full { snapshot, .. }, findings) => Ok((snapshot, findings)),
        (DirectoryRead::Changes(_) | DirectoryRead::Staged { .. }, _) => anyhow::bail!(
            "the directory answered a full read with changes only; run `dirsync check` again"
        ),
    }
}

/// Reads the directory: incrementally from `cookie` unless `full`. An
/// LDIF file is compared with the committed replica of `replica` (when
/// given and not `full`), streamed ([`crate::ldif_diff`]); it is read whole
/// when there is no replica or the scope's service groups changed. With
/// the read, its findings for the run report (LDIF records that could not
/// be read: [`crate::ldif_findings`]).
pub async fn read(
    loaded: &Loaded,
    cookie: Option<&[u8]>,
    full: bool,
    replica: Option<&Engine>,
    stage: bool,
) -> Result<(DirectoryRead, Vec<Finding>)> {
    let scope = scope(loaded)?;
    match loaded.config.directory.source {
        SourceKind::Ldif => {
            let path = loaded
                .ldif_path()
                .context("directory.ldif_path is not set")?;
            // The same file as the committed run's: nothing changed.
            if let Some(c) = cookie.filter(|_| !full) {
                if ldif_fingerprint::unchanged(&path, c)? {
                    let read = DirectoryRead::Changes(DirectoryChanges {
                        changes: Vec::new(),
                        cookie: c.to_vec(),
                        method: ChangeTracking::LdifDiff,
                    });
                    return Ok((read, Vec::new()));
                }
            }
            if let Some(engine) = replica.filter(|_| !full) {
                if let Some((d, findings)) =
                    crate::ldif_diff::read_changes(loaded, &scope, engine).await?
                {
                    return Ok((DirectoryRead::Changes(d), findings));
                }
            }
            let reason =
                "LDIF source: the file changed since the last run, or a full sync was asked for"
                    .to_string();
            if let Some(engine) = replica.filter(|_| stage) {
                let mut stager = engine.stage_full().await?;
                let (groups, fingerprint, findings) =
                    read_ldif_into(loaded, &scope, replica, Sink::Staged(&mut stager)).await?;
                let read = DirectoryRead::Staged {
                    read: stager
                        .finish(groups.exchange_group, groups.rsemail_group)
                        .await?,
                    cookie: Some(fingerprint),
                    reason,
                };
                return Ok((read, findings));
            }
            let (snapshot, fingerprint, findings) = read_ldif(loaded, &scope, replica).await?;
            let read = DirectoryRead::Full {
                snapshot,
                cookie: Some(fingerprint),
                reason,
            };
            Ok((read, findings))
        }
        SourceKind::Ldap => {
            let mut src = LdapSource::connect(ldap_config(loaded)).await?;
            // An LDIF fingerprint (the source was switched) is no position.
            let cookie =
                if full { None } else { cookie }.filter(|c| !ldif_fingerprint::is_fingerprint(c));
            let out = src.incremental(&scope, cookie).await;
            src.unbind().await;
            let read = match out? {
                Incremental::Changes(c) => DirectoryRead::Changes(c),
                Incremental::FullResync {
                    snapshot,
                    cookie,
                    reason,
                    ..
                } => {
                    let reason = if full {
                        "full sync requested".to_string()
                    } else {
                        reason.to_string()
                    };
                    DirectoryRead::Full {
                        snapshot,
                        cookie: Some(cookie),
                        reason,
                    }
                }
            };
            Ok((read, Vec::new()))
        }
    }
}
