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
