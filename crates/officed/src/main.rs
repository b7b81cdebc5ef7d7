//! The `officed` command line: `serve`, `demo`, and administrator commands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use cloudoffice_api::{signing, Secret, ServiceType};
use officed::admin::{self, NewDomain};
use officed::crypto::MasterKey;
use officed::{ApiConfig, Config, Db, Service, ThrottleLimits};

#[derive(Parser)]
#[command(
    name = "officed",
    version,
    about = "The hosted-email control panel service (Cloud Office-shaped REST API)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Storage {
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB
    /// [default: sqlite://DATA_DIR/officed.db]
    #[arg(long, env = "OFFICED_DATABASE_URL")]
    database: Option<String>,
    /// Data directory: the master key file (unless OFFICED_MASTER_KEY is set) and the default SQLite database.
    #[arg(long, env = "OFFICED_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl Storage {
    fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            // Windows: %LOCALAPPDATA%\officed, where per-user program data goes.
            #[cfg(windows)]
            if let Some(d) = std::env::var_os("LOCALAPPDATA").filter(|v| !v.is_empty()) {
                return PathBuf::from(d).join("officed");
            }
            match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
                Some(x) => PathBuf::from(x).join("officed"),
                None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                    Some(h) => PathBuf::from(h).join(".local/share/officed"),
                    None => PathBuf::from("officed-data"),
                },
            }
        })
    }
    fn url(&self) -> anyhow::Result<String> {
        match &self.database {
            Some(u) => Ok(u.clone()),
            None => {
                let dir = self.data_dir();
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create data directory {}", dir.display()))?;
                Ok(officed::service::sqlite_url(&dir.join("officed.db")))
            }
        }
    }
    async fn open(&self) -> anyhow::Result<Db> {
        Db::open(&self.url()?).await.map_err(|e| anyhow!(e))
    }
    fn master(&self) -> anyhow::Result<MasterKey> {
        MasterKey::load_or_create(&self.data_dir()).map_err(|e| anyhow!(e))
    }
}

