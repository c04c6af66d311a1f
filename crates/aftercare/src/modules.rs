//! The services this binary can run. Each service crate adds its module here.

use aftercare_runtime::Config;
use aftercare_runtime::module::{Module, SystemModule};

/// Every module, in start order.
pub fn all() -> Vec<Box<dyn Module>> {
    vec![
        Box::new(SystemModule),
        Box::new(aftercare_intake::IntakeModule),
        Box::new(aftercare_complaint::ComplaintModule),
        Box::new(aftercare_analytics::AnalyticsModule),
    ]
}

/// Every module's part of the configuration, checked whichever modules this
/// process runs, so a configuration is valid or not for the whole deployment;
/// and every key of the dealer tables must belong to some module.
pub fn check_config(config: &Config, errors: &mut Vec<String>) {
    let modules = all();
    let mut keys: Vec<&str> = Vec::new();
    for module in &modules {
        module.check_config(config, errors);
        keys.extend(module.dealer_keys());
    }
    config.dealers.check_keys(&keys, errors);
}

/// The modules named by `--service`; all when none is named. The system module
/// (status, audit trail) always runs.
pub fn select(names: &[String]) -> Result<Vec<Box<dyn Module>>, String> {
    let available: Vec<&str> = all().iter().map(|m| m.name()).collect();
    if let Some(unknown) = names.iter().find(|n| !available.contains(&n.as_str())) {
        return Err(format!(
            "unknown service {unknown:?}; available: {}",
            available.join(", ")
        ));
    }
    Ok(all()
        .into_iter()
        .filter(|m| names.is_empty() || m.name() == "system" || names.iter().any(|n| n == m.name()))
        .collect())
}
