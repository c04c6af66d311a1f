-- The audit trail: who did what to which record, when. One row per event.
CREATE TABLE IF NOT EXISTS audit_events (
    position     BIGINT PRIMARY KEY,
    event_id     TEXT   NOT NULL,
    dealer       TEXT   NOT NULL,
    aggregate    TEXT   NOT NULL,
    aggregate_id TEXT   NOT NULL,
    event_type   TEXT   NOT NULL,
    actor        TEXT   NOT NULL,
    occurred_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_by_record ON audit_events (dealer, aggregate, aggregate_id);
CREATE INDEX IF NOT EXISTS audit_events_by_actor ON audit_events (dealer, actor, occurred_at);
