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

use std::collections::{HashMap, HashSet};

use dirsync_model::{
    ChangeTracking, DirectoryChange, DirectoryChanges, DirectorySnapshot, Guid, ObjectKind,
};
use ldap3::Scope as LdapScope;

use crate::controls::dirsync::FLAG_INCREMENTAL_VALUES;
use crate::controls::{DirSyncRequest, DirSyncResponse, DIRSYNC_OID};
use crate::entry::{dn_key, RawEntry, ATTRIBUTES};
use crate::error::LdapSourceError;
use crate::ldap::{LdapSource, KINDS_FILTER};
use crate::scope::{GroupRef, Scope, ScopeError, Service};

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

/// Where change tracking stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    DirSync(Vec<u8>),
    Usn(i64),
}

/// Which domain controller the cookie was taken from, and how far its
/// database had got: when the same controller (same database incarnation)
/// still reports the same `highestCommittedUSN`, nothing was written to it
/// since, so there can be no change to report and the DirSync search (which
/// costs the server a walk of its change index) is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMark {
    /// `dsServiceName` (the DC's NTDS Settings DN) and its `invocationId`
    /// (which changes when the DC's database is restored), as `dn|guid`.
    pub dc: String,
    /// The rootDSE's `highestCommittedUSN`, read before the changes were.
    pub usn: i64,
}

/// The envelope dirsync hands out as its opaque cookie.
///
/// Layout: `DSYN`, version, method (1 DirSync, 2 uSN), scope fingerprint
/// (u64), position length (u32) and bytes, then (version 2 only) a server
/// mark flag (u8) and, when 1, the mark's uSN (i64) and DC identity length
/// (u32) and UTF-8 bytes, then GUID count (u32) and 16-byte canonical GUIDs.
/// All integers big-endian. Version 1 cookies (no mark) are still read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub scope_fingerprint: u64,
    pub position: Position,
    /// Where the DC stood when the cookie was taken (`None` in version 1
    /// cookies, or when the rootDSE did not say).
    pub server: Option<ServerMark>,
    pub in_scope: Vec<Guid>,
}

const MAGIC: &[u8; 4] = b"DSYN";

impl Cookie {
    pub fn encode(&self) -> Vec<u8> {
        let (method, pos) = match &self.position {
            Position::DirSync(c) => (1u8, c.clone()),
            Position::Usn(u) => (2u8, u.to_be_bytes().to_vec()),
        };
        let mut out = Vec::with_capacity(64 + pos.len() + 16 * self.in_scope.len());
        out.extend_from_slice(MAGIC);
        out.push(2);
        out.push(method);
        out.extend_from_slice(&self.scope_fingerprint.to_be_bytes());
        out.extend_from_slice(&(pos.len() as u32).to_be_bytes());
        out.extend_from_slice(&pos);
        match &self.server {
            None => out.push(0),
            Some(m) => {
                out.push(1);
                out.extend_from_slice(&m.usn.to_be_bytes());
                out.extend_from_slice(&(m.dc.len() as u32).to_be_bytes());
                out.extend_from_slice(m.dc.as_bytes());
            }
        }
        out.extend_from_slice(&(self.in_scope.len() as u32).to_be_bytes());
        for g in &self.in_scope {
            out.extend_from_slice(&g.canonical_bytes());
        }
        out
    }

