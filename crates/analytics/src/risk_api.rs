//! The churn-risk score: each dealer's visit histories read from the value
//! read model, the model fitted and judged by the pure rules, the vehicles
//! scored now; a daily pass announces each crossing of the dealer's level.

use std::time::Duration;

use aftercare_eventstore::{DealerId, EventStore, Position};
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::command::execute;
use aftercare_runtime::{Database, Principal, ServiceError};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use sqlx::Row;

use crate::api::{AnalyticsApi, REPORT_READERS};
use crate::config::{ChurnDealers, ChurnRules};
use crate::domain::Month;
use crate::domain::risk::{FEATURES, History, Horizon, Judged, features, judge, usual_interval};
use crate::risk_alert::{Alert, AlertCodec, Scored, stream};

/// A vehicle's visit history with its identity.
pub struct Vehicle {
    pub vehicle_id: String,
    pub vin: String,
    pub history: History,
}

/// Every serviced vehicle of `dealer`, its visits by month at the dealer.
pub async fn vehicles(
    db: &Database,
    dealer: &DealerId,
    zone: &TimeZone,
) -> Result<Vec<Vehicle>, ServiceError> {
    let rows = sqlx::query(
        "SELECT c.vehicle_id, c.at, c.labour_fen + c.parts_fen AS spend, \
         COALESCE(v.vin, '') AS vin, v.purchased FROM analytics_value_contacts c \
         LEFT JOIN analytics_vehicles v ON v.vehicle_id = c.vehicle_id \
         WHERE c.dealer = $1 AND c.visit = 1 ORDER BY c.vehicle_id, c.at",
    )
    .bind(dealer.as_str())
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<Vehicle> = Vec::new();
    for row in &rows {
        let id: String = row.try_get("vehicle_id")?;
        let at: i64 = row.try_get("at")?;
        let month = Month::of_instant(
            Timestamp::from_microsecond(at).unwrap_or(Timestamp::UNIX_EPOCH),
            zone,
        );
        if out.last().is_none_or(|v| v.vehicle_id != id) {
            let bought = row
                .try_get::<Option<i64>, _>("purchased")?
                .map_or(month, |m| Month::from_index(m as i32));
            out.push(Vehicle {
                vehicle_id: id,
                vin: row.try_get("vin")?,
                history: History {
                    visits: Vec::new(),
                    spend_fen: Vec::new(),
                    bought,
                    complaints: Vec::new(),
                },
            });
        }
        if let Some(v) = out.last_mut() {
            v.history.visits.push(month);
            v.history.spend_fen.push(row.try_get("spend")?);
        }
    }
    // The complaints about each vehicle (those whose VIN could be opened).
    let filed = sqlx::query(
        "SELECT vehicle_id, filed_at FROM analytics_complaints \
         WHERE dealer = $1 AND vehicle_id IS NOT NULL",
    )
    .bind(dealer.as_str())
    .fetch_all(&db.pool)
    .await?;
    let index: std::collections::HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, v)| (v.vehicle_id.clone(), i))
        .collect();
    for row in &filed {
        let id: String = row.try_get("vehicle_id")?;
        let at: i64 = row.try_get("filed_at")?;
        if let Some(&i) = index.get(&id) {
            out[i].history.complaints.push(Month::of_instant(
                Timestamp::from_microsecond(at).unwrap_or(Timestamp::UNIX_EPOCH),
                zone,
            ));
        }
    }
    Ok(out)
}

fn horizon(rules: &ChurnRules, histories: &[History]) -> Horizon {
    Horizon {
        churn_months: rules.churn_months,
        ahead_months: rules.risk.ahead_months,
        warranty_months: rules.warranty_months,
        usual_interval: usual_interval(histories),
    }
}

/// The dealer's model and every vehicle's risk at `month`, highest first:
/// (vehicle, risk, months since its last visit).
pub struct Scoring {
    pub judged: Option<Judged>,
    pub scored: Vec<(usize, f64, i32)>,
    /// Who each scored index is: (vehicle id, VIN).
    pub vehicles: Vec<(String, String)>,
}

