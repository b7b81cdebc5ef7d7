//! Fixture: the scratch Samba AD domain controller started by `scripts/samba-dc`.
//!
//! Tests share one DC, so each test works inside its own uniquely named OU
//! ([`TestOu`]) holding its own service groups; nothing one test creates is in
//! another test's scope. Objects are created with the OpenLDAP command-line
//! tools (`ldapmodify`, from `ldap-utils`), which keeps the fixture
//! independent of the LDAP client under test.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How to reach the test DC (the variables written to `.scratch/samba.env`).
#[derive(Debug, Clone)]
pub struct SambaDc {
    /// `ldaps://127.0.0.1:636`
    pub url: String,
    /// `ldap://127.0.0.1:389`, for StartTLS.
    pub starttls_url: String,
    pub bind_dn: String,
    pub password: String,
    /// The domain's naming context, e.g. `DC=dirsync,DC=test`.
    pub base_dn: String,
    /// The PEM CA that signed the DC's certificate.
    pub ca_file: String,
    /// The DC's scratch directory (for `samba-tool -H .../private/sam.ldb`), if known.
    pub samba_dir: Option<String>,
}

/// The DC's coordinates, or `None` outside CI when `scripts/samba-dc` has not run.
/// Panics under `CI=true` when missing.
pub fn dc() -> Option<SambaDc> {
    let url = crate::service_env("DIRSYNC_TEST_LDAP_URL", "Samba AD DC")?;
    let get = |v: &str| crate::service_env(v, "Samba AD DC");
    Some(SambaDc {
        url,
        starttls_url: get("DIRSYNC_TEST_LDAP_STARTTLS_URL")?,
        bind_dn: get("DIRSYNC_TEST_LDAP_BIND_DN")?,
        password: get("DIRSYNC_TEST_LDAP_PASSWORD")?,
        base_dn: get("DIRSYNC_TEST_LDAP_BASE_DN")?,
        ca_file: get("DIRSYNC_TEST_LDAP_CA_FILE")?,
        samba_dir: std::env::var("DIRSYNC_TEST_SAMBA_DIR")
            .ok()
            .filter(|s| !s.is_empty()),
    })
}

/// A short name unique to this process and call, usable in CNs and sAMAccountNames
/// (at most 16 characters, so `sAMAccountName`s built from it stay under 20).
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let p: String = prefix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(4)
        .collect();
    format!(
        "{p}{:x}{:x}{n:x}",
        std::process::id() & 0xfff,
        (t & 0xff_ffff) as u32
    )
}

