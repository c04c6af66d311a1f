//! The value read model: every visit's labour and parts and every sale's day,
//! per vehicle, from intake's events (RFM, ABC classes and lifetime value are
//! computed from it as of any day), the churn-risk warnings, the dealers'
//! targets and entered scores, and the complaints filed (for the complaint
//! rate). Nothing is entered twice.

use std::sync::Arc;

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_proto::calendar::read_instant;
use aftercare_proto::event_types::intake as intake_events;
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::db::{SqlValue, insert_rows};
use aftercare_runtime::privacy::{Keyring, Vault};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use prost::Message;
use sqlx::AnyConnection;

use aftercare_kernel::Vin;
use aftercare_kernel::vin::vehicle_id;

use crate::config::ChurnDealers;

pub const NAME: &str = "analytics_value";

pub struct VisitValues {
    pub dealers: Arc<ChurnDealers>,
    /// Opens a complaint's VIN, sealed for its ticket, to find the vehicle the
    /// complaint is about; never stored in the clear here.
    pub vault: Vault,
}

/// The value rows' columns, in the order rows are written.
pub const COLUMNS: &[&str] = &[
    "contact_id",
    "dealer",
    "vehicle_id",
    "at",
    "visit",
    "labour_fen",
    "parts_fen",
];

impl VisitValues {
    /// The row an event adds, if any.
    fn row(&self, event: &RecordedEvent) -> Result<Option<Vec<SqlValue>>, ApplyError> {
        let poison = |reason: String| ApplyError::Poison {
            position: event.position,
            reason,
        };
        let dealer = event.dealer().as_str();
        let payload = event.data.payload.as_ref();
        let (id, vehicle, at, visit, (labour, parts)) = match event.data.event_type.as_str() {
            intake_events::VISIT_RECORDED => {
                let e =
                    intake::VisitRecorded::decode(payload).map_err(|e| poison(e.to_string()))?;
                let closed = e
                    .closed_at
                    .as_ref()
                    .and_then(read_instant)
                    .unwrap_or(event.data.occurred_at);
                let spend = (
                    e.labour.map_or(0, |m| m.fen).max(0),
                    e.parts.map_or(0, |m| m.fen).max(0),
                );
                (e.visit_id, e.vehicle_id, closed, 1, spend)
            }
            intake_events::VEHICLE_SOLD => {
                let e = intake::VehicleSold::decode(payload).map_err(|e| poison(e.to_string()))?;
                let zone = &self.dealers.rules(dealer).time_zone;
                let day = e
                    .sold_on
                    .as_ref()
                    .and_then(|d| aftercare_proto::calendar::date(d).ok())
                    .and_then(|d| d.to_zoned(zone.clone()).ok())
                    .map_or(event.data.occurred_at, |z| z.timestamp());
                (format!("sale/{}", e.sale_id), e.vehicle_id, day, 0, (0, 0))
            }
            _ => return Ok(None),
        };
        Ok(Some(vec![
            SqlValue::Text(id),
            SqlValue::Text(dealer.to_owned()),
            SqlValue::Text(vehicle),
            SqlValue::Int(at.as_microsecond()),
            SqlValue::Int(visit),
            SqlValue::Int(labour),
            SqlValue::Int(parts),
        ]))
    }
}

/// A target or a result in millionths (3.38% is 33,800; 930 points 930,000,000).
pub fn millionths(value: f64) -> i64 {
    (value * 1_000_000.0).round() as i64
}

