//! A raw directory entry (as LDAP or LDIF delivers it) and its normalisation
//! into [`DirectoryObject`].
//!
//! Both readers fill a [`RawEntry`] and call [`RawEntry::to_object`], so an
//! object read over LDAP and the same object read from an LDIF export are
//! identical.

use std::collections::HashMap;

use dirsync_model::{ContactInfo, DirectoryObject, Guid, ObjectKind};

/// The attributes dirsync requests and reads (issue 3 §4).
pub const ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "objectClass",
    "distinguishedName",
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "proxyAddresses",
    "displayName",
    "givenName",
    "sn",
    "initials",
    "title",
    "company",
    "department",
    "physicalDeliveryOfficeName",
    "telephoneNumber",
    "mobile",
    "facsimileTelephoneNumber",
    "pager",
    "homePhone",
    "streetAddress",
    "l",
    "st",
    "postalCode",
    "co",
    "employeeID",
    "employeeType",
    "otherMailbox",
    "userAccountControl",
    "whenChanged",
    "uSNChanged",
    "member",
];

/// `userAccountControl` bit ACCOUNTDISABLE.
pub const UF_ACCOUNTDISABLE: u32 = 0x2;

/// One entry: its DN and its attributes, names lower-cased, values raw bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawEntry {
    pub dn: String,
    pub attrs: HashMap<String, Vec<Vec<u8>>>,
}

/// Why an entry could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("'{dn}' has no objectGUID; request or export it (ldifde exports it by default; for ldapsearch add objectGUID to the attribute list)")]
    MissingGuid { dn: String },
    #[error("'{dn}' has an invalid objectGUID: {cause}")]
    BadGuid { dn: String, cause: String },
    #[error("'{dn}' has a {attr} value that is not UTF-8 text")]
    NotText { dn: String, attr: String },
    #[error("'{dn}' has a {attr} value '{value}' that is not a number")]
    NotNumber {
        dn: String,
        attr: String,
        value: String,
    },
}

impl RawEntry {
    pub fn new(dn: impl Into<String>) -> Self {
        RawEntry {
            dn: dn.into(),
            attrs: HashMap::new(),
        }
    }

    /// Appends a value to an attribute (name matched case-insensitively).
    pub fn push(&mut self, name: &str, value: Vec<u8>) {
        self.attrs
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value);
    }

    /// All values of an attribute.
    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn texts(&self, name: &str) -> Result<Vec<String>, EntryError> {
        self.values(name)
            .iter()
            .map(|v| {
                String::from_utf8(v.clone()).map_err(|_| EntryError::NotText {
                    dn: self.dn.clone(),
                    attr: name.to_string(),
                })
            })
            .collect()
    }

    /// The kind of object, from objectClass: `None` for anything dirsync does
    /// not read (computers, OUs, foreign security principals, ...).
    pub fn kind(&self) -> Option<ObjectKind> {
        let classes: Vec<String> = self
            .values("objectClass")
            .iter()
            .map(|v| String::from_utf8_lossy(v).to_ascii_lowercase())
            .collect();
        let has = |c: &str| classes.iter().any(|x| x == c);
        if has("computer") {
            None
        } else if has("group") {
            Some(ObjectKind::Group)
        } else if has("contact") {
            Some(ObjectKind::Contact)
        } else if has("user") {
            Some(ObjectKind::User)
        } else {
            None
        }
    }

    /// The objectGUID, decoded from AD's mixed-endian bytes.
    pub fn guid(&self) -> Result<Guid, EntryError> {
        let raw = self
            .values("objectGUID")
            .first()
            .ok_or_else(|| EntryError::MissingGuid {
                dn: self.dn.clone(),
            })?;
        Guid::from_ad_bytes(raw).map_err(|e| EntryError::BadGuid {
            dn: self.dn.clone(),
            cause: e.to_string(),
        })
    }

    /// Normalises the entry; `Ok(None)` when it is not a user, group or contact.
    pub fn to_object(&self) -> Result<Option<DirectoryObject>, EntryError> {
        let Some(kind) = self.kind() else {
            return Ok(None);
        };
        let guid = self.guid()?;
        build(&self.dn, guid, kind, |name| self.texts(name)).map(Some)
    }

    /// [`RawEntry::to_object`] that moves the values into the object
    /// instead of copying them: the LDAP read converts each entry as it
    /// arrives and drops it, so a group's 100,000 member DNs are never held
    /// twice.
    pub fn into_object(mut self) -> Result<Option<DirectoryObject>, EntryError> {
        let Some(kind) = self.kind() else {
            return Ok(None);
        };
        let guid = self.guid()?;
        let dn = std::mem::take(&mut self.dn);
        let mut attrs = std::mem::take(&mut self.attrs);
        build(&dn, guid, kind, |name| {
            attrs
                .remove(&name.to_ascii_lowercase())
                .unwrap_or_default()
                .into_iter()
                .map(|v| {
                    String::from_utf8(v).map_err(|_| EntryError::NotText {
                        dn: dn.clone(),
                        attr: name.to_string(),
                    })
                })
                .collect()
        })
        .map(Some)
    }
}

