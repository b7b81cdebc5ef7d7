//! The command line: parsing, config layering, and one function per command.
//!
//! `progress` owns the progress bars and lines of `plan`/`sync`; `init`
//! owns `dirsync init`, the interactive writer of a first configuration.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::agent::{Agent, Mode, RunRequest, Trigger};
use crate::config::{self, ConfigError, Loaded, Needs, Overrides};
use crate::history::History;
use crate::{render, Exit};

mod init;
mod progress;

pub use progress::progress_printer;

/// dirsync: keeps hosted mailboxes, lists and contacts in step with Active Directory.
#[derive(Debug, Parser)]
#[command(name = "dirsync", version, about, long_about = None)]
pub struct Cli {
    /// Config file (TOML). Default: ./dirsync.toml
    #[arg(
        short,
        long,
        global = true,
        env = "DIRSYNC_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,
    /// Override one setting, e.g. --set schedule.interval=30s (repeatable; wins over file and env).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Log format: human or json (same as --set log.format=...).
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log filter, e.g. debug or dirsync=debug,info (same as --set log.level=...).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a config file (and a private secrets file), interactively or from flags.
    Init(Box<InitArgs>),
    /// Preflight: validate the config, test the LDAP bind and API authentication, and predict every catalogued error.
    Check(JsonArg),
    /// Dry run: show what a sync would change, without changing anything.
    Plan(PlanArgs),
    /// Run one sync now (incremental when a directory cookie is stored, else full).
    Sync(SyncArgs),
    /// List past runs, or show one with `history show ID`.
    History(HistoryArgs),
    /// Run as a service: scheduled syncs, web UI, /healthz and /metrics.
    Serve(ServeArgs),
    /// Try dirsync with nothing installed: an in-process control panel, a sample directory, the web UI.
    Demo(DemoArgs),
    /// Windows: install, remove, start or stop the dirsync service (docs/windows.md).
    Service(ServiceArgs),
}

#[derive(Debug, Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    pub command: ServiceCmd,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// Register with the Service Control Manager (automatic start, restart on failure).
    Install {
        /// Run as this account (default LocalSystem), e.g. "NT SERVICE\dirsync" or a gMSA "CORP\dirsync$".
        /// A password, when the account needs one, is read from DIRSYNC_SERVICE_PASSWORD.
        #[arg(long, value_name = "ACCOUNT")]
        account: Option<String>,
        /// Accepted for scripts; the service is never started by install.
        #[arg(long, hide = true)]
        no_start: bool,
    },
    /// Stop (if running) and remove the service; configuration, state and logs stay.
    Uninstall,
    /// Start the installed service.
    Start,
    /// Stop the service (a sync in progress finishes first).
    Stop,
    /// Ask the running service for a sync now (service control code 128, like SIGUSR1 on Unix).
    SyncNow,
    /// Run as the service (started by the Service Control Manager, not by hand).
    #[command(hide = true)]
    Run,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as a JSON run report.
    #[arg(long)]
    pub json: bool,
    /// Plan from the changes since the last sync instead of the whole directory.
    #[arg(long)]
    pub incremental: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Read the whole directory and reconcile everything (default: incremental when possible).
    #[arg(long)]
    pub full: bool,
    /// Print the run report as JSON (schema: docs/run-report.schema.json).
    #[arg(long)]
    pub json: bool,
    /// Apply even when a safety limit stops the run: more objects disabled or deleted than the threshold allows, or a group emptied or losing too many members at once.
    #[arg(long)]
    pub override_threshold: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub show: Option<HistoryCmd>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCmd {
    /// Show one run with every object's outcome.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Web UI address (same as --set ui.listen=...). Non-loopback needs a UI admin password.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Web UI address.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Sync, print the summary, and exit without serving the web UI.
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args, Default)]
pub struct InitArgs {
    /// Overwrite an existing config file.
    #[arg(long)]
    pub force: bool,
    /// Never prompt, even on a terminal (missing values stay unset).
    #[arg(long)]
    pub non_interactive: bool,
    /// "ldap" or "ldif".
    #[arg(long)]
    pub source: Option<String>,
    /// directory.url: ldaps://dc1.example.com, or ldap://, always upgraded with StartTLS.
    #[arg(long, value_name = "URL")]
    pub ldap_url: Option<String>,
    /// directory.bind_dn: the service account's DN, or user@domain.
    #[arg(long, value_name = "DN")]
    pub bind_dn: Option<String>,
    /// directory.base_dn: the search base (default: the domain's naming context).
    #[arg(long, value_name = "DN")]
    pub base_dn: Option<String>,
    /// directory.exchange_group: the security group synced to Hosted Exchange.
    #[arg(long, value_name = "DN_OR_NAME")]
    pub exchange_group: Option<String>,
    /// directory.rsemail_group: the security group synced to Rackspace Email.
    #[arg(long, value_name = "DN_OR_NAME")]
    pub rsemail_group: Option<String>,
    /// directory.ldif_path: the LDIF export read when the source is "ldif".
    #[arg(long, value_name = "PATH")]
    pub ldif: Option<PathBuf>,
    /// api.url: the API base URL with its version prefix, e.g. `https://api.emailsrvr.com/v1`.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// api.user_key: the API user key (the secret key goes in the secrets file).
    #[arg(long, value_name = "KEY")]
    pub api_user_key: Option<String>,
    /// api.account: the customer account number to sync into.
    #[arg(long, value_name = "NUMBER")]
    pub account: Option<String>,
    /// state.path: the SQLite state store (default dirsync-state.db beside the config).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// ui.listen: the web UI address (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Service(args) = &cli.command {
        // The Service Control Manager's dispatcher owns the main thread; the
        // service builds its own runtime.
        return match service(&cli, args) {
            Ok(code) => ExitCode::from(code.code()),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(Exit::Failure.code())
            }
        };
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Failure.code());
        }
    };
    let code = rt.block_on(run(cli));
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    ExitCode::from(code.code())
}

