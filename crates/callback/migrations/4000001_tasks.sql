-- What the scheduler needs to know of customers and vehicles, read from
-- intake's and analytics' events; the tasks it scheduled and their life; the
-- causes it counted and did not schedule.
CREATE TABLE callback_customers (
    customer_id   TEXT PRIMARY KEY,
    dealer        TEXT NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL,
    -- 1 when the customer consented to phone calls.
    phone_consent BIGINT NOT NULL
);

CREATE TABLE callback_vehicles (
    vehicle_id  TEXT PRIMARY KEY,
    dealer      TEXT NOT NULL,
    vin         TEXT NOT NULL,
    model       TEXT NOT NULL,
    owner       TEXT NOT NULL
);

-- Odometer readings of the vehicles' visits, for the owner's mileage rate.
CREATE TABLE callback_readings (
    vehicle_id TEXT NOT NULL,
    visit_id   TEXT NOT NULL,
    -- The day at the dealer, YYYY-MM-DD.
    day        TEXT NOT NULL,
    km         BIGINT NOT NULL,
    PRIMARY KEY (vehicle_id, visit_id)
);

CREATE TABLE callback_tasks (
    task_id          TEXT PRIMARY KEY,
    dealer           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    -- open, claimed, reached, unreached, superseded
    status           TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    vehicle_id       TEXT NOT NULL,
    vin              TEXT NOT NULL,
    model            TEXT NOT NULL,
    lead_id          TEXT NOT NULL,
    -- A lead's name and phone (a lead has no customer file yet).
    contact_name     TEXT NOT NULL,
    contact_phone    TEXT NOT NULL,
    assignee         TEXT NOT NULL,
    claimed_by       TEXT NOT NULL,
    cause            TEXT NOT NULL,
    opens_at         BIGINT NOT NULL,
    due_at           BIGINT NOT NULL,
    closes_at        BIGINT NOT NULL,
    attempts         BIGINT NOT NULL,
    first_attempt_at BIGINT,
    next_attempt_at  BIGINT,
    reached_at       BIGINT,
    closed_at        BIGINT,
    -- Who made the calls, for the measures per person.
    caller           TEXT NOT NULL,
    satisfaction     BIGINT,
    appointment_day  TEXT,
    appointment_slot BIGINT,
    churn_reason     BIGINT
);
CREATE INDEX callback_tasks_worklist ON callback_tasks (dealer, status, due_at);
CREATE INDEX callback_tasks_vehicle ON callback_tasks (vehicle_id, kind, status);

CREATE TABLE callback_unscheduled (
    -- The task id the cause would have had.
    task_id TEXT PRIMARY KEY,
    dealer  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    -- history (its window had closed when recorded) or not-contactable
    reason  TEXT NOT NULL,
    due_at  BIGINT NOT NULL
);
CREATE INDEX callback_unscheduled_month ON callback_unscheduled (dealer, due_at);
