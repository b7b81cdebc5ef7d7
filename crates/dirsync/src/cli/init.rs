//! `dirsync init`: asks for (or takes from flags and the environment) the
//! settings of a first configuration and writes the config and the private
//! secrets file.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{self};
use crate::Exit;

use super::{Cli, InitArgs};

fn prompt(label: &str, default: Option<&str>) -> Result<Option<String>> {
    let mut out = std::io::stderr();
    match default {
        Some(d) if !d.is_empty() => write!(out, "{label} [{d}]: ")?,
        _ => write!(out, "{label}: ")?,
    }
    out.flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let line = line.trim();
    Ok(if line.is_empty() {
        default.map(str::to_string).filter(|d| !d.is_empty())
    } else {
        Some(line.to_string())
    })
}

fn prompt_secret(label: &str) -> Result<Option<String>> {
    let mut out = std::io::stderr();
    write!(out, "{label} (input hidden, empty to skip): ")?;
    out.flush()?;
    let _ = std::process::Command::new("stty")
        .arg("-echo")
        .stdin(std::process::Stdio::inherit())
        .status();
    let mut line = String::new();
    let r = std::io::stdin().read_line(&mut line);
    let _ = std::process::Command::new("stty")
        .arg("echo")
        .stdin(std::process::Stdio::inherit())
        .status();
    writeln!(out)?;
    r?;
    let line = line.trim_end_matches(['\r', '\n']).to_string();
    Ok(if line.is_empty() { None } else { Some(line) })
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub(super) fn init(cli: &Cli, a: &InitArgs) -> Result<Exit> {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG));
    if path.exists() && !a.force {
        anyhow::bail!(
            "{} already exists; pass --force to overwrite it, or --config to write another file",
            path.display()
        );
    }
    let interactive = !a.non_interactive && std::io::stdin().is_terminal();
    let ask =
        |label: &str, given: &Option<String>, default: Option<&str>| -> Result<Option<String>> {
            if given.is_some() || !interactive {
                Ok(given.clone().or(default.map(str::to_string)))
            } else {
                prompt(label, default)
            }
        };
    let source = ask("Directory source (ldap or ldif)", &a.source, Some("ldap"))?
        .unwrap_or_else(|| "ldap".into());
    if source != "ldap" && source != "ldif" {
        anyhow::bail!("--source {source:?}: write ldap or ldif");
    }
    let mut doc = String::from("# dirsync configuration (docs/configuration.md). Secrets are in the secrets file.\n\n[directory]\n");
    doc.push_str(&format!("source = {}\n", toml_str(&source)));
    if source == "ldap" {
        for (key, label, given, default) in [
            (
                "url",
                "LDAP URL (ldaps://dc1.example.com)",
                &a.ldap_url,
                None,
            ),
            ("bind_dn", "Bind DN (service account)", &a.bind_dn, None),
            ("base_dn", "Base DN (DC=example,DC=com)", &a.base_dn, None),
        ] {
            if let Some(v) = ask(label, given, default)? {
                doc.push_str(&format!("{key} = {}\n", toml_str(&v)));
            }
        }
    } else {
        let given = a.ldif.as_ref().map(|p| p.display().to_string());
        if let Some(v) = ask("LDIF file", &given, None)? {
            doc.push_str(&format!("ldif_path = {}\n", toml_str(&v)));
        }
    }
    for (key, label, given) in [
        (
            "exchange_group",
            "Exchange security group (DN or name, empty for none)",
            &a.exchange_group,
        ),
        (
            "rsemail_group",
            "Rackspace Email security group (DN or name, empty for none)",
            &a.rsemail_group,
        ),
    ] {
        if let Some(v) = ask(label, given, None)? {
            doc.push_str(&format!("{key} = {}\n", toml_str(&v)));
        }
    }
    doc.push_str("\n[api]\n");
    for (key, label, given, default) in [
        (
            "url",
            "Control panel API URL",
            &a.api_url,
            Some("https://api.emailsrvr.com/v1"),
        ),
        ("user_key", "API user key", &a.api_user_key, None),
        ("account", "Customer account number", &a.account, None),
    ] {
        if let Some(v) = ask(label, given, default)? {
            doc.push_str(&format!("{key} = {}\n", toml_str(&v)));
        }
    }
    let state = a
        .state
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "dirsync-state.db".into());
    doc.push_str(&format!("\n[state]\npath = {}\n", toml_str(&state)));
    doc.push_str("\n[schedule]\ninterval = \"5m\"\nfull_every = \"24h\"\n");
    let listen = a.listen.clone().unwrap_or_else(|| "127.0.0.1:8080".into());
    doc.push_str(&format!("\n[ui]\nlisten = {}\n", toml_str(&listen)));
    doc.push_str("\n[log]\nformat = \"human\"\nlevel = \"info\"\n");

    // Secrets: prompted on a terminal, else taken from the environment.
    let mut secrets = String::from("# dirsync secrets: keep this file private (mode 0600).\n");
    let mut any_secret = false;
    for (key, var, label, wanted) in [
        (
            "ldap_bind_password",
            config::ENV_LDAP_PASSWORD,
            "LDAP bind password",
            source == "ldap",
        ),
        (
            "api_secret_key",
            config::ENV_API_SECRET,
            "API secret key",
            true,
        ),
        (
            "ui_admin_password",
            config::ENV_UI_PASSWORD,
            "UI admin password (needed only off-localhost)",
            true,
        ),
    ] {
        let from_env = std::env::var(var).ok().filter(|v| !v.is_empty());
        let value = match from_env {
            Some(v) => Some(v),
            None if interactive && wanted => prompt_secret(label)?,
            None => None,
        };
        if let Some(v) = value {
            secrets.push_str(&format!("{key} = {}\n", toml_str(&v)));
            any_secret = true;
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::private_file::write(&path, &doc, 0o640)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {} (mode 0640)", path.display());
    let spath = config::resolve(&path, Path::new("secrets.toml"));
    if any_secret {
        write_private(&spath, &secrets)?;
        println!("wrote {} (mode 0600)", spath.display());
    } else {
        println!(
            "no secrets given: put them in {} (mode 0600) or set {}, {} and {}",
            spath.display(),
            config::ENV_LDAP_PASSWORD,
            config::ENV_API_SECRET,
            config::ENV_UI_PASSWORD
        );
    }
    println!("next: dirsync --config {} check", path.display());
    Ok(Exit::Success)
}

/// Creates (or replaces) a file readable only by its owner, without a window where others can read it.
fn write_private(path: &Path, text: &str) -> Result<()> {
    crate::platform::write_private(path, text.as_bytes())
        .with_context(|| format!("writing {} (readable only by its owner)", path.display()))
}
