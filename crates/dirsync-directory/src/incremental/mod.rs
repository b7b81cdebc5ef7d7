//! Incremental reads: what changed in scope since a cookie.
//!
//! The primary mechanism is AD's DirSync control. DirSync reports changed
//! objects with only their changed attributes, so every changed object in
//! scope is re-read by GUID and reported complete. The cookie handed to the
//! caller is an envelope (see [`Cookie`]) holding the server's DirSync cookie
//! (or a uSNChanged high-water mark), a fingerprint of the scope, and the
//! GUIDs that were in scope, so that objects entering scope without changing
//! themselves (a user added to the group) are reported too, and deletions are
//! reported only for objects the caller knew.
//!
//! Fallbacks, always announced: no, unreadable or expired cookie, or a changed
//! scope → [`Incremental::FullResync`]; bind account without the
//! "Replicating Directory Changes" right → uSNChanged high-water marks
//! ([`ChangeTracking::UsnHighWater`]) and a warning.

mod batch;
mod cookie;
mod dirsync;
mod membership;

use std::collections::{HashMap, HashSet};

use dirsync_model::{ChangeTracking, DirectoryChange, DirectoryChanges, DirectorySnapshot, Guid};

use crate::entry::dn_key;
use crate::error::LdapSourceError;
use crate::ldap::{LdapSource, KINDS_FILTER};
use crate::scope::{Scope, ScopeError};

use dirsync::{DirSyncFailure, Walk};

pub use cookie::{scope_fingerprint, Cookie, Position, ServerMark};
pub(crate) use dirsync::dirsync_unavailable_advice;
pub(crate) use membership::scope_may_change;

/// The outcome of [`LdapSource::incremental`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incremental {
    /// What changed since the cookie. Persist `changes.cookie` once applied.
    Changes(DirectoryChanges),
    /// The changes could not be computed from the cookie, so everything in
    /// scope was read again. Treat it as a full read; persist `cookie`.
    FullResync {
        snapshot: DirectorySnapshot,
        cookie: Vec<u8>,
        method: ChangeTracking,
        reason: ResyncReason,
    },
}

/// Why an incremental read became a full read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResyncReason {
    /// No cookie was given (first run).
    NoCookie,
    /// The cookie is not one dirsync wrote, or is damaged.
    InvalidCookie(String),
    /// The server rejected the DirSync cookie (expired, or from another domain controller or domain).
    CookieRejected(String),
    /// The scope (service groups or base DN) changed since the cookie was written.
    ScopeChanged,
    /// The cookie was made with DirSync, which the bind account may no longer use.
    DirSyncUnavailable(String),
}

impl std::fmt::Display for ResyncReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResyncReason::NoCookie => f.write_str("no change-tracking cookie yet (first run): read everything in scope"),
            ResyncReason::InvalidCookie(w) => write!(f, "the stored change-tracking cookie is unusable ({w}): read everything in scope"),
            ResyncReason::CookieRejected(w) => write!(f, "the domain controller rejected the DirSync cookie ({w}); it may have expired or come from another domain controller: read everything in scope"),
            ResyncReason::ScopeChanged => f.write_str("the service groups or base DN changed since the last run: read everything in scope"),
            ResyncReason::DirSyncUnavailable(w) => write!(f, "DirSync is no longer available to the bind account ({w}): read everything in scope and track changes by uSNChanged"),
        }
    }
}

/// The answer when nothing in scope changed: no change, and a cookie with
/// the scope of the last one (`in_scope`, sorted) at the new `position`.
fn unchanged(
    scope_fingerprint: u64,
    position: Position,
    server: Option<ServerMark>,
    in_scope: Vec<Guid>,
) -> Incremental {
    let method = match position {
        Position::DirSync(_) => ChangeTracking::DirSync,
        Position::Usn(_) => ChangeTracking::UsnHighWater,
    };
    let cookie = Cookie {
        scope_fingerprint,
        position,
        server,
        in_scope,
    }
    .encode();
    Incremental::Changes(DirectoryChanges {
        changes: Vec::new(),
        cookie,
        method,
    })
}

