//! A service visit as the DMS reports it: one repair order = one visit (台次).
//! Validation collects every bad field at once, so an integrator fixes a record
//! in one round trip.

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::FieldError;
use super::vin::Vin;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitKind {
    Maintenance,
    Repair,
    Warranty,
    Accident,
    Other,
}

impl VisitKind {
    pub fn parse(text: &str) -> Option<VisitKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "maintenance" | "保养" => Some(VisitKind::Maintenance),
            "repair" | "维修" | "一般维修" => Some(VisitKind::Repair),
            "warranty" | "保修" | "索赔" => Some(VisitKind::Warranty),
            "accident" | "事故" | "钣喷" => Some(VisitKind::Accident),
            "other" | "其他" => Some(VisitKind::Other),
            _ => None,
        }
    }
}

/// A repair order as received, before validation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepairOrder {
    pub repair_order: String,
    pub vin: String,
    pub customer_id: String,
    pub opened_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub mileage_km: i64,
    pub kind: Option<VisitKind>,
    pub labour_fen: i64,
    pub parts_fen: i64,
    pub service_advisor: String,
    pub advisor_group: String,
    pub fault_codes: Vec<String>,
}

/// A repair order that passed every rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidVisit {
    pub repair_order: String,
    pub vin: Vin,
    pub customer_id: Option<String>,
    pub opened_at: Timestamp,
    pub closed_at: Timestamp,
    pub mileage_km: u32,
    pub kind: VisitKind,
    pub labour_fen: i64,
    pub parts_fen: i64,
    pub service_advisor: String,
    pub advisor_group: String,
    pub fault_codes: Vec<String>,
}

/// Clocks of DMS servers drift; a visit closed this far in the future is still
/// accepted as "now".
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(10);
/// No DMS keeps repair orders older than this (1990-01-01T00:00:00Z): an earlier
/// time is a typing or conversion mistake, not history.
const EARLIEST: Timestamp = Timestamp::constant(631_152_000, 0);

fn too_early(at: Timestamp) -> String {
    format!("{at} is before 1990: not a plausible repair-order time")
}
const MAX_MILEAGE_KM: i64 = 2_000_000;

fn code_like(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.'))
}

impl RepairOrder {
    pub fn validate(&self, now: Timestamp) -> Result<ValidVisit, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, reason: String| errors.push(FieldError::new(field, reason));
        let repair_order = self.repair_order.trim().to_owned();
        if !code_like(&repair_order, 64) {
            bad(
                "repair_order",
                "must be 1–64 letters, digits, '-', '_', '/' or '.'".to_owned(),
            );
        }
        let vin = Vin::parse(&self.vin)
            .map_err(|e| bad("vin", e.to_string()))
            .ok();
        let latest = now.checked_add(CLOCK_SKEW).unwrap_or(now);
        match self.opened_at {
            None => bad("opened_at", "is required".to_owned()),
            Some(at) if at > latest => bad("opened_at", format!("{at} is in the future")),
            Some(at) if at < EARLIEST => bad("opened_at", too_early(at)),
            _ => {}
        }
        match self.closed_at {
            None => bad("closed_at", "is required".to_owned()),
            Some(at) if at > latest => bad("closed_at", format!("{at} is in the future")),
            Some(at) if at < EARLIEST => bad("closed_at", too_early(at)),
            Some(at) if self.opened_at.is_some_and(|o| at < o) => {
                bad("closed_at", "is before opened_at".to_owned())
            }
            _ => {}
        }
        if !(0..=MAX_MILEAGE_KM).contains(&self.mileage_km) {
            bad(
                "mileage_km",
                format!("{} is not between 0 and {MAX_MILEAGE_KM}", self.mileage_km),
            );
        }
        if self.kind.is_none() {
            bad(
                "kind",
                "must be maintenance, repair, warranty, accident or other".to_owned(),
            );
        }
        for (field, fen) in [("labour", self.labour_fen), ("parts", self.parts_fen)] {
            if fen < 0 {
                bad(field, format!("{fen} fen is negative"));
            }
        }
        let service_advisor = self.service_advisor.trim().to_owned();
        if service_advisor.is_empty() || service_advisor.chars().count() > 64 {
            bad("service_advisor", "must be 1–64 characters".to_owned());
        }
        let advisor_group = self.advisor_group.trim().to_owned();
        if advisor_group.chars().count() > 64 {
            bad("advisor_group", "must be at most 64 characters".to_owned());
        }
        let mut fault_codes = Vec::new();
        for (i, code) in self.fault_codes.iter().enumerate() {
            let code = code.trim().to_ascii_uppercase();
            if code_like(&code, 16) {
                fault_codes.push(code);
            } else {
                bad(
                    &format!("fault_codes[{i}]"),
                    format!("{code:?} is not a fault code like P0301"),
                );
            }
        }
        let customer_id = Some(self.customer_id.trim().to_owned()).filter(|c| !c.is_empty());
        match (vin, self.opened_at, self.closed_at, self.kind) {
            (Some(vin), Some(opened_at), Some(closed_at), Some(kind)) if errors.is_empty() => {
                Ok(ValidVisit {
                    repair_order,
                    vin,
                    customer_id,
                    opened_at,
                    closed_at,
                    mileage_km: self.mileage_km as u32,
                    kind,
                    labour_fen: self.labour_fen,
                    parts_fen: self.parts_fen,
                    service_advisor,
                    advisor_group,
                    fault_codes,
                })
            }
            _ => Err(errors),
        }
    }
}

