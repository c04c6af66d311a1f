//! The complaint service's part of every dealer's table: `[dealers.<id>.complaint]`
//! (`[dealers.default.complaint]` for all), read and checked by this service.

use aftercare_runtime::config::{DealerSection, Dealers};
use serde::Deserialize;

use crate::domain::rules::ComplaintRules;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplaintSection {
    pub complaint: ComplaintRules,
}

impl DealerSection for ComplaintSection {
    const KEYS: &'static [&'static str] = &["complaint"];

    fn check(&self, key: &str, errors: &mut Vec<String>) {
        self.complaint.check(&format!("{key}.complaint"), errors);
    }
}

/// Every dealer's complaint rules, with its clock.
pub type ComplaintDealers = Dealers<ComplaintSection>;

/// What the complaint context writes for `dealer`'s people is in its language,
/// at its clock.
pub fn words<'a>(dealers: &'a ComplaintDealers, dealer: &str) -> crate::domain::words::Words<'a> {
    let rules = dealers.rules(dealer);
    crate::domain::words::Words {
        language: rules.language,
        zone: &rules.time_zone,
    }
}

/// The longest repeat-fault window of any dealer, for queries over all of them.
pub fn longest_repeat_fault_window_days(dealers: &ComplaintDealers) -> u32 {
    dealers
        .all()
        .map(|d| d.rules.complaint.repeat_fault_window_days)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<aftercare_runtime::Config, String> {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), toml).expect("write config");
        aftercare_runtime::Config::load_checked(Some(file.path()), Vec::new(), |config, errors| {
            config.dealers.section::<ComplaintSection>(errors);
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_dealer_overrides_single_values_of_the_default() {
        let config = load(
            "[dealers.default.complaint]\nresponse_hours = 12\n\
             [dealers.D042.complaint]\nretention_years = 5\n",
        )
        .expect("valid");
        let dealers: ComplaintDealers = config.dealers.section(&mut Vec::new());
        let d042 = &dealers.rules("D042").complaint;
        assert_eq!((d042.response_hours, d042.retention_years), (12, 5));
        let other = &dealers.rules("D001").complaint;
        assert_eq!((other.response_hours, other.retention_years), (12, 3));
    }

    #[test]
    fn bad_values_are_reported_with_the_rest_of_the_configuration() {
        let err =
            load("[projections]\nbatch_size = 0\n[dealers.D042.complaint]\nresponse_hours = 0\n")
                .expect_err("invalid");
        assert!(
            err.contains("dealers.D042.complaint.response_hours: must be at least 1"),
            "{err}"
        );
        assert!(err.contains("projections.batch_size"), "{err}");
    }
}
