//! Given / when / then over a pure aggregate: `given(events).when(command)` then
//! the events it decides, or the rejection.

use std::fmt::Debug;

/// A pure aggregate: state from events, events from a command.
pub trait Aggregate: Default {
    type Command;
    type Event: Clone + Debug + PartialEq;
    type Rejection: Debug + PartialEq;
    fn decide(&self, command: Self::Command) -> Result<Vec<Self::Event>, Self::Rejection>;
    fn evolve(self, event: &Self::Event) -> Self;
}

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
