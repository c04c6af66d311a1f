-- Retries of dead letters an operator asked for: one row per letter (the
-- runner and the event's position), moved from `requested` to `applied` in the
-- transaction that applies the event, or to `failed` with the reason.
CREATE TABLE IF NOT EXISTS dead_letter_retries (
    runner       TEXT   NOT NULL,
    position     BIGINT NOT NULL,
    state        TEXT   NOT NULL,
    requested_by TEXT   NOT NULL,
    requested_at BIGINT NOT NULL,
    finished_at  BIGINT,
    reason       TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (runner, position)
);
