-- Closing the loop from visits: when the vehicle came back after a winback
-- call or a reminder, and whether an appointment was kept; and whether the
-- customer complained on the call.
ALTER TABLE callback_tasks ADD COLUMN returned_at BIGINT;
ALTER TABLE callback_tasks ADD COLUMN kept_at BIGINT;
ALTER TABLE callback_tasks ADD COLUMN complaint BIGINT NOT NULL DEFAULT 0;
