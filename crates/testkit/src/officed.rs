//! Fixture: a real `officed` process on a free loopback port, with a fresh
//! database and a sample account made through the admin CLI.
//!
//! ```no_run
//! use testkit::officed::{Officed, OfficedOptions};
//! let o = Officed::start(OfficedOptions::default()).unwrap();
//! // o.base_url      = "http://127.0.0.1:PORT/v1"
//! // o.account_number, o.user_key, o.secret (sign requests with
//! //   cloudoffice_api::signing, or o.sign_header(user_agent))
//! // o.admin(&["domain", "licences", "--name", "example.com", "--exchange", "1"])
//! // dropped: the process is killed and its temporary directory removed.
//! ```
//!
//! The binary: [`officed_bin`] uses `OFFICED_BIN` if set; else the
//! `officed` in the running test's target directory when it is newer than
//! every file of `crates/officed` and `crates/cloudoffice-api` (`cargo test
//! --workspace` builds it); else it runs `cargo build -p officed --bin
//! officed` once per test process into that target directory. So it works
//! from any crate's tests. Inside officed's own tests, pass
//! `env!("CARGO_BIN_EXE_officed")` to [`Officed::start_with`].
//!
//! The database: a SQLite file in the fixture's temporary directory, or the
//! PostgreSQL URL in [`OfficedOptions::database_url`] (give each test its own
//! database: see [`create_postgres_database`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

/// One domain of the sample account.
#[derive(Debug, Clone)]
pub struct DomainSpec {
    pub name: String,
    /// `exchange`, `rsemail` or `both`.
    pub service: String,
    pub exchange_licences: u32,
    pub rsemail_licences: u32,
    pub aliases: Vec<String>,
    /// Must be domains created earlier in the list (same customer).
    pub accepted: Vec<String>,
}

