-- OEM leads: the OEM's reference, when its status report is due, and whether
-- a missed report was flagged.
ALTER TABLE callback_tasks ADD COLUMN oem_reference TEXT NOT NULL DEFAULT '';
ALTER TABLE callback_tasks ADD COLUMN report_due_at BIGINT;
ALTER TABLE callback_tasks ADD COLUMN report_missed BIGINT NOT NULL DEFAULT 0;
