-- A timeline entry keeps the system's words (in the dealer's language) apart
-- from what someone typed (a reason, a resolution), so each reader sees the
-- typed part as their role may. The tickets are replayed to fill both.
ALTER TABLE complaint_timeline ADD COLUMN note TEXT NOT NULL DEFAULT '';
DELETE FROM complaint_timeline;
DELETE FROM complaint_tickets;
DELETE FROM projection_checkpoints WHERE name = 'complaint_tickets';
