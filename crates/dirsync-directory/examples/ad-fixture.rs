//! Loads realistic users, contacts and nested groups into an AD (or Samba AD)
//! domain for tests and benchmarks.
//!
//! ```text
//! ad-fixture --ou bench10k --users 10000 --contacts 100 --groups 10 \
//!     --service-group "Exchange bench10k"      # reads .scratch/samba.env variables
//! ```
//! Connection settings come from the `DIRSYNC_TEST_LDAP_*` variables that
//! `scripts/samba-dc start` writes to `.scratch/samba.env`.
//!
//! With `--ldif FILE` it connects to nothing and writes the same fixture (the
//! OU first, the service group last) as LDIF for an offline load into a
//! stopped benchmark DC (`scripts/bench-dc load FILE`), whose rate holds as the
//! domain grows where adds over LDAP slow down; the base DN then comes from
//! `--base-dn` or `DIRSYNC_TEST_LDAP_BASE_DN`.

use anyhow::{bail, Context, Result};
use clap::Parser;
use dirsync_directory::fixture::FixtureSpec;
use dirsync_directory::{LdapConfig, LdapSource, Secret};

#[derive(Parser, Debug)]
#[command(about = "Load fixture users, contacts and groups into an AD domain controller")]
struct Args {
    /// Name of the OU to create under the base DN (reused if it exists).
    #[arg(long)]
    ou: String,
    #[arg(long, default_value_t = 100)]
    users: usize,
    #[arg(long, default_value_t = 0)]
    contacts: usize,
    /// Nested distribution-list groups inside the service group.
    #[arg(long, default_value_t = 0)]
    groups: usize,
    /// Name of a service group to create in the OU, holding every object as a direct member.
    #[arg(long)]
    service_group: Option<String>,
    /// Short tag for sAMAccountNames (default: the OU name).
    #[arg(long)]
    tag: Option<String>,
    #[arg(long, default_value = "example.com")]
    domain: String,
    #[arg(long, default_value_t = 4)]
    connections: usize,
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    /// Only add the group memberships, for a load that stopped after adding
    /// its objects.
    #[arg(long)]
    members_only: bool,
    /// Write the fixture as LDIF to this file instead of adding it over LDAP.
    #[arg(long, conflicts_with = "members_only")]
    ldif: Option<std::path::PathBuf>,
    /// The domain's base DN (only with `--ldif`; over LDAP it is read from the DC).
    #[arg(long, env = "DIRSYNC_TEST_LDAP_BASE_DN")]
    base_dn: Option<String>,
    #[arg(long, env = "DIRSYNC_TEST_LDAP_URL")]
    url: Option<String>,
    #[arg(long, env = "DIRSYNC_TEST_LDAP_BIND_DN")]
    bind_dn: Option<String>,
    #[arg(long, env = "DIRSYNC_TEST_LDAP_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    #[arg(long, env = "DIRSYNC_TEST_LDAP_CA_FILE")]
    ca_file: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
    if a.ou.contains(['=', ',']) {
        bail!("--ou takes a plain OU name, not a DN");
    }
    if let Some(path) = &a.ldif {
        return write_ldif(&a, path);
    }
    let (Some(url), Some(bind_dn), Some(password)) = (&a.url, &a.bind_dn, &a.password) else {
        bail!("--url, --bind-dn and --password (or the DIRSYNC_TEST_LDAP_* variables) are needed to load over LDAP");
    };
    let mut cfg = LdapConfig::new(url, bind_dn, Secret::new(password.clone()));
    cfg.ca_file = a.ca_file.clone();
    let mut src = LdapSource::connect(cfg)
        .await
        .context("connecting to the directory")?;
    let ou_dn = format!("OU={},{}", ldap3::dn_escape(a.ou.as_str()), src.base_dn());
    let ou = vec![(
        "objectClass".to_string(),
        vec!["organizationalUnit".to_string()],
    )];
    let mut first = vec![(ou_dn.clone(), ou)];
    let svc_dn = a
        .service_group
        .as_ref()
        .map(|n| format!("CN={},{ou_dn}", ldap3::dn_escape(n.as_str())));
    // The service group is added last, whole with its members (see
    // `load_fixture`); a members-only load needs it to exist already.
    if let (true, Some(dn)) = (a.members_only, &svc_dn) {
        first.push(dirsync_directory::fixture::service_group_entry(dn));
    }
    for e in first {
        // Already there is fine: the fixture can be loaded in several batches.
        if let Err(err) = src.add_entries(vec![e], 1, 1).await {
            if !err.to_string().contains("entryAlreadyExists")
                && !err.to_string().contains("code 68")
            {
                return Err(err).context("creating the OU and service group");
            }
        }
    }
    let spec = spec_of(&a, &ou_dn, svc_dn.clone());
    let loaded = src
        .load_fixture(&spec)
        .await
        .context("loading the fixture")?;
    let n = loaded.user_dns.len() + loaded.contact_dns.len() + loaded.group_dns.len();
    let secs = loaded.elapsed.as_secs_f64();
    if a.members_only {
        println!(
            "added the memberships of {} users, {} contacts and {} groups in {ou_dn} in {secs:.1} s{}",
            loaded.user_dns.len(),
            loaded.contact_dns.len(),
            loaded.group_dns.len(),
            svc_dn.map(|d| format!("; service group {d}")).unwrap_or_default()
        );
        src.unbind().await;
        return Ok(());
    }
    println!(
        "loaded {} users, {} contacts, {} groups into {ou_dn} in {secs:.1} s ({:.0} objects/s, {} connections x {} in flight){}",
        loaded.user_dns.len(),
        loaded.contact_dns.len(),
        loaded.group_dns.len(),
        n as f64 / secs.max(0.001),
        a.connections,
        a.in_flight,
        svc_dn.map(|d| format!("; service group {d}")).unwrap_or_default()
    );
    src.unbind().await;
    Ok(())
}

