//! Leads (潜在客户, the "yellow card"): captured from a source, verified by phone,
//! then converted into a customer and vehicle, or lost with a reason. Web and
//! hotline leads carry a 30-minute first-contact deadline; OEM leads the 7-day
//! status report the OEM expects.

use jiff::{SignedDuration, Timestamp};

use super::FieldError;
use super::given::Aggregate;
use super::phone::Phone;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadSource {
    Hotline,
    Web,
    Referral,
    WalkIn,
    Event,
    Oem,
}

pub const FIRST_CONTACT: SignedDuration = SignedDuration::from_mins(30);
pub const OEM_REPORT: SignedDuration = SignedDuration::from_hours(7 * 24);

#[derive(Clone, Debug, PartialEq)]
pub struct Captured {
    pub lead_id: String,
    pub source: LeadSource,
    pub name: String,
    pub phone: Phone,
    pub model_of_interest: String,
    pub first_contact_due: Option<Timestamp>,
    pub oem_reference: Option<String>,
    pub oem_report_due: Option<Timestamp>,
    pub referrer: Option<String>,
}

/// A lead as received; `now` is when it was received.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadInput {
    pub source: Option<LeadSource>,
    pub name: String,
    pub phone: String,
    pub model_of_interest: String,
    pub oem_reference: String,
    pub referrer: String,
}

