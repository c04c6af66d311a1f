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
        Box::new(aftercare_callback::CallbackModule),
        Box::new(aftercare_loyalty::LoyaltyModule),
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

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFESTS: &str = include_str!("../../../deploy/k8s/base/aftercare.yaml");
    const SECRETS: &str = include_str!("../../../deploy/k8s/examples/secrets.example.yaml");

    /// Every `serve --service X` of the Kubernetes manifests names a module this
    /// binary has.
    #[test]
    fn every_deployment_runs_a_service_the_binary_has() {
        let available: Vec<&str> = all().iter().map(|m| m.name()).collect();
        let named: Vec<&str> = MANIFESTS
            .split("\"--service\", \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(named.len() >= 3, "{named:?}");
        for service in named {
            assert!(
                available.contains(&service),
                "{service} is not one of {available:?}"
            );
        }
    }

    /// The README's dealer rules load as they are, every service checking its part.
    #[test]
    fn the_readmes_dealer_rules_load() {
        let readme = include_str!("../../../README.md");
        let block = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .find(|b| b.contains("[dealers.default]"))
            .expect("a dealer rules block");
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), block).expect("write");
        let config = Config::load_checked(Some(file.path()), Vec::new(), check_config)
            .unwrap_or_else(|e| panic!("{e}\n{block}"));
        let callback: aftercare_callback::config::CallbackDealers =
            config.dealers.section(&mut Vec::new());
        assert_eq!(
            callback
                .rules("D042")
                .callback
                .first_service_of("科鲁兹")
                .km,
            3_000
        );
    }

    /// The example `tokens.toml` of the Secret loads once its placeholder is
    /// replaced by a token, and refuses the placeholder itself.
    #[test]
    fn the_example_tokens_file_loads() {
        let block: String = SECRETS
            .split("tokens.toml: |\n")
            .nth(1)
            .expect("a tokens.toml block")
            .lines()
            .take_while(|l| l.starts_with("    ") || l.is_empty())
            .map(|l| format!("{}\n", l.trim_start()))
            .collect();
        let load = |text: &str| {
            let file = tempfile::NamedTempFile::new().expect("temp file");
            std::fs::write(file.path(), text).expect("write");
            Config::load_checked(
                None,
                [(
                    "AFTERCARE__AUTH__TOKENS_FILE".to_owned(),
                    file.path().display().to_string(),
                )],
                check_config,
            )
        };
        let config = load(&block.replace("CHANGE-ME", "3f9c1d2e8b7a6f5e4d3c2b1a0f9e8d7c"))
            .unwrap_or_else(|e| panic!("{e}\n{block}"));
        let table = aftercare_runtime::TokenTable::from_config(&config.auth).expect("tokens");
        let principal = table
            .lookup("3f9c1d2e8b7a6f5e4d3c2b1a0f9e8d7c")
            .expect("the example's principal");
        assert!(principal.has_role(aftercare_runtime::Role::ServiceAdvisor));
        let refused = load(&block).expect_err("the placeholder is not a token");
        assert!(refused.to_string().contains("token"), "{refused}");
    }
}
