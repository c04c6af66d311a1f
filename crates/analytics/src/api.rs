//! The analytics gRPC service: requests validated into a dealer list, a month, a
//! rule and a breakdown; figures read from the churn counters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::DealerId;
use aftercare_kernel::Vin;
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::config::Dealer;
use aftercare_runtime::projection::{ProgressHandle, wait_for_consistency};
use aftercare_runtime::{Database, Principal, Role, ServiceError};
use jiff::Timestamp;
use tonic::{Request, Response, Status};

use crate::config::{ChurnDealers, ChurnRules};
use crate::domain::history::{Dimension, Rule};
use crate::domain::report::{ChurnLine, Seen, TableLine, churn_table};
use crate::domain::scorecard::{self, Score, Verdict};
use crate::domain::{Month, Segment, Thresholds};
use crate::projection::{VEHICLE_COLUMNS, vehicle_history};
use crate::queries;
use crate::status_events::segment_to;

/// Reports are for managers and whoever reads KPIs.
pub const REPORT_READERS: &[Role] = &[Role::CareManager, Role::Manager, Role::Viewer];
/// A vehicle's status is also what advisors and callback agents look up.
pub(crate) const STATUS_READERS: &[Role] = &[
    Role::CareManager,
    Role::Manager,
    Role::Viewer,
    Role::ServiceAdvisor,
    Role::CallbackAgent,
];

pub struct AnalyticsApi {
    pub db: Database,
    /// The event log, for the commands (targets); none where the service only
    /// reads.
    pub store: Option<std::sync::Arc<dyn aftercare_eventstore::EventStore>>,
    pub churn: Option<ProgressHandle>,
    /// The value read model (RFM, ABC).
    pub value: Option<ProgressHandle>,
    pub dealers: Arc<ChurnDealers>,
    pub read_timeout: Duration,
}

fn month(field: &str, value: Option<&common::YearMonth>) -> Result<Month, ServiceError> {
    let m = value.ok_or_else(|| ServiceError::invalid(field, "is required"))?;
    let (year, month) =
        aftercare_proto::calendar::year_month(m).map_err(|e| ServiceError::invalid(field, e))?;
    Ok(Month::new(year, month))
}

fn year_month(m: Month) -> common::YearMonth {
    common::YearMonth {
        year: m.year(),
        month: m.month() as u32,
    }
}

/// The current month at the dealer: reports of later months do not exist yet.
fn not_after_today(
    field: &str,
    asked: Month,
    dealer: &DealerId,
    rules: &Dealer<ChurnRules>,
) -> Result<(), ServiceError> {
    let now = Month::of_instant(Timestamp::now(), &rules.time_zone);
    if asked > now {
        return Err(ServiceError::invalid(
            field,
            format!("{asked} is after the current month at dealer {dealer} ({now})"),
        ));
    }
    Ok(())
}

/// A threshold asked for: 0 for each dealer's own, else 1–36 months.
fn threshold_asked(months: u32) -> Result<(), ServiceError> {
    if months > 36 {
        return Err(ServiceError::invalid(
            "threshold_months",
            format!("{months} is more than 36 months"),
        ));
    }
    Ok(())
}

fn table_line(l: &TableLine) -> pb::ChurnTableLine {
    pb::ChurnTableLine {
        value: l.value.clone(),
        base: l.base(),
        segments: segment_lines(&l.segments),
        churned: l.churned(),
        rate: l.rate().unwrap_or(0.0),
    }
}

fn segment_lines(counts: &BTreeMap<Segment, i64>) -> Vec<pb::SegmentCount> {
    Segment::ALL
        .iter()
        .map(|s| pb::SegmentCount {
            segment: segment_to(*s) as i32,
            vehicles: counts.get(s).copied().unwrap_or(0),
        })
        .collect()
}

fn rule(value: i32) -> Rule {
    match pb::ChurnRule::try_from(value) {
        Ok(pb::ChurnRule::B) => Rule::B,
        _ => Rule::A,
    }
}

