//! The callback measures' rules, pure: what counts as a call made in its
//! window, reached, satisfied (4 or 5), a lead called in time, a winback call
//! ending with an appointment or a return, a reminder converted, an
//! appointment kept. The read model hands each task of the month in as a
//! [`Line`]; the service turns the [`Tally`] into ratios.

use super::Kind;

/// One task as the measures count it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    pub kind: Option<Kind>,
    pub status: String,
    pub due_at: i64,
    pub first_attempt_at: Option<i64>,
    pub attempts: i64,
    pub satisfaction: Option<i64>,
    pub appointment: bool,
    /// The appointment's day and the day after have passed.
    pub appointment_passed: bool,
    pub returned: bool,
    pub kept: bool,
}

/// The counts behind a dealer's (or a person's) measures of a month.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub callbacks_due: u64,
    pub callbacks_in_window: u64,
    pub attempted: u64,
    pub reached: u64,
    pub sales_rated: u64,
    pub sales_satisfied: u64,
    pub service_rated: u64,
    pub service_satisfied: u64,
    pub leads_due: u64,
    pub leads_in_time: u64,
    pub winback_called: u64,
    pub winback_appointments: u64,
    /// Reached calls of any kind that ended with an appointment.
    pub appointments: u64,
    pub winback_returned: u64,
    pub reminders_called: u64,
    pub reminders_converted: u64,
    pub appointments_due: u64,
    pub appointments_kept: u64,
    pub unreached: u64,
}

