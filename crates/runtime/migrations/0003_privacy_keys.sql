-- The keys that seal personal data, one per data subject (a complaint ticket, a
-- customer). Erasing sets the key to '' and records when: what it sealed can no
-- longer be read, in the log or in any replay.
CREATE TABLE IF NOT EXISTS privacy_keys (
    subject    TEXT PRIMARY KEY,
    key        TEXT NOT NULL,
    erased_at  BIGINT
);
