//! Secrets: the LDAP bind password, the API secret key and the UI admin
//! password ([`super::keys::SECRETS`]). They never live in the main file:
//! they come from a separate secrets file that must be private (mode 0600,
//! or an owner-only access list on Windows), or from environment variables,
//! which win. Each is held in the one self-redacting [`Secret`] type.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::keys::{ENV_API_SECRET, ENV_LDAP_PASSWORD, ENV_UI_PASSWORD};
use super::{problem, resolve, Config, ConfigError, Overrides};
use crate::secret::Secret;

/// The three secrets, each optional until a command needs it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    pub ldap_bind_password: Option<Secret>,
    pub api_secret_key: Option<Secret>,
    pub ui_admin_password: Option<Secret>,
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
pub(super) fn parse_secrets(text: &str) -> Result<Secrets, String> {
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

pub(super) fn load_secrets(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;

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
}