impl Tally {
    /// Counts one task: a callback due (and called within its window), a
    /// call attempted and reached, a satisfaction of 4 or 5 as satisfied, a
    /// lead called in time, a winback call ending with an appointment or a
    /// return, a reminder converted, an appointment kept.
    pub fn add(&mut self, line: &Line) {
        let Some(kind) = line.kind else {
            return;
        };
        let in_window = line.first_attempt_at.is_some_and(|at| at <= line.due_at);
        let reached = line.status == "reached";
        if kind.is_callback() {
            self.callbacks_due += 1;
            self.callbacks_in_window += u64::from(in_window);
        }
        if line.attempts > 0 {
            self.attempted += 1;
            self.reached += u64::from(reached);
            self.appointments += u64::from(reached && line.appointment);
        }
        self.unreached += u64::from(line.status == "unreached");
        if let Some(s) = line.satisfaction {
            let satisfied = u64::from(s >= 4);
            match kind {
                Kind::PostSale => {
                    self.sales_rated += 1;
                    self.sales_satisfied += satisfied;
                }
                Kind::PostService => {
                    self.service_rated += 1;
                    self.service_satisfied += satisfied;
                }
                _ => {}
            }
        }
        match kind {
            Kind::LeadFirstContact => {
                self.leads_due += 1;
                self.leads_in_time += u64::from(in_window);
            }
            Kind::Winback if line.attempts > 0 => {
                self.winback_called += 1;
                self.winback_appointments += u64::from(reached && line.appointment);
                self.winback_returned += u64::from(line.returned);
            }
            Kind::FirstServiceReminder | Kind::MaintenanceReminder if line.attempts > 0 => {
                self.reminders_called += 1;
                self.reminders_converted += u64::from(line.returned);
            }
            _ => {}
        }
        // A visit on a day of its own kept the appointment even before the
        // day after has passed.
        if line.kept || line.appointment_passed {
            self.appointments_due += 1;
            self.appointments_kept += u64::from(line.kept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    fn called(kind: Kind, first_attempt_after_due_hours: Option<i64>, status: &str) -> Line {
        Line {
            kind: Some(kind),
            status: status.into(),
            due_at: 100 * HOUR,
            first_attempt_at: first_attempt_after_due_hours.map(|h| (100 + h) * HOUR),
            attempts: i64::from(first_attempt_after_due_hours.is_some()),
            ..Line::default()
        }
    }

    #[test]
    fn a_callback_counts_as_made_only_within_its_window() {
        let mut t = Tally::default();
        t.add(&called(Kind::PostService, Some(-2), "reached"));
        t.add(&called(Kind::PostSale, Some(0), "reached"));
        t.add(&called(Kind::PostService, Some(1), "reached"));
        t.add(&called(Kind::PostService, None, "open"));
        assert_eq!((t.callbacks_in_window, t.callbacks_due), (2, 4));
        assert_eq!((t.reached, t.attempted), (3, 3));
        // A reminder is no callback.
        t.add(&called(Kind::MaintenanceReminder, Some(0), "reached"));
        assert_eq!(t.callbacks_due, 4);
    }

    #[test]
    fn satisfied_is_four_or_five_after_sales_and_after_service_apart() {
        let mut t = Tally::default();
        for (kind, score) in [
            (Kind::PostSale, 5),
            (Kind::PostSale, 3),
            (Kind::PostService, 4),
            (Kind::PostService, 2),
            (Kind::PostService, 1),
        ] {
            t.add(&Line {
                satisfaction: Some(score),
                ..called(kind, Some(0), "reached")
            });
        }
        assert_eq!((t.sales_satisfied, t.sales_rated), (1, 2));
        assert_eq!((t.service_satisfied, t.service_rated), (1, 3));
    }

    #[test]
    fn a_winback_appointment_needs_the_call_reached_and_counts_per_call_made() {
        let mut t = Tally::default();
        t.add(&Line {
            appointment: true,
            ..called(Kind::Winback, Some(0), "reached")
        });
        t.add(&Line {
            appointment: true,
            ..called(Kind::Winback, Some(0), "unreached")
        });
        t.add(&Line {
            returned: true,
            ..called(Kind::Winback, Some(0), "reached")
        });
        // Not called yet: not a call made.
        t.add(&called(Kind::Winback, None, "open"));
        assert_eq!((t.winback_appointments, t.winback_called), (1, 3));
        assert_eq!(t.winback_returned, 1);
        assert_eq!(t.unreached, 1);
    }

    #[test]
    fn an_appointment_on_any_call_counts_over_the_calls_reached() {
        let mut t = Tally::default();
        for (kind, status) in [
            (Kind::LeadFirstContact, "reached"),
            (Kind::MaintenanceReminder, "reached"),
            (Kind::Winback, "unreached"),
        ] {
            t.add(&Line {
                appointment: true,
                ..called(kind, Some(0), status)
            });
        }
        t.add(&called(Kind::PostService, Some(0), "reached"));
        assert_eq!((t.appointments, t.reached), (2, 3));
    }

    #[test]
    fn leads_reminders_and_appointments_kept() {
        let mut t = Tally::default();
        t.add(&called(Kind::LeadFirstContact, Some(0), "reached"));
        t.add(&called(Kind::LeadFirstContact, Some(3), "reached"));
        assert_eq!((t.leads_in_time, t.leads_due), (1, 2));
        t.add(&Line {
            returned: true,
            ..called(Kind::FirstServiceReminder, Some(0), "reached")
        });
        t.add(&called(Kind::MaintenanceReminder, Some(0), "reached"));
        assert_eq!((t.reminders_converted, t.reminders_called), (1, 2));
        // Kept (a visit that day), missed (its day passed), still ahead.
        t.add(&Line {
            kept: true,
            ..called(Kind::PostService, Some(0), "reached")
        });
        t.add(&Line {
            appointment: true,
            appointment_passed: true,
            ..called(Kind::PostService, Some(0), "reached")
        });
        t.add(&Line {
            appointment: true,
            ..called(Kind::PostService, Some(0), "reached")
        });
        assert_eq!((t.appointments_kept, t.appointments_due), (1, 2));
        // A task of a kind this version does not know counts for nothing.
        let before = t.clone();
        t.add(&Line {
            kind: None,
            ..called(Kind::PostService, Some(0), "reached")
        });
        assert_eq!(t, before);
    }
}
