//! Errors of the LDAP source, each saying what happened and what to do.

use crate::entry::EntryError;
use crate::scope::ScopeError;

/// Why a directory read failed. A failed read never yields a partial snapshot.
#[derive(Debug, thiserror::Error)]
pub enum LdapSourceError {
    #[error("directory settings: {0}")]
    Config(String),
    #[error("cannot reach the directory at {url}: {cause}; check the host name, the port and that the domain controller is running and reachable")]
    Unreachable { url: String, cause: String },
    #[error("TLS with {url} failed: {cause}; {hint}")]
    Tls {
        url: String,
        cause: String,
        hint: String,
    },
    #[error("the directory refused the credentials of '{bind_dn}': {reason}")]
    BadCredentials {
        bind_dn: String,
        reason: String,
        data_code: Option<String>,
    },
    #[error("the bind account '{bind_dn}' may not {action}: {text}; grant it read access (and 'Replicating Directory Changes' for incremental reads)")]
    Permission {
        bind_dn: String,
        action: String,
        text: String,
    },
    #[error("the directory answered {action} with result code {rc} ({name}): {text}")]
    Server {
        action: String,
        rc: u32,
        name: &'static str,
        text: String,
    },
    #[error("the directory did not answer {action} within {secs} s")]
    Timeout { action: String, secs: u64 },
    #[error("the connection to the directory failed during {action}: {cause}")]
    Connection { action: String, cause: String },
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error("the directory's reply to {action} could not be read: {cause}")]
    Protocol { action: String, cause: String },
}

/// The reason behind AD's `invalidCredentials` (49), from the `data XXX` code
/// in the diagnostic text (`80090308: LdapErr: ..., data 52e, v...`).
pub fn bind_failure_reason(text: &str) -> (Option<String>, String) {
    let code = text
        .split("data ")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_hexdigit)
                .collect::<String>()
        })
        .filter(|c| !c.is_empty())
        .map(|c| c.to_ascii_lowercase());
    let reason = match code.as_deref() {
        Some("525") => "the account does not exist (AD data code 525); check the bind DN or user@domain",
        Some("52e") => "wrong password or unknown account (AD data code 52e); check the password",
        Some("530") => "the account may not log on at this time (AD data code 530); check its logon hours",
        Some("531") => "the account may not log on from this computer (AD data code 531); check its allowed workstations",
        Some("532") => "the account's password has expired (AD data code 532); set a new password",
        Some("533") => "the account is disabled (AD data code 533); enable it",
        Some("568") => "the account has too many security identifiers (AD data code 568)",
        Some("701") => "the account has expired (AD data code 701); extend its expiry date",
        Some("773") => "the account must change its password at next logon (AD data code 773); set a new password",
        Some("775") => "the account is locked out (AD data code 775); unlock it",
        Some(_) => "invalid credentials (see the AD data code)",
        None => "invalid credentials; check the bind account and password",
    };
    (code, reason.to_string())
}

/// The RFC 4511 name of a result code, for messages.
pub fn result_code_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_data_codes() {
        for (text, code, needle) in [
            ("80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 52e, v3839", Some("52e"), "wrong password"),
            ("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1", Some("533"), "disabled"),
            ("... data 775, v4563", Some("775"), "locked out"),
            ("... data 532, v4563", Some("532"), "expired"),
            ("... data 525, v4563", Some("525"), "does not exist"),
            ("Invalid credentials", None, "check the bind account"),
        ] {
            let (c, reason) = bind_failure_reason(text);
            assert_eq!(c.as_deref(), code, "{text}");
            assert!(reason.contains(needle), "{text}: {reason}");
        }
    }
}
