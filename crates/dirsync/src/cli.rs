//! The command line: parsing, config layering, and one function per command.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::agent::{Agent, Mode, RunRequest, Trigger};
use crate::config::{self, ConfigError, Loaded, Needs, Overrides};
use crate::history::History;
use crate::{render, Exit};

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
            init(&cli, args)
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
        println!("{}", serde_json::to_string_pretty(&report)?);
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
            let Some(report) = history.report(*id).await? else {
                anyhow::bail!(
                    "there is no run {id} in the history; `dirsync history` lists the runs"
                );
            };
            if *json || args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
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

/// Progress output: a bar with rate and ETA on a terminal, plain lines
/// otherwise, nothing with --json.
///
/// With JSON logs (`log.format = "json"`) progress goes to the log as
/// `progress` events instead, so stderr stays one JSON object per line.
pub fn progress_printer(json: bool, log_format: config::LogFormat) -> crate::agent::ProgressFn {
    let tty = std::io::stderr().is_terminal();
    let log_json = log_format == config::LogFormat::Json;
    let bars = PhaseBars::default();
    Arc::new(move |p: &crate::agent::ProgressEvent| {
        let milestone = p.done == 0 || p.done >= p.total || p.done.is_multiple_of(50);
        if log_json {
            if milestone {
                tracing::info!(phase = %p.phase, done = p.done, total = p.total, "progress");
            }
            return;
        }
        if json {
            return;
        }
        if tty {
            bars.show(p);
        } else if milestone {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}: {}/{}",
                p.phase,
                p.done,
                p.total
            );
        }
    })
}

/// One indicatif bar per phase: a finished phase's bar stays on screen and
/// the next phase starts a new one, with its own rate and ETA.
///
/// The apply phase is paced by the client's rolling-minute write limit (30
/// by default): a burst of writes, then a wait of up to a minute, again and
/// again for hours. indicatif's own estimate (recent seconds weigh most)
/// swings between the two: it showed `ETA 0s` through a wait and `18m` for
/// the 20 writes right after it. So the bar shows the phase's average rate
/// and the ETA from it, and ticks every second so both keep moving while the
/// limiter holds the writes back (docs/architecture.md has the figures).
#[derive(Default)]
struct PhaseBars(std::sync::Mutex<Option<(String, indicatif::ProgressBar)>>);

impl PhaseBars {
    fn show(&self, p: &crate::agent::ProgressEvent) {
        let mut cur = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cur.as_ref().is_none_or(|(phase, _)| *phase != p.phase) {
            if let Some((_, old)) = cur.take() {
                end_line(&old);
            }
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(p.total),
                // Draws only when stderr is a terminal.
                indicatif::ProgressDrawTarget::stderr(),
            )
            .with_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:<10} [{bar:30}] {pos}/{len}  {rate}  ETA {left}",
                )
                .expect("a valid progress template")
                .with_key(
                    "rate",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&rate_text(average_rate(s.pos(), s.elapsed())));
                    },
                )
                .with_key(
                    "left",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let total = s.len().unwrap_or(0);
                        let _ = w.write_str(&eta_text(s.pos(), total, s.elapsed()));
                    },
                )
                .progress_chars("##-"),
            )
            .with_message(p.phase.clone());
            bar.enable_steady_tick(std::time::Duration::from_secs(1));
            *cur = Some((p.phase.clone(), bar));
        }
        let Some((_, bar)) = cur.as_ref() else {
            return;
        };
        if bar.length() != Some(p.total) {
            bar.set_length(p.total);
        }
        bar.set_position(p.done);
        if p.total > 0 && p.done >= p.total {
            end_line(bar);
        }
    }
}

/// Leaves a bar on screen as it is and moves below it (once), so that the
/// next bar, a log line or the report starts on a line of its own.
fn end_line(bar: &indicatif::ProgressBar) {
    if !bar.is_finished() {
        bar.abandon();
        let _ = writeln!(std::io::stderr());
    }
}

impl Drop for PhaseBars {
    /// The run is over (its progress sink is dropped): end a bar left open
    /// by a phase that stopped early.
    fn drop(&mut self) {
        if let Some((_, bar)) = self.0.get_mut().ok().and_then(Option::take) {
            end_line(&bar);
        }
    }
}

/// Items per second since the phase started (`NaN` before anything is done).
fn average_rate(done: u64, elapsed: std::time::Duration) -> f64 {
    done as f64 / elapsed.as_secs_f64()
}

