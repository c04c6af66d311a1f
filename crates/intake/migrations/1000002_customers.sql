-- The customer file: one row per customer, one per phone number (for search).
CREATE TABLE IF NOT EXISTS intake_customers (
    customer_id   TEXT    PRIMARY KEY,
    dealer        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    district      TEXT    NOT NULL,
    customer_type INTEGER NOT NULL,
    consents      TEXT    NOT NULL,
    position      BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS intake_customers_by_dealer ON intake_customers (dealer, name);
CREATE TABLE IF NOT EXISTS intake_customer_phones (
    customer_id TEXT    NOT NULL,
    dealer      TEXT    NOT NULL,
    phone       TEXT    NOT NULL,
    kind        INTEGER NOT NULL,
    PRIMARY KEY (customer_id, phone)
);
CREATE INDEX IF NOT EXISTS intake_customer_phones_by_number ON intake_customer_phones (dealer, phone);
