//! The key table: every configuration key defined once.
//!
//! Each [`Key`] names its dotted key, its [`Type`], its default and its
//! documentation. From this table come the defaults layer of [`super::load`],
//! the environment variable of each key ([`env_name`]), which keys are read
//! as text, the typed parse of durations, and the tables of the generated
//! `docs/configuration.md` ([`super::docs::markdown`]). The structs in
//! [`super`] are the typed target the layered table is deserialised into; a
//! test checks that they and this table hold the same keys.
//!
//! The `[engine]` keys are defined by the engine's own settings
//! (`dirsync_engine::EngineSettings`, defaults included); [`ENGINE_KEYS`]
//! adds only their documentation, and a test checks it covers every one.

/// What a key holds, for the layers and the documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Free text (a URL, a DN, a filter).
    Text,
    /// A file path; relative paths are relative to the config file's directory.
    Path,
    /// `true` or `false`.
    Bool,
    /// A duration (`45s`, `5m`, `2h`, `1d`, `1h30m`, or seconds), parsed at
    /// load into a `std::time::Duration`; `example` ends its error message.
    Duration { example: &'static str },
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// `address:port`.
    Address,
}

impl Type {
    /// How the documentation names the type.
    pub fn doc(self) -> String {
        match self {
            Type::Text => "text".into(),
            Type::Path => "path".into(),
            Type::Bool => "boolean".into(),
            Type::Duration { .. } => "duration".into(),
            Type::Choice(words) => words
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(" or "),
            Type::Address => "address:port".into(),
        }
    }
}

/// One plain (non-engine) configuration key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The dotted key: `section.name`, or `name` at the top level.
    pub name: &'static str,
    pub ty: Type,
    /// The default as written in the file (without quotes), when there is
    /// a fixed one; it is the bottom layer of [`super::load`].
    pub default: Option<&'static str>,
    /// How the documentation shows a default that is not a fixed value
    /// (computed, or taken from elsewhere).
    pub default_doc: Option<&'static str>,
    /// The documentation's one-paragraph meaning (Markdown).
    pub doc: &'static str,
}

impl Key {
    /// The environment variable that sets this key.
    pub fn env(&self) -> String {
        env_name(self.name)
    }

    /// The default as a TOML value (booleans typed, everything else text).
    pub fn default_value(&self) -> Option<toml::Value> {
        let d = self.default?;
        Some(match self.ty {
            Type::Bool => toml::Value::Boolean(d == "true"),
            _ => toml::Value::String(d.to_string()),
        })
    }
}

/// The key `name` in [`KEYS`].
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The environment variable for a dotted key: `directory.url` -> `DIRSYNC_DIRECTORY_URL`.
pub fn env_name(key: &str) -> String {
    format!("DIRSYNC_{}", key.to_ascii_uppercase().replace('.', "_"))
}

