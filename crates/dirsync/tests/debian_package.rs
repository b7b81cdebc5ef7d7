//! The Debian package (issue 16): `scripts/build-deb` packages this build's
//! binary; the test installs it with dpkg on this machine, checks the
//! system user, the directory modes and that nothing was started, runs
//! `dirsync check` as the `dirsync` user against the test services (the
//! Samba DC over LDAPS and a real officed), then purges the package and
//! checks that it left nothing behind.
//!
//! It needs root and dpkg (CI has both; `scripts/test` runs as root).
//! Under `CI=true` their absence fails the test.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use testkit::officed::{Officed, OfficedOptions};

fn out(o: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn can_install() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let dpkg = Command::new("dpkg").arg("--version").output().is_ok();
    if root && dpkg {
        return true;
    }
    if testkit::in_ci() {
        panic!("the Debian package test needs root and dpkg under CI=true (root: {root}, dpkg: {dpkg})");
    }
    eprintln!("skipping: installing a Debian package needs root and dpkg");
    false
}

/// dpkg, retried while another installer holds the dpkg lock (the test
/// machine is shared).
fn dpkg(args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let o = Command::new("dpkg").args(args).output().expect("run dpkg");
        let busy = String::from_utf8_lossy(&o.stderr).contains("lock");
        if !busy || Instant::now() > deadline {
            return o;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Purges the package however the test ends.
struct Installed;
impl Drop for Installed {
    fn drop(&mut self) {
        let _ = dpkg(&["--purge", "dirsync"]);
    }
}

fn mode_owner(p: &str) -> (u32, String) {
    let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let owner = Command::new("stat")
        .args(["-c", "%U:%G", p])
        .output()
        .unwrap();
    (
        m.permissions().mode() & 0o7777,
        String::from_utf8_lossy(&owner.stdout).trim().to_string(),
    )
}

#[test]
fn deb_installs_checks_and_purges_cleanly() {
    if !can_install() {
        return;
    }
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let build = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/build-deb");
    let r = Command::new("bash")
        .args([
            script,
            "--binary",
            env!("CARGO_BIN_EXE_dirsync"),
            "--out",
            build.path().to_str().unwrap(),
            "--fast",
        ])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", out(&r));
    let deb = String::from_utf8_lossy(&r.stdout).trim().to_string();
    let name = Path::new(&deb)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        name.starts_with("dirsync_") && name.ends_with(".deb"),
        "{deb}"
    );
    let contents = Command::new("dpkg-deb")
        .args(["-c", &deb])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&contents.stdout);
    for want in [
        "./usr/bin/dirsync",
        "./lib/systemd/system/dirsync.service",
        "./usr/share/doc/dirsync/debian.md",
    ] {
        assert!(
            listing.contains(want),
            "{want} missing from the package:\n{listing}"
        );
    }

    let _ = dpkg(&["--purge", "dirsync"]);
    let guard = Installed;
    let r = dpkg(&["-i", &deb]);
    assert!(r.status.success(), "{}", out(&r));
    assert!(
        out(&r).contains("not configured, so its service is not started"),
        "{}",
        out(&r)
    );
    let unit = std::fs::read_to_string("/lib/systemd/system/dirsync.service").unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/dirsync --config /etc/dirsync/dirsync.toml"),
        "{unit}"
    );
    assert!(Command::new("getent")
        .args(["passwd", "dirsync"])
        .output()
        .unwrap()
        .status
        .success());
    assert_eq!(
        mode_owner("/etc/dirsync"),
        (0o750, "dirsync:dirsync".into())
    );
    assert_eq!(
        mode_owner("/var/lib/dirsync"),
        (0o750, "dirsync:dirsync".into())
    );
    let running = Command::new("pgrep")
        .args(["-u", "dirsync"])
        .output()
        .unwrap();
    assert!(
        !running.status.success(),
        "something runs as dirsync after install"
    );

    // Configure as docs/debian.md says, then check against the test services.
    let o = Officed::start(OfficedOptions::default()).expect("start officed");
    let ou = dc.test_ou("deb").expect("test OU");
    std::fs::copy(&dc.ca_file, "/etc/dirsync/ca.pem").unwrap();
    std::fs::write(
        "/etc/dirsync/dirsync.toml",
        format!(
            "[directory]\nurl = \"{}\"\nbind_dn = \"{}\"\nbase_dn = \"{}\"\nca_file = \"ca.pem\"\nexchange_group = \"{}\"\n\
[api]\nurl = \"{}\"\nuser_key = \"{}\"\naccount = \"{}\"\n[state]\npath = \"/var/lib/dirsync/state.db\"\n",
            dc.url, dc.bind_dn, ou.dn, ou.exchange_dn, o.base_url, o.user_key, o.account_number
        ),
    )
    .unwrap();
    let secrets = format!(
        "ldap_bind_password = {}\napi_secret_key = {}\n",
        toml::Value::String(dc.password.clone()),
        toml::Value::String(o.secret.clone())
    );
    std::fs::write("/etc/dirsync/secrets.toml", secrets).unwrap();
    std::fs::set_permissions(
        "/etc/dirsync/secrets.toml",
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let r = Command::new("chown")
        .args(["-R", "dirsync:dirsync", "/etc/dirsync"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", out(&r));
    let check = || {
        Command::new("runuser")
            .args([
                "-u",
                "dirsync",
                "--",
                "/usr/bin/dirsync",
                "--config",
                "/etc/dirsync/dirsync.toml",
                "check",
            ])
            .env_remove("DIRSYNC_CONFIG")
            .env_remove("DIRSYNC_LDAP_BIND_PASSWORD")
            .env_remove("DIRSYNC_API_SECRET_KEY")
            .current_dir("/")
            .output()
            .unwrap()
    };
    let r = check();
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    assert!(
        out(&r).contains(&format!("bound to {}", dc.url)),
        "{}",
        out(&r)
    );
    assert!(!out(&r).contains(&dc.password));
    assert_eq!(
        std::fs::metadata("/var/lib/dirsync/state.db")
            .unwrap()
            .uid(),
        uid("dirsync")
    );

    // A secrets file the group can read is refused, with the fix.
    std::fs::set_permissions(
        "/etc/dirsync/secrets.toml",
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let r = check();
    assert_eq!(r.status.code(), Some(2), "{}", out(&r));
    assert!(
        out(&r).contains("run `chmod 600 /etc/dirsync/secrets.toml`"),
        "{}",
        out(&r)
    );

    // Purge: binary, unit, configuration and state are gone.
    drop(guard);
    for gone in [
        "/usr/bin/dirsync",
        "/lib/systemd/system/dirsync.service",
        "/etc/dirsync",
        "/var/lib/dirsync",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} left after purge");
    }
    let r = Command::new("dpkg")
        .args(["-s", "dirsync"])
        .output()
        .unwrap();
    assert!(
        !r.status.success(),
        "dirsync still known to dpkg:\n{}",
        out(&r)
    );
}

fn uid(user: &str) -> u32 {
    let o = Command::new("id").args(["-u", user]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}
