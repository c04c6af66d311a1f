//! Finding PostgreSQL's server binaries and running them as the right user.

use std::path::PathBuf;
use std::process::Command;

/// Where the server binaries are and whom they must run as.
pub(super) struct Tools {
    pub(super) bin: PathBuf,
    /// PostgreSQL refuses to run as root, so as root everything runs as `postgres`.
    pub(super) as_postgres: bool,
}

impl Tools {
    pub(super) fn find() -> Tools {
        Tools {
            bin: postgres_bin_dir(),
            as_postgres: running_as_root(),
        }
    }

    pub(super) fn command(&self, program: &str) -> Command {
        let binary = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(binary);
            command
        } else {
            Command::new(binary)
        }
    }
}

/// `PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin` with an initdb.
fn postgres_bin_dir() -> PathBuf {
    const MISSING: &str =
        "PostgreSQL server binaries not found: run `make tools` (installs Debian's postgresql)";
    if let Some(bin) = std::env::var_os("PG_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.join("initdb").is_file(),
            "{MISSING} (PG_BIN={} has no initdb)",
            bin.display()
        );
        return bin;
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql").unwrap_or_else(|_| panic!("{MISSING}"));
    versions
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version: Vec<u32> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| panic!("{MISSING}"))
}

fn running_as_root() -> bool {
    let output = Command::new("id")
        .arg("-u")
        .output()
        .expect("run `id -u` to learn whether we are root");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}