fn dimension(value: i32) -> Result<Dimension, ServiceError> {
    Ok(match pb::Breakdown::try_from(value) {
        Ok(pb::Breakdown::Unspecified) => Dimension::All,
        Ok(pb::Breakdown::AdvisorGroup) => Dimension::AdvisorGroup,
        Ok(pb::Breakdown::Advisor) => Dimension::Advisor,
        Ok(pb::Breakdown::Model) => Dimension::Model,
        Ok(pb::Breakdown::Region) => Dimension::Region,
        Ok(pb::Breakdown::Age) => Dimension::Age,
        Ok(pb::Breakdown::Warranty) => Dimension::Warranty,
        Err(_) => {
            return Err(ServiceError::invalid(
                "breakdown",
                format!("{value} is not a breakdown"),
            ));
        }
    })
}

fn line(l: &ChurnLine) -> pb::ChurnLine {
    pb::ChurnLine {
        value: l.value.clone(),
        base: l.base,
        churned: l.churned,
        rate: l.rate().unwrap_or(0.0),
    }
}

fn verdict_to(v: Verdict) -> pb::Verdict {
    match v {
        Verdict::Better => pb::Verdict::Better,
        Verdict::Equal => pb::Verdict::Equal,
        Verdict::Worse => pb::Verdict::Worse,
    }
}

fn callback_figures(c: &[u64; 6]) -> pb::CallbackFigures {
    pb::CallbackFigures {
        callbacks_due: c[0],
        callbacks_in_window: c[1],
        rated: c[2],
        satisfied: c[3],
        winback_called: c[4],
        winback_appointments: c[5],
    }
}

fn complaint_figures(c: queries::ComplaintCount) -> pb::ComplaintFigures {
    pb::ComplaintFigures {
        complaints: c.complaints,
        visits: c.visits,
        rate: if c.visits == 0 {
            0.0
        } else {
            c.complaints as f64 / c.visits as f64
        },
    }
}

/// A score with the callback figures of whom it is for, if published, and
/// their complaints of the month.
fn score(
    s: &Score,
    counts: Option<&[u64; 6]>,
    complaints: Option<&queries::ComplaintCount>,
) -> pb::Score {
    pb::Score {
        who: s.who.clone(),
        line: Some(line(&s.line)),
        verdict: verdict_to(s.verdict) as i32,
        amount: Some(common::Money { fen: s.amount_fen }),
        callbacks: counts.map(callback_figures),
        complaints: Some(complaint_figures(complaints.copied().unwrap_or_default())),
    }
}

impl AnalyticsApi {
    pub(crate) fn store(
        &self,
    ) -> Result<&std::sync::Arc<dyn aftercare_eventstore::EventStore>, ServiceError> {
        self.store.as_ref().ok_or_else(|| {
            ServiceError::Internal("this analytics service takes no commands".into())
        })
    }

    async fn ready(&self, consistency: Option<&common::Consistency>) -> Result<(), ServiceError> {
        wait_for_consistency(self.churn.as_ref(), consistency, self.read_timeout).await
    }

    async fn report(
        &self,
        principal: &Principal,
        body: &pb::ChurnReportRequest,
    ) -> Result<pb::ChurnReportResponse, ServiceError> {
        let asked = month("month", body.month.as_ref())?;
        let rule = rule(body.rule);
        let dimension = dimension(body.breakdown)?;
        threshold_asked(body.threshold_months)?;
        let dealers = queries::dealers(&self.db, principal, &body.dealers).await?;
        self.ready(body.consistency.as_ref()).await?;
        // Dealers that share a threshold share a cohort month: one lookup each.
        let mut by_threshold: BTreeMap<u32, Vec<DealerId>> = BTreeMap::new();
        let mut cohorts = Vec::new();
        for dealer in &dealers {
            let rules = self.dealers.rules(dealer.as_str());
            not_after_today("month", asked, dealer, rules)?;
            let threshold = match body.threshold_months {
                0 => rules.churn_months,
                k => k,
            };
            cohorts.push(pb::DealerCohort {
                dealer: dealer.to_string(),
                cohort_month: Some(year_month(asked.minus(threshold))),
                threshold_months: threshold,
            });
            by_threshold
                .entry(threshold)
                .or_default()
                .push(dealer.clone());
        }
        let mut total = ChurnLine::default();
        let mut lines: BTreeMap<String, ChurnLine> = BTreeMap::new();
        for (&threshold, group) in &by_threshold {
            total.absorb(&queries::total(&self.db, group, rule, asked, threshold).await?);
            if dimension != Dimension::All {
                let found =
                    queries::churn(&self.db, group, rule, asked, threshold, dimension).await?;
                for (value, l) in found {
                    lines
                        .entry(value.clone())
                        .or_insert_with(|| ChurnLine {
                            value,
                            ..ChurnLine::default()
                        })
                        .absorb(&l);
                }
            }
        }
        let thresholds: Vec<(DealerId, Thresholds)> = cohorts
            .iter()
            .zip(&dealers)
            .map(|(c, dealer)| {
                let rules = self.dealers.rules(dealer.as_str());
                (
                    dealer.clone(),
                    Thresholds::for_churn(rules.at_risk_months, c.threshold_months),
                )
            })
            .collect();
        let segments = self
            .table(&thresholds, asked, Dimension::All)
            .await?
            .remove("")
            .unwrap_or_else(|| TableLine::new(""))
            .segments;
        Ok(pb::ChurnReportResponse {
            month: Some(year_month(asked)),
            rule: match rule {
                Rule::B => pb::ChurnRule::B,
                _ => pb::ChurnRule::A,
            } as i32,
            breakdown: body.breakdown,
            cohorts,
            total: Some(line(&total)),
            lines: lines.values().map(line).collect(),
            segments: segment_lines(&segments),
        })
    }

