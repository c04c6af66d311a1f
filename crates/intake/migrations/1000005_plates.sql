-- Plates and insurance expiry on the vehicle file; customers found by plate.
ALTER TABLE intake_vehicle_files ADD COLUMN plate TEXT;
ALTER TABLE intake_vehicle_files ADD COLUMN insurance_expiry TEXT;
CREATE INDEX IF NOT EXISTS intake_vehicle_files_by_plate ON intake_vehicle_files (dealer, plate);
