//! A vehicle's announced churn status: the sweep observes the segment a vehicle
//! is in, and the status aggregate announces it only when it differs from the
//! last announcement. Deciding against the aggregate's own events makes a repeated
//! sweep, a restart or a replay announce nothing twice.

use aftercare_kernel::Aggregate;

use super::history::VisitMark;
use super::{Month, Segment, Thresholds};

/// What the sweep saw for one vehicle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub vehicle_id: String,
    pub vin: String,
    pub segment: Segment,
    pub as_of: Month,
    pub last_visit: Option<VisitMark>,
    pub months_since_last_visit: Option<i32>,
}

/// `VehicleChurnStatusChanged`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChanged {
    /// None for the first announcement: until then the vehicle was active, or
    /// never visited.
    pub from: Option<Segment>,
    pub observation: Observation,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChurnStatus {
    pub announced: Option<Segment>,
}

/// Nothing refuses an observation; it changes the status or it does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoRejection {}

impl Aggregate for ChurnStatus {
    type Command = Observation;
    type Event = StatusChanged;
    type Rejection = NoRejection;

    fn decide(&self, observed: Observation) -> Result<Vec<StatusChanged>, NoRejection> {
        let unchanged = match self.announced {
            Some(announced) => announced == observed.segment,
            // Being active, or sold and not yet serviced, is where every vehicle
            // starts: nothing to announce.
            None => matches!(observed.segment, Segment::Active | Segment::NeverVisited),
        };
        if unchanged {
            return Ok(Vec::new());
        }
        Ok(vec![StatusChanged {
            from: self.announced,
            observation: observed,
        }])
    }

    fn evolve(self, event: &StatusChanged) -> Self {
        ChurnStatus {
            announced: Some(event.observation.segment),
        }
    }
}

/// The first month in which the sweep should look at a vehicle again: the month
/// its segment, counted from its last visit, stops being the one announced (in
/// `announced_in`). None when time alone will not change it (never visited, or
/// fully churned).
pub fn next_due(
    last_visit: Option<Month>,
    announced: Option<(Segment, Month)>,
    thresholds: Thresholds,
) -> Option<Month> {
    let last = last_visit?;
    let (segment, since) = announced.unwrap_or((Segment::Active, last));
    let start = last.max(since);
    let boundaries = [thresholds.at_risk, thresholds.churn, 24, 36]
        .map(|k| last.plus(k))
        .into_iter()
        .filter(|m| *m > start);
    std::iter::once(start)
        .chain(boundaries)
        .find(|m| Segment::after(m.since(last), thresholds) != segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(year: i16, month: i8) -> Month {
        Month::new(year, month)
    }

    fn observed(segment: Segment) -> Observation {
        Observation {
            vehicle_id: "v1".into(),
            vin: "LSVAG2186E2100001".into(),
            segment,
            as_of: m(2026, 1),
            last_visit: None,
            months_since_last_visit: None,
        }
    }

    fn given(events: &[Segment]) -> ChurnStatus {
        events.iter().fold(ChurnStatus::default(), |s, seg| {
            s.evolve(&StatusChanged {
                from: None,
                observation: observed(*seg),
            })
        })
    }

    #[test]
    fn a_change_is_announced_once() {
        let state = given(&[]);
        let first = state.decide(observed(Segment::Wavering)).expect("decides");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].from, None);
        let state = state.evolve(&first[0]);
        assert_eq!(state.decide(observed(Segment::Wavering)), Ok(vec![]));
        let next = state.decide(observed(Segment::Churned)).expect("decides");
        assert_eq!(next[0].from, Some(Segment::Wavering));
    }

    #[test]
    fn starting_active_or_never_visited_is_not_news() {
        assert_eq!(given(&[]).decide(observed(Segment::Active)), Ok(vec![]));
        assert_eq!(
            given(&[]).decide(observed(Segment::NeverVisited)),
            Ok(vec![])
        );
        // Coming back after churning is.
        let back = given(&[Segment::Churned])
            .decide(observed(Segment::Active))
            .expect("decides");
        assert_eq!(back[0].from, Some(Segment::Churned));
    }

    #[test]
    fn the_sweep_looks_again_when_the_segment_runs_out() {
        let t = Thresholds {
            at_risk: 6,
            churn: 12,
        };
        // Visited in January 2025, nothing announced: wavering from July.
        assert_eq!(next_due(Some(m(2025, 1)), None, t), Some(m(2025, 7)));
        // Announced wavering in July: churned from January 2026.
        let wavering = Some((Segment::Wavering, m(2025, 7)));
        assert_eq!(next_due(Some(m(2025, 1)), wavering, t), Some(m(2026, 1)));
        // Then drifting at 24 months, fully churned at 36, then never again.
        let churned = Some((Segment::Churned, m(2026, 1)));
        assert_eq!(next_due(Some(m(2025, 1)), churned, t), Some(m(2027, 1)));
        let drifting = Some((Segment::Drifting, m(2027, 1)));
        assert_eq!(next_due(Some(m(2025, 1)), drifting, t), Some(m(2028, 1)));
        let gone = Some((Segment::FullyChurned, m(2028, 1)));
        assert_eq!(next_due(Some(m(2025, 1)), gone, t), None);
        // A visit after the churn announcement: due at once (churned -> active).
        assert_eq!(next_due(Some(m(2026, 3)), churned, t), Some(m(2026, 3)));
        // Announced late (the sweep was down): the next boundary after the announcement.
        let late = Some((Segment::Wavering, m(2025, 11)));
        assert_eq!(next_due(Some(m(2025, 1)), late, t), Some(m(2026, 1)));
        // Never visited: time changes nothing.
        assert_eq!(next_due(None, None, t), None);
        // The dealer with 8 months.
        let eight = Thresholds {
            at_risk: 6,
            churn: 8,
        };
        assert_eq!(
            next_due(
                Some(m(2025, 1)),
                Some((Segment::Wavering, m(2025, 7))),
                eight
            ),
            Some(m(2025, 9))
        );
    }
}
