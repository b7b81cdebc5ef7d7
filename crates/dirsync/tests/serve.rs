//! `dirsync serve` through the real binary: the cross-process lock,
//! /healthz, /metrics, the scheduler, and graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn base_cmd(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dirsync"));
    c.current_dir(dir)
        .env_remove("DIRSYNC_CONFIG")
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("DIRSYNC_") && !k.starts_with("DIRSYNC_TEST") {
            c.env_remove(k);
        }
    }
    c.env("DIRSYNC_API_SECRET_KEY", "not-a-real-secret");
    c
}

/// A config whose API points at a closed port: syncs fail (exit 2), the service keeps running.
fn write_config(dir: &std::path::Path) {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/sample.ldif");
    std::fs::write(
        dir.join("dirsync.toml"),
        format!(
            "[directory]\nsource = \"ldif\"\nldif_path = \"{sample}\"\nexchange_group = \"Exchange Users\"\n\
[api]\nurl = \"http://127.0.0.1:9\"\nuser_key = \"k\"\naccount = \"1\"\ntimeout = \"2s\"\n\
[engine.retry]\nmax_attempts = 1\n[schedule]\ninterval = \"1s\"\n[ui]\nlisten = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
}

struct Serve {
    child: Child,
    addr: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_serve(dir: &std::path::Path) -> Serve {
    let mut child = base_cmd(dir)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("web UI on http://").nth(1) {
                let _ = tx.send(
                    rest.trim_end_matches(|c: char| c != '/' && !c.is_ascii_digit())
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .to_string(),
                );
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve printed its address");
    Serve { child, addr }
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_health_metrics_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let mut first = start_serve(dir.path());

    // A second service on the same state store refuses: one sync at a time, across processes.
    let o = base_cmd(dir.path()).args(["serve"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another dirsync process")
            && err.contains(&format!("(pid {})", first.child.id())),
        "{err}"
    );
    // So does a one-off sync.
    let o = base_cmd(dir.path()).args(["sync"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another dirsync process"));

    let (code, body) = get(&format!("http://{}/healthz", first.addr)).await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");

    // The scheduler runs every second; each run fails (closed API port) and is counted.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, m) = get(&format!("http://{}/metrics", first.addr)).await;
        assert_eq!(code, 200);
        // OpenMetrics: the counter family is `dirsync_runs`, its sample `dirsync_runs_total`.
        assert!(m.contains("# TYPE dirsync_runs counter"), "{m}");
        assert!(m.contains("dirsync_up 1"));
        let failed: u64 = m
            .lines()
            .find(|l| l.starts_with("dirsync_runs_total{status=\"failed\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if failed >= 2 {
            assert!(m.contains("dirsync_last_run_exit_code 2"), "{m}");
            // Each failed run is timed, and so is each API attempt (no answer: `error`).
            let value = |key: &str| -> u64 {
                m.lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let runs = value("dirsync_run_duration_seconds_count{kind=\"full\"}")
                + value("dirsync_run_duration_seconds_count{kind=\"incremental\"}");
            assert!(runs >= 2, "{m}");
            assert!(
                value(
                    "dirsync_api_request_duration_seconds_count{method=\"GET\",outcome=\"error\"}"
                ) >= 2,
                "{m}"
            );
            assert!(!m.contains("not-a-real-secret"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduler did not run twice within 60s:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // SIGTERM: graceful stop with exit 0, and the lock is released.
    let pid = first.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = first.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop within 60s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0));
    let second = start_serve(dir.path());
    let (code, _) = get(&format!("http://{}/healthz", second.addr)).await;
    assert_eq!(code, 200);
}
