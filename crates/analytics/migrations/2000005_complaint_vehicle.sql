-- The vehicle a complaint is about, found from the ticket's VIN (opened with
-- the ticket's key; NULL when no VIN was given or the ticket is erased), so a
-- complaint counts against the advisor group and advisor who last served the
-- vehicle. The value read model is replayed to fill it.
ALTER TABLE analytics_complaints ADD COLUMN vehicle_id TEXT;
CREATE INDEX analytics_complaints_vehicle ON analytics_complaints (vehicle_id);
DELETE FROM analytics_value_contacts;
DELETE FROM analytics_risk_alerts;
DELETE FROM analytics_targets;
DELETE FROM analytics_results;
DELETE FROM analytics_complaints;
DELETE FROM analytics_callback_months;
DELETE FROM analytics_callback_groups;
DELETE FROM projection_checkpoints WHERE name = 'analytics_value';
