//! Configuration: a TOML file, then environment variables, then flags.
//!
//! Every setting has one dotted key (`directory.url`, `schedule.interval`).
//! The same key is written in the file, as `DIRSYNC_DIRECTORY_URL` in the
//! environment, and as `--set directory.url=...` on the command line; later
//! layers win. After layering, [`Loaded::validate`] checks everything at
//! once and returns exact messages naming the key and what to do, so the
//! agent never starts half-configured.
//!
//! Secrets (the LDAP bind password, the API secret key, the UI admin
//! password) never live in the main file: they come from a separate secrets
//! file that must be private (mode 0600), or from environment variables.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The config file read when neither `--config` nor `DIRSYNC_CONFIG` names one.
pub const DEFAULT_CONFIG: &str = "dirsync.toml";

/// Environment variables that carry secrets (they override the secrets file).
pub const ENV_LDAP_PASSWORD: &str = "DIRSYNC_LDAP_BIND_PASSWORD";
pub const ENV_API_SECRET: &str = "DIRSYNC_API_SECRET_KEY";
pub const ENV_UI_PASSWORD: &str = "DIRSYNC_UI_ADMIN_PASSWORD";

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
#[serde(deny_unknown_fields, default)]
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
    pub timeout: String,
    /// An LDIF file modified less than this long ago may still be being
    /// written (by `ldifde`, a copy, a scheduled export): the read waits
    /// until it has been unchanged this long, and a file that changes in
    /// the meantime, or while it is read, is left for the next run.
    pub ldif_settle: String,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        DirectoryConfig {
            source: SourceKind::Ldap,
            url: None,
            ca_file: None,
            bind_dn: None,
            base_dn: None,
            exchange_group: None,
            rsemail_group: None,
            ldif_path: None,
            timeout: "30s".into(),
            ldif_settle: "10s".into(),
        }
    }
}

/// `[api]`: the control panel's Cloud Office-shaped API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Base URL, e.g. `https://api.emailsrvr.com`.
    pub url: Option<String>,
    /// The API user key (public half; the secret key is in the secrets file).
    pub user_key: Option<String>,
    /// The customer account number whose domains are synced.
    pub account: Option<String>,
    pub timeout: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            url: None,
            user_key: None,
            account: None,
            timeout: "30s".into(),
        }
    }
}

/// `[schedule]`: when `dirsync serve` syncs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Incremental sync interval (`30s`, `5m`, `1h`).
    pub interval: String,
    /// Full reconcile interval (`24h`, `7d`).
    pub full_every: String,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            interval: "5m".into(),
            full_every: "24h".into(),
        }
    }
}

/// `[ui]`: the web interface served by `serve` and `demo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    pub enabled: bool,
    pub listen: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            enabled: true,
            listen: "127.0.0.1:8080".into(),
        }
    }
}

/// `[state]`: the local state store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// SQLite file; relative paths are relative to the config file's directory.
    pub path: PathBuf,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            path: PathBuf::from("dirsync-state.db"),
        }
    }
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
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter: `info`, `debug`, `dirsync=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The secrets file; relative to the config file's directory. Defaults to `secrets.toml` beside it.
    pub secrets_file: Option<PathBuf>,
    pub directory: DirectoryConfig,
    pub api: ApiConfig,
    /// Passed to the sync engine as its settings (thresholds, policies, rate limits).
    pub engine: toml::Table,
    pub schedule: ScheduleConfig,
    pub ui: UiConfig,
    pub state: StateConfig,
    pub log: LogConfig,
}

/// The three secrets, each optional until a command needs it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Secrets {
    pub ldap_bind_password: Option<Secret>,
    pub api_secret_key: Option<Secret>,
    pub ui_admin_password: Option<Secret>,
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

fn problem(key: &str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Parses `30s`, `5m`, `2h`, `1d`, `1h30m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<u64>() {
        return Some(Duration::from_secs(n));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: u64 = num.parse().ok()?;
            num.clear();
            let mult = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => return None,
            };
            total = total.checked_add(n.checked_mul(mult)?)?;
        }
    }
    if !num.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// Formats a duration the way the config writes it (`5m`, `1h30m`, `45s`).
