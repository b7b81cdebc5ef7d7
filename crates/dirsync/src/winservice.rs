//! `dirsync service install|uninstall|start|stop|run`: dirsync as a Windows
//! service, registered with the Service Control Manager (docs/windows.md).
//!
//! The service runs `dirsync --config PATH service run`, which is `dirsync
//! serve` with two differences: the SCM's stop and shutdown controls end it
//! gracefully (a running sync finishes first), and its log goes to a daily
//! file under `%ProgramData%\dirsync\logs` (14 kept) with errors also in the
//! Windows event log (source `dirsync`). Control code 128 (`sc.exe control
//! dirsync 128`, or `dirsync service sync-now`) asks for a manual sync, like
//! SIGUSR1 on Unix.
//!
//! Recovery policy set at install: restart after 1 minute, then after 5
//! minutes, then stay stopped; the failure count resets after a day without
//! failures. Exits with an error count as failures too, so a configuration
//! error (exit code 2) is retried twice and then left for the administrator.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType, UserEventCode,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use crate::cli::{Cli, ServiceArgs, ServiceCmd};
use crate::Exit;

/// The service name (and event log source).
pub const SERVICE_NAME: &str = "dirsync";
const DISPLAY_NAME: &str = "dirsync: Active Directory to hosted email sync";
const DESCRIPTION: &str = "Keeps hosted mailboxes, lists and contacts in step with Active Directory. Web UI on http://127.0.0.1:8080/ (localhost only).";
const EVENTLOG_KEY: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\dirsync";

/// The config file the service uses unless `--config` is given at install.
pub fn default_config() -> PathBuf {
    crate::platform::service_dir().join("dirsync.toml")
}

/// Runs `dirsync service ...`.
pub fn run(cli: &Cli, args: &ServiceArgs) -> Result<Exit> {
    match &args.command {
        ServiceCmd::Install {
            account,
            no_start: _,
        } => install(cli, account.as_deref()),
        ServiceCmd::Uninstall => uninstall(),
        ServiceCmd::Start => start(),
        ServiceCmd::Stop => stop(),
        ServiceCmd::SyncNow => sync_now(),
        ServiceCmd::Run => {
            // The SCM's own call; the config path travels in a global.
            let path = cli.config.clone().unwrap_or_else(default_config);
            let _ = CONFIG.set((path, cli.set.clone()));
            service_dispatcher::start(SERVICE_NAME, ffi_service_main).context(
                "`dirsync service run` is started by the Service Control Manager; to run in a console use `dirsync serve`",
            )?;
            Ok(Exit::Success)
        }
    }
}

fn install(cli: &Cli, account: Option<&str>) -> Result<Exit> {
    let config = match &cli.config {
        Some(p) => std::path::absolute(p).with_context(|| format!("{}", p.display()))?,
        None => default_config(),
    };
    if !config.exists() {
        anyhow::bail!(
            "{} does not exist: write it first with `dirsync --config \"{}\" init`, then check it with `dirsync --config \"{}\" check`",
            config.display(),
            config.display(),
            config.display()
        );
    }
    let exe = std::env::current_exe().context("finding dirsync.exe")?;
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .context("opening the Service Control Manager (run this from an elevated prompt)")?;
    let mut launch_arguments = vec![OsString::from("--config"), config.clone().into_os_string()];
    for s in &cli.set {
        launch_arguments.push("--set".into());
        launch_arguments.push(s.into());
    }
    launch_arguments.push("service".into());
    launch_arguments.push("run".into());
    let password = std::env::var_os("DIRSYNC_SERVICE_PASSWORD").filter(|v| !v.is_empty());
    let info = ServiceInfo {
        name: SERVICE_NAME.into(),
        display_name: DISPLAY_NAME.into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe,
        launch_arguments,
        dependencies: vec![],
        account_name: account.map(OsString::from),
        account_password: password,
    };
    let service = manager
        .create_service(
            &info,
            ServiceAccess::CHANGE_CONFIG | ServiceAccess::START | ServiceAccess::QUERY_STATUS,
        )
        .context("registering the service")?;
    service
        .set_description(DESCRIPTION)
        .context("setting the service description")?;
    if let Err(e) = set_recovery_policy(&service) {
        eprintln!("note: could not set the recovery policy ({e:#}); set it in services.msc, dirsync, Recovery: restart the service after 1 and 5 minutes");
    }
    register_event_source();
    println!(
        "installed the service {SERVICE_NAME} ({}) with {}",
        account.unwrap_or("LocalSystem"),
        config.display()
    );
    println!("start it with: dirsync service start");
    Ok(Exit::Success)
}

