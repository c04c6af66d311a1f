-- A group-wide club's links (a customer file of one of its dealers → the
-- club's member), and the owners on file at each club's dealers, for the
-- owner → member conversion.
CREATE TABLE loyalty_links (
    customer_id TEXT PRIMARY KEY,
    dealer      TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    club        TEXT NOT NULL
);
CREATE INDEX loyalty_links_member ON loyalty_links (member_id);

CREATE TABLE loyalty_owned (
    vehicle_id  TEXT PRIMARY KEY,
    dealer      TEXT NOT NULL,
    club        TEXT NOT NULL,
    customer_id TEXT NOT NULL
);
CREATE INDEX loyalty_owned_club ON loyalty_owned (club, customer_id);
