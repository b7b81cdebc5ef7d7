//! The full scoped read: each service group, its direct members with one
//! paged `(memberOf=<group>)` search, and each nested group's members the
//! same way (or one by one when only a few are not read yet), so 10,000
//! users cost about ten round trips, not 10,000.
//!
//! Memory: entries are converted as they arrive ([`LdapSource::read_objects_each`])
//! and the objects go straight into the snapshot's one vector, sized from
//! the service group's member count; what is kept beside it is 16 bytes of
//! DN key and the position of each object read.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use dirsync_model::{DirectoryObject, DirectorySnapshot, Guid, ObjectKind};

use crate::entry::dn_key;
use crate::error::LdapSourceError;
use crate::ldap::{LdapSource, KINDS_FILTER};
use crate::scope::{group_name_matches, GroupRef, Scope, ScopeError, Service};

/// Up to this many unread members of a nested group are read by DN; more take one memberOf search.
const NESTED_READ_ONE_BY_ONE: usize = 50;

impl LdapSource {
    /// Finds a configured service group.
    pub(crate) async fn find_service_group(
        &mut self,
        service: Service,
        group: &GroupRef,
    ) -> Result<DirectoryObject, LdapSourceError> {
        let not_found = || ScopeError::NotFound {
            service,
            group: group.to_string(),
        };
        let o = match group {
            GroupRef::Dn(dn) => self.read_one(dn).await?.ok_or_else(not_found)?,
            GroupRef::Name(name) => {
                let filter = crate::scope::group_name_filter(name);
                let action = format!("looking up the {} service group '{name}'", service.name());
                let mut hits: Vec<DirectoryObject> = self
                    .read_objects(&filter, &action)
                    .await?
                    .into_iter()
                    .filter(|o| group_name_matches(o, name))
                    .collect();
                match hits.len() {
                    0 => return Err(not_found().into()),
                    1 => hits.remove(0),
                    count => {
                        return Err(ScopeError::Ambiguous {
                            service,
                            group: name.clone(),
                            count,
                        }
                        .into())
                    }
                }
            }
        };
        if o.kind != ObjectKind::Group {
            return Err(ScopeError::NotAGroup {
                service,
                group: group.to_string(),
                kind: o.kind,
            }
            .into());
        }
        Ok(o)
    }

    /// Reads the direct members of the group named `group_dn` that dirsync
    /// reads (users, groups, contacts) into `found`, each as it arrives, and
    /// returns the GUIDs of the groups among them. `expected` is the
    /// group's member count, logged against when some members are not read.
    async fn read_members_into(
        &mut self,
        group_dn: &str,
        expected: usize,
        found: &mut Found,
    ) -> Result<Vec<Guid>, LdapSourceError> {
        let filter = format!(
            "(&(memberOf={}){KINDS_FILTER})",
            ldap3::ldap_escape(group_dn)
        );
        let action = format!("reading the members of '{group_dn}'");
        let mut read = 0usize;
        let mut groups = Vec::new();
        self.read_objects_each(&filter, &action, |o| {
            read += 1;
            if o.kind == ObjectKind::Group {
                groups.push(o.guid);
            }
            found.add(o);
        })
        .await?;
        if read < expected {
            tracing::debug!(group = %group_dn, read, members = expected, "some members are not users, groups or contacts under the base DN; skipped");
        }
        Ok(groups)
    }

    /// Reads everything in scope (issue 3 §3). Fails rather than return a partial snapshot.
    ///
    /// Memory: each page's entries are converted as they arrive and the
    /// objects go straight into the snapshot's one vector (sized from the
    /// service group's member count), so the read holds the snapshot, one
    /// page of raw entries and 16 bytes of key per object read.
    pub async fn full(&mut self, scope: &Scope) -> Result<DirectorySnapshot, LdapSourceError> {
        if scope.exchange.is_none() && scope.rsemail.is_none() {
            return Err(ScopeError::Empty.into());
        }
        let mut snapshot = DirectorySnapshot::default();
        let mut found = Found::default();
        let groups: Vec<(Service, GroupRef)> =
            scope.groups().map(|(s, g)| (s, g.clone())).collect();
        for (service, group) in groups {
            let g = self.find_service_group(service, &group).await?;
            match service {
                Service::Exchange => snapshot.exchange_group = Some(g.guid),
                Service::RsEmail => snapshot.rsemail_group = Some(g.guid),
            }
            let (dn, expected) = (g.dn.clone(), g.members.len());
            // One allocation for the whole membership: no vector doubling (and
            // no second vector) at 100,000 members.
            found.reserve(expected + 1);
            found.add(g);
            let nested = self.read_members_into(&dn, expected, &mut found).await?;
            for n in nested {
                // Members already read (usually most: distribution lists tend to hold
                // the service group's own users) are not read again; a few missing
                // ones are read one by one, many with a memberOf search.
                let Some((dn, members, missing)) = found.missing_members(n) else {
                    continue;
                };
                found.reserve(missing.len());
                if missing.len() <= NESTED_READ_ONE_BY_ONE {
                    for m in missing {
                        if let Some(o) = self.read_one(&m).await? {
                            found.add(o);
                        }
                    }
                } else {
                    self.read_members_into(&dn, members, &mut found).await?;
                }
            }
        }
        snapshot.objects = found.objects;
        Ok(snapshot)
    }
}