impl VisitValues {
    /// A month of callback measures as the callback context published it.
    async fn callback_month(
        &self,
        tx: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ApplyError> {
        use aftercare_proto::callback::v1 as callback;
        let poison = |reason: String| ApplyError::Poison {
            position: event.position,
            reason,
        };
        let measured = callback::MonthMeasured::decode(event.data.payload.as_ref())
            .map_err(|e| poison(e.to_string()))?;
        let month = measured
            .month
            .as_ref()
            .ok_or_else(|| poison("no month".to_owned()))
            .and_then(|m| aftercare_proto::calendar::year_month(m).map_err(poison))?;
        let month = crate::domain::Month::new(month.0, month.1);
        let dealer = event.dealer().as_str();
        let row = |scope: &str, name: &str, c: &callback::MeasureCounts| {
            vec![
                SqlValue::Text(dealer.to_owned()),
                SqlValue::Int(i64::from(month.index())),
                SqlValue::Text(scope.to_owned()),
                SqlValue::Text(name.to_owned()),
                SqlValue::Int(c.callbacks_due as i64),
                SqlValue::Int(c.callbacks_in_window as i64),
                SqlValue::Int(c.sales_rated as i64),
                SqlValue::Int(c.sales_satisfied as i64),
                SqlValue::Int(c.service_rated as i64),
                SqlValue::Int(c.service_satisfied as i64),
                SqlValue::Int(c.winback_called as i64),
                SqlValue::Int(c.winback_appointments as i64),
            ]
        };
        let mut rows = vec![row("dealer", "", &measured.dealer.unwrap_or_default())];
        for p in measured.people.iter().filter(|p| !p.person.is_empty()) {
            rows.push(row("person", &p.person, &p.counts.unwrap_or_default()));
        }
        for g in measured.groups.iter().filter(|g| !g.group.is_empty()) {
            rows.push(row("group", &g.group, &g.counts.unwrap_or_default()));
        }
        let calls: Vec<Vec<SqlValue>> = measured
            .calls_by_group
            .iter()
            .filter(|c| !c.person.is_empty() && !c.group.is_empty())
            .map(|c| {
                vec![
                    SqlValue::Text(dealer.to_owned()),
                    SqlValue::Int(i64::from(month.index())),
                    SqlValue::Text(c.person.clone()),
                    SqlValue::Text(c.group.clone()),
                    SqlValue::Int(c.called as i64),
                ]
            })
            .collect();
        if !calls.is_empty() {
            insert_rows(
                tx,
                "analytics_callback_groups",
                &["dealer", "month", "person", "grp", "called"],
                "ON CONFLICT (dealer, month, person, grp) DO NOTHING",
                &calls,
            )
            .await?;
        }
        insert_rows(
            tx,
            "analytics_callback_months",
            &[
                "dealer",
                "month",
                "scope",
                "name",
                "callbacks_due",
                "callbacks_in_window",
                "sales_rated",
                "sales_satisfied",
                "service_rated",
                "service_satisfied",
                "winback_called",
                "winback_appointments",
            ],
            "ON CONFLICT (dealer, month, scope, name) DO NOTHING",
            &rows,
        )
        .await?;
        Ok(())
    }

    /// A target set or a result entered.
    async fn target(
        &self,
        tx: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ApplyError> {
        use crate::domain::targets::Event as E;
        use aftercare_runtime::command::EventCodec;
        let dealer = event.dealer().as_str();
        let decoded = crate::targets_events::TargetsCodec
            .decode(event)
            .map_err(|reason| ApplyError::Poison {
                position: event.position,
                reason,
            })?;
        match decoded {
            E::TargetSet {
                metric,
                year,
                plan,
                by,
                at,
            } => {
                let rows: Vec<Vec<SqlValue>> = plan
                    .months
                    .iter()
                    .enumerate()
                    .map(|(m, target)| {
                        vec![
                            SqlValue::Text(dealer.to_owned()),
                            SqlValue::Int(i64::from(year)),
                            SqlValue::Text(metric.code().to_owned()),
                            SqlValue::Int(m as i64 + 1),
                            SqlValue::Int(millionths(*target)),
                            SqlValue::Int(millionths(plan.annual)),
                            SqlValue::Text(
                                crate::targets_events::breakdown_name(&plan.breakdown).to_owned(),
                            ),
                            SqlValue::Text(by.clone()),
                            SqlValue::Int(at.as_microsecond()),
                        ]
                    })
                    .collect();
                insert_rows(
                    tx,
                    "analytics_targets",
                    &[
                        "dealer", "year", "metric", "month", "target", "annual", "breakdown",
                        "set_by", "set_at",
                    ],
                    "ON CONFLICT (dealer, year, metric, month) DO UPDATE SET \
                     target = excluded.target, annual = excluded.annual, \
                     breakdown = excluded.breakdown, set_by = excluded.set_by, set_at = excluded.set_at",
                    &rows,
                )
                .await?;
            }
            E::ResultRecorded {
                metric,
                month,
                value,
                by,
                at,
            } => {
                insert_rows(
                    tx,
                    "analytics_results",
                    &["dealer", "metric", "month", "value", "by_whom", "at"],
                    "ON CONFLICT (dealer, metric, month) DO UPDATE SET value = excluded.value, \
                     by_whom = excluded.by_whom, at = excluded.at",
                    &[vec![
                        SqlValue::Text(dealer.to_owned()),
                        SqlValue::Text(metric.code().to_owned()),
                        SqlValue::Int(i64::from(month.index())),
                        SqlValue::Int(millionths(value)),
                        SqlValue::Text(by),
                        SqlValue::Int(at.as_microsecond()),
                    ]],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// A churn-risk warning raised or cleared.
    async fn alert(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ApplyError> {
        use crate::risk_alert::{AlertCodec, AlertEvent};
        use aftercare_runtime::command::EventCodec;
        let decoded = AlertCodec
            .decode(event)
            .map_err(|reason| ApplyError::Poison {
                position: event.position,
                reason,
            })?;
        let (raised, risk) = match decoded {
            AlertEvent::Raised(s) => (1, s.risk),
            AlertEvent::Cleared(s) => (0, s.risk),
        };
        insert_rows(
            tx,
            "analytics_risk_alerts",
            &[
                "vehicle_id",
                "dealer",
                "raised",
                "risk_permille",
                "position",
            ],
            "ON CONFLICT (vehicle_id) DO UPDATE SET raised = excluded.raised, \
             risk_permille = excluded.risk_permille, \
             position = excluded.position",
            &[vec![
                SqlValue::Text(event.stream.id().to_owned()),
                SqlValue::Text(event.dealer().as_str().to_owned()),
                SqlValue::Int(raised),
                SqlValue::Int((risk * 1000.0).round() as i64),
                SqlValue::Int(event.position.0 as i64),
            ]],
        )
        .await?;
        Ok(())
    }
}

/// A complaint filed: its day, and the vehicle it is about when its VIN was
/// given and can still be opened (an erased ticket counts at the dealer only).
async fn complaint(
    tx: &mut AnyConnection,
    event: &RecordedEvent,
    keys: &Keyring,
) -> Result<(), ApplyError> {
    let filed = aftercare_proto::complaint::v1::ComplaintFiled::decode(event.data.payload.as_ref())
        .map_err(|e| ApplyError::Poison {
            position: event.position,
            reason: e.to_string(),
        })?;
    let at = filed
        .filed_at
        .as_ref()
        .and_then(read_instant)
        .unwrap_or(event.data.occurred_at);
    let dealer = event.dealer().as_str();
    let vin = keys.open(
        &aftercare_proto::sealed::complaint(event.stream.id()),
        &filed.vin,
    );
    let vehicle = Vin::parse(&vin)
        .ok()
        .map(|vin| SqlValue::Text(vehicle_id(dealer, &vin).to_string()))
        .unwrap_or(SqlValue::NullText);
    insert_rows(
        tx,
        "analytics_complaints",
        &["ticket_id", "dealer", "filed_at", "vehicle_id"],
        "ON CONFLICT (ticket_id) DO NOTHING",
        &[vec![
            SqlValue::Text(event.stream.id().to_owned()),
            SqlValue::Text(dealer.to_owned()),
            SqlValue::Int(at.as_microsecond()),
            vehicle,
        ]],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl Projection for VisitValues {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::VISIT)
            .or_aggregate(aftercare_proto::aggregates::VEHICLE)
            .or_aggregate(crate::risk_alert::AGGREGATE)
            .or_aggregate(crate::targets_events::AGGREGATE)
            .or_aggregate(aftercare_proto::aggregates::COMPLAINT)
            .or_aggregate(aftercare_proto::aggregates::CALLBACK_MONTH)
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "analytics_value_contacts",
            "analytics_risk_alerts",
            "analytics_targets",
            "analytics_results",
            "analytics_complaints",
            "analytics_callback_months",
            "analytics_callback_groups",
        ]
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let filed: Vec<String> = batch
            .iter()
            .filter(|e| {
                e.data.event_type == aftercare_proto::event_types::complaint::COMPLAINT_FILED
            })
            .map(|e| aftercare_proto::sealed::complaint(e.stream.id()))
            .collect();
        let keys = if filed.is_empty() {
            None
        } else {
            Some(self.vault.keyring(&filed).await?)
        };
        let mut rows = Vec::new();
        for event in batch {
            if event.stream.aggregate() == crate::risk_alert::AGGREGATE {
                self.alert(tx, event).await?;
            } else if event.stream.aggregate() == crate::targets_events::AGGREGATE {
                self.target(tx, event).await?;
            } else if event.stream.aggregate() == aftercare_proto::aggregates::CALLBACK_MONTH {
                self.callback_month(tx, event).await?;
            } else if let Some(keys) = keys.as_ref().filter(|_| {
                event.data.event_type == aftercare_proto::event_types::complaint::COMPLAINT_FILED
            }) {
                complaint(tx, event, keys).await?;
            } else if let Some(row) = self.row(event)? {
                rows.push(row);
            }
        }
        // A visit is recorded once and a sale once: a replayed event adds nothing.
        for chunk in rows.chunks(500) {
            insert_rows(
                tx,
                "analytics_value_contacts",
                COLUMNS,
                "ON CONFLICT (contact_id) DO NOTHING",
                chunk,
            )
            .await?;
        }
        Ok(())
    }
}