impl LeadInput {
    pub fn validate(&self, lead_id: String, now: Timestamp) -> Result<Captured, Vec<FieldError>> {
        let mut errors = Vec::new();
        let source = self.source;
        if source.is_none() {
            errors.push(FieldError::new(
                "source",
                "must be hotline, web, referral, walk-in, event or oem",
            ));
        }
        let phone = Phone::parse(&self.phone)
            .map_err(|e| errors.push(FieldError::new("phone", e)))
            .ok();
        let oem_reference = Some(self.oem_reference.trim().to_owned()).filter(|r| !r.is_empty());
        if source == Some(LeadSource::Oem) && oem_reference.is_none() {
            errors.push(FieldError::new(
                "oem_reference",
                "an OEM lead needs the OEM's reference for its status report",
            ));
        }
        let referrer = Some(self.referrer.trim().to_owned()).filter(|r| !r.is_empty());
        if source == Some(LeadSource::Referral) && referrer.is_none() {
            errors.push(FieldError::new(
                "referrer_customer_id",
                "a referral lead needs the referring customer",
            ));
        }
        match (source, phone) {
            (Some(source), Some(phone)) if errors.is_empty() => Ok(Captured {
                lead_id,
                source,
                name: self.name.trim().to_owned(),
                phone,
                model_of_interest: self.model_of_interest.trim().to_owned(),
                first_contact_due: matches!(source, LeadSource::Web | LeadSource::Hotline)
                    .then(|| now.checked_add(FIRST_CONTACT).unwrap_or(now)),
                oem_report_due: (source == LeadSource::Oem)
                    .then(|| now.checked_add(OEM_REPORT).unwrap_or(now)),
                oem_reference,
                referrer,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum LeadEvent {
    Captured(Captured),
    Verified {
        lead_id: String,
    },
    Converted {
        lead_id: String,
        customer_id: String,
        vehicle_id: String,
    },
    Lost {
        lead_id: String,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum LeadCommand {
    Capture(Captured),
    Verify,
    Convert {
        customer_id: String,
        vehicle_id: String,
    },
    Lose {
        reason: String,
    },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LeadStatus {
    #[default]
    None,
    New,
    Verified,
    Converted,
    Lost,
}

impl LeadStatus {
    /// The status as a word in a sentence ("the lead is already converted").
    pub fn word(self) -> &'static str {
        match self {
            LeadStatus::None => "not captured",
            LeadStatus::New => "new",
            LeadStatus::Verified => "verified",
            LeadStatus::Converted => "converted",
            LeadStatus::Lost => "lost",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeadRejection {
    AlreadyCaptured,
    NotCaptured,
    /// Converted and lost leads are closed.
    Closed(LeadStatus),
    ReasonRequired,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lead {
    pub id: Option<String>,
    pub status: LeadStatus,
}

impl Aggregate for Lead {
    type Command = LeadCommand;
    type Event = LeadEvent;
    type Rejection = LeadRejection;

    fn decide(&self, command: LeadCommand) -> Result<Vec<LeadEvent>, LeadRejection> {
        let id = || self.id.clone().ok_or(LeadRejection::NotCaptured);
        match (self.status, command) {
            (LeadStatus::None, LeadCommand::Capture(c)) => Ok(vec![LeadEvent::Captured(c)]),
            (_, LeadCommand::Capture(_)) => Err(LeadRejection::AlreadyCaptured),
            (LeadStatus::None, _) => Err(LeadRejection::NotCaptured),
            (status @ (LeadStatus::Converted | LeadStatus::Lost), _) => {
                Err(LeadRejection::Closed(status))
            }
            (LeadStatus::Verified, LeadCommand::Verify) => Ok(vec![]),
            (_, LeadCommand::Verify) => Ok(vec![LeadEvent::Verified { lead_id: id()? }]),
            (
                _,
                LeadCommand::Convert {
                    customer_id,
                    vehicle_id,
                },
            ) => Ok(vec![LeadEvent::Converted {
                lead_id: id()?,
                customer_id,
                vehicle_id,
            }]),
            (_, LeadCommand::Lose { reason }) if reason.trim().is_empty() => {
                Err(LeadRejection::ReasonRequired)
            }
            (_, LeadCommand::Lose { reason }) => Ok(vec![LeadEvent::Lost {
                lead_id: id()?,
                reason: reason.trim().to_owned(),
            }]),
        }
    }

    fn evolve(mut self, event: &LeadEvent) -> Lead {
        match event {
            LeadEvent::Captured(c) => {
                self.id = Some(c.lead_id.clone());
                self.status = LeadStatus::New;
            }
            LeadEvent::Verified { .. } => self.status = LeadStatus::Verified,
            LeadEvent::Converted { .. } => self.status = LeadStatus::Converted,
            LeadEvent::Lost { .. } => self.status = LeadStatus::Lost,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::given::given;
    use super::*;

    fn now() -> Timestamp {
        "2026-11-26T02:00:00Z".parse().expect("timestamp")
    }

    fn input(source: LeadSource) -> LeadInput {
        LeadInput {
            source: Some(source),
            name: "周先生".into(),
            phone: "139 1234 5678".into(),
            model_of_interest: "Equinox".into(),
            oem_reference: if source == LeadSource::Oem {
                "OEM-2026-88".into()
            } else {
                String::new()
            },
            referrer: if source == LeadSource::Referral {
                "c-7".into()
            } else {
                String::new()
            },
        }
    }

    fn captured(source: LeadSource) -> LeadEvent {
        LeadEvent::Captured(input(source).validate("l-1".into(), now()).expect("valid"))
    }

    #[test]
    fn web_and_hotline_leads_must_be_called_within_thirty_minutes() {
        for source in [LeadSource::Web, LeadSource::Hotline] {
            let lead = input(source).validate("l".into(), now()).expect("valid");
            assert_eq!(
                lead.first_contact_due,
                Some("2026-11-26T02:30:00Z".parse().expect("timestamp"))
            );
        }
        let walk_in = input(LeadSource::WalkIn)
            .validate("l".into(), now())
            .expect("valid");
        assert_eq!(walk_in.first_contact_due, None);
    }

    #[test]
    fn oem_leads_carry_their_reference_and_the_seven_day_report() {
        let lead = input(LeadSource::Oem)
            .validate("l".into(), now())
            .expect("valid");
        assert_eq!(lead.oem_reference.as_deref(), Some("OEM-2026-88"));
        assert_eq!(
            lead.oem_report_due,
            Some("2026-12-03T02:00:00Z".parse().expect("timestamp"))
        );
        let missing = LeadInput {
            oem_reference: " ".into(),
            ..input(LeadSource::Oem)
        };
        let errors = missing
            .validate("l".into(), now())
            .expect_err("no reference");
        assert_eq!(errors[0].field, "oem_reference");
    }

    #[test]
    fn a_lead_is_verified_then_converted_or_lost() {
        let verified = given::<Lead>(&[captured(LeadSource::Web)])
            .when(LeadCommand::Verify)
            .expect("verified");
        let history = [captured(LeadSource::Web), verified[0].clone()];
        let converted = given::<Lead>(&history)
            .when(LeadCommand::Convert {
                customer_id: "c-1".into(),
                vehicle_id: "v-1".into(),
            })
            .expect("converted");
        let closed = [history[0].clone(), history[1].clone(), converted[0].clone()];
        assert_eq!(
            given::<Lead>(&closed).when(LeadCommand::Lose {
                reason: "bought elsewhere".into()
            }),
            Err(LeadRejection::Closed(LeadStatus::Converted))
        );
        assert_eq!(
            given::<Lead>(&history).when(LeadCommand::Verify),
            Ok(vec![]),
            "verifying again changes nothing"
        );
    }

    #[test]
    fn losing_a_lead_needs_a_reason() {
        let lose = |reason: &str| LeadCommand::Lose {
            reason: reason.into(),
        };
        assert_eq!(
            given::<Lead>(&[captured(LeadSource::Hotline)]).when(lose("  ")),
            Err(LeadRejection::ReasonRequired)
        );
        assert!(
            given::<Lead>(&[captured(LeadSource::Hotline)])
                .when(lose("price"))
                .is_ok()
        );
        assert_eq!(
            given::<Lead>(&[]).when(lose("price")),
            Err(LeadRejection::NotCaptured)
        );
    }
}
