-- The worklist of one agent or advisor (assigned or claimed), and the whole
-- dealer's counted from the index alone.
CREATE INDEX callback_tasks_assignee ON callback_tasks (dealer, assignee, due_at);
CREATE INDEX callback_tasks_claimer ON callback_tasks (dealer, claimed_by, due_at);
DROP INDEX callback_tasks_worklist;
CREATE INDEX callback_tasks_worklist ON callback_tasks (dealer, status, due_at, opens_at, next_attempt_at);
