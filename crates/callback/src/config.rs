//! The callback service's part of every dealer's table: `[dealers.<id>.callback]`
//! (`[dealers.default.callback]` for all), read and checked by this service.

use aftercare_runtime::config::{DealerSection, Dealers};
use serde::Deserialize;

use crate::domain::rules::CallbackRules;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackSection {
    pub callback: CallbackRules,
}

impl DealerSection for CallbackSection {
    const KEYS: &'static [&'static str] = &["callback"];

    fn check(&self, key: &str, errors: &mut Vec<String>) {
        self.callback.check(&format!("{key}.callback"), errors);
    }
}

/// Every dealer's callback rules, with its clock.
pub type CallbackDealers = Dealers<CallbackSection>;

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<CallbackDealers, String> {
        let config =
            aftercare_runtime::config::DealersConfig::from_toml(toml).map_err(|e| e.join("\n"))?;
        let mut errors = Vec::new();
        let dealers = config.section(&mut errors);
        if errors.is_empty() {
            Ok(dealers)
        } else {
            Err(errors.join("\n"))
        }
    }

    #[test]
    fn a_dealer_sets_its_own_windows_and_models() {
        let dealers = load(
            "[dealers.D042.callback]\npost_sale_days = 5\n\
             first_service_by_model = { \"Model E\" = { months = 3, km = 3000 } }\n",
        )
        .expect("valid");
        let d042 = &dealers.rules("D042").callback;
        assert_eq!(d042.post_sale_days, 5);
        assert_eq!(d042.first_service_of("Model E").km, 3_000);
        assert_eq!(d042.first_service_of("Other").km, 5_000);
        assert_eq!(dealers.rules("D001").callback.post_sale_days, 3);
    }

    #[test]
    fn every_bad_value_is_named() {
        let err = load("[dealers.D042.callback]\nattempts = 0\npost_service_days = 0\n")
            .expect_err("invalid");
        assert!(
            err.contains("dealers.D042.callback.attempts: must be at least 1"),
            "{err}"
        );
        assert!(
            err.contains("dealers.D042.callback.post_service_days: must be at least 1"),
            "{err}"
        );
    }
}
