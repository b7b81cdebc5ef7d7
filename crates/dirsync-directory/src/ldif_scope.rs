//! The scope of an LDIF export, resolved from the file streamed twice
//! (issue 12: a rerun must cost what changed, not a whole parse held in
//! memory).
//!
//! Pass one ([`LdifScope::scan`]) keeps, per record, only a 128-bit key of
//! its DN, the line it starts on and its kind; per group, its members'
//! keys. That is all the scope rules ([`crate::scope`]) need: the service
//! groups (by DN or name), their direct members, the groups nested in them
//! and those groups' direct members. Pass two ([`LdifScope::read`]) hands
//! the objects in scope to the caller one at a time (which compares each
//! with the replica and keeps only the changed ones), and checks that
//! every member of the service groups and of the groups nested in them is
//! an entry of the export, exactly as [`crate::ldif::read_snapshot`] does.
//!
//! One bad record does not stop the others. A record that cannot be read
//! is handed over as [`Found::Held`] when it is in scope (the caller keeps
//! that object as it was last synced and reports the line) and listed
//! otherwise. Only when the scope itself depends on an unreadable record
//! (a service group, or a member of one that may be a nested group) does
//! the read fail, naming that record's line: its members cannot be known.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::io::BufRead;

use dirsync_model::{DirectoryObject, Guid, ObjectKind};

use crate::entry::{dn_key, EntryError, RawEntry};
use crate::ldif::{missing_member_error, unterminated_error, LdifError};
use crate::ldif_stream::{BadEntry, Parsed, Records};
use crate::scope::{answers_to, GroupRef, Scope, ScopeError, Service};

/// 128-bit keys of DNs (two independently seeded SipHashes of the DN's
/// comparison key): 16 bytes a record instead of its DN.
#[derive(Debug, Clone, Default)]
struct DnKeys(RandomState, RandomState);

impl DnKeys {
    fn of(&self, dn: &str) -> u128 {
        let k = dn_key(dn);
        (u128::from(self.0.hash_one(&k)) << 64) | u128::from(self.1.hash_one(&k))
    }
}

/// What pass one keeps of a record.
#[derive(Debug, Clone, Copy)]
struct Meta {
    kind: Option<ObjectKind>,
    bad: bool,
}

/// What pass one keeps of a group.
#[derive(Debug)]
struct GroupSeen {
    line: usize,
    guid: Result<Guid, EntryError>,
    members: Vec<u128>,
    /// The services whose group name (when configured by name) it answers to.
    answers: Vec<Service>,
}

/// A record of pass two.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // handed over one at a time, never stored in bulk
pub enum Found {
    /// An object in scope and the line its record starts on.
    Object {
        line: usize,
        object: DirectoryObject,
    },
    /// A record in scope that cannot be read: the object stays as it was
    /// last synced, and the error (with its line) is reported.
    Held(BadEntry),
}

/// The scope of one LDIF export (pass one's result).
#[derive(Debug)]
pub struct LdifScope {
    keys: DnKeys,
    /// Every record with a readable DN, by DN key.
    entries: HashMap<u128, Meta>,
    in_scope: HashSet<u128>,
    /// The service groups and the groups nested in them: every member of
    /// these must be an entry of the export.
    checked: HashSet<u128>,
    /// The Exchange service group.
    pub exchange_group: Option<Guid>,
    /// The Rackspace Email service group.
    pub rsemail_group: Option<Guid>,
}

impl LdifScope {
    /// Pass one: reads every record of the export and resolves the scope.
    ///
    /// Fails when the file is cut short (its last record ends with no blank
    /// line), when a service group cannot be found or read, or when a
    /// direct member of a service group that is not surely a user or
    /// contact cannot be read.
    pub fn scan<R: BufRead>(src: R, scope: &Scope) -> Result<LdifScope, LdifError> {
        if scope.exchange.is_none() && scope.rsemail.is_none() {
            return Err(ScopeError::Empty.into());
        }
        let keys = DnKeys::default();
        let mut entries: HashMap<u128, Meta> = HashMap::new();
        let mut groups: HashMap<u128, GroupSeen> = HashMap::new();
        let mut bad: HashMap<u128, LdifError> = HashMap::new();
        let mut records =
            Records::new(src).only(&["objectclass", "objectguid", "samaccountname", "member"]);
        for r in &mut records {
            let (line, entry, error) = match r? {
                Parsed::Entry { line, entry } => (line, entry, None),
                Parsed::Bad(b) if b.dn.is_some() => (b.start, b.partial, Some(b.error)),
                // No readable DN: no group can name it.
                Parsed::Bad(_) => continue,
            };
            let key = keys.of(&entry.dn);
            let kind = entry.kind();
            entries.insert(
                key,
                Meta {
                    kind,
                    bad: error.is_some(),
                },
            );
            if let Some(e) = error {
                bad.insert(key, e);
            }
            if kind == Some(ObjectKind::Group) {
                groups.insert(key, group_seen(&keys, line, &entry, scope));
            }
        }
        if let Some(cut) = records.unterminated() {
            return Err(unterminated_error(cut));
        }
        let mut s = LdifScope {
            keys,
            entries,
            in_scope: HashSet::new(),
            checked: HashSet::new(),
            exchange_group: None,
            rsemail_group: None,
        };
        for (service, group) in scope.groups() {
            let gk = s.find_group(&groups, &bad, service, group)?;
            let g = &groups[&gk];
            let guid = g.guid.clone().map_err(|source| LdifError::Entry {
                line: g.line,
                source,
            })?;
            match service {
                Service::Exchange => s.exchange_group = Some(guid),
                Service::RsEmail => s.rsemail_group = Some(guid),
            }
            s.in_scope.insert(gk);
            s.checked.insert(gk);
            for m in &g.members {
                let Some(meta) = s.entries.get(m).copied() else {
                    // Pass two names it: not an entry of the export.
                    continue;
                };
                if meta.bad && !matches!(meta.kind, Some(ObjectKind::User | ObjectKind::Contact)) {
                    // Maybe a nested group: its members cannot be known.
                    return Err(bad[m].clone());
                }
                if meta.kind.is_none() {
                    continue;
                }
                s.in_scope.insert(*m);
                if let Some(n) = groups.get(m) {
                    s.checked.insert(*m);
                    for nm in &n.members {
                        if s.entries.get(nm).is_some_and(|e| e.kind.is_some() || e.bad) {
                            s.in_scope.insert(*nm);
                        }
                    }
                }
            }
        }
        Ok(s)
    }

