//! Embedding: start officed in-process (for `officed serve`, `officed demo`
//! and programs such as `dirsync demo`), and create a sample account.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let svc = officed::Service::start(officed::Config::sqlite_in(dir.path(), "127.0.0.1:0".parse()?)).await?;
//! let sample = officed::sample_account(&svc, "100001").await?;
//! println!("{} user key {}", svc.base_url(), sample.user_key);
//! svc.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cloudoffice_api::{Secret, ServiceType};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::admin::{self, NewDomain};
use crate::api::{app, ApiConfig, AppState};
use crate::crypto::MasterKey;
use crate::db::Db;

/// What to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address; port 0 picks a free one (see [`RunningService::addr`]).
    pub bind: SocketAddr,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Holds the master key file (unless `OFFICED_MASTER_KEY` is set) and the default SQLite file.
    pub data_dir: PathBuf,
    /// API settings (signature window, throttling).
    pub api: ApiConfig,
    /// Connection cap, header-read timeout and request-head limits.
    pub limits: crate::serve::Limits,
}

impl Config {
    /// A SQLite database `officed.db` in `data_dir`.
    pub fn sqlite_in(data_dir: &Path, bind: SocketAddr) -> Self {
        Config {
            bind,
            database_url: sqlite_url(&data_dir.join("officed.db")),
            data_dir: data_dir.to_path_buf(),
            api: ApiConfig::default(),
            limits: crate::serve::Limits::default(),
        }
    }
}

/// `sqlite://` URL for a file path.
///
/// The path is percent-encoded byte by byte (all but `A-Z a-z 0-9 - . _ ~ /`),
/// never pasted in as is: a Windows path such as `C:\ProgramData\officed.db`
/// is not a valid URL body, and a `?` or `#` in a name would cut it short.
/// sqlx's SQLite driver decodes it back to the same path.
pub fn sqlite_url(path: &Path) -> String {
    let mut out = String::from("sqlite://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Why the service did not start (the text is shown to the user as is).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// A running officed.
pub struct RunningService {
    addr: SocketAddr,
    db: Db,
    master: MasterKey,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Entry point for embedding.
pub struct Service;

impl Service {
    /// Opens and migrates the database, loads (or creates) the master key,
    /// binds, and serves until [`RunningService::shutdown`].
    pub async fn start(config: Config) -> Result<RunningService, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            StartError(format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let db = Db::open(&config.database_url).await.map_err(StartError)?;
        let master = MasterKey::load_or_create(&config.data_dir).map_err(StartError)?;
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|e| StartError(format!("cannot listen on {}: {e}", config.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError(format!("cannot read the listening address: {e}")))?;
        let router = crate::serve::outer_layers(
            app(AppState::new(
                db.clone(),
                master.clone(),
                config.api.clone(),
            )),
            config.limits.max_uri_bytes,
        );
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::serve::serve(listener, router, config.limits, rx));
        Ok(RunningService {
            addr,
            db,
            master,
            shutdown: Some(tx),
            task,
        })
    }
}

impl RunningService {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://ADDR/v1`, the API base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
    /// The database (for [`crate::admin`] functions).
    pub fn db(&self) -> &Db {
        &self.db
    }
    /// The master key (for [`crate::admin::issue_key`]).
    pub fn master_key(&self) -> &MasterKey {
        &self.master
    }
    /// Sets a domain's licence counts (`None` keeps one), as the operator's
    /// admin command does: for demos and tests that need a domain short of
    /// licences.
    pub async fn set_licences(
        &self,
        domain: &str,
        exchange: Option<u32>,
        rsemail: Option<u32>,
    ) -> crate::Result<()> {
        admin::set_licences(&self.db, domain, exchange, rsemail)
            .await
            .map(|_| ())
    }
    /// Stops accepting, finishes in-flight requests, and waits.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    }
}

/// The sample account made by [`sample_account`].
#[derive(Debug, Clone)]
pub struct SampleAccount {
    pub account_number: String,
    /// `example.com`: both services, 25 Exchange and 10 Rackspace Email
    /// licences, domain alias `example.net`, accepted domain `example.org`.
    pub primary_domain: String,
    /// `example.org`: Exchange only, 5 licences.
    pub secondary_domain: String,
    pub user_key: String,
    pub secret: Secret,
}

/// Creates customer `account_number` with the sample domains and one API key.
pub async fn sample_account(
    svc: &RunningService,
    account_number: &str,
) -> crate::Result<SampleAccount> {
    sample_account_in(svc.db(), svc.master_key(), account_number).await
}

/// [`sample_account`] on a database directly.
pub async fn sample_account_in(
    db: &Db,
    master: &MasterKey,
    account_number: &str,
) -> crate::Result<SampleAccount> {
    admin::create_customer(db, account_number, "Example Corporation").await?;
    admin::create_domain(
        db,
        &NewDomain {
            customer: account_number.into(),
            name: "example.org".into(),
            service_type: ServiceType::Exchange,
            exchange_licences: 5,
            rsemail_licences: 0,
            aliases: vec![],
            accepted: vec![],
        },
    )
    .await?;
    admin::create_domain(
        db,
        &NewDomain {
            customer: account_number.into(),
            name: "example.com".into(),
            service_type: ServiceType::Both,
            exchange_licences: 25,
            rsemail_licences: 10,
            aliases: vec!["example.net".into()],
            accepted: vec!["example.org".into()],
        },
    )
    .await?;
    let key = admin::issue_key(db, master, account_number, "sample").await?;
    Ok(SampleAccount {
        account_number: account_number.into(),
        primary_domain: "example.com".into(),
        secondary_domain: "example.org".into(),
        user_key: key.user_key,
        secret: key.secret,
    })
}
