//! The local admin token of the embedded default: generated once, kept in a file
//! only its owner can read. There is no default password.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aftercare_runtime::Secret;

pub const FILE_NAME: &str = "admin.token";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the token in `data_dir`, creating it (mode 0600) when missing.
pub fn ensure(data_dir: &Path) -> std::io::Result<Secret> {
    let path = path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(token) => {
            let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(std::io::Error::other(format!(
                    "{} is readable by others (mode {mode:o}); chmod 600 it or delete it to get a new one",
                    path.display()
                )));
            }
            Ok(Secret::new(token.trim()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let token = generate();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            writeln!(file, "{token}")?;
            file.sync_all()?;
            Ok(Secret::new(token))
        }
        Err(e) => Err(e),
    }
}

/// 244 random bits from the operating system, as hex.
fn generate() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_and_stable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = ensure(dir.path()).expect("created");
        let mode = std::fs::metadata(path(dir.path()))
            .expect("file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(first.expose().len(), 64);
        let second = ensure(dir.path()).expect("read back");
        assert_eq!(first, second);
        let other = tempfile::tempdir().expect("temp dir");
        assert_ne!(
            ensure(other.path()).expect("another"),
            first,
            "tokens are random"
        );
    }

    #[test]
    fn refuses_a_token_file_others_can_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        ensure(dir.path()).expect("created");
        std::fs::set_permissions(path(dir.path()), std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
        let err = ensure(dir.path()).expect_err("world-readable");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
