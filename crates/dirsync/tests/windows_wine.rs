//! The Windows build runs (issue 16): the cross-compiled `officed.exe` and
//! `dirsync.exe` under Wine, against the real Linux services.
//!
//! `scripts/windows-build` (run by `scripts/test`) cross-compiles both
//! programs for x86_64-pc-windows-gnu, builds the test-only
//! `bcryptprimitives.dll` (Wine 8 lacks `ProcessPrng`, which Rust's standard
//! library takes its randomness from) beside them, prepares a Wine prefix,
//! and exports `DIRSYNC_TEST_WINDOWS_BIN` and `WINEPREFIX`. Under `CI=true`
//! a missing build fails these tests.
//!
//! Every path handed to the Windows programs is relative to their working
//! directory (Wine maps it to `Z:\...`), as an administrator's would be.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::officed::{Officed, OfficedOptions};

fn windows_bin() -> Option<PathBuf> {
    testkit::service_env("DIRSYNC_TEST_WINDOWS_BIN", "the Windows build under Wine")
        .map(PathBuf::from)
}

/// `wine PROGRAM.exe` with the prefix from scripts/windows-build and no
/// DIRSYNC_ settings from the caller's environment.
fn wine(bin: &Path, exe: &str, dir: &Path) -> Command {
    let mut c = Command::new(std::env::var("DIRSYNC_TEST_WINE").unwrap_or_else(|_| "wine".into()));
    c.arg(bin.join(exe))
        .current_dir(dir)
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("DIRSYNC_") && !k.starts_with("DIRSYNC_TEST") {
            c.env_remove(k);
        }
    }
    c
}

/// Runs a Wine command to completion with its output in files, not pipes:
/// the first Wine process of a prefix starts `wineserver`, which inherits
/// the standard handles and outlives the program, so reading a pipe to its
/// end would wait for the server too.
fn run(mut c: Command) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (o, e) = (dir.path().join("out"), dir.path().join("err"));
    let status = c
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .status()
        .expect("run wine");
    Output {
        status,
        stdout: std::fs::read(&o).unwrap(),
        stderr: std::fs::read(&e).unwrap(),
    }
}

/// `dirsync.exe ARGS` in `dir`, to completion.
fn dirsync_exe(bin: &Path, dir: &Path, args: &[&str]) -> Output {
    let mut c = wine(bin, "dirsync.exe", dir);
    c.args(args);
    run(c)
}

/// Kills a Wine program when a test ends, passed or not.
struct KillOnDrop(std::process::Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn out(o: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out(o)))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 GET with extra headers; returns (status, body).
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

#[test]
fn officed_exe_demo_answers_a_signed_request() {
    let Some(bin) = windows_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("demo.out");
    let child = wine(&bin, "officed.exe", dir.path())
        .args(["demo", "--port", &port.to_string()])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("demo.err")).unwrap())
        .spawn()
        .expect("start wine");
    let mut guard = KillOnDrop(child);
    let child = &mut guard.0;
    // The demo prints a ready-to-run curl command with a fresh signature.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (printed, curl) = loop {
        let printed = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(l) = printed
            .lines()
            .find(|l| l.trim_start().starts_with("curl -s") && !l.contains(" -d "))
        {
            break (printed.clone(), l.to_string());
        }
        if let Ok(Some(st)) = child.try_wait() {
            let err = std::fs::read_to_string(dir.path().join("demo.err")).unwrap_or_default();
            panic!("officed.exe demo ended early ({st}):\n{printed}\n--- stderr ---\n{err}");
        }
        assert!(
            Instant::now() < deadline,
            "no curl line from officed.exe demo:\n{printed}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(printed.contains("officed-demo-"), "{printed}");
    let sig = curl
        .split("X-Api-Signature: ")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("signature in the curl line");
    let url = curl.split_whitespace().last().unwrap();
    assert_eq!(
        url,
        format!("http://127.0.0.1:{port}/v1/customers/me/domains")
    );
    let (status, body) = get(
        url,
        &[("User-Agent", "officed-demo"), ("X-Api-Signature", sig)],
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    let names: Vec<&str> = v["domains"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, ["example.com", "example.org"], "{body}");
    // Unsigned: refused, as documented (403 "Authentication failed.").
    let (status, _) = get(url, &[("User-Agent", "officed-demo")]);
    assert_eq!(status, 403);
}

fn sample() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/demo/sample.ldif")).unwrap()
}

