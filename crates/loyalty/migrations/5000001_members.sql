-- The owner club's read model: a row per member, a row per ledger entry, and
-- the customers' names (from intake's events) for the card.
CREATE TABLE loyalty_members (
    member_id   TEXT PRIMARY KEY,
    dealer      TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    card        TEXT NOT NULL,
    card_reason TEXT NOT NULL,
    vip         BIGINT NOT NULL,
    owner       BIGINT NOT NULL,
    balance     BIGINT NOT NULL,
    referred    BIGINT NOT NULL,
    vehicles    TEXT NOT NULL,
    joined_at   BIGINT NOT NULL,
    position    BIGINT NOT NULL
);
CREATE UNIQUE INDEX loyalty_members_customer ON loyalty_members (dealer, customer_id);
CREATE INDEX loyalty_members_card ON loyalty_members (dealer, card);

CREATE TABLE loyalty_entries (
    entry_id   TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    dealer     TEXT NOT NULL,
    -- earned, redeemed, adjusted
    kind       TEXT NOT NULL,
    -- visit, referral, activity; empty for redemptions and adjustments
    source     TEXT NOT NULL,
    -- Signed: what the entry did to the balance.
    points     BIGINT NOT NULL,
    from_spend BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    detail     TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    value_fen  BIGINT NOT NULL,
    PRIMARY KEY (member_id, entry_id)
);
CREATE INDEX loyalty_entries_by_time ON loyalty_entries (member_id, at);
CREATE INDEX loyalty_entries_partner ON loyalty_entries (dealer, partner_id, at);

CREATE TABLE loyalty_customers (
    customer_id TEXT PRIMARY KEY,
    dealer      TEXT NOT NULL,
    name        TEXT NOT NULL
);
