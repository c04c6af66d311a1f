//! The test servers, the deploy files and the workspace's structure.

mod architecture;
mod deploy_files;
mod dms_permissions;
mod servers;
