-- Present while the churn counters are being rebuilt: batches then leave the
-- counters alone, and they are counted once from the vehicle rows at the end
-- (or when a runner starts after an interrupted rebuild).
CREATE TABLE analytics_churn_replaying (
    marker BIGINT PRIMARY KEY
);
