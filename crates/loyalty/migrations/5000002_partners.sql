-- Partner merchants and the months finance settled with them.
CREATE TABLE loyalty_partners (
    dealer        TEXT NOT NULL,
    partner_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    PRIMARY KEY (dealer, partner_id)
);

CREATE TABLE loyalty_settlements (
    dealer      TEXT NOT NULL,
    partner_id  TEXT NOT NULL,
    month       TEXT NOT NULL,
    redemptions BIGINT NOT NULL,
    points      BIGINT NOT NULL,
    value_fen   BIGINT NOT NULL,
    settled_by  TEXT NOT NULL,
    settled_at  BIGINT NOT NULL,
    PRIMARY KEY (dealer, partner_id, month)
);
