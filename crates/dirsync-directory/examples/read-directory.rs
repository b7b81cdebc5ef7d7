//! Reads a scoped snapshot from a directory and prints what it found and how
//! long it took; used by `scripts/bench-directory` and handy for checking a
//! scope against a real domain.
//!
//! ```text
//! read-directory --exchange "Exchange bench10k" [--rsemail ...] [--json snapshot.json]
//! read-directory --exchange "Exchange bench10k" --incremental cookie.bin
//! ```
//!
//! With `--incremental FILE`, runs an incremental read from the cookie stored
//! in FILE (a full resync when FILE is missing) and stores the new cookie
//! there, so a second run measures an idle incremental.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use dirsync_directory::{Incremental, LdapConfig, LdapSource, Scope, Secret};
use dirsync_model::ObjectKind;

#[derive(Parser, Debug)]
#[command(about = "Read the objects in scope from an AD domain controller")]
struct Args {
    /// Exchange service group (DN or name).
    #[arg(long)]
    exchange: Option<String>,
    /// Rackspace Email service group (DN or name).
    #[arg(long)]
    rsemail: Option<String>,
    /// Write the snapshot as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Run an incremental read from the cookie in this file (full resync when
    /// it does not exist) and store the new cookie in it.
    #[arg(long)]
    incremental: Option<std::path::PathBuf>,
    #[arg(long, env = "DIRSYNC_TEST_LDAP_URL")]
    url: String,
    #[arg(long, env = "DIRSYNC_TEST_LDAP_BIND_DN")]
    bind_dn: String,
    #[arg(long, env = "DIRSYNC_TEST_LDAP_PASSWORD", hide_env_values = true)]
    password: String,
    #[arg(long, env = "DIRSYNC_TEST_LDAP_CA_FILE")]
    ca_file: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
    let scope = Scope::new(a.exchange.as_deref(), a.rsemail.as_deref())?;
    let mut cfg = LdapConfig::new(&a.url, &a.bind_dn, Secret::new(a.password.clone()));
    cfg.ca_file = a.ca_file.clone();
    let start = Instant::now();
    let mut src = LdapSource::connect(cfg)
        .await
        .context("connecting to the directory")?;
    if let Some(path) = &a.incremental {
        let stored = std::fs::read(path).ok();
        let r = src
            .incremental(&scope, stored.as_deref())
            .await
            .context("reading changes from the directory")?;
        let secs = start.elapsed().as_secs_f64();
        let cookie = match r {
            Incremental::Changes(c) => {
                let st = src.stats();
                println!(
                    "incremental ({:?}): {} changes in {secs:.3} s; {} searches, {} change searches, {} idle shortcuts, {} scope recomputations",
                    c.method,
                    c.changes.len(),
                    st.searches,
                    st.change_searches,
                    st.idle_shortcuts,
                    st.scope_recomputations
                );
                c.cookie
            }
            Incremental::FullResync {
                snapshot,
                cookie,
                method,
                reason,
                ..
            } => {
                println!(
                    "full resync ({method:?}, {reason}): {} objects in {secs:.3} s; {} searches",
                    snapshot.objects.len(),
                    src.stats().searches
                );
                cookie
            }
        };
        std::fs::write(path, cookie).with_context(|| format!("writing {}", path.display()))?;
        src.unbind().await;
        return Ok(());
    }
    let snapshot = src.full(&scope).await.context("reading the directory")?;
    let secs = start.elapsed().as_secs_f64();
    let count = |k: ObjectKind| snapshot.objects.iter().filter(|o| o.kind == k).count();
    println!(
        "read {} objects ({} users, {} groups, {} contacts) in {secs:.3} s",
        snapshot.objects.len(),
        count(ObjectKind::User),
        count(ObjectKind::Group),
        count(ObjectKind::Contact)
    );
    if let Some(path) = a.json {
        std::fs::write(&path, serde_json::to_vec(&snapshot)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    src.unbind().await;
    Ok(())
}
