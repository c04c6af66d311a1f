-- The churn segment last announced for a vehicle (VehicleChurnStatusChanged),
-- the month it was announced in, and the month the sweep should look again.
ALTER TABLE analytics_vehicles ADD COLUMN churn_status TEXT NOT NULL DEFAULT '';
ALTER TABLE analytics_vehicles ADD COLUMN churn_status_month BIGINT;
ALTER TABLE analytics_vehicles ADD COLUMN churn_due BIGINT;
CREATE INDEX analytics_vehicles_churn_due ON analytics_vehicles (churn_due);