pub use aftercare_kernel::vin::vehicle_id;

/// The visit id of a repair order: the same dealer and number give the same id,
/// minutes or years later, through any channel, so a visit is never counted twice.
pub fn visit_id(dealer: &str, repair_order: &str) -> Uuid {
    Uuid::new_v5(
        &aftercare_kernel::vin::ID_NAMESPACE,
        format!("visit/{dealer}/{}", repair_order.trim()).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-09-30T08:00:00Z".parse().expect("timestamp")
    }

    fn order() -> RepairOrder {
        RepairOrder {
            repair_order: "RO20260930-0042".into(),
            vin: "LSVAG2186E2100001".into(),
            customer_id: String::new(),
            opened_at: Some("2026-09-29T01:30:00Z".parse().expect("timestamp")),
            closed_at: Some("2026-09-29T07:10:00Z".parse().expect("timestamp")),
            mileage_km: 15_230,
            kind: Some(VisitKind::Maintenance),
            labour_fen: 28_000,
            parts_fen: 41_550,
            service_advisor: "王芳".into(),
            advisor_group: "A组".into(),
            fault_codes: vec![" p0301 ".into()],
        }
    }

    #[test]
    fn a_complete_repair_order_is_valid() {
        let visit = order().validate(now()).expect("valid");
        assert_eq!(visit.fault_codes, ["P0301"]);
        assert_eq!(visit.customer_id, None);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = RepairOrder {
            repair_order: "RO 1".into(),
            vin: "LSVAG2181E2100001".into(),
            closed_at: Some("2026-09-29T01:00:00Z".parse().expect("timestamp")),
            mileage_km: -5,
            kind: None,
            parts_fen: -1,
            service_advisor: " ".into(),
            fault_codes: vec!["P03 01".into()],
            ..order()
        };
        let errors = bad.validate(now()).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "repair_order",
                "vin",
                "closed_at",
                "mileage_km",
                "kind",
                "parts",
                "service_advisor",
                "fault_codes[0]"
            ]
        );
        assert!(
            errors[1].reason.contains("check digit"),
            "{}",
            errors[1].reason
        );
    }

    #[test]
    fn a_visit_before_1990_is_refused() {
        let ancient = RepairOrder {
            opened_at: Some("0001-01-01T00:00:00Z".parse().expect("timestamp")),
            closed_at: Some("1989-12-31T23:59:59Z".parse().expect("timestamp")),
            ..order()
        };
        let errors = ancient.validate(now()).expect_err("too early");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["opened_at", "closed_at"]);
        assert!(
            errors[0].reason.contains("before 1990"),
            "{}",
            errors[0].reason
        );
    }

    #[test]
    fn the_future_is_refused_beyond_clock_skew() {
        let soon = RepairOrder {
            closed_at: Some(now() + SignedDuration::from_mins(5)),
            ..order()
        };
        assert!(soon.validate(now()).is_ok(), "within the skew");
        let later = RepairOrder {
            closed_at: Some(now() + SignedDuration::from_hours(2)),
            ..order()
        };
        let errors = later.validate(now()).expect_err("future");
        assert_eq!(errors[0].field, "closed_at");
    }

    #[test]
    fn an_opening_needs_its_promise_after_it() {
        let opening = OpenedOrder {
            repair_order: "RO-5".into(),
            vin: "LSVAG2186E2100001".into(),
            opened_at: Some("2026-09-29T01:30:00Z".parse().expect("timestamp")),
            promised_at: Some("2026-09-28T01:30:00Z".parse().expect("timestamp")),
            service_advisor: "王芳".into(),
            ..OpenedOrder::default()
        };
        let errors = opening.validate(now()).expect_err("promise before opening");
        assert_eq!(errors[0].field, "promised_at");
        let fine = OpenedOrder {
            promised_at: None,
            ..opening
        };
        assert_eq!(
            fine.validate(now())
                .expect("no promise is fine")
                .promised_at,
            None
        );
    }

    #[test]
    fn ids_are_derived_from_dealer_and_reference() {
        assert_eq!(visit_id("D001", "RO-1"), visit_id("D001", " RO-1 "));
        assert_ne!(visit_id("D001", "RO-1"), visit_id("D002", "RO-1"));
        let vin = Vin::parse("LSVAG2186E2100001").expect("valid");
        assert_ne!(vehicle_id("D001", &vin), vehicle_id("D002", &vin));
    }
}

