-- Where each projection and policy has got to in the event log. Written in the
-- same transaction as the rows a projection batch produced.
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name          TEXT   PRIMARY KEY,
    position      BIGINT NOT NULL,
    dead_lettered BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);
