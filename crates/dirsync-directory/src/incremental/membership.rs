//! Which objects are in scope: reading the service groups' membership
//! again when changes can have touched it, and the light reads that place
//! one object in or out of scope.

use std::collections::{HashMap, HashSet};

use dirsync_model::{Guid, ObjectKind};
use ldap3::Scope as LdapScope;

use crate::entry::{dn_key, RawEntry};
use crate::error::LdapSourceError;
use crate::ldap::{LdapSource, KINDS_FILTER};
use crate::scope::{GroupRef, Scope, Service};

use super::dirsync::DirSyncDelta;

/// A light read of one object: enough to place it in or out of scope.
#[derive(Clone)]
pub(super) struct Light {
    pub(super) guid: Guid,
    pub(super) dn: String,
    pub(super) kind: Option<ObjectKind>,
    /// `memberOf` DNs, as `dn_key`s.
    pub(super) member_of: Vec<String>,
}

/// Whether the changes can have changed which objects are in scope, so that
/// the service groups' membership must be read again. Membership lives in the
/// groups' `member` attribute, so adding an object to (or removing it from) a
/// service group or a nested group changes a group that is in scope; moving,
/// renaming or deleting anything in scope changes an object in scope; a group
/// outside scope matters only if it now answers to a service group's name.
/// `in_prev` says whether an object was in scope at the cookie.
pub(crate) fn scope_may_change(
    scope: &Scope,
    in_prev: impl Fn(&Guid) -> bool,
    changed: &HashSet<Guid>,
    deleted: &HashMap<Guid, Option<String>>,
    names: &HashSet<String>,
) -> bool {
    changed.iter().chain(deleted.keys()).any(in_prev) || service_group_renamed(scope, names)
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
    /// The scope set now, from the cookie's and the membership changes
    /// DirSync reported (its incremental values name each member added to or
    /// removed from a group), so that the cost follows the number of changes,
    /// not the size of the service groups. Scope is the service groups, their
    /// direct members, and the direct members of the groups among those.
    /// `None` when the changes are not ones it can follow (a group joining or
    /// leaving a service group, a group deleted, a service group renamed, a
    /// member that cannot be read): the scope is then read again in full.
    pub(super) async fn update_scope(
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
        // The light reads below, made up front many per search (batch.rs):
        // the groups changed and the members they gained or lost.
        let groups_read: Vec<Guid> = in_scope_groups
            .iter()
            .map(|(g, _)| **g)
            .filter(|g| !service.iter().any(|(s, _)| s == g))
            .collect();
        let mut group_lights = self.lights_by_guid(&groups_read).await?;
        let dns: Vec<&str> = in_scope_groups
            .iter()
            .flat_map(|(_, (a, r))| a.iter().chain(r))
            .map(String::as_str)
            .collect();
        let mut lights = self.lights_by_dn(&dns).await?;
        for (group, (added, removed)) in in_scope_groups {
            // Which role the group plays: a service group's members are in
            // scope, and so are those of the groups directly in a service
            // group; other groups' members are not.
            let confers = if service.iter().any(|(g, _)| g == group) {
                Some(true)
            } else {
                let Some(l) = group_lights.remove(group) else {
                    return Ok(None);
                };
                l.member_of.iter().any(|m| is_service(m)).then_some(false)
            };
            let Some(is_service_group) = confers else {
                continue;
            };
            let changes = added.iter().map(|dn| (dn, true));
            for (dn, joined) in changes.chain(removed.iter().map(|dn| (dn, false))) {
                // A DN met twice (in two groups' changes) is read again.
                let x = match lights.remove(dn.as_str()) {
                    Some(x) => Some(x),
                    None => self.read_light(dn).await?,
                };
                let Some(x) = x else {
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
    pub(super) async fn service_group_light(
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
    pub(super) async fn read_light(
        &mut self,
        base: &str,
    ) -> Result<Option<Light>, LdapSourceError> {
        let action = format!("reading '{base}'");
        let e = self
            .read_entry(base, &["objectGUID", "objectClass", "memberOf"], &action)
            .await?;
        Ok(e.as_ref().and_then(light))
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

    pub(super) async fn member_ids(
        &mut self,
        group_dn: &str,
    ) -> Result<Vec<(Guid, Option<ObjectKind>, String)>, LdapSourceError> {
        let filter = format!(
            "(&(memberOf={}){KINDS_FILTER})",
            ldap3::ldap_escape(group_dn)
        );
        let base = self.base_dn.clone();
        let action = format!("reading the members of '{group_dn}'");
        // Each entry is kept as its GUID, kind and DN as it arrives (a
        // 100,000-member group's raw entries are never held together).
        let mut out = Vec::new();
        self.paged_each(
            &base,
            &filter,
            &["objectGUID", "objectClass"],
            &action,
            |e| {
                let kind = e.kind();
                if kind.is_some() {
                    out.push((e.guid()?, kind, e.dn));
                }
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }
}

pub(super) fn light(e: &RawEntry) -> Option<Light> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
                scope_may_change(scope, |g| prev.contains(g), &changed, deleted, &names),
                want,
                "case {i}"
            );
        }
    }
}