pub fn format_duration(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    out
}

/// Every plain (non-engine) key: dotted name and one line of documentation.
/// `docs/configuration.md` and the env-var layer both come from this list.
pub const KEYS: &[(&str, &str)] = &[
    (
        "secrets_file",
        "path of the secrets file (mode 0600); default secrets.toml beside the config file",
    ),
    (
        "directory.source",
        "\"ldap\" (Active Directory) or \"ldif\" (an LDIF export)",
    ),
    (
        "directory.url",
        "ldaps://host[:636], or ldap://host[:389] (always upgraded with StartTLS; plain LDAP is never used)",
    ),
    (
        "directory.ca_file",
        "PEM file of extra CA certificates to trust",
    ),
    (
        "directory.bind_dn",
        "DN of the service account dirsync binds as",
    ),
    ("directory.base_dn", "search base, e.g. DC=example,DC=com (default: the server's defaultNamingContext)"),
    (
        "directory.exchange_group",
        "the security group synced to Hosted Exchange, by DN or by name",
    ),
    (
        "directory.rsemail_group",
        "the security group synced to Rackspace Email, by DN or by name",
    ),
    (
        "directory.ldif_path",
        "LDIF file read when directory.source = \"ldif\"",
    ),
    ("directory.timeout", "LDAP operation timeout (e.g. 30s)"),
    (
        "directory.ldif_settle",
        "an LDIF file changed less than this long ago is read once it has been unchanged this long (default 10s; 0s reads at once)",
    ),
    (
        "api.url",
        "base URL of the Cloud Office API with its version prefix, e.g. https://api.emailsrvr.com/v1",
    ),
    (
        "api.user_key",
        "API user key (the secret key goes in the secrets file)",
    ),
    ("api.account", "customer account number to sync into"),
    ("api.timeout", "API request timeout (e.g. 30s)"),
    (
        "schedule.interval",
        "incremental sync interval for serve (default 5m, at least 1s)",
    ),
    (
        "schedule.full_every",
        "full reconcile interval for serve (default 24h)",
    ),
    ("ui.enabled", "serve the web UI (true/false)"),
    (
        "ui.listen",
        "address:port of the web UI (default 127.0.0.1:8080)",
    ),
    (
        "state.path",
        "SQLite state store (anchors, cookie, run history)",
    ),
    (
        "log.format",
        "\"human\" or \"json\" (one JSON object per line)",
    ),
    (
        "log.level",
        "tracing filter, e.g. info or dirsync=debug,info",
    ),
];

/// The environment variable for a dotted key: `directory.url` -> `DIRSYNC_DIRECTORY_URL`.
pub fn env_name(key: &str) -> String {
    format!("DIRSYNC_{}", key.to_ascii_uppercase().replace('.', "_"))
}

/// Parses a flag or env value as TOML when it is one (`true`, `25`, `"x"`), else as a bare string.
fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), ConfigProblem> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().filter(|l| !l.is_empty()).ok_or_else(|| {
        problem(
            key,
            format!("'{key}' is not a key; keys look like directory.url"),
        )
    })?;
    let mut cur = table;
    for p in parts {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(problem(
                    key,
                    format!("'{key}': '{p}' is a value, not a section"),
                ))
            }
        };
    }
    cur.insert(last.to_string(), value);
    Ok(())
}

/// The layers besides the file: environment variables and `--set key=value` flags.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `(key, raw value, origin)` from flags, applied last.
    pub flags: Vec<(String, String)>,
    /// The environment to read (normally `std::env::vars()`; tests pass their own).
    pub env: Vec<(String, String)>,
}

