-- Repair orders as the DMS reports them, for the workshop-stay and long-repair
-- warnings: opened, promised, closed.
CREATE TABLE complaint_repair_orders (
    visit_id TEXT PRIMARY KEY,
    dealer TEXT NOT NULL,
    vehicle_id TEXT NOT NULL,
    vin TEXT NOT NULL,
    repair_order TEXT NOT NULL,
    opened_at BIGINT,
    promised_at BIGINT,
    closed_at BIGINT
);
CREATE INDEX complaint_repair_orders_open ON complaint_repair_orders (closed_at, opened_at);

-- Fault codes per closed visit, for the repeat-fault warning.
CREATE TABLE complaint_faults (
    visit_id TEXT NOT NULL,
    code TEXT NOT NULL,
    dealer TEXT NOT NULL,
    vehicle_id TEXT NOT NULL,
    vin TEXT NOT NULL,
    repair_order TEXT NOT NULL,
    closed_at BIGINT NOT NULL,
    PRIMARY KEY (visit_id, code)
);
CREATE INDEX complaint_faults_recent ON complaint_faults (closed_at);

-- Early warnings raised, one per cause.
CREATE TABLE complaint_warnings (
    warning_id TEXT PRIMARY KEY,
    cause TEXT NOT NULL UNIQUE,
    dealer TEXT NOT NULL,
    kind BIGINT NOT NULL,
    vin TEXT NOT NULL,
    vehicle_id TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    repair_order TEXT NOT NULL,
    fault_code TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    grade BIGINT NOT NULL,
    detail TEXT NOT NULL,
    raised_at BIGINT NOT NULL
);
CREATE INDEX complaint_warnings_dealer ON complaint_warnings (dealer, raised_at);