impl LdapSource {
    /// Reads what changed in scope since `cookie` (or everything, when there is
    /// none or it cannot be used). See the module documentation.
    pub async fn incremental(
        &mut self,
        scope: &Scope,
        cookie: Option<&[u8]>,
    ) -> Result<Incremental, LdapSourceError> {
        if scope.exchange.is_none() && scope.rsemail.is_none() {
            return Err(ScopeError::Empty.into());
        }
        let Some(raw) = cookie.filter(|c| !c.is_empty()) else {
            return self.resync(scope, ResyncReason::NoCookie).await;
        };
        let env = match Cookie::decode(raw) {
            Ok(c) => c,
            Err(why) => return self.resync(scope, ResyncReason::InvalidCookie(why)).await,
        };
        if env.scope_fingerprint != scope_fingerprint(scope, &self.base_dn) {
            return self.resync(scope, ResyncReason::ScopeChanged).await;
        }
        // Read before the changes, so a write made while they are read moves
        // the DC past the mark and is looked at (again) next time.
        let mark = self.server_mark().await?;
        if mark.is_some() && mark == env.server {
            // Same DC, same database, nothing committed since: nothing changed.
            self.stats.idle_shortcuts += 1;
            tracing::debug!(usn = ?mark.as_ref().map(|m| m.usn), "the domain controller's highestCommittedUSN has not moved since the cookie: no changes, DirSync search skipped");
            let method = match env.position {
                Position::DirSync(_) => ChangeTracking::DirSync,
                Position::Usn(_) => ChangeTracking::UsnHighWater,
            };
            return Ok(Incremental::Changes(DirectoryChanges {
                changes: Vec::new(),
                cookie: raw.to_vec(),
                method,
            }));
        }
        self.stats.change_searches += 1;
        let mut in_scope = env.in_scope;
        // Written sorted: sorting again costs one pass, and lets the
        // usual idle case below look GUIDs up without building a set.
        in_scope.sort_unstable();
        in_scope.dedup();
        match env.position {
            Position::DirSync(c) => match self.dirsync(&c, Walk::Changes).await {
                Ok(delta) => {
                    if !scope_may_change(
                        scope,
                        |g| in_scope.binary_search(g).is_ok(),
                        &delta.changed,
                        &delta.deleted,
                        &delta.names,
                    ) {
                        // Nothing DirSync reported is in scope (the domain
                        // controller wrote something else): no change, the
                        // same scope, the new position.
                        return Ok(unchanged(
                            scope_fingerprint(scope, &self.base_dn),
                            Position::DirSync(delta.cookie),
                            mark,
                            in_scope,
                        ));
                    }
                    let prev: HashSet<Guid> = in_scope.into_iter().collect();
                    let current = self.update_scope(scope, &prev, &delta).await?;
                    self.finish(
                        scope,
                        prev,
                        current,
                        delta.changed,
                        delta.deleted,
                        Position::DirSync(delta.cookie),
                        mark,
                    )
                    .await
                }
                Err(DirSyncFailure::Rejected(why)) => {
                    self.resync(scope, ResyncReason::CookieRejected(why)).await
                }
                Err(DirSyncFailure::Unavailable(why)) => {
                    self.resync(scope, ResyncReason::DirSyncUnavailable(why))
                        .await
                }
                Err(DirSyncFailure::Other(e)) => Err(e),
            },
            Position::Usn(high) => {
                let prev: HashSet<Guid> = in_scope.into_iter().collect();
                let now = self.highest_usn().await?;
                let filter = format!("(&(uSNChanged>={}){KINDS_FILTER})", high + 1);
                let base = self.base_dn.clone();
                let mut changed: HashSet<Guid> = HashSet::new();
                self.paged_each(
                    &base,
                    &filter,
                    &["objectGUID"],
                    "searching for changes by uSNChanged",
                    |e| {
                        changed.extend(e.guid().ok());
                        Ok(())
                    },
                )
                .await?;
                // Without DirSync a deleted object simply stops appearing (and
                // its removal from a group does not always touch the group), so
                // the scope is read again every time to notice deletions.
                self.finish(
                    scope,
                    prev,
                    None,
                    changed,
                    HashMap::new(),
                    Position::Usn(now),
                    mark,
                )
                .await
            }
        }
    }