/// The values of an entry's attributes by name, copied or moved out of it.
struct Texts<F>(F);

impl<F: FnMut(&str) -> Result<Vec<String>, EntryError>> Texts<F> {
    fn all(&mut self, name: &str) -> Result<Vec<String>, EntryError> {
        (self.0)(name)
    }

    fn one(&mut self, name: &str) -> Result<Option<String>, EntryError> {
        Ok((self.0)(name)?.into_iter().next())
    }

    fn number<T: std::str::FromStr>(
        &mut self,
        dn: &str,
        name: &str,
    ) -> Result<Option<T>, EntryError> {
        match self.one(name)? {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse::<T>()
                .map(Some)
                .map_err(|_| EntryError::NotNumber {
                    dn: dn.to_string(),
                    attr: name.to_string(),
                    value: s,
                }),
        }
    }
}

/// The object of kind `kind` named `dn`, with each attribute's values as
/// `texts` gives them (copied or moved out of the entry). Both conversions
/// go through here, so they check the same values in the same order.
fn build(
    dn: &str,
    guid: Guid,
    kind: ObjectKind,
    texts: impl FnMut(&str) -> Result<Vec<String>, EntryError>,
) -> Result<DirectoryObject, EntryError> {
    let mut t = Texts(texts);
    let mut o = DirectoryObject::new(guid, kind, dn);
    o.object_classes = t.all("objectClass")?;
    o.sam_account_name = t.one("sAMAccountName")?;
    o.user_principal_name = t.one("userPrincipalName")?;
    o.mail = t.one("mail")?;
    o.proxy_addresses = t.all("proxyAddresses")?;
    o.info = Box::new(ContactInfo {
        display_name: t.one("displayName")?,
        given_name: t.one("givenName")?,
        surname: t.one("sn")?,
        initials: t.one("initials")?,
        title: t.one("title")?,
        company: t.one("company")?,
        department: t.one("department")?,
        office: t.one("physicalDeliveryOfficeName")?,
        telephone: t.one("telephoneNumber")?,
        mobile: t.one("mobile")?,
        fax: t.one("facsimileTelephoneNumber")?,
        pager: t.one("pager")?,
        home_phone: t.one("homePhone")?,
        street: t.one("streetAddress")?,
        city: t.one("l")?,
        state: t.one("st")?,
        postal_code: t.one("postalCode")?,
        country: t.one("co")?,
        employee_id: t.one("employeeID")?,
        employee_type: t.one("employeeType")?,
    });
    o.other_mailbox = t.all("otherMailbox")?;
    // userAccountControl is a signed 32-bit integer on the wire.
    o.user_account_control = t.number::<i64>(dn, "userAccountControl")?.map(|v| v as u32);
    o.disabled = kind == ObjectKind::User
        && o.user_account_control
            .is_some_and(|u| u & UF_ACCOUNTDISABLE != 0);
    if kind == ObjectKind::Group {
        o.members = t.all("member")?;
    }
    o.when_changed = t.one("whenChanged")?;
    o.usn_changed = t.number::<i64>(dn, "uSNChanged")?;
    Ok(o)
}

