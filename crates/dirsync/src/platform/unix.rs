//! Unix: file modes, SIGTERM/SIGINT for shutdown, SIGUSR1 for a manual sync.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub(super) fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

pub(super) fn make_private(file: &mut File) -> io::Result<()> {
    file.set_permissions(Permissions::from_mode(0o600))
}

pub(super) fn make_path_private(path: &Path) -> io::Result<()> {
    let dir = std::fs::metadata(path)?.is_dir();
    std::fs::set_permissions(
        path,
        Permissions::from_mode(if dir { 0o700 } else { 0o600 }),
    )
}

pub(super) fn exposure(path: &Path) -> io::Result<Option<String>> {
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    Ok((mode & 0o077 != 0).then(|| format!("other users (mode {mode:04o})")))
}

pub(super) fn fix_hint(path: &Path) -> String {
    format!("chmod 600 {}", path.display())
}

pub(super) fn service_dir() -> PathBuf {
    PathBuf::from("/etc/dirsync")
}

/// Resolves when SIGINT (Ctrl-C) or SIGTERM arrives.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The manual-sync request: SIGUSR1 (`systemctl kill -s USR1 dirsync`).
pub struct ManualTrigger {
    usr1: Option<tokio::signal::unix::Signal>,
}

impl ManualTrigger {
    /// Starts listening; later signals are queued until [`ManualTrigger::recv`].
    pub fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        ManualTrigger {
            usr1: signal(SignalKind::user_defined1()).ok(),
        }
    }

    /// What the log calls the request.
    pub const NAME: &'static str = "SIGUSR1";

    /// Resolves at the next request (never, when the signal could not be hooked).
    pub async fn recv(&mut self) {
        match self.usr1.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
}

impl Default for ManualTrigger {
    fn default() -> Self {
        Self::new()
    }
}