/// A repair order as the DMS opens it, before validation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpenedOrder {
    pub repair_order: String,
    pub vin: String,
    pub customer_id: String,
    pub opened_at: Option<Timestamp>,
    pub promised_at: Option<Timestamp>,
    pub kind: Option<VisitKind>,
    pub service_advisor: String,
    pub advisor_group: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ValidOpening {
    pub repair_order: String,
    pub vin: Vin,
    pub customer_id: Option<String>,
    pub opened_at: Timestamp,
    pub promised_at: Option<Timestamp>,
    pub kind: Option<VisitKind>,
    pub service_advisor: String,
    pub advisor_group: String,
}

impl OpenedOrder {
    pub fn validate(&self, now: Timestamp) -> Result<ValidOpening, Vec<FieldError>> {
        let mut errors = Vec::new();
        let repair_order = self.repair_order.trim().to_owned();
        if !code_like(&repair_order, 64) {
            errors.push(FieldError::new(
                "repair_order",
                "must be 1–64 letters, digits, '-', '_', '/' or '.'",
            ));
        }
        let vin = Vin::parse(&self.vin)
            .map_err(|e| errors.push(FieldError::new("vin", e.to_string())))
            .ok();
        let latest = now.checked_add(CLOCK_SKEW).unwrap_or(now);
        match self.opened_at {
            None => errors.push(FieldError::new("opened_at", "is required")),
            Some(at) if at > latest => errors.push(FieldError::new(
                "opened_at",
                format!("{at} is in the future"),
            )),
            Some(at) if at < EARLIEST => errors.push(FieldError::new("opened_at", too_early(at))),
            _ => {}
        }
        if let (Some(promised), Some(opened)) = (self.promised_at, self.opened_at)
            && promised < opened
        {
            errors.push(FieldError::new("promised_at", "is before opened_at"));
        }
        let service_advisor = self.service_advisor.trim().to_owned();
        if service_advisor.is_empty() {
            errors.push(FieldError::new(
                "service_advisor",
                "must be 1–64 characters",
            ));
        }
        match (vin, self.opened_at) {
            (Some(vin), Some(opened_at)) if errors.is_empty() => Ok(ValidOpening {
                repair_order,
                vin,
                customer_id: Some(self.customer_id.trim().to_owned()).filter(|c| !c.is_empty()),
                opened_at,
                promised_at: self.promised_at,
                kind: self.kind,
                service_advisor,
                advisor_group: self.advisor_group.trim().to_owned(),
            }),
            _ => Err(errors),
        }
    }
}
