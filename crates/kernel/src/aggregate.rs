//! The shape of every aggregate, and the harness its rules are tested with:
//! `given(&events).when(command).then(events)` or `.then_err(rejection)`.

/// A pure aggregate: state from events, events from a command. Domain code
/// implements it without I/O, clock or async.
pub trait Aggregate: Default {
    type Command: Clone;
    type Event: Clone + std::fmt::Debug + PartialEq;
    type Rejection: std::fmt::Debug + PartialEq;
    fn decide(&self, command: Self::Command) -> Result<Vec<Self::Event>, Self::Rejection>;
    fn evolve(self, event: &Self::Event) -> Self;
}

/// Given / when / then over a pure aggregate, for domain tests:
/// `given(&events).when(command)` is the events decided, or the rejection.
pub fn given<A: Aggregate>(events: &[A::Event]) -> Given<A> {
    Given {
        state: replay(events),
    }
}

/// The state after `events`, replayed from the start.
pub fn replay<A: Aggregate>(events: &[A::Event]) -> A {
    events.iter().fold(A::default(), A::evolve)
}

pub struct Given<A: Aggregate> {
    state: A,
}

impl<A: Aggregate> Given<A> {
    pub fn when(self, command: A::Command) -> Result<Vec<A::Event>, A::Rejection> {
        self.state.decide(command)
    }
}

/// The `then` of given / when / then, on what `when` decided.
pub trait Then<E, R> {
    /// Asserts that exactly `expected` were decided; returns them.
    fn then(self, expected: impl IntoIterator<Item = E>) -> Vec<E>;
    /// Asserts that the command was refused with `expected`.
    fn then_err(self, expected: R);
}

impl<E: std::fmt::Debug + PartialEq, R: std::fmt::Debug + PartialEq> Then<E, R>
    for Result<Vec<E>, R>
{
    #[track_caller]
    fn then(self, expected: impl IntoIterator<Item = E>) -> Vec<E> {
        let expected: Vec<E> = expected.into_iter().collect();
        match self {
            Ok(events) => {
                assert_eq!(events, expected, "the events decided");
                events
            }
            Err(rejection) => panic!("refused with {rejection:?}, expected {expected:?}"),
        }
    }

    #[track_caller]
    fn then_err(self, expected: R) {
        match self {
            Ok(events) => panic!("decided {events:?}, expected the refusal {expected:?}"),
            Err(rejection) => assert_eq!(rejection, expected, "the refusal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter that may not go below zero.
    #[derive(Default)]
    struct Counter(u32);

    #[derive(Clone, Debug, PartialEq)]
    enum Step {
        Up,
        Down,
    }

    impl Aggregate for Counter {
        type Command = Step;
        type Event = Step;
        type Rejection = &'static str;

        fn decide(&self, command: Step) -> Result<Vec<Step>, &'static str> {
            match command {
                Step::Down if self.0 == 0 => Err("already at zero"),
                step => Ok(vec![step]),
            }
        }

        fn evolve(self, event: &Step) -> Self {
            match event {
                Step::Up => Counter(self.0 + 1),
                Step::Down => Counter(self.0 - 1),
            }
        }
    }

    #[test]
    fn given_when_then() {
        given::<Counter>(&[Step::Up])
            .when(Step::Down)
            .then([Step::Down]);
        given::<Counter>(&[Step::Up, Step::Down])
            .when(Step::Down)
            .then_err("already at zero");
    }

    #[test]
    #[should_panic(expected = "expected the refusal")]
    fn then_err_fails_when_the_command_was_decided() {
        given::<Counter>(&[Step::Up])
            .when(Step::Down)
            .then_err("already at zero");
    }
}
