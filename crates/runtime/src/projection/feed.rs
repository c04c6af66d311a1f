//! Reads the subscription in its own task and hands the runner batches, so the
//! next batch is read and decoded while the current one commits. Batches grow to
//! the configured size while the runner is busy (catching up, rebuilding) and stay
//! small when it is idle (a live event is handed over at once). A rebuild asks
//! for full batches instead: a read model whose rows absorb many events each
//! writes every row once per batch, so fewer, larger batches write less.

use aftercare_eventstore::{EventStream, Position, RecordedEvent, StoreError};
use futures::StreamExt;
use tokio::sync::mpsc;

pub(super) enum Feed {
    Events(Vec<RecordedEvent>),
    /// The subscription failed or could not decode an event; the runner decides.
    Broken(StoreError),
}

/// Starts the reader; it stops when the receiver is dropped or the stream ends.
/// With `fill_until`, a batch is handed over only when it is full or reaches that
/// position (the log's head when a rebuild started).
pub(super) fn start(
    mut subscription: EventStream,
    batch_size: usize,
    fill_until: Option<Position>,
) -> mpsc::Receiver<Feed> {
    let (tx, rx) = mpsc::channel(1);
    let batch_size = batch_size.max(1);
    tokio::spawn(async move {
        let mut batch: Vec<RecordedEvent> = Vec::with_capacity(batch_size);
        let mut ended = false;
        loop {
            if batch.is_empty() {
                if ended {
                    return;
                }
                match subscription.next().await {
                    Some(Ok(event)) => batch.push(event),
                    Some(Err(err)) => {
                        if tx.send(Feed::Broken(err)).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    None => return,
                }
            }
            let ready = match fill_until {
                None => true,
                Some(target) => {
                    ended
                        || batch.len() >= batch_size
                        || batch.last().is_some_and(|e| e.position >= target)
                }
            };
            tokio::select! {
                // Hand over as soon as the runner can take it...
                permit = tx.reserve(), if ready => match permit {
                    Ok(permit) => permit.send(Feed::Events(std::mem::replace(&mut batch, Vec::with_capacity(batch_size)))),
                    Err(_) => return,
                },
                // ...and keep reading while it cannot, up to a full batch.
                next = subscription.next(), if batch.len() < batch_size && !ended => match next {
                    Some(Ok(event)) => batch.push(event),
                    Some(Err(err)) => {
                        // Keep the order: what was read before the failure first.
                        if tx.send(Feed::Events(std::mem::take(&mut batch))).await.is_err()
                            || tx.send(Feed::Broken(err)).await.is_err()
                        {
                            return;
                        }
                    }
                    None => ended = true,
                },
            }
        }
    });
    rx
}
