//! Every everyday command through the real binary against a real officed
//! (started by `testkit::officed`), with the LDIF source and with the Samba
//! AD DC: check, plan, sync (text and --json), history, history show, the
//! exit codes 0/1/2/3, and kill-and-rerun (issue 4 §8).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::officed::{DomainSpec, Officed, OfficedOptions};

fn dirsync(dir: &Path, secret: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dirsync"));
    c.current_dir(dir)
        .env_remove("DIRSYNC_CONFIG")
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("DIRSYNC_") && !k.starts_with("DIRSYNC_TEST") {
            c.env_remove(k);
        }
    }
    c.env("DIRSYNC_API_SECRET_KEY", secret);
    c
}

fn run(dir: &Path, o: &Officed, args: &[&str]) -> Output {
    dirsync(dir, &o.secret)
        .args(args)
        .output()
        .expect("run dirsync")
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

const ENGINE_FAST: &str = "[engine]\nconcurrency = 8\n[engine.rate_limit]\ngets_per_min = 100000\nwrites_per_min = 100000\n[engine.retry]\nmax_attempts = 3\nbase_delay_ms = 50\n";

fn ldif_config(dir: &Path, o: &Officed, ldif: &Path, groups: &str, extra: &str) {
    std::fs::write(
        dir.join("dirsync.toml"),
        format!(
            "[directory]\nsource = \"ldif\"\nldif_path = \"{}\"\nldif_settle = \"0s\"\n{groups}\n\
[api]\nurl = \"{}\"\nuser_key = \"{}\"\naccount = \"{}\"\n{ENGINE_FAST}{extra}",
            ldif.display(),
            o.base_url,
            o.user_key,
            o.account_number
        ),
    )
    .unwrap();
}

const SAMPLE_GROUPS: &str =
    "exchange_group = \"Exchange Users\"\nrsemail_group = \"Rackspace Email Users\"";

fn sample() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/demo/sample.ldif")).unwrap()
}

