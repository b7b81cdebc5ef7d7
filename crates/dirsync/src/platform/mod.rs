//! What differs between Unix and Windows, in one place: private files, the
//! shutdown and manual-sync signals, and default locations. Everything else
//! in dirsync is one code path for both.
//!
//! Private means readable by the owner only: mode 0600 on Unix; on Windows a
//! protected access list (nothing inherited) that allows only the file's
//! owner and SYSTEM. A secrets file that others can read is refused on both,
//! with the command that fixes it ([`exposure`], [`fix_hint`]).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
pub mod windows;
#[cfg(windows)]
use self::windows as imp;

pub use imp::{shutdown_signal, ManualTrigger};

/// Creates (or replaces) `path` with `bytes`, readable only by its owner,
/// with no moment at which the content is readable by others: the file is
/// made private while still empty.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = imp::create_private(path)?;
    make_private(&mut f)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Restricts an open file to its owner (0600; owner and SYSTEM on Windows).
pub fn make_private(file: &mut File) -> io::Result<()> {
    imp::make_private(file)
}

/// Restricts an existing file or directory at `path` to its owner.
pub fn make_path_private(path: &Path) -> io::Result<()> {
    imp::make_path_private(path)
}

/// Who besides the owner can read `path`, in words (`None`: nobody).
pub fn exposure(path: &Path) -> io::Result<Option<String>> {
    imp::exposure(path)
}

/// The command an administrator runs to make `path` private.
pub fn fix_hint(path: &Path) -> String {
    imp::fix_hint(path)
}

/// Where the service keeps its configuration, secrets, state and logs
/// unless told otherwise: `/etc/dirsync` on Unix (state in
/// `/var/lib/dirsync`, see packaging/), `%ProgramData%\dirsync` on Windows.
pub fn service_dir() -> PathBuf {
    imp::service_dir()
}

/// One entry of a Windows access list, as far as [`readers_besides_owner`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// An allow entry (deny entries never widen access).
    pub allow: bool,
    /// Applies only to children (files never inherit from a file).
    pub inherit_only: bool,
    /// The trustee as a string SID, e.g. `S-1-5-18`.
    pub sid: String,
    /// The access mask.
    pub mask: u32,
}

/// SIDs that may read a private file besides its owner: SYSTEM, the
/// built-in Administrators (who can take ownership of any file anyway) and
/// OWNER RIGHTS.
const TRUSTED_SIDS: &[&str] = &["S-1-5-18", "S-1-5-32-544", "S-1-3-4"];

/// Bits of an access mask that let a trustee read a file's content:
/// FILE_READ_DATA, GENERIC_ALL, GENERIC_READ, MAXIMUM_ALLOWED.
const READ_BITS: u32 = 0x0000_0001 | 0x1000_0000 | 0x8000_0000 | 0x0200_0000;

/// The SIDs other than the owner and the trusted ones that an access list
/// lets read a file. `None` for the list means no list at all (a null DACL),
/// which lets everyone in.
pub fn readers_besides_owner(owner: &str, dacl: Option<&[AccessEntry]>) -> Vec<String> {
    let Some(entries) = dacl else {
        return vec!["Everyone (the file has no access list)".into()];
    };
    let mut out: Vec<String> = Vec::new();
    for e in entries {
        if !e.allow || e.inherit_only || e.mask & READ_BITS == 0 {
            continue;
        }
        if e.sid == owner || TRUSTED_SIDS.contains(&e.sid.as_str()) {
            continue;
        }
        if !out.contains(&e.sid) {
            out.push(e.sid.clone());
        }
    }
    out
}

/// A readable name for the well-known SIDs that show up on files.
pub fn sid_name(sid: &str) -> String {
    let name = match sid {
        "S-1-1-0" => "Everyone",
        "S-1-5-11" => "Authenticated Users",
        "S-1-5-32-545" => "Users",
        "S-1-5-32-546" => "Guests",
        "S-1-3-0" => "CREATOR OWNER",
        "S-1-5-4" => "INTERACTIVE",
        _ => return sid.to_string(),
    };
    format!("{name} ({sid})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(allow: bool, inherit_only: bool, sid: &str, mask: u32) -> AccessEntry {
        AccessEntry {
            allow,
            inherit_only,
            sid: sid.into(),
            mask,
        }
    }

    const OWNER: &str = "S-1-5-21-1-2-3-1001";
    const FULL: u32 = 0x001F_01FF;

    /// A case: its name, the access list (`None`: no list), the readers expected.
    type Case = (&'static str, Option<Vec<AccessEntry>>, Vec<&'static str>);

    #[test]
    fn who_else_can_read() {
        let cases: Vec<Case> = vec![
            (
                "no list at all",
                None,
                vec!["Everyone (the file has no access list)"],
            ),
            ("empty list", Some(vec![]), vec![]),
            (
                "owner and SYSTEM only",
                Some(vec![
                    e(true, false, OWNER, FULL),
                    e(true, false, "S-1-5-18", FULL),
                ]),
                vec![],
            ),
            (
                "Administrators are trusted",
                Some(vec![e(true, false, "S-1-5-32-544", FULL)]),
                vec![],
            ),
            (
                "Users inherited from ProgramData",
                Some(vec![
                    e(true, false, OWNER, FULL),
                    e(true, false, "S-1-5-32-545", 0x0012_00A9),
                ]),
                vec!["S-1-5-32-545"],
            ),
            (
                "Everyone with GENERIC_READ",
                Some(vec![e(true, false, "S-1-1-0", 0x8000_0000)]),
                vec!["S-1-1-0"],
            ),
            (
                "a deny entry never widens access",
                Some(vec![e(false, false, "S-1-1-0", FULL)]),
                vec![],
            ),
            (
                "write-only grant is not a reader",
                Some(vec![e(true, false, "S-1-5-32-545", 0x0000_0002)]),
                vec![],
            ),
            (
                "inherit-only entries do not apply to the file",
                Some(vec![e(true, true, "S-1-3-0", FULL)]),
                vec![],
            ),
            (
                "each reader once",
                Some(vec![
                    e(true, false, "S-1-5-11", 1),
                    e(true, false, "S-1-5-11", FULL),
                ]),
                vec!["S-1-5-11"],
            ),
        ];
        for (name, dacl, want) in cases {
            assert_eq!(
                readers_besides_owner(OWNER, dacl.as_deref()),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn well_known_names() {
        assert_eq!(sid_name("S-1-5-32-545"), "Users (S-1-5-32-545)");
        assert_eq!(sid_name("S-1-5-21-9"), "S-1-5-21-9");
    }

    #[cfg(unix)]
    #[test]
    fn write_private_is_owner_only_and_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(exposure(&p).unwrap().is_some());
        write_private(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(exposure(&p).unwrap(), None);
        assert!(fix_hint(&p).starts_with("chmod 600 "));
    }
}
