//! Case-insensitive email addresses and domain names.
//!
//! Hosted email compares addresses without regard to case, so two spellings
//! of one address must never be two keys in a map. These newtypes keep the
//! spelling the administrator wrote (for display) and compare on the
//! lower-cased form.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why an address or domain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("the address is empty")]
    Empty,
    #[error("'{0}' has no '@' between a local part and a domain")]
    MissingAt(String),
    #[error("'{0}' has an invalid local part (letters, digits and !#$%&'*+/=?^_`{{|}}~.- only, at most 64, no leading, trailing or doubled dot)")]
    LocalPart(String),
    #[error("'{0}' is not a valid domain name (labels of letters, digits and hyphens, at least two labels)")]
    Domain(String),
}

fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && !labels
            .last()
            .unwrap_or(&"")
            .chars()
            .all(|c| c.is_ascii_digit())
}

/// A text as written and its lower-case form, in one allocation, the
/// lower-case form stored only when it differs. Why: a sync of 100,000
/// users holds about a million addresses (desired state, listings,
/// anchors); two `String`s each took 120 bytes per address, this about 50.
#[derive(Clone)]
struct Ci {
    /// The text as written, followed by its lower-case form when that
    /// differs.
    text: Box<str>,
    /// The length of the text as written.
    len: u32,
}

impl Ci {
    fn new(original: &str) -> Ci {
        let lower = original.to_ascii_lowercase();
        let text = if lower == original {
            lower.into_boxed_str()
        } else {
            let mut t = String::with_capacity(original.len() * 2);
            t.push_str(original);
            t.push_str(&lower);
            t.into_boxed_str()
        };
        Ci {
            text,
            len: original.len() as u32,
        }
    }

    fn original(&self) -> &str {
        &self.text[..self.len as usize]
    }

    fn lower(&self) -> &str {
        match self.text.len() == self.len as usize {
            true => &self.text,
            false => &self.text[self.len as usize..],
        }
    }
}

/// A DNS domain name, compared case-insensitively.
#[derive(Clone)]
pub struct DomainName {
    ci: Ci,
}

impl DomainName {
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let t = s.trim().trim_end_matches('.');
        if t.is_empty() {
            return Err(AddressError::Empty);
        }
        if !valid_domain(t) {
            return Err(AddressError::Domain(s.to_string()));
        }
        Ok(DomainName { ci: Ci::new(t) })
    }
    /// The spelling as given.
    pub fn as_str(&self) -> &str {
        self.ci.original()
    }
    /// The comparison key.
    pub fn lower(&self) -> &str {
        self.ci.lower()
    }
}

/// An email address `local@domain`, compared case-insensitively.
#[derive(Clone)]
pub struct EmailAddress {
    ci: Ci,
    /// The position of the `@` in the text.
    at: u32,
}

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(AddressError::Empty);
        }
        let at = t
            .rfind('@')
            .ok_or_else(|| AddressError::MissingAt(s.to_string()))?;
        let (local, domain) = (&t[..at], &t[at + 1..]);
        if local.is_empty() || domain.is_empty() {
            return Err(AddressError::MissingAt(s.to_string()));
        }
        if !valid_local(local) {
            return Err(AddressError::LocalPart(s.to_string()));
        }
        if !valid_domain(domain) {
            return Err(AddressError::Domain(s.to_string()));
        }
        Ok(EmailAddress {
            ci: Ci::new(t),
            at: at as u32,
        })
    }
    pub fn as_str(&self) -> &str {
        self.ci.original()
    }
    /// The comparison key: the whole address in lower case.
    pub fn lower(&self) -> &str {
        self.ci.lower()
    }
    /// The local part as written (the control panel's mailbox name).
    pub fn local_part(&self) -> &str {
        &self.as_str()[..self.at as usize]
    }
    pub fn domain(&self) -> DomainName {
        DomainName {
            ci: Ci::new(&self.as_str()[self.at as usize + 1..]),
        }
    }
}