/// Every plain key, in the order the documentation lists them.
pub const KEYS: &[Key] = &[
    Key {
        name: "secrets_file",
        ty: Type::Path,
        default: None,
        default_doc: Some("`secrets.toml` beside the config"),
        doc: "path of the secrets file (mode 0600)",
    },
    Key {
        name: "directory.source",
        ty: Type::Choice(&["ldap", "ldif"]),
        default: Some("ldap"),
        default_doc: None,
        doc: "`ldap` (Active Directory) or `ldif` (an LDIF export: a run reads it only when its fingerprint changed, and plans only what changed against the stored replica)",
    },
    Key {
        name: "directory.url",
        ty: Type::Text,
        default: None,
        default_doc: None,
        doc: "`ldaps://host[:636]`, or `ldap://host[:389]`, which is always upgraded with StartTLS before the bind: plain LDAP is never used",
    },
    Key {
        name: "directory.ca_file",
        ty: Type::Path,
        default: None,
        default_doc: Some("system roots"),
        doc: "PEM file of CA certificates to trust (certificate verification is always on)",
    },
    Key {
        name: "directory.bind_dn",
        ty: Type::Text,
        default: None,
        default_doc: None,
        doc: "the service account's DN (or `user@domain`)",
    },
    Key {
        name: "directory.base_dn",
        ty: Type::Text,
        default: None,
        default_doc: Some("the server's `defaultNamingContext`"),
        doc: "the search base, e.g. `DC=example,DC=com`",
    },
    Key {
        name: "directory.exchange_group",
        ty: Type::Text,
        default: None,
        default_doc: None,
        doc: "the security group synced to Hosted Exchange, by DN or by name",
    },
    Key {
        name: "directory.rsemail_group",
        ty: Type::Text,
        default: None,
        default_doc: None,
        doc: "the security group synced to Rackspace Email, by DN or by name (at least one group is required)",
    },
    Key {
        name: "directory.ldif_path",
        ty: Type::Path,
        default: None,
        default_doc: None,
        doc: "the LDIF file when `source = \"ldif\"` (`ldifde -f` or `ldapsearch -LLL` output, with binary `objectGUID`). It must prove it is whole: its last record ends with a blank line (as both tools write it), and every member of the service groups and of the groups nested in them is an entry of the file; otherwise the read fails (DS202) and nothing is applied",
    },
    Key {
        name: "directory.ldif_settle",
        ty: Type::Duration { example: "\"10s\" (or \"0s\" to read a file however recently it changed)" },
        default: Some("10s"),
        default_doc: None,
        doc: "an LDIF file modified less than this long ago may still be being written: the read waits until it has been unchanged this long; a file that changes meanwhile, or while it is read, is not applied (the run fails with DS202 and the next run reads it again). `0s` reads at once (the check for a change during the read stays)",
    },
    Key {
        name: "directory.timeout",
        ty: Type::Duration { example: "\"30s\" or \"2m\"" },
        default: Some("30s"),
        default_doc: None,
        doc: "LDAP connect and operation timeout",
    },
    Key {
        name: "api.url",
        ty: Type::Text,
        default: None,
        default_doc: None,
        doc: "the Cloud Office-shaped API base URL including the version prefix (`https://api.emailsrvr.com/v1`); `https://` (plain `http://` only for 127.0.0.1)",
    },
    Key {
        name: "api.user_key",
        ty: Type::Text,
        default: None,
        default_doc: None,
        doc: "the API user key (its secret key is a secret)",
    },
    Key {
        name: "api.account",
        ty: Type::Text,
        default: None,
        default_doc: None,
        doc: "the customer account number to sync into",
    },
    Key {
        name: "api.timeout",
        ty: Type::Duration { example: "\"30s\"" },
        default: Some("30s"),
        default_doc: None,
        doc: "API request timeout",
    },
    Key {
        name: "schedule.interval",
        ty: Type::Duration { example: "\"30s\", \"5m\" or \"1h\"" },
        default: Some("5m"),
        default_doc: None,
        doc: "`serve`: incremental sync interval, at least `1s` (an incremental sync costs in proportion to the changes)",
    },
    Key {
        name: "schedule.full_every",
        ty: Type::Duration { example: "\"24h\" or \"7d\"" },
        default: Some("24h"),
        default_doc: None,
        doc: "`serve`: full reconcile interval, at least `1m`",
    },
    Key {
        name: "ui.enabled",
        ty: Type::Bool,
        default: Some("true"),
        default_doc: None,
        doc: "serve the web UI (`/healthz` and `/metrics` are served either way)",
    },
    Key {
        name: "ui.listen",
        ty: Type::Address,
        default: Some("127.0.0.1:8080"),
        default_doc: None,
        doc: "web UI address; any non-loopback address requires `ui_admin_password`",
    },
    Key {
        name: "state.path",
        ty: Type::Path,
        default: Some("dirsync-state.db"),
        default_doc: None,
        doc: "the SQLite state store: anchors, directory cookie, run history. The sync lock is `<path>.lock`.",
    },
    Key {
        name: "log.format",
        ty: Type::Choice(&["human", "json"]),
        default: Some("human"),
        default_doc: None,
        doc: "`human` or `json` (one object per line)",
    },
    Key {
        name: "log.level",
        ty: Type::Text,
        default: Some("info"),
        default_doc: None,
        doc: "a tracing filter (`RUST_LOG` overrides it)",
    },
];

/// A secret: a key of the secrets file, never of the main file.
#[derive(Debug, Clone, Copy)]
pub struct SecretKey {
    /// The key in the secrets file.
    pub name: &'static str,
    /// The environment variable that overrides it.
    pub env: &'static str,
    /// Which commands need it (Markdown, for the documentation).
    pub needed_by: &'static str,
}

/// Environment variables that carry secrets (they override the secrets file).
pub const ENV_LDAP_PASSWORD: &str = "DIRSYNC_LDAP_BIND_PASSWORD";
pub const ENV_API_SECRET: &str = "DIRSYNC_API_SECRET_KEY";
pub const ENV_UI_PASSWORD: &str = "DIRSYNC_UI_ADMIN_PASSWORD";

/// The three secrets.
pub const SECRETS: &[SecretKey] = &[
    SecretKey {
        name: "ldap_bind_password",
        env: ENV_LDAP_PASSWORD,
        needed_by: "`source = \"ldap\"`",
    },
    SecretKey {
        name: "api_secret_key",
        env: ENV_API_SECRET,
        needed_by: "every command that talks to the API",
    },
    SecretKey {
        name: "ui_admin_password",
        env: ENV_UI_PASSWORD,
        needed_by: "the web UI on a non-loopback address (12+ characters)",
    },
];

/// The documentation of one `[engine]` key (its default comes from the
/// engine's settings).
#[derive(Debug, Clone, Copy)]
pub struct EngineKey {
    pub name: &'static str,
    /// Shown instead of the engine's default, when that default is derived.
    pub default_doc: Option<&'static str>,
    pub doc: &'static str,
}

