//! Callbacks and reminders as the dealers run them, pure: which cause schedules
//! which task with which window, the owner's own mileage rate, and the life of
//! one task (claimed by one person, attempted up to three times, closed reached
//! or unreached, its outcome recorded once).

pub mod appointments;
pub mod measures;
pub mod mileage;
pub mod rules;
pub mod schedule;
pub mod task;

/// What a task is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    PostSale,
    PostService,
    LeadFirstContact,
    Winback,
    FirstServiceReminder,
    MaintenanceReminder,
    InsuranceReminder,
    Birthday,
    InspectionReminder,
    /// Analytics warned that the vehicle is likely to churn: a call before it does.
    ChurnRisk,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::PostSale,
        Kind::PostService,
        Kind::LeadFirstContact,
        Kind::Winback,
        Kind::FirstServiceReminder,
        Kind::MaintenanceReminder,
        Kind::InsuranceReminder,
        Kind::Birthday,
        Kind::InspectionReminder,
        Kind::ChurnRisk,
    ];

    /// The name in the read model, the CLI and ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PostSale => "post-sale",
            Kind::PostService => "post-service",
            Kind::LeadFirstContact => "lead",
            Kind::Winback => "winback",
            Kind::FirstServiceReminder => "first-service",
            Kind::MaintenanceReminder => "maintenance",
            Kind::InsuranceReminder => "insurance",
            Kind::Birthday => "birthday",
            Kind::InspectionReminder => "inspection",
            Kind::ChurnRisk => "churn-risk",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// A callback after something happened (counted in the callback rate).
    pub fn is_callback(self) -> bool {
        matches!(self, Kind::PostSale | Kind::PostService)
    }

    /// A reminder of a service, converted when the vehicle comes in.
    pub fn is_service_reminder(self) -> bool {
        matches!(self, Kind::FirstServiceReminder | Kind::MaintenanceReminder)
    }
}

/// How one call attempt went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttemptResult {
    NoAnswer,
    Busy,
    WrongNumber,
    Refused,
    Reached,
}

impl AttemptResult {
    /// Calling again makes sense (nobody answered).
    pub fn retried(self) -> bool {
        matches!(self, AttemptResult::NoAnswer | AttemptResult::Busy)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptResult::NoAnswer => "no answer",
            AttemptResult::Busy => "busy",
            AttemptResult::WrongNumber => "wrong number",
            AttemptResult::Refused => "refused",
            AttemptResult::Reached => "reached",
        }
    }
}
