//! The `officed` binary: exact messages for bad arguments and unusable
//! databases, the admin commands, `serve` through the testkit fixture (on
//! SQLite and PostgreSQL), and `demo`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cloudoffice_api::{signing, Secret};
use testkit::officed::{create_postgres_database, drop_postgres_database, Officed, OfficedOptions};

const BIN: &str = env!("CARGO_BIN_EXE_officed");

fn run(args: &[&str], extra_env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("OFFICED_DATABASE_URL")
        .env_remove("OFFICED_MASTER_KEY")
        .env("RUST_LOG", "warn");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exact_messages_for_bad_arguments_and_databases() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["customer", "create", "--database", "sqlite:///nonexistent-dir/x.db", "--account", "1", "--name", "X"],
            1,
            "error: cannot open database 'sqlite:///nonexistent-dir/x.db': unable to open database file\n",
        ),
        (
            vec!["customer", "create", "--database", "mysql://x", "--account", "1", "--name", "X"],
            1,
            "error: unsupported database URL 'mysql://x': use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB\n",
        ),
        (
            vec!["domain", "create", "--data-dir", d, "--customer", "1", "--name", "x.com", "--service", "bogus"],
            2,
            "error: invalid value 'bogus' for '--service <SERVICE>'\n  [possible values: exchange, rsemail, both]\n\nFor more information, try '--help'.\n",
        ),
        (
            vec!["serve", "--throttle", "nope"],
            2,
            "error: invalid value 'nope' for '--throttle <THROTTLE>': 'nope' is not a throttle setting: use off, cloud-office, or GETS,WRITES[,DOMAIN,ALTERNATE] (per minute, e.g. 120,60 or 120,60,4,4)\n\nFor more information, try '--help'.\n",
        ),
        (
            vec!["customer", "create", "--data-dir", d, "--account", "me", "--name", "X"],
            1,
            "error: The account number 'me' is invalid. (Use 1 to 32 characters from A-Z, a-z, 0-9 and -; 'me' is reserved.)\n",
        ),
        (
            vec!["domain", "create", "--data-dir", d, "--customer", "9", "--name", "x.com", "--service", "both"],
            1,
            "error: The customer '9' does not exist. (Create it first with 'officed customer create'.)\n",
        ),
        (
            vec!["domain", "licences", "--data-dir", d, "--name", "x.com"],
            1,
            "error: nothing to change: give --exchange N and/or --rsemail N\n",
        ),
        (
            vec!["key", "revoke", "--data-dir", d, "--user-key", "nope"],
            1,
            "error: The API key 'nope' does not exist or is already revoked. (List keys with 'officed key list'.)\n",
        ),
    ];
    for (args, code, stderr) in cases {
        let (c, _, e) = run(&args, &[]);
        assert_eq!(
            (c, e.as_str()),
            (code, stderr),
            "officed {}",
            args.join(" ")
        );
    }
}

#[test]
fn postgres_password_is_never_shown() {
    let Some(url) = testkit::postgres::url() else {
        return;
    };
    let (head, tail) = url.split_once('@').unwrap();
    let (user, _) = head.rsplit_once(':').unwrap();
    let bad = format!("{user}:not-the-password@{tail}");
    let (c, _, e) = run(
        &[
            "customer",
            "create",
            "--database",
            &bad,
            "--account",
            "1",
            "--name",
            "X",
        ],
        &[],
    );
    assert_eq!(c, 1);
    assert!(
        e.starts_with("error: cannot open database 'postgres://"),
        "{e}"
    );
    assert!(e.contains(":****@"), "{e}");
    assert!(!e.contains("not-the-password"), "{e}");
}

