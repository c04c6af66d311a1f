-- What the workshop earned from each vehicle: one row per visit (labour and
-- parts) and per sale (nothing earned, but the day the vehicle came on file),
-- for RFM, ABC classes and lifetime value as of any day.
CREATE TABLE analytics_value_contacts (
    contact_id TEXT PRIMARY KEY,
    dealer     TEXT NOT NULL,
    vehicle_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    visit      BIGINT NOT NULL,
    labour_fen BIGINT NOT NULL,
    parts_fen  BIGINT NOT NULL
);
CREATE INDEX analytics_value_contacts_dealer ON analytics_value_contacts (dealer, at);

-- Each vehicle's churn-risk warning as last announced (ChurnRiskRaised,
-- ChurnRiskCleared): the daily pass looks here for warnings to clear.
CREATE TABLE analytics_risk_alerts (
    vehicle_id TEXT PRIMARY KEY,
    dealer     TEXT NOT NULL,
    raised     BIGINT NOT NULL,
    risk_permille BIGINT NOT NULL,
    position   BIGINT NOT NULL
);
CREATE INDEX analytics_risk_alerts_dealer ON analytics_risk_alerts (dealer, raised);

-- Each dealer's targets by year, metric and month (in millionths: a rate of
-- 3.38% is 33,800; a score of 930 points is 930,000,000), with who set them.
CREATE TABLE analytics_targets (
    dealer     TEXT NOT NULL,
    year       BIGINT NOT NULL,
    metric     TEXT NOT NULL,
    month      BIGINT NOT NULL,
    target     BIGINT NOT NULL,
    annual     BIGINT NOT NULL,
    breakdown  TEXT NOT NULL,
    set_by     TEXT NOT NULL,
    set_at     BIGINT NOT NULL,
    PRIMARY KEY (dealer, year, metric, month)
);

-- Monthly scores entered from the OEM's reports, in millionths.
CREATE TABLE analytics_results (
    dealer   TEXT NOT NULL,
    metric   TEXT NOT NULL,
    month    BIGINT NOT NULL,
    value    BIGINT NOT NULL,
    by_whom  TEXT NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (dealer, metric, month)
);

-- Complaints filed, by day at the dealer: the complaint rate's numerator.
CREATE TABLE analytics_complaints (
    ticket_id TEXT PRIMARY KEY,
    dealer    TEXT NOT NULL,
    filed_at  BIGINT NOT NULL
);
CREATE INDEX analytics_complaints_dealer ON analytics_complaints (dealer, filed_at);

-- Each dealer's month of callback measures as the callback context published
-- them (MonthMeasured): the dealer's counts (scope 'dealer', name ''), each
-- caller's ('person') and each advisor group's, by the group of the tasks'
-- causes ('group').
CREATE TABLE analytics_callback_months (
    dealer               TEXT NOT NULL,
    month                BIGINT NOT NULL,
    scope                TEXT NOT NULL,
    name                 TEXT NOT NULL,
    callbacks_due        BIGINT NOT NULL,
    callbacks_in_window  BIGINT NOT NULL,
    sales_rated          BIGINT NOT NULL,
    sales_satisfied      BIGINT NOT NULL,
    service_rated        BIGINT NOT NULL,
    service_satisfied    BIGINT NOT NULL,
    winback_called       BIGINT NOT NULL,
    winback_appointments BIGINT NOT NULL,
    PRIMARY KEY (dealer, month, scope, name)
);

-- The calls each callback agent made in a month, by the advisor group of the
-- task's cause (MonthMeasured): an agent is judged on the groups they call.
CREATE TABLE analytics_callback_groups (
    dealer  TEXT NOT NULL,
    month   BIGINT NOT NULL,
    person  TEXT NOT NULL,
    grp     TEXT NOT NULL,
    called  BIGINT NOT NULL,
    PRIMARY KEY (dealer, month, person, grp)
);
