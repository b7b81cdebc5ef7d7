//! Which objects are in scope: one security group per service.
//!
//! Issue 3 §3: the direct user members of a service group are mailbox
//! candidates; groups nested in it are distribution-list candidates together
//! with their own user and contact members; contacts that are members are
//! contact candidates. Members of nested groups are carried in the snapshot
//! (so the engine can report that they do not become mailboxes) but nothing
//! deeper than one level of nesting is read.
//!
//! The LDIF reader applies [`Scope`] to a whole export in memory with
//! [`scope_objects`]; the LDAP reader applies the same rules with server-side
//! searches, so both produce the same snapshot for the same directory.

use std::collections::{HashMap, HashSet};

use dirsync_model::{DirectoryObject, DirectorySnapshot, Guid, ObjectKind};
use serde::{Deserialize, Serialize};

use crate::entry::{dn_key, rdn_value};

/// A service group, named by distinguished name or by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRef {
    /// `CN=Exchange Users,OU=Groups,DC=example,DC=com`
    Dn(String),
    /// Matched case-insensitively against the group's `sAMAccountName` and its CN.
    Name(String),
}

impl GroupRef {
    /// A string containing `=` is a DN, anything else a name.
    pub fn parse(s: &str) -> GroupRef {
        let t = s.trim();
        if t.contains('=') {
            GroupRef::Dn(t.to_string())
        } else {
            GroupRef::Name(t.to_string())
        }
    }
}

impl std::fmt::Display for GroupRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupRef::Dn(s) | GroupRef::Name(s) => f.write_str(s),
        }
    }
}

/// Which service groups define the scope. At least one must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The Exchange service group.
    pub exchange: Option<GroupRef>,
    /// The Rackspace Email service group.
    pub rsemail: Option<GroupRef>,
}

pub use dirsync_model::Service;

/// Why the scope could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("no service group is configured: name the Exchange or the Rackspace Email security group (by DN or by name)")]
    Empty,
    #[error("the {} service group '{group}' was not found in the directory; check its name or DN and that the bind account can read it", .service.name())]
    NotFound { service: Service, group: String },
    #[error("the {} service group '{group}' is ambiguous: {count} groups have that name; give its DN instead", .service.name())]
    Ambiguous {
        service: Service,
        group: String,
        count: usize,
    },
    #[error("the {} service group '{group}' is not a group (it is a {kind:?})", .service.name())]
    NotAGroup {
        service: Service,
        group: String,
        kind: ObjectKind,
    },
}

impl Scope {
    /// A scope from two optional strings, each a DN or a name.
    pub fn new(exchange: Option<&str>, rsemail: Option<&str>) -> Result<Scope, ScopeError> {
        let s = Scope {
            exchange: exchange
                .filter(|s| !s.trim().is_empty())
                .map(GroupRef::parse),
            rsemail: rsemail
                .filter(|s| !s.trim().is_empty())
                .map(GroupRef::parse),
        };
        if s.exchange.is_none() && s.rsemail.is_none() {
            return Err(ScopeError::Empty);
        }
        Ok(s)
    }

    /// The configured groups with their service.
    pub fn groups(&self) -> impl Iterator<Item = (Service, &GroupRef)> {
        [
            (Service::Exchange, self.exchange.as_ref()),
            (Service::RsEmail, self.rsemail.as_ref()),
        ]
        .into_iter()
        .filter_map(|(s, g)| g.map(|g| (s, g)))
    }
}