impl Overrides {
    pub fn from_process(flags: Vec<(String, String)>) -> Self {
        Overrides {
            flags,
            env: std::env::vars().collect(),
        }
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

/// The dotted keys of the default `[engine]` table (`defaults`, from
/// [`crate::engine_settings::default_engine_table`]) whose value `keep` accepts.
fn engine_leaves(defaults: &toml::Table, keep: fn(&toml::Value) -> bool) -> Vec<String> {
    fn walk(prefix: &str, t: &toml::Table, keep: fn(&toml::Value) -> bool, out: &mut Vec<String>) {
        for (k, v) in t {
            let key = format!("{prefix}.{k}");
            match v {
                toml::Value::Table(sub) => walk(&key, sub, keep, out),
                v if keep(v) => out.push(key),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk("engine", defaults, keep, &mut out);
    out
}

/// Engine keys known from `EngineSettings::default()`, so `DIRSYNC_ENGINE_*` works for them too.
fn engine_keys(defaults: &toml::Table) -> Vec<String> {
    let mut out = engine_leaves(defaults, |_| true);
    // Keys of a non-default choice, absent from the default table.
    out.push("engine.delete_policy.days".into());
    out
}

/// Keys whose value is text even when it looks like a number or a boolean:
/// every plain key but `ui.enabled`, and every engine key whose default is
/// a string. An account number, a numeric user key, or a duration written
/// as seconds (`interval = 45`, `DIRSYNC_API_ACCOUNT=123456`) is meant as
/// text, and TOML or the env layer would otherwise make it an integer.
fn text_keys(defaults: &toml::Table) -> Vec<String> {
    let mut out: Vec<String> = KEYS
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| k != "ui.enabled")
        .collect();
    out.extend(engine_leaves(defaults, toml::Value::is_str));
    out
}

/// Turns a number or boolean given for a text key into its text.
fn scalars_as_text(table: &mut toml::Table, keys: &[String]) {
    fn at<'a>(t: &'a mut toml::Table, path: &[&str]) -> Option<&'a mut toml::Value> {
        match path {
            [] => None,
            [last] => t.get_mut(*last),
            [first, rest @ ..] => match t.get_mut(*first) {
                Some(toml::Value::Table(sub)) => at(sub, rest),
                _ => None,
            },
        }
    }
    for key in keys {
        let path: Vec<&str> = key.split('.').collect();
        if let Some(v) = at(table, &path) {
            let text = match v {
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Datetime(d) => d.to_string(),
                _ => continue,
            };
            *v = toml::Value::String(text);
        }
    }
}

/// Deserialises a TOML table, naming the key a type error is about.
pub(crate) fn from_table<T: serde::de::DeserializeOwned>(
    table: toml::Table,
) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        (path, e.into_inner().message().to_string())
    })
}

/// Reads the file (if present), layers env and flags, then the secrets.
pub fn load(path: &Path, explicit: bool, overrides: &Overrides) -> Result<Loaded, ConfigError> {
    let mut table = toml::Table::new();
    let file_found = path.exists();
    if file_found {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(vec![problem(
                "",
                format!(
                    "cannot read the config file {}: {e}; check the path and its permissions",
                    path.display()
                ),
            )])
        })?;
        table = text.parse::<toml::Table>().map_err(|e| {
            ConfigError(vec![problem(
                "",
                format!(
                    "{} is not valid TOML: {}",
                    path.display(),
                    e.to_string().trim()
                ),
            )])
        })?;
    } else if explicit {
        return Err(ConfigError(vec![problem(
            "",
            format!("the config file {} does not exist; create it with `dirsync init --config {}` or point --config / DIRSYNC_CONFIG at yours", path.display(), path.display()),
        )]));
    }

    let mut problems = Vec::new();
    let mut keys: Vec<String> = KEYS.iter().map(|(k, _)| k.to_string()).collect();
    let defaults = crate::engine_settings::default_engine_table();
    keys.extend(engine_keys(&defaults));
    for key in &keys {
        let var = env_name(key);
        if let Some((_, v)) = overrides.env.iter().find(|(k, _)| *k == var) {
            if let Err(p) = set_path(&mut table, key, parse_value(v)) {
                problems.push(p);
            }
        }
    }
    for (key, v) in &overrides.flags {
        if let Err(p) = set_path(&mut table, key, parse_value(v)) {
            problems.push(p);
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError(problems));
    }
    scalars_as_text(&mut table, &text_keys(&defaults));
    let config: Config = from_table(table).map_err(|(at, msg)| {
        let msg = if let Some(rest) = msg.strip_prefix("unknown field ") {
            // The path ends with the unknown key itself: name it in full.
            let (name, expected) = rest.split_once(", ").unwrap_or((rest, ""));
            let section = match at.rsplit_once('.') {
                Some((section, _)) => format!(" in [{section}]"),
                None => String::new(),
            };
            let expected = if expected.is_empty() { String::new() } else { format!("; {expected}") };
            format!("unknown key {name}{section} in {} (or an env var / --set){expected}; remove it or fix its spelling, see docs/configuration.md", path.display())
        } else if at.is_empty() {
            format!("{} (in {}, env or --set); see docs/configuration.md", msg, path.display())
        } else {
            format!("{at}: {msg} (in {}, env or --set); see docs/configuration.md", path.display())
        };
        ConfigError(vec![problem(&at, msg)])
    })?;

    let (secrets, secret_sources) = load_secrets(&config, path, overrides)?;
    Ok(Loaded {
        config,
        secrets,
        path: path.to_path_buf(),
        file_found,
        secret_sources,
    })
}

