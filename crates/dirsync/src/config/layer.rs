//! The layers: the key table's defaults, then the file, then environment
//! variables, then `--set` flags; a later layer wins. The merged table is
//! typed once: text keys stay text whatever they look like, every duration
//! is checked (all bad ones reported at once), and the result is
//! deserialised into [`Config`], naming the key of any type error.

use std::path::Path;

use super::duration::not_a_duration;
use super::keys::{engine_keys, env_name, text_keys, Type, KEYS};
use super::secrets::load_secrets;
use super::{problem, Config, ConfigError, ConfigProblem, Loaded};

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

/// Reads the file (if present), layers env and flags over it and the
/// defaults under it, types the values, then reads the secrets.
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
    let mut keys: Vec<String> = KEYS.iter().map(|k| k.name.to_string()).collect();
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
    fill_defaults(&mut table);
    scalars_as_text(&mut table, &text_keys(&defaults));
    let problems = check_durations(&table);
    if !problems.is_empty() {
        return Err(ConfigError(problems));
    }
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

/// The bottom layer: every key of the table that has a fixed default.
pub(super) fn defaults() -> toml::Table {
    let mut t = toml::Table::new();
    fill_defaults(&mut t);
    t
}

/// Sets each key with a fixed default that no layer set.
fn fill_defaults(table: &mut toml::Table) {
    for k in KEYS {
        if let Some(v) = k.default_value() {
            if value_at(table, k.name).is_none() {
                // A section given as a value is refused later by name.
                let _ = set_path(table, k.name, v);
            }
        }
    }
}

/// The value at a dotted key, if any.
fn value_at<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut v = table.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    Some(v)
}

/// Every duration key whose value is not a duration, each with its key, the
/// value and an example (a number of seconds was turned into text before).
fn check_durations(table: &toml::Table) -> Vec<ConfigProblem> {
    let mut out = Vec::new();
    for k in KEYS {
        let Type::Duration { example } = k.ty else {
            continue;
        };
        let Some(v) = value_at(table, k.name) else {
            continue;
        };
        let ok = v
            .as_str()
            .is_some_and(|s| super::parse_duration(s).is_some());
        if !ok {
            let shown = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            out.push(problem(k.name, not_a_duration(k.name, &shown, example)));
        }
    }
    out
}

/// Loads `text` as the config file with the given environment and flags.
#[cfg(test)]
pub(super) fn load_text(
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

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
        assert_eq!(l.config.schedule.interval, Duration::from_secs(120));
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
        assert_eq!(c.schedule.interval, Duration::from_secs(45));
        assert_eq!(c.schedule.full_every, Duration::from_secs(3600));
        assert_eq!(c.directory.timeout, Duration::from_secs(20));
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

    /// Every duration is typed at load: each bad one is refused at once,
    /// whatever the layer, with its key, the value and an example; nothing
    /// falls back to a default.
    #[test]
    fn bad_durations_are_refused_at_load_with_key_and_value() {
        let e = load_text(
            "[schedule]\ninterval = \"5x\"\nfull_every = [1]\n",
            &[("DIRSYNC_API_TIMEOUT", "soon")],
            &[
                ("directory.ldif_settle", "10 s"),
                ("directory.timeout", "-3s"),
            ],
        )
        .unwrap_err();
        let keys: Vec<&str> = e.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "directory.ldif_settle",
                "directory.timeout",
                "api.timeout",
                "schedule.interval",
                "schedule.full_every"
            ]
        );
        let all = e.to_string();
        for want in [
            r#"directory.ldif_settle "10 s" is not a duration; write e.g. "10s" (or "0s" to read a file however recently it changed)"#,
            r#"directory.timeout "-3s" is not a duration; write e.g. "30s" or "2m""#,
            r#"api.timeout "soon" is not a duration; write e.g. "30s""#,
            r#"schedule.interval "5x" is not a duration; write e.g. "30s", "5m" or "1h""#,
            r#"schedule.full_every "[1]" is not a duration; write e.g. "24h" or "7d""#,
        ] {
            assert!(all.contains(want), "missing {want:?} in:\n{all}");
        }
        // Good values arrive typed; a bare number is seconds.
        let l = load_text(
            "[schedule]\nfull_every = \"1d2h\"\n",
            &[("DIRSYNC_API_TIMEOUT", "90")],
            &[],
        )
        .unwrap();
        assert_eq!(l.config.schedule.full_every, Duration::from_secs(93_600));
        assert_eq!(l.config.api.timeout, Duration::from_secs(90));
        assert_eq!(l.interval(), Duration::from_secs(300));
    }
}