/// Restart after 1 minute, then after 5 minutes, then stay stopped; the
/// failure count resets after a day; an exit with an error code counts.
fn set_recovery_policy(service: &windows_service::service::Service) -> Result<()> {
    service.update_failure_actions(ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 3600)),
        reboot_msg: None,
        command: None,
        actions: Some(vec![
            ServiceAction {
                action_type: ServiceActionType::Restart,
                delay: Duration::from_secs(60),
            },
            ServiceAction {
                action_type: ServiceActionType::Restart,
                delay: Duration::from_secs(300),
            },
            ServiceAction {
                action_type: ServiceActionType::None,
                delay: Duration::ZERO,
            },
        ]),
    })?;
    service.set_failure_actions_on_non_crash_failures(true)?;
    Ok(())
}

/// Registers the event log source so that Event Viewer shows the messages
/// without a "description cannot be found" preface. Best effort: the log
/// works without it.
fn register_event_source() {
    let dll = r"%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll";
    let ok = std::process::Command::new("reg.exe")
        .args([
            "add",
            EVENTLOG_KEY,
            "/v",
            "EventMessageFile",
            "/t",
            "REG_EXPAND_SZ",
            "/d",
            dll,
            "/f",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("note: could not register the event log source {SERVICE_NAME}; errors still reach the Application log");
    }
}

fn open(access: ServiceAccess) -> Result<windows_service::service::Service> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .context("opening the Service Control Manager (run this from an elevated prompt)")?;
    manager
        .open_service(SERVICE_NAME, access)
        .context("opening the dirsync service (is it installed? `dirsync service install`)")
}

