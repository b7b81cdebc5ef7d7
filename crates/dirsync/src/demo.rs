//! `dirsync demo`: everything in one process, nothing to install or configure.
//!
//! It starts the control panel (officed, the only place this crate links it)
//! on loopback with a temporary SQLite database and a sample account, writes
//! a config for the bundled sample directory (`demo/sample.ldif`), syncs it
//! through the same engine, history and web UI as a real installation, prints
//! the summary with the fix for each error, and serves the web UI until
//! Ctrl-C. All files live in a temporary directory removed at exit.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::agent::{self, Agent, Trigger};
use crate::config::{self, Overrides};
use crate::service::{shutdown_signal, Service};
use crate::view;
use crate::Exit;

/// The bundled sample directory.
pub const SAMPLE_LDIF: &str = include_str!("../demo/sample.ldif");
/// The sample account's number in the in-process control panel.
pub const DEMO_ACCOUNT: &str = "100001";
/// Exchange licences on example.com in the demo: fewer than the sample needs,
/// so the mailbox-limit error shows up.
pub const DEMO_EXCHANGE_LICENCES: u32 = 7;

/// Writes the demo's config, secrets and LDIF into `dir`; returns the config path.
pub fn write_demo_files(
    dir: &Path,
    api_url: &str,
    user_key: &str,
    secret: &str,
    listen: &str,
) -> Result<std::path::PathBuf> {
    let ldif = dir.join("sample.ldif");
    std::fs::write(&ldif, SAMPLE_LDIF).with_context(|| format!("writing {}", ldif.display()))?;
    let conf = dir.join("dirsync.toml");
    let text = format!(
        "# Written by `dirsync demo`.\n[directory]\nsource = \"ldif\"\nldif_path = \"sample.ldif\"\n# The demo wrote the file itself: no need to wait for it to settle.\nldif_settle = \"0s\"\nexchange_group = \"Exchange Users\"\nrsemail_group = \"Rackspace Email Users\"\n\n\
[api]\nurl = {}\nuser_key = {}\naccount = \"{DEMO_ACCOUNT}\"\n\n[state]\npath = \"state.db\"\n\n[ui]\nlisten = {}\n",
        toml::Value::String(api_url.into()),
        toml::Value::String(user_key.into()),
        toml::Value::String(listen.into()),
    );
    crate::private_file::write(&conf, &text, 0o640)
        .with_context(|| format!("writing {}", conf.display()))?;
    let secrets = dir.join("secrets.toml");
    crate::platform::write_private(
        &secrets,
        format!("api_secret_key = {}\n", toml::Value::String(secret.into())).as_bytes(),
    )
    .with_context(|| format!("creating {}", secrets.display()))?;
    Ok(conf)
}

/// Runs the demo. With `once`, exits after printing the summary.
pub async fn run(listen: &str, once: bool) -> Result<Exit> {
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen:?}: write address:port, e.g. 127.0.0.1:8080"))?;
    if !addr.ip().is_loopback() {
        anyhow::bail!("--listen {addr}: the demo serves only on loopback (127.0.0.1); it has no admin password");
    }
    let tmp = tempfile::Builder::new()
        .prefix("dirsync-demo-")
        .tempdir()
        .context("creating a temporary directory")?;
    eprintln!(
        "dirsync demo: starting the control panel (officed) in-process with a sample account..."
    );
    let officed_dir = tmp.path().join("officed");
    let panel = officed::Service::start(officed::Config::sqlite_in(
        &officed_dir,
        "127.0.0.1:0".parse()?,
    ))
    .await
    .map_err(|e| anyhow::anyhow!("starting the in-process control panel: {e}"))?;
    let sample = officed::sample_account(&panel, DEMO_ACCOUNT)
        .await
        .map_err(|e| anyhow::anyhow!("creating the sample account: {e}"))?;
    panel
        .set_licences(&sample.primary_domain, Some(DEMO_EXCHANGE_LICENCES), None)
        .await
        .map_err(|e| anyhow::anyhow!("setting the sample licences: {e}"))?;

    // Ctrl-C at any point (even during the first sync) stops cleanly and
    // removes the temporary files; once serving, the web server handles it.
    let api_url = panel.base_url();
    let result = tokio::select! {
        r = run_with_panel(tmp.path(), &api_url, &sample.user_key, sample.secret.expose(), addr, once) => r,
        _ = shutdown_signal() => {
            eprintln!("\ndirsync demo: interrupted.");
            Ok(Exit::Success)
        }
    };
    panel.shutdown().await;
    drop(tmp);
    result
}

async fn run_with_panel(
    dir: &Path,
    api_url: &str,
    user_key: &str,
    secret: &str,
    addr: SocketAddr,
    once: bool,
) -> Result<Exit> {
    let conf = write_demo_files(dir, api_url, user_key, secret, &addr.to_string())?;
    let loaded = Arc::new(config::load(&conf, true, &Overrides::default())?);
    let problems = loaded.validate(config::Needs::SYNC);
    if !problems.is_empty() {
        return Err(config::ConfigError(problems).into());
    }
    let _lock = crate::lock::SyncLock::try_acquire(&loaded.state_path())?;
    let agent = Agent::open(loaded.clone()).await?;
    let svc = Service::new(agent, loaded.clone(), false);

    eprintln!("dirsync demo: syncing the sample directory (demo/sample.ldif) into account {DEMO_ACCOUNT} at {api_url}\n");
    let report = svc.run_now(true, Trigger::Demo).await?;
    print!("{}", crate::render::report_text(&report, false));
    let exit = agent::exit_for(&report);
    println!(
        "\nThe sample directory carries these errors on purpose; each fix above is what an administrator would do in Active Directory.\n\
The sync recorded run #{} in the history; `dirsync history` works on a real installation's state store the same way.",
        view::summary(&report).id
    );
    if once {
        // The demo worked when the run reached its end; object errors are the point of the sample.
        return Ok(if matches!(exit, Exit::Success | Exit::ObjectErrors) {
            Exit::Success
        } else {
            exit
        });
    }

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}; another program uses the port: try `dirsync demo --listen 127.0.0.1:8081`"))?;
    let local = listener.local_addr()?;
    let app = crate::web::app(crate::web::WebState::new(svc.clone(), local, true));
    println!(
        "\nWeb UI: http://{local}/  — Dashboard, Sync History (run #{id}), Errors with their fixes, Preview, Settings.\n\
Press \"Sync now\" there to sync again. Control panel API: {api_url} (account {DEMO_ACCOUNT}).\nPress Ctrl-C to stop; the demo's temporary files are removed at exit.",
        id = view::summary(&report).id
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("web server")?;
    eprintln!("\ndirsync demo: stopped.");
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_directory_reads_and_scopes() {
        let scope =
            dirsync_directory::Scope::new(Some("Exchange Users"), Some("Rackspace Email Users"))
                .unwrap();
        let snap = dirsync_directory::read_snapshot(SAMPLE_LDIF, &scope)
            .expect("the bundled sample is valid LDIF");
        assert!(snap.exchange_group.is_some() && snap.rsemail_group.is_some());
        assert!(snap.objects.len() >= 18, "{} objects", snap.objects.len());
    }
}