/// The secrets file path for a config.
pub fn secrets_path(config: &Config, config_path: &Path) -> PathBuf {
    resolve(
        config_path,
        config
            .secrets_file
            .as_deref()
            .unwrap_or(Path::new("secrets.toml")),
    )
}

/// Parses the secrets file. Its errors name the line and the key, never a
/// value: the parser's own messages quote what they found
/// (`invalid type: integer 98765432101234`), which here is a secret.
fn parse_secrets(text: &str) -> Result<Secrets, String> {
    const KEYS: &str = "it holds only ldap_bind_password, api_secret_key and ui_admin_password, each as name = \"value\"";
    let table: toml::Table = toml::from_str(text).map_err(|e: toml::de::Error| {
        let at = e
            .span()
            .map(|s| {
                format!(
                    " at line {}",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_default();
        format!("it is not valid TOML{at} (the line is not shown, as it may hold a secret); {KEYS}")
    })?;
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(key))
            .map(|i| format!(" (line {})", i + 1))
            .unwrap_or_default()
    };
    let mut out = Secrets::default();
    for (key, value) in table {
        let slot = match key.as_str() {
            "ldap_bind_password" => &mut out.ldap_bind_password,
            "api_secret_key" => &mut out.api_secret_key,
            "ui_admin_password" => &mut out.ui_admin_password,
            _ => return Err(format!("unknown key '{key}'{}; {KEYS}", line_of(&key))),
        };
        match value {
            toml::Value::String(v) => *slot = Some(Secret::new(v)),
            other => {
                return Err(format!(
                    "{key}{} must be a quoted string, but it is {} {}; write {key} = \"...\" (the value is not shown)",
                    line_of(&key),
                    if other.type_str().starts_with(['a', 'i']) { "an" } else { "a" },
                    other.type_str()
                ))
            }
        }
    }
    Ok(out)
}

fn load_secrets(
    config: &Config,
    config_path: &Path,
    overrides: &Overrides,
) -> Result<(Secrets, BTreeMap<&'static str, String>), ConfigError> {
    let path = secrets_path(config, config_path);
    let mut sources = BTreeMap::new();
    let mut secrets = Secrets::default();
    if path.exists() {
        match crate::platform::exposure(&path) {
            Ok(None) => {}
            Ok(Some(who)) => {
                return Err(ConfigError(vec![problem(
                    "secrets_file",
                    format!(
                        "the secrets file {} can be read by {who}; run `{}`",
                        path.display(),
                        crate::platform::fix_hint(&path)
                    ),
                )]))
            }
            Err(e) => {
                return Err(ConfigError(vec![problem(
                    "secrets_file",
                    format!(
                        "cannot read who may open the secrets file {}: {e}",
                        path.display()
                    ),
                )]))
            }
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError(vec![problem(
                "secrets_file",
                format!("cannot read the secrets file {}: {e}", path.display()),
            )])
        })?;
        secrets = parse_secrets(&text).map_err(|why| {
            ConfigError(vec![problem(
                "secrets_file",
                format!("the secrets file {} is not valid: {why}", path.display()),
            )])
        })?;
        for (name, v) in [
            ("ldap_bind_password", &secrets.ldap_bind_password),
            ("api_secret_key", &secrets.api_secret_key),
            ("ui_admin_password", &secrets.ui_admin_password),
        ] {
            if v.is_some() {
                sources.insert(name, format!("file {}", path.display()));
            }
        }
    }
    for (name, var, slot) in [
        (
            "ldap_bind_password",
            ENV_LDAP_PASSWORD,
            &mut secrets.ldap_bind_password,
        ),
        (
            "api_secret_key",
            ENV_API_SECRET,
            &mut secrets.api_secret_key,
        ),
        (
            "ui_admin_password",
            ENV_UI_PASSWORD,
            &mut secrets.ui_admin_password,
        ),
    ] {
        if let Some((_, v)) = overrides.env.iter().find(|(k, _)| k == var) {
            if !v.is_empty() {
                *slot = Some(Secret::new(v.clone()));
                sources.insert(name, format!("env {var}"));
            }
        }
    }
    Ok((secrets, sources))
}

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

    pub fn interval(&self) -> Duration {
        parse_duration(&self.config.schedule.interval).unwrap_or(Duration::from_secs(300))
    }

    pub fn full_every(&self) -> Duration {
        parse_duration(&self.config.schedule.full_every).unwrap_or(Duration::from_secs(86400))
    }

    pub fn listen(&self) -> Option<SocketAddr> {
        self.config.ui.listen.parse().ok()
    }

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
            if parse_duration(&d.ldif_settle).is_none() {
                out.push(problem(
                    "directory.ldif_settle",
                    format!(
                        "directory.ldif_settle {:?} is not a duration; write e.g. \"10s\" (or \"0s\" to read a file however recently it changed)",
                        d.ldif_settle
                    ),
                ));
            }
            if parse_duration(&d.timeout).is_none_or(|t| t.is_zero()) {
                out.push(problem(
                    "directory.timeout",
                    format!(
                        "directory.timeout {:?} is not a duration; write e.g. \"30s\" or \"2m\"",
                        d.timeout
                    ),
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
            if parse_duration(&c.api.timeout).is_none_or(|t| t.is_zero()) {
                out.push(problem(
                    "api.timeout",
                    format!(
                        "api.timeout {:?} is not a duration; write e.g. \"30s\"",
                        c.api.timeout
                    ),
                ));
            }
        }
        if needs.ui {
            match parse_duration(&c.schedule.interval) {
                None => out.push(problem("schedule.interval", format!("schedule.interval {:?} is not a duration; write e.g. \"30s\", \"5m\" or \"1h\"", c.schedule.interval))),
                Some(d) if d < Duration::from_secs(1) => out.push(problem("schedule.interval", "schedule.interval must be at least 1s; write e.g. \"30s\" or \"5m\"")),
                _ => {}
            }
            match parse_duration(&c.schedule.full_every) {
                None => out.push(problem(
                    "schedule.full_every",
                    format!(
                        "schedule.full_every {:?} is not a duration; write e.g. \"24h\" or \"7d\"",
                        c.schedule.full_every
                    ),
                )),
                Some(d) if d < Duration::from_secs(60) => out.push(problem(
                    "schedule.full_every",
                    "schedule.full_every must be at least 1m; write e.g. \"24h\"",
                )),
                _ => {}
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

    fn load_text(
        text: &str,
        env: &[(&str, &str)],
        flags: &[(&str, &str)],
    ) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dirsync.toml");
        std::fs::write(&path, text).unwrap();
        let o = Overrides {
            flags: flags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        load(&path, true, &o)
    }

    #[test]
    fn durations() {
        for (s, want) in [
            ("30s", Some(30)),
            ("5m", Some(300)),
            ("1h30m", Some(5400)),
            ("1d", Some(86400)),
            ("45", Some(45)),
            ("5x", None),
            ("", None),
            ("m", None),
            ("5m3", None),
        ] {
            assert_eq!(parse_duration(s).map(|d| d.as_secs()), want, "{s}");
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn layering_file_env_flags() {
        let l = load_text(
            "[schedule]\ninterval = \"10m\"\n[ui]\nlisten = \"127.0.0.1:9000\"\n",
            &[
                ("DIRSYNC_SCHEDULE_INTERVAL", "2m"),
                ("DIRSYNC_UI_LISTEN", "127.0.0.1:9001"),
            ],
            &[("ui.listen", "127.0.0.1:9002")],
        )
        .unwrap();
        assert_eq!(l.config.schedule.interval, "2m");
        assert_eq!(l.config.ui.listen, "127.0.0.1:9002");
        let l = load_text("", &[("DIRSYNC_UI_ENABLED", "false")], &[]).unwrap();
        assert!(!l.config.ui.enabled);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = load_text("[directory]\nurll = \"x\"\n", &[], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key `urll` in [directory]"), "{e}");
        assert!(e.contains("expected one of `source`"), "{e}");
    }

    #[test]
    fn numbers_given_for_text_keys_are_text() {
        // An account number, a numeric user key, a duration in seconds: in
        // the file, from the environment and from --set.
        let l = load_text(
            "[api]\naccount = 123456\nuser_key = 42\n[schedule]\ninterval = 45\n[engine.delete_policy]\npolicy = \"never\"\n",
            &[("DIRSYNC_DIRECTORY_TIMEOUT", "20")],
            &[("schedule.full_every", "3600"), ("state.path", "7")],
        )
        .unwrap();
        let c = &l.config;
        assert_eq!(c.api.account.as_deref(), Some("123456"));
        assert_eq!(c.api.user_key.as_deref(), Some("42"));
        assert_eq!(c.schedule.interval, "45");
        assert_eq!(c.schedule.full_every, "3600");
        assert_eq!(c.directory.timeout, "20");
        assert_eq!(c.state.path, PathBuf::from("7"));
        let l = load_text("", &[("DIRSYNC_API_ACCOUNT", "98765")], &[]).unwrap();
        assert_eq!(l.config.api.account.as_deref(), Some("98765"));
        // A quoted value stays the text inside the quotes.
        let l = load_text("", &[], &[("api.account", "\"555\"")]).unwrap();
        assert_eq!(l.config.api.account.as_deref(), Some("555"));
        // Booleans and integers keep their types where the key wants them.
        let l = load_text(
            "[ui]\nenabled = false\n[engine]\nconcurrency = 8\n",
            &[],
            &[],
        )
        .unwrap();
        assert!(!l.config.ui.enabled);
        assert_eq!(l.config.engine["concurrency"].as_integer(), Some(8));
    }

    #[test]
    fn the_delete_policy_from_the_environment() {
        let l = load_text(
            "",
            &[
                ("DIRSYNC_ENGINE_DELETE_POLICY_POLICY", "after_grace"),
                ("DIRSYNC_ENGINE_DELETE_POLICY_DAYS", "30"),
            ],
            &[],
        )
        .unwrap();
        let p = &l.config.engine["delete_policy"];
        assert_eq!(p["policy"].as_str(), Some("after_grace"));
        assert_eq!(p["days"].as_integer(), Some(30));
        crate::engine_settings::engine_settings(&l.config.engine).unwrap();
    }

    #[test]
    fn type_errors_name_the_key() {
        for (text, flags, want) in [
            (
                "[ui]\nenabled = \"maybe\"\n",
                vec![],
                "ui.enabled: invalid type: string \"maybe\", expected a boolean",
            ),
            (
                "",
                vec![("ui.enabled", "2")],
                "ui.enabled: invalid type: integer `2`, expected a boolean",
            ),
            (
                "[log]\nformat = \"xml\"\n",
                vec![],
                "log.format: unknown variant `xml`",
            ),
            (
                "[api]\naccount = [1]\n",
                vec![],
                "api.account: invalid type: sequence, expected a string",
            ),
        ] {
            let e = load_text(text, &[], &flags).unwrap_err().to_string();
            assert!(e.contains(want), "{text} {flags:?}: {e}");
        }
        let l = load_text("[engine.history]\nkeep_days = \"ninety\"\n", &[], &[]).unwrap();
        let e = crate::engine_settings::engine_settings(&l.config.engine).unwrap_err();
        assert!(
            e.contains("history.keep_days: invalid type: string \"ninety\", expected u32"),
            "{e}"
        );
    }

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

    /// Errors about the secrets file name the key and line, never the value
    /// (an unquoted number was echoed: `invalid type: integer 98765432101234`).
    #[test]
    fn secrets_file_errors_never_echo_a_value() {
        for (text, want) in [
            (
                "api_secret_key = 98765432101234\n",
                "api_secret_key (line 1) must be a quoted string, but it is an integer",
            ),
            (
                "# mine\nldap_bind_password = 98765432101234.5\n",
                "ldap_bind_password (line 2) must be a quoted string, but it is a float",
            ),
            (
                "ui_admin_password = [\"98765432101234\"]\n",
                "must be a quoted string, but it is an array",
            ),
            (
                "api_secret_key = 98765432101234x\n",
                "not valid TOML at line 1",
            ),
            (
                "api_secret_key = \"98765432101234\n",
                "not valid TOML at line 1",
            ),
            ("98765432101234\n", "not valid TOML at line 1"),
            (
                "api_secret = \"98765432101234\"\n",
                "unknown key 'api_secret' (line 1)",
            ),
        ] {
            let e = parse_secrets(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains("98765432101234"), "{text:?} echoed: {e}");
        }
        let ok = parse_secrets("api_secret_key = \"98765432101234\"\n").unwrap();
        assert_eq!(ok.api_secret_key.unwrap().expose(), "98765432101234");
    }

    #[cfg(unix)]
    #[test]
    fn secrets_from_env_and_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dirsync.toml");
        std::fs::write(&path, "").unwrap();
        let sp = dir.path().join("secrets.toml");
        std::fs::write(&sp, "api_secret_key = \"s3cret-key\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&sp, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&path, true, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("can be read by other users (mode 0644); run `chmod 600"),
            "{e}"
        );
        std::fs::set_permissions(&sp, std::fs::Permissions::from_mode(0o600)).unwrap();
        let o = Overrides {
            flags: vec![],
            env: vec![(ENV_LDAP_PASSWORD.into(), "pw-from-env".into())],
        };
        let l = load(&path, true, &o).unwrap();
        assert_eq!(
            l.secrets.api_secret_key.as_ref().unwrap().expose(),
            "s3cret-key"
        );
        assert_eq!(
            l.secrets.ldap_bind_password.as_ref().unwrap().expose(),
            "pw-from-env"
        );
        assert!(!format!("{l:?}").contains("s3cret-key"));
        assert_eq!(
            l.secret_sources["ldap_bind_password"],
            "env DIRSYNC_LDAP_BIND_PASSWORD"
        );
    }

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

#[cfg(test)]
mod docs_contract {
    /// docs/configuration.md documents every key, its env var, and every engine key.
    #[test]
    fn configuration_reference_covers_every_key() {
        let doc = include_str!("../../../docs/configuration.md");
        for (key, _) in super::KEYS {
            assert!(
                doc.contains(&format!("`{key}`")),
                "docs/configuration.md lacks {key}"
            );
            assert!(
                doc.contains(&super::env_name(key)),
                "docs/configuration.md lacks {}",
                super::env_name(key)
            );
        }
        for key in super::engine_keys(&crate::engine_settings::default_engine_table()) {
            assert!(
                doc.contains(&format!("`{key}`")),
                "docs/configuration.md lacks {key}"
            );
        }
        for var in [
            super::ENV_LDAP_PASSWORD,
            super::ENV_API_SECRET,
            super::ENV_UI_PASSWORD,
        ] {
            assert!(doc.contains(var), "docs/configuration.md lacks {var}");
        }
    }

    /// docs/cli.md documents every command.
    #[test]
    fn cli_reference_covers_every_command() {
        use clap::CommandFactory;
        let doc = include_str!("../../../docs/cli.md");
        for c in crate::cli::Cli::command().get_subcommands() {
            assert!(
                doc.contains(&format!("`dirsync {}", c.get_name())),
                "docs/cli.md lacks `dirsync {}`",
                c.get_name()
            );
        }
    }
}