async fn run(cli: Cli) -> Exit {
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<ConfigError>() {
                eprint!("error: {}", render::term(&ce.to_string()));
            } else {
                eprintln!("error: {}", render::term(&format!("{e:#}")));
            }
            Exit::Failure
        }
    }
}

#[cfg(windows)]
fn service(cli: &Cli, args: &ServiceArgs) -> Result<Exit> {
    crate::winservice::run(cli, args)
}

#[cfg(not(windows))]
fn service(_cli: &Cli, _args: &ServiceArgs) -> Result<Exit> {
    anyhow::bail!("`dirsync service` manages the Windows service; on Linux dirsync runs under systemd: install the Debian package (docs/debian.md) or packaging/dirsync.service, then `systemctl enable --now dirsync`")
}

#[cfg(feature = "demo")]
async fn demo(args: &DemoArgs) -> Result<Exit> {
    crate::demo::run(&args.listen, args.once).await
}

#[cfg(not(feature = "demo"))]
async fn demo(_: &DemoArgs) -> Result<Exit> {
    anyhow::bail!("this dirsync was built without the demo (cargo feature `demo`, on by default); build it with `--features demo`")
}

/// Layers the config for commands other than `init` and `demo`.
pub fn load_config(cli: &Cli, extra: Vec<(String, String)>) -> Result<Loaded> {
    let (path, explicit) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(config::DEFAULT_CONFIG), false),
    };
    let mut flags = Vec::new();
    for s in &cli.set {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            ConfigError(vec![config::ConfigProblem {
                key: s.clone(),
                message: format!("--set {s}: write KEY=VALUE, e.g. --set schedule.interval=30s"),
            }])
        })?;
        flags.push((k.trim().to_string(), v.to_string()));
    }
    if let Some(f) = &cli.log_format {
        flags.push(("log.format".into(), f.clone()));
    }
    if let Some(l) = &cli.log_level {
        flags.push(("log.level".into(), l.clone()));
    }
    flags.extend(extra);
    Ok(config::load(
        &path,
        explicit,
        &Overrides::from_process(flags),
    )?)
}

fn validated(loaded: &Loaded, needs: Needs) -> Result<()> {
    let problems = loaded.validate(needs);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError(problems).into())
    }
}

