-- Leads with their status, deadlines and outcome.
CREATE TABLE IF NOT EXISTS intake_leads (
    lead_id           TEXT    PRIMARY KEY,
    dealer            TEXT    NOT NULL,
    source            INTEGER NOT NULL,
    status            INTEGER NOT NULL,
    name              TEXT    NOT NULL,
    phone             TEXT    NOT NULL,
    model_of_interest TEXT    NOT NULL,
    first_contact_due BIGINT,
    oem_reference     TEXT,
    oem_report_due    BIGINT,
    customer_id       TEXT,
    lost_reason       TEXT,
    position          BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS intake_leads_by_status ON intake_leads (dealer, status, source);
