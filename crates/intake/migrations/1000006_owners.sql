-- A customer's file lists the vehicles they own.
CREATE INDEX IF NOT EXISTS intake_vehicle_files_by_owner ON intake_vehicle_files (dealer, owner);
