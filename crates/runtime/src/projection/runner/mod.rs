//! The loop that keeps a projection or policy up to date with the log.

mod failures;
mod retries;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aftercare_eventstore::{EventStore, Filter, Position, RecordedEvent, StoreError};
use tokio::sync::watch;

use super::checkpoint::{self, Checkpoint};
use super::feed::Feed;
use super::lease::Leases;
use super::{ApplyError, Policy, Progress, ProgressHandle, Projection};
use crate::db::Database;

#[derive(Clone, Copy, Debug)]
pub struct RunnerOptions {
    /// Most events in one transaction.
    pub batch_size: usize,
    /// Most events in one transaction of a rebuild, for a projection that asks
    /// for larger ones ([`Projection::replay_batch_size`]).
    pub replay_batch_size: usize,
    /// Attempts at one failing event before it is dead-lettered.
    pub max_attempts: u32,
    /// First pause after a failure; doubled up to 5 s.
    pub retry_backoff: Duration,
    /// How often a running runner looks for dead letters an operator asked
    /// to retry.
    pub retry_poll: Duration,
    /// How often a replica without the lease reads the checkpoint the holder
    /// moves (it tries for the lease every third of the lease's lifetime).
    pub lease_poll: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            batch_size: 2000,
            replay_batch_size: 25_000,
            max_attempts: 3,
            retry_backoff: Duration::from_millis(100),
            retry_poll: Duration::from_secs(2),
            lease_poll: Duration::from_millis(500),
        }
    }
}

impl From<&crate::config::ProjectionConfig> for RunnerOptions {
    fn from(config: &crate::config::ProjectionConfig) -> Self {
        Self {
            batch_size: config.batch_size,
            replay_batch_size: config.replay_batch_size,
            max_attempts: config.max_attempts,
            ..Self::default()
        }
    }
}

/// What the runner does after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Go on with the next events.
    Next,
    /// Another runner of the same name moved the checkpoint first: reload it and
    /// go on from there, so nothing is applied twice.
    Reload,
}

/// How applying a whole batch went.
enum Batch {
    Applied,
    Superseded,
    /// An event in it is at fault: apply them one by one to find it.
    EventFailed,
}

#[derive(Clone)]
enum Work {
    Projection(Arc<dyn Projection>),
    Policy(Arc<dyn Policy>),
}

/// Runs one projection or policy. `run` for a server, `rebuild` for the CLI.
pub struct Runner {
    name: &'static str,
    filter: Filter,
    work: Work,
    store: Arc<dyn EventStore>,
    db: Database,
    options: RunnerOptions,
    progress: watch::Sender<Progress>,
    /// Runs only while it holds its lease, when there are leases.
    leases: Option<Leases>,
    /// The revision of the lease held (0: none, or no leases).
    fence: AtomicU64,
    /// The checkpoint's name: the runner's, or another for a rebuild beside
    /// the live read model.
    checkpoint: String,
}

/// A failure of the database rather than of the event: retried for as long as it
/// lasts, never a reason to dead-letter the event (which would leave it out of
/// the read model for good).
fn transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| transient_code(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs (five characters) by class: 08 connection exception, 40
/// transaction rollback (serialization failure, deadlock), 53 insufficient
/// resources (too many connections, disk full), 57 operator intervention
/// (shutdown, cancel). SQLite result codes (numbers): busy and locked, with
/// their extended codes. 08P01 (protocol violation, e.g. "insufficient data
/// left in message") is in class 08 but answers what one statement sent: the
/// server is up, and retrying the same values fails the same way.
fn transient_code(code: &str) -> bool {
    if code == "08P01" {
        return false;
    }
    if code.len() == 5 {
        return ["08", "40", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class));
    }
    matches!(code.parse::<u32>().map(|c| c & 0xff), Ok(5 | 6))
}

impl Runner {
    pub fn projection(
        projection: Arc<dyn Projection>,
        store: Arc<dyn EventStore>,
        db: Database,
        options: RunnerOptions,
    ) -> Self {
        let (name, filter) = (projection.name(), projection.filter());
        Self::new(
            name,
            filter,
            Work::Projection(projection),
            store,
            db,
            options,
        )
    }

    pub fn policy(
        policy: Arc<dyn Policy>,
        store: Arc<dyn EventStore>,
        db: Database,
        options: RunnerOptions,
    ) -> Self {
        let (name, filter) = (policy.name(), policy.filter());
        Self::new(name, filter, Work::Policy(policy), store, db, options)
    }

