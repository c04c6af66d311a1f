-- Service visits as the DMS reported them, and the vehicle files they touch.
-- One SQL for PostgreSQL and SQLite. Times are UTC microseconds.
CREATE TABLE IF NOT EXISTS intake_visits (
    visit_id        TEXT    PRIMARY KEY,
    dealer          TEXT    NOT NULL,
    repair_order    TEXT    NOT NULL,
    vehicle_id      TEXT    NOT NULL,
    vin             TEXT    NOT NULL,
    customer_id     TEXT,
    opened_at       BIGINT  NOT NULL,
    closed_at       BIGINT  NOT NULL,
    mileage_km      BIGINT  NOT NULL,
    kind            INTEGER NOT NULL,
    labour_fen      BIGINT  NOT NULL,
    parts_fen       BIGINT  NOT NULL,
    service_advisor TEXT    NOT NULL,
    advisor_group   TEXT    NOT NULL,
    fault_codes     TEXT    NOT NULL,
    position        BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS intake_visits_by_vehicle ON intake_visits (dealer, vin, closed_at);
CREATE TABLE IF NOT EXISTS intake_vehicles (
    vehicle_id    TEXT   PRIMARY KEY,
    dealer        TEXT   NOT NULL,
    vin           TEXT   NOT NULL,
    visits        BIGINT NOT NULL,
    last_visit_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS intake_vehicles_by_vin ON intake_vehicles (dealer, vin);
