//! The real binary: `init`, config layering and validation messages, exit code 2.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

fn dirsync(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dirsync"));
    c.current_dir(dir)
        .args(args)
        .env_remove("DIRSYNC_CONFIG")
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("DIRSYNC_") && !k.starts_with("DIRSYNC_TEST") {
            c.env_remove(k);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run dirsync")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn init_from_flags_writes_config_and_private_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let o = dirsync(
        dir.path(),
        &[
            "--config",
            "conf/dirsync.toml",
            "init",
            "--non-interactive",
            "--ldap-url",
            "ldaps://dc1.example.com",
            "--bind-dn",
            "CN=svc,DC=example,DC=com",
            "--base-dn",
            "DC=example,DC=com",
            "--exchange-group",
            "Exchange Users",
            "--api-url",
            "https://api.example.com",
            "--api-user-key",
            "uk",
            "--account",
            "100001",
        ],
        &[
            ("DIRSYNC_LDAP_BIND_PASSWORD", "bind-pw-123"),
            ("DIRSYNC_API_SECRET_KEY", "api-secret-456"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let conf = std::fs::read_to_string(dir.path().join("conf/dirsync.toml")).unwrap();
    assert!(conf.contains("url = \"ldaps://dc1.example.com\""), "{conf}");
    assert!(
        !conf.contains("bind-pw-123") && !conf.contains("api-secret-456"),
        "secrets leaked into the config"
    );
    let sp = dir.path().join("conf/secrets.toml");
    let mode = std::fs::metadata(&sp).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(std::fs::read_to_string(&sp)
        .unwrap()
        .contains("bind-pw-123"));

    // A second init refuses to overwrite.
    let o = dirsync(
        dir.path(),
        &["--config", "conf/dirsync.toml", "init", "--non-interactive"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("already exists; pass --force"),
        "{}",
        text(&o)
    );

    // The written config validates as far as it can without a server: `check --json` reports no config problem
    // (it then fails to connect, which is exit 2 as well, but not a config problem).
}

#[test]
fn missing_config_is_exit_2_with_instructions() {
    let dir = tempfile::tempdir().unwrap();
    let o = dirsync(dir.path(), &["sync"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no config file at dirsync.toml; create one with `dirsync init`"),
        "{}",
        text(&o)
    );
    let o = dirsync(dir.path(), &["--config", "nope.toml", "check"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("the config file nope.toml does not exist"),
        "{}",
        text(&o)
    );
}

#[test]
fn validation_lists_every_problem_with_key_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        "[directory]\nurl = \"ldapi:///x\"\n[api]\nurl = \"http://api.example.com\"\n",
    )
    .unwrap();
    let o = dirsync(dir.path(), &["plan"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    for want in [
        "the configuration is not valid:",
        "directory.url \"ldapi:///x\" is not an LDAP URL with a host",
        "directory.bind_dn is not set; set it in dirsync.toml",
        "DIRSYNC_DIRECTORY_BIND_DN",
        "the LDAP bind password is not set; put ldap_bind_password",
        "api.url http://api.example.com must use https://",
        "the API secret key is not set",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // check --json reports the same problems as data.
    let o = dirsync(dir.path(), &["check", "--json"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["config"]["ok"], false);
    assert!(v["config"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["key"] == "directory.bind_dn"));
}

#[test]
fn unknown_keys_bad_toml_and_open_secrets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        "[directory]\nurll = \"x\"\n",
    )
    .unwrap();
    let o = dirsync(dir.path(), &["history"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown key `urll`"), "{}", text(&o));

    std::fs::write(dir.path().join("dirsync.toml"), "[directory\n").unwrap();
    let o = dirsync(dir.path(), &["history"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("dirsync.toml is not valid TOML"),
        "{}",
        text(&o)
    );

    std::fs::write(dir.path().join("dirsync.toml"), "").unwrap();
    let sp = dir.path().join("secrets.toml");
    std::fs::write(&sp, "api_secret_key = \"x\"\n").unwrap();
    std::fs::set_permissions(&sp, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = dirsync(dir.path(), &["history"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("can be read by other users (mode 0644); run `chmod 600"),
        "{}",
        text(&o)
    );

    // An unquoted number: the error names the key and line, never the value.
    for secrets in [
        "api_secret_key = 98765432101234\n",
        "api_secret_key = 98765432101234zz\n",
    ] {
        std::fs::write(&sp, secrets).unwrap();
        std::fs::set_permissions(&sp, std::fs::Permissions::from_mode(0o600)).unwrap();
        let o = dirsync(dir.path(), &["history"], &[]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            text(&o).contains("secrets.toml is not valid"),
            "{}",
            text(&o)
        );
        assert!(!text(&o).contains("98765432101234"), "{}", text(&o));
    }
}

#[test]
fn serve_refuses_a_public_address_without_admin_password() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        "[directory]\nsource = \"ldif\"\nldif_path = \"x.ldif\"\nexchange_group = \"Exchange Users\"\n[api]\nurl = \"http://127.0.0.1:9\"\nuser_key = \"k\"\naccount = \"1\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("x.ldif"), "").unwrap();
    let o = dirsync(
        dir.path(),
        &["serve", "--listen", "0.0.0.0:0"],
        &[("DIRSYNC_API_SECRET_KEY", "s")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("ui.listen 0.0.0.0:0 is reachable from other machines but no UI admin password is configured"), "{}", text(&o));
    let o = dirsync(
        dir.path(),
        &["--set", "schedule.interval=0s", "serve"],
        &[("DIRSYNC_API_SECRET_KEY", "s")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("schedule.interval must be at least 1s"),
        "{}",
        text(&o)
    );
}

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let o = dirsync(dir.path(), &["--help"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let t = text(&o);
    for c in ["init", "check", "plan", "sync", "history", "serve", "demo"] {
        assert!(t.contains(c), "{c} missing from --help:\n{t}");
    }
}

#[test]
fn json_logs_are_one_object_per_line_and_never_show_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/sample.ldif");
    std::fs::write(
        dir.path().join("dirsync.toml"),
        format!(
            "[directory]\nsource = \"ldif\"\nldif_path = \"{sample}\"\nexchange_group = \"Exchange Users\"\n\
[api]\nurl = \"http://127.0.0.1:9/v1\"\nuser_key = \"k\"\naccount = \"1\"\n[engine.retry]\nmax_attempts = 1\n"
        ),
    )
    .unwrap();
    let secret = "super-secret-api-key-987";
    let o = dirsync(
        dir.path(),
        &["--log-format", "json", "--log-level", "debug", "sync"],
        &[("DIRSYNC_API_SECRET_KEY", secret)],
    );
    // The control panel is unreachable: a failed run (DS203), exit 2.
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("DS203"),
        "{}",
        text(&o)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let mut lines = 0;
    for line in err.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        lines += 1;
    }
    assert!(lines >= 2, "{err}");
    assert!(err.contains("\"message\":\"progress\""), "{err}");
    assert!(
        !text(&o).contains(secret),
        "the API secret leaked:\n{}",
        text(&o)
    );
}

/// `init` on a terminal asks for every value (secrets without echo). A
/// pseudo-terminal from util-linux `script` stands in for the administrator.
#[test]
fn init_interactive_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            !testkit::in_ci(),
            "util-linux `script` is needed for the terminal test"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let answers = [
        "ldap",                              // source
        "ldaps://dc1.example.com",           // url
        "CN=svc,CN=Users,DC=example,DC=com", // bind DN
        "",                                  // base DN (default: server's)
        "Exchange Users",                    // exchange group
        "",                                  // rsemail group
        "",                                  // API URL (default)
        "user-key-1",                        // API user key
        "100001",                            // account
        "typed-bind-password",               // LDAP password (hidden)
        "typed-api-secret",                  // API secret (hidden)
        "",                                  // UI password (skip)
    ]
    .join("\n")
        + "\n";
    let bin = env!("CARGO_BIN_EXE_dirsync");
    let mut child = Command::new("script")
        .current_dir(dir.path())
        .args([
            "-qec",
            &format!("{bin} --config {}/dirsync.toml init", dir.path().display()),
            "/dev/null",
        ])
        .env_remove("DIRSYNC_LDAP_BIND_PASSWORD")
        .env_remove("DIRSYNC_API_SECRET_KEY")
        .env_remove("DIRSYNC_UI_ADMIN_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Collect what the terminal shows, and answer each prompt once it is on screen.
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let screen = screen.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 1024];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let wait_prompts = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let shown = screen.lock().unwrap().clone();
            if shown.matches(": ").count() >= n {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "prompt {n} never appeared:\n{shown}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Let the program reach its read (and, for secrets, turn echo off).
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for (n, line) in answers.split_inclusive('\n').enumerate() {
            wait_prompts(n + 1);
            stdin.write_all(line.as_bytes()).unwrap();
            stdin.flush().unwrap();
        }
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let shown = screen.lock().unwrap().clone();
    assert_eq!(status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("LDAP URL") && shown.contains("input hidden"),
        "{shown}"
    );
    let conf = std::fs::read_to_string(dir.path().join("dirsync.toml")).unwrap();
    assert!(
        conf.contains("url = \"ldaps://dc1.example.com\"")
            && conf.contains("url = \"https://api.emailsrvr.com/v1\""),
        "{conf}"
    );
    assert!(
        conf.contains("exchange_group = \"Exchange Users\"") && !conf.contains("rsemail_group"),
        "{conf}"
    );
    let secrets = std::fs::read_to_string(dir.path().join("secrets.toml")).unwrap();
    assert!(
        secrets.contains("ldap_bind_password = \"typed-bind-password\"")
            && secrets.contains("api_secret_key = \"typed-api-secret\""),
        "{secrets}"
    );
    assert!(
        !shown.contains("typed-bind-password"),
        "the password was echoed:\n{shown}"
    );
}

/// On a terminal, `sync` draws a progress bar; piped, it prints plain lines.
#[test]
fn progress_bar_on_a_terminal_plain_lines_otherwise() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            !testkit::in_ci(),
            "util-linux `script` is needed for the terminal test"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/sample.ldif");
    std::fs::write(
        dir.path().join("dirsync.toml"),
        format!(
            "[directory]\nsource = \"ldif\"\nldif_path = \"{sample}\"\nexchange_group = \"Exchange Users\"\n\
[api]\nurl = \"http://127.0.0.1:9/v1\"\nuser_key = \"k\"\naccount = \"1\"\n[engine.retry]\nmax_attempts = 1\n"
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_dirsync");
    let o = Command::new("script")
        .current_dir(dir.path())
        .args(["-qec", &format!("{bin} sync"), "/dev/null"])
        .env("DIRSYNC_API_SECRET_KEY", "s")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("\r\x1b[2Kread_directory [##############################] 1/1"),
        "{shown:?}"
    );
    // indicatif's bar, with the rate and the ETA.
    assert!(
        shown.contains("read_directory [##############################] 1/1  ")
            && shown.contains("/s  ETA 0s"),
        "{shown:?}"
    );
    let o = dirsync(dir.path(), &["sync"], &[("DIRSYNC_API_SECRET_KEY", "s")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("read_directory: 1/1\n") && !err.contains('\r'),
        "{err:?}"
    );
}

/// Under umask 000, `init` wrote the config 0666 and `state.db` was 0644:
/// the config is 0640, the secrets and the state store 0600, whatever the
/// umask.
#[test]
fn init_files_and_the_state_store_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &str| {
        std::fs::metadata(dir.path().join(p))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    let with_umask = |args: &[&str]| {
        let mut c = Command::new("sh");
        c.current_dir(dir.path())
            .arg("-c")
            .arg("umask 000 && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_dirsync"))
            .args(args)
            .env_remove("DIRSYNC_CONFIG")
            .env("DIRSYNC_API_SECRET_KEY", "api-secret-456");
        c.output().unwrap()
    };
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/sample.ldif");
    let o = with_umask(&[
        "--config",
        "dirsync.toml",
        "init",
        "--non-interactive",
        "--source",
        "ldif",
        "--ldif",
        sample,
        "--exchange-group",
        "Exchange Users",
        "--api-url",
        "http://127.0.0.1:9/v1",
        "--api-user-key",
        "uk",
        "--account",
        "100001",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!((mode("dirsync.toml"), mode("secrets.toml")), (0o640, 0o600));
    // A sync creates the state store (the control panel is unreachable: exit 2).
    let o = with_umask(&[
        "--config",
        "dirsync.toml",
        "--set",
        "engine.retry.max_attempts=1",
        "sync",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(mode("dirsync-state.db"), 0o600, "{}", text(&o));
    for extra in ["dirsync-state.db-wal", "dirsync-state.db-shm"] {
        if dir.path().join(extra).exists() {
            assert_eq!(mode(extra), 0o600, "{extra}");
        }
    }
}