    /// The key of the service group `group` of `service`.
    fn find_group(
        &self,
        groups: &HashMap<u128, GroupSeen>,
        bad: &HashMap<u128, LdifError>,
        service: Service,
        group: &GroupRef,
    ) -> Result<u128, LdifError> {
        let not_found = || ScopeError::NotFound {
            service,
            group: group.to_string(),
        };
        let key = match group {
            GroupRef::Dn(dn) => {
                let key = self.keys.of(dn);
                let meta = self.entries.get(&key).ok_or_else(not_found)?;
                if let Some(e) = bad.get(&key) {
                    return Err(e.clone());
                }
                match meta.kind {
                    Some(ObjectKind::Group) => key,
                    None => return Err(not_found().into()),
                    Some(kind) => {
                        return Err(ScopeError::NotAGroup {
                            service,
                            group: group.to_string(),
                            kind,
                        }
                        .into())
                    }
                }
            }
            GroupRef::Name(name) => {
                let hits: Vec<u128> = groups
                    .iter()
                    .filter(|(_, g)| g.answers.contains(&service))
                    .map(|(k, _)| *k)
                    .collect();
                match hits[..] {
                    [] => return Err(not_found().into()),
                    [k] => k,
                    _ => {
                        return Err(ScopeError::Ambiguous {
                            service,
                            group: name.clone(),
                            count: hits.len(),
                        }
                        .into())
                    }
                }
            }
        };
        if let Some(e) = bad.get(&key) {
            return Err(e.clone());
        }
        Ok(key)
    }

    /// How many objects are in scope.
    pub fn len(&self) -> usize {
        self.in_scope.len()
    }

    /// True when nothing is in scope.
    pub fn is_empty(&self) -> bool {
        self.in_scope.is_empty()
    }

    /// Pass two: hands each record in scope to `each`, and returns the
    /// records out of scope that cannot be read (to report; their
    /// attributes are dropped).
    ///
    /// Fails when the file is cut short, or when a service group or a
    /// group nested in one names a member that is no entry of the export.
    /// The caller must make sure the file is the one pass one read (the
    /// same bytes).
    pub fn read<R: BufRead>(
        &self,
        src: R,
        mut each: impl FnMut(Found),
    ) -> Result<Vec<BadEntry>, LdifError> {
        let mut out_of_scope = Vec::new();
        let mut records = Records::new(src);
        for r in &mut records {
            match r? {
                Parsed::Entry { line, entry } => {
                    let key = self.keys.of(&entry.dn);
                    if !self.in_scope.contains(&key) {
                        continue;
                    }
                    self.check_members(key, line, &entry)?;
                    match entry.to_object() {
                        Ok(Some(object)) => each(Found::Object { line, object }),
                        Ok(None) => {}
                        Err(source) => each(Found::Held(BadEntry {
                            start: line,
                            dn: Some(entry.dn.clone()),
                            partial: entry,
                            error: LdifError::Entry { line, source },
                        })),
                    }
                }
                Parsed::Bad(b) => {
                    let key = b.dn.as_deref().map(|d| self.keys.of(d));
                    match key.filter(|k| self.in_scope.contains(k)) {
                        Some(k) => {
                            self.check_members(k, b.start, &b.partial)?;
                            each(Found::Held(b));
                        }
                        None => out_of_scope.push(BadEntry {
                            partial: RawEntry::default(),
                            ..b
                        }),
                    }
                }
            }
        }
        if let Some(cut) = records.unterminated() {
            return Err(unterminated_error(cut));
        }
        Ok(out_of_scope)
    }

    /// Fails when `entry` is a service group or a group nested in one and
    /// names a member that is no entry of the export.
    fn check_members(&self, key: u128, line: usize, entry: &RawEntry) -> Result<(), LdifError> {
        if !self.checked.contains(&key) {
            return Ok(());
        }
        for m in entry.values("member") {
            let m = String::from_utf8_lossy(m);
            if !self.entries.contains_key(&self.keys.of(&m)) {
                return Err(missing_member_error(line, &entry.dn, &m));
            }
        }
        Ok(())
    }
}

/// What pass one keeps of a group record.
fn group_seen(keys: &DnKeys, line: usize, entry: &RawEntry, scope: &Scope) -> GroupSeen {
    let sam = entry
        .values("sAMAccountName")
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    GroupSeen {
        line,
        guid: entry.guid(),
        members: entry
            .values("member")
            .iter()
            .map(|m| keys.of(&String::from_utf8_lossy(m)))
            .collect(),
        answers: scope
            .groups()
            .filter_map(|(service, g)| match g {
                GroupRef::Name(n) if answers_to(sam.as_deref(), &entry.dn, n) => Some(service),
                _ => None,
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "ldif_scope_tests.rs"]
mod tests;