#[test]
fn check_plan_sync_history_and_exit_codes() {
    let o = Officed::start(OfficedOptions::default()).expect("start officed");
    let dir = tempfile::tempdir().unwrap();
    let ldif = dir.path().join("ad.ldif");
    std::fs::write(&ldif, sample()).unwrap();
    ldif_config(
        dir.path(),
        &o,
        &ldif,
        SAMPLE_GROUPS,
        "[engine.threshold]\npercent = 10\nmin_count = 1\n",
    );

    // check: every probe passes, the sample's errors are predicted (exit 1), nothing is written.
    let r = run(dir.path(), &o, &["check"]);
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    let t = out(&r);
    for want in [
        "configuration",
        "control panel",
        "authenticated; account 100001",
        "DS001",
        "DS004",
        "DS006",
        "DS007",
        "fix:",
    ] {
        assert!(t.contains(want), "check output lacks {want:?}:\n{t}");
    }
    let r = run(dir.path(), &o, &["check", "--json"]);
    let v = json(&r);
    assert!(
        v["probes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["ok"] == true),
        "{v}"
    );
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["report"]["mode"], "check");
    let codes: Vec<&str> = v["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"DS001") && codes.contains(&"DS004"),
        "{codes:?}"
    );

    // plan: the ordered operations, nothing applied.
    let r = run(dir.path(), &o, &["plan"]);
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    assert!(
        out(&r).contains("ACTION") && out(&r).contains("create"),
        "{}",
        out(&r)
    );
    let v = json(&run(dir.path(), &o, &["plan", "--json"]));
    assert_eq!(v["mode"], "plan");
    let ops = v["operations"].as_array().unwrap();
    assert!(ops.iter().all(|op| op["result"] == "planned"));
    // The per-kind counts are what the plan plans (they were all 0).
    let creates = ops.iter().filter(|op| op["op"] == "create").count() as u64;
    assert!(creates >= 10, "{v}");
    assert_eq!(v["counts"]["created"], creates, "{}", v["counts"]);
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("planned: {creates} created")),
        "{}",
        v["summary"]
    );

    // sync --json: the run report; object errors -> exit 1.
    let r = run(dir.path(), &o, &["sync", "--json"]);
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    let first = json(&r);
    assert_eq!(first["status"], "object_errors");
    assert_eq!(first["exit_code"], 1);
    assert!(
        first["counts"]["created"].as_u64().unwrap() >= 10,
        "{first}"
    );
    let first_id = first["id"].as_i64().unwrap();
    // The whole list of operations, read back from the run history (the
    // run itself keeps only those not done).
    let ops = first["operations"].as_array().unwrap();
    assert_eq!(Some(ops.len() as u64), first["counts"]["planned"].as_u64());
    assert_eq!(
        ops.iter()
            .filter(|o| o["op"] == "create" && o["result"] == "done")
            .count() as u64,
        first["counts"]["created"].as_u64().unwrap(),
        "{first}"
    );

    // A second sync changes nothing new (idempotent).
    let r = run(dir.path(), &o, &["sync"]);
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    assert!(out(&r).contains("0 created"), "{}", out(&r));

    // Two mailboxes leave the scope: 2 disables of ~12 synced is over the 10% threshold -> exit 3.
    let fewer = sample()
        .replace("member: CN=Hank Hill,OU=Staff,DC=example,DC=com\n", "")
        .replace("member: CN=Ivy Iverson,OU=Staff,DC=example,DC=com\n", "");
    std::fs::write(&ldif, fewer).unwrap();
    let r = run(dir.path(), &o, &["sync", "--json"]);
    assert_eq!(r.status.code(), Some(3), "{}", out(&r));
    let v = json(&r);
    assert_eq!(v["status"], "threshold_stopped");
    assert_eq!(v["counts"]["disabled"], 0);
    let ops = v["operations"].as_array().unwrap();
    assert_eq!(Some(ops.len() as u64), v["counts"]["planned"].as_u64());
    assert!(
        !ops.is_empty() && ops.iter().all(|o| o["result"] == "planned"),
        "{v}"
    );
    let r = run(dir.path(), &o, &["sync", "--override-threshold"]);
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    assert!(out(&r).contains("2 disabled"), "{}", out(&r));

    // history: the runs, newest first; history show returns the stored report as sync printed it.
    let r = run(dir.path(), &o, &["history"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    assert!(
        out(&r).contains("STARTED") && out(&r).contains("threshold"),
        "{}",
        out(&r)
    );
    // Durations include the directory read and show milliseconds, never 0.0s.
    assert!(!out(&r).contains("0.0s"), "{}", out(&r));
    assert!(out(&r).contains(" ms"), "{}", out(&r));
    let v = json(&run(dir.path(), &o, &["history", "--json"]));
    let runs = v.as_array().unwrap();
    assert!(runs.len() >= 5, "{v}");
    assert!(runs[0]["id"].as_i64() > runs[1]["id"].as_i64());
    let r = run(
        dir.path(),
        &o,
        &["history", "show", &first_id.to_string(), "--json"],
    );
    assert_eq!(r.status.code(), Some(0));
    assert_eq!(json(&r), first);
    let r = run(dir.path(), &o, &["history", "show", &first_id.to_string()]);
    assert!(
        out(&r).contains("Findings (grouped by code)"),
        "{}",
        out(&r)
    );
    let r = run(dir.path(), &o, &["history", "show", "9999"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(out(&r).contains("there is no run 9999"), "{}", out(&r));

    // A wrong API secret: the control panel probe fails, exit 2, and the secret is never printed.
    let r = dirsync(dir.path(), "wrong-secret-value-123")
        .args(["check"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2), "{}", out(&r));
    assert!(out(&r).contains("FAILED"), "{}", out(&r));
    assert!(
        out(&r).contains(
            "HTTP 403: Authentication failed; the API refused the key: check api.user_key"
        ),
        "{}",
        out(&r)
    );
    assert!(!out(&r).contains("wrong-secret-value-123"));
    // Another customer's account: the fix names the account setting.
    let r = run(dir.path(), &o, &["--set", "api.account=999999", "check"]);
    assert_eq!(r.status.code(), Some(2), "{}", out(&r));
    assert!(
        out(&r).contains("this API key may not reach account 999999: check api.account"),
        "{}",
        out(&r)
    );
    // A directory that cannot be read: the run is recorded as failed (DS202), exit 2.
    std::fs::write(&ldif, "dn: broken\n").unwrap();
    let r = run(dir.path(), &o, &["sync", "--json"]);
    assert_eq!(r.status.code(), Some(2), "{}", out(&r));
    assert_eq!(json(&r)["findings"][0]["code"], "DS202");

    // A file modified moments ago may still be being written: the read
    // waits until it has been unchanged for directory.ldif_settle; one that
    // changes meanwhile is not applied (DS202, read again by the next run).
    std::fs::write(&ldif, sample()).unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        std::fs::write(&ldif, sample() + "\n").unwrap();
    });
    let r = run(
        dir.path(),
        &o,
        &["--set", "directory.ldif_settle=2s", "sync", "--json"],
    );
    writer.join().unwrap();
    assert_eq!(r.status.code(), Some(2), "{}", out(&r));
    let v = json(&r);
    assert_eq!(v["findings"][0]["code"], "DS202");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("is still being written"),
        "{}",
        v["summary"]
    );
    // Left alone, the same file is read after the wait.
    let started = Instant::now();
    let r = run(
        dir.path(),
        &o,
        &["--set", "directory.ldif_settle=3s", "plan", "--json"],
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the read did not wait for the file to settle"
    );
    assert_eq!(json(&r)["mode"], "plan", "{}", out(&r));
}

