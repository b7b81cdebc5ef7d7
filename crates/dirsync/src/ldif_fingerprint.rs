//! The fingerprint of an LDIF file: its size, modification time and
//! SHA-256, kept as the directory "cookie" of the LDIF source.
//!
//! Why: the LDIF source has no change tracking, so without this every run
//! parses the whole file and plans a full sync. The fingerprint of the file
//! a committed run read is stored with that run's replica (as its cookie, in
//! the same transaction). A rerun whose file has the same fingerprint has
//! nothing new to read: it is an incremental run with no change, which the
//! engine finishes without reading the control panel when the last run was
//! clean. A file with another fingerprint is streamed and compared with
//! the replica ([`crate::ldif_diff`], [`dirsync_engine::replica_diff`]).
//!
//! The fingerprint is computed from the same bytes that are parsed (both
//! passes of a streamed read hash what they read, and must agree), so a
//! file rewritten meanwhile can never be taken for the one read.

use std::io::Read;
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// What every LDIF fingerprint cookie starts with; an LDAP cookie never does.
const PREFIX: &str = "ldif-fingerprint:v1:";

/// True when a stored cookie is an LDIF fingerprint (not a DirSync or USN
/// position of the LDAP source).
pub fn is_fingerprint(cookie: &[u8]) -> bool {
    cookie.starts_with(PREFIX.as_bytes())
}

/// The size and modification time (nanoseconds since the epoch, 0 when the
/// file system has none) of a file.
pub fn stat(path: &Path) -> Result<(u64, u128)> {
    let m = std::fs::metadata(path)
        .with_context(|| format!("cannot read the LDIF file {}", path.display()))?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((m.len(), mtime))
}

/// The fingerprint cookie of a file whose content is `bytes`, with the
/// size and modification time taken before it was read.
pub fn of_bytes(size_mtime: (u64, u128), bytes: &[u8]) -> Vec<u8> {
    cookie(size_mtime, &Sha256::digest(bytes))
}

/// The fingerprint cookie of a file whose content has the SHA-256
/// `digest` (computed while it was streamed), with its size and time.
pub fn of_digest(size_mtime: (u64, u128), digest: &[u8]) -> Vec<u8> {
    cookie(size_mtime, digest)
}

fn cookie((size, mtime): (u64, u128), digest: &[u8]) -> Vec<u8> {
    format!("{PREFIX}{size}:{mtime}:{}", hex::encode(digest)).into_bytes()
}

/// The fingerprint of the file at `path` now, streamed through the hash
/// (the file is not held in memory).
pub fn of_file(path: &Path) -> Result<Vec<u8>> {
    let meta = stat(path)?;
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("cannot read the LDIF file {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read the LDIF file {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(cookie(meta, &h.finalize()))
}

/// Reads the file once: its text and the fingerprint of exactly that text.
pub fn read_with_fingerprint(path: &Path) -> Result<(String, Vec<u8>)> {
    let meta = stat(path)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the LDIF file {}", path.display()))?;
    let fp = of_bytes(meta, text.as_bytes());
    Ok((text, fp))
}

/// What [`read_again`] appends: no file's fingerprint ends with it.
const READ_AGAIN: &str = ":read-again";

/// The cookie to commit for a file that had records in scope that could
/// not be read: the next run reads the file again (it is never
/// "unchanged"), so every run reports those records until they are fixed,
/// instead of the next idle run saying nothing.
pub fn read_again(mut fingerprint: Vec<u8>) -> Vec<u8> {
    fingerprint.extend_from_slice(READ_AGAIN.as_bytes());
    fingerprint
}

/// True when the file at `path` still has the fingerprint `stored` (same
/// size, modification time and content).
pub fn unchanged(path: &Path, stored: &[u8]) -> Result<bool> {
    if !is_fingerprint(stored) {
        return Ok(false);
    }
    // Size and time first: a differing one settles it without hashing.
    let (size, mtime) = stat(path)?;
    let head = format!("{PREFIX}{size}:{mtime}:");
    if !stored.starts_with(head.as_bytes()) {
        return Ok(false);
    }
    Ok(of_file(path)? == stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_keeps_its_fingerprint_until_its_size_time_or_content_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.ldif");
        std::fs::write(&p, "dn: CN=a\n\n").unwrap();
        let (text, fp) = read_with_fingerprint(&p).unwrap();
        assert_eq!(text, "dn: CN=a\n\n");
        assert!(is_fingerprint(&fp));
        assert_eq!(of_file(&p).unwrap(), fp);
        assert!(unchanged(&p, &fp).unwrap());
        // Not a fingerprint (an LDAP cookie): never unchanged.
        assert!(!is_fingerprint(b"\x01\x02dirsync"));
        assert!(!unchanged(&p, b"\x01\x02dirsync").unwrap());
        // Same size, other content, same time set back: the hash tells.
        let t = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::fs::write(&p, "dn: CN=b\n\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
        assert_eq!(stat(&p).unwrap().0, 10);
        assert!(!unchanged(&p, &fp).unwrap());
        // A fingerprint marked to be read again is never unchanged.
        let now = of_file(&p).unwrap();
        assert!(unchanged(&p, &now).unwrap());
        assert!(!unchanged(&p, &read_again(now.clone())).unwrap());
        assert!(is_fingerprint(&read_again(now)));
        // Other size.
        std::fs::write(&p, "dn: CN=abc\n\n").unwrap();
        assert!(!unchanged(&p, &fp).unwrap());
        // A missing file is an error naming it, not "unchanged".
        std::fs::remove_file(&p).unwrap();
        let e = unchanged(&p, &fp).unwrap_err();
        assert!(format!("{e:#}").contains("d.ldif"), "{e:#}");
    }
}
