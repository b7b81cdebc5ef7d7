//! A real third-party client against officed: rackmail 0.6.0 from PyPI,
//! unmodified, run command by command as its CLI would (see
//! `tests/rackmail/drive.py`). rackmail sends to the fixed host
//! `https://api.emailsrvr.com`; `tests/rackmail/tls_redirect.py` answers that
//! host on loopback with a scratch CA the client is told to trust
//! (`HTTPS_PROXY`, `REQUESTS_CA_BUNDLE`) and forwards to officed.
//!
//! Needs `DIRSYNC_TEST_RACKMAIL_PYTHON`: a Python with rackmail==0.6.0
//! installed (`bash scripts/test` makes one in `.scratch/rackmail`). Under
//! `CI=true` the test fails without it; elsewhere it says so and returns.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use testkit::officed::{Officed, OfficedOptions};

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/rackmail")
}

/// Kills the redirect when the test ends, however it ends.
struct Redirect(Child);
impl Drop for Redirect {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Run<'a> {
    python: &'a Path,
    officed: &'a Officed,
    proxy: String,
    ca: String,
    work: &'a Path,
}

impl Run<'_> {
    /// Runs one rackmail command; returns its printed result object.
    fn cmd(&self, args: &[&str]) -> Value {
        // rackmail takes the X-Api-Signature value itself from the
        // environment, signed for its User-Agent "rackmailcli".
        let sig = self
            .officed
            .sign_header("rackmailcli")
            .expect("officed sign");
        let out = Command::new(self.python)
            .arg(scripts().join("drive.py"))
            .args(args)
            .current_dir(self.work)
            .env("RACKSPACE_API_HEADER", sig)
            .env("RACKSPACE_CUSTOMER_ID", &self.officed.account_number)
            .env("HTTPS_PROXY", &self.proxy)
            .env("NO_PROXY", "")
            .env("REQUESTS_CA_BUNDLE", &self.ca)
            .output()
            .expect("run rackmail");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "rackmail {args:?} failed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        // create_login_token prints the webmail URL setting first.
        let start = stdout
            .find('{')
            .unwrap_or_else(|| panic!("rackmail {args:?}: {stdout}"));
        serde_json::from_str(&stdout[start..])
            .unwrap_or_else(|e| panic!("rackmail {args:?} printed no result ({e}): {stdout}"))
    }

    /// Runs a command and asserts rackmail reports `status`.
    #[track_caller]
    fn expect(&self, args: &[&str], status: u64) -> Value {
        let v = self.cmd(args);
        assert_eq!(v["Status"], status, "rackmail {args:?}: {v}");
        v
    }
}

fn python_minor(python: &Path) -> u32 {
    let out = Command::new(python)
        .args(["-c", "import sys; print(sys.version_info[1])"])
        .output()
        .expect("python runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn rackmail_0_6_0_runs_against_officed() {
    let Some(python) = std::env::var_os("DIRSYNC_TEST_RACKMAIL_PYTHON").map(PathBuf::from) else {
        assert!(
            !testkit::in_ci(),
            "DIRSYNC_TEST_RACKMAIL_PYTHON is required under CI (bash scripts/test sets it)"
        );
        eprintln!("DIRSYNC_TEST_RACKMAIL_PYTHON not set: rackmail is not run");
        return;
    };
    let officed = Officed::start_with(
        Path::new(env!("CARGO_BIN_EXE_officed")),
        OfficedOptions::default(),
    )
    .expect("start officed");
    let work = tempfile::tempdir().unwrap();
    let mut child = Command::new(&python)
        .arg(scripts().join("tls_redirect.py"))
        .arg(&officed.addr)
        .arg(work.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the redirect");
    let mut line = String::new();
    {
        use std::io::BufRead;
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
    }
    let _redirect = Redirect(child);
    let (port, ca) = line
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("redirect did not start: {line:?}"));
    let run = Run {
        python: &python,
        officed: &officed,
        proxy: format!("http://127.0.0.1:{port}"),
        ca: ca.to_string(),
        work: work.path(),
    };
    let (e, d) = ("email=jo.smith", "domain=example.com");

    run.expect(&["createuser", e, d, "password=Temp-Pass-123"], 200);
    let m = run.expect(&["getmailbox", e, d], 200);
    assert_eq!(m["Text"]["name"], "jo.smith", "{m}");
    assert_eq!(m["Text"]["enabled"], true, "{m}");
    run.expect(&["setpassword", e, d, "password=Other-Pass-456"], 200);
    run.expect(&["disableuser", e, d], 200);
    assert_eq!(
        run.expect(&["getmailbox", e, d], 200)["Text"]["enabled"],
        false
    );
    run.expect(&["enableuser", e, d], 200);
    assert_eq!(
        run.expect(&["getmailbox", e, d], 200)["Text"]["enabled"],
        true
    );
    run.expect(
        &["set", e, d, "property=displayName", "value=Jo Smith"],
        200,
    );
    assert_eq!(
        run.expect(&["getmailbox", e, d], 200)["Text"]["displayName"],
        "Jo Smith"
    );
    // A property the API does not document: refused, naming it.
    let v = run.expect(
        &["set", e, d, "property=BusinessUnit", "value=WaffleOps"],
        400,
    );
    assert!(v["Text"].to_string().contains("BusinessUnit"), "{v}");
    run.expect(&["createuser", "email=second", d], 200);

    // listall: one page with fields=, and the whole list to a file (which
    // reads `total` and pages by 250).
    let l = run.expect(
        &[
            "listall",
            d,
            "page=0",
            "fields=size,currentUsage,enabled,createdDate,lastLogin",
        ],
        200,
    );
    let items = l["Text"]["rsMailboxes"].as_array().expect("rsMailboxes");
    assert_eq!(items.len(), 2, "{l}");
    assert_eq!(items[0]["name"], "jo.smith");
    assert!(
        items[0].get("size").is_some() && items[0].get("createdDate").is_some(),
        "{l}"
    );
    let file = work.path().join("all.json");
    let out = format!("output={}", file.display());
    run.expect(&["listall", d, &out], 200);
    let all: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");

    // createlogintoken needs Python 3.12 syntax (rackmail's own code).
    if python_minor(&python) >= 12 {
        let t = run.expect(
            &["createlogintoken", e, d, "webmail_url=mail.example.com"],
            200,
        );
        assert!(
            t["Text"]["token"].as_str().is_some_and(|s| !s.is_empty()),
            "{t}"
        );
    } else {
        eprintln!("Python < 3.12: rackmail's createlogintoken cannot be loaded; skipped");
    }

    run.expect(&["deleteuser", e, d], 200);
    run.expect(&["getmailbox", e, d], 404);
}
