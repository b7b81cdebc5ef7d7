//! The one credential type of the workspace: a string that never prints itself.
//!
//! The LDAP bind password, the API secret key and the UI admin password
//! travel through config structs that are logged, serialised for the
//! Settings page and shown in error chains; officed holds issued API
//! secrets the same way. Holding them in [`Secret`] makes every one of those
//! paths print [`REDACTED`] instead; the only way to the value is the
//! explicit [`Secret::expose`]. It lives here, in the lowest crate, so the
//! directory reader, the API client, the engine, the agent and officed all
//! share this one type.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret prints as, everywhere.
pub const REDACTED: &str = "[redacted]";

/// A self-redacting secret string: `Debug`, `Display` and `Serialize` all
/// print [`REDACTED`]; `Deserialize` reads the value from a plain string.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a raw secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Every call site is a place the secret leaves the
    /// type (the LDAP bind, the request signer, encryption at rest, a
    /// constant-time comparison): keep them few and never format the result
    /// into messages.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string (an unset password).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Replaces every occurrence of each secret of 4 or more characters in
/// `text` by [`REDACTED`].
///
/// Used on text that came from elsewhere (an LDAP server's diagnostic, an
/// HTTP body) before it is logged or shown, in case it echoes a credential.
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.0.len() >= 4 {
            out = out.replace(&s.0, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_itself() {
        let value = "QHOvchm/40czXhJ1OxfxK7jDHr3t";
        let s = Secret::new(value);
        #[derive(Debug, Serialize)]
        struct Holder {
            password: Secret,
            maybe: Option<Secret>,
        }
        let h = Holder {
            password: s.clone(),
            maybe: Some(Secret::from(value)),
        };
        for (how, shown) in [
            ("Display", format!("{s}")),
            ("Debug", format!("{s:?}")),
            ("alternate Debug", format!("{s:#?}")),
            ("padded Display", format!("{s:>40}")),
            ("Option Debug", format!("{:?}", Some(&s))),
            ("holder Debug", format!("{h:?}")),
            ("holder pretty Debug", format!("{h:#?}")),
            ("JSON", serde_json::to_string(&h).unwrap()),
        ] {
            assert!(!shown.contains(value), "{how} printed the value: {shown}");
            assert!(shown.contains(REDACTED), "{how}: {shown}");
        }
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"[redacted]\"");
        assert_eq!(s.expose(), value);
    }

    #[test]
    fn reads_from_a_plain_string() {
        let s: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(s.expose(), "abc");
        assert!(Secret::default().is_empty());
        assert!(!s.is_empty());
    }

    #[test]
    fn scrub_replaces_echoes() {
        for (text, secret, want) in [
            (
                "bind failed for pw hunter22!",
                "hunter22",
                "bind failed for pw [redacted]!",
            ),
            ("x", "", "x"),
            ("abc abc", "abc", "abc abc"),
            ("k=abcd;k=abcd", "abcd", "k=[redacted];k=[redacted]"),
        ] {
            assert_eq!(scrub(text, &[&Secret::new(secret)]), want, "{text}");
        }
    }
}