    fn new(
        name: &'static str,
        filter: Filter,
        work: Work,
        store: Arc<dyn EventStore>,
        db: Database,
        options: RunnerOptions,
    ) -> Self {
        let (progress, _) = watch::channel(Progress::default());
        Self {
            name,
            filter,
            work,
            store,
            db,
            options,
            progress,
            leases: None,
            fence: AtomicU64::new(0),
            checkpoint: name.to_owned(),
        }
    }

    /// Keeps its place under `checkpoint` instead of its own name (a rebuild
    /// into other tables while the live read model goes on).
    pub fn with_checkpoint(mut self, checkpoint: String) -> Self {
        self.checkpoint = checkpoint;
        self
    }

    /// Follows the log from its checkpoint until it has passed `target`.
    pub async fn catch_up(self, target: Position) -> Progress {
        self.follow(Some(target)).await
    }

    /// Runs only in the replica that holds this runner's lease.
    pub fn with_leases(mut self, leases: Leases) -> Self {
        self.leases = Some(leases);
        self
    }

    /// The lease revision checkpoint moves are fenced with (0 without leases).
    fn fence(&self) -> u64 {
        self.fence.load(Ordering::SeqCst)
    }

    /// Another replica took the lease over and moved the checkpoint under it.
    fn fenced(&self, cp: &Checkpoint) -> bool {
        self.fence() > 0 && cp.fence > self.fence()
    }

    pub fn handle(&self) -> ProgressHandle {
        let kind = match self.work {
            Work::Projection(_) => "projection",
            Work::Policy(_) => "policy",
        };
        ProgressHandle::new(self.name, kind, self.progress.subscribe())
    }

