//! Given / when / then over a pure aggregate: `given(events).when(command)` then
//! the events it decides, or the rejection.

pub use aftercare_runtime::command::Aggregate;

/// The state after `events`, replayed from the start.
pub fn replay<A: Aggregate>(events: &[A::Event]) -> A {
    events.iter().fold(A::default(), A::evolve)
}

#[cfg(test)]
pub struct Given<A: Aggregate> {
    state: A,
}

#[cfg(test)]
pub fn given<A: Aggregate>(events: &[A::Event]) -> Given<A> {
    Given {
        state: replay(events),
    }
}

#[cfg(test)]
impl<A: Aggregate> Given<A> {
    pub fn when(self, command: A::Command) -> Result<Vec<A::Event>, A::Rejection> {
        self.state.decide(command)
    }
}