    /// The churn table of dealers at the end of `as_of`, each with its
    /// thresholds, added up by breakdown value.
    async fn table(
        &self,
        dealers: &[(DealerId, Thresholds)],
        as_of: Month,
        dimension: Dimension,
    ) -> Result<BTreeMap<String, TableLine>, ServiceError> {
        let ids: Vec<DealerId> = dealers.iter().map(|(d, _)| d.clone()).collect();
        let mut seen: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
        for (dealer, s) in queries::last_seen(&self.db, &ids, as_of, dimension).await? {
            seen.entry(dealer).or_default().push(s);
        }
        let mut lines: BTreeMap<String, TableLine> = BTreeMap::new();
        for (dealer, thresholds) in dealers {
            let rows = seen.get(dealer.as_str()).map_or(&[][..], Vec::as_slice);
            for (value, line) in churn_table(as_of, *thresholds, rows) {
                lines
                    .entry(value.clone())
                    .or_insert_with(|| TableLine::new(&value))
                    .absorb(&line);
            }
        }
        Ok(lines)
    }

    async fn churn_table_(
        &self,
        principal: &Principal,
        body: &pb::ChurnTableRequest,
    ) -> Result<pb::ChurnTableResponse, ServiceError> {
        let asked = month("month", body.month.as_ref())?;
        let dimension = dimension(body.breakdown)?;
        threshold_asked(body.threshold_months)?;
        let dealers = queries::dealers(&self.db, principal, &body.dealers).await?;
        self.ready(body.consistency.as_ref()).await?;
        let mut thresholds = Vec::new();
        for dealer in &dealers {
            let rules = self.dealers.rules(dealer.as_str());
            not_after_today("month", asked, dealer, rules)?;
            let churn = match body.threshold_months {
                0 => rules.churn_months,
                k => k,
            };
            thresholds.push((
                dealer.clone(),
                Thresholds::for_churn(rules.at_risk_months, churn),
            ));
        }
        let lines = self.table(&thresholds, asked, dimension).await?;
        let mut total = TableLine::new("");
        for line in lines.values() {
            total.absorb(line);
        }
        Ok(pb::ChurnTableResponse {
            month: Some(year_month(asked)),
            breakdown: body.breakdown,
            thresholds: thresholds
                .iter()
                .map(|(dealer, t)| pb::DealerThreshold {
                    dealer: dealer.to_string(),
                    at_risk_months: t.at_risk,
                    threshold_months: t.churn,
                })
                .collect(),
            total: Some(table_line(&total)),
            lines: if dimension == Dimension::All {
                Vec::new()
            } else {
                lines.values().map(table_line).collect()
            },
        })
    }