macro_rules! ci_impls {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, o: &Self) -> bool {
                self.lower() == o.lower()
            }
        }
        impl Eq for $t {}
        impl Hash for $t {
            fn hash<H: Hasher>(&self, h: &mut H) {
                self.lower().hash(h)
            }
        }
        impl PartialOrd for $t {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for $t {
            fn cmp(&self, o: &Self) -> Ordering {
                self.lower().cmp(o.lower())
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.as_str())
            }
        }
        impl FromStr for $t {
            type Err = AddressError;
            fn from_str(s: &str) -> Result<Self, AddressError> {
                Self::parse(s)
            }
        }
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
ci_impls!(EmailAddress);
ci_impls!(DomainName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses() {
        for (input, local, domain) in [
            ("jane.doe@Example.com", "jane.doe", "Example.com"),
            ("  a+b@sub.example.org ", "a+b", "sub.example.org"),
            ("O'Brien@example.ie", "O'Brien", "example.ie"),
        ] {
            let a = EmailAddress::parse(input).unwrap();
            assert_eq!(a.local_part(), local);
            assert_eq!(a.domain().as_str(), domain);
        }
    }

    #[test]
    fn invalid_addresses() {
        for (input, want) in [
            ("", AddressError::Empty),
            ("   ", AddressError::Empty),
            ("jane", AddressError::MissingAt("jane".into())),
            (
                "@example.com",
                AddressError::MissingAt("@example.com".into()),
            ),
            ("jane@", AddressError::MissingAt("jane@".into())),
            (
                "ja ne@example.com",
                AddressError::LocalPart("ja ne@example.com".into()),
            ),
            (
                ".jane@example.com",
                AddressError::LocalPart(".jane@example.com".into()),
            ),
            (
                "ja..ne@example.com",
                AddressError::LocalPart("ja..ne@example.com".into()),
            ),
            ("jane@example", AddressError::Domain("jane@example".into())),
            ("jane@-x.com", AddressError::Domain("jane@-x.com".into())),
            ("jane@1.2.3.4", AddressError::Domain("jane@1.2.3.4".into())),
        ] {
            assert_eq!(EmailAddress::parse(input).unwrap_err(), want, "{input:?}");
        }
    }

    /// The text as written and its lower-case form, stored once when they
    /// are the same, twice when they differ.
    #[test]
    fn ci_keeps_both_spellings() {
        for (input, original, lower, stored) in [
            (
                "jane@example.com",
                "jane@example.com",
                "jane@example.com",
                16,
            ),
            (
                "Jane@Example.COM",
                "Jane@Example.COM",
                "jane@example.com",
                32,
            ),
            ("  a+B@x.io ", "a+B@x.io", "a+b@x.io", 16),
            (
                "o'brien@example.ie",
                "o'brien@example.ie",
                "o'brien@example.ie",
                18,
            ),
        ] {
            let a = EmailAddress::parse(input).unwrap();
            assert_eq!(a.as_str(), original, "{input:?}");
            assert_eq!(a.lower(), lower, "{input:?}");
            assert_eq!(a.to_string(), original, "{input:?}");
            assert_eq!(a.ci.text.len(), stored, "{input:?}");
            let (local, domain) = original.rsplit_once('@').unwrap();
            assert_eq!(a.local_part(), local, "{input:?}");
            assert_eq!(a.domain().as_str(), domain, "{input:?}");
            assert_eq!(a.domain().lower(), domain.to_ascii_lowercase(), "{input:?}");
        }
        for (input, original, lower) in [
            ("example.com", "example.com", "example.com"),
            ("Example.COM.", "Example.COM", "example.com"),
        ] {
            let d = DomainName::parse(input).unwrap();
            assert_eq!((d.as_str(), d.lower()), (original, lower), "{input:?}");
        }
    }

    #[test]
    fn case_insensitive_identity() {
        use std::collections::HashSet;
        let a = EmailAddress::parse("Jane@Example.COM").unwrap();
        let b = EmailAddress::parse("jane@example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "Jane@Example.COM");
        let set: HashSet<_> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_eq!(
            DomainName::parse("Example.com.").unwrap(),
            DomainName::parse("example.COM").unwrap()
        );
    }
}