/// 128-bit keys of DNs (two independently seeded SipHashes of the DN's
/// comparison key, [`dn_key`]): 16 bytes an object instead of its DN.
#[derive(Debug, Clone, Default)]
struct DnKeys(RandomState, RandomState);

impl DnKeys {
    fn of(&self, dn: &str) -> u128 {
        let k = dn_key(dn);
        (u128::from(self.0.hash_one(&k)) << 64) | u128::from(self.1.hash_one(&k))
    }
}

/// The objects a full read has found so far, each once, with where each
/// is by GUID and the keys of their DNs.
#[derive(Debug, Default)]
struct Found {
    objects: Vec<DirectoryObject>,
    at: HashMap<Guid, usize>,
    dns: HashSet<u128>,
    keys: DnKeys,
}

impl Found {
    /// Room for `more` objects, exactly (a vector of 100,000 objects grown
    /// by doubling would keep up to half of it unused).
    fn reserve(&mut self, more: usize) {
        self.objects.reserve_exact(more);
        self.at.reserve(more);
        self.dns.reserve(more);
    }

    /// Keeps `o` unless an object with its GUID was found before.
    fn add(&mut self, o: DirectoryObject) {
        if let std::collections::hash_map::Entry::Vacant(v) = self.at.entry(o.guid) {
            v.insert(self.objects.len());
            self.dns.insert(self.keys.of(&o.dn));
            self.objects.push(o);
        }
    }

    /// The DN of the group with GUID `group`, its member count and the DNs
    /// of its members not found yet; `None` when the group was not found.
    fn missing_members(&self, group: Guid) -> Option<(String, usize, Vec<String>)> {
        let g = &self.objects[*self.at.get(&group)?];
        let missing = g
            .members
            .iter()
            .filter(|m| !self.dns.contains(&self.keys.of(m)))
            .cloned()
            .collect();
        Some((g.dn.clone(), g.members.len(), missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(n: u8, kind: ObjectKind, dn: &str, members: &[&str]) -> DirectoryObject {
        let mut o = DirectoryObject::new(Guid::from_canonical_bytes([n; 16]), kind, dn);
        o.members = members.iter().map(ToString::to_string).collect();
        o
    }

    #[test]
    fn each_object_is_kept_once_and_missing_members_are_named() {
        let mut f = Found::default();
        f.reserve(4);
        let list = object(
            1,
            ObjectKind::Group,
            "CN=List,OU=G,DC=x",
            &[
                "cn=ann, ou=staff,dc=x",
                "CN=Bob,OU=Staff,DC=x",
                "CN=Cy,OU=Staff,DC=x",
            ],
        );
        f.add(list);
        f.add(object(2, ObjectKind::User, "CN=Ann,OU=Staff,DC=x", &[]));
        // The same GUID again (read through two groups): kept once, the first kept.
        f.add(object(2, ObjectKind::User, "CN=Other,OU=Staff,DC=x", &[]));
        f.add(object(3, ObjectKind::User, "CN=Bob,OU=Staff,DC=x", &[]));
        assert_eq!(f.objects.len(), 3);
        assert_eq!(f.objects[1].dn, "CN=Ann,OU=Staff,DC=x");
        assert_eq!(f.objects.capacity(), 4, "reserved exactly");
        // DNs compare as dn_key does (case, spaces after commas).
        // (group, its DN, member count and members not found yet)
        type Want<'a> = Option<(&'a str, usize, Vec<&'a str>)>;
        let cases: Vec<(u8, Want<'_>)> = vec![
            (
                1,
                Some(("CN=List,OU=G,DC=x", 3, vec!["CN=Cy,OU=Staff,DC=x"])),
            ),
            (2, Some(("CN=Ann,OU=Staff,DC=x", 0, vec![]))),
            (9, None),
        ];
        for (n, want) in cases {
            let got = f.missing_members(Guid::from_canonical_bytes([n; 16]));
            let want = want.map(|(dn, count, m)| {
                (
                    dn.to_string(),
                    count,
                    m.into_iter().map(String::from).collect::<Vec<_>>(),
                )
            });
            assert_eq!(got, want, "group {n}");
        }
    }
}