/// Applies a scope to every object of a directory export.
///
/// Member DNs that name no object in the export (objects outside the
/// exported subtree, foreign security principals) are skipped with a warning.
pub fn scope_objects(
    all: Vec<DirectoryObject>,
    scope: &Scope,
) -> Result<DirectorySnapshot, ScopeError> {
    if scope.exchange.is_none() && scope.rsemail.is_none() {
        return Err(ScopeError::Empty);
    }
    let by_dn: HashMap<String, usize> = all
        .iter()
        .enumerate()
        .map(|(i, o)| (dn_key(&o.dn), i))
        .collect();
    let mut snapshot = DirectorySnapshot::default();
    let mut taken: HashSet<usize> = HashSet::new();
    let mut order: Vec<usize> = Vec::new();
    let mut take = |i: usize, order: &mut Vec<usize>| {
        if taken.insert(i) {
            order.push(i);
        }
    };
    for (service, group) in scope.groups() {
        let gi = find_group(&all, &by_dn, service, group)?;
        match service {
            Service::Exchange => snapshot.exchange_group = Some(all[gi].guid),
            Service::RsEmail => snapshot.rsemail_group = Some(all[gi].guid),
        }
        take(gi, &mut order);
        for m in &all[gi].members {
            let Some(&mi) = by_dn.get(&dn_key(m)) else {
                tracing::warn!(group = %all[gi].dn, member = %m, "member not found in the export; skipped");
                continue;
            };
            take(mi, &mut order);
            if all[mi].kind == ObjectKind::Group {
                for nm in &all[mi].members {
                    match by_dn.get(&dn_key(nm)) {
                        Some(&ni) => take(ni, &mut order),
                        None => {
                            tracing::warn!(group = %all[mi].dn, member = %nm, "member not found in the export; skipped");
                        }
                    }
                }
            }
        }
    }
    let mut slots: Vec<Option<DirectoryObject>> = all.into_iter().map(Some).collect();
    snapshot.objects = order.into_iter().filter_map(|i| slots[i].take()).collect();
    Ok(snapshot)
}

fn find_group(
    all: &[DirectoryObject],
    by_dn: &HashMap<String, usize>,
    service: Service,
    group: &GroupRef,
) -> Result<usize, ScopeError> {
    let not_found = || ScopeError::NotFound {
        service,
        group: group.to_string(),
    };
    let i = match group {
        GroupRef::Dn(dn) => *by_dn.get(&dn_key(dn)).ok_or_else(not_found)?,
        GroupRef::Name(name) => {
            let hits: Vec<usize> = all
                .iter()
                .enumerate()
                .filter(|(_, o)| o.kind == ObjectKind::Group && group_name_matches(o, name))
                .map(|(i, _)| i)
                .collect();
            match hits.len() {
                0 => return Err(not_found()),
                1 => hits[0],
                n => {
                    return Err(ScopeError::Ambiguous {
                        service,
                        group: name.clone(),
                        count: n,
                    })
                }
            }
        }
    };
    if all[i].kind != ObjectKind::Group {
        return Err(ScopeError::NotAGroup {
            service,
            group: group.to_string(),
            kind: all[i].kind,
        });
    }
    Ok(i)
}

/// Whether a group answers to a name (sAMAccountName or CN, case-insensitive).
/// The LDAP filter for a group configured by name (its sAMAccountName or
/// CN); the hits are then checked with [`group_name_matches`].
pub(crate) fn group_name_filter(name: &str) -> String {
    let n = ldap3::ldap_escape(name);
    format!("(&(objectClass=group)(|(sAMAccountName={n})(cn={n})))")
}

pub fn group_name_matches(o: &DirectoryObject, name: &str) -> bool {
    answers_to(o.sam_account_name.as_deref(), &o.dn, name)
}

/// [`group_name_matches`] on the raw parts: the sAMAccountName and the DN.
pub(crate) fn answers_to(sam_account_name: Option<&str>, dn: &str, name: &str) -> bool {
    sam_account_name.is_some_and(|s| s.eq_ignore_ascii_case(name))
        || rdn_value(dn).eq_ignore_ascii_case(name)
}

/// The GUIDs of a snapshot's objects (the scope set kept in the cookie).
pub fn guids(snapshot: &DirectorySnapshot) -> HashSet<Guid> {
    snapshot.objects.iter().map(|o| o.guid).collect()
}
