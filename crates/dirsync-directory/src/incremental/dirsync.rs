//! The DirSync control's side of an incremental read: walking the
//! server's changes from a cookie and recording what they touch.

use std::collections::{HashMap, HashSet};

use dirsync_model::{Guid, ObjectKind};
use ldap3::Scope as LdapScope;

use crate::controls::dirsync::FLAG_INCREMENTAL_VALUES;
use crate::controls::{DirSyncRequest, DirSyncResponse, DIRSYNC_OID};
use crate::entry::{dn_key, RawEntry, ATTRIBUTES};
use crate::error::LdapSourceError;
use crate::ldap::{LdapSource, KINDS_FILTER};

/// How a DirSync attempt failed.
pub(super) enum DirSyncFailure {
    /// The account lacks the right, or the server lacks the control.
    Unavailable(String),
    /// The server refused the cookie.
    Rejected(String),
    Other(LdapSourceError),
}

/// What DirSync reported.
#[derive(Default)]
pub(super) struct DirSyncDelta {
    pub(super) changed: HashSet<Guid>,
    pub(super) deleted: HashMap<Guid, Option<String>>,
    /// Lower-cased `sAMAccountName`/`cn`/`name` values the changed objects
    /// carried: a group created or renamed to a service group's name changes
    /// the scope without touching anything in it.
    pub(super) names: HashSet<String>,
    /// Per changed group: the `member` DNs added and removed, as DirSync's
    /// incremental values report them.
    pub(super) members: HashMap<Guid, (Vec<String>, Vec<String>)>,
    /// Groups that came back with their whole `member` attribute (not as
    /// incremental values): what changed in their membership is unknown.
    pub(super) whole_members: HashSet<Guid>,
    /// What the deleted objects were, when the tombstone says.
    pub(super) deleted_kinds: HashMap<Guid, ObjectKind>,
    pub(super) cookie: Vec<u8>,
}

/// What a DirSync walk is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Walk {
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
pub(super) const NOTHING_FILTER: &str = "(&(objectClass=user)(objectClass=contact))";

impl LdapSource {
    /// Runs DirSync from `cookie` until the server has nothing more.
    pub(super) async fn dirsync(
        &mut self,
        cookie: &[u8],
        walk: Walk,
    ) -> Result<DirSyncDelta, DirSyncFailure> {
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
}

pub(super) fn record(delta: &mut DirSyncDelta, e: &RawEntry) {
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
    use super::*;

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
}
