//! How a dealer handles complaints, as its configuration gives it: the
//! `[dealers.<id>.complaint]` table (see the complaint module's configuration).

use serde::Deserialize;

/// How a dealer handles complaints: who handles each grade and how long each
/// grade has.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplaintRules {
    /// Hours from filing to the first response (acknowledgement).
    pub response_hours: u32,
    /// Calendar days to resolve, by grade 1–5, counted to the end of the day at
    /// the dealer.
    pub resolve_days: [u32; 5],
    /// Product-liability complaints, whatever their grade.
    pub product_liability_days: u32,
    /// Who handles each grade 1–5: front desk, department manager, director,
    /// general manager (grades 4 and 5).
    pub handlers: [String; 5],
    /// Early warning: a car in the workshop this many days with no promised
    /// completion time.
    pub stay_days: u32,
    /// Early warning: a repair open this many days.
    pub repair_days: u32,
    /// Early warning: the same fault code on this many visits of one vehicle…
    pub repeat_fault_visits: u32,
    /// …within this many days.
    pub repeat_fault_window_days: u32,
    /// The monthly complaint-rate target (complaints / service visits), in basis
    /// points: 110 is 1.10%.
    pub target_rate_basis_points: u32,
    /// Complaint records are kept this many years after filing, then removed from
    /// the read models and their personal data erased.
    pub retention_years: u32,
}

impl Default for ComplaintRules {
    fn default() -> Self {
        Self {
            response_hours: 24,
            // Escalated complaints in 3 days; major and crisis complaints in 5.
            resolve_days: [1, 2, 3, 5, 5],
            product_liability_days: 5,
            handlers: [
                "front-desk".to_owned(),
                "department-manager".to_owned(),
                "director".to_owned(),
                "general-manager".to_owned(),
                "general-manager".to_owned(),
            ],
            stay_days: 7,
            repair_days: 21,
            repeat_fault_visits: 3,
            repeat_fault_window_days: 180,
            target_rate_basis_points: 110,
            retention_years: 3,
        }
    }
}

impl ComplaintRules {
    /// Every bad value, each named under `key` (`dealers.D042.complaint`).
    pub fn check(&self, key: &str, errors: &mut Vec<String>) {
        if self.response_hours == 0 {
            errors.push(format!("{key}.response_hours: must be at least 1"));
        }
        if self.resolve_days.contains(&0) || self.product_liability_days == 0 {
            errors.push(format!("{key}: resolve days must be at least 1"));
        }
        if self.repeat_fault_visits < 2 {
            errors.push(format!("{key}.repeat_fault_visits: must be at least 2"));
        }
        if self.handlers.iter().any(|h| h.trim().is_empty()) {
            errors.push(format!("{key}.handlers: every grade needs a handler"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ComplaintRules;

    #[test]
    fn bad_values_are_named() {
        let rules = ComplaintRules {
            response_hours: 0,
            repeat_fault_visits: 1,
            ..ComplaintRules::default()
        };
        let mut errors = Vec::new();
        rules.check("dealers.D042.complaint", &mut errors);
        assert_eq!(
            errors,
            [
                "dealers.D042.complaint.response_hours: must be at least 1",
                "dealers.D042.complaint.repeat_fault_visits: must be at least 2"
            ]
        );
        let mut none = Vec::new();
        ComplaintRules::default().check("dealers.default.complaint", &mut none);
        assert!(none.is_empty(), "{none:?}");
    }
}