async fn dispatch(cli: Cli) -> Result<Exit> {
    match &cli.command {
        Command::Init(args) => {
            crate::logging::init(config::LogFormat::Human, "warn");
            init::init(&cli, args)
        }
        Command::Demo(args) => {
            let format = match cli.log_format.as_deref() {
                Some("json") => config::LogFormat::Json,
                _ => config::LogFormat::Human,
            };
            crate::logging::init(format, cli.log_level.as_deref().unwrap_or("warn"));
            demo(args).await
        }
        Command::Serve(args) => {
            let extra = args
                .listen
                .iter()
                .map(|l| ("ui.listen".to_string(), l.clone()))
                .collect();
            let loaded = load_config(&cli, extra)?;
            crate::logging::init(loaded.config.log.format, &loaded.config.log.level);
            validated(&loaded, Needs::ALL)?;
            crate::service::serve(Arc::new(loaded)).await
        }
        cmd => {
            let loaded = load_config(&cli, Vec::new())?;
            crate::logging::init(loaded.config.log.format, &loaded.config.log.level);
            match cmd {
                Command::Check(a) => check(loaded, a.json).await,
                Command::Plan(a) => plan(loaded, a).await,
                Command::Sync(a) => sync(loaded, a).await,
                Command::History(a) => history(loaded, a).await,
                Command::Init(_) | Command::Serve(_) | Command::Demo(_) | Command::Service(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

async fn check(loaded: Loaded, json: bool) -> Result<Exit> {
    let problems = loaded.validate(Needs::SYNC);
    if !problems.is_empty() {
        if json {
            let v = serde_json::json!({ "config": { "ok": false, "problems": problems }, "exit_code": Exit::Failure.code() });
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(Exit::Failure);
        }
        return Err(ConfigError(problems).into());
    }
    let agent = Agent::open(Arc::new(loaded)).await?;
    let outcome = agent.check().await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::check_json(&outcome))?
        );
    } else {
        print!("{}", render::term(&render::check_text(&outcome)));
    }
    Ok(outcome.exit())
}

async fn plan(loaded: Loaded, args: &PlanArgs) -> Result<Exit> {
    validated(&loaded, Needs::SYNC)?;
    let format = loaded.config.log.format;
    let agent = Agent::open(Arc::new(loaded)).await?;
    let req = RunRequest {
        mode: Mode::Plan,
        full: !args.incremental,
        trigger: Trigger::Manual,
        override_threshold: false,
    };
    let report = agent.run(req, progress_printer(args.json, format)).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render::term(&render::report_text(&report, true)));
    }
    Ok(crate::agent::exit_for(&report))
}

async fn sync(loaded: Loaded, args: &SyncArgs) -> Result<Exit> {
    validated(&loaded, Needs::SYNC)?;
    let format = loaded.config.log.format;
    let loaded = Arc::new(loaded);
    let _lock = crate::lock::SyncLock::try_acquire(&loaded.state_path())?;
    let agent = Agent::open(loaded).await?;
    let req = RunRequest {
        mode: Mode::Apply,
        full: args.full,
        trigger: Trigger::Manual,
        override_threshold: args.override_threshold,
    };
    let report = agent.run(req, progress_printer(args.json, format)).await?;
    if args.json {
        agent.history().print_json(&report).await?;
    } else {
        print!("{}", render::term(&render::report_text(&report, false)));
    }
    Ok(crate::agent::exit_for(&report))
}

async fn history(loaded: Loaded, args: &HistoryArgs) -> Result<Exit> {
    validated(&loaded, Needs::STATE_ONLY)?;
    let history = History::open(&loaded).await?;
    match &args.show {
        Some(HistoryCmd::Show { id, json }) => {
            let Some(report) = history.report_summary(*id).await? else {
                anyhow::bail!(
                    "there is no run {id} in the history; `dirsync history` lists the runs"
                );
            };
            if *json || args.json {
                history.print_json(&report).await?;
            } else {
                print!("{}", render::term(&render::report_text(&report, false)));
            }
        }
        None => {
            let runs = history.runs(args.limit).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else {
                print!("{}", render::term(&render::history_text(&runs)));
            }
        }
    }
    Ok(Exit::Success)
}
