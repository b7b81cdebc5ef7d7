//! The generated reference, `docs/configuration.md`: its tables come from
//! the key table ([`super::keys`]) and the engine's default settings, its
//! prose from the constants here. `scripts/gen-docs` writes it (through the
//! `configuration-md` example) and `scripts/gen-docs --check` fails CI when
//! the committed file differs.

use std::fmt::Write;

use super::keys::{Type, ENGINE_KEYS, KEYS, SECRETS};

const INTRO: &str = r#"# dirsync configuration reference

<!-- Generated from the key table in crates/dirsync/src/config/keys.rs by
     scripts/gen-docs: edit the table, then run it. -->

dirsync reads its settings in three layers; a later layer wins:

1. the TOML file (`--config PATH`, `DIRSYNC_CONFIG`, default `./dirsync.toml`);
2. environment variables: `DIRSYNC_` + the key upper-cased with `.` → `_`
   (`directory.url` → `DIRSYNC_DIRECTORY_URL`, `engine.concurrency` →
   `DIRSYNC_ENGINE_CONCURRENCY`);
3. flags: `--set KEY=VALUE` (repeatable), plus the shortcuts `--log-format`,
   `--log-level` and `serve --listen`.

Values from env and flags are read as TOML when they parse as TOML (`true`,
`25`, `"x"`) and as plain strings otherwise. Relative paths in the file are
relative to the file's directory. Unknown keys are refused by name.

The whole configuration is validated at startup and every problem is printed
at once with the key and the fix, for example:

```
error: the configuration is not valid:
  - api.account is not set; set it in /etc/dirsync/dirsync.toml (account = "1234567", the customer account number), or with DIRSYNC_API_ACCOUNT or --set api.account=...
```

A command checks only what it needs (`history` needs only the state store).
Invalid configuration exits with code 2.

## Example

```toml
# /etc/dirsync/dirsync.toml
[directory]
source = "ldap"
url = "ldaps://dc1.example.com"
bind_dn = "CN=dirsync,OU=Service Accounts,DC=example,DC=com"
base_dn = "DC=example,DC=com"
exchange_group = "CN=Exchange Users,OU=Groups,DC=example,DC=com"
rsemail_group = "Rackspace Email Users"

[api]
url = "https://api.emailsrvr.com/v1"
user_key = "AbCdEf0123456789"
account = "1234567"

[state]
path = "/var/lib/dirsync/state.db"

[schedule]
interval = "5m"
full_every = "24h"

[ui]
listen = "127.0.0.1:8080"

[log]
format = "json"
level = "info"

[engine]
# see "Engine settings" below
```

## Keys

"#;

const DURATIONS: &str = r#"Durations are written `45s`, `5m`, `2h`, `1d`, `1h30m`, or a number of seconds.
They are read once, when the configuration loads, and a value that is not a
duration is refused with its key and the value, whatever the command, e.g.
`schedule.interval "5x" is not a duration; write e.g. "30s", "5m" or "1h"`.

"#;

const TEXT_AND_SECRETS: &str = r#"Every key above except {BOOLS} takes text, so a value that looks like a
number is read as text wherever it comes from: `account = 123456` in the file,
`DIRSYNC_API_ACCOUNT=123456`, `--set schedule.interval=45`. A value of the wrong
type is refused with its key, e.g. `ui.enabled: invalid type: string "maybe",
expected a boolean`.

## Secrets

Secrets never go in the main file. They come from the secrets file (default
`secrets.toml` beside the config), which must not be readable by group or
others (dirsync refuses to start otherwise and says `chmod 600 FILE`; on
Windows the file's access list may allow only its owner, SYSTEM and the
Administrators, and the message gives the `icacls` command), or from
environment variables, which win:

"#;

