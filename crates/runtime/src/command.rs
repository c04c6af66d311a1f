//! Running a command against an event-sourced aggregate: load its stream, replay
//! it, decide, append at the version it was decided on. When another writer got
//! there first the whole cycle runs again on the new state, a bounded number of
//! times, so decisions are always made on the current state.

use aftercare_eventstore::{EventData, EventStore, Position, RecordedEvent, StoreError, StreamId};

pub use aftercare_kernel::aggregate::{Aggregate, Given, Then, given, replay};

/// Events to and from their stored form (protobuf payload and type name).
pub trait EventCodec<E> {
    fn encode(&self, event: &E) -> EventData;
    fn decode(&self, recorded: &RecordedEvent) -> Result<E, String>;
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<R: std::fmt::Debug> {
    #[error("rejected: {0:?}")]
    Rejected(R),
    #[error("stored event at {position} cannot be read: {reason}")]
    Corrupt { position: Position, reason: String },
    #[error("{attempts} attempts lost to concurrent writers")]
    Contended { attempts: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a command did: its events (none when it changed nothing), where the
/// aggregate now stands, and its state after them.
#[derive(Debug)]
pub struct Executed<A: Aggregate> {
    pub events: Vec<A::Event>,
    pub position: Position,
    pub state: A,
}

pub const ATTEMPTS: u32 = 5;

pub async fn execute<A: Aggregate>(
    store: &dyn EventStore,
    stream: &StreamId,
    codec: &impl EventCodec<A::Event>,
    command: A::Command,
    prepare: impl Fn(EventData) -> EventData,
) -> Result<Executed<A>, CommandError<A::Rejection>> {
    for _ in 0..ATTEMPTS {
        let recorded = store.read_stream(stream).await?;
        let mut state = A::default();
        for event in &recorded {
            let decoded = codec
                .decode(event)
                .map_err(|reason| CommandError::Corrupt {
                    position: event.position,
                    reason,
                })?;
            state = state.evolve(&decoded);
        }
        let events = state
            .decide(command.clone())
            .map_err(CommandError::Rejected)?;
        if events.is_empty() {
            return Ok(Executed {
                events,
                position: recorded.version,
                state,
            });
        }
        let expected = recorded.expected();
        let data = events.iter().map(|e| prepare(codec.encode(e))).collect();
        match store.append(stream, expected, data).await {
            Ok(appended) => {
                let state = events.iter().fold(state, A::evolve);
                return Ok(Executed {
                    events,
                    position: appended.position,
                    state,
                });
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(CommandError::Contended { attempts: ATTEMPTS })
}
