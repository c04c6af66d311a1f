//! How far a runner has got, shared with queries that want to read their writes.

use std::time::Duration;

use aftercare_eventstore::Position;
use tokio::sync::watch;

use crate::ServiceError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every event up to here has been applied (or skipped as not matching).
    pub position: Position,
    pub dead_lettered: u64,
}

/// A read-only view of one runner's progress.
#[derive(Clone, Debug)]
pub struct ProgressHandle {
    name: &'static str,
    kind: &'static str,
    progress: watch::Receiver<Progress>,
}

impl ProgressHandle {
    pub(crate) fn new(
        name: &'static str,
        kind: &'static str,
        progress: watch::Receiver<Progress>,
    ) -> Self {
        Self {
            name,
            kind,
            progress,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `projection` or `policy`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub fn current(&self) -> Progress {
        *self.progress.borrow()
    }

    /// Waits until the read model has applied the log up to `position`, at most
    /// `timeout`; `NotCaughtUp` after that.
    pub async fn wait_for(
        &self,
        position: Position,
        timeout: Duration,
    ) -> Result<(), ServiceError> {
        let mut progress = self.progress.clone();
        let reached =
            tokio::time::timeout(timeout, progress.wait_for(|p| p.position >= position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ServiceError::NotCaughtUp {
                projection: self.name.to_owned(),
                at: self.current().position.0,
                wanted: position.0,
            }),
        }
    }
}

/// Read-your-writes for a query: waits until `progress` has reached the
/// request's `min_position` (no wait without one).
pub async fn wait_for_consistency(
    progress: Option<&ProgressHandle>,
    consistency: Option<&aftercare_proto::common::v1::Consistency>,
    timeout: Duration,
) -> Result<(), ServiceError> {
    let wanted = consistency
        .and_then(|c| c.min_position)
        .map_or(0, |p| p.value);
    match (progress, wanted) {
        (_, 0) => Ok(()),
        (Some(p), wanted) => p.wait_for(Position(wanted), timeout).await,
        (None, _) => Err(ServiceError::Unavailable(
            "the read model this query needs does not run in this process".into(),
        )),
    }
}