/// Writes the secrets file as a Linux administrator would, then sets its mode.
fn secrets_file(dir: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("secrets.toml");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

const ENGINE_FAST: &str = "[engine]\nconcurrency = 8\n[engine.rate_limit]\ngets_per_min = 100000\nwrites_per_min = 100000\n[engine.retry]\nmax_attempts = 3\nbase_delay_ms = 50\n";

#[test]
fn dirsync_exe_syncs_an_ldif_file_into_officed() {
    let Some(bin) = windows_bin() else { return };
    let o = Officed::start(OfficedOptions::default()).expect("start officed");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ad.ldif"), sample()).unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        format!(
            "[directory]\nsource = \"ldif\"\nldif_path = \"ad.ldif\"\nexchange_group = \"Exchange Users\"\nrsemail_group = \"Rackspace Email Users\"\n\
[api]\nurl = \"{}\"\nuser_key = \"{}\"\naccount = \"{}\"\n{ENGINE_FAST}",
            o.base_url, o.user_key, o.account_number
        ),
    )
    .unwrap();
    let secret = format!("api_secret_key = \"{}\"\n", o.secret);

    // A secrets file others can read is refused, with the Windows fix spelled out.
    secrets_file(dir.path(), &secret, 0o644);
    let r = dirsync_exe(&bin, dir.path(), &["sync"]);
    assert_eq!(r.status.code(), Some(2), "{}", out(&r));
    let t = out(&r);
    assert!(t.contains("secrets.toml can be read by"), "{t}");
    assert!(t.contains("icacls"), "{t}");
    assert!(!t.contains(&o.secret), "{t}");

    // A private file written by hand is accepted.
    secrets_file(dir.path(), &secret, 0o600);
    let r = dirsync_exe(&bin, dir.path(), &["check"]);
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    assert!(out(&r).contains("authenticated; account"), "{}", out(&r));

    // `dirsync.exe init` writes the config and the secrets file; the calls
    // that give the file its owner-only access list succeed. Wine does not
    // keep access lists: it folds them into Unix mode bits and builds the
    // list it reports back from those bits, so what Windows would store
    // cannot be read back here. The file is made 0600 again below, which
    // Wine reports as an owner-and-SYSTEM list.
    let conf = std::fs::read_to_string(dir.path().join("dirsync.toml")).unwrap();
    let mut c = wine(&bin, "dirsync.exe", dir.path());
    c.args([
        "init",
        "--force",
        "--non-interactive",
        "--source",
        "ldif",
        "--ldif",
        "ad.ldif",
        "--exchange-group",
        "Exchange Users",
        "--rsemail-group",
        "Rackspace Email Users",
        "--api-url",
        &o.base_url,
        "--api-user-key",
        &o.user_key,
        "--account",
        &o.account_number,
    ])
    .env("DIRSYNC_API_SECRET_KEY", &o.secret);
    let r = run(c);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    let written = std::fs::read_to_string(dir.path().join("secrets.toml")).unwrap();
    assert!(written.contains(&o.secret));
    assert_ne!(
        std::fs::read_to_string(dir.path().join("dirsync.toml")).unwrap(),
        conf
    );
    secrets_file(dir.path(), &written, 0o600);
    let mut conf = std::fs::read_to_string(dir.path().join("dirsync.toml")).unwrap();
    conf.push_str(ENGINE_FAST);
    std::fs::write(dir.path().join("dirsync.toml"), conf).unwrap();

    // The first sync creates the sample's objects, with its catalogued errors.
    let r = dirsync_exe(&bin, dir.path(), &["sync", "--json"]);
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    let v = json(&r);
    assert_eq!(v["status"], "object_errors", "{v}");
    assert!(v["counts"]["created"].as_u64().unwrap() >= 10, "{v}");
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"DS001") && codes.contains(&"DS004"),
        "{codes:?}"
    );
    assert!(dir.path().join("dirsync-state.db").exists());

    // The second run changes nothing new; the state store under Windows paths works.
    let r = dirsync_exe(&bin, dir.path(), &["sync"]);
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    assert!(out(&r).contains("0 created"), "{}", out(&r));
    let r = dirsync_exe(&bin, dir.path(), &["history", "--json"]);
    assert_eq!(json(&r).as_array().map(Vec::len), Some(2), "{}", out(&r));
}

#[test]
fn dirsync_exe_checks_the_samba_dc_over_ldaps() {
    let Some(bin) = windows_bin() else { return };
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    assert!(dc.url.starts_with("ldaps://"), "{}", dc.url);
    let ou = dc.test_ou("wine").expect("test OU");
    let alice = ou.add_user(&format!("A{}", ou.name), "").unwrap();
    ou.add_members(&ou.exchange_dn, &[&alice]).unwrap();
    let o = Officed::start(OfficedOptions::default()).expect("start officed");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&dc.ca_file, dir.path().join("ca.pem")).unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        format!(
            "[directory]\nurl = \"{}\"\nbind_dn = \"{}\"\nbase_dn = \"{}\"\nca_file = \"ca.pem\"\nexchange_group = \"{}\"\n\
[api]\nurl = \"{}\"\nuser_key = \"{}\"\naccount = \"{}\"\n{ENGINE_FAST}",
            dc.url, dc.bind_dn, ou.dn, ou.exchange_dn, o.base_url, o.user_key, o.account_number
        ),
    )
    .unwrap();
    secrets_file(
        dir.path(),
        &format!(
            "ldap_bind_password = {}\napi_secret_key = {}\n",
            toml_str(&dc.password),
            toml_str(&o.secret)
        ),
        0o600,
    );
    let r = dirsync_exe(&bin, dir.path(), &["check"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    let t = out(&r);
    assert!(t.contains(&format!("bound to {}", dc.url)), "{t}");
    assert!(t.contains("authenticated; account"), "{t}");
    assert!(!t.contains(&dc.password), "{t}");
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.into()).to_string()
}

