//! The data folder of the embedded default (event log, SQLite read models, key
//! vault, admin token): private to its owner, and used by one process at a time.
//!
//! Two `serve` processes on one folder would each run every projection; the
//! conditional checkpoint keeps that correct, but two writers of one SQLite log
//! from two processes is not a supported shape, so the second is refused and
//! told which process holds the folder.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const LOCK_FILE: &str = "aftercare.lock";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "the data folder {dir} is in use by another aftercare process{holder}; stop it first, or give this one another data folder"
    )]
    InUse { dir: PathBuf, holder: String },
    #[error("data folder {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held for as long as the process uses the folder; the lock goes with the process.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    pub path: PathBuf,
}

/// Creates `dir` (0700) if needed and tightens it to 0700 if it exists.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(0o700))
}

/// Creates `file` (0600) if missing, tightening an existing one to 0600. SQLite
/// gives its WAL and shared-memory files the mode of the database file, so
/// creating the database this way keeps all three private.
pub fn ensure_private_file(file: &Path) -> std::io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        ensure_private_dir(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)?;
    std::fs::set_permissions(file, Permissions::from_mode(0o600))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        if side.exists() {
            std::fs::set_permissions(&side, Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// Takes the folder for this process: private, and locked against a second one.
pub fn lock(dir: &Path) -> Result<DataDirLock, DataDirError> {
    let io = |source| DataDirError::Io {
        dir: dir.to_owned(),
        source,
    };
    ensure_private_dir(dir).map_err(io)?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(DataDirError::InUse {
                dir: dir.to_owned(),
                holder: if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (process {holder})")
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(DataDirLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let first = lock(&data).expect("first");
        let err = lock(&data).expect_err("second");
        let message = err.to_string();
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
        drop(first);
        lock(&data).expect("free again once the first is gone");
    }

    #[test]
    fn folder_and_files_are_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("dir");
        std::fs::set_permissions(&data, Permissions::from_mode(0o755)).expect("chmod");
        let _lock = lock(&data).expect("lock");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        let db = data.join("events.db");
        std::fs::write(&db, b"").expect("file");
        std::fs::set_permissions(&db, Permissions::from_mode(0o644)).expect("chmod");
        ensure_private_file(&db).expect("private");
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&data.join(LOCK_FILE)), 0o600);
    }
}