const SECRETS_AND_ENGINE: &str = r#"```toml
# /etc/dirsync/secrets.toml  (chmod 600)
ldap_bind_password = "..."
api_secret_key = "..."
```

Secrets are held in a self-redacting type: logs, errors, `--json` output and
the Settings page show `[redacted]` (and where each came from), never the value.

## Engine settings (`[engine]`)

The `[engine]` table is handed to the sync engine as its settings
(`dirsync_engine::EngineSettings`; the API target itself comes from `[api]`
and the secrets). Each key can also be set as `DIRSYNC_ENGINE_<KEY>` (nested
keys joined with `_`, e.g. `DIRSYNC_ENGINE_THRESHOLD_PERCENT`) or
`--set engine.<key>=...`. Unknown keys are refused by name.

"#;

const ENGINE_EXAMPLE: &str = r#"```toml
[engine]
concurrency = 4
[engine.threshold]
percent = 10
min_count = 25
[engine.delete_policy]
policy = "after_grace"
days = 30
```
"#;

/// `docs/configuration.md`, whole.
pub fn markdown() -> String {
    let defaults = crate::engine_settings::default_engine_table();
    let mut out = String::from(INTRO);
    out.push_str("| key | env | type | default | meaning |\n|---|---|---|---|---|\n");
    for k in KEYS {
        let default = match (k.default_doc, k.default) {
            (Some(shown), _) => shown.to_string(),
            (None, Some(v)) => format!("`{v}`"),
            (None, None) => "—".to_string(),
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {default} | {} |",
            k.name,
            k.env(),
            k.ty.doc(),
            k.doc
        );
    }
    out.push('\n');
    out.push_str(DURATIONS);
    let bools: Vec<String> = KEYS
        .iter()
        .filter(|k| k.ty == Type::Bool)
        .map(|k| format!("`{}`", k.name))
        .collect();
    out.push_str(&TEXT_AND_SECRETS.replace("{BOOLS}", &bools.join(", ")));
    out.push_str("| secrets file key | env | needed by |\n|---|---|---|\n");
    for s in SECRETS {
        let _ = writeln!(out, "| `{}` | `{}` | {} |", s.name, s.env, s.needed_by);
    }
    out.push('\n');
    out.push_str(SECRETS_AND_ENGINE);
    out.push_str("| key | default | meaning |\n|---|---|---|\n");
    for k in ENGINE_KEYS {
        let default = match k.default_doc {
            Some(shown) => shown.to_string(),
            None => engine_default(&defaults, k.name)
                .map(|v| format!("`{v}`"))
                .unwrap_or_else(|| "—".into()),
        };
        let _ = writeln!(out, "| `{}` | {default} | {} |", k.name, k.doc);
    }
    out.push('\n');
    out.push_str(ENGINE_EXAMPLE);
    out
}

/// The engine's default for a dotted `engine.` key, as TOML.
fn engine_default(defaults: &toml::Table, key: &str) -> Option<toml::Value> {
    let mut parts = key.strip_prefix("engine.")?.split('.');
    let mut v = defaults.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    Some(v.clone())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::keys::{engine_leaves, key};
    use crate::config::Config;

    /// The committed reference is the one the key table generates
    /// (`bash scripts/gen-docs` rewrites it).
    #[test]
    fn docs_configuration_md_is_current() {
        let committed = include_str!("../../../../docs/configuration.md");
        assert!(
            committed == markdown(),
            "docs/configuration.md is stale: run `bash scripts/gen-docs` and commit the result"
        );
    }

    /// Every leaf of the default `[engine]` table is documented, and nothing else.
    #[test]
    fn every_engine_key_is_documented() {
        let defaults = crate::engine_settings::default_engine_table();
        let leaves: BTreeSet<String> = engine_leaves(&defaults, |_| true).into_iter().collect();
        let documented: BTreeSet<String> = ENGINE_KEYS.iter().map(|k| k.name.to_string()).collect();
        assert_eq!(leaves, documented);
    }

    /// The key table and the structs hold the same keys: serialising the
    /// defaults gives exactly the table's keys (but those without a default
    /// and no value, which serialise as nothing) and no other.
    #[test]
    fn the_key_table_and_the_structs_agree() {
        let v = toml::Value::try_from(Config::default()).unwrap();
        let mut found = BTreeSet::new();
        fn walk(prefix: &str, t: &toml::Table, out: &mut BTreeSet<String>) {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::Table(sub) if key != "engine" => walk(&key, sub, out),
                    toml::Value::Table(_) => {}
                    _ => {
                        out.insert(key);
                    }
                }
            }
        }
        walk("", v.as_table().unwrap(), &mut found);
        let with_default: BTreeSet<String> = KEYS
            .iter()
            .filter(|k| k.default.is_some())
            .map(|k| k.name.to_string())
            .collect();
        assert_eq!(found, with_default, "keys with a value by default");
        // Every key of the table is accepted by the structs, and each
        // struct field is a key of the table (an unknown one is refused).
        for k in KEYS {
            let mut t = crate::config::layer::defaults();
            let sample = match k.ty {
                Type::Bool => toml::Value::Boolean(false),
                Type::Duration { .. } => toml::Value::String("1m".into()),
                Type::Choice(words) => toml::Value::String(words[0].into()),
                Type::Address => toml::Value::String("127.0.0.1:1".into()),
                Type::Text | Type::Path => toml::Value::String("x".into()),
            };
            let (section, name) = k.name.split_once('.').unwrap_or(("", k.name));
            if section.is_empty() {
                t.insert(name.into(), sample);
            } else {
                t[section]
                    .as_table_mut()
                    .unwrap()
                    .insert(name.into(), sample);
            }
            crate::config::from_table::<Config>(t)
                .unwrap_or_else(|e| panic!("{} is not a field: {e:?}", k.name));
        }
        assert!(key("schedule.interval").is_some() && key("schedule.nope").is_none());
    }

    /// The defaults are the table's: a configuration with nothing set.
    #[test]
    fn defaults_come_from_the_key_table() {
        use std::time::Duration;
        let c = Config::default();
        assert_eq!(c.schedule.interval, Duration::from_secs(300));
        assert_eq!(c.schedule.full_every, Duration::from_secs(86400));
        assert_eq!(c.directory.timeout, Duration::from_secs(30));
        assert_eq!(c.directory.ldif_settle, Duration::from_secs(10));
        assert_eq!(c.api.timeout, Duration::from_secs(30));
        assert_eq!(c.ui.listen, "127.0.0.1:8080");
        assert!(c.ui.enabled);
        assert_eq!(c.log.level, "info");
        assert_eq!(c.state.path, std::path::PathBuf::from("dirsync-state.db"));
        assert_eq!(c.directory.source, crate::config::SourceKind::Ldap);
        assert_eq!(c.log.format, crate::config::LogFormat::Human);
    }

    /// docs/cli.md documents every command.
    #[test]
    fn cli_reference_covers_every_command() {
        use clap::CommandFactory;
        let doc = include_str!("../../../../docs/cli.md");
        for c in crate::cli::Cli::command().get_subcommands() {
            assert!(
                doc.contains(&format!("`dirsync {}", c.get_name())),
                "docs/cli.md lacks `dirsync {}`",
                c.get_name()
            );
        }
    }
}