    /// Follows the log until `shutdown` resolves. Failures are retried with
    /// backoff; the transaction in flight at shutdown is rolled back, which the
    /// checkpoint makes harmless.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let held = std::sync::Mutex::new(None);
        tokio::select! {
            _ = shutdown => tracing::debug!(runner = self.name, "runner stopped"),
            _ = async {
                match &self.leases {
                    None => {
                        self.finish_replay().await;
                        self.follow(None).await;
                    }
                    Some(leases) => self.follow_leased(leases, &held).await,
                }
            } => {}
        }
        let held = *held.lock().expect("not poisoned");
        if let (Some(leases), Some(held)) = (&self.leases, held) {
            leases.release(self.name, &held).await;
        }
    }

    /// Follows the log whenever this replica holds the lease; meanwhile keeps
    /// its progress at the checkpoint the holder moves, so read-your-writes
    /// queries in this replica wait for the right thing.
    async fn follow_leased(
        &self,
        leases: &Leases,
        current: &std::sync::Mutex<Option<super::lease::Held>>,
    ) {
        loop {
            let mut tried: Option<tokio::time::Instant> = None;
            let mut held = loop {
                if tried.is_none_or(|t| t.elapsed() >= leases.renew_every()) {
                    tried = Some(tokio::time::Instant::now());
                    if let Some(held) = leases.try_acquire(self.name).await {
                        break held;
                    }
                }
                if let Ok(cp) = checkpoint::load(&self.db.pool, &self.checkpoint).await {
                    self.publish(&cp);
                }
                tokio::time::sleep(self.options.lease_poll).await;
            };
            self.fence.store(held.fence, Ordering::SeqCst);
            *current.lock().expect("not poisoned") = Some(held);
            let holding = crate::metrics::metrics()
                .lease_held
                .with_label_values(&[self.name]);
            holding.set(1);
            tracing::info!(
                runner = self.name,
                holder = leases.holder(),
                fence = held.fence,
                "lease taken"
            );
            let lost = tokio::select! {
                lost = leases.keep(self.name, &mut held) => format!("{lost:?}"),
                _ = async {
                    self.finish_replay().await;
                    self.follow(None).await
                } => "fenced".to_owned(),
            };
            *current.lock().expect("not poisoned") = None;
            self.fence.store(0, Ordering::SeqCst);
            holding.set(0);
            tracing::warn!(runner = self.name, holder = leases.holder(), reason = %lost, "lease lost; stopped applying");
        }
    }

    /// Restores what a rebuild dropped for bulk loading; retried until it works.
    async fn finish_replay(&self) {
        let Work::Projection(projection) = &self.work else {
            return;
        };
        let mut failures = 0;
        loop {
            let attempt = async {
                let mut tx = self.db.pool.begin().await?;
                projection.after_replay(&mut tx).await?;
                tx.commit().await
            };
            match attempt.await {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(projection = self.name, error = %err, "cannot finish replay");
                    self.pause(&mut failures).await;
                }
            }
        }
    }

    /// Empties the projection and replays the log up to its head at the start.
    pub async fn rebuild(self) -> Result<Progress, StoreError> {
        let Work::Projection(projection) = &self.work else {
            return Err(StoreError::InvalidInput {
                field: "projection",
                reason: "policies are not rebuilt".into(),
            });
        };
        let head = self.store.head().await?;
        let reset = async {
            let mut tx = self.db.pool.begin().await?;
            projection.reset(&mut tx).await?;
            projection.before_replay(&mut tx).await?;
            checkpoint::delete(&mut tx, &self.checkpoint).await?;
            tx.commit().await
        };
        reset
            .await
            .map_err(|e| StoreError::Unavailable(format!("resetting {}: {e}", self.name)))?;
        tracing::info!(projection = self.name, %head, "rebuilding");
        let progress = self.follow(Some(head)).await;
        self.finish_replay().await;
        Ok(progress)
    }

    async fn pause(&self, failures: &mut u32) {
        let delay = self
            .options
            .retry_backoff
            .saturating_mul(1 << (*failures).min(6));
        *failures += 1;
        tokio::time::sleep(delay.min(Duration::from_secs(5))).await;
    }

    async fn load_checkpoint(&self) -> Checkpoint {
        let mut failures = 0;
        loop {
            match checkpoint::load(&self.db.pool, &self.checkpoint).await {
                Ok(cp) => return cp,
                Err(err) => {
                    tracing::warn!(runner = self.name, error = %err, "cannot read checkpoint");
                    self.pause(&mut failures).await;
                }
            }
        }
    }

    async fn follow(&self, target: Option<Position>) -> Progress {
        let mut cp = self.load_checkpoint().await;
        self.publish(&cp);
        let mut failures = 0;
        loop {
            if target.is_some_and(|t| cp.position >= t) {
                return self.progress.borrow().to_owned();
            }
            // Every event, not just matching ones: progress must reach every
            // position so read-your-writes waits end.
            let subscription = match self
                .store
                .subscribe(&Filter::all(), cp.position.next())
                .await
            {
                Ok(s) => s,
                Err(err) => {
                    tracing::warn!(runner = self.name, error = %err, "cannot subscribe");
                    self.pause(&mut failures).await;
                    continue;
                }
            };
            let batch_size = match (&self.work, target) {
                (Work::Projection(p), Some(_)) => {
                    p.replay_batch_size().map_or(self.options.batch_size, |b| {
                        b.min(self.options.replay_batch_size)
                            .max(self.options.batch_size)
                    })
                }
                _ => self.options.batch_size,
            };
            let mut feed = super::feed::start(subscription, batch_size, target);
            let mut retry_poll = tokio::time::interval(self.options.retry_poll);
            retry_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let item = tokio::select! {
                    item = feed.recv() => item,
                    // Not during a rebuild: a retried event would be applied
                    // again by the replay anyway.
                    _ = retry_poll.tick(), if target.is_none() => {
                        self.retry_requested().await;
                        continue;
                    }
                };
                let Some(item) = item else { break };
                let flow = match item {
                    Feed::Events(events) if events.is_empty() => Flow::Next,
                    Feed::Events(events) => {
                        failures = 0;
                        self.process(&mut cp, events).await
                    }
                    Feed::Broken(StoreError::Corrupt { position, reason }) => {
                        self.skip_unreadable(&mut cp, position, reason).await
                    }
                    Feed::Broken(err) => {
                        tracing::warn!(runner = self.name, error = %err, "subscription failed, resubscribing");
                        self.pause(&mut failures).await;
                        break;
                    }
                };
                if flow == Flow::Reload {
                    tracing::info!(
                        runner = self.name,
                        "another runner moved the checkpoint first; going on from there"
                    );
                    cp = self.load_checkpoint().await;
                    self.publish(&cp);
                    if self.fenced(&cp) {
                        tracing::warn!(runner = self.name, "another replica took the lease over");
                        return self.progress.borrow().to_owned();
                    }
                    break;
                }
                if target.is_some_and(|t| cp.position >= t) {
                    return self.progress.borrow().to_owned();
                }
            }
        }
    }

    fn publish(&self, cp: &Checkpoint) {
        self.progress.send_replace(Progress {
            position: cp.position,
            dead_lettered: cp.dead_lettered,
        });
    }

    async fn process(&self, cp: &mut Checkpoint, events: Vec<RecordedEvent>) -> Flow {
        match &self.work {
            Work::Projection(p) => match self.apply_batch(p.as_ref(), cp, &events).await {
                Batch::Applied => Flow::Next,
                Batch::Superseded => Flow::Reload,
                Batch::EventFailed => {
                    // Something in the batch fails: find it event by event, so
                    // one bad event costs that event only.
                    for event in events {
                        if self.apply_one(p.as_ref(), cp, event).await == Flow::Reload {
                            return Flow::Reload;
                        }
                    }
                    Flow::Next
                }
            },
            Work::Policy(p) => {
                let mut dead = 0;
                for event in events.iter().filter(|e| self.filter.matches(&e.stream)) {
                    dead += self.react(p.as_ref(), event).await;
                }
                let last = events.last().map_or(cp.position, |e| e.position);
                self.commit_checkpoint(cp, last, dead).await
            }
        }
    }

    /// Applies a whole batch in one transaction; failures of the database are
    /// retried here.
    async fn apply_batch(
        &self,
        p: &dyn Projection,
        cp: &mut Checkpoint,
        events: &[RecordedEvent],
    ) -> Batch {
        // Copy out the matching events only when some do not match.
        let filtered: Option<Vec<RecordedEvent>> =
            if events.iter().all(|e| self.filter.matches(&e.stream)) {
                None
            } else {
                Some(
                    events
                        .iter()
                        .filter(|e| self.filter.matches(&e.stream))
                        .cloned()
                        .collect(),
                )
            };
        let matching = filtered.as_deref().unwrap_or(events);
        let last = events.last().map_or(cp.position, |e| e.position);
        let mut failures = 0;
        loop {
            match self.try_apply(p, cp, matching, last, 0).await {
                Ok(Flow::Next) => return Batch::Applied,
                Ok(Flow::Reload) => return Batch::Superseded,
                Err(ApplyError::Database(err)) if transient(&err) => {
                    tracing::warn!(projection = self.name, error = %err, "database unavailable, retrying batch");
                    self.pause(&mut failures).await;
                }
                Err(err) => {
                    tracing::debug!(projection = self.name, error = %err, "batch failed, applying one by one");
                    return Batch::EventFailed;
                }
            }
        }
    }

    /// One transaction: claim the move of the checkpoint (first, so a second
    /// runner waits for this one and then finds it moved), apply, commit.
    async fn try_apply(
        &self,
        p: &dyn Projection,
        cp: &mut Checkpoint,
        events: &[RecordedEvent],
        up_to: Position,
        dead: u64,
    ) -> Result<Flow, ApplyError> {
        let started = std::time::Instant::now();
        // One span per traced event, for the transaction that applies it: the
        // trace of the request that produced the event reaches the read model.
        let _traced: Vec<tracing::Span> = events
            .iter()
            .filter_map(|e| crate::telemetry::event_span("projection.apply", self.name, e))
            .collect();
        let mut tx = self.db.pool.begin().await?;
        let next = Checkpoint {
            name: cp.name.clone(),
            position: up_to,
            dead_lettered: cp.dead_lettered + dead,
            fence: self.fence(),
        };
        if !checkpoint::advance(&mut tx, cp, &next).await? {
            tx.rollback().await?;
            return Ok(Flow::Reload);
        }
        if !events.is_empty() {
            p.apply(&mut tx, events).await?;
        }
        tx.commit().await?;
        crate::metrics::metrics()
            .runner_batch_seconds
            .with_label_values(&[self.name])
            .observe(started.elapsed().as_secs_f64());
        *cp = next;
        self.publish(cp);
        Ok(Flow::Next)
    }
}

#[cfg(test)]
mod tests {
    use super::transient_code;

    #[test]
    fn the_database_failing_is_retried_an_event_failing_is_not() {
        for code in [
            "08006", "40001", "40P01", "53300", "53100", "57P01", "57014",
        ] {
            assert!(transient_code(code), "PostgreSQL {code} is the database's");
        }
        for code in ["5", "6", "517", "262"] {
            assert!(transient_code(code), "SQLite {code} is the database's");
        }
        for code in [
            "23505", "22P02", "42P01", "22021", "08P01", "19", "2067", "1",
        ] {
            assert!(
                !transient_code(code),
                "{code} is the event's or the schema's"
            );
        }
    }
}
