//! One sync at a time, across processes: an OS file lock beside the state store.
//!
//! `dirsync serve` holds the lock for its whole life; `dirsync sync` holds it
//! for one run. A second process finds the lock taken and refuses with the
//! holder's pid, instead of racing the first one against the control panel.
//! The OS releases the lock when the process dies, so a crash never leaves a
//! stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct SyncLock {
    file: File,
    path: PathBuf,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another dirsync process{holder} is already syncing with the state store beside {path}; wait for it to finish, or stop it (only one sync may run at a time)")]
    Busy { path: PathBuf, holder: String },
    #[error("cannot open the lock file {path}: {source}; check that the state directory exists and is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The lock file for a state store.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut s = state.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

impl SyncLock {
    /// Takes the lock for `state` without waiting.
    pub fn try_acquire(state: &Path) -> Result<SyncLock, LockError> {
        let path = lock_path(state);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LockError::Io {
                path: path.clone(),
                source,
            })?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| LockError::Io {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let holder = if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                };
                return Err(LockError::Busy {
                    path: state.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(source)) => return Err(LockError::Io { path, source }),
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(SyncLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SyncLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let a = SyncLock::try_acquire(&state).unwrap();
        let e = SyncLock::try_acquire(&state).unwrap_err().to_string();
        assert!(e.contains(&format!("(pid {})", std::process::id())), "{e}");
        drop(a);
        SyncLock::try_acquire(&state).unwrap();
    }
}
