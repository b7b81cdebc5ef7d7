//! What a directory read produces: objects as AD holds them, normalised.
//!
//! Readers (LDAP, LDIF) fill these types; scoping and mapping interpret them.
//! Values are kept as the directory wrote them: validation of `mail` and
//! `proxyAddresses` is the mapping's job, because a bad value is a finding to
//! report with its cause and fix, not a read failure.

use serde::{Deserialize, Serialize};

use crate::Guid;

/// The AD object classes dirsync cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    User,
    Group,
    Contact,
}

/// One `proxyAddresses` value, classified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyAddress {
    /// `SMTP:` (upper case): the primary address.
    PrimarySmtp(String),
    /// `smtp:` (lower case): an alternate address.
    Smtp(String),
    /// Any other type (`X500:`, `SIP:`, ...): kept, ignored by mapping.
    Other { kind: String, value: String },
    /// No `type:` prefix at all: reported as malformed.
    Malformed(String),
}

impl ProxyAddress {
    pub fn parse(raw: &str) -> ProxyAddress {
        match raw.split_once(':') {
            Some((kind, value)) if !kind.is_empty() && !kind.contains('@') => {
                if kind == "SMTP" {
                    ProxyAddress::PrimarySmtp(value.to_string())
                } else if kind.eq_ignore_ascii_case("smtp") {
                    ProxyAddress::Smtp(value.to_string())
                } else {
                    ProxyAddress::Other {
                        kind: kind.to_string(),
                        value: value.to_string(),
                    }
                }
            }
            _ => ProxyAddress::Malformed(raw.to_string()),
        }
    }
}

/// The contact-information attributes that flow to the control panel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactInfo {
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub initials: Option<String>,
    pub title: Option<String>,
    pub company: Option<String>,
    pub department: Option<String>,
    pub office: Option<String>,
    pub telephone: Option<String>,
    pub mobile: Option<String>,
    pub fax: Option<String>,
    pub pager: Option<String>,
    pub home_phone: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub employee_id: Option<String>,
    pub employee_type: Option<String>,
}

/// One directory object (user, group or contact), normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryObject {
    pub guid: Guid,
    pub kind: ObjectKind,
    /// distinguishedName as read (changes on rename and move).
    pub dn: String,
    /// All objectClass values, as read.
    #[serde(default)]
    pub object_classes: Vec<String>,
    pub sam_account_name: Option<String>,
    pub user_principal_name: Option<String>,
    /// `mail`, unvalidated. `Some("")` and `None` are both reported as empty.
    pub mail: Option<String>,
    /// Raw `proxyAddresses` values; see [`ProxyAddress::parse`].
    #[serde(default)]
    pub proxy_addresses: Vec<String>,
    /// Boxed: its twenty fields are 480 bytes, and a full read holds one
    /// object per user in one vector. Boxed, the vector holds a pointer
    /// instead, and the mapping frees each object's information as it
    /// maps it (the vector itself is freed only once all are mapped).
    #[serde(default)]
    pub info: Box<ContactInfo>,
    /// `otherMailbox` values (contacts use it to name their domain).
    #[serde(default)]
    pub other_mailbox: Vec<String>,
    /// From `userAccountControl` bit 0x2 (ACCOUNTDISABLE). Always false for groups and contacts.
    #[serde(default)]
    pub disabled: bool,
    /// Raw `userAccountControl`, when present.
    pub user_account_control: Option<u32>,
    /// Group members as DNs, complete (ranged retrieval already resolved). Empty for non-groups.
    #[serde(default)]
    pub members: Vec<String>,
    /// `whenChanged` in AD's generalized-time form, e.g. `20261125120000.0Z`.
    pub when_changed: Option<String>,
    pub usn_changed: Option<i64>,
}

impl DirectoryObject {
    /// A blank object of a kind, for builders and tests.
    pub fn new(guid: Guid, kind: ObjectKind, dn: impl Into<String>) -> Self {
        DirectoryObject {
            guid,
            kind,
            dn: dn.into(),
            object_classes: Vec::new(),
            sam_account_name: None,
            user_principal_name: None,
            mail: None,
            proxy_addresses: Vec::new(),
            info: Box::default(),
            other_mailbox: Vec::new(),
            disabled: false,
            user_account_control: None,
            members: Vec::new(),
            when_changed: None,
            usn_changed: None,
        }
    }

    /// The name to show an administrator: displayName, else the CN from the DN.
    pub fn label(&self) -> &str {
        if let Some(d) = self.info.display_name.as_deref().filter(|d| !d.is_empty()) {
            return d;
        }
        self.dn
            .split_once(',')
            .map(|(rdn, _)| rdn)
            .unwrap_or(&self.dn)
            .split_once('=')
            .map(|(_, v)| v)
            .unwrap_or(&self.dn)
    }
}

/// A complete, successful read of the objects in scope.
///
/// A reader returns this only when the whole read succeeded. A failed or
/// partial read is an error, never a short snapshot, so that nothing
/// downstream can mistake it for "these objects left".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectorySnapshot {
    /// The Exchange service group, if configured and found.
    pub exchange_group: Option<Guid>,
    /// The Rackspace Email service group, if configured and found.
    pub rsemail_group: Option<Guid>,
    /// The service groups themselves, their direct members, nested groups and
    /// the nested groups' direct members. Order is not significant.
    pub objects: Vec<DirectoryObject>,
}

/// One change reported by an incremental read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // boxing would change the public shape readers build
pub enum DirectoryChange {
    /// Created, modified, renamed, moved, or its membership changed. The
    /// object is complete (all attributes, all members), not a partial diff.
    Upsert(DirectoryObject),
    /// Deleted (tombstoned). `last_dn` is the DN before deletion, if known.
    Delete { guid: Guid, last_dn: Option<String> },
}

/// The result of an incremental read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryChanges {
    pub changes: Vec<DirectoryChange>,
    /// The opaque cookie to persist once these changes are applied.
    pub cookie: Vec<u8>,
    /// How the changes were obtained; `UsnHighWater` is the fallback when the
    /// bind account lacks the DirSync right.
    pub method: ChangeTracking,
}

/// Which incremental mechanism produced a [`DirectoryChanges`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeTracking {
    DirSync,
    UsnHighWater,
    /// A whole read of an LDIF file compared with the stored replica (the
    /// LDIF source has no change tracking of its own).
    LdifDiff,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_address_classes() {
        use ProxyAddress::*;
        for (raw, want) in [
            (
                "SMTP:jane@example.com",
                PrimarySmtp("jane@example.com".into()),
            ),
            ("smtp:j@example.com", Smtp("j@example.com".into())),
            ("Smtp:j@example.com", Smtp("j@example.com".into())),
            (
                "X500:/o=Org/cn=jane",
                Other {
                    kind: "X500".into(),
                    value: "/o=Org/cn=jane".into(),
                },
            ),
            ("jane@example.com", Malformed("jane@example.com".into())),
            ("nocolon", Malformed("nocolon".into())),
            (":x", Malformed(":x".into())),
        ] {
            assert_eq!(ProxyAddress::parse(raw), want, "{raw}");
        }
    }

    #[test]
    fn label_prefers_display_name() {
        let g: Guid = "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f".parse().unwrap();
        let mut o = DirectoryObject::new(
            g,
            ObjectKind::User,
            "CN=Jane Doe,OU=Staff,DC=example,DC=com",
        );
        assert_eq!(o.label(), "Jane Doe");
        o.info.display_name = Some("Jane D.".into());
        assert_eq!(o.label(), "Jane D.");
    }
}
