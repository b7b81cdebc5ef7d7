//! A string that never prints itself.
//!
//! Passwords and API secrets travel through config structs that are logged,
//! serialised for the Settings page and shown in error chains. Holding them in
//! [`Secret`] makes every one of those paths print `[redacted]` instead; the
//! only way to the value is the explicit [`Secret::expose`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret prints as, everywhere.
pub const REDACTED: &str = "[redacted]";

/// A self-redacting secret string (`Debug`, `Display` and `Serialize` all print `[redacted]`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself: call only where it is handed to the LDAP bind, the
    /// request signer or a constant-time comparison.
    pub fn expose(&self) -> &str {
        &self.0
    }

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

/// Replaces every occurrence of each non-empty secret in `text` by `[redacted]`.
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
        let s = Secret::new("hunter22");
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"[redacted]\"");
        assert_eq!(s.expose(), "hunter22");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            password: Secret,
        }
        assert!(!format!("{:?}", Holder { password: s }).contains("hunter22"));
    }

    #[test]
    fn scrub_replaces_echoes() {
        let s = Secret::new("hunter22");
        assert_eq!(
            scrub("bind failed for pw hunter22!", &[&s]),
            "bind failed for pw [redacted]!"
        );
        assert_eq!(scrub("x", &[&Secret::new("")]), "x");
    }
}