    async fn scorecard(
        &self,
        principal: &Principal,
        body: &pb::ChurnScorecardRequest,
    ) -> Result<pb::ChurnScorecardResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, REPORT_READERS)?;
        let asked = month("month", body.month.as_ref())?;
        let rules = self.dealers.rules(dealer.as_str());
        not_after_today("month", asked, &dealer, rules)?;
        let rule = rule(body.rule);
        threshold_asked(body.threshold_months)?;
        self.ready(body.consistency.as_ref()).await?;
        let k = match body.threshold_months {
            0 => rules.churn_months,
            k => k,
        };
        let one = std::slice::from_ref(&dealer);
        let total = queries::total(&self.db, one, rule, asked, k).await?;
        let groups: Vec<ChurnLine> =
            queries::churn(&self.db, one, rule, asked, k, Dimension::AdvisorGroup)
                .await?
                .into_values()
                .collect();
        let mut previous = Vec::new();
        for back in 1..=3 {
            previous.push(queries::total(&self.db, one, rule, asked.minus(back), k).await?);
        }
        let advisors: Vec<ChurnLine> =
            queries::churn(&self.db, one, rule, asked, k, Dimension::Advisor)
                .await?
                .into_values()
                .collect();
        let calls = queries::callback_calls(&self.db, &dealer, asked).await?;
        let people = queries::callback_counts(&self.db, &dealer, asked, "person").await?;
        let group_counts = queries::callback_counts(&self.db, &dealer, asked, "group").await?;
        let dealer_counts = queries::callback_counts(&self.db, &dealer, asked, "dealer").await?;
        let complaints = queries::complaints(&self.db, &dealer, asked, &rules.time_zone).await?;
        let fen = rules.incentive;
        let groups_rate = scorecard::groups_rate(&groups);
        let scored: BTreeMap<String, scorecard::AgentScore> =
            scorecard::callback_agents(&groups_rate, &groups, &calls, fen.callback_agent_fen)
                .into_iter()
                .map(|a| (a.agent.clone(), a))
                .collect();
        let mut names: Vec<&String> = people.keys().chain(scored.keys()).collect();
        names.sort();
        names.dedup();
        let group_scores = scorecard::advisor_groups(&groups_rate, &groups, fen.advisor_group_fen);
        let manager = scorecard::service_manager(&total, &previous, fen.service_manager_fen);
        let supervisor =
            scorecard::workshop_supervisor(&total, &previous, fen.workshop_supervisor_fen);
        let payout = scorecard::payout_fen(
            &group_scores,
            scored.values(),
            manager.iter().chain(supervisor.iter()),
        );
        let agents = names
            .into_iter()
            .map(|name| {
                let s = scored.get(name);
                let c = people.get(name).copied().unwrap_or_default();
                pb::AgentScore {
                    agent: name.clone(),
                    calls: s.map_or(0, |s| s.calls),
                    rate: s.map_or(0.0, |s| s.rate),
                    verdict: s.map_or(pb::Verdict::Unspecified, |s| verdict_to(s.verdict)) as i32,
                    amount: Some(common::Money {
                        fen: s.map_or(0, |s| s.amount_fen),
                    }),
                    callbacks: Some(callback_figures(&c)),
                }
            })
            .collect();
        Ok(pb::ChurnScorecardResponse {
            dealer: Some(line(&total)),
            groups_rate: Some(line(&groups_rate)),
            threshold_months: k,
            advisor_groups: group_scores
                .iter()
                .map(|s| score(s, group_counts.get(&s.who), complaints.groups.get(&s.who)))
                .collect(),
            service_manager: manager
                .as_ref()
                .map(|s| score(s, dealer_counts.get(""), Some(&complaints.dealer))),
            advisors: scorecard::advisors(&groups_rate, &advisors)
                .iter()
                .map(|s| score(s, people.get(&s.who), complaints.advisors.get(&s.who)))
                .collect(),
            callback_agents: agents,
            workshop_supervisor: supervisor
                .as_ref()
                .map(|s| score(s, dealer_counts.get(""), Some(&complaints.dealer))),
            payout: Some(common::Money { fen: payout }),
            previous_months: previous.iter().map(line).collect(),
        })
    }

    async fn vehicle_status(
        &self,
        principal: &Principal,
        body: &pb::VehicleChurnStatusRequest,
    ) -> Result<pb::VehicleChurnStatusResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, STATUS_READERS)?;
        let vin = Vin::parse(&body.vin).map_err(|e| ServiceError::invalid("vin", e.to_string()))?;
        let rules = self.dealers.rules(dealer.as_str());
        let today = Timestamp::now().to_zoned(rules.time_zone.clone()).date();
        let as_of = match &body.as_of {
            None => today,
            Some(d) => {
                aftercare_proto::calendar::date(d).map_err(|e| ServiceError::invalid("as_of", e))?
            }
        };
        if as_of > today {
            return Err(ServiceError::invalid(
                "as_of",
                format!("{as_of} is after today ({today})"),
            ));
        }
        self.ready(body.consistency.as_ref()).await?;
        let row = sqlx::query(&format!(
            "SELECT {VEHICLE_COLUMNS} FROM analytics_vehicles WHERE dealer = $1 AND vin = $2"
        ))
        .bind(dealer.as_str())
        .bind(vin.as_str())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin} at dealer {dealer}")))?;
        let (vehicle_id, history) = vehicle_history(&row).map_err(ServiceError::Internal)?;
        let until = aftercare_kernel::end_of_day(as_of, &rules.time_zone)
            .ok_or_else(|| {
                ServiceError::invalid("as_of", format!("{as_of} has no end at the dealer"))
            })?
            .as_microsecond();
        let thresholds = Thresholds {
            at_risk: rules.at_risk_months,
            churn: rules.churn_months,
        };
        let status = history
            .status(Month::of_date(as_of), until, thresholds)
            .ok_or_else(|| {
                ServiceError::NotFound(format!("vehicle {vin} had no visit or sale by {as_of}"))
            })?;
        let last = status.last_visit.as_ref();
        Ok(pb::VehicleChurnStatusResponse {
            vehicle_id,
            segment: segment_to(status.segment) as i32,
            last_visit_closed_at: last
                .and_then(|v| Timestamp::from_microsecond(v.closed_at).ok())
                .map(aftercare_proto::calendar::timestamp),
            service_advisor: last.map(|v| v.advisor.clone()).unwrap_or_default(),
            advisor_group: last.map(|v| v.group.clone()).unwrap_or_default(),
            months_since_last_visit: status.months_since_last_visit.unwrap_or(0),
            as_of: Some(aftercare_proto::calendar::to_date(as_of)),
        })
    }
}

