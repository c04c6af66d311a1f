//! RFM segments and ABC classes: each dealer's vehicles (or customers) as of
//! a day, figures added up by the database, scored here by the pure rules.

use std::collections::BTreeMap;

use aftercare_eventstore::DealerId;
use aftercare_kernel::Vin;
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::{Database, Principal, ServiceError};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use sqlx::Row;

use crate::api::{AnalyticsApi, REPORT_READERS, STATUS_READERS};
use crate::domain::value::{Class, Figures, RfmSegment, Scored, abc, score};
use crate::queries;

/// Vehicles, or customers by their vehicles' current owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Vehicle,
    Customer,
}

fn unit(value: i32) -> Result<Unit, ServiceError> {
    match pb::ValueUnit::try_from(value) {
        Ok(pb::ValueUnit::Unspecified | pb::ValueUnit::Vehicle) => Ok(Unit::Vehicle),
        Ok(pb::ValueUnit::Customer) => Ok(Unit::Customer),
        Err(_) => Err(ServiceError::invalid(
            "unit",
            format!("{value} is not a unit"),
        )),
    }
}

fn money(fen: i64) -> Option<common::Money> {
    Some(common::Money { fen })
}

/// The day asked for, or today at the dealer; never after today.
fn as_of(value: Option<&common::Date>, zone: &TimeZone) -> Result<Date, ServiceError> {
    let today = Timestamp::now().to_zoned(zone.clone()).date();
    let day = match value {
        None => today,
        Some(d) => {
            aftercare_proto::calendar::date(d).map_err(|e| ServiceError::invalid("as_of", e))?
        }
    };
    if day > today {
        return Err(ServiceError::invalid(
            "as_of",
            format!("{day} is after today ({today})"),
        ));
    }
    Ok(day)
}

fn day_of(micros: i64, zone: &TimeZone) -> Date {
    Timestamp::from_microsecond(micros)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(zone.clone())
        .date()
}