/// Time left at the phase's average rate so far: `17h 03m`, `12m 05s`, `45s`;
/// `-` while nothing is done yet.
fn eta_text(done: u64, total: u64, elapsed: std::time::Duration) -> String {
    if done >= total {
        return "0s".into();
    }
    let rate = average_rate(done, elapsed);
    if !rate.is_finite() || rate <= 0.0 {
        return "-".into();
    }
    let secs = ((total - done) as f64 / rate)
        .ceil()
        .min(u64::MAX as f64 / 2.0) as u64;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Items per second as shown on the bar: per minute below one a second
/// (an API-paced apply phase runs at 0.5/s, shown as 30.0/min).
fn rate_text(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "-".into()
    } else if per_sec < 1.0 {
        format!("{:.1}/min", per_sec * 60.0)
    } else {
        format!("{per_sec:.0}/s")
    }
}

fn prompt(label: &str, default: Option<&str>) -> Result<Option<String>> {
    let mut out = std::io::stderr();
    match default {
        Some(d) if !d.is_empty() => write!(out, "{label} [{d}]: ")?,
        _ => write!(out, "{label}: ")?,
    }
    out.flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let line = line.trim();
    Ok(if line.is_empty() {
        default.map(str::to_string).filter(|d| !d.is_empty())
    } else {
        Some(line.to_string())
    })
}

