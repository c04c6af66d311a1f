-- One row per complaint ticket, as its events left it.
CREATE TABLE complaint_tickets (
    ticket_id TEXT PRIMARY KEY,
    dealer TEXT NOT NULL,
    channel BIGINT NOT NULL,
    oem_ticket TEXT NOT NULL,
    grade BIGINT NOT NULL,
    handler TEXT NOT NULL,
    owner TEXT NOT NULL,
    assignee TEXT NOT NULL,
    status TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    vin TEXT NOT NULL,
    description TEXT NOT NULL,
    product_liability BIGINT NOT NULL,
    filed_at BIGINT NOT NULL,
    respond_by BIGINT,
    resolve_by BIGINT,
    position BIGINT NOT NULL
);
CREATE INDEX complaint_tickets_dealer ON complaint_tickets (dealer, filed_at);
CREATE INDEX complaint_tickets_respond_by ON complaint_tickets (respond_by);
CREATE INDEX complaint_tickets_resolve_by ON complaint_tickets (resolve_by);

-- Every change of a ticket, for its timeline.
CREATE TABLE complaint_timeline (
    ticket_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    by_whom TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (ticket_id, position)
);