    /// Turns raw change sets into complete changes and a new cookie.
    /// `current` is the scope set now when it is known (carried forward or
    /// updated from the membership changes); `None` reads the scope again.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &mut self,
        scope: &Scope,
        prev: HashSet<Guid>,
        current: Option<HashSet<Guid>>,
        changed: HashSet<Guid>,
        deleted: HashMap<Guid, Option<String>>,
        position: Position,
        server: Option<ServerMark>,
    ) -> Result<Incremental, LdapSourceError> {
        let current = match current {
            Some(c) => c,
            None => self.scope_guids(scope).await?,
        };
        let mut changes = Vec::new();
        let mut upsert: Vec<Guid> = changed
            .iter()
            .filter(|g| current.contains(g) || prev.contains(g))
            .chain(current.iter().filter(|g| !prev.contains(g)))
            .filter(|g| !deleted.contains_key(g))
            .copied()
            .collect::<HashSet<Guid>>()
            .into_iter()
            .collect();
        upsert.sort();
        let mut gone: Vec<(Guid, Option<String>)> = deleted
            .into_iter()
            .filter(|(g, _)| prev.contains(g))
            .collect();
        // Without DirSync, a deletion shows only as an object that no longer resolves.
        if matches!(position, Position::Usn(_)) {
            let mut left: Vec<Guid> = prev
                .iter()
                .filter(|g| !current.contains(g))
                .copied()
                .collect();
            left.sort();
            for g in left {
                match self.read_guid(g).await? {
                    None => gone.push((g, None)),
                    Some(o) if !changed.contains(&g) => changes.push(DirectoryChange::Upsert(o)),
                    Some(_) => {}
                }
            }
        }
        // Read back whole, many per search (batch.rs).
        let mut read = self.read_guids(&upsert).await?;
        for g in upsert {
            match read.remove(&g) {
                Some(o) => changes.push(DirectoryChange::Upsert(o)),
                None if prev.contains(&g) => gone.push((g, None)),
                None => {}
            }
        }
        gone.sort();
        changes.extend(
            gone.into_iter()
                .map(|(guid, last_dn)| DirectoryChange::Delete { guid, last_dn }),
        );
        let method = match position {
            Position::DirSync(_) => ChangeTracking::DirSync,
            Position::Usn(_) => ChangeTracking::UsnHighWater,
        };
        let mut in_scope: Vec<Guid> = current.into_iter().collect();
        in_scope.sort();
        let cookie = Cookie {
            scope_fingerprint: scope_fingerprint(scope, &self.base_dn),
            position,
            server,
            in_scope,
        }
        .encode();
        Ok(Incremental::Changes(DirectoryChanges {
            changes,
            cookie,
            method,
        }))
    }

    /// Takes a change-tracking position, then reads everything in scope.
    async fn resync(
        &mut self,
        scope: &Scope,
        reason: ResyncReason,
    ) -> Result<Incremental, LdapSourceError> {
        tracing::info!("{reason}");
        // The position is taken before the read, so a change made during the
        // read is reported (again) next time rather than lost. Taking it reads
        // no objects (see NOTHING_FILTER), so the read costs one scope pass.
        let server = self.server_mark().await?;
        let position = match self.dirsync(&[], Walk::Position).await {
            Ok(delta) => Position::DirSync(delta.cookie),
            Err(DirSyncFailure::Unavailable(why)) => {
                let root = self
                    .root_dse_attr("defaultNamingContext")
                    .await
                    .ok()
                    .flatten();
                tracing::warn!(
                    "{}",
                    dirsync_unavailable_advice(
                        &self.cfg.bind_dn,
                        &self.base_dn,
                        root.as_deref(),
                        &why
                    )
                );
                Position::Usn(self.highest_usn().await?)
            }
            Err(DirSyncFailure::Rejected(why)) => {
                return Err(LdapSourceError::Protocol {
                    action: "starting DirSync".into(),
                    cause: why,
                })
            }
            Err(DirSyncFailure::Other(e)) => return Err(e),
        };
        let snapshot = self.full(scope).await?;
        let method = match position {
            Position::DirSync(_) => ChangeTracking::DirSync,
            Position::Usn(_) => ChangeTracking::UsnHighWater,
        };
        let mut in_scope: Vec<Guid> = snapshot.objects.iter().map(|o| o.guid).collect();
        in_scope.sort();
        in_scope.dedup();
        let cookie = Cookie {
            scope_fingerprint: scope_fingerprint(scope, &self.base_dn),
            position,
            server,
            in_scope,
        }
        .encode();
        Ok(Incremental::FullResync {
            snapshot,
            cookie,
            method,
            reason,
        })
    }

    async fn highest_usn(&mut self) -> Result<i64, LdapSourceError> {
        let v = self.root_dse_attr("highestCommittedUSN").await?;
        v.as_deref()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| LdapSourceError::Protocol {
                action: "reading highestCommittedUSN from the rootDSE".into(),
                cause: format!("got {v:?}"),
            })
    }

    /// Where the DC stands: its identity (NTDS Settings DN and invocationId)
    /// and `highestCommittedUSN`. `None` when the server does not say (not
    /// AD, or the account may not read them): the fast path is then off.
    async fn server_mark(&mut self) -> Result<Option<ServerMark>, LdapSourceError> {
        let attrs = ["highestCommittedUSN", "dsServiceName"];
        let Some(root) = self.read_entry("", &attrs, "reading the rootDSE").await? else {
            return Ok(None);
        };
        let text = |a: &str| {
            root.values(a)
                .first()
                .map(|v| String::from_utf8_lossy(v).trim().to_string())
        };
        let (Some(usn), Some(service)) = (
            text("highestCommittedUSN").and_then(|u| u.parse::<i64>().ok()),
            text("dsServiceName").filter(|s| !s.is_empty()),
        ) else {
            return Ok(None);
        };
        // The invocationId changes when the DC's database is restored from a
        // backup, after which the same uSN can stand for different contents.
        let found = self
            .read_entry(
                &service,
                &["invocationId"],
                "reading the domain controller's invocationId",
            )
            .await;
        let invocation = match found {
            Ok(e) => e.and_then(|e| e.values("invocationId").first().cloned()),
            Err(e) => {
                tracing::debug!("cannot read the domain controller's invocationId ({e}); every incremental read searches for changes");
                None
            }
        };
        let Some(invocation) = invocation.and_then(|v| Guid::from_ad_bytes(&v).ok()) else {
            return Ok(None);
        };
        Ok(Some(ServerMark {
            dc: format!("{}|{}", dn_key(&service), invocation),
            usn,
        }))
    }
}