pub async fn score(
    db: &Database,
    dealers: &ChurnDealers,
    dealer: &DealerId,
    month: Month,
) -> Result<Scoring, ServiceError> {
    let rules = dealers.rules(dealer.as_str());
    let (vehicles, histories): (Vec<(String, String)>, Vec<History>) =
        vehicles(db, dealer, &rules.time_zone)
            .await?
            .into_iter()
            .map(|v| ((v.vehicle_id, v.vin), v.history))
            .unzip();
    let horizon = horizon(rules, &histories);
    let judged = judge(&histories, month, horizon);
    let mut scored = Vec::new();
    if let Some(j) = &judged {
        for (i, h) in histories.iter().enumerate() {
            if let Some(f) = features(h, month, horizon) {
                scored.push((i, j.model.risk(&f.values()), f.months_since as i32));
            }
        }
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Scoring {
        judged,
        scored,
        vehicles,
    })
}

fn year_month(m: Month) -> Option<common::YearMonth> {
    Some(common::YearMonth {
        year: m.year(),
        month: m.month() as u32,
    })
}

impl AnalyticsApi {
    pub(crate) async fn risk_report(
        &self,
        principal: &Principal,
        body: &pb::RiskReportRequest,
    ) -> Result<pb::RiskReportResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, REPORT_READERS)?;
        let rules = self.dealers.rules(dealer.as_str());
        let now = Month::of_instant(Timestamp::now(), &rules.time_zone);
        let month = match &body.month {
            None => now,
            Some(m) => {
                let (year, month) = aftercare_proto::calendar::year_month(m)
                    .map_err(|e| ServiceError::invalid("month", e))?;
                Month::new(year, month)
            }
        };
        if month > now {
            return Err(ServiceError::invalid(
                "month",
                format!("{month} is after the current month at dealer {dealer} ({now})"),
            ));
        }
        let top = match body.top {
            0 => 20,
            n if n > 500 => {
                return Err(ServiceError::invalid(
                    "top",
                    format!("{n} is more than 500"),
                ));
            }
            n => n as usize,
        };
        self.ready_for_value(body.consistency.as_ref()).await?;
        let scoring = score(&self.db, &self.dealers, &dealer, month).await?;
        let judged = scoring.judged.ok_or_else(|| {
            ServiceError::Rejected(format!(
                "dealer {dealer} has too little history before {month} to fit the churn-risk model: \
                 it needs vehicles that churned and vehicles that stayed in the {} months it learns from",
                crate::domain::risk::TRAIN_MONTHS
            ))
        })?;
        let level = f64::from(rules.risk.level_percent) / 100.0;
        Ok(pb::RiskReportResponse {
            month: year_month(month),
            ahead_months: rules.risk.ahead_months,
            level,
            features: FEATURES
                .iter()
                .zip(judged.model.weights)
                .map(|(name, weight)| pb::RiskFeature {
                    name: (*name).to_owned(),
                    weight,
                })
                .collect(),
            bias: judged.model.bias,
            train_from: year_month(judged.train.0),
            train_to: year_month(judged.train.1),
            test_from: year_month(judged.test.0),
            test_to: year_month(judged.test.1),
            trained_on: judged.trained_on as u64,
            evaluated_on: judged.evaluated_on as u64,
            auc: judged.auc,
            top_decile_capture: judged.top_decile,
            at_level: scoring.scored.iter().filter(|s| s.1 >= level).count() as u64,
            top: scoring
                .scored
                .iter()
                .take(top)
                .map(|(i, risk, since)| pb::RiskVehicle {
                    vehicle_id: scoring.vehicles[*i].0.clone(),
                    vin: scoring.vehicles[*i].1.clone(),
                    risk: *risk,
                    months_since_last_visit: *since,
                })
                .collect(),
        })
    }
}

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Announced {
    pub raised: usize,
    pub cleared: usize,
    pub position: Position,
}

