//! How to reach the directory: URL, bind account, TLS settings.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use dirsync_model::Secret;

use crate::error::LdapSourceError;

/// How the connection is encrypted, derived from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// `ldaps://`: TLS from the first byte (port 636 by default).
    Ldaps,
    /// `ldap://`: StartTLS before the bind (port 389 by default). Plain LDAP is never used.
    StartTls,
}

/// Connection settings for [`crate::LdapSource::connect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdapConfig {
    /// `ldaps://dc1.example.com` or `ldap://dc1.example.com` (StartTLS).
    pub url: String,
    /// The bind account's DN or `user@domain` (UPN), as AD accepts both.
    pub bind_dn: String,
    /// The bind password (the workspace's one self-redacting [`Secret`]).
    pub password: Secret,
    /// The search base; the domain's `defaultNamingContext` when `None`.
    #[serde(default)]
    pub base_dn: Option<String>,
    /// A PEM file of CA certificates to trust instead of the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Verify the server certificate (default). Turning this off is logged at warn on every connect.
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// Connect and per-operation timeout (DirSync reads get ten times this: the first one walks the whole domain).
    #[serde(default = "default_timeout", with = "secs")]
    pub timeout: Duration,
    /// Page size for searches; capped at 1000 (AD's MaxPageSize).
    #[serde(default = "default_page")]
    pub page_size: u32,
}

fn yes() -> bool {
    true
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_page() -> u32 {
    1000
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?))
    }
}

impl LdapConfig {
    /// Settings with the secure defaults: verification on, system roots, 30 s timeout, pages of 1000.
    pub fn new(url: impl Into<String>, bind_dn: impl Into<String>, password: Secret) -> Self {
        LdapConfig {
            url: url.into(),
            bind_dn: bind_dn.into(),
            password,
            base_dn: None,
            ca_file: None,
            tls_verify: true,
            timeout: default_timeout(),
            page_size: default_page(),
        }
    }

    /// Checks the settings and returns the transport the URL asks for.
    pub fn validate(&self) -> Result<Transport, LdapSourceError> {
        let bad = |m: String| Err(LdapSourceError::Config(m));
        let url = self.url.trim();
        let transport = if url.starts_with("ldaps://") {
            Transport::Ldaps
        } else if url.starts_with("ldap://") {
            Transport::StartTls
        } else if url.starts_with("ldapi://") {
            return bad(format!(
                "'{url}': ldapi:// is not supported; use ldaps://host or ldap://host (StartTLS)"
            ));
        } else {
            return bad(format!("'{url}' is not an LDAP URL; use ldaps://host[:636] or ldap://host[:389] (StartTLS)"));
        };
        if url.split('/').nth(2).is_none_or(str::is_empty) {
            return bad(format!("'{url}' names no host; use ldaps://host"));
        }
        if self.bind_dn.trim().is_empty() {
            return bad("the bind account is empty; give its DN or user@domain (anonymous reads of AD are not supported)".into());
        }
        if self.password.is_empty() {
            return bad(format!("the password for '{}' is empty; an empty simple bind is an unauthenticated bind, which dirsync refuses", self.bind_dn));
        }
        if self.page_size == 0 {
            return bad("page_size must be between 1 and 1000".into());
        }
        if let Some(ca) = &self.ca_file {
            if !ca.is_file() {
                return bad(format!(
                    "the CA file '{}' does not exist or is not a file",
                    ca.display()
                ));
            }
        }
        Ok(transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_shows() {
        let c = LdapConfig::new("ldaps://dc", "CN=a", Secret::new("hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{}", c.password).contains("hunter2"));
    }

    #[test]
    fn validation() {
        let ok = |url: &str| LdapConfig::new(url, "CN=a", Secret::new("p")).validate();
        assert_eq!(ok("ldaps://dc1:636").unwrap(), Transport::Ldaps);
        assert_eq!(ok("ldap://dc1").unwrap(), Transport::StartTls);
        for (url, needle) in [
            ("http://dc1", "not an LDAP URL"),
            ("ldapi:///x", "ldapi"),
            ("ldaps://", "names no host"),
        ] {
            let e = ok(url).unwrap_err().to_string();
            assert!(e.contains(needle), "{url}: {e}");
        }
        let e = LdapConfig::new("ldaps://dc", "CN=a", Secret::new(""))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("unauthenticated bind"));
        let mut c = LdapConfig::new("ldaps://dc", "CN=a", Secret::new("p"));
        c.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/ca.pem"));
    }
}
