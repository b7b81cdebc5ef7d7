//! Reading the changed objects back whole, many per search.
//!
//! DirSync reports a changed object with only its changed attributes, so
//! each one is read again whole. One base read per object made an
//! incremental run cost a round trip per change (500 at 1% of 50,000
//! users); here the objects are asked for by GUID, [`GUIDS_PER_SEARCH`]
//! in one search (an OR of `objectGUID` equalities, each an index lookup
//! for the domain controller). The light reads that place changed
//! members in or out of scope are made the same way, by GUID or by DN.

use std::collections::HashMap;

use dirsync_model::{DirectoryObject, Guid};
use ldap3::Scope as LdapScope;

use crate::entry::dn_key;
use crate::error::LdapSourceError;
use crate::ldap::LdapSource;

use super::membership::{light, Light};

/// GUIDs asked for in one search: the filter stays a few kilobytes.
pub(super) const GUIDS_PER_SEARCH: usize = 100;

/// The filter that finds these objects by GUID.
pub(super) fn guids_filter(guids: &[Guid]) -> String {
    let mut f = String::from("(|");
    for g in guids {
        f.push_str("(objectGUID=");
        f.push_str(&g.ldap_filter_escape());
        f.push(')');
    }
    f.push(')');
    f
}

impl LdapSource {
    /// These objects as the directory has them now (those it has): as
    /// [`LdapSource::read_guid`] reads them one by one. The searches look
    /// under the base DN; an object they do not find (deleted, or moved out
    /// of the base DN) is read alone by GUID, as before.
    pub(super) async fn read_guids(
        &mut self,
        guids: &[Guid],
    ) -> Result<HashMap<Guid, DirectoryObject>, LdapSourceError> {
        let attrs = Self::object_attrs();
        let attrs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let base = self.base_dn.clone();
        let mut out: HashMap<Guid, DirectoryObject> = HashMap::with_capacity(guids.len());
        for chunk in guids.chunks(GUIDS_PER_SEARCH) {
            let action = format!("reading {} changed objects by GUID", chunk.len());
            let (entries, _) = self
                .search_page(
                    &base,
                    LdapScope::Subtree,
                    &guids_filter(chunk),
                    &attrs,
                    vec![],
                    &action,
                )
                .await?;
            for mut e in entries {
                self.complete_members(&mut e).await?;
                if let Some(o) = e.into_object()? {
                    if chunk.contains(&o.guid) {
                        out.insert(o.guid, o);
                    }
                }
            }
        }
        for g in guids {
            if !out.contains_key(g) {
                if let Some(o) = self.read_guid(*g).await? {
                    out.insert(*g, o);
                }
            }
        }
        Ok(out)
    }
}

/// The filter that finds these objects by DN.
pub(super) fn dns_filter(dns: &[&str]) -> String {
    let mut f = String::from("(|");
    for d in dns {
        f.push_str("(distinguishedName=");
        f.push_str(&ldap3::ldap_escape(*d));
        f.push(')');
    }
    f.push(')');
    f
}

impl LdapSource {
    /// Light reads ([`super::membership::Light`]) of these objects by GUID,
    /// many per search; an object the searches under the base DN do not
    /// find is read alone (`<GUID=...>`), as before. Objects that do not
    /// exist are left out.
    pub(super) async fn lights_by_guid(
        &mut self,
        guids: &[Guid],
    ) -> Result<HashMap<Guid, Light>, LdapSourceError> {
        let mut out: HashMap<Guid, Light> = HashMap::new();
        for chunk in guids.chunks(GUIDS_PER_SEARCH) {
            for l in self.light_search(&guids_filter(chunk)).await? {
                if chunk.contains(&l.guid) {
                    out.insert(l.guid, l);
                }
            }
        }
        for g in guids {
            if !out.contains_key(g) {
                if let Some(l) = self.read_light(&format!("<GUID={g}>")).await? {
                    out.insert(*g, l);
                }
            }
        }
        Ok(out)
    }

    /// Light reads of these objects by DN, many per search, keyed by the DN
    /// as asked; a DN the searches do not return spelled the same way
    /// (trimmed, case aside) is read alone, as before. DNs that name no
    /// object are left out.
    pub(super) async fn lights_by_dn(
        &mut self,
        dns: &[&str],
    ) -> Result<HashMap<String, Light>, LdapSourceError> {
        let mut found: HashMap<String, Light> = HashMap::new();
        for chunk in dns.chunks(GUIDS_PER_SEARCH) {
            for l in self.light_search(&dns_filter(chunk)).await? {
                found.insert(dn_key(&l.dn), l);
            }
        }
        let mut out: HashMap<String, Light> = HashMap::new();
        for d in dns {
            let l = match found.get(&dn_key(d)) {
                Some(l) => Some(l.clone()),
                None => self.read_light(d).await?,
            };
            if let Some(l) = l {
                out.insert(d.to_string(), l);
            }
        }
        Ok(out)
    }

    async fn light_search(&mut self, filter: &str) -> Result<Vec<Light>, LdapSourceError> {
        let base = self.base_dn.clone();
        let (entries, _) = self
            .search_page(
                &base,
                LdapScope::Subtree,
                filter,
                &["objectGUID", "objectClass", "memberOf"],
                vec![],
                "reading changed objects and members (GUID, class, memberOf)",
            )
            .await?;
        Ok(entries.iter().filter_map(light).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_asks_for_each_guid_by_its_ad_bytes() {
        let g = |n: u8| Guid::from_canonical_bytes([n; 16]);
        let cases: Vec<(Vec<Guid>, String)> = vec![
            (vec![], "(|)".into()),
            (
                vec![g(1)],
                format!("(|(objectGUID={}))", g(1).ldap_filter_escape()),
            ),
            (
                vec![g(1), g(0xab)],
                format!(
                    "(|(objectGUID={})(objectGUID={}))",
                    g(1).ldap_filter_escape(),
                    g(0xab).ldap_filter_escape()
                ),
            ),
        ];
        for (guids, want) in cases {
            assert_eq!(guids_filter(&guids), want);
        }
        assert!(guids_filter(&[g(0xab)]).contains("\\ab\\ab"));
    }

    #[test]
    fn the_dn_filter_escapes_each_dn() {
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (vec![], "(|)"),
            (
                vec!["CN=Ann,OU=Staff,DC=x"],
                "(|(distinguishedName=CN=Ann,OU=Staff,DC=x))",
            ),
            (
                vec!["CN=A (B)*,DC=x", "CN=C\\,D,DC=x"],
                "(|(distinguishedName=CN=A \\28B\\29\\2a,DC=x)(distinguishedName=CN=C\\5c,D,DC=x))",
            ),
        ];
        for (dns, want) in cases {
            assert_eq!(dns_filter(&dns), want, "{dns:?}");
        }
    }
}