#[test]
fn dirsync_exe_serve_stops_gracefully_on_ctrl_c() {
    let Some(bin) = windows_bin() else { return };
    let o = Officed::start(OfficedOptions::default()).expect("start officed");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("ad.ldif"), sample()).unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        format!(
            "[directory]\nsource = \"ldif\"\nldif_path = \"ad.ldif\"\nexchange_group = \"Exchange Users\"\n\
[api]\nurl = \"{}\"\nuser_key = \"{}\"\naccount = \"{}\"\n[ui]\nlisten = \"127.0.0.1:{port}\"\n{ENGINE_FAST}",
            o.base_url, o.user_key, o.account_number
        ),
    )
    .unwrap();
    secrets_file(
        dir.path(),
        &format!("api_secret_key = {}\n", toml_str(&o.secret)),
        0o600,
    );
    let err = dir.path().join("serve.err");
    let child = wine(&bin, "dirsync.exe", dir.path())
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("start wine");
    let mut guard = KillOnDrop(child);
    let child = &mut guard.0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let (status, body) = get(&format!("http://127.0.0.1:{port}/healthz"), &[]);
            if status == 200 && body.contains("\"last_run_id\":1") {
                break;
            }
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "dirsync.exe serve ended early ({st}):\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no first run from dirsync.exe serve:\n{}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Wine turns SIGINT into the console's Ctrl-C event.
    let r = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(r.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "dirsync.exe serve did not stop on Ctrl-C:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = std::fs::read_to_string(&err).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(log.contains("dirsync serve stopped"), "{log}");
}

/// The service's daily log, wherever this Wine puts `%ProgramData%`.
fn service_log() -> Option<PathBuf> {
    let prefix = PathBuf::from(std::env::var("WINEPREFIX").ok()?).join("drive_c");
    ["ProgramData", "users/Public"].iter().find_map(|d| {
        let logs = prefix.join(d).join("dirsync/logs");
        std::fs::read_dir(logs)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(".log"))
    })
}

fn healthz_run_id(port: u16) -> Option<u64> {
    TcpStream::connect(("127.0.0.1", port)).ok()?;
    let (status, body) = get(&format!("http://127.0.0.1:{port}/healthz"), &[]);
    if status != 200 {
        return None;
    }
    let json = body.get(body.find('{')?..=body.rfind('}')?)?;
    serde_json::from_str::<Value>(json).ok()?["last_run_id"].as_u64()
}

/// `dirsync service install|start|stop|uninstall` against Wine's Service
/// Control Manager: the service runs `serve`, takes control code 128 as a
/// manual sync, stops gracefully, logs to the daily file, and is removed.
#[test]
fn dirsync_exe_runs_as_a_windows_service() {
    let Some(bin) = windows_bin() else { return };
    let o = Officed::start(OfficedOptions::default()).expect("start officed");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("ad.ldif"), sample()).unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        format!(
            "[directory]\nsource = \"ldif\"\nldif_path = \"ad.ldif\"\nexchange_group = \"Exchange Users\"\n\
[api]\nurl = \"{}\"\nuser_key = \"{}\"\naccount = \"{}\"\n[ui]\nlisten = \"127.0.0.1:{port}\"\n{ENGINE_FAST}",
            o.base_url, o.user_key, o.account_number
        ),
    )
    .unwrap();
    secrets_file(
        dir.path(),
        &format!("api_secret_key = {}\n", toml_str(&o.secret)),
        0o600,
    );
    // A service left over from an interrupted run of this test.
    let _ = dirsync_exe(&bin, dir.path(), &["service", "uninstall"]);
    let r = dirsync_exe(
        &bin,
        dir.path(),
        &["--config", "dirsync.toml", "service", "install"],
    );
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    assert!(
        out(&r).contains("installed the service dirsync"),
        "{}",
        out(&r)
    );
    let r = dirsync_exe(&bin, dir.path(), &["service", "start"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));

    let wait_for_run = |id: u64| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while healthz_run_id(port).is_none_or(|r| r < id) {
            assert!(
                Instant::now() < deadline,
                "the service did not finish run {id}; log:\n{}",
                service_log()
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    wait_for_run(1);
    // Control code 128: a manual sync, the Windows side of SIGUSR1.
    let r = dirsync_exe(&bin, dir.path(), &["service", "sync-now"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    wait_for_run(2);

    let r = dirsync_exe(&bin, dir.path(), &["service", "stop"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    let r = dirsync_exe(&bin, dir.path(), &["service", "uninstall"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    assert!(healthz_run_id(port).is_none(), "the UI still answers");
    let log = std::fs::read_to_string(service_log().expect("the service's log file")).unwrap();
    for want in [
        "dirsync serve started",
        "manual sync requested",
        "shutdown requested",
        "dirsync serve stopped",
    ] {
        assert!(log.contains(want), "log lacks {want:?}:\n{log}");
    }
    assert!(!log.contains(&o.secret));
}