    pub fn decode(b: &[u8]) -> Result<Cookie, String> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
            if b.len() < n {
                return Err("it is truncated".into());
            }
            let (h, t) = b.split_at(n);
            *b = t;
            Ok(h)
        }
        let mut b = b;
        if take(&mut b, 4)? != MAGIC {
            return Err("it was not written by dirsync".into());
        }
        let version = take(&mut b, 1)?[0];
        if version != 1 && version != 2 {
            return Err(format!("unknown cookie version {version}"));
        }
        let method = take(&mut b, 1)?[0];
        let fp = u64::from_be_bytes(take(&mut b, 8)?.try_into().expect("8 bytes"));
        let len = u32::from_be_bytes(take(&mut b, 4)?.try_into().expect("4 bytes")) as usize;
        let pos = take(&mut b, len)?;
        let position = match method {
            1 => Position::DirSync(pos.to_vec()),
            2 => Position::Usn(i64::from_be_bytes(
                pos.try_into().map_err(|_| "bad uSN position".to_string())?,
            )),
            m => return Err(format!("unknown change-tracking method {m}")),
        };
        let server = match version {
            1 => None,
            _ => match take(&mut b, 1)?[0] {
                0 => None,
                1 => {
                    let usn = i64::from_be_bytes(take(&mut b, 8)?.try_into().expect("8 bytes"));
                    let len =
                        u32::from_be_bytes(take(&mut b, 4)?.try_into().expect("4 bytes")) as usize;
                    let dc = String::from_utf8(take(&mut b, len)?.to_vec())
                        .map_err(|_| "its server mark is not UTF-8".to_string())?;
                    Some(ServerMark { dc, usn })
                }
                f => return Err(format!("unknown server mark flag {f}")),
            },
        };
        let count = u32::from_be_bytes(take(&mut b, 4)?.try_into().expect("4 bytes")) as usize;
        if b.len() != count.checked_mul(16).ok_or("bad GUID count")? {
            return Err("its GUID list has the wrong length".into());
        }
        let in_scope = b
            .chunks_exact(16)
            .map(|c| Guid::from_canonical_bytes(c.try_into().expect("16 bytes")))
            .collect();
        Ok(Cookie {
            scope_fingerprint: fp,
            position,
            server,
            in_scope,
        })
    }
}

/// A stable fingerprint of the scope and base DN (FNV-1a, 64 bits).
pub fn scope_fingerprint(scope: &Scope, base_dn: &str) -> u64 {
    let text = format!(
        "{:?}|{:?}|{}",
        scope
            .exchange
            .as_ref()
            .map(|g| g.to_string().to_lowercase()),
        scope.rsemail.as_ref().map(|g| g.to_string().to_lowercase()),
        dn_key(base_dn)
    );
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How a DirSync attempt failed.
enum DirSyncFailure {
    /// The account lacks the right, or the server lacks the control.
    Unavailable(String),
    /// The server refused the cookie.
    Rejected(String),
    Other(LdapSourceError),
}

/// What DirSync reported.
#[derive(Default)]
struct DirSyncDelta {
    changed: HashSet<Guid>,
    deleted: HashMap<Guid, Option<String>>,
    /// Lower-cased `sAMAccountName`/`cn`/`name` values the changed objects
    /// carried: a group created or renamed to a service group's name changes
    /// the scope without touching anything in it.
    names: HashSet<String>,
    /// Per changed group: the `member` DNs added and removed, as DirSync's
    /// incremental values report them.
    members: HashMap<Guid, (Vec<String>, Vec<String>)>,
    /// Groups that came back with their whole `member` attribute (not as
    /// incremental values): what changed in their membership is unknown.
    whole_members: HashSet<Guid>,
    /// What the deleted objects were, when the tombstone says.
    deleted_kinds: HashMap<Guid, ObjectKind>,
    cookie: Vec<u8>,
}

/// A light read of one object: enough to place it in or out of scope.
struct Light {
    guid: Guid,
    dn: String,
    kind: Option<ObjectKind>,
    /// `memberOf` DNs, as `dn_key`s.
    member_of: Vec<String>,
}

/// What a DirSync walk is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Only the position: nothing is returned, the cookie is the server's
    /// current replication position.
    Position,
    /// The changes since the cookie, with the attributes that matter.
    Changes,
}

/// A filter no object satisfies (no object is both a user and a contact):
/// a DirSync search with it costs the server an index lookup and returns
/// nothing but the cookie, which holds the server's current position. The
/// cookie is a replication position (high-water mark and up-to-dateness
/// vector), not bound to the filter, so later searches with the real filter
/// report every change made after it.
const NOTHING_FILTER: &str = "(&(objectClass=user)(objectClass=contact))";

/// Whether the changes can have changed which objects are in scope, so that
/// the service groups' membership must be read again. Membership lives in the
/// groups' `member` attribute, so adding an object to (or removing it from) a
/// service group or a nested group changes a group that is in scope; moving,
/// renaming or deleting anything in scope changes an object in scope; a group
/// outside scope matters only if it now answers to a service group's name.
pub(crate) fn scope_may_change(
    scope: &Scope,
    prev: &HashSet<Guid>,
    changed: &HashSet<Guid>,
    deleted: &HashMap<Guid, Option<String>>,
    names: &HashSet<String>,
) -> bool {
    changed
        .iter()
        .chain(deleted.keys())
        .any(|g| prev.contains(g))
        || service_group_renamed(scope, names)
}