#[test]
fn admin_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let ok = |args: &[&str]| {
        let mut full = args.to_vec();
        full.extend(["--data-dir", d]);
        let (c, out, err) = run(&full, &[]);
        assert_eq!(c, 0, "officed {}: {err}", full.join(" "));
        out
    };
    assert_eq!(
        ok(&["customer", "create", "--account", "42", "--name", "Acme"]),
        "created customer 42 (Acme)\n"
    );
    ok(&[
        "domain",
        "create",
        "--customer",
        "42",
        "--name",
        "acme.org",
        "--service",
        "exchange",
        "--exchange-licences",
        "2",
    ]);
    assert_eq!(
        ok(&[
            "domain",
            "create",
            "--customer",
            "42",
            "--name",
            "Acme.com",
            "--service",
            "both",
            "--exchange-licences",
            "3",
            "--rsemail-licences",
            "1",
            "--alias",
            "acme.net",
            "--accepted",
            "acme.org"
        ]),
        "created domain acme.com for customer 42 (both; 3 Exchange, 1 Rackspace Email licences)\n"
    );
    assert_eq!(
        ok(&[
            "domain",
            "licences",
            "--name",
            "acme.com",
            "--exchange",
            "7"
        ]),
        "domain acme.com: 7 Exchange, 1 Rackspace Email licences\n"
    );
    let out = ok(&["key", "issue", "--customer", "42", "--label", "sync"]);
    assert!(
        out.contains("user key: ") && out.contains("secret:   ") && out.contains("shown only now"),
        "{out}"
    );
    let key = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("user key: "))
        .unwrap()
        .to_string();
    let secret = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("secret:   "))
        .unwrap()
        .to_string();
    let admin_key = ok(&[
        "key",
        "issue",
        "--customer",
        "42",
        "--label",
        "renames",
        "--allow-rename",
        "--plain",
    ]);
    let (admin_key, _) = admin_key.trim().split_once(' ').unwrap();
    let list = ok(&["key", "list"]);
    assert_eq!(
        list,
        format!("{key}\t42\tactive\t-\tsync\n{admin_key}\t42\tactive\trename\trenames\n")
    );
    assert!(!list.contains(&secret));
    assert_eq!(
        ok(&["key", "revoke", "--user-key", &key]),
        format!("revoked API key {key}\n")
    );
    assert!(ok(&["key", "list", "--customer", "42"]).contains("revoked"));
    ok(&["customer", "create", "--account", "43", "--name", "Other"]);
    assert_eq!(
        ok(&["customer", "list"]),
        "42\tAcme\t2 domain(s)\t1 active key(s)\n43\tOther\t0 domain(s)\t0 active key(s)\n"
    );
    assert_eq!(
        ok(&["domain", "list"]),
        "acme.com\t42\tboth\tExchange 0/7\tRackspace Email 0/1\nacme.org\t42\texchange\tExchange 0/2\tRackspace Email 0/0\n"
    );
    assert_eq!(ok(&["domain", "list", "--customer", "43"]), "");
    let audit = ok(&["audit", "--limit", "10"]);
    assert!(
        audit.contains("\"action\":\"api_key.revoke\"")
            && audit.contains("\"action\":\"domain.licences\""),
        "{audit}"
    );
    assert!(!audit.contains(&secret), "secret in audit log");
    // The master key file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // `sign` reproduces the documented vector's hash shape.
    let (c, out, _) = run(
        &["sign", "--user-key", "k", "--user-agent", "ua"],
        &[("OFFICED_SECRET", "s")],
    );
    assert_eq!(c, 0);
    assert!(out.starts_with("k:") && out.trim().ends_with('='), "{out}");
}

fn exercise(o: &Officed) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let ua = "fixture-test";
        let sig = signing::sign(
            &o.user_key,
            ua,
            &Secret::new(o.secret.clone()),
            time::OffsetDateTime::now_utc(),
        );
        let r = client
            .post(format!(
                "{}/customers/me/domains/example.com/ex/mailboxes/jane",
                o.base_url
            ))
            .header("user-agent", ua)
            .header("x-api-signature", &sig)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("displayName=Jane&password=Passw0rd%21")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        o.admin(&[
            "domain",
            "licences",
            "--name",
            "example.com",
            "--exchange",
            "1",
        ])
        .unwrap();
        let r = client
            .post(format!(
                "{}/customers/{}/domains/example.com/ex/mailboxes/john",
                o.base_url, o.account_number
            ))
            .header("user-agent", ua)
            .header("x-api-signature", o.sign_header(ua).unwrap())
            .body("displayName=John&password=Passw0rd%21")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["x-error-message"], "Mailbox limit exceeded.");
    });
    assert!(o.healthz().unwrap());
}

#[test]
fn fixture_serves_on_sqlite() {
    let o = Officed::start_with(BIN.as_ref(), OfficedOptions::default()).unwrap();
    exercise(&o);
}

#[test]
fn fixture_serves_on_postgres() {
    let Some(url) = create_postgres_database("officed_cli") else {
        return;
    };
    {
        let o = Officed::start_with(
            BIN.as_ref(),
            OfficedOptions {
                database_url: Some(url.clone()),
                ..OfficedOptions::default()
            },
        )
        .unwrap();
        exercise(&o);
    }
    drop_postgres_database(&url);
}

#[test]
fn demo_prints_a_working_example() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args(["demo", "--port", &port.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let start = Instant::now();
    let mut text = String::new();
    while let Some(Ok(l)) = lines.next() {
        text.push_str(&l);
        text.push('\n');
        if l.contains("Press Ctrl-C") || start.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    assert!(
        text.contains(&format!(
            "officed demo is running at http://127.0.0.1:{port}/v1"
        )),
        "{text}"
    );
    let header = text
        .lines()
        .find_map(|l| l.split("X-Api-Signature: ").nth(1))
        .and_then(|s| s.split('\'').next())
        .unwrap()
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/v1/customers/me/domains"))
            .header("user-agent", "officed-demo")
            .header("x-api-signature", header)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        body.contains("\"example.com\"") && body.contains("\"total\":2"),
        "{body}"
    );
}