/// The fixture the arguments describe, in `ou_dn`.
fn spec_of(a: &Args, ou_dn: &str, svc_dn: Option<String>) -> FixtureSpec {
    let mut spec = FixtureSpec::new(ou_dn, a.tag.as_deref().unwrap_or(&a.ou), a.users);
    spec.contacts = a.contacts;
    spec.groups = a.groups;
    spec.domain = a.domain.clone();
    spec.service_group_dn = svc_dn;
    spec.connections = a.connections;
    spec.in_flight = a.in_flight;
    spec.members_only = a.members_only;
    spec
}

/// `--ldif`: the whole fixture, OU included, as LDIF add records.
fn write_ldif(a: &Args, path: &std::path::Path) -> Result<()> {
    let Some(base) = &a.base_dn else {
        bail!("--ldif needs the base DN: pass --base-dn or set DIRSYNC_TEST_LDAP_BASE_DN");
    };
    let ou_dn = format!("OU={},{base}", ldap3::dn_escape(a.ou.as_str()));
    let svc_dn = a
        .service_group
        .as_ref()
        .map(|n| format!("CN={},{ou_dn}", ldap3::dn_escape(n.as_str())));
    let spec = spec_of(a, &ou_dn, svc_dn);
    let file = std::fs::File::create(path)
        .with_context(|| format!("creating the LDIF file {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let n = dirsync_directory::fixture::write_fixture_ldif(&spec, true, &mut out)
        .and_then(|n| std::io::Write::flush(&mut out).map(|()| n))
        .with_context(|| format!("writing the LDIF file {}", path.display()))?;
    println!(
        "wrote {n} records ({} users, {} contacts, {} groups{}, the OU {ou_dn}) to {}",
        a.users,
        a.contacts,
        a.groups,
        if a.service_group.is_some() {
            " and the service group"
        } else {
            ""
        },
        path.display()
    );
    Ok(())
}
