-- The whole dealer's worklist read in deadline order, stopping at the page.
CREATE INDEX callback_tasks_due ON callback_tasks (dealer, due_at, task_id);