impl SambaDc {
    /// Applies LDIF change records (`changetype: add/modify/modrdn/delete`) with
    /// `ldapmodify` over LDAPS, verifying the DC's certificate with the CA.
    pub fn ldapmodify(&self, ldif: &str) -> anyhow::Result<()> {
        let mut child = Command::new("ldapmodify")
            .args([
                "-x",
                "-H",
                &self.url,
                "-D",
                &self.bind_dn,
                "-w",
                &self.password,
            ])
            .env("LDAPTLS_CACERT", &self.ca_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot run ldapmodify (install ldap-utils): {e}"))?;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(ldif.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            anyhow::bail!(
                "ldapmodify failed: {}\n--- input ---\n{ldif}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Runs `ldapsearch -LLL` over LDAPS and returns its LDIF output.
    pub fn ldapsearch(
        &self,
        base: &str,
        scope: &str,
        filter: &str,
        attrs: &[&str],
    ) -> anyhow::Result<String> {
        let out = Command::new("ldapsearch")
            .args([
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-x",
                "-H",
                &self.url,
                "-D",
                &self.bind_dn,
                "-w",
                &self.password,
            ])
            .args(["-b", base, "-s", scope, "-E", "pr=1000/noprompt", filter])
            .args(attrs)
            .env("LDAPTLS_CACERT", &self.ca_file)
            .output()
            .map_err(|e| anyhow::anyhow!("cannot run ldapsearch (install ldap-utils): {e}"))?;
        if !out.status.success() {
            anyhow::bail!(
                "ldapsearch failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Creates a uniquely named OU for one test, with an Exchange and a
    /// Rackspace Email service group inside it.
    pub fn test_ou(&self, prefix: &str) -> anyhow::Result<TestOu> {
        let name = unique_name(prefix);
        let ou_dn = format!("OU={name},{}", self.base_dn);
        let exchange_name = format!("Exchange {name}");
        let rsemail_name = format!("RSEmail {name}");
        let exchange_dn = format!("CN={exchange_name},{ou_dn}");
        let rsemail_dn = format!("CN={rsemail_name},{ou_dn}");
        self.ldapmodify(&format!(
            "dn: {ou_dn}\nchangetype: add\nobjectClass: organizationalUnit\n\n\
             dn: {exchange_dn}\nchangetype: add\nobjectClass: group\nsAMAccountName: ex{name}\n\n\
             dn: {rsemail_dn}\nchangetype: add\nobjectClass: group\nsAMAccountName: rs{name}\n"
        ))?;
        Ok(TestOu {
            dc: self.clone(),
            name,
            _cleanup: std::sync::Arc::new(OuCleanup {
                dc: self.clone(),
                dn: ou_dn.clone(),
            }),
            dn: ou_dn,
            exchange_dn,
            exchange_name,
            rsemail_dn,
            rsemail_name,
        })
    }
}

/// Deletes a test's OU with everything in it once the last copy of its
/// [`TestOu`] is dropped (also when the test fails), so the shared DC does
/// not fill up with the users tests load. `DIRSYNC_TEST_KEEP_OU=1` keeps
/// them, to look at after a failure.
#[derive(Debug)]
struct OuCleanup {
    dc: SambaDc,
    dn: String,
}

impl Drop for OuCleanup {
    fn drop(&mut self) {
        if std::env::var("DIRSYNC_TEST_KEEP_OU").as_deref() == Ok("1") {
            return;
        }
        // `ldapdelete -r` deletes the subtree, leaves first.
        let out = Command::new("ldapdelete")
            .args([
                "-x",
                "-r",
                "-H",
                &self.dc.url,
                "-D",
                &self.dc.bind_dn,
                "-w",
                &self.dc.password,
                &self.dn,
            ])
            .env("LDAPTLS_CACERT", &self.dc.ca_file)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: could not delete the test OU {}: {}",
                self.dn,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("warning: could not run ldapdelete for {}: {e}", self.dn),
        }
    }
}

/// One test's private OU and service groups on the shared DC.
///
/// The OU is unique, so it never disturbs another test, and it is deleted
/// with its contents when the last copy of this value is dropped.
#[derive(Debug, Clone)]
pub struct TestOu {
    pub dc: SambaDc,
    /// The unique short name (also the OU's name).
    pub name: String,
    pub dn: String,
    pub exchange_dn: String,
    pub exchange_name: String,
    pub rsemail_dn: String,
    pub rsemail_name: String,
    _cleanup: std::sync::Arc<OuCleanup>,
}

impl TestOu {
    /// Adds a user `CN={cn}` in this OU with a mail address and the given
    /// extra LDIF attribute lines (enabled unless they set
    /// `userAccountControl`); returns its DN.
    pub fn add_user(&self, cn: &str, extra: &str) -> anyhow::Result<String> {
        let dn = format!("CN={cn},{}", self.dn);
        let sam: String = cn
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(20)
            .collect();
        let mut ldif = format!("dn: {dn}\nchangetype: add\nobjectClass: user\nsAMAccountName: {sam}\nmail: {sam}@example.com\n");
        if !extra.to_ascii_lowercase().contains("useraccountcontrol:") {
            // Enabled, no password required (fixture users never log on).
            ldif.push_str("userAccountControl: 544\n");
        }
        ldif.push_str(extra.trim_end());
        ldif.push('\n');
        self.dc.ldapmodify(&ldif)?;
        Ok(dn)
    }

    /// Adds `member` values to a group.
    pub fn add_members(&self, group_dn: &str, members: &[&str]) -> anyhow::Result<()> {
        let mut ldif = format!("dn: {group_dn}\nchangetype: modify\nadd: member\n");
        for m in members {
            ldif.push_str(&format!("member: {m}\n"));
        }
        self.dc.ldapmodify(&ldif)
    }

    /// Removes `member` values from a group.
    pub fn remove_members(&self, group_dn: &str, members: &[&str]) -> anyhow::Result<()> {
        let mut ldif = format!("dn: {group_dn}\nchangetype: modify\ndelete: member\n");
        for m in members {
            ldif.push_str(&format!("member: {m}\n"));
        }
        self.dc.ldapmodify(&ldif)
    }
}