/// A comparison key for a DN: case-insensitive, spaces around separators
/// ignored, escapes kept. `CN=Jane Doe, OU=Staff,DC=x` and
/// `cn=jane doe,ou=staff,dc=x` have the same key.
pub fn dn_key(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    out.extend(n.to_lowercase());
                }
            }
            ',' | '=' | '+' => {
                while out.ends_with(' ') && !out.ends_with("\\ ") {
                    out.pop();
                }
                out.push(c);
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The value of a DN's first RDN (`Jane Doe` for `CN=Jane Doe,OU=...`), unescaped.
pub fn rdn_value(dn: &str) -> String {
    let mut out = String::new();
    let mut started = false;
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if started => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '=' if !started => started = true,
            ',' if started => break,
            _ if started => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &[u8])]) -> RawEntry {
        let mut e = RawEntry::new(dn);
        for (k, v) in attrs {
            e.push(k, v.to_vec());
        }
        e
    }

    const GUID: &[u8] = &[
        0xb6, 0xf0, 0xd3, 0xf2, 0x36, 0xad, 0x56, 0x4e, 0x8c, 0x70, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e,
        0x6f,
    ];

    #[test]
    fn kinds_from_object_class() {
        for (classes, want) in [
            (
                &["top", "person", "organizationalPerson", "user"][..],
                Some(ObjectKind::User),
            ),
            (
                &["top", "person", "organizationalPerson", "user", "computer"][..],
                None,
            ),
            (&["top", "group"][..], Some(ObjectKind::Group)),
            (
                &["top", "person", "organizationalPerson", "contact"][..],
                Some(ObjectKind::Contact),
            ),
            (&["top", "organizationalUnit"][..], None),
            (&[][..], None),
        ] {
            let mut e = RawEntry::new("CN=x,DC=y");
            for c in classes {
                e.push("objectclass", c.as_bytes().to_vec());
            }
            assert_eq!(e.kind(), want, "{classes:?}");
        }
    }

    #[test]
    fn normalises_a_user() {
        let e = entry(
            "CN=Jane Doe,OU=Staff,DC=example,DC=com",
            &[
                ("objectClass", b"user"),
                ("objectGUID", GUID),
                ("mail", b"jane@example.com"),
                ("proxyAddresses", b"SMTP:jane@example.com"),
                ("proxyAddresses", b"smtp:jd@example.com"),
                ("userAccountControl", b"514"),
                ("uSNChanged", b"12345"),
                ("l", b"Dublin"),
                ("member", b"CN=ignored"),
            ],
        );
        let o = e.to_object().unwrap().unwrap();
        assert_eq!(o.guid.to_string(), "f2d3f0b6-ad36-4e56-8c70-1a2b3c4d5e6f");
        assert_eq!(o.kind, ObjectKind::User);
        assert!(o.disabled);
        assert_eq!(o.user_account_control, Some(514));
        assert_eq!(o.usn_changed, Some(12345));
        assert_eq!(o.info.city.as_deref(), Some("Dublin"));
        assert_eq!(o.proxy_addresses.len(), 2);
        assert!(o.members.is_empty());
    }

    #[test]
    fn errors_name_the_object() {
        let e = entry("CN=NoGuid,DC=x", &[("objectClass", b"user")]);
        assert_eq!(
            e.to_object().unwrap_err(),
            EntryError::MissingGuid {
                dn: "CN=NoGuid,DC=x".into()
            }
        );
        let e = entry(
            "CN=Short,DC=x",
            &[("objectClass", b"user"), ("objectGUID", b"abc")],
        );
        assert!(matches!(
            e.to_object().unwrap_err(),
            EntryError::BadGuid { .. }
        ));
        let e = entry(
            "CN=U,DC=x",
            &[
                ("objectClass", b"user"),
                ("objectGUID", GUID),
                ("uSNChanged", b"x1"),
            ],
        );
        assert!(e
            .to_object()
            .unwrap_err()
            .to_string()
            .contains("uSNChanged value 'x1' that is not a number"));
    }

    #[test]
    fn moving_the_values_out_gives_what_copying_them_gives() {
        let group = entry(
            "CN=Staff,OU=Groups,DC=x",
            &[
                ("objectClass", b"top"),
                ("objectClass", b"group"),
                ("objectGUID", GUID),
                ("member", b"CN=A,DC=x"),
                ("member", b"CN=B,DC=x"),
                ("mail", b"staff@x.com"),
                ("uSNChanged", b"77"),
            ],
        );
        let cases: Vec<(&str, RawEntry)> = vec![
            (
                "user",
                entry(
                    "CN=Jane,DC=x",
                    &[
                        ("objectClass", b"user"),
                        ("objectGUID", GUID),
                        ("proxyAddresses", b"SMTP:j@x.com"),
                        ("proxyAddresses", b"smtp:jd@x.com"),
                        ("title", b"Engineer"),
                        ("userAccountControl", b"-2147483646"),
                        ("member", b"CN=ignored for a user"),
                    ],
                ),
            ),
            ("group with members", group),
            (
                "contact",
                entry(
                    "CN=C,DC=x",
                    &[
                        ("objectClass", b"contact"),
                        ("objectGUID", GUID),
                        ("otherMailbox", b"x.com"),
                    ],
                ),
            ),
            (
                "not an object dirsync reads",
                entry("OU=Staff,DC=x", &[("objectClass", b"organizationalUnit")]),
            ),
            (
                "value that is not text",
                entry(
                    "CN=U,DC=x",
                    &[
                        ("objectClass", b"user"),
                        ("objectGUID", GUID),
                        ("title", &[0xff, 0xfe]),
                    ],
                ),
            ),
            (
                "member that is not text",
                entry(
                    "CN=G,DC=x",
                    &[
                        ("objectClass", b"group"),
                        ("objectGUID", GUID),
                        ("member", &[0xc3]),
                    ],
                ),
            ),
            (
                "number that is not one",
                entry(
                    "CN=U,DC=x",
                    &[
                        ("objectClass", b"user"),
                        ("objectGUID", GUID),
                        ("userAccountControl", b"12a"),
                    ],
                ),
            ),
            ("no GUID", entry("CN=U,DC=x", &[("objectClass", b"user")])),
        ];
        for (name, e) in cases {
            assert_eq!(e.clone().into_object(), e.to_object(), "{name}");
        }
        let g = entry(
            "CN=G,DC=x",
            &[
                ("objectClass", b"group"),
                ("objectGUID", GUID),
                ("member", b"CN=A,DC=x"),
                ("member", b"CN=B,DC=x"),
            ],
        )
        .into_object()
        .unwrap()
        .unwrap();
        assert_eq!(g.members, ["CN=A,DC=x", "CN=B,DC=x"]);
        assert_eq!(g.dn, "CN=G,DC=x");
    }

    #[test]
    fn dn_keys_and_rdn_values() {
        for (a, b) in [
            ("CN=Jane Doe, OU=Staff,DC=x", "cn=jane doe,ou=staff,dc=x"),
            ("CN = Doe\\, Jane ,DC=x", "cn=doe\\, jane,dc=x"),
        ] {
            assert_eq!(dn_key(a), dn_key(b), "{a} vs {b}");
        }
        assert_ne!(dn_key("CN=a,DC=x"), dn_key("CN=b,DC=x"));
        assert_eq!(rdn_value("CN=Doe\\, Jane,OU=Staff"), "Doe, Jane");
        assert_eq!(rdn_value("CN=Exchange Users,DC=x"), "Exchange Users");
    }
}