/// Every `[engine]` key, in the order the documentation lists them.
pub const ENGINE_KEYS: &[EngineKey] = &[
    EngineKey {
        name: "engine.sync_alternates",
        default_doc: None,
        doc: "sync `smtp:` proxyAddresses as alternate addresses (Exchange) or aliases (Rackspace Email)",
    },
    EngineKey {
        name: "engine.delete_policy.policy",
        default_doc: None,
        doc: "mailboxes that leave the scope are disabled, never deleted; `\"after_grace\"` deletes them after `engine.delete_policy.days` days out of scope (lists and contacts that leave are always deleted)",
    },
    EngineKey {
        name: "engine.threshold.percent",
        default_doc: None,
        doc: "the run refuses (exit 3) when more than this percentage of synced objects...",
    },
    EngineKey {
        name: "engine.threshold.min_count",
        default_doc: None,
        doc: "...and at least this many, would be disabled or deleted at once (DS201); `dirsync sync --override-threshold` applies anyway",
    },
    EngineKey {
        name: "engine.threshold.group_percent",
        default_doc: None,
        doc: "whatever the directory's size, the run refuses (exit 3, DS204) when a service group or a distribution list that had members at the last sync reads as empty, or loses more than this percentage of its members...",
    },
    EngineKey {
        name: "engine.threshold.group_min_count",
        default_doc: None,
        doc: "...and at least this many at once; `dirsync sync --override-threshold` applies anyway",
    },
    EngineKey {
        name: "engine.allow_rename",
        default_doc: None,
        doc: "when an anchored user's `mail` local part changes, rename the mailbox through the control panel's rename operation (`POST …/mailboxes/NAME/rename`) instead of reporting DS008. The API key needs the control panel's rename permission (officed: `officed key issue --allow-rename`); when the target refuses for lack of it, the outcome is DS008 with its solution, as without the setting",
    },
    EngineKey {
        name: "engine.concurrency",
        default_doc: None,
        doc: "operations in flight at once (1–64)",
    },
    EngineKey {
        name: "engine.rate_limit.gets_per_min",
        default_doc: None,
        doc: "client-side limit on API reads per rolling minute (the Cloud Office limits)",
    },
    EngineKey {
        name: "engine.rate_limit.writes_per_min",
        default_doc: None,
        doc: "client-side limit on API writes per rolling minute",
    },
    EngineKey {
        name: "engine.staging",
        default_doc: None,
        doc: "staging mode: plan and record, never write",
    },
    EngineKey {
        name: "engine.retry.max_attempts",
        default_doc: None,
        doc: "attempts per request for connection failures, timeouts and 5xx answers; a throttle answer instead holds requests of its kind until the provider's next minute (or its Retry-After) and is retried up to 5 times",
    },
    EngineKey {
        name: "engine.retry.base_delay_ms",
        default_doc: None,
        doc: "first backoff, doubled on each retry, with full jitter",
    },
    EngineKey {
        name: "engine.retry.max_delay_ms",
        default_doc: None,
        doc: "longest backoff",
    },
    EngineKey {
        name: "engine.retry.timeout_ms",
        default_doc: Some("`api.timeout`"),
        doc: "per-request timeout (defaults to `api.timeout`)",
    },
    EngineKey {
        name: "engine.history.keep_days",
        default_doc: None,
        doc: "run history retention: after each run, runs that started more than this many days ago are deleted with their per-object outcomes; `0` keeps every run",
    },
    EngineKey {
        name: "engine.history.keep_runs",
        default_doc: None,
        doc: "...except the newest this many runs, which are kept whatever their age (at least 1). A run in progress is never deleted",
    },
    EngineKey {
        name: "engine.verify.budget",
        default_doc: None,
        doc: "GETs of one object an incremental run spends verifying synced objects (least recently verified first), repairing hand edits in the control panel; `0` turns the verification off",
    },
    EngineKey {
        name: "engine.verify.full_budget",
        default_doc: None,
        doc: "the same for a full sync (the daily reconcile): five minutes of the documented 60 GETs a minute",
    },
    EngineKey {
        name: "engine.verify.idle_after_secs",
        default_doc: None,
        doc: "an incremental run with no directory change makes no request unless the last verification is at least this old; then it lists the control panel and verifies like any run. `0`: every run verifies",
    },
];

/// The dotted keys of the default `[engine]` table (`defaults`, from
/// [`crate::engine_settings::default_engine_table`]) whose value `keep` accepts.
pub(super) fn engine_leaves(defaults: &toml::Table, keep: fn(&toml::Value) -> bool) -> Vec<String> {
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
pub(super) fn engine_keys(defaults: &toml::Table) -> Vec<String> {
    let mut out = engine_leaves(defaults, |_| true);
    // Keys of a non-default choice, absent from the default table.
    out.push("engine.delete_policy.days".into());
    out
}

/// Keys whose value is text even when it looks like a number or a boolean:
/// every plain key but the booleans, and every engine key whose default is
/// a string. An account number, a numeric user key, or a duration written
/// as seconds (`interval = 45`, `DIRSYNC_API_ACCOUNT=123456`) is meant as
/// text, and TOML or the env layer would otherwise make it an integer.
pub(super) fn text_keys(defaults: &toml::Table) -> Vec<String> {
    let mut out: Vec<String> = KEYS
        .iter()
        .filter(|k| k.ty != Type::Bool)
        .map(|k| k.name.to_string())
        .collect();
    out.extend(engine_leaves(defaults, toml::Value::is_str));
    out
}