/// Each vehicle's (or customer's) figures at `dealer` by the end of `day`.
pub async fn figures(
    db: &Database,
    dealer: &DealerId,
    day: Date,
    zone: &TimeZone,
    unit: Unit,
) -> Result<Vec<Figures>, ServiceError> {
    let end = aftercare_kernel::end_of_day(day, zone)
        .ok_or_else(|| ServiceError::invalid("as_of", format!("{day} has no end at the dealer")))?;
    let year_ago = day
        .checked_sub(jiff::Span::new().years(1))
        .ok()
        .and_then(|d| aftercare_kernel::end_of_day(d, zone))
        .map_or(0, |t| t.as_microsecond());
    let (key, join) = match unit {
        Unit::Vehicle => ("c.vehicle_id", ""),
        Unit::Customer => (
            "v.owner_customer_id",
            "JOIN analytics_vehicles v ON v.vehicle_id = c.vehicle_id \
             AND v.owner_customer_id IS NOT NULL AND v.owner_customer_id <> ''",
        ),
    };
    let rows = sqlx::query(&format!(
        "SELECT {key} AS id, MIN(c.at) AS first_at, \
         MAX(CASE WHEN c.visit = 1 THEN c.at END) AS last_visit, \
         CAST(SUM(c.visit) AS BIGINT) AS visits, CAST(SUM(c.spend_fen) AS BIGINT) AS spend, \
         CAST(SUM(CASE WHEN c.at > $3 THEN c.spend_fen ELSE 0 END) AS BIGINT) AS last_year \
         FROM analytics_value_contacts c {join} \
         WHERE c.dealer = $1 AND c.at <= $2 GROUP BY {key}"
    ))
    .bind(dealer.as_str())
    .bind(end.as_microsecond())
    .bind(year_ago)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Figures {
                id: r.try_get("id")?,
                first_on: day_of(r.try_get("first_at")?, zone),
                last_visit_on: r
                    .try_get::<Option<i64>, _>("last_visit")?
                    .map(|t| day_of(t, zone)),
                visits: r.try_get::<i64, _>("visits")? as u32,
                spend_fen: r.try_get("spend")?,
                spend_last_year_fen: r.try_get("last_year")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

/// A dealer's units scored and classed.
struct Valued {
    figures: Vec<Figures>,
    scored: Vec<Scored>,
    classes: BTreeMap<String, Class>,
}

impl AnalyticsApi {
    async fn valued(
        &self,
        dealer: &DealerId,
        day: Date,
        unit: Unit,
    ) -> Result<Valued, ServiceError> {
        let rules = self.dealers.rules(dealer.as_str());
        let figures = figures(&self.db, dealer, day, &rules.time_zone, unit).await?;
        let scored = score(&figures, day);
        let contributions: Vec<(String, i64)> = figures
            .iter()
            .map(|f| (f.id.clone(), f.spend_last_year_fen))
            .collect();
        let classes = abc(&contributions, rules.abc.pareto())
            .into_iter()
            .collect();
        Ok(Valued {
            figures,
            scored,
            classes,
        })
    }

    async fn ready_for_value(
        &self,
        consistency: Option<&common::Consistency>,
    ) -> Result<(), ServiceError> {
        for handle in [self.churn.as_ref(), self.value.as_ref()] {
            aftercare_runtime::projection::wait_for_consistency(
                handle,
                consistency,
                self.read_timeout,
            )
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn value_report(
        &self,
        principal: &Principal,
        body: &pb::ValueReportRequest,
    ) -> Result<pb::ValueReportResponse, ServiceError> {
        principal.require_role(REPORT_READERS)?;
        let unit = unit(body.unit)?;
        let dealers = queries::dealers(&self.db, principal, &body.dealers).await?;
        self.ready_for_value(body.consistency.as_ref()).await?;
        let mut units = 0;
        let mut never = 0;
        let mut segments: BTreeMap<RfmSegment, (i64, i64)> = BTreeMap::new();
        let mut classes: BTreeMap<Class, (i64, i64)> = BTreeMap::new();
        let mut day_asked = None;
        for dealer in &dealers {
            let zone = &self.dealers.rules(dealer.as_str()).time_zone;
            let day = as_of(body.as_of.as_ref(), zone)?;
            day_asked = day_asked.or(Some(day));
            let valued = self.valued(dealer, day, unit).await?;
            units += valued.figures.len() as i64;
            never += valued
                .figures
                .iter()
                .filter(|f| f.last_visit_on.is_none())
                .count() as i64;
            for s in &valued.scored {
                let line = segments.entry(s.segment).or_default();
                line.0 += 1;
                line.1 += s.rfm.spend_per_year_fen;
            }
            for f in &valued.figures {
                let class = valued.classes.get(&f.id).copied().unwrap_or(Class::C);
                let line = classes.entry(class).or_default();
                line.0 += 1;
                line.1 += f.spend_last_year_fen;
            }
        }
        let serviced = units - never;
        let contribution: i64 = classes.values().map(|(_, fen)| fen).sum();
        let share = |part: i64, whole: i64| {
            if whole > 0 {
                part as f64 / whole as f64
            } else {
                0.0
            }
        };
        Ok(pb::ValueReportResponse {
            as_of: day_asked.map(aftercare_proto::calendar::to_date),
            unit: match unit {
                Unit::Vehicle => pb::ValueUnit::Vehicle,
                Unit::Customer => pb::ValueUnit::Customer,
            } as i32,
            units,
            never_serviced: never,
            segments: RfmSegment::ALL
                .iter()
                .map(|s| {
                    let (n, fen) = segments.get(s).copied().unwrap_or_default();
                    pb::RfmLine {
                        segment: s.as_str().to_owned(),
                        units: n,
                        spend_per_year: money(fen),
                        share: share(n, serviced),
                    }
                })
                .collect(),
            classes: [Class::A, Class::B, Class::C]
                .iter()
                .map(|c| {
                    let (n, fen) = classes.get(c).copied().unwrap_or_default();
                    pb::AbcLine {
                        class: c.as_str().to_owned(),
                        units: n,
                        contribution: money(fen),
                        share_of_units: share(n, units),
                        share_of_contribution: share(fen, contribution),
                    }
                })
                .collect(),
        })
    }

    pub(crate) async fn vehicle_value(
        &self,
        principal: &Principal,
        body: &pb::VehicleValueRequest,
    ) -> Result<pb::VehicleValueResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, STATUS_READERS)?;
        let vin = Vin::parse(&body.vin).map_err(|e| ServiceError::invalid("vin", e.to_string()))?;
        let zone = self.dealers.rules(dealer.as_str()).time_zone.clone();
        let day = as_of(body.as_of.as_ref(), &zone)?;
        self.ready_for_value(body.consistency.as_ref()).await?;
        let vehicle_id: String = sqlx::query_scalar(
            "SELECT vehicle_id FROM analytics_vehicles WHERE dealer = $1 AND vin = $2",
        )
        .bind(dealer.as_str())
        .bind(vin.as_str())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("vehicle {vin} at dealer {dealer}")))?;
        let valued = self.valued(&dealer, day, Unit::Vehicle).await?;
        let figures = valued
            .figures
            .iter()
            .find(|f| f.id == vehicle_id)
            .ok_or_else(|| {
                ServiceError::NotFound(format!("vehicle {vin} had no visit or sale by {day}"))
            })?;
        let scored = valued.scored.iter().find(|s| s.id == vehicle_id);
        let (r, f, m) = scored.map_or((0, 0, 0), |s| s.scores);
        Ok(pb::VehicleValueResponse {
            vehicle_id,
            as_of: Some(aftercare_proto::calendar::to_date(day)),
            last_visit: figures
                .last_visit_on
                .map(aftercare_proto::calendar::to_date),
            recency_days: scored.map_or(0, |s| s.rfm.recency_days),
            visits_per_year: scored.map_or(0.0, |s| s.rfm.visits_per_year),
            spend_per_year: money(scored.map_or(0, |s| s.rfm.spend_per_year_fen)),
            recency_score: u32::from(r),
            frequency_score: u32::from(f),
            monetary_score: u32::from(m),
            segment: scored
                .map(|s| s.segment.as_str().to_owned())
                .unwrap_or_default(),
            abc_class: valued
                .classes
                .get(&figures.id)
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            last_twelve_months: money(figures.spend_last_year_fen),
        })
    }
}