fn uninstall() -> Result<Exit> {
    let service = open(ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE)?;
    if service.query_status()?.current_state != ServiceState::Stopped {
        let _ = service.stop();
        wait_for(&service, ServiceState::Stopped)?;
    }
    service.delete().context("removing the service")?;
    let _ = std::process::Command::new("reg.exe")
        .args(["delete", EVENTLOG_KEY, "/f"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    println!("removed the service {SERVICE_NAME}; its configuration, state and logs stay in place");
    Ok(Exit::Success)
}

fn start() -> Result<Exit> {
    let service = open(ServiceAccess::QUERY_STATUS | ServiceAccess::START)?;
    service.start::<&str>(&[]).context("starting the service")?;
    wait_for(&service, ServiceState::Running)?;
    println!("{SERVICE_NAME} is running");
    Ok(Exit::Success)
}

/// Sends control code 128: the running service syncs now (as SIGUSR1 on Unix).
fn sync_now() -> Result<Exit> {
    let service = open(ServiceAccess::USER_DEFINED_CONTROL)?;
    let code = UserEventCode::from_raw(crate::platform::windows::SYNC_NOW_CONTROL)
        .map_err(|e| anyhow::anyhow!("control code: {e:?}"))?;
    service
        .notify(code)
        .context("asking the service for a sync (is it running? `dirsync service start`)")?;
    println!("{SERVICE_NAME}: sync requested; see the web UI or the log for its outcome");
    Ok(Exit::Success)
}

fn stop() -> Result<Exit> {
    let service = open(ServiceAccess::QUERY_STATUS | ServiceAccess::STOP)?;
    service.stop().context("stopping the service")?;
    wait_for(&service, ServiceState::Stopped)?;
    println!("{SERVICE_NAME} stopped");
    Ok(Exit::Success)
}

/// Waits up to 6 minutes (a running sync finishes before the service stops).
fn wait_for(service: &windows_service::service::Service, want: ServiceState) -> Result<()> {
    for _ in 0..720 {
        let st = service.query_status()?;
        if st.current_state == want {
            return Ok(());
        }
        if want == ServiceState::Running && st.current_state == ServiceState::Stopped {
            anyhow::bail!(
                "the service stopped at once (exit code {:?}); see the log in {}",
                st.exit_code,
                log_dir().display()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    anyhow::bail!("the service did not reach {want:?} within 6 minutes")
}

/// Where the service writes its daily log files.
pub fn log_dir() -> PathBuf {
    crate::platform::service_dir().join("logs")
}

static CONFIG: std::sync::OnceLock<(PathBuf, Vec<String>)> = std::sync::OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

fn service_main(_args: Vec<OsString>) {
    let status = |state: ServiceState, code: u32| ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: ServiceExitCode::ServiceSpecific(code),
        checkpoint: 0,
        wait_hint: if state == ServiceState::StopPending {
            Duration::from_secs(300)
        } else {
            Duration::ZERO
        },
        process_id: None,
    };
    let handler = service_control_handler::register(SERVICE_NAME, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown | ServiceControl::Preshutdown => {
            crate::platform::windows::request_stop();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::UserEvent(code)
            if code.to_raw() == crate::platform::windows::SYNC_NOW_CONTROL =>
        {
            crate::platform::windows::request_sync();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    });
    let Ok(handle) = handler else {
        return;
    };
    let _ = handle.set_service_status(status(ServiceState::Running, 0));
    let code = match run_service() {
        Ok(exit) => exit.code(),
        Err(e) => {
            tracing::error!("dirsync service stopped: {e:#}");
            Exit::Failure.code()
        }
    };
    let mut last = status(ServiceState::Stopped, u32::from(code));
    if code == 0 {
        last.exit_code = ServiceExitCode::Win32(0);
    }
    let _ = handle.set_service_status(last);
}

fn run_service() -> Result<Exit> {
    let (path, set) = CONFIG
        .get()
        .cloned()
        .unwrap_or_else(|| (default_config(), Vec::new()));
    let cli = Cli {
        config: Some(path),
        set,
        log_format: None,
        log_level: None,
        command: crate::cli::Command::Serve(crate::cli::ServeArgs { listen: None }),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = rt.block_on(async {
        let loaded = crate::cli::load_config(&cli, Vec::new())?;
        init_logging(&loaded)?;
        let problems = loaded.validate(crate::config::Needs::ALL);
        if !problems.is_empty() {
            return Err(crate::config::ConfigError(problems).into());
        }
        crate::service::serve(Arc::new(loaded)).await
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    result
}

/// The service's log: a daily file (14 kept) in the logs folder, and errors
/// in the Windows event log.
fn init_logging(loaded: &crate::config::Loaded) -> Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter, Layer};
    let dir = log_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("dirsync")
        .filename_suffix("log")
        .max_log_files(14)
        .build(&dir)
        .with_context(|| format!("opening the log file in {}", dir.display()))?;
    let filter =
        EnvFilter::try_new(&loaded.config.log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let file = match loaded.config.log.format {
        crate::config::LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(appender)
            .boxed(),
        crate::config::LogFormat::Human => fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .with_writer(appender)
            .boxed(),
    };
    let events = tracing_layer_win_eventlog::EventLogLayer::new(SERVICE_NAME)
        .ok()
        .map(|l| l.with_filter(tracing_subscriber::filter::LevelFilter::ERROR));
    let _ = tracing_subscriber::registry()
        .with(file.with_filter(filter))
        .with(events)
        .try_init();
    Ok(())
}