/// The services a new domain offers (`--service`).
#[derive(Clone, Copy, ValueEnum)]
enum DomainServices {
    Exchange,
    Rsemail,
    Both,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum MailboxService {
    Exchange,
    Rsemail,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (migrations run at start).
    Serve {
        /// Listen address.
        #[arg(long, env = "OFFICED_BIND", default_value = "127.0.0.1:8070")]
        bind: SocketAddr,
        #[command(flatten)]
        storage: Storage,
        /// Throttling per key per minute: 'off', 'cloud-office' (60 GETs, 30 writes, 2 domain writes, 2 alternate-domain writes), or 'GETS,WRITES[,DOMAIN,ALTERNATE]' (the last two default to 2).
        #[arg(long, env = "OFFICED_THROTTLE", default_value = "off", value_parser = parse_throttle)]
        throttle: Throttle,
        /// Accepted X-Api-Signature clock difference, in seconds.
        #[arg(long, env = "OFFICED_SIGNATURE_WINDOW", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=86400))]
        signature_window: u32,
        /// Connections open at once; at the cap the oldest connection without a complete request makes room, else the new one is refused (503).
        #[arg(long, env = "OFFICED_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        max_connections: u32,
        /// Seconds a client has to send a complete request head before its connection is closed.
        #[arg(long, env = "OFFICED_HEADER_TIMEOUT", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=3600))]
        header_timeout: u32,
    },
    /// Start on 127.0.0.1 with a temporary database and a sample account; runs until Ctrl-C.
    Demo {
        /// Port on 127.0.0.1.
        #[arg(long, env = "OFFICED_DEMO_PORT", default_value_t = 8070)]
        port: u16,
    },
    /// Customers.
    #[command(subcommand)]
    Customer(CustomerCmd),
    /// Domains and licences.
    #[command(subcommand)]
    Domain(DomainCmd),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Rename a mailbox (changes its Service ID; logged in the audit log).
    RenameMailbox {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        domain: String,
        #[arg(long, value_enum)]
        service: MailboxService,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Show the most recent audit log entries (JSON lines).
    Audit {
        #[command(flatten)]
        storage: Storage,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Print an X-Api-Signature header value for now (secret from OFFICED_SECRET).
    Sign {
        #[arg(long)]
        user_key: String,
        #[arg(long, default_value = "officed-cli")]
        user_agent: String,
        #[arg(long, env = "OFFICED_SECRET", hide_env_values = true)]
        secret: String,
    },
    /// Print the OpenAPI document (as committed in docs/openapi.json).
    Openapi,
}

#[derive(Clone, Copy, Debug)]
enum Throttle {
    Off,
    On(ThrottleLimits),
}

fn parse_throttle(s: &str) -> Result<Throttle, String> {
    match s {
        "off" => Ok(Throttle::Off),
        "cloud-office" => Ok(Throttle::On(ThrottleLimits::CLOUD_OFFICE)),
        other => {
            let bad = || {
                format!("'{other}' is not a throttle setting: use off, cloud-office, or GETS,WRITES[,DOMAIN,ALTERNATE] (per minute, e.g. 120,60 or 120,60,4,4)")
            };
            let n: Vec<u32> = other
                .split(',')
                .map(|v| v.trim().parse::<u32>().map_err(|_| bad()))
                .collect::<Result<_, _>>()?;
            if !(n.len() == 2 || n.len() == 4) || n.contains(&0) {
                return Err(bad());
            }
            let d = ThrottleLimits::CLOUD_OFFICE;
            Ok(Throttle::On(ThrottleLimits {
                gets_per_minute: n[0],
                writes_per_minute: n[1],
                domain_writes_per_minute: n.get(2).copied().unwrap_or(d.domain_writes_per_minute),
                alternate_domain_writes_per_minute: n
                    .get(3)
                    .copied()
                    .unwrap_or(d.alternate_domain_writes_per_minute),
            }))
        }
    }
}

#[derive(Subcommand)]
enum CustomerCmd {
    /// Create a customer.
    Create {
        #[command(flatten)]
        storage: Storage,
        /// Account number (1-32 of A-Z a-z 0-9 -; not 'me').
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
    },
    /// List customers: account number, name, domains, active API keys.
    List {
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum DomainCmd {
    /// Create a domain for a customer.
    Create {
        #[command(flatten)]
        storage: Storage,
        /// Owning customer's account number.
        #[arg(long)]
        customer: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        service: DomainServices,
        #[arg(long, default_value_t = 0)]
        exchange_licences: u32,
        #[arg(long, default_value_t = 0)]
        rsemail_licences: u32,
        /// Domain alias (repeatable): every object gets local@alias automatically.
        #[arg(long = "alias")]
        aliases: Vec<String>,
        /// Accepted domain for alternate addresses (repeatable): another domain of the same customer.
        #[arg(long = "accepted")]
        accepted: Vec<String>,
    },
    /// List domains: name, customer, service, Exchange and Rackspace Email mailboxes used/licences.
    List {
        #[command(flatten)]
        storage: Storage,
        /// Only this customer's (account number).
        #[arg(long)]
        customer: Option<String>,
    },
    /// Change purchased licences.
    Licences {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        name: String,
        #[arg(long)]
        exchange: Option<u32>,
        #[arg(long)]
        rsemail: Option<u32>,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Issue an API key; the secret is shown once.
    Issue {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        customer: String,
        #[arg(long, default_value = "")]
        label: String,
        /// Print `user_key secret` on one line (for scripts).
        #[arg(long)]
        plain: bool,
        /// Let this key call the administrator's mailbox rename
        /// (POST .../mailboxes/NAME/rename), which changes Service IDs.
        #[arg(long)]
        allow_rename: bool,
        /// Let this key add, edit and delete its own customer's domains and
        /// their alternate domains (the documented "Reseller Only" operations).
        #[arg(long)]
        allow_domain_admin: bool,
    },
    /// Revoke an API key.
    Revoke {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        user_key: String,
    },
    /// List API keys (never secrets): user key, customer, state, permissions, label.
    List {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        customer: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("officed=info,warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    }
    #[cfg(windows)]
    {
        // Ctrl-C, closing the console window, or the system shutting down.
        let mut close = tokio::signal::windows::ctrl_close().ok();
        let mut shutdown = tokio::signal::windows::ctrl_shutdown().ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match close.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {}
            _ = async { match shutdown.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            bind,
            storage,
            throttle,
            signature_window,
            max_connections,
            header_timeout,
        } => {
            let config = Config {
                bind,
                database_url: storage.url()?,
                data_dir: storage.data_dir(),
                api: ApiConfig {
                    signature_window: time::Duration::seconds(i64::from(signature_window)),
                    throttle: match throttle {
                        Throttle::Off => None,
                        Throttle::On(l) => Some(l),
                    },
                },
                limits: officed::serve::Limits {
                    max_connections: max_connections as usize,
                    header_read_timeout: std::time::Duration::from_secs(header_timeout.into()),
                    ..Default::default()
                },
            };
            if !bind.ip().is_loopback() {
                tracing::warn!(%bind, "listening beyond loopback without TLS: put a TLS-terminating proxy in front");
            }
            let svc = Service::start(config).await?;
            eprintln!("officed listening on {}", svc.base_url());
            shutdown_signal().await;
            svc.shutdown().await;
            Ok(())
        }
        Command::Demo { port } => demo(port).await,
        Command::Customer(CustomerCmd::Create {
            storage,
            account,
            name,
        }) => {
            let db = storage.open().await?;
            admin::create_customer(&db, &account, &name).await?;
            println!("created customer {account} ({name})");
            Ok(())
        }
        Command::Customer(CustomerCmd::List { storage }) => {
            let db = storage.open().await?;
            for c in admin::list_customers(&db).await? {
                println!(
                    "{}\t{}\t{} domain(s)\t{} active key(s)",
                    c.account_number, c.name, c.domains, c.active_keys
                );
            }
            Ok(())
        }
        Command::Domain(DomainCmd::List { storage, customer }) => {
            let db = storage.open().await?;
            for d in admin::list_domains(&db, customer.as_deref()).await? {
                println!(
                    "{}\t{}\t{}\tExchange {}/{}\tRackspace Email {}/{}",
                    d.name,
                    d.account_number,
                    d.service_type,
                    d.exchange_used,
                    d.exchange_licences,
                    d.rsemail_used,
                    d.rsemail_licences
                );
            }
            Ok(())
        }
        Command::Domain(DomainCmd::Create {
            storage,
            customer,
            name,
            service,
            exchange_licences,
            rsemail_licences,
            aliases,
            accepted,
        }) => {
            let db = storage.open().await?;
            let d = admin::create_domain(
                &db,
                &NewDomain {
                    customer,
                    name,
                    service_type: match service {
                        DomainServices::Exchange => ServiceType::Exchange,
                        DomainServices::Rsemail => ServiceType::RsEmail,
                        DomainServices::Both => ServiceType::Both,
                    },
                    exchange_licences,
                    rsemail_licences,
                    aliases,
                    accepted,
                },
            )
            .await?;
            println!(
                "created domain {} for customer {} ({}; {} Exchange, {} Rackspace Email licences)",
                d.name,
                d.account_number,
                d.service_type.as_str(),
                d.ex_licences,
                d.rs_licences
            );
            Ok(())
        }
        Command::Domain(DomainCmd::Licences {
            storage,
            name,
            exchange,
            rsemail,
        }) => {
            if exchange.is_none() && rsemail.is_none() {
                return Err(anyhow!(
                    "nothing to change: give --exchange N and/or --rsemail N"
                ));
            }
            let db = storage.open().await?;
            let d = admin::set_licences(&db, &name, exchange, rsemail).await?;
            println!(
                "domain {}: {} Exchange, {} Rackspace Email licences",
                d.name, d.ex_licences, d.rs_licences
            );
            Ok(())
        }
        Command::Key(KeyCmd::Issue {
            storage,
            customer,
            label,
            plain,
            allow_rename,
            allow_domain_admin,
        }) => {
            let db = storage.open().await?;
            let master = storage.master()?;
            let k = admin::issue_key_with(
                &db,
                &master,
                &customer,
                &label,
                admin::KeyPermissions {
                    allow_rename,
                    allow_domain_admin,
                },
            )
            .await?;
            if plain {
                println!("{} {}", k.user_key, k.secret.expose());
            } else {
                println!("API key for customer {}:", k.account_number);
                println!("  user key: {}", k.user_key);
                println!("  secret:   {}", k.secret.expose());
                if allow_rename {
                    println!("  may rename mailboxes (changes Service IDs)");
                }
                if allow_domain_admin {
                    println!("  may add, edit and delete the customer's domains");
                }
                println!("The secret is shown only now; it is stored encrypted.");
            }
            Ok(())
        }
        Command::Key(KeyCmd::Revoke { storage, user_key }) => {
            let db = storage.open().await?;
            admin::revoke_key(&db, &user_key).await?;
            println!("revoked API key {user_key}");
            Ok(())
        }
        Command::Key(KeyCmd::List { storage, customer }) => {
            let db = storage.open().await?;
            for k in admin::list_keys(&db, customer.as_deref()).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    k.user_key,
                    k.account_number,
                    if k.revoked { "revoked" } else { "active" },
                    k.permissions.describe(),
                    k.label
                );
            }
            Ok(())
        }
        Command::RenameMailbox {
            storage,
            domain,
            service,
            from,
            to,
        } => {
            let db = storage.open().await?;
            admin::rename_mailbox(
                &db,
                &domain,
                service == MailboxService::Exchange,
                &from,
                &to,
            )
            .await?;
            println!("renamed {from}@{domain} to {to}@{domain}");
            Ok(())
        }
        Command::Audit { storage, limit } => {
            let db = storage.open().await?;
            for e in admin::audit_log(&db, limit).await? {
                println!("{}", serde_json::to_string(&e)?);
            }
            Ok(())
        }
        Command::Sign {
            user_key,
            user_agent,
            secret,
        } => {
            println!(
                "{}",
                signing::sign(
                    &user_key,
                    &user_agent,
                    &Secret::new(secret),
                    time::OffsetDateTime::now_utc()
                )
            );
            Ok(())
        }
        Command::Openapi => {
            print!("{}", officed::openapi::document_text());
            Ok(())
        }
    }
}

async fn demo(port: u16) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("officed-demo-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let bind: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut config = Config::sqlite_in(dir.path(), bind);
    // The demo's key lives in its temporary directory, whatever the environment says.
    std::env::remove_var(officed::crypto::MASTER_KEY_ENV);
    config.api = ApiConfig::default();
    let svc = Service::start(config).await.map_err(|e| {
        anyhow!("{e} (is another program using port {port}? choose another with --port)")
    })?;
    let s = officed::sample_account(&svc, "100001").await?;
    let ua = "officed-demo";
    let header = signing::sign(&s.user_key, ua, &s.secret, time::OffsetDateTime::now_utc());
    let base = svc.base_url();
    println!("officed demo is running at {base}");
    println!(
        "  database: temporary SQLite in {} (removed on exit)",
        dir.path().display()
    );
    println!("  customer: {} (or 'me' in paths)", s.account_number);
    println!(
        "  domains:  {} (Exchange 25 + Rackspace Email 10 licences, alias example.net, accepts {}), {} (Exchange, 5 licences)",
        s.primary_domain, s.secondary_domain, s.secondary_domain
    );
    println!("  user key: {}", s.user_key);
    println!("  secret:   {}", s.secret.expose());
    println!();
    println!(
        "Try it (the signature is valid for 10 minutes; make a fresh one with 'officed sign'):"
    );
    println!("  curl -s -A '{ua}' -H 'X-Api-Signature: {header}' {base}/customers/me/domains");
    println!(
        "  curl -s -A '{ua}' -H 'X-Api-Signature: {header}' -d 'displayName=Jane Doe&password=Choose-a-Passw0rd' {base}/customers/me/domains/{}/ex/mailboxes/jane.doe",
        s.primary_domain
    );
    println!(
        "  OFFICED_SECRET='{}' cargo run -q -p officed -- sign --user-key {} --user-agent {ua}",
        s.secret.expose(),
        s.user_key
    );
    println!();
    println!("Press Ctrl-C to stop.");
    shutdown_signal().await;
    svc.shutdown().await;
    drop(dir);
    Ok(())
}
