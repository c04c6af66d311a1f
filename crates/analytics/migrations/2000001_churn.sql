-- Analytics' own copy of what churn needs from intake's events.
CREATE TABLE analytics_customers (
    customer_id TEXT PRIMARY KEY,
    dealer TEXT NOT NULL,
    district TEXT NOT NULL
);

-- One row per vehicle: its attributes and its contacts by calendar month
-- (JSON: month index -> visits with closing time, group and advisor; sales).
CREATE TABLE analytics_vehicles (
    vehicle_id TEXT PRIMARY KEY,
    dealer TEXT NOT NULL,
    vin TEXT NOT NULL,
    model TEXT NOT NULL,
    purchased BIGINT,
    owner_customer_id TEXT,
    district TEXT NOT NULL,
    contacts TEXT NOT NULL
);
CREATE INDEX analytics_vehicles_owner ON analytics_vehicles (owner_customer_id);
CREATE INDEX analytics_vehicles_vin ON analytics_vehicles (dealer, vin);

-- Cohort counters: vehicles whose contact in `month` (rule a: visits; b: visits
-- and sales; n: first sale, never serviced before) was followed by the next
-- contact `gap` months later, or not yet (gap -1), per breakdown value.
CREATE TABLE analytics_churn_cohorts (
    dealer TEXT NOT NULL,
    rule TEXT NOT NULL,
    month BIGINT NOT NULL,
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
    gap BIGINT NOT NULL,
    vehicles BIGINT NOT NULL,
    PRIMARY KEY (dealer, rule, dimension, month, value, gap)
);

-- Base counters: service visits and sales per month and breakdown value.
CREATE TABLE analytics_churn_base (
    dealer TEXT NOT NULL,
    month BIGINT NOT NULL,
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
    visits BIGINT NOT NULL,
    sales BIGINT NOT NULL,
    PRIMARY KEY (dealer, dimension, month, value)
);
