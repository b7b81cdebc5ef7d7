//! Files with an exact mode, whatever the umask: the state store (anchors,
//! the directory replica, run history) and the files `init` writes. On
//! Windows, owner-only modes become an owner-and-SYSTEM access list.

use std::path::Path;

/// Opens `path` for writing (created if missing, emptied when `truncate`)
/// and sets its mode to exactly `mode` (`0o600`, or `0o640` for the
/// configuration). The umask narrows a new file's mode but never widens a
/// loose one, so the mode is set on the open file as well. The one place
/// with Unix permission code; elsewhere the file is opened as it is.
pub fn open(path: &Path, mode: u32, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(mode);
        let f = o.open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        // Windows: an owner-only mode becomes an access list that allows
        // only the owner and SYSTEM (crate::platform); others stay as created.
        let f = o.open(path)?;
        if mode & 0o077 == 0 {
            crate::platform::make_path_private(path)?;
        }
        Ok(f)
    }
}

/// Writes `text` to `path` with exactly `mode`.
pub fn write(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    open(path, mode, true)?.write_all(text.as_bytes())
}

/// Makes the SQLite state store owner-only (0600) before it is opened:
/// the file is created 0600 if missing (SQLite gives its `-wal` and `-shm`
/// files the database file's mode), and existing ones are narrowed.
pub fn restrict_sqlite(db: &Path) -> std::io::Result<()> {
    open(db, 0o600, false)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        if p.exists() {
            open(&p, 0o600, false)?;
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn modes_are_exact_for_new_and_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let wal = dir.path().join("state.db-wal");
        std::fs::write(&wal, "").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o666)).unwrap();
        restrict_sqlite(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
        std::fs::write(&db, "kept").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict_sqlite(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(
            std::fs::read_to_string(&db).unwrap(),
            "kept",
            "never truncated"
        );
        let conf = dir.path().join("dirsync.toml");
        write(&conf, "x = 1\n", 0o640).unwrap();
        assert_eq!(mode(&conf), 0o640);
    }
}
