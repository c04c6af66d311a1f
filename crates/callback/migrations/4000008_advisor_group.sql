-- The advisor group a task's cause belongs to (the visit's, or the last
-- visit's for a winback call), for the agents' incentive: judged on the
-- groups they call.
ALTER TABLE callback_tasks ADD COLUMN advisor_group TEXT NOT NULL DEFAULT '';
