//! RFM segments and ABC classes: each dealer's vehicles (or customers) as of
//! a day, figures added up by the database, scored here by the pure rules.

use std::collections::BTreeMap;

use aftercare_eventstore::DealerId;
use aftercare_kernel::Vin;
use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::common::v1 as common;
use aftercare_runtime::{Database, Principal, ServiceError};
use futures::StreamExt;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use sqlx::Row;

use crate::api::{AnalyticsApi, REPORT_READERS, STATUS_READERS};
use crate::config::Margins;
use crate::domain::Month;
use crate::domain::lifetime::{
    AgeYear, Life, life, lifetime_value, margin_fen, remaining_years, survival,
};
use crate::domain::value::{
    Class, Figures, RfmSegment, Scored, abc, combined, score, years_on_file,
};
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

/// A vehicle's figures with what lifetime value needs.
pub struct VehicleRow {
    pub figures: Figures,
    /// The current owner, if on file.
    pub owner: Option<String>,
    /// The month it was bought, when known.
    pub bought: Option<Month>,
}

/// Each vehicle's figures at `dealer` by the end of `day`, at the dealer's
/// margins.
pub async fn vehicle_rows(
    db: &Database,
    dealer: &DealerId,
    day: Date,
    zone: &TimeZone,
    margins: Margins,
) -> Result<Vec<VehicleRow>, ServiceError> {
    let end = aftercare_kernel::end_of_day(day, zone)
        .ok_or_else(|| ServiceError::invalid("as_of", format!("{day} has no end at the dealer")))?;
    let year_ago = day
        .checked_sub(jiff::Span::new().years(1))
        .ok()
        .and_then(|d| aftercare_kernel::end_of_day(d, zone))
        .map_or(0, |t| t.as_microsecond());
    let rows = sqlx::query(
        "SELECT c.vehicle_id AS id, v.owner_customer_id AS owner, v.purchased AS bought, \
         MIN(c.at) AS first_at, MAX(CASE WHEN c.visit = 1 THEN c.at END) AS last_visit, \
         CAST(SUM(c.visit) AS BIGINT) AS visits, CAST(SUM(c.labour_fen) AS BIGINT) AS labour, \
         CAST(SUM(c.parts_fen) AS BIGINT) AS parts, \
         CAST(SUM(CASE WHEN c.at > $3 THEN c.labour_fen + c.parts_fen ELSE 0 END) AS BIGINT) AS last_year \
         FROM analytics_value_contacts c \
         LEFT JOIN analytics_vehicles v ON v.vehicle_id = c.vehicle_id \
         WHERE c.dealer = $1 AND c.at <= $2 \
         GROUP BY c.vehicle_id, v.owner_customer_id, v.purchased",
    )
    .bind(dealer.as_str())
    .bind(end.as_microsecond())
    .bind(year_ago)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let (labour, parts): (i64, i64) = (r.try_get("labour")?, r.try_get("parts")?);
            Ok(VehicleRow {
                figures: Figures {
                    id: r.try_get("id")?,
                    first_on: day_of(r.try_get("first_at")?, zone),
                    last_visit_on: r
                        .try_get::<Option<i64>, _>("last_visit")?
                        .map(|t| day_of(t, zone)),
                    visits: r.try_get::<i64, _>("visits")? as u32,
                    spend_fen: labour + parts,
                    spend_last_year_fen: r.try_get("last_year")?,
                    margin_fen: margin_fen(
                        labour,
                        parts,
                        margins.labour_percent,
                        margins.parts_percent,
                    ),
                },
                owner: r
                    .try_get::<Option<String>, _>("owner")?
                    .filter(|o| !o.is_empty()),
                bought: r
                    .try_get::<Option<i64>, _>("bought")?
                    .map(|m| Month::from_index(m as i32)),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ServiceError::from)
}

/// Dealers of a group valued at once: each is one query of the database and
/// its scoring here, so a few overlap without crowding the pool.
const DEALERS_AT_ONCE: usize = 4;

/// Ages of the survival table.
const HORIZON_YEARS: u32 = 20;

/// A dealer's units scored, classed and valued.
struct Valued {
    figures: Vec<Figures>,
    scored: Vec<Scored>,
    classes: BTreeMap<String, Class>,
    /// Per unit: (remaining years, lifetime value in fen).
    lifetime: BTreeMap<String, (f64, i64)>,
    survival: Vec<AgeYear>,
}

/// Lifetime value of each vehicle and the dealer's survival table.
fn lifetimes(
    rows: &[VehicleRow],
    day: Date,
    churn_months: u32,
) -> (BTreeMap<String, (f64, i64)>, Vec<AgeYear>) {
    let as_of = Month::of_date(day);
    let life_of = |row: &VehicleRow| {
        let last = row.figures.last_visit_on?;
        let first = Month::of_date(row.figures.first_on);
        Some(life(
            row.bought.unwrap_or(first),
            first,
            Month::of_date(last),
            as_of,
            churn_months,
        ))
    };
    let lives: Vec<Life> = rows.iter().filter_map(life_of).collect();
    let table = survival(&lives, HORIZON_YEARS);
    let values = rows
        .iter()
        .map(|row| {
            let f = &row.figures;
            let remaining = match life_of(row) {
                Some(l) if !l.lost => remaining_years(&table, l.left),
                _ => 0.0,
            };
            let per_year = (f.margin_fen as f64 / years_on_file(f.first_on, day)).round() as i64;
            (
                f.id.clone(),
                (remaining, lifetime_value(per_year, remaining)),
            )
        })
        .collect();
    (values, table)
}

impl AnalyticsApi {
    async fn valued(
        &self,
        dealer: &DealerId,
        day: Date,
        unit: Unit,
    ) -> Result<Valued, ServiceError> {
        let rules = self.dealers.rules(dealer.as_str());
        let rows = vehicle_rows(&self.db, dealer, day, &rules.time_zone, rules.margins).await?;
        let (by_vehicle, survival) = lifetimes(&rows, day, rules.churn_months);
        let (figures, lifetime) = match unit {
            Unit::Vehicle => (rows.into_iter().map(|r| r.figures).collect(), by_vehicle),
            Unit::Customer => {
                let mut owned: BTreeMap<&str, Vec<&VehicleRow>> = BTreeMap::new();
                for row in &rows {
                    if let Some(owner) = &row.owner {
                        owned.entry(owner).or_default().push(row);
                    }
                }
                let mut figures = Vec::new();
                let mut lifetime = BTreeMap::new();
                for (owner, vehicles) in owned {
                    let parts: Vec<&Figures> = vehicles.iter().map(|v| &v.figures).collect();
                    if let Some(f) = combined(owner, &parts) {
                        figures.push(f);
                    }
                    let (years, value) = vehicles
                        .iter()
                        .filter_map(|v| by_vehicle.get(&v.figures.id))
                        .fold((0.0_f64, 0), |(y, v), (ry, rv)| (y.max(*ry), v + rv));
                    lifetime.insert(owner.to_owned(), (years, value));
                }
                (figures, lifetime)
            }
        };
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
            lifetime,
            survival,
        })
    }

    /// Waits until both read models (the churn counters, the value rows)
    /// have applied the position the request asks for.
    pub(crate) async fn ready_for_value(
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
        let mut segments: BTreeMap<RfmSegment, (i64, i64, i64)> = BTreeMap::new();
        let mut classes: BTreeMap<Class, (i64, i64, i64)> = BTreeMap::new();
        let mut day_asked = None;
        let mut lifetime_total = 0;
        let mut survival_table = None;
        let mut days = Vec::with_capacity(dealers.len());
        for dealer in &dealers {
            let zone = &self.dealers.rules(dealer.as_str()).time_zone;
            days.push(as_of(body.as_of.as_ref(), zone)?);
        }
        // A group's dealers are valued a few at a time (each is one scan of
        // its own rows), and added up in the dealers' order.
        let mut valued_dealers = futures::stream::iter(dealers.iter().cloned().zip(days))
            .map(|(dealer, day)| async move { (day, self.valued(&dealer, day, unit).await) })
            .buffered(DEALERS_AT_ONCE);
        while let Some((day, valued)) = valued_dealers.next().await {
            day_asked = day_asked.or(Some(day));
            let valued = valued?;
            units += valued.figures.len() as i64;
            never += valued
                .figures
                .iter()
                .filter(|f| f.last_visit_on.is_none())
                .count() as i64;
            let value_of = |id: &str| valued.lifetime.get(id).map_or(0, |(_, v)| *v);
            for s in &valued.scored {
                let line = segments.entry(s.segment).or_default();
                line.0 += 1;
                line.1 += s.rfm.spend_per_year_fen;
                line.2 += value_of(&s.id);
            }
            for f in &valued.figures {
                let class = valued.classes.get(&f.id).copied().unwrap_or(Class::C);
                let line = classes.entry(class).or_default();
                line.0 += 1;
                line.1 += f.spend_last_year_fen;
                line.2 += value_of(&f.id);
                lifetime_total += value_of(&f.id);
            }
            survival_table.get_or_insert(valued.survival);
        }
        let serviced = units - never;
        let contribution: i64 = classes.values().map(|(_, fen, _)| fen).sum();
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
                    let (n, fen, value) = segments.get(s).copied().unwrap_or_default();
                    pb::RfmLine {
                        segment: s.as_str().to_owned(),
                        units: n,
                        spend_per_year: money(fen),
                        share: share(n, serviced),
                        lifetime_value: money(value),
                    }
                })
                .collect(),
            classes: [Class::A, Class::B, Class::C]
                .iter()
                .map(|c| {
                    let (n, fen, value) = classes.get(c).copied().unwrap_or_default();
                    pb::AbcLine {
                        class: c.as_str().to_owned(),
                        units: n,
                        contribution: money(fen),
                        share_of_units: share(n, units),
                        share_of_contribution: share(fen, contribution),
                        lifetime_value: money(value),
                    }
                })
                .collect(),
            lifetime_value: money(lifetime_total),
            survival: survival_table
                .unwrap_or_default()
                .iter()
                .map(|y| pb::SurvivalYear {
                    age: y.age,
                    customers: y.at_risk,
                    lost: y.lost,
                    stays: y.stays,
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
        let (remaining, lifetime) = valued
            .lifetime
            .get(&vehicle_id)
            .copied()
            .unwrap_or_default();
        let margin_per_year =
            (figures.margin_fen as f64 / years_on_file(figures.first_on, day)).round() as i64;
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
            margin_per_year: money(margin_per_year),
            remaining_years: remaining,
            lifetime_value: money(lifetime),
        })
    }
}
