//! A day's workshop capacity: bays × slots. An appointment takes a slot while a
//! bay is free in it; a full slot is refused with the next free one of the day.

use aftercare_kernel::aggregate::Aggregate;
use jiff::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booked {
    pub task_id: String,
    pub slot: u32,
    pub vehicle_id: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Book {
    pub task_id: String,
    pub slot: u32,
    pub vehicle_id: String,
    pub at: Timestamp,
    /// The dealer's bays and slots a day.
    pub bays: u32,
    pub slots: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Slots are 1 to `slots`.
    NoSuchSlot { slots: u32 },
    /// The slot is full: the next free slot of the day, if any.
    Full { next_free: Option<u32> },
    /// The task already has another slot this day.
    AlreadyBooked { slot: u32 },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::NoSuchSlot { slots } => write!(f, "a day has slots 1 to {slots}"),
            Rejection::Full {
                next_free: Some(slot),
            } => write!(f, "the slot is full; slot {slot} of the day is free"),
            Rejection::Full { next_free: None } => write!(f, "the day is full"),
            Rejection::AlreadyBooked { slot } => {
                write!(f, "the task already has slot {slot} of the day")
            }
        }
    }
}

/// One dealer's day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Day {
    booked: Vec<(String, u32)>,
}

impl Day {
    /// Appointments booked in `slot`.
    pub fn taken(&self, slot: u32) -> u32 {
        self.booked.iter().filter(|(_, s)| *s == slot).count() as u32
    }

    /// The first slot with a free bay, `from` on.
    pub fn free_from(&self, from: u32, bays: u32, slots: u32) -> Option<u32> {
        (from.max(1)..=slots).find(|s| self.taken(*s) < bays)
    }
}

impl Aggregate for Day {
    type Command = Book;
    type Event = Booked;
    type Rejection = Rejection;

    fn decide(&self, c: Book) -> Result<Vec<Booked>, Rejection> {
        if c.slot == 0 || c.slot > c.slots {
            return Err(Rejection::NoSuchSlot { slots: c.slots });
        }
        if let Some((_, slot)) = self.booked.iter().find(|(task, _)| *task == c.task_id) {
            return if *slot == c.slot {
                Ok(Vec::new())
            } else {
                Err(Rejection::AlreadyBooked { slot: *slot })
            };
        }
        if self.taken(c.slot) >= c.bays {
            return Err(Rejection::Full {
                next_free: self
                    .free_from(c.slot + 1, c.bays, c.slots)
                    .or_else(|| self.free_from(1, c.bays, c.slots)),
            });
        }
        Ok(vec![Booked {
            task_id: c.task_id,
            slot: c.slot,
            vehicle_id: c.vehicle_id,
            at: c.at,
        }])
    }

    fn evolve(mut self, e: &Booked) -> Self {
        self.booked.push((e.task_id.clone(), e.slot));
        self
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::aggregate::given;

    use super::*;

    fn book(task: &str, slot: u32) -> Book {
        Book {
            task_id: task.into(),
            slot,
            vehicle_id: format!("v-{task}"),
            at: Timestamp::UNIX_EPOCH,
            bays: 2,
            slots: 3,
        }
    }

    fn booked(task: &str, slot: u32) -> Booked {
        Booked {
            task_id: task.into(),
            slot,
            vehicle_id: format!("v-{task}"),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_slot_takes_as_many_appointments_as_there_are_bays() {
        assert_eq!(
            given::<Day>(&[booked("a", 2)]).when(book("b", 2)),
            Ok(vec![booked("b", 2)])
        );
        assert_eq!(
            given::<Day>(&[booked("a", 2), booked("b", 2)]).when(book("c", 2)),
            Err(Rejection::Full { next_free: Some(3) })
        );
    }

    #[test]
    fn a_full_slot_names_the_next_free_one_of_the_day_or_says_the_day_is_full() {
        let late_full = [booked("a", 3), booked("b", 3)];
        assert_eq!(
            given::<Day>(&late_full).when(book("c", 3)),
            Err(Rejection::Full { next_free: Some(1) }),
            "an earlier slot when the later ones are full"
        );
        let full: Vec<Booked> = (1..=3)
            .flat_map(|s| [booked(&format!("x{s}"), s), booked(&format!("y{s}"), s)])
            .collect();
        assert_eq!(
            given::<Day>(&full).when(book("c", 1)),
            Err(Rejection::Full { next_free: None })
        );
    }

    #[test]
    fn the_same_booking_again_changes_nothing_and_slots_are_bounded() {
        assert_eq!(
            given::<Day>(&[booked("a", 2)]).when(book("a", 2)),
            Ok(vec![])
        );
        assert_eq!(
            given::<Day>(&[booked("a", 2)]).when(book("a", 1)),
            Err(Rejection::AlreadyBooked { slot: 2 })
        );
        assert_eq!(
            given::<Day>(&[]).when(book("a", 4)),
            Err(Rejection::NoSuchSlot { slots: 3 })
        );
        assert_eq!(
            given::<Day>(&[]).when(book("a", 0)),
            Err(Rejection::NoSuchSlot { slots: 3 })
        );
    }
}
