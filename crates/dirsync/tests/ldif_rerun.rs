//! LDIF-source reruns cost what changed (issue 12): the real binary against
//! a real officed. An unchanged file (same fingerprint, or rewritten with
//! the same content) is an incremental run that makes no API call; a
//! changed file hands the engine only the objects that changed; `--full`
//! still reads and reconciles everything.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use testkit::officed::{DomainSpec, Officed, OfficedOptions};

fn sync(dir: &Path, o: &Officed, extra: &[&str]) -> Value {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dirsync"));
    c.current_dir(dir)
        .env_remove("DIRSYNC_CONFIG")
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("DIRSYNC_") && !k.starts_with("DIRSYNC_TEST") {
            c.env_remove(k);
        }
    }
    let r: Output = c
        .env("DIRSYNC_API_SECRET_KEY", &o.secret)
        .args(["sync", "--json"])
        .args(extra)
        .output()
        .expect("run dirsync");
    let all = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(r.status.code(), Some(0), "{all}");
    serde_json::from_slice(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{all}"))
}

fn guid(n: u32) -> String {
    use base64::Engine as _;
    let mut b = [0x22u8; 16];
    b[12..16].copy_from_slice(&n.to_be_bytes());
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// `n` users in the Exchange service group; `title` for user 0.
fn ldif(n: u32, title: &str) -> String {
    let mut s = String::from("version: 1\n\n");
    let mut members = String::new();
    for i in 0..n {
        let dn = format!("CN=User {i:03},OU=Staff,DC=example,DC=com");
        let t = if i == 0 { title } else { "Engineer" };
        s.push_str(&format!(
            "dn: {dn}\nobjectClass: user\nobjectGUID:: {}\nsAMAccountName: user{i:03}\ndisplayName: User {i:03}\ntitle: {t}\nmail: user{i:03}@example.com\nuserAccountControl: 512\n\n",
            guid(i + 1)
        ));
        members.push_str(&format!("member: {dn}\n"));
    }
    s.push_str(&format!(
        "dn: CN=Exchange Users,OU=Groups,DC=example,DC=com\nobjectClass: group\nobjectGUID:: {}\n{members}\n",
        guid(999)
    ));
    s
}

#[test]
fn unchanged_ldif_reruns_make_no_call_and_changes_are_incremental() {
    let o = Officed::start(OfficedOptions {
        domains: vec![DomainSpec::new("example.com", "exchange", 100, 0)],
        ..Default::default()
    })
    .expect("start officed");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ad.ldif");
    std::fs::write(&file, ldif(12, "Engineer")).unwrap();
    std::fs::write(
        dir.path().join("dirsync.toml"),
        format!(
            "[directory]\nsource = \"ldif\"\nldif_path = \"{}\"\nldif_settle = \"0s\"\nexchange_group = \"Exchange Users\"\n\
[api]\nurl = \"{}\"\nuser_key = \"{}\"\naccount = \"{}\"\n\
[engine]\nconcurrency = 4\n[engine.rate_limit]\ngets_per_min = 100000\nwrites_per_min = 100000\n\
[engine.threshold]\npercent = 100\nmin_count = 1000\n",
            file.display(),
            o.base_url,
            o.user_key,
            o.account_number
        ),
    )
    .unwrap();

    let first = sync(dir.path(), &o, &[]);
    assert_eq!(
        (first["full"].as_bool(), first["counts"]["created"].as_u64()),
        (Some(true), Some(12)),
        "{first}"
    );

    // The same file: no parse, no plan, no API call.
    let idle = sync(dir.path(), &o, &[]);
    assert_eq!(idle["full"], false, "{idle}");
    assert_eq!(idle["api"]["requests"], 0, "{idle}");
    assert_eq!(idle["counts"]["planned"], 0, "{idle}");
    assert!(
        idle["summary"]
            .as_str()
            .unwrap()
            .contains("nothing changed"),
        "{idle}"
    );

    // Rewritten with the same content (another modification time): read,
    // compared with the replica, nothing changed.
    std::fs::write(&file, ldif(12, "Engineer")).unwrap();
    let same = sync(dir.path(), &o, &[]);
    assert_eq!(
        (same["full"].as_bool(), same["api"]["requests"].as_u64()),
        (Some(false), Some(0)),
        "{same}"
    );

    // One user changed, one left the scope: an incremental run with those two.
    let changed =
        ldif(12, "Manager").replace("member: CN=User 011,OU=Staff,DC=example,DC=com\n", "");
    std::fs::write(&file, changed).unwrap();
    let inc = sync(dir.path(), &o, &[]);
    assert_eq!(inc["full"], false, "{inc}");
    assert_eq!(inc["counts"]["updated"], 1, "{inc}");
    assert_eq!(inc["counts"]["disabled"], 1, "{inc}");
    assert_eq!(inc["counts"]["created"], 0, "{inc}");

    // And then nothing again.
    let idle = sync(dir.path(), &o, &[]);
    assert_eq!(
        (idle["full"].as_bool(), idle["api"]["requests"].as_u64()),
        (Some(false), Some(0)),
        "{idle}"
    );

    // --full reads and reconciles everything, and finds it in sync.
    let full = sync(dir.path(), &o, &["--full"]);
    assert_eq!(full["full"], true, "{full}");
    assert_eq!(full["counts"]["planned"], 0, "{full}");
    assert!(full["api"]["requests"].as_u64().unwrap() > 0, "{full}");
}
