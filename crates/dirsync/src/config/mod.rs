//! Configuration: a TOML file, then environment variables, then flags.
//!
//! Every setting has one dotted key (`directory.url`, `schedule.interval`),
//! defined once in the key table ([`keys::KEYS`]) with its type, default and
//! documentation. The same key is written in the file, as
//! `DIRSYNC_DIRECTORY_URL` in the environment, and as
//! `--set directory.url=...` on the command line; later layers win
//! ([`layer`]). Values are typed once, at load: durations become
//! `std::time::Duration`, and a value that is not one is refused with its key
//! and the value. After layering, [`Loaded::validate`] checks everything at
//! once and returns exact messages naming the key and what to do, so the
//! agent never starts half-configured. `docs/configuration.md` is generated
//! from the key table ([`docs`]).
//!
//! Secrets (the LDAP bind password, the API secret key, the UI admin
//! password) never live in the main file: they come from a separate secrets
//! file that must be private (mode 0600), or from environment variables
//! ([`secrets`]).
//!
//! Modules: [`keys`] (the key table), [`duration`] (duration text),
//! [`layer`] (defaults → file → environment → flags), [`secrets`] (the
//! secrets file and variables), [`validate`] (what each command needs),
//! [`docs`] (the generated reference).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod docs;
pub mod duration;
pub mod keys;
pub mod layer;
pub mod secrets;
pub mod validate;

pub use duration::{format_duration, parse_duration};
pub use keys::{env_name, ENV_API_SECRET, ENV_LDAP_PASSWORD, ENV_UI_PASSWORD, KEYS};
pub(crate) use layer::from_table;
pub use layer::{load, Overrides};
pub use secrets::{secrets_path, Secrets};
pub use validate::Needs;

/// The config file read when neither `--config` nor `DIRSYNC_CONFIG` names one.
pub const DEFAULT_CONFIG: &str = "dirsync.toml";

/// Where the directory is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Active Directory over LDAPS or LDAP+StartTLS.
    #[default]
    Ldap,
    /// An LDIF export (`ldifde -f` / `ldapsearch -LLL`), read in full each run.
    Ldif,
}

/// `[directory]`: how to read Active Directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    pub source: SourceKind,
    /// `ldaps://dc1.example.com` (port 636) or `ldap://dc1.example.com` (always upgraded with StartTLS).
    pub url: Option<String>,
    /// A PEM file of CA certificates to trust in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    pub bind_dn: Option<String>,
    pub base_dn: Option<String>,
    /// DN of the security group whose members get Hosted Exchange mailboxes.
    pub exchange_group: Option<String>,
    /// DN of the security group whose members get Rackspace Email mailboxes.
    pub rsemail_group: Option<String>,
    /// The LDIF file, when `source = "ldif"`.
    pub ldif_path: Option<PathBuf>,
    /// LDAP request timeout.
    #[serde(with = "duration::text")]
    pub timeout: Duration,
    /// An LDIF file modified less than this long ago may still be being
    /// written (by `ldifde`, a copy, a scheduled export): the read waits
    /// until it has been unchanged this long, and a file that changes in
    /// the meantime, or while it is read, is left for the next run.
    #[serde(with = "duration::text")]
    pub ldif_settle: Duration,
}

/// `[api]`: the control panel's Cloud Office-shaped API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Base URL, e.g. `https://api.emailsrvr.com`.
    pub url: Option<String>,
    /// The API user key (public half; the secret key is in the secrets file).
    pub user_key: Option<String>,
    /// The customer account number whose domains are synced.
    pub account: Option<String>,
    /// API request timeout.
    #[serde(with = "duration::text")]
    pub timeout: Duration,
}

/// `[schedule]`: when `dirsync serve` syncs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Incremental sync interval (`30s`, `5m`, `1h`).
    #[serde(with = "duration::text")]
    pub interval: Duration,
    /// Full reconcile interval (`24h`, `7d`).
    #[serde(with = "duration::text")]
    pub full_every: Duration,
}

/// `[ui]`: the web interface served by `serve` and `demo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    pub enabled: bool,
    pub listen: String,
}

/// `[state]`: the local state store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// SQLite file; relative paths are relative to the config file's directory.
    pub path: PathBuf,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter: `info`, `debug`, `dirsync=debug,info`.
    pub level: String,
}

/// The whole configuration file. Its defaults come from the key table
/// ([`keys::KEYS`]), the bottom layer of [`load`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The secrets file; relative to the config file's directory. Defaults to `secrets.toml` beside it.
    pub secrets_file: Option<PathBuf>,
    pub directory: DirectoryConfig,
    pub api: ApiConfig,
    /// Passed to the sync engine as its settings (thresholds, policies, rate limits).
    #[serde(default)]
    pub engine: toml::Table,
    pub schedule: ScheduleConfig,
    pub ui: UiConfig,
    pub state: StateConfig,
    pub log: LogConfig,
}

/// A loaded, layered configuration plus where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub secrets: Secrets,
    /// The config file path (it may not exist when everything came from env/flags).
    pub path: PathBuf,
    pub file_found: bool,
    /// Where each secret came from, for the Settings page (`env DIRSYNC_...`, `file ...`).
    pub secret_sources: BTreeMap<&'static str, String>,
}

/// One problem found by validation: the key and the whole message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reading or layering failed (bad TOML, unreadable file): exit code 2.
#[derive(Debug)]
pub struct ConfigError(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the configuration is not valid:")?;
        for p in &self.0 {
            writeln!(f, "  - {}", p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn problem(key: &str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        key: key.to_string(),
        message: message.into(),
    }
}

impl Default for Config {
    /// Every key at its default from the key table (nothing configured).
    fn default() -> Self {
        from_table(layer::defaults()).expect(
            "the key table's defaults deserialise (tested by defaults_come_from_the_key_table)",
        )
    }
}

/// Resolves a path written in the config relative to the config file's directory.
pub fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            })
            .unwrap_or(Path::new("."))
            .join(p)
    }
}

impl Loaded {
    /// The state store path, resolved.
    pub fn state_path(&self) -> PathBuf {
        resolve(&self.path, &self.config.state.path)
    }

    /// The LDIF path, resolved.
    pub fn ldif_path(&self) -> Option<PathBuf> {
        self.config
            .directory
            .ldif_path
            .as_deref()
            .map(|p| resolve(&self.path, p))
    }

    /// The incremental sync interval of `serve`.
    pub fn interval(&self) -> Duration {
        self.config.schedule.interval
    }

    /// The full reconcile interval of `serve`.
    pub fn full_every(&self) -> Duration {
        self.config.schedule.full_every
    }

    /// The UI address, when `ui.listen` is `address:port`.
    pub fn listen(&self) -> Option<std::net::SocketAddr> {
        self.config.ui.listen.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_follow_the_config_file() {
        assert_eq!(
            resolve(
                Path::new("/etc/dirsync/dirsync.toml"),
                Path::new("state.db")
            ),
            PathBuf::from("/etc/dirsync/state.db")
        );
        assert_eq!(
            resolve(Path::new("dirsync.toml"), Path::new("state.db")),
            PathBuf::from("./state.db")
        );
        assert_eq!(
            resolve(Path::new("x.toml"), Path::new("/a/b")),
            PathBuf::from("/a/b")
        );
    }
}