/// Whether an object got the name of a service group configured by name
/// (`names` holds the lower-cased names and sAMAccountNames DirSync saw).
fn service_group_renamed(scope: &Scope, names: &HashSet<String>) -> bool {
    scope.groups().any(|(_, g)| match g {
        GroupRef::Name(n) => names.contains(&n.to_lowercase()),
        // A group named by DN can only be replaced by moving the one in
        // scope away first, which is a change to an object in scope.
        GroupRef::Dn(_) => false,
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
        let prev: HashSet<Guid> = env.in_scope.iter().copied().collect();
        self.stats.change_searches += 1;
        match env.position {
            Position::DirSync(c) => match self.dirsync(&c, Walk::Changes).await {
                Ok(delta) => {
                    let current = if scope_may_change(
                        scope,
                        &prev,
                        &delta.changed,
                        &delta.deleted,
                        &delta.names,
                    ) {
                        self.update_scope(scope, &prev, &delta).await?
                    } else {
                        Some(prev.clone())
                    };
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
                let now = self.highest_usn().await?;
                let filter = format!("(&(uSNChanged>={}){KINDS_FILTER})", high + 1);
                let base = self.base_dn.clone();
                let entries = self
                    .paged_search(
                        &base,
                        &filter,
                        &["objectGUID"],
                        vec![],
                        "searching for changes by uSNChanged",
                    )
                    .await?;
                let changed: HashSet<Guid> = entries.iter().filter_map(|e| e.guid().ok()).collect();
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
        for g in upsert {
            match self.read_guid(g).await? {
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

    /// The scope set now, from the cookie's and the membership changes
    /// DirSync reported (its incremental values name each member added to or
    /// removed from a group), so that the cost follows the number of changes,
    /// not the size of the service groups. Scope is the service groups, their
    /// direct members, and the direct members of the groups among those.
    /// `None` when the changes are not ones it can follow (a group joining or
    /// leaving a service group, a group deleted, a service group renamed, a
    /// member that cannot be read): the scope is then read again in full.
    async fn update_scope(
        &mut self,
        scope: &Scope,
        prev: &HashSet<Guid>,
        delta: &DirSyncDelta,
    ) -> Result<Option<HashSet<Guid>>, LdapSourceError> {
        if service_group_renamed(scope, &delta.names)
            || delta.whole_members.iter().any(|g| prev.contains(g))
        {
            return Ok(None);
        }
        let mut current = prev.clone();
        for g in delta.deleted.keys().filter(|g| prev.contains(g)) {
            match delta.deleted_kinds.get(g) {
                Some(ObjectKind::User | ObjectKind::Contact) => {
                    current.remove(g);
                }
                _ => return Ok(None),
            }
        }
        let in_scope_groups: Vec<_> = delta
            .members
            .iter()
            .filter(|(g, _)| prev.contains(g) && !delta.deleted.contains_key(g))
            .collect();
        if in_scope_groups.is_empty() {
            return Ok(Some(current));
        }
        self.stats.scope_updates += 1;
        // The service groups, as GUIDs and DN keys.
        let mut service: Vec<(Guid, String)> = Vec::new();
        let groups: Vec<GroupRef> = scope.groups().map(|(_, g)| g.clone()).collect();
        for group in groups {
            match self.service_group_light(&group).await? {
                Some(l) => service.push((l.guid, dn_key(&l.dn))),
                None => return Ok(None),
            }
        }
        let base = dn_key(&self.base_dn);
        let is_service = |k: &str| service.iter().any(|(_, d)| d == k);
        for (group, (added, removed)) in in_scope_groups {
            // Which role the group plays: a service group's members are in
            // scope, and so are those of the groups directly in a service
            // group; other groups' members are not.
            let confers = if service.iter().any(|(g, _)| g == group) {
                Some(true)
            } else {
                let Some(l) = self.read_light(&format!("<GUID={group}>")).await? else {
                    return Ok(None);
                };
                l.member_of.iter().any(|m| is_service(m)).then_some(false)
            };
            let Some(is_service_group) = confers else {
                continue;
            };
            let changes = added.iter().map(|dn| (dn, true));
            for (dn, joined) in changes.chain(removed.iter().map(|dn| (dn, false))) {
                let Some(x) = self.read_light(dn).await? else {
                    return Ok(None);
                };
                if x.kind == Some(ObjectKind::Group) && is_service_group {
                    return Ok(None);
                }
                if joined {
                    if x.kind.is_some() && dn_key(&x.dn).ends_with(&base) {
                        current.insert(x.guid);
                    }
                    continue;
                }
                if service.iter().any(|(g, _)| *g == x.guid) {
                    continue;
                }
                // Still in scope through a service group or a group in one?
                let mut stays = x.member_of.iter().any(|m| is_service(m));
                if !stays {
                    for m in &x.member_of {
                        let Some(n) = self.read_light(m).await? else {
                            continue;
                        };
                        if n.kind == Some(ObjectKind::Group)
                            && n.member_of.iter().any(|k| is_service(k))
                        {
                            stays = true;
                            break;
                        }
                    }
                }
                if !stays {
                    current.remove(&x.guid);
                }
            }
        }
        Ok(Some(current))
    }

    /// Finds a service group with a light read (no `member`).
    async fn service_group_light(
        &mut self,
        group: &GroupRef,
    ) -> Result<Option<Light>, LdapSourceError> {
        match group {
            GroupRef::Dn(dn) => Ok(self
                .read_light(dn)
                .await?
                .filter(|l| l.kind == Some(ObjectKind::Group))),
            GroupRef::Name(name) => {
                let filter = crate::scope::group_name_filter(name);
                let base = self.base_dn.clone();
                let action = format!("looking up the service group '{name}'");
                let found = self
                    .paged_search(
                        &base,
                        &filter,
                        &["objectGUID", "objectClass", "sAMAccountName", "memberOf"],
                        vec![],
                        &action,
                    )
                    .await?;
                let mut hits: Vec<&RawEntry> = found
                    .iter()
                    .filter(|e| {
                        let sam = e
                            .values("sAMAccountName")
                            .first()
                            .map(|s| String::from_utf8_lossy(s));
                        crate::scope::answers_to(sam.as_deref(), &e.dn, name)
                    })
                    .collect();
                if hits.len() != 1 {
                    return Ok(None);
                }
                Ok(light(hits.remove(0)))
            }
        }
    }

    /// Reads an object's GUID, class and `memberOf` by DN or `<GUID=...>`.
    async fn read_light(&mut self, base: &str) -> Result<Option<Light>, LdapSourceError> {
        let action = format!("reading '{base}'");
        let e = self
            .read_entry(base, &["objectGUID", "objectClass", "memberOf"], &action)
            .await?;
        Ok(e.as_ref().and_then(light))
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

    /// Runs DirSync from `cookie` until the server has nothing more.
    async fn dirsync(&mut self, cookie: &[u8], walk: Walk) -> Result<DirSyncDelta, DirSyncFailure> {
        let mut delta = DirSyncDelta {
            cookie: cookie.to_vec(),
            ..DirSyncDelta::default()
        };
        let base = self.base_dn.clone();
        // The attributes whose changes matter; DirSync reports an object only when one of them changed.
        let mut attrs: Vec<&str> = ATTRIBUTES.to_vec();
        attrs.extend(["isDeleted", "name"]);
        let filter = match walk {
            Walk::Position => {
                attrs = vec!["objectGUID"];
                NOTHING_FILTER
            }
            Walk::Changes => KINDS_FILTER,
        };
        loop {
            // Only changed values of `member` (a 50,000-member group must not come back whole).
            let req = DirSyncRequest {
                flags: FLAG_INCREMENTAL_VALUES,
                max_bytes: 1 << 20,
                cookie: delta.cookie.clone(),
            };
            // The first DirSync read (no cookie) walks every object of the domain; allow it 10x the timeout.
            let timeout = self.cfg.timeout * 10;
            let res = self
                .search_page_within(
                    timeout,
                    &base,
                    LdapScope::Subtree,
                    filter,
                    &attrs,
                    vec![req.into()],
                    "reading changes with DirSync",
                )
                .await;
            let (entries, ctrls) = match res {
                Ok(r) => r,
                Err(LdapSourceError::Permission { text, .. }) => {
                    return Err(DirSyncFailure::Unavailable(text))
                }
                // With a cookie, any refusal other than "busy"/"unavailable" is a refusal of the cookie
                // (Samba answers an unreadable cookie with unavailableCriticalExtension).
                Err(LdapSourceError::Server { rc, name, text, .. })
                    if !delta.cookie.is_empty() && rc != 51 && rc != 52 =>
                {
                    return Err(DirSyncFailure::Rejected(format!("{name}: {text}")))
                }
                Err(LdapSourceError::Server { rc: 12, text, .. }) => {
                    return Err(DirSyncFailure::Unavailable(format!(
                        "the server does not support DirSync: {text}"
                    )))
                }
                Err(e) => return Err(DirSyncFailure::Other(e)),
            };
            if walk == Walk::Changes {
                for e in &entries {
                    record(&mut delta, e);
                }
            }
            drop(entries);
            let resp = ctrls
                .iter()
                .find(|c| c.1.ctype == DIRSYNC_OID)
                .ok_or_else(|| {
                    DirSyncFailure::Other(LdapSourceError::Protocol {
                        action: "reading changes with DirSync".into(),
                        cause: "the reply carries no DirSync control".into(),
                    })
                })?;
            let resp = DirSyncResponse::decode(resp.1.val.as_deref().unwrap_or_default()).map_err(
                |e| {
                    DirSyncFailure::Other(LdapSourceError::Protocol {
                        action: "reading changes with DirSync".into(),
                        cause: e.to_string(),
                    })
                },
            )?;
            delta.cookie = resp.cookie;
            if !resp.more_results {
                return Ok(delta);
            }
        }
    }

    /// The GUIDs in scope now: service groups, their direct members, nested
    /// groups' direct members (only GUIDs and classes are read).
    pub(crate) async fn scope_guids(
        &mut self,
        scope: &Scope,
    ) -> Result<HashSet<Guid>, LdapSourceError> {
        self.stats.scope_recomputations += 1;
        let mut out = HashSet::new();
        let groups: Vec<(Service, GroupRef)> =
            scope.groups().map(|(s, g)| (s, g.clone())).collect();
        for (service, group) in groups {
            let g = self.find_service_group(service, &group).await?;
            out.insert(g.guid);
            let direct = self.member_ids(&g.dn).await?;
            let known: HashMap<String, Guid> =
                direct.iter().map(|(g, _, dn)| (dn_key(dn), *g)).collect();
            for (guid, kind, dn) in &direct {
                out.insert(*guid);
                if *kind != Some(ObjectKind::Group) {
                    continue;
                }
                // As in the full read: members already known cost nothing, a few
                // unknown ones are looked up by DN, many take a memberOf search.
                let Some(nested) = self.read_one(dn).await? else {
                    continue;
                };
                let missing: Vec<&String> = nested
                    .members
                    .iter()
                    .filter(|m| match known.get(&dn_key(m)) {
                        Some(g) => {
                            out.insert(*g);
                            false
                        }
                        None => true,
                    })
                    .collect();
                if missing.len() <= 50 {
                    for m in missing {
                        let action = format!("reading '{m}'");
                        let found = match self
                            .search_page(
                                m,
                                LdapScope::Base,
                                "(objectClass=*)",
                                &["objectGUID", "objectClass"],
                                vec![],
                                &action,
                            )
                            .await
                        {
                            Err(LdapSourceError::Server { rc: 32, .. }) => continue,
                            r => r?.0,
                        };
                        for e in found.iter().filter(|e| e.kind().is_some()) {
                            out.insert(e.guid()?);
                        }
                    }
                } else {
                    out.extend(self.member_ids(dn).await?.into_iter().map(|(g, _, _)| g));
                }
            }
        }
        Ok(out)
    }

    async fn member_ids(
        &mut self,
        group_dn: &str,
    ) -> Result<Vec<(Guid, Option<ObjectKind>, String)>, LdapSourceError> {
        let filter = format!(
            "(&(memberOf={}){KINDS_FILTER})",
            ldap3::ldap_escape(group_dn)
        );
        let base = self.base_dn.clone();
        let action = format!("reading the members of '{group_dn}'");
        let entries = self
            .paged_search(
                &base,
                &filter,
                &["objectGUID", "objectClass"],
                vec![],
                &action,
            )
            .await?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let kind = e.kind();
            if kind.is_some() {
                out.push((e.guid()?, kind, e.dn));
            }
        }
        Ok(out)
    }
}

fn light(e: &RawEntry) -> Option<Light> {
    Some(Light {
        guid: e.guid().ok()?,
        dn: e.dn.clone(),
        kind: e.kind(),
        member_of: e
            .values("memberOf")
            .iter()
            .map(|v| dn_key(&String::from_utf8_lossy(v)))
            .collect(),
    })
}

fn record(delta: &mut DirSyncDelta, e: &RawEntry) {
    tracing::trace!(dn = %e.dn, attrs = ?e.attrs.keys().collect::<Vec<_>>(), "DirSync entry");
    let Ok(guid) = e.guid() else { return };
    let deleted = e
        .values("isDeleted")
        .first()
        .is_some_and(|v| v.eq_ignore_ascii_case(b"TRUE"));
    if deleted {
        delta.changed.remove(&guid);
        delta.deleted.insert(guid, None);
        if let Some(k) = e.kind() {
            delta.deleted_kinds.insert(guid, k);
        }
    } else {
        for (key, values) in &e.attrs {
            let text = || {
                values
                    .iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            };
            if key == "member" {
                delta.whole_members.insert(guid);
            } else if key.starts_with("member;range=1-") {
                delta.members.entry(guid).or_default().0.extend(text());
            } else if key.starts_with("member;range=0-") {
                delta.members.entry(guid).or_default().1.extend(text());
            }
        }
        delta.deleted.remove(&guid);
        delta.changed.insert(guid);
        for attr in ["sAMAccountName", "cn", "name"] {
            for v in e.values(attr) {
                delta
                    .names
                    .insert(String::from_utf8_lossy(v).to_lowercase());
            }
        }
    }
}

/// The warning for a DirSync refusal. DirSync reads only from the root of a
/// naming context: with an OU as the base DN the server refuses it whatever
/// the bind account's rights, so granting "Replicating Directory Changes"
/// (the advice when the base is the root) would not help.
pub(crate) fn dirsync_unavailable_advice(
    bind_dn: &str,
    base_dn: &str,
    naming_context: Option<&str>,
    why: &str,
) -> String {
    match naming_context {
        Some(root) if dn_key(root) != dn_key(base_dn) => format!(
            "DirSync is not available with the base DN '{base_dn}' ({why}): DirSync reads only from the root of a \
             naming context such as the domain '{root}', not from an OU; falling back to uSNChanged high-water marks. \
             Leave base_dn unset (or set it to '{root}') to use DirSync: the service groups define what is synced either way."
        ),
        _ => format!(
            "DirSync is not available to '{bind_dn}' ({why}); falling back to uSNChanged high-water marks. \
             Grant the bind account 'Replicating Directory Changes' on the domain for reliable change tracking."
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dirsync_advice_names_the_naming_context_for_an_ou_base() {
        let bind = "CN=Administrator,CN=Users,DC=example,DC=com";
        let ou = dirsync_unavailable_advice(
            bind,
            "OU=Staff,DC=example,DC=com",
            Some("DC=example,DC=com"),
            "insufficientAccessRights",
        );
        assert!(ou.contains("root of a naming context"), "{ou}");
        assert!(ou.contains("set it to 'DC=example,DC=com'"), "{ou}");
        assert!(!ou.contains("Replicating Directory Changes"), "{ou}");
        for root in [Some("DC=example,DC=com"), None] {
            let r = dirsync_unavailable_advice(bind, "dc=Example,dc=com", root, "x");
            assert!(
                r.contains("Grant the bind account 'Replicating Directory Changes'"),
                "{r}"
            );
        }
    }

    use super::*;

    #[test]
    fn cookie_round_trip_and_damage() {
        let g: Guid = "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".parse().unwrap();
        let mark = ServerMark {
            dc: "cn=ntds settings,cn=dc1|f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".into(),
            usn: 80528,
        };
        let cases = [
            (Position::DirSync(vec![1, 2, 3]), None),
            (Position::DirSync(vec![1, 2, 3]), Some(mark.clone())),
            (Position::Usn(123456), None),
            (Position::Usn(123456), Some(mark)),
        ];
        for (position, server) in cases {
            let c = Cookie {
                scope_fingerprint: 42,
                position,
                server,
                in_scope: vec![g, g],
            };
            let bytes = c.encode();
            assert_eq!(Cookie::decode(&bytes).unwrap(), c);
            for cut in [0, 3, 5, 10, bytes.len() - 1] {
                assert!(Cookie::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            let mut extra = bytes.clone();
            extra.push(0);
            assert!(Cookie::decode(&extra).is_err());
        }
        assert_eq!(
            Cookie::decode(b"nope").unwrap_err(),
            "it was not written by dirsync"
        );
    }

    #[test]
    fn version_1_cookies_are_still_read_without_a_server_mark() {
        // A cookie as written before server marks existed: DirSync position
        // [9, 8], one GUID.
        let g: Guid = "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".parse().unwrap();
        let mut v1 = b"DSYN".to_vec();
        v1.extend([1u8, 1]);
        v1.extend(7u64.to_be_bytes());
        v1.extend(2u32.to_be_bytes());
        v1.extend([9u8, 8]);
        v1.extend(1u32.to_be_bytes());
        v1.extend(g.canonical_bytes());
        let c = Cookie::decode(&v1).unwrap();
        assert_eq!(
            c,
            Cookie {
                scope_fingerprint: 7,
                position: Position::DirSync(vec![9, 8]),
                server: None,
                in_scope: vec![g],
            }
        );
        // Re-encoded, it becomes version 2 and reads back the same.
        assert_eq!(c.encode()[4], 2);
        assert_eq!(Cookie::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn scope_is_read_again_only_when_changes_can_touch_it() {
        let g = |n: u8| Guid::from_canonical_bytes([n; 16]);
        let prev: HashSet<Guid> = [g(1), g(2)].into();
        let by_name = Scope::new(Some("Exchange Users"), None).unwrap();
        let by_dn = Scope::new(Some("CN=Exchange Users,OU=G,DC=x"), None).unwrap();
        let set = |v: &[Guid]| v.iter().copied().collect::<HashSet<Guid>>();
        let names = |v: &[&str]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<HashSet<String>>()
        };
        let none: HashMap<Guid, Option<String>> = HashMap::new();
        let gone: HashMap<Guid, Option<String>> = [(g(2), None)].into();
        let gone_outside: HashMap<Guid, Option<String>> = [(g(9), None)].into();
        // (scope, changed, deleted, names, expected)
        type Deleted = HashMap<Guid, Option<String>>;
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&Scope, HashSet<Guid>, &Deleted, HashSet<String>, bool)> = vec![
            (&by_name, set(&[]), &none, names(&[]), false),
            (&by_name, set(&[g(9)]), &none, names(&["someone"]), false),
            (&by_name, set(&[g(9)]), &gone_outside, names(&[]), false),
            (&by_name, set(&[g(1)]), &none, names(&[]), true),
            (&by_name, set(&[]), &gone, names(&[]), true),
            (
                &by_name,
                set(&[g(9)]),
                &none,
                names(&["exchange users"]),
                true,
            ),
            (
                &by_dn,
                set(&[g(9)]),
                &none,
                names(&["exchange users"]),
                false,
            ),
            (&by_dn, set(&[g(2)]), &none, names(&[]), true),
        ];
        for (i, (scope, changed, deleted, names, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                scope_may_change(scope, &prev, &changed, deleted, &names),
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn fingerprint_follows_scope_not_case() {
        let a = Scope::new(Some("Exchange Users"), None).unwrap();
        let b = Scope::new(Some("exchange users"), None).unwrap();
        let c = Scope::new(None, Some("Exchange Users")).unwrap();
        assert_eq!(scope_fingerprint(&a, "DC=x"), scope_fingerprint(&b, "dc=X"));
        assert_ne!(scope_fingerprint(&a, "DC=x"), scope_fingerprint(&c, "DC=x"));
        assert_ne!(scope_fingerprint(&a, "DC=x"), scope_fingerprint(&a, "DC=y"));
    }
}
