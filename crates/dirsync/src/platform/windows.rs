//! Windows: access lists, Ctrl-C and the service stop for shutdown, and
//! Ctrl-Break or the service control code 128 for a manual sync.
//!
//! The access-list calls go through `windows-permissions`, whose API is safe,
//! so the workspace's `unsafe_code = "forbid"` holds here too.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;
use windows_permissions::constants::{AceFlags, AceType, SeObjectType, SecurityInformation};
use windows_permissions::{wrappers, Acl, LocalBox, SecurityDescriptor};

use super::{readers_besides_owner, sid_name, AccessEntry};

// Access rights for the handle that creates a private file: it must be able
// to write the data and to replace the file's access list.
const GENERIC_WRITE: u32 = 0x4000_0000;
const READ_CONTROL: u32 = 0x0002_0000;
const WRITE_DAC: u32 = 0x0004_0000;

/// The service control code that asks a running service for a manual sync
/// (`dirsync service sync-now`, or `sc.exe control dirsync 128`).
pub const SYNC_NOW_CONTROL: u32 = 128;

pub(super) fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .access_mode(GENERIC_WRITE | READ_CONTROL | WRITE_DAC)
        .open(path)
}

/// The protected (never inherited) access list that allows only `owner` and SYSTEM.
fn private_sd(owner: &str, dir: bool) -> io::Result<LocalBox<SecurityDescriptor>> {
    let inherit = if dir { "OICI" } else { "" };
    format!("D:P(A;{inherit};FA;;;{owner})(A;{inherit};FA;;;SY)").parse()
}

fn dacl_of(sd: &SecurityDescriptor) -> io::Result<&Acl> {
    sd.dacl()
        .ok_or_else(|| io::Error::other("the private access list came out empty"))
}

const SET_PRIVATE: SecurityInformation = SecurityInformation::from_bits_truncate(
    SecurityInformation::Dacl.bits() | SecurityInformation::ProtectedDacl.bits(),
);

/// The owner's SID as text, for [`private_sd`].
fn owner_sid(sd: &SecurityDescriptor) -> io::Result<String> {
    sd.owner()
        .map(|s| s.to_string())
        .ok_or_else(|| io::Error::other("the file has no owner"))
}

pub(super) fn make_private(file: &mut File) -> io::Result<()> {
    let sd = wrappers::GetSecurityInfo(
        file,
        SeObjectType::SE_FILE_OBJECT,
        SecurityInformation::Owner,
    )?;
    let new = private_sd(&owner_sid(&sd)?, false)?;
    wrappers::SetSecurityInfo(
        file,
        SeObjectType::SE_FILE_OBJECT,
        SET_PRIVATE,
        None,
        None,
        Some(dacl_of(&new)?),
        None,
    )
}

pub(super) fn make_path_private(path: &Path) -> io::Result<()> {
    let dir = std::fs::metadata(path)?.is_dir();
    let sd = wrappers::GetNamedSecurityInfo(
        path.as_os_str(),
        SeObjectType::SE_FILE_OBJECT,
        SecurityInformation::Owner,
    )?;
    let new = private_sd(&owner_sid(&sd)?, dir)?;
    wrappers::SetNamedSecurityInfo(
        path.as_os_str(),
        SeObjectType::SE_FILE_OBJECT,
        SET_PRIVATE,
        None,
        None,
        Some(dacl_of(&new)?),
        None,
    )
}

pub(super) fn exposure(path: &Path) -> io::Result<Option<String>> {
    let sd = wrappers::GetNamedSecurityInfo(
        path.as_os_str(),
        SeObjectType::SE_FILE_OBJECT,
        SecurityInformation::Owner | SecurityInformation::Dacl,
    )?;
    let owner = sd.owner().map(|s| s.to_string()).unwrap_or_default();
    let entries = sd.dacl().map(|acl| {
        (0..acl.len())
            .filter_map(|i| acl.get_ace(i))
            .map(|ace| AccessEntry {
                allow: ace.ace_type() == AceType::ACCESS_ALLOWED_ACE_TYPE,
                inherit_only: ace.flags().contains(AceFlags::InheritOnly),
                sid: ace.sid().map(|s| s.to_string()).unwrap_or_default(),
                mask: ace.mask().bits(),
            })
            .collect::<Vec<_>>()
    });
    let readers = readers_besides_owner(&owner, entries.as_deref());
    Ok((!readers.is_empty()).then(|| {
        readers
            .iter()
            .map(|s| sid_name(s))
            .collect::<Vec<_>>()
            .join(", ")
    }))
}

pub(super) fn fix_hint(path: &Path) -> String {
    format!(
        "icacls \"{}\" /inheritance:r /grant:r \"%USERNAME%:F\" \"*S-1-5-18:F\" (and /remove any other account listed)",
        path.display()
    )
}

pub(super) fn service_dir() -> PathBuf {
    std::env::var_os("ProgramData")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("dirsync")
}

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);
static STOP: Notify = Notify::const_new();
static SYNC_NOW: Notify = Notify::const_new();

/// Called by the service control handler on SERVICE_CONTROL_STOP/SHUTDOWN.
pub fn request_stop() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
    STOP.notify_waiters();
}

/// Called by the service control handler on [`SYNC_NOW_CONTROL`].
pub fn request_sync() {
    SYNC_NOW.notify_one();
}

async fn service_stop() {
    loop {
        let notified = STOP.notified();
        if STOP_REQUESTED.load(Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
}

/// Resolves on Ctrl-C, on closing the console or shutting down, or when
/// the Service Control Manager stops the service.
pub async fn shutdown_signal() {
    use tokio::signal::windows::{ctrl_close, ctrl_shutdown};
    let mut close = ctrl_close().ok();
    let mut shutdown = ctrl_shutdown().ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = service_stop() => {}
        _ = async { match close.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {}
        _ = async { match shutdown.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {}
    }
}

/// The manual-sync request: Ctrl-Break in the console running `dirsync
/// serve`, or `dirsync service sync-now` (control code 128) for the service.
pub struct ManualTrigger {
    brk: Option<tokio::signal::windows::CtrlBreak>,
}

impl ManualTrigger {
    /// Starts listening; later requests are queued until [`ManualTrigger::recv`].
    pub fn new() -> Self {
        ManualTrigger {
            brk: tokio::signal::windows::ctrl_break().ok(),
        }
    }

    /// What the log calls the request.
    pub const NAME: &'static str = "Ctrl-Break or service control 128";

    /// Resolves at the next request.
    pub async fn recv(&mut self) {
        let brk = async {
            match self.brk.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = brk => {}
            _ = SYNC_NOW.notified() => {}
        }
    }
}

impl Default for ManualTrigger {
    fn default() -> Self {
        Self::new()
    }
}