fn big_ldif(n: usize) -> String {
    let mut s = String::from("version: 1\n\n");
    let mut members = String::new();
    for i in 0..n {
        let guid = uuid_bytes(i as u32 + 1);
        let dn = format!("CN=User {i:04},OU=Staff,DC=example,DC=com");
        s.push_str(&format!(
            "dn: {dn}\nobjectClass: user\nobjectGUID:: {guid}\nsAMAccountName: user{i:04}\ndisplayName: User {i:04}\nmail: user{i:04}@example.com\nuserAccountControl: 512\n\n"
        ));
        members.push_str(&format!("member: {dn}\n"));
    }
    s.push_str(&format!("dn: CN=Exchange Users,OU=Groups,DC=example,DC=com\nobjectClass: group\nobjectGUID:: {}\n{members}\n", uuid_bytes(999_999)));
    s
}

fn uuid_bytes(n: u32) -> String {
    use base64::Engine as _;
    let mut b = [0x11u8; 16];
    b[12..16].copy_from_slice(&n.to_be_bytes());
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_mid_run_and_rerun_leaves_no_duplicates_and_nothing_missing() {
    const N: usize = 300;
    let opts = OfficedOptions {
        domains: vec![DomainSpec::new("example.com", "exchange", 1000, 0)],
        ..Default::default()
    };
    let t0 = Instant::now();
    let o = Officed::start(opts).expect("start officed");
    eprintln!("officed started in {:?}", t0.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let ldif = dir.path().join("ad.ldif");
    std::fs::write(&ldif, big_ldif(N)).unwrap();
    ldif_config(
        dir.path(),
        &o,
        &ldif,
        "exchange_group = \"Exchange Users\"",
        "",
    );

    // Start a sync, and kill -9 it once it has applied some operations.
    let mut child = dirsync(dir.path(), &o.secret)
        .args(["sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut killed_at = None;
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix("apply: ") {
            let done: usize = rest.split('/').next().unwrap_or("0").parse().unwrap_or(0);
            if done >= 50 {
                child.kill().unwrap();
                killed_at = Some(done);
                break;
            }
        }
    }
    let _ = child.wait();
    assert!(
        killed_at.is_some(),
        "the sync never reported apply progress:\n{}",
        seen.join("\n")
    );

    let client = cloudoffice_api::client::Client::new(cloudoffice_api::client::ClientConfig {
        base_url: o.base_url.clone(),
        user_key: o.user_key.clone(),
        secret: cloudoffice_api::Secret::new(o.secret.clone()),
        user_agent: "dirsync-test".into(),
        rate_limit: cloudoffice_api::client::RateLimit {
            gets_per_min: 100000,
            writes_per_min: 100000,
        },
        retry: Default::default(),
    })
    .unwrap();
    let partial = client
        .ex_mailboxes(&o.account_number, "example.com")
        .await
        .unwrap()
        .len();
    assert!(
        (50..N).contains(&partial),
        "the kill should land mid-run: {partial} of {N} mailboxes exist"
    );

    // Rerun: finishes the job.
    let deadline = Instant::now() + Duration::from_secs(300);
    let r = dirsync(dir.path(), &o.secret)
        .args(["sync", "--json"])
        .output()
        .unwrap();
    assert!(Instant::now() < deadline);
    eprintln!("rerun finished after {:?}", t0.elapsed());
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    let v = json(&r);
    assert_eq!(v["counts"]["failed"], 0, "{v}");

    // Final state equals the expected state: every user exactly once.
    let boxes = client
        .ex_mailboxes(&o.account_number, "example.com")
        .await
        .unwrap();
    let mut names: Vec<String> = boxes
        .iter()
        .map(|m| {
            serde_json::to_value(m).unwrap()["name"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicates after kill and rerun");
    let expected: Vec<String> = (0..N).map(|i| format!("user{i:04}")).collect();
    assert_eq!(names, expected, "missing or unexpected mailboxes");

    // The killed run is in the history as interrupted; a third sync has nothing to do.
    let h = json(
        &dirsync(dir.path(), &o.secret)
            .args(["history", "--json"])
            .output()
            .unwrap(),
    );
    assert!(
        h.as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "interrupted"),
        "{h}"
    );
    let r = dirsync(dir.path(), &o.secret)
        .args(["sync", "--json"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    assert_eq!(json(&r)["counts"]["created"], 0);
}

#[test]
fn check_and_incremental_sync_against_samba_ad() {
    let Some(dc) = testkit::samba::dc() else {
        return;
    };
    let ou = dc.test_ou("agent").expect("test OU");
    let alice = ou.add_user(&format!("A{}", ou.name), "").unwrap();
    let bob = ou.add_user(&format!("B{}", ou.name), "").unwrap();
    ou.add_members(&ou.exchange_dn, &[&alice, &bob]).unwrap();
    let o = Officed::start(OfficedOptions::default()).expect("start officed");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        format!(
            "[directory]\nurl = \"{}\"\nbind_dn = \"{}\"\nbase_dn = \"{}\"\nca_file = \"{}\"\nexchange_group = \"{}\"\n\
[api]\nurl = \"{}\"\nuser_key = \"{}\"\naccount = \"{}\"\n{ENGINE_FAST}",
            dc.url, dc.bind_dn, ou.dn, dc.ca_file, ou.exchange_dn, o.base_url, o.user_key, o.account_number
        ),
    )
    .unwrap();
    let with_pw = |args: &[&str]| {
        dirsync(dir.path(), &o.secret)
            .env("DIRSYNC_LDAP_BIND_PASSWORD", &dc.password)
            .args(args)
            .output()
            .unwrap()
    };

    let r = with_pw(&["check"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    assert!(
        out(&r).contains(&format!("bound to {}", dc.url)),
        "{}",
        out(&r)
    );
    assert!(!out(&r).contains(&dc.password));

    let r = with_pw(&["sync", "--json"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    let v = json(&r);
    assert_eq!(
        (v["full"].as_bool(), v["counts"]["created"].as_u64()),
        (Some(true), Some(2)),
        "{v}"
    );

    // A change in AD: the next sync is incremental and creates just the new mailbox.
    let carol = ou.add_user(&format!("C{}", ou.name), "").unwrap();
    ou.add_members(&ou.exchange_dn, &[&carol]).unwrap();
    let r = with_pw(&["sync", "--json"]);
    assert_eq!(r.status.code(), Some(0), "{}", out(&r));
    let v = json(&r);
    assert_eq!(
        (v["full"].as_bool(), v["counts"]["created"].as_u64()),
        (Some(false), Some(1)),
        "{v}"
    );

    // A wrong bind password: exit 2, recorded as a failed run, password never echoed.
    let r = dirsync(dir.path(), &o.secret)
        .env("DIRSYNC_LDAP_BIND_PASSWORD", "wrong-password-xyz")
        .args(["sync"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2), "{}", out(&r));
    assert!(
        out(&r).contains("DS202") && !out(&r).contains("wrong-password-xyz"),
        "{}",
        out(&r)
    );
}

/// Escape sequences in directory data (a DN and display name carrying
/// ESC ] 0; ... BEL, which retitles a terminal) are printed escaped by
/// plan, sync and history show.
#[test]
fn control_characters_in_directory_data_reach_the_terminal_escaped() {
    let o = Officed::start(OfficedOptions::default()).expect("start officed");
    let dir = tempfile::tempdir().unwrap();
    let ldif = dir.path().join("ad.ldif");
    let evil = "CN=Eve\u{1b}]0;pwned\u{7}\u{9b}2J,OU=Staff,DC=example,DC=com";
    std::fs::write(
        &ldif,
        format!(
            "dn: {evil}\nobjectClass: user\nobjectGUID:: {}\ndisplayName: Eve\u{1b}[31m\nmail: eve@example.com\n\n\
             dn: CN=Exchange Users,OU=Groups,DC=example,DC=com\nobjectClass: group\nobjectGUID:: {}\nmember: {evil}\n\n",
            uuid_bytes(1),
            uuid_bytes(2)
        ),
    )
    .unwrap();
    ldif_config(
        dir.path(),
        &o,
        &ldif,
        "exchange_group = \"Exchange Users\"",
        "",
    );
    for args in [&["plan"][..], &["sync"], &["history", "show", "2"]] {
        let r = run(dir.path(), &o, args);
        let t = out(&r);
        assert!(
            !t.contains(['\u{1b}', '\u{7}', '\u{9b}']),
            "{args:?} printed a raw control character:\n{t:?}"
        );
        assert!(
            t.contains(r"CN=Eve\x1b]0;pwned\x07\x9b2J"),
            "{args:?}:\n{t}"
        );
    }
}
