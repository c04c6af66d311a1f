//! Dead letters as an operator sees them: the store's letters joined with the
//! retries asked for, each with an id to name it by, and which are still open.

use std::collections::{HashMap, HashSet};

use aftercare_eventstore::{DeadLetter, Position};

use crate::projection::{Retry, RetryState};

/// The kind a runner's letters are stored under (`projection-<runner>`, for
/// projections and policies alike).
pub const RUNNER_KIND_PREFIX: &str = "projection-";

/// One letter, named.
#[derive(Clone, Debug)]
pub struct Letter {
    /// `<runner>@<position>`, or `<kind>#<n>` for refused input.
    pub id: String,
    /// The projection or policy, or the kind of refused input.
    pub runner: String,
    /// An event of the log a runner can apply again.
    pub retryable: bool,
    pub letter: DeadLetter,
    pub retry: Option<Retry>,
}

impl Letter {
    /// Not yet applied by a retry.
    pub fn is_open(&self) -> bool {
        self.retry
            .as_ref()
            .is_none_or(|r| r.state != RetryState::Applied)
    }

    /// How the letter stands, in words.
    pub fn state(&self) -> &'static str {
        match self.retry.as_ref().map(|r| r.state) {
            None => "open",
            Some(RetryState::Requested) => "retry requested",
            Some(RetryState::Applied) => "applied",
            Some(RetryState::Failed) => "failed again",
        }
    }

    pub fn position(&self) -> Option<Position> {
        self.letter.source_position
    }
}

/// Parses a letter id of a runner's letter: `analytics_churn@1234`.
pub fn parse_id(id: &str) -> Option<(&str, Position)> {
    let (runner, position) = id.rsplit_once('@')?;
    let position: u64 = position.parse().ok()?;
    (!runner.is_empty() && position > 0).then_some((runner, Position(position)))
}

/// The store's letters (in the order they were written) with their retries.
/// A letter written twice (a crash between the letter and the checkpoint) is
/// listed once.
pub fn book(letters: Vec<DeadLetter>, retries: Vec<Retry>) -> Vec<Letter> {
    let mut retries: HashMap<(String, Position), Retry> = retries
        .into_iter()
        .map(|r| ((r.runner.clone(), r.position), r))
        .collect();
    let mut seen = HashSet::new();
    let mut per_kind: HashMap<String, u64> = HashMap::new();
    let mut book = Vec::with_capacity(letters.len());
    for letter in letters {
        let runner_letter = letter
            .kind
            .strip_prefix(RUNNER_KIND_PREFIX)
            .zip(letter.source_position);
        let named = match runner_letter {
            Some((runner, position)) => {
                let id = format!("{runner}@{}", position.0);
                if !seen.insert(id.clone()) {
                    continue;
                }
                let retry = retries.remove(&(runner.to_owned(), position));
                Letter {
                    id,
                    runner: runner.to_owned(),
                    retryable: true,
                    retry,
                    letter,
                }
            }
            None => {
                let n = per_kind.entry(letter.kind.clone()).or_default();
                *n += 1;
                Letter {
                    id: format!("{}#{n}", letter.kind),
                    runner: letter
                        .kind
                        .strip_prefix(RUNNER_KIND_PREFIX)
                        .unwrap_or(&letter.kind)
                        .to_owned(),
                    retryable: false,
                    retry: None,
                    letter,
                }
            }
        };
        book.push(named);
    }
    book
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_eventstore::DealerId;

    fn letter(kind: &str, position: Option<u64>) -> DeadLetter {
        DeadLetter {
            dealer: DealerId::parse("D001").expect("valid"),
            kind: kind.to_owned(),
            reason: "bad".into(),
            source_position: position.map(Position),
            source_event_id: None,
            payload: Default::default(),
            recorded_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn retry(runner: &str, position: u64, state: RetryState) -> Retry {
        Retry {
            runner: runner.into(),
            position: Position(position),
            state,
            requested_by: "ops".into(),
            requested_at: 0,
            finished_at: None,
            reason: String::new(),
        }
    }

    #[test]
    fn letters_are_named_once_and_joined_with_their_retries() {
        let book = book(
            vec![
                letter("projection-audit", Some(7)),
                letter("visits", None),
                letter("projection-audit", Some(7)),
                letter("projection-audit", Some(9)),
                letter("visits", None),
            ],
            vec![
                retry("audit", 7, RetryState::Applied),
                retry("audit", 9, RetryState::Failed),
            ],
        );
        let ids: Vec<&str> = book.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["audit@7", "visits#1", "audit@9", "visits#2"]);
        let states: Vec<&str> = book.iter().map(Letter::state).collect();
        assert_eq!(states, ["applied", "open", "failed again", "open"]);
        let open: Vec<bool> = book.iter().map(Letter::is_open).collect();
        assert_eq!(open, [false, true, true, true]);
        assert!(book[0].retryable && !book[1].retryable);
    }

    #[test]
    fn an_id_names_a_runner_and_a_position() {
        assert_eq!(
            parse_id("analytics_churn@1234"),
            Some(("analytics_churn", Position(1234)))
        );
        for bad in ["visits#1", "@12", "audit@", "audit@0", "audit@x"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