fn prompt_secret(label: &str) -> Result<Option<String>> {
    let mut out = std::io::stderr();
    write!(out, "{label} (input hidden, empty to skip): ")?;
    out.flush()?;
    let _ = std::process::Command::new("stty")
        .arg("-echo")
        .stdin(std::process::Stdio::inherit())
        .status();
    let mut line = String::new();
    let r = std::io::stdin().read_line(&mut line);
    let _ = std::process::Command::new("stty")
        .arg("echo")
        .stdin(std::process::Stdio::inherit())
        .status();
    writeln!(out)?;
    r?;
    let line = line.trim_end_matches(['\r', '\n']).to_string();
    Ok(if line.is_empty() { None } else { Some(line) })
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn init(cli: &Cli, a: &InitArgs) -> Result<Exit> {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG));
    if path.exists() && !a.force {
        anyhow::bail!(
            "{} already exists; pass --force to overwrite it, or --config to write another file",
            path.display()
        );
    }
    let interactive = !a.non_interactive && std::io::stdin().is_terminal();
    let ask =
        |label: &str, given: &Option<String>, default: Option<&str>| -> Result<Option<String>> {
            if given.is_some() || !interactive {
                Ok(given.clone().or(default.map(str::to_string)))
            } else {
                prompt(label, default)
            }
        };
    let source = ask("Directory source (ldap or ldif)", &a.source, Some("ldap"))?
        .unwrap_or_else(|| "ldap".into());
    if source != "ldap" && source != "ldif" {
        anyhow::bail!("--source {source:?}: write ldap or ldif");
    }
    let mut doc = String::from("# dirsync configuration (docs/configuration.md). Secrets are in the secrets file.\n\n[directory]\n");
    doc.push_str(&format!("source = {}\n", toml_str(&source)));
    if source == "ldap" {
        for (key, label, given, default) in [
            (
                "url",
                "LDAP URL (ldaps://dc1.example.com)",
                &a.ldap_url,
                None,
            ),
            ("bind_dn", "Bind DN (service account)", &a.bind_dn, None),
            ("base_dn", "Base DN (DC=example,DC=com)", &a.base_dn, None),
        ] {
            if let Some(v) = ask(label, given, default)? {
                doc.push_str(&format!("{key} = {}\n", toml_str(&v)));
            }
        }
    } else {
        let given = a.ldif.as_ref().map(|p| p.display().to_string());
        if let Some(v) = ask("LDIF file", &given, None)? {
            doc.push_str(&format!("ldif_path = {}\n", toml_str(&v)));
        }
    }
    for (key, label, given) in [
        (
            "exchange_group",
            "Exchange security group (DN or name, empty for none)",
            &a.exchange_group,
        ),
        (
            "rsemail_group",
            "Rackspace Email security group (DN or name, empty for none)",
            &a.rsemail_group,
        ),
    ] {
        if let Some(v) = ask(label, given, None)? {
            doc.push_str(&format!("{key} = {}\n", toml_str(&v)));
        }
    }
    doc.push_str("\n[api]\n");
    for (key, label, given, default) in [
        (
            "url",
            "Control panel API URL",
            &a.api_url,
            Some("https://api.emailsrvr.com/v1"),
        ),
        ("user_key", "API user key", &a.api_user_key, None),
        ("account", "Customer account number", &a.account, None),
    ] {
        if let Some(v) = ask(label, given, default)? {
            doc.push_str(&format!("{key} = {}\n", toml_str(&v)));
        }
    }
    let state = a
        .state
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "dirsync-state.db".into());
    doc.push_str(&format!("\n[state]\npath = {}\n", toml_str(&state)));
    doc.push_str("\n[schedule]\ninterval = \"5m\"\nfull_every = \"24h\"\n");
    let listen = a.listen.clone().unwrap_or_else(|| "127.0.0.1:8080".into());
    doc.push_str(&format!("\n[ui]\nlisten = {}\n", toml_str(&listen)));
    doc.push_str("\n[log]\nformat = \"human\"\nlevel = \"info\"\n");

    // Secrets: prompted on a terminal, else taken from the environment.
    let mut secrets = String::from("# dirsync secrets: keep this file private (mode 0600).\n");
    let mut any_secret = false;
    for (key, var, label, wanted) in [
        (
            "ldap_bind_password",
            config::ENV_LDAP_PASSWORD,
            "LDAP bind password",
            source == "ldap",
        ),
        (
            "api_secret_key",
            config::ENV_API_SECRET,
            "API secret key",
            true,
        ),
        (
            "ui_admin_password",
            config::ENV_UI_PASSWORD,
            "UI admin password (needed only off-localhost)",
            true,
        ),
    ] {
        let from_env = std::env::var(var).ok().filter(|v| !v.is_empty());
        let value = match from_env {
            Some(v) => Some(v),
            None if interactive && wanted => prompt_secret(label)?,
            None => None,
        };
        if let Some(v) = value {
            secrets.push_str(&format!("{key} = {}\n", toml_str(&v)));
            any_secret = true;
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::private_file::write(&path, &doc, 0o640)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {} (mode 0640)", path.display());
    let spath = config::resolve(&path, Path::new("secrets.toml"));
    if any_secret {
        write_private(&spath, &secrets)?;
        println!("wrote {} (mode 0600)", spath.display());
    } else {
        println!(
            "no secrets given: put them in {} (mode 0600) or set {}, {} and {}",
            spath.display(),
            config::ENV_LDAP_PASSWORD,
            config::ENV_API_SECRET,
            config::ENV_UI_PASSWORD
        );
    }
    println!("next: dirsync --config {} check", path.display());
    Ok(Exit::Success)
}

/// Creates (or replaces) a file readable only by its owner, without a window where others can read it.
fn write_private(path: &Path, text: &str) -> Result<()> {
    crate::platform::write_private(path, text.as_bytes())
        .with_context(|| format!("writing {} (readable only by its owner)", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{eta_text, rate_text};
    use std::time::Duration;

    #[test]
    fn rate_per_second_or_per_minute() {
        for (per_sec, shown) in [
            (0.5, "30.0/min"),
            (0.01, "0.6/min"),
            (1.0, "1/s"),
            (310.3552, "310/s"),
            (0.0, "-"),
            (f64::NAN, "-"),
            (f64::INFINITY, "-"),
        ] {
            assert_eq!(rate_text(per_sec), shown, "{per_sec}");
        }
    }

    #[test]
    fn eta_from_the_average_rate() {
        let min = |m: u64| Duration::from_secs(m * 60);
        for (done, total, elapsed, shown) in [
            // 30 writes a minute, 30,000 to go: about 17 hours (the 10,000 users).
            (300, 30_300, min(10), "16h 40m"),
            // A burst of 20 writes, then the limiter's wait: the ETA grows while it waits.
            (20, 40, Duration::from_millis(200), "1s"),
            (20, 40, Duration::from_secs(30), "30s"),
            (20, 40, Duration::from_secs(59), "59s"),
            (1, 61, min(1), "1h 00m"),
            (5, 10, Duration::from_secs(150), "2m 30s"),
            (0, 10, min(1), "-"),
            (0, 10, Duration::ZERO, "-"),
            (10, 10, Duration::ZERO, "0s"),
            (12, 10, min(1), "0s"),
        ] {
            assert_eq!(
                eta_text(done, total, elapsed),
                shown,
                "{done}/{total} in {elapsed:?}"
            );
        }
    }
}
