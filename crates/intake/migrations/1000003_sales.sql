-- Vehicle files (model, owner, where it was sold) and their sales.
CREATE TABLE IF NOT EXISTS intake_vehicle_files (
    vehicle_id     TEXT   PRIMARY KEY,
    dealer         TEXT   NOT NULL,
    vin            TEXT   NOT NULL,
    model          TEXT   NOT NULL,
    owner          TEXT,
    selling_dealer TEXT,
    purchase_date  TEXT,
    position       BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS intake_vehicle_files_by_vin ON intake_vehicle_files (dealer, vin);
CREATE TABLE IF NOT EXISTS intake_sales (
    sale_id     TEXT   PRIMARY KEY,
    dealer      TEXT   NOT NULL,
    vehicle_id  TEXT   NOT NULL,
    vin         TEXT   NOT NULL,
    buyer       TEXT   NOT NULL,
    consultant  TEXT   NOT NULL,
    sold_on     TEXT   NOT NULL,
    price_fen   BIGINT NOT NULL,
    referrer    TEXT,
    model       TEXT   NOT NULL,
    position    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS intake_sales_by_vin ON intake_sales (dealer, vin, sold_on);
