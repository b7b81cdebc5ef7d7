//! `dirsync demo` through the real binary, and the web UI in a real headless
//! Chromium (issue 6 §6): dashboard, Sync now, the new run in the history,
//! an error with its solution, and a POST without the CSRF token refused.
//! Screenshots are saved under `target/ui-screenshots/`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dirsync_model::catalogue::Code;

fn dirsync() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dirsync"));
    c.env_remove("DIRSYNC_CONFIG").env_remove("RUST_LOG");
    c
}

#[test]
fn demo_once_prints_summary_with_fixes() {
    let o = dirsync().args(["demo", "--once"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for code in [
        Code::InvalidMail,
        Code::MailboxLimitExceeded,
        Code::DomainNotAuthorized,
        Code::AlternateAddressNotInDomain,
        Code::ContactDomainMissing,
    ] {
        let d = code.definition();
        assert!(
            out.contains(&format!("{code} ERROR")),
            "{code} missing:\n{out}"
        );
        assert!(out.contains(d.solution[0]), "fix of {code} missing:\n{out}");
    }
    assert!(out.contains("Run 1 (apply, full, trigger demo)"), "{out}");
    assert!(out.contains("created"), "{out}");
}

/// A demo serving its UI; killed on drop.
struct Demo {
    child: Child,
    url: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo() -> Demo {
    let mut child = dirsync()
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("Web UI: ") {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or("")
                        .trim_end_matches('/')
                        .to_string(),
                );
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("demo printed its web UI address");
    Demo { child, url }
}

fn stop_with_sigint(mut d: Demo) {
    let pid = d.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = d.child.try_wait().unwrap() {
            assert_eq!(s.code(), Some(0), "demo should exit cleanly on Ctrl-C");
            return;
        }
        assert!(Instant::now() < deadline, "demo did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn shots_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp; screenshots go beside it.
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("ui-screenshots")
}

#[tokio::test(flavor = "multi_thread")]
async fn web_ui_without_javascript_and_csrf() {
    // Plain HTTP (no browser): pages render, headers are strict, the CSRF check holds.
    let demo = start_demo();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(format!("{}/", demo.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let csp = r.headers()[reqwest::header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<h1>Dashboard</h1>") && html.contains("Sync now") && html.contains("<svg"),
        "{html}"
    );
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no external resources"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();

    // No token, wrong token: 403. Right token: 303 to the dashboard.
    for body in [
        "kind=incremental".to_string(),
        "kind=incremental&csrf=00".to_string(),
        format!("kind=incremental&csrf={}", "a".repeat(64)),
    ] {
        let r = client
            .post(format!("{}/sync", demo.url))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    let r = client
        .post(format!("{}/sync", demo.url))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("kind=incremental&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // DNS-rebinding defence: a foreign Host header is refused.
    let r = client
        .get(format!("{}/", demo.url))
        .header("host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 421);

    for page in [
        "/history",
        "/errors",
        "/errors/DS004",
        "/preview",
        "/settings",
        "/history/1",
        "/objects",
    ] {
        let r = client
            .get(format!("{}{page}", demo.url))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{page}");
        let t = r.text().await.unwrap();
        assert!(t.contains("<main id=\"main\"><h1>"), "{page}");
        if page == "/settings" {
            assert!(
                t.contains("[redacted]") && t.contains("api_secret_key"),
                "{t}"
            );
            // Engine settings in effect, defaults included.
            for row in [
                "<code>engine.history.keep_days</code></th><td><code>90</code>",
                "<code>engine.threshold.percent</code></th><td><code>10</code>",
                "<code>engine.delete_policy.policy</code></th><td><code>&quot;never&quot;</code>",
                "<code>engine.verify.budget</code></th><td><code>10</code>",
            ] {
                assert!(t.contains(row), "{row} not in\n{t}");
            }
        }
        if page == "/history/1" {
            assert!(t.contains("<h2>Verification</h2>"), "{t}");
            // Every operation of the run, read from the history a page at
            // a time: all on the first page of 500, none on the second.
            let ops = |t: &str| -> String {
                t.split("<h2>Operations (")
                    .nth(1)
                    .unwrap_or_default()
                    .into()
            };
            let rows = |t: &str| ops(t).matches("<td class=\"dn\">").count();
            let n = rows(&t);
            assert!(n > 0, "{t}");
            assert!(ops(&t).starts_with(&format!("{n})</h2>")), "{t}");
            let p2 = client
                .get(format!("{}/history/1?page=2", demo.url))
                .header("cookie", &session)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(ops(&p2).starts_with(&format!("{n})</h2>")), "{p2}");
            assert_eq!(rows(&p2), 0, "{p2}");
        }
        if page == "/objects" {
            // The demo's first sync created the objects: verified then.
            assert!(
                t.contains("id=\"synced-objects\"") && t.contains("Last verified"),
                "{t}"
            );
            assert!(t.contains("<td class=\"verified\">20"), "{t}");
            assert!(!t.contains("<td class=\"verified\">never"), "{t}");
        }
    }
    let m = client
        .get(format!("{}/metrics", demo.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("dirsync_runs_total{status=\"errors\"}"), "{m}");
    stop_with_sigint(demo);
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_sync_now_history_error_solution_csrf() {
    let Some(browser) = testkit::chrome::Browser::start().await else {
        return;
    };
    let b = browser.expect("start chromedriver and Chromium");
    let demo = start_demo();
    let shots = shots_dir();

    // 1. The dashboard.
    b.goto(&format!("{}/", demo.url)).await.unwrap();
    b.wait_for_text("Last sync", Duration::from_secs(30))
        .await
        .unwrap();
    let text = b.body_text().await.unwrap();
    assert!(
        text.contains("Dashboard") && text.contains("run #1"),
        "{text}"
    );
    b.screenshot(&shots.join("01-dashboard.png")).await.unwrap();

    // 2. Sync now, then the new run appears (the page follows progress and refreshes itself).
    let button = b.find("#sync-now").await.unwrap();
    b.click(&button).await.unwrap();
    b.wait_for_text("Last sync: run #2", Duration::from_secs(60))
        .await
        .unwrap();
    b.screenshot(&shots.join("02-after-sync-now.png"))
        .await
        .unwrap();
    let history = b.find_link("Sync History").await.unwrap();
    b.click(&history).await.unwrap();
    b.wait_for_text("#2", Duration::from_secs(30))
        .await
        .unwrap();
    let text = b.body_text().await.unwrap();
    assert!(
        text.contains("ui") && text.contains("#1") && text.contains("demo"),
        "{text}"
    );
    b.screenshot(&shots.join("03-history.png")).await.unwrap();

    // 3. Drill down into run 1 and open an error: its solution text is shown.
    b.click(&b.find_link("#1").await.unwrap()).await.unwrap();
    b.wait_for_text("Operations", Duration::from_secs(30))
        .await
        .unwrap();
    b.screenshot(&shots.join("04-run-detail.png"))
        .await
        .unwrap();
    b.click(&b.find_link("Errors").await.unwrap())
        .await
        .unwrap();
    b.wait_for_text("Affected objects", Duration::from_secs(30))
        .await
        .unwrap();
    b.screenshot(&shots.join("05-errors.png")).await.unwrap();
    b.click(&b.find_link("DS004").await.unwrap()).await.unwrap();
    let solution = Code::DomainNotAuthorized.definition().solution[0];
    b.wait_for_text(solution, Duration::from_secs(30))
        .await
        .unwrap();
    let text = b.body_text().await.unwrap();
    assert!(
        text.contains("CN=Erin Evans,OU=Staff,DC=example,DC=com"),
        "{text}"
    );
    b.screenshot(&shots.join("06-error-DS004.png"))
        .await
        .unwrap();

    // 4. A POST without the CSRF token, from the page itself (same origin, session cookie sent): refused.
    let status = b
        .execute(
            "return fetch('/sync', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'kind=full'}).then(r => r.status);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status.as_u64(), Some(403), "{status}");

    // The other pages render in the browser too.
    for (link, needle, shot) in [
        ("Preview", "Nothing has been applied", "07-preview.png"),
        ("Settings", "[redacted]", "08-settings.png"),
    ] {
        b.click(&b.find_link(link).await.unwrap()).await.unwrap();
        b.wait_for_text(needle, Duration::from_secs(30))
            .await
            .unwrap();
        b.screenshot(&shots.join(shot)).await.unwrap();
    }
    drop(b);
    stop_with_sigint(demo);
}
