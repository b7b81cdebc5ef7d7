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
    sync_logged(dir, o, extra).0
}

/// `dirsync sync --json`: the report and what was logged.
fn sync_logged(dir: &Path, o: &Officed, extra: &[&str]) -> (Value, String) {
    sync_exit(dir, o, extra, 0)
}

/// `dirsync sync --json` ending with exit code `code`: the report and what
/// was logged.
fn sync_exit(dir: &Path, o: &Officed, extra: &[&str], code: i32) -> (Value, String) {
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
    assert_eq!(r.status.code(), Some(code), "{all}");
    let report =
        serde_json::from_slice(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{all}"));
    (report, String::from_utf8_lossy(&r.stderr).into_owned())
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

/// A directory of one OU of users and the Exchange service group.
struct Directory {
    /// The users with an entry in the file, with their title.
    users: Vec<(u32, &'static str)>,
    /// The users in the Exchange service group.
    members: Vec<u32>,
    /// Users whose entry has a line that cannot be read.
    malformed: Vec<u32>,
}

impl Directory {
    /// The file's text and the lines of the malformed values.
    fn render(&self) -> (String, Vec<usize>) {
        let mut s = String::from("version: 1\n\n");
        let mut bad_lines = Vec::new();
        for (i, title) in &self.users {
            if self.malformed.contains(i) {
                let at = s.lines().count() + 3;
                bad_lines.push(at);
                s.push_str(&format!(
                    "dn: CN=User {i:03},OU=Staff,DC=example,DC=com\nobjectClass: user\ndisplayName:: not base64!\n"
                ));
            } else {
                s.push_str(&format!(
                    "dn: CN=User {i:03},OU=Staff,DC=example,DC=com\nobjectClass: user\ndisplayName: User {i:03}\n"
                ));
            }
            s.push_str(&format!(
                "objectGUID:: {}\nsAMAccountName: user{i:03}\ntitle: {title}\nmail: user{i:03}@example.com\nuserAccountControl: 512\n\n",
                guid(i + 1)
            ));
        }
        s.push_str(&format!(
            "dn: CN=Exchange Users,OU=Groups,DC=example,DC=com\nobjectClass: group\nobjectGUID:: {}\n",
            guid(999)
        ));
        for m in &self.members {
            s.push_str(&format!(
                "member: CN=User {m:03},OU=Staff,DC=example,DC=com\n"
            ));
        }
        s.push('\n');
        (s, bad_lines)
    }
}

/// The report's findings of `code`: (message, dn).
fn findings_of(r: &Value, code: &str) -> Vec<(String, String)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| {
            (
                f["message"].as_str().unwrap().to_string(),
                f["dn"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn staff(i: u32) -> String {
    format!("CN=User {i:03},OU=Staff,DC=example,DC=com")
}

/// An officed with one Exchange domain, and a dirsync directory whose
/// configuration reads `file`.
fn setup(file: &Path) -> (Officed, tempfile::TempDir) {
    let o = Officed::start(OfficedOptions {
        domains: vec![DomainSpec::new("example.com", "exchange", 100, 0)],
        ..Default::default()
    })
    .expect("start officed");
    let dir = tempfile::tempdir().unwrap();
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
    (o, dir)
}

#[test]
fn unchanged_ldif_reruns_make_no_call_and_changes_are_incremental() {
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("ad.ldif");
    std::fs::write(&file, ldif(12, "Engineer")).unwrap();
    let (o, dir) = setup(&file);

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

/// Each kind of change in a rerun of a changed file, streamed and
/// compared with the replica: an attribute, a new user, a user gone from
/// the file, users moved into and out of the service group, and a record
/// that cannot be read (named by its line, held as last synced, while the
/// other changes still sync).
#[test]
fn each_change_of_the_file_is_synced_incrementally() {
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("ad.ldif");
    let mut d = Directory {
        users: (0..8).map(|i| (i, "Engineer")).collect(),
        members: (0..6).collect(),
        malformed: Vec::new(),
    };
    let write = |d: &Directory| {
        let (text, line) = d.render();
        std::fs::write(&file, text).unwrap();
        line
    };
    write(&d);
    let (o, dir) = setup(&file);
    let counts = |r: &Value| -> [u64; 5] {
        ["created", "updated", "disabled", "deleted", "planned"]
            .map(|k| r["counts"][k].as_u64().unwrap_or(u64::MAX))
    };
    let first = sync(dir.path(), &o, &[]);
    assert_eq!(first["full"], true, "{first}");
    assert_eq!(counts(&first), [6, 0, 0, 0, 6], "{first}");

    // A changed attribute and a new user in the service group.
    d.users[0].1 = "Manager";
    d.users.push((8, "Engineer"));
    d.members.push(8);
    write(&d);
    let r = sync(dir.path(), &o, &[]);
    assert_eq!(r["full"], false, "{r}");
    assert_eq!(counts(&r)[..4], [1, 1, 0, 0], "{r}");

    // A user gone from the file (and so from the group): disabled, not deleted.
    d.users.retain(|(i, _)| *i != 2);
    d.members.retain(|i| *i != 2);
    write(&d);
    let r = sync(dir.path(), &o, &[]);
    assert_eq!(r["full"], false, "{r}");
    assert_eq!(counts(&r)[..4], [0, 0, 1, 0], "{r}");

    // User 6 (in the file all along) joins the service group, user 1 leaves it.
    d.members.push(6);
    d.members.retain(|i| *i != 1);
    write(&d);
    let r = sync(dir.path(), &o, &[]);
    assert_eq!(r["full"], false, "{r}");
    assert_eq!(counts(&r)[..4], [1, 0, 1, 0], "{r}");

    // User 3's record cannot be read; user 4's title changed. User 3 is
    // named by line and left as it was (a DS107 finding: the run has an
    // error, exit code 1); user 4 is updated.
    d.malformed = vec![3];
    d.users.iter_mut().find(|(i, _)| *i == 4).unwrap().1 = "Director";
    let line = write(&d)[0];
    let (r, log) = sync_exit(dir.path(), &o, &[], 1);
    assert_eq!(r["full"], false, "{r}");
    assert_eq!(r["status"], "object_errors", "{r}");
    assert_eq!(counts(&r)[..4], [0, 1, 0, 0], "{r}\n{log}");
    let held = findings_of(&r, "DS107");
    assert_eq!(held.len(), 1, "{r}");
    assert!(
        held[0].0.contains(&format!(
            "ad.ldif', line {line}: the record of '{}' cannot be read: the base64 value of displayName is invalid",
            staff(3)
        )) && held[0].0.contains("left as it was last synced"),
        "{held:?}"
    );
    assert_eq!(held[0].1, staff(3));
    assert!(
        log.contains(&format!(
            "LDIF line {line}: the base64 value of displayName is invalid"
        )),
        "{log}"
    );

    // The same file again: read again (not taken as unchanged), so the
    // record is still reported, and nothing is done.
    let (r, _) = sync_exit(dir.path(), &o, &[], 1);
    assert_eq!(counts(&r)[..4], [0, 0, 0, 0], "{r}");
    assert_eq!(findings_of(&r, "DS107").len(), 1, "{r}");

    // The record fixed: nothing left to do for user 3.
    d.malformed = Vec::new();
    write(&d);
    let r = sync(dir.path(), &o, &[]);
    assert_eq!(r["full"], false, "{r}");
    assert_eq!(counts(&r)[..4], [0, 0, 0, 0], "{r}");
    assert!(findings_of(&r, "DS107").is_empty(), "{r}");

    // --full agrees with what the reruns did.
    let full = sync(dir.path(), &o, &["--full"]);
    assert_eq!(full["full"], true, "{full}");
    assert_eq!(full["counts"]["planned"], 0, "{full}");
}

/// A full read (the first sync, and `--full`) with records that cannot be
/// read: one finding each, by line; the other objects sync. On the first
/// sync the objects are not created; on a later full sync they stand as
/// last synced (not disabled). A bad record outside the scope is a
/// warning.
#[test]
fn a_full_sync_reports_each_bad_record_and_syncs_the_rest() {
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("ad.ldif");
    let mut d = Directory {
        users: (0..8).map(|i| (i, "Engineer")).collect(),
        members: (0..6).collect(),
        malformed: vec![1, 4, 7],
    };
    let write = |d: &Directory| {
        let (text, lines) = d.render();
        std::fs::write(&file, text).unwrap();
        lines
    };
    let lines = write(&d);
    let (o, dir) = setup(&file);
    let created = |r: &Value| r["counts"]["created"].as_u64().unwrap();

    // First sync: users 1 and 4 (in scope) are not created, user 7 (out of
    // scope) is a warning; the four others are created.
    let (r, _) = sync_exit(dir.path(), &o, &[], 1);
    assert_eq!((r["full"].as_bool(), created(&r)), (Some(true), 4), "{r}");
    let held = findings_of(&r, "DS107");
    let want: Vec<(String, String)> = [(1, lines[0]), (4, lines[1])]
        .iter()
        .map(|(i, l)| {
            (
                format!("line {l}: the record of '{}'", staff(*i)),
                staff(*i),
            )
        })
        .collect();
    assert_eq!(held.len(), 2, "{r}");
    for ((msg, dn), (want_msg, want_dn)) in held.iter().zip(&want) {
        assert!(
            msg.contains(want_msg) && msg.contains("never synced and is not created"),
            "{msg}"
        );
        assert_eq!(dn, want_dn);
    }
    let out = findings_of(&r, "DS108");
    assert!(
        out.len() == 1
            && out[0]
                .0
                .contains(&format!("line {}: the record of '{}'", lines[2], staff(7))),
        "{r}"
    );
    assert_eq!(r["counts"]["warnings"], 1, "{r}");

    // Fixed: the two users are created by the next (incremental) run.
    d.malformed = Vec::new();
    write(&d);
    let r = sync(dir.path(), &o, &[]);
    assert_eq!((r["full"].as_bool(), created(&r)), (Some(false), 2), "{r}");

    // Broken again, and a --full sync: user 4 stands as last synced (not
    // disabled), user 0's change is applied.
    d.malformed = vec![4];
    d.users[0].1 = "Manager";
    let lines = write(&d);
    let (r, _) = sync_exit(dir.path(), &o, &["--full"], 1);
    assert_eq!(r["full"], true, "{r}");
    assert_eq!(
        ["created", "updated", "disabled", "deleted"].map(|k| r["counts"][k].as_u64().unwrap()),
        [0, 1, 0, 0],
        "{r}"
    );
    let held = findings_of(&r, "DS107");
    assert!(
        held.len() == 1
            && held[0]
                .0
                .contains(&format!("line {}: the record of '{}'", lines[0], staff(4)))
            && held[0].0.contains("left as it was last synced"),
        "{r}"
    );
}
