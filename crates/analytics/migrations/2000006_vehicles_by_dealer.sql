-- A recount of the churn counters reads one dealer's vehicles at a time.
CREATE INDEX analytics_vehicles_dealer ON analytics_vehicles (dealer, vehicle_id);
