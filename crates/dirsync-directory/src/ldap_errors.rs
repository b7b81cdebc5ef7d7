//! How the LDAP source's failures become errors that name their cause and
//! their fix: TLS failures with a hint, a connection's and an operation's
//! errors, and a search's result code. Split from [`crate::ldap`], which
//! owns the connection and the searches.

use std::time::Duration;

use ldap3::LdapError;

use crate::config::LdapConfig;
use crate::error::{result_code_name, LdapSourceError};

pub(crate) fn tls_hint(cause: &rustls::Error, url: &str) -> String {
    use rustls::CertificateError as C;
    match cause {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "the server's certificate is not signed by a CA this machine trusts; set ca_file to the PEM of the CA that issued it (or add that CA to the system store)".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidForName |
C::NotValidForNameContext { .. }) => {
            format!("the server's certificate does not name the host in '{url}'; connect by a name (or IP) listed in its subject alternative names")
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired; renew it on the domain controller".into()
        }
        _ => "check the server's certificate and that it speaks TLS on this port".into(),
    }
}

pub(crate) fn find_rustls<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                    return Some(r);
                }
            }
        }
        cur = err.source();
    }
    None
}

pub(crate) fn connect_error(url: &str, e: LdapError) -> LdapSourceError {
    if let Some(r) = find_rustls(&e) {
        return LdapSourceError::Tls {
            url: url.into(),
            cause: r.to_string(),
            hint: tls_hint(r, url),
        };
    }
    match e {
        LdapError::LdapResult { result } => LdapSourceError::Tls {
            url: url.into(),
            cause: format!(
                "StartTLS was refused ({}: {})",
                result_code_name(result.rc),
                result.text
            ),
            hint: "enable TLS on the domain controller (it needs a certificate) or use ldaps://"
                .into(),
        },
        LdapError::Timeout { .. } => LdapSourceError::Unreachable {
            url: url.into(),
            cause: "the connection timed out".into(),
        },
        LdapError::Io { source } if source.kind() == std::io::ErrorKind::InvalidData => {
            LdapSourceError::Tls {
                url: url.into(),
                cause: source.to_string(),
                hint:
                    "check that the server speaks TLS on this port (ldaps:// is usually port 636)"
                        .into(),
            }
        }
        LdapError::Io { source } => LdapSourceError::Unreachable {
            url: url.into(),
            cause: source.to_string(),
        },
        LdapError::DNSName { source } => LdapSourceError::Config(format!("'{url}': {source}")),
        LdapError::UrlParsing { source } => {
            LdapSourceError::Config(format!("'{url}' is not a valid URL: {source}"))
        }
        other => LdapSourceError::Unreachable {
            url: url.into(),
            cause: other.to_string(),
        },
    }
}

pub(crate) fn op_error(cfg: &LdapConfig, action: &str, e: LdapError) -> LdapSourceError {
    match e {
        LdapError::Timeout { .. } => LdapSourceError::Timeout {
            action: action.into(),
            secs: cfg.timeout.as_secs(),
        },
        LdapError::LdapResult { result } => result_error(cfg, action, result.rc, &result.text),
        other => LdapSourceError::Connection {
            action: action.into(),
            cause: other.to_string(),
        },
    }
}

/// A search that has ended: what it was, for its debug log line.
pub(crate) struct Ended<'a> {
    pub action: &'a str,
    pub base: &'a str,
    pub filter: &'a str,
    pub started: std::time::Instant,
}

impl Ended<'_> {
    /// Logs the search with its entry count and time, and turns its result
    /// code into an error. A referral or continuation is ignored: dirsync
    /// reads one domain, never chases referrals.
    pub(crate) fn check(
        &self,
        cfg: &LdapConfig,
        entries: usize,
        result: &ldap3::LdapResult,
    ) -> Result<(), LdapSourceError> {
        let (action, base, filter) = (self.action, self.base, self.filter);
        let ms = self.started.elapsed().as_millis() as u64;
        tracing::debug!(action, base, filter, entries, ms, "search");
        match result.rc {
            0 => Ok(()),
            10 => {
                tracing::debug!(base, "referral ignored: {}", result.refs.join(", "));
                Ok(())
            }
            rc => Err(result_error(cfg, action, rc, &result.text)),
        }
    }
}

/// [`op_error`] of an operation that ran under `timeout`: a timeout names it.
pub(crate) fn op_error_within(
    cfg: &LdapConfig,
    action: &str,
    timeout: Duration,
    e: LdapError,
) -> LdapSourceError {
    match op_error(cfg, action, e) {
        LdapSourceError::Timeout { action, .. } => LdapSourceError::Timeout {
            action,
            secs: timeout.as_secs(),
        },
        other => other,
    }
}

pub(crate) fn result_error(cfg: &LdapConfig, action: &str, rc: u32, text: &str) -> LdapSourceError {
    match rc {
        50 => LdapSourceError::Permission {
            bind_dn: cfg.bind_dn.clone(),
            action: action.into(),
            text: text.into(),
        },
        rc => LdapSourceError::Server {
            action: action.into(),
            rc,
            name: result_code_name(rc),
            text: text.into(),
        },
    }
}