#[tonic::async_trait]
impl pb::analytics_service_server::AnalyticsService for AnalyticsApi {
    async fn churn_report(
        &self,
        request: Request<pb::ChurnReportRequest>,
    ) -> Result<Response<pb::ChurnReportResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(REPORT_READERS)?;
        Ok(Response::new(
            self.report(&principal, request.get_ref()).await?,
        ))
    }

    async fn churn_scorecard(
        &self,
        request: Request<pb::ChurnScorecardRequest>,
    ) -> Result<Response<pb::ChurnScorecardResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.scorecard(&principal, request.get_ref()).await?,
        ))
    }

    async fn churn_table(
        &self,
        request: Request<pb::ChurnTableRequest>,
    ) -> Result<Response<pb::ChurnTableResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require_role(REPORT_READERS)?;
        Ok(Response::new(
            self.churn_table_(&principal, request.get_ref()).await?,
        ))
    }

    async fn value_report(
        &self,
        request: Request<pb::ValueReportRequest>,
    ) -> Result<Response<pb::ValueReportResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            AnalyticsApi::value_report(self, &principal, request.get_ref()).await?,
        ))
    }

    async fn vehicle_value(
        &self,
        request: Request<pb::VehicleValueRequest>,
    ) -> Result<Response<pb::VehicleValueResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            AnalyticsApi::vehicle_value(self, &principal, request.get_ref()).await?,
        ))
    }

    async fn risk_report(
        &self,
        request: Request<pb::RiskReportRequest>,
    ) -> Result<Response<pb::RiskReportResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            AnalyticsApi::risk_report(self, &principal, request.get_ref()).await?,
        ))
    }

    async fn set_target(
        &self,
        request: Request<pb::SetTargetRequest>,
    ) -> Result<Response<pb::TargetsCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            AnalyticsApi::set_target(self, &principal, request.get_ref()).await?,
        ))
    }

    async fn record_result(
        &self,
        request: Request<pb::RecordResultRequest>,
    ) -> Result<Response<pb::TargetsCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            AnalyticsApi::record_result(self, &principal, request.get_ref()).await?,
        ))
    }

    async fn targets_report(
        &self,
        request: Request<pb::TargetsReportRequest>,
    ) -> Result<Response<pb::TargetsReportResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            AnalyticsApi::targets_report(self, &principal, request.get_ref()).await?,
        ))
    }

    async fn vehicle_churn_status(
        &self,
        request: Request<pb::VehicleChurnStatusRequest>,
    ) -> Result<Response<pb::VehicleChurnStatusResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.vehicle_status(&principal, request.get_ref()).await?,
        ))
    }
}
