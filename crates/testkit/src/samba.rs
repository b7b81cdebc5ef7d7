//! Fixture: the scratch Samba AD domain controller started by `scripts/samba-dc`.
//!
//! Tests share one DC, so each test works inside its own uniquely named OU
//! ([`TestOu`]) holding its own service groups; nothing one test creates is in
//! another test's scope. Objects are created with the OpenLDAP command-line
//! tools (`ldapmodify`, from `ldap-utils`), which keeps the fixture
//! independent of the LDAP client under test.
//!
//! A test's OU is deleted when the test ends, also when it fails; an OU left
//! behind by a test process that was killed (no destructor runs then) is
//! deleted by the first [`SambaDc::test_ou`] of a later test process, once it
//! is older than [`STALE_TEST_OU`].

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The start of the `description` every test OU carries, followed by its
/// creation time in UNIX seconds: how the sweep of stale test OUs tells a
/// test's OU from anything else in the domain (benchmark fixtures, the
/// domain's own OUs), which it never touches.
pub const TEST_OU_MARK: &str = "dirsync test OU, created ";

/// Age past which a test OU is taken as left over by a killed test process
/// and deleted by the next process's first [`SambaDc::test_ou`]: no test runs
/// this long, so a running test's OU is never swept.
pub const STALE_TEST_OU: Duration = Duration::from_secs(3 * 3600);

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
    /// An OpenLDAP client tool (`ldapmodify`, `ldapsearch`, `ldapdelete`)
    /// bound to this DC as its administrator over LDAPS, verifying the DC's
    /// certificate with its CA: the arguments every call shares.
    fn ldap_tool(&self, tool: &str) -> Command {
        let mut cmd = Command::new(tool);
        cmd.args(["-x", "-H", &self.url, "-D", &self.bind_dn])
            .args(["-w", &self.password])
            .env("LDAPTLS_CACERT", &self.ca_file);
        cmd
    }

    /// Applies LDIF change records (`changetype: add/modify/modrdn/delete`) with
    /// `ldapmodify` over LDAPS, verifying the DC's certificate with the CA.
    pub fn ldapmodify(&self, ldif: &str) -> anyhow::Result<()> {
        let mut child = self
            .ldap_tool("ldapmodify")
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
        let out = self
            .ldap_tool("ldapsearch")
            .args(["-LLL", "-o", "ldif-wrap=no"])
            .args(["-b", base, "-s", scope, "-E", "pr=1000/noprompt", filter])
            .args(attrs)
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
    /// Rackspace Email service group inside it. The first call in a process
    /// first deletes the test OUs that killed test processes left behind
    /// ([`SambaDc::sweep_stale_test_ous`]), unless `DIRSYNC_TEST_KEEP_OU=1`.
    pub fn test_ou(&self, prefix: &str) -> anyhow::Result<TestOu> {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| {
            if keep_ous() {
                return;
            }
            if let Err(e) = self.sweep_stale_test_ous(STALE_TEST_OU) {
                eprintln!("warning: could not sweep stale test OUs: {e:#}");
            }
        });
        let name = unique_name(prefix);
        let ou_dn = format!("OU={name},{}", self.base_dn);
        let exchange_name = format!("Exchange {name}");
        let rsemail_name = format!("RSEmail {name}");
        let exchange_dn = format!("CN={exchange_name},{ou_dn}");
        let rsemail_dn = format!("CN={rsemail_name},{ou_dn}");
        self.ldapmodify(&format!(
            "dn: {ou_dn}\nchangetype: add\nobjectClass: organizationalUnit\n\
             description: {TEST_OU_MARK}{}\n\n\
             dn: {exchange_dn}\nchangetype: add\nobjectClass: group\nsAMAccountName: ex{name}\n\n\
             dn: {rsemail_dn}\nchangetype: add\nobjectClass: group\nsAMAccountName: rs{name}\n",
            unix_now()
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

    /// Deletes the test OUs (marked with [`TEST_OU_MARK`], directly under the
    /// base DN) created more than `older_than` ago, with everything in them:
    /// what test processes that were killed before their [`TestOu`] was
    /// dropped left on the shared DC. Returns the DNs it deleted; an OU that
    /// another process deleted first is not an error.
    pub fn sweep_stale_test_ous(&self, older_than: Duration) -> anyhow::Result<Vec<String>> {
        let filter = format!("(&(objectClass=organizationalUnit)(description={TEST_OU_MARK}*))");
        let found = self.ldapsearch(&self.base_dn, "one", &filter, &["description"])?;
        let stale = stale_test_ous(&found, unix_now(), older_than.as_secs());
        let mut deleted = Vec::new();
        for dn in stale {
            match self.delete_subtree(&dn) {
                Ok(()) => {
                    eprintln!("deleted the stale test OU {dn} (left by a killed test process)");
                    deleted.push(dn);
                }
                Err(e) if self.exists(&dn)? => return Err(e),
                Err(_) => {} // deleted by another test process meanwhile
            }
        }
        Ok(deleted)
    }

    /// Deletes `dn` and everything under it (`ldapdelete -r`, leaves first).
    pub fn delete_subtree(&self, dn: &str) -> anyhow::Result<()> {
        let out = self
            .ldap_tool("ldapdelete")
            .args(["-r", dn])
            .output()
            .map_err(|e| anyhow::anyhow!("cannot run ldapdelete (install ldap-utils): {e}"))?;
        if !out.status.success() {
            anyhow::bail!(
                "ldapdelete -r {dn} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Whether an entry `dn` exists.
    pub fn exists(&self, dn: &str) -> anyhow::Result<bool> {
        let out = self
            .ldap_tool("ldapsearch")
            .args(["-LLL", "-s", "base", "-b", dn, "(objectClass=*)", "1.1"])
            .output()
            .map_err(|e| anyhow::anyhow!("cannot run ldapsearch (install ldap-utils): {e}"))?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(32) => Ok(false), // noSuchObject
            _ => anyhow::bail!(
                "ldapsearch of {dn} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
    }
}

fn keep_ous() -> bool {
    std::env::var("DIRSYNC_TEST_KEEP_OU").as_deref() == Ok("1")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The DNs, in `ldapsearch -LLL -o ldif-wrap=no` output of OUs with their
/// `description`, of the test OUs created at least `older_than` seconds
/// before `now` (UNIX seconds). An entry without the mark, with a creation
/// time that does not parse or lies in the future, or with a base64 DN (test
/// OU names are plain ASCII), is not a stale test OU.
fn stale_test_ous(ldif: &str, now: u64, older_than: u64) -> Vec<String> {
    let mut out = Vec::new();
    for entry in ldif.split("\n\n") {
        let mut dn = None;
        let mut created = None;
        for line in entry.lines() {
            if let Some(v) = line.strip_prefix("dn: ") {
                dn = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("description: ") {
                created = v
                    .strip_prefix(TEST_OU_MARK)
                    .and_then(|t| t.trim().parse::<u64>().ok());
            }
        }
        if let (Some(dn), Some(created)) = (dn, created) {
            if created <= now && now - created >= older_than {
                out.push(dn.to_string());
            }
        }
    }
    out
}

/// Deletes a test's OU with everything in it once the last copy of its
/// [`TestOu`] is dropped (also when the test fails), so the shared DC does
/// not fill up with the users tests load. `DIRSYNC_TEST_KEEP_OU=1` keeps
/// them, to look at after a failure (and stops the sweep of stale ones).
#[derive(Debug)]
struct OuCleanup {
    dc: SambaDc,
    dn: String,
}

impl Drop for OuCleanup {
    fn drop(&mut self) {
        if keep_ous() {
            return;
        }
        if let Err(e) = self.dc.delete_subtree(&self.dn) {
            eprintln!(
                "warning: could not delete the test OU {} (a later test process deletes it \
                 after {} h): {e:#}",
                self.dn,
                STALE_TEST_OU.as_secs() / 3600
            );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, description: Option<&str>) -> String {
        let d = description
            .map(|d| format!("description: {d}\n"))
            .unwrap_or_default();
        format!("dn: {dn}\n{d}\n")
    }

    #[test]
    fn stale_test_ous_are_the_marked_ones_old_enough() {
        let now = 1_000_000;
        let hour = 3600;
        // (entry, stale after 3 hours?)
        let cases = [
            (
                entry(
                    "OU=a,DC=x",
                    Some(&format!("{TEST_OU_MARK}{}", now - 4 * hour)),
                ),
                true,
            ),
            (
                entry(
                    "OU=b,DC=x",
                    Some(&format!("{TEST_OU_MARK}{}", now - 3 * hour)),
                ),
                true,
            ),
            (
                entry(
                    "OU=c,DC=x",
                    Some(&format!("{TEST_OU_MARK}{}", now - 3 * hour + 1)),
                ),
                false,
            ),
            (
                entry("OU=d,DC=x", Some(&format!("{TEST_OU_MARK}{}", now + hour))),
                false,
            ),
            (
                entry("OU=e,DC=x", Some(&format!("{TEST_OU_MARK}soon"))),
                false,
            ),
            (entry("OU=f,DC=x", Some("a benchmark fixture")), false),
            (entry("OU=g,DC=x", None), false),
            (
                format!("dn:: T1U9aCxEQz14\ndescription: {TEST_OU_MARK}1\n\n"),
                false,
            ),
        ];
        for (text, stale) in &cases {
            let got = stale_test_ous(text, now, 3 * hour);
            assert_eq!(!got.is_empty(), *stale, "{text}");
        }
        let all: String = cases.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            stale_test_ous(&all, now, 3 * hour),
            ["OU=a,DC=x", "OU=b,DC=x"]
        );
    }

    /// On the shared DC: the sweep deletes a marked OU past the age with its
    /// contents, and leaves a marked OU younger than that and an unmarked one.
    #[test]
    fn sweep_deletes_only_stale_test_ous() {
        let Some(dc) = dc() else {
            return;
        };
        let now = unix_now();
        let ou = |name: &str, mark: Option<u64>| {
            let dn = format!("OU={name},{}", dc.base_dn);
            let d = mark
                .map(|t| format!("description: {TEST_OU_MARK}{t}\n"))
                .unwrap_or_default();
            dc.ldapmodify(&format!(
                "dn: {dn}\nchangetype: add\nobjectClass: organizationalUnit\n{d}\n\
                 dn: CN=g{name},{dn}\nchangetype: add\nobjectClass: group\nsAMAccountName: g{name}\n"
            ))
            .unwrap();
            dn
        };
        let old = ou(
            &unique_name("swo"),
            Some(now - STALE_TEST_OU.as_secs() - 60),
        );
        let young = ou(&unique_name("swy"), Some(now - 60));
        let unmarked = ou(&unique_name("swu"), None);
        let swept = dc.sweep_stale_test_ous(STALE_TEST_OU);
        let young_kept = dc.exists(&young);
        let unmarked_kept = dc.exists(&unmarked);
        for dn in [&young, &unmarked] {
            dc.delete_subtree(dn).unwrap();
        }
        swept.unwrap();
        // Another test process's sweep may have deleted it first: gone either way.
        assert!(!dc.exists(&old).unwrap(), "{old} was not swept");
        assert!(young_kept.unwrap(), "{young} was swept");
        assert!(unmarked_kept.unwrap(), "{unmarked} was swept");
    }
}