/// Scores every vehicle of `dealer` now and announces each crossing of the
/// dealer's level: vehicles at the level whose warning is not raised, and
/// raised warnings whose vehicle fell below (read from the read model, then
/// decided by each vehicle's own alert, so a repeated pass announces nothing
/// twice).
pub async fn announce(
    store: &dyn EventStore,
    db: &Database,
    dealers: &ChurnDealers,
    dealer: &DealerId,
    now: Timestamp,
) -> Result<Announced, ServiceError> {
    let rules = dealers.rules(dealer.as_str());
    let month = Month::of_instant(now, &rules.time_zone);
    let level = f64::from(rules.risk.level_percent) / 100.0;
    let scoring = score(db, dealers, dealer, month).await?;
    let raised: std::collections::HashSet<String> = sqlx::query_scalar(
        "SELECT vehicle_id FROM analytics_risk_alerts WHERE dealer = $1 AND raised = 1",
    )
    .bind(dealer.as_str())
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .collect();
    let mut done = Announced::default();
    let risk_of: std::collections::HashMap<&str, (usize, f64, i32)> = scoring
        .scored
        .iter()
        .map(|s| (scoring.vehicles[s.0].0.as_str(), *s))
        .collect();
    let due: Vec<(usize, f64, i32)> = scoring
        .scored
        .iter()
        .filter(|(i, risk, _)| *risk >= level && !raised.contains(&scoring.vehicles[*i].0))
        .copied()
        .collect();
    // A raised vehicle no longer scored (it churned, or came back and has no
    // features yet) or scored below the level is cleared.
    let mut clear: Vec<String> = raised
        .iter()
        .filter(|id| risk_of.get(id.as_str()).is_none_or(|s| s.1 < level))
        .cloned()
        .collect();
    clear.sort();
    for (i, risk, since) in due {
        let (vehicle_id, vin) = &scoring.vehicles[i];
        let command = Scored {
            vehicle_id: vehicle_id.clone(),
            vin: vin.clone(),
            risk,
            months_since_last_visit: since,
            as_of: month,
            level,
        };
        if let Some(position) = decide(store, dealer, command, now).await? {
            done.raised += 1;
            done.position = done.position.max(position);
        }
    }
    for vehicle_id in clear {
        let (risk, since) = risk_of
            .get(vehicle_id.as_str())
            .map_or((0.0, 0), |s| (s.1, s.2));
        let command = Scored {
            vehicle_id,
            vin: String::new(),
            risk,
            months_since_last_visit: since,
            as_of: month,
            level,
        };
        if let Some(position) = decide(store, dealer, command, now).await? {
            done.cleared += 1;
            done.position = done.position.max(position);
        }
    }
    Ok(done)
}

/// Runs one vehicle's alert on what was scored: the position of what it
/// announced, if anything.
async fn decide(
    store: &dyn EventStore,
    dealer: &DealerId,
    command: Scored,
    now: Timestamp,
) -> Result<Option<Position>, ServiceError> {
    let stream = stream(dealer, &command.vehicle_id)?;
    let executed = execute::<Alert>(store, &stream, &AlertCodec, command, |e| e.occurred_at(now))
        .await
        .map_err(|e| e.into_service_error(|r| ServiceError::Internal(format!("{r:?}"))))?;
    Ok((!executed.events.is_empty()).then_some(executed.position))
}

/// How often the risk is scored: the model reads months, so daily is enough.
pub const INTERVAL: Duration = Duration::from_secs(86_400);

/// Announces crossings for every dealer with visits, now and every
/// [`INTERVAL`], until `stop`.
pub async fn run(
    store: std::sync::Arc<dyn EventStore>,
    db: Database,
    dealers: std::sync::Arc<ChurnDealers>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let known: Result<Vec<String>, sqlx::Error> =
            sqlx::query_scalar("SELECT DISTINCT dealer FROM analytics_value_contacts")
                .fetch_all(&db.pool)
                .await;
        match known {
            Ok(ids) => {
                for id in ids {
                    let Ok(dealer) = DealerId::parse(&id) else {
                        continue;
                    };
                    match announce(store.as_ref(), &db, &dealers, &dealer, Timestamp::now()).await {
                        Ok(a) if a.raised + a.cleared > 0 => tracing::info!(
                            dealer = %dealer,
                            raised = a.raised,
                            cleared = a.cleared,
                            "churn-risk warnings"
                        ),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(dealer = %dealer, error = %e, "churn-risk pass failed; retried tomorrow")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "churn-risk pass cannot read the dealers"),
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}
