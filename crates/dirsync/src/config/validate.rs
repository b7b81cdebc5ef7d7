//! What each command needs from the configuration, and the checks that
//! run after layering: every problem at once, each naming its key and what
//! to do.

use std::net::SocketAddr;
use std::time::Duration;

use super::keys::{env_name, ENV_API_SECRET, ENV_LDAP_PASSWORD, ENV_UI_PASSWORD};
use super::{problem, resolve, secrets_path, ConfigProblem, Loaded, SourceKind};
use crate::secret::Secret;

/// What a command needs from the configuration; validation checks only that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub directory: bool,
    pub api: bool,
    pub ui: bool,
}

impl Needs {
    pub const ALL: Needs = Needs {
        directory: true,
        api: true,
        ui: true,
    };
    pub const SYNC: Needs = Needs {
        directory: true,
        api: true,
        ui: false,
    };
    pub const STATE_ONLY: Needs = Needs {
        directory: false,
        api: false,
        ui: false,
    };
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

impl Loaded {
    /// Every problem at once, each naming its key and what to do.
    pub fn validate(&self, needs: Needs) -> Vec<ConfigProblem> {
        let c = &self.config;
        let d = &c.directory;
        let mut out = Vec::new();
        let file = self.path.display().to_string();
        let missing = |key: &str, example: &str| {
            problem(
                key,
                format!(
                    "{key} is not set; set it in {file} ({example}), or with {} or --set {key}=...",
                    env_name(key)
                ),
            )
        };
        if !self.file_found && needs != Needs::STATE_ONLY && (needs.directory || needs.api) {
            out.push(problem(
                "",
                format!("no config file at {file}; create one with `dirsync init`, or pass --config PATH (or set DIRSYNC_CONFIG)"),
            ));
            return out;
        }
        if needs.directory {
            match d.source {
                SourceKind::Ldap => {
                    match d.url.as_deref() {
                        None | Some("") => out.push(missing("directory.url", "url = \"ldaps://dc1.example.com\"")),
                        Some(u) => match url::Url::parse(u) {
                            Ok(parsed) if (parsed.scheme() == "ldaps" || parsed.scheme() == "ldap") && parsed.host_str().is_some_and(|h| !h.is_empty()) => {}
                            _ => out.push(problem(
                                "directory.url",
                                format!("directory.url {u:?} is not an LDAP URL with a host; write ldaps://host[:636] or ldap://host[:389] (StartTLS)"),
                            )),
                        },
                    }
                    if d.bind_dn.as_deref().unwrap_or("").is_empty() {
                        out.push(missing("directory.bind_dn", "bind_dn = \"CN=dirsync,CN=Users,DC=example,DC=com\""));
                    }
                    if self.secrets.ldap_bind_password.as_ref().is_none_or(Secret::is_empty) {
                        out.push(problem(
                            "ldap_bind_password",
                            format!(
                                "the LDAP bind password is not set; put ldap_bind_password = \"...\" in the secrets file {} (mode 0600) or set {ENV_LDAP_PASSWORD}",
                                secrets_path(c, &self.path).display()
                            ),
                        ));
                    }
                    if let Some(ca) = &d.ca_file {
                        let ca = resolve(&self.path, ca);
                        if !ca.exists() {
                            out.push(problem("directory.ca_file", format!("directory.ca_file {} does not exist; point it at a PEM file of CA certificates or remove the key", ca.display())));
                        }
                    }
                }
                SourceKind::Ldif => match self.ldif_path() {
                    None => out.push(missing("directory.ldif_path", "ldif_path = \"export.ldif\"")),
                    Some(p) if !p.exists() => out.push(problem(
                        "directory.ldif_path",
                        format!("directory.ldif_path {} does not exist; export the directory (ldifde -f FILE, or ldapsearch -LLL) or fix the path", p.display()),
                    )),
                    Some(_) => {}
                },
            }
            if d.exchange_group.as_deref().unwrap_or("").is_empty()
                && d.rsemail_group.as_deref().unwrap_or("").is_empty()
            {
                out.push(problem(
                    "directory.exchange_group",
                    format!("neither directory.exchange_group nor directory.rsemail_group is set, so nothing is in scope; set at least one to the DN of a security group in {file}"),
                ));
            }
            if d.timeout.is_zero() {
                out.push(problem(
                    "directory.timeout",
                    "directory.timeout must be more than 0s; write e.g. \"30s\" or \"2m\"",
                ));
            }
        }
        if needs.api {
            match c.api.url.as_deref() {
                None | Some("") => out.push(missing("api.url", "url = \"https://api.emailsrvr.com/v1\"")),
                Some(u) => match url::Url::parse(u) {
                    Ok(p) if p.scheme() == "https" => {}
                    Ok(p) if p.scheme() == "http" && p.host_str().is_some_and(|h| h == "127.0.0.1" || h == "localhost" || h == "[::1]") => {}
                    Ok(_) => out.push(problem(
                        "api.url",
                        format!("api.url {u} must use https:// (plain http:// is accepted only for a control panel on this machine, 127.0.0.1)"),
                    )),
                    Err(e) => out.push(problem("api.url", format!("api.url {u:?} is not a URL ({e}); write e.g. https://api.emailsrvr.com/v1"))),
                },
            }
            if c.api.user_key.as_deref().unwrap_or("").is_empty() {
                out.push(missing(
                    "api.user_key",
                    "user_key = \"...\" from the control panel's API keys page",
                ));
            }
            if c.api.account.as_deref().unwrap_or("").is_empty() {
                out.push(missing(
                    "api.account",
                    "account = \"1234567\", the customer account number",
                ));
            }
            if self
                .secrets
                .api_secret_key
                .as_ref()
                .is_none_or(Secret::is_empty)
            {
                out.push(problem(
                    "api_secret_key",
                    format!(
                        "the API secret key is not set; put api_secret_key = \"...\" in the secrets file {} (mode 0600) or set {ENV_API_SECRET}",
                        secrets_path(c, &self.path).display()
                    ),
                ));
            }
            if c.api.timeout.is_zero() {
                out.push(problem(
                    "api.timeout",
                    "api.timeout must be more than 0s; write e.g. \"30s\"",
                ));
            }
        }
        if needs.ui {
            if c.schedule.interval < Duration::from_secs(1) {
                out.push(problem(
                    "schedule.interval",
                    "schedule.interval must be at least 1s; write e.g. \"30s\" or \"5m\"",
                ));
            }
            if c.schedule.full_every < Duration::from_secs(60) {
                out.push(problem(
                    "schedule.full_every",
                    "schedule.full_every must be at least 1m; write e.g. \"24h\"",
                ));
            }
            if c.ui.enabled {
                match self.listen() {
                    None => out.push(problem("ui.listen", format!("ui.listen {:?} is not address:port; write e.g. \"127.0.0.1:8080\"", c.ui.listen))),
                    Some(a) if !is_loopback(&a) && self.secrets.ui_admin_password.as_ref().is_none_or(Secret::is_empty) => out.push(problem(
                        "ui.listen",
                        format!(
                            "ui.listen {a} is reachable from other machines but no UI admin password is configured; set ui_admin_password in the secrets file or {ENV_UI_PASSWORD}, or listen on 127.0.0.1"
                        ),
                    )),
                    Some(_) => {}
                }
                if let Some(p) = &self.secrets.ui_admin_password {
                    if !p.is_empty() && p.expose().len() < 12 {
                        out.push(problem("ui_admin_password", "the UI admin password is shorter than 12 characters; choose a longer one"));
                    }
                }
            }
        }
        if let Err(e) = crate::engine_settings::engine_settings(&c.engine) {
            out.push(problem(
                "engine",
                format!("the [engine] section is not valid: {e}; see docs/configuration.md"),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::layer::load_text;

    #[test]
    fn validation_messages_name_key_and_fix() {
        let l = load_text("[directory]\nurl = \"http://dc.example.com\"\n[api]\nurl = \"http://api.example.com\"\n[ui]\nlisten = \"0.0.0.0:8080\"\n[schedule]\ninterval = \"0s\"\n", &[], &[]).unwrap();
        let msgs: Vec<String> = l
            .validate(Needs::ALL)
            .into_iter()
            .map(|p| p.message)
            .collect();
        let all = msgs.join("\n");
        for want in [
            "directory.url \"http://dc.example.com\" is not an LDAP URL with a host",
            "directory.bind_dn is not set; set it in",
            "DIRSYNC_DIRECTORY_BIND_DN",
            "the LDAP bind password is not set",
            "neither directory.exchange_group nor directory.rsemail_group is set",
            "api.url http://api.example.com must use https://",
            "api.user_key is not set",
            "the API secret key is not set",
            "schedule.interval must be at least 1s",
            "ui.listen 0.0.0.0:8080 is reachable from other machines but no UI admin password is configured",
        ] {
            assert!(all.contains(want), "missing {want:?} in:\n{all}");
        }
    }
}