impl DomainSpec {
    pub fn new(name: &str, service: &str, exchange_licences: u32, rsemail_licences: u32) -> Self {
        DomainSpec {
            name: name.into(),
            service: service.into(),
            exchange_licences,
            rsemail_licences,
            aliases: vec![],
            accepted: vec![],
        }
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct OfficedOptions {
    /// `None`: a SQLite file in the temporary directory.
    pub database_url: Option<String>,
    pub account_number: String,
    /// Created in order. Default: `example.org` (exchange, 5) then
    /// `example.com` (both, 25 Exchange + 10 Rackspace Email licences,
    /// alias `example.net`, accepted domain `example.org`).
    pub domains: Vec<DomainSpec>,
    /// Extra `serve` flags, e.g. `["--throttle", "cloud-office"]`.
    pub serve_args: Vec<String>,
    /// Issue the fixture's key with the rename permission
    /// (`key issue --allow-rename`), so it may call the administrator's
    /// mailbox rename. Default `false`: an ordinary key.
    pub allow_rename: bool,
}

impl Default for OfficedOptions {
    fn default() -> Self {
        let mut com = DomainSpec::new("example.com", "both", 25, 10);
        com.aliases = vec!["example.net".into()];
        com.accepted = vec!["example.org".into()];
        OfficedOptions {
            database_url: None,
            account_number: "100001".into(),
            domains: vec![DomainSpec::new("example.org", "exchange", 5, 0), com],
            serve_args: vec![],
            allow_rename: false,
        }
    }
}

/// A running officed; killed on drop.
pub struct Officed {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub account_number: String,
    pub domains: Vec<String>,
    pub user_key: String,
    pub secret: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    bin: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The `officed` binary for tests of any crate (see the module docs).
pub fn officed_bin() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("OFFICED_BIN") {
        return Ok(PathBuf::from(p));
    }
    BUILT
        .get_or_init(|| build_officed().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

fn build_officed() -> anyhow::Result<PathBuf> {
    // The test executable is TARGET/PROFILE/deps/NAME-HASH.
    let exe = std::env::current_exe().context("cannot locate the test executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("unexpected test executable path {}", exe.display()))?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| anyhow!("unexpected test executable path {}", exe.display()))?;
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let bin = profile_dir.join(format!("officed{}", std::env::consts::EXE_SUFFIX));
    // `cargo test --workspace` has already built it: use it when it is newer
    // than every source it is made of (a nested `cargo build -p officed`
    // could unify features differently and rebuild dependencies).
    if let Ok(built) = std::fs::metadata(&bin).and_then(|m| m.modified()) {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let newest = ["officed", "cloudoffice-api"]
            .iter()
            .map(|c| newest_mtime(&crates.join(c)))
            .max()
            .flatten();
        if newest.is_some_and(|n| n <= built) {
            return Ok(bin);
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-q", "-p", "officed", "--bin", "officed"])
        .env("CARGO_TARGET_DIR", target_dir);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().context("cannot run cargo to build officed")?;
    if !status.success() && !bin.exists() {
        bail!("cargo build -p officed failed ({status})");
    }
    Ok(bin)
}

fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        let t = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(t);
    }
    newest
}

fn run_admin(bin: &Path, data_dir: &Path, db: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args(args)
        .env("OFFICED_DATABASE_URL", db)
        .env("OFFICED_DATA_DIR", data_dir)
        .env_remove("OFFICED_MASTER_KEY")
        .env("RUST_LOG", "warn")
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "officed {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Officed {
    /// Starts the binary found by [`officed_bin`].
    pub fn start(opts: OfficedOptions) -> anyhow::Result<Officed> {
        Self::start_with(&officed_bin()?, opts)
    }

    /// Starts this binary: creates the account with the admin CLI, serves on
    /// `127.0.0.1:0`, reads the bound port from its stderr, and waits until
    /// `GET /healthz` answers 200 (at most 30 s).
    pub fn start_with(bin: &Path, opts: OfficedOptions) -> anyhow::Result<Officed> {
        let dir = tempfile::Builder::new()
            .prefix("officed-fixture-")
            .tempdir()?;
        let data_dir = dir.path().to_path_buf();
        let db = opts
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("officed.db").display()));
        let admin = |args: &[&str]| run_admin(bin, &data_dir, &db, args);
        admin(&[
            "customer",
            "create",
            "--account",
            &opts.account_number,
            "--name",
            "Fixture Customer",
        ])?;
        for d in &opts.domains {
            let ex = d.exchange_licences.to_string();
            let rs = d.rsemail_licences.to_string();
            let mut args = vec![
                "domain",
                "create",
                "--customer",
                &opts.account_number,
                "--name",
                &d.name,
                "--service",
                &d.service,
                "--exchange-licences",
                &ex,
                "--rsemail-licences",
                &rs,
            ];
            for a in &d.aliases {
                args.extend(["--alias", a]);
            }
            for a in &d.accepted {
                args.extend(["--accepted", a]);
            }
            admin(&args)?;
        }
        let mut key_args = vec![
            "key",
            "issue",
            "--customer",
            &opts.account_number,
            "--label",
            "fixture",
            "--plain",
        ];
        if opts.allow_rename {
            key_args.push("--allow-rename");
        }
        let key = admin(&key_args)?;
        let (user_key, secret) = key
            .trim()
            .split_once(' ')
            .ok_or_else(|| anyhow!("unexpected key issue output"))?;
        let mut child = Command::new(bin)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(&opts.serve_args)
            .env("OFFICED_DATABASE_URL", &db)
            .env("OFFICED_DATA_DIR", &data_dir)
            .env_remove("OFFICED_MASTER_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(url) = line.strip_prefix("officed listening on ") {
                        let _ = tx.send(url.trim().to_string());
                        sent = true;
                        continue;
                    }
                }
                eprintln!("[officed] {line}");
            }
        });
        let base_url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("officed did not report its listening address within 30 s");
            }
        };
        let addr = base_url
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
            .to_string();
        let mut o = Officed {
            base_url,
            addr,
            account_number: opts.account_number.clone(),
            domains: opts.domains.iter().map(|d| d.name.clone()).collect(),
            user_key: user_key.to_string(),
            secret: secret.to_string(),
            database_url: db.clone(),
            data_dir,
            bin: bin.to_path_buf(),
            child,
            _dir: dir,
        };
        o.wait_healthy(Duration::from_secs(30))?;
        Ok(o)
    }

    fn wait_healthy(&mut self, limit: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("officed exited before becoming healthy ({status})");
            }
            if self.healthz().unwrap_or(false) {
                return Ok(());
            }
            if start.elapsed() > limit {
                bail!("officed at {} was not healthy within {limit:?}", self.addr);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET /healthz` answered 200.
    pub fn healthz(&self) -> anyhow::Result<bool> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(s, "GET /healthz HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr)?;
        let mut buf = String::new();
        s.read_to_string(&mut buf)?;
        Ok(buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200"))
    }

    /// Runs an admin command against this instance's database and data
    /// directory (e.g. `["domain", "licences", "--name", "example.com", "--exchange", "3"]`).
    pub fn admin(&self, args: &[&str]) -> anyhow::Result<String> {
        run_admin(&self.bin, &self.data_dir, &self.database_url, args)
    }

    /// An `X-Api-Signature` value for this key and User-Agent, made now by
    /// `officed sign` (valid for the signature window, 10 minutes).
    pub fn sign_header(&self, user_agent: &str) -> anyhow::Result<String> {
        let out = Command::new(&self.bin)
            .args([
                "sign",
                "--user-key",
                &self.user_key,
                "--user-agent",
                user_agent,
            ])
            .env("OFFICED_SECRET", &self.secret)
            .output()?;
        if !out.status.success() {
            bail!(
                "officed sign failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The process id (for tests that signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Officed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a uniquely named database on the test PostgreSQL (from
/// `crate::postgres::url()`) and returns its URL, or `None` outside CI when
/// PostgreSQL is not configured. Uses the `psql` client (installed with
/// PostgreSQL by `scripts/test`). Databases are named `t_<prefix>_<pid>_<n>_<nanos>`.
pub fn create_postgres_database(prefix: &str) -> Option<String> {
    let base = crate::postgres::url()?;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "t_{}_{}_{}_{}",
        prefix
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase(),
        std::process::id(),
        n,
        nanos
    );
    let out = Command::new("psql")
        .arg(&base)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("cannot run psql (install postgresql-client)");
    assert!(
        out.status.success(),
        "CREATE DATABASE {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (head, _) = base
        .rsplit_once('/')
        .expect("PostgreSQL URL has a database path");
    Some(format!("{head}/{name}"))
}

/// Drops a database made by [`create_postgres_database`] (best effort).
pub fn drop_postgres_database(url: &str) {
    let Some(base) = crate::postgres::url() else {
        return;
    };
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    let _ = Command::new("psql")
        .arg(&base)
        .args([
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ])
        .output();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The locate-or-build path other crates' tests rely on: builds officed
    /// into this test's target directory, starts it, and checks health.
    #[test]
    fn builds_and_starts_officed() {
        let bin = officed_bin().expect("officed builds");
        assert!(bin.exists(), "{}", bin.display());
        let o = Officed::start_with(&bin, OfficedOptions::default()).expect("officed starts");
        assert!(o.base_url.starts_with("http://127.0.0.1:") && o.base_url.ends_with("/v1"));
        assert_eq!(o.domains, ["example.org", "example.com"]);
        assert!(o.healthz().unwrap());
        let listed = o.admin(&["key", "list"]).unwrap();
        assert!(listed.contains(&o.user_key) && !listed.contains(&o.secret));
        let header = o.sign_header("fixture").unwrap();
        assert!(header.starts_with(&format!("{}:", o.user_key)));
    }
}
