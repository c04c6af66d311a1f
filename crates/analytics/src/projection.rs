//! The churn read model: per vehicle its contact history, per dealer the monthly
//! cohort and base counters. A batch loads the histories it touches with a few
//! statements, applies the events in memory, and moves the counters by the
//! difference between what the histories added before and after; every write
//! is a multi-row statement.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_runtime::config::DealersConfig;
use aftercare_runtime::db::{Migrations, SqlMigration, SqlValue, fetch_in, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

use crate::contacts::{Change, change};
use crate::domain::history::{Base, BaseKey, CohortKey, Counters, MonthContacts, VehicleHistory};
use crate::domain::status::next_due;
use crate::domain::{Month, Segment, Thresholds};

const CHURN_SQL: &[SqlMigration] = &[
    SqlMigration {
        version: 2_000_001,
        description: "analytics churn",
        sql: include_str!("../migrations/2000001_churn.sql"),
    },
    SqlMigration {
        version: 2_000_002,
        description: "analytics churn status",
        sql: include_str!("../migrations/2000002_churn_status.sql"),
    },
    SqlMigration {
        version: 2_000_003,
        description: "analytics churn replay mark",
        sql: include_str!("../migrations/2000003_replay_mark.sql"),
    },
];

/// Analytics owns migration versions 2,000,000–2,999,999.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: CHURN_SQL,
    sqlite: CHURN_SQL,
};

pub const NAME: &str = "analytics_churn";

/// Events per transaction in a rebuild (about 30 MB of events in memory).
const REPLAY_BATCH: usize = 100_000;

/// Vehicle rows read at a time when the counters are counted afresh.
const RECOUNT_PAGE: usize = 10_000;

/// Whether a rebuild is deferring the counters.
async fn replaying(tx: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let marks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_churn_replaying")
        .fetch_one(&mut *tx)
        .await?;
    Ok(marks > 0)
}

pub struct ChurnCounters {
    pub dealers: Arc<DealersConfig>,
}

impl Vehicle {
    /// A vehicle not yet on file.
    fn new(dealer: &str) -> Self {
        Vehicle {
            dealer: dealer.to_owned(),
            vin: String::new(),
            owner: String::new(),
            history: VehicleHistory::default(),
            stored: None,
            announced: None,
            changed: false,
            history_changed: false,
        }
    }
}

/// A vehicle row being changed by a batch.
struct Vehicle {
    dealer: String,
    vin: String,
    owner: String,
    history: VehicleHistory,
    /// The history as stored before this batch, when there was one.
    stored: Option<VehicleHistory>,
    /// The churn segment last announced, and the month it was announced in.
    announced: Option<(Segment, Month)>,
    /// The row changes (history, attributes or announced status).
    changed: bool,
    /// The contacts or attributes change, so the counters may move.
    history_changed: bool,
}

pub fn encode_contacts(months: &BTreeMap<Month, MonthContacts>) -> String {
    let by_index: BTreeMap<i32, &MonthContacts> =
        months.iter().map(|(m, c)| (m.index(), c)).collect();
    serde_json::to_string(&by_index).expect("contacts serialise to JSON")
}

pub fn decode_contacts(text: &str) -> Result<BTreeMap<Month, MonthContacts>, String> {
    let by_index: BTreeMap<i32, MonthContacts> =
        serde_json::from_str(text).map_err(|e| format!("stored contacts: {e}"))?;
    Ok(by_index
        .into_iter()
        .map(|(i, c)| (Month::from_index(i), c))
        .collect())
}

pub const VEHICLE_COLUMNS: &str = "vehicle_id, dealer, vin, model, purchased, owner_customer_id, \
     district, contacts, churn_status, churn_status_month";

/// The announced churn status of a row selected with [`VEHICLE_COLUMNS`].
pub fn announced(row: &sqlx::any::AnyRow) -> Result<Option<(Segment, Month)>, sqlx::Error> {
    let status: String = row.try_get("churn_status")?;
    let month: Option<i64> = row.try_get("churn_status_month")?;
    Ok(Segment::from_code(&status).zip(month.map(|m| Month::from_index(m as i32))))
}

/// Reads a vehicle row selected with [`VEHICLE_COLUMNS`].
pub fn vehicle_history(row: &sqlx::any::AnyRow) -> Result<(String, VehicleHistory), String> {
    let read = || -> Result<(String, VehicleHistory), sqlx::Error> {
        let contacts: String = row.try_get("contacts")?;
        Ok((
            row.try_get("vehicle_id")?,
            VehicleHistory {
                model: row.try_get("model")?,
                purchased: row
                    .try_get::<Option<i64>, _>("purchased")?
                    .map(|i| Month::from_index(i as i32)),
                district: row.try_get("district")?,
                months: decode_contacts(&contacts).map_err(|e| sqlx::Error::Decode(e.into()))?,
            },
        ))
    };
    read().map_err(|e| e.to_string())
}

#[async_trait]
impl Projection for ChurnCounters {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate("visit")
            .or_aggregate("vehicle")
            .or_aggregate("customer")
            .or_aggregate(crate::status_events::AGGREGATE)
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        for table in [
            "analytics_churn_cohorts",
            "analytics_churn_base",
            "analytics_vehicles",
            "analytics_customers",
            "analytics_churn_replaying",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// A rebuild rewrites each vehicle once per batch it appears in: large
    /// batches write far fewer rows per event.
    fn replay_batch_size(&self) -> Option<usize> {
        Some(REPLAY_BATCH)
    }

    /// During a rebuild the batches keep only the vehicle histories; the counters
    /// are counted once, from the histories, when the replay ends.
    async fn before_replay(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO analytics_churn_replaying (marker) VALUES (1) ON CONFLICT (marker) DO NOTHING")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// At the end of a rebuild, and when a runner starts after one was
    /// interrupted: the counters from every vehicle history, in the same
    /// transaction that removes the mark. Nothing to do otherwise.
    async fn after_replay(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        if !replaying(tx).await? {
            return Ok(());
        }
        for table in ["analytics_churn_cohorts", "analytics_churn_base"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        let mut totals: HashMap<String, Counters> = HashMap::new();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {VEHICLE_COLUMNS} FROM analytics_vehicles WHERE vehicle_id > $1 \
                 ORDER BY vehicle_id LIMIT {RECOUNT_PAGE}"
            ))
            .bind(after.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("vehicle_id")?;
            for row in &rows {
                let dealer: String = row.try_get("dealer")?;
                let (_, history) =
                    vehicle_history(row).map_err(|e| sqlx::Error::Decode(e.into()))?;
                let warranty = self.dealers.rules(&dealer).warranty_months;
                history.add_to(totals.entry(dealer).or_default(), warranty, 1);
            }
        }
        write_counters(tx, totals, true).await?;
        sqlx::query("DELETE FROM analytics_churn_replaying")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut changes = Vec::new();
        for event in batch {
            let found = change(event, &self.dealers).map_err(|reason| ApplyError::Poison {
                position: event.position,
                reason,
            })?;
            if let Some(c) = found {
                changes.push((event.dealer().as_str().to_owned(), c));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let counting = !replaying(tx).await?;
        let mut state = Batch::load(tx, &changes).await?;
        for (dealer, c) in changes {
            state.apply(&dealer, c);
        }
        state.write(tx, &self.dealers, counting).await?;
        Ok(())
    }
}

/// The customers and vehicles one batch reads and changes.
struct Batch {
    districts: HashMap<String, (String, String)>,
    changed_customers: HashSet<String>,
    vehicles: HashMap<String, Vehicle>,
}

impl Batch {
    async fn load(
        tx: &mut AnyConnection,
        changes: &[(String, Change)],
    ) -> Result<Self, sqlx::Error> {
        let mut vehicle_ids = HashSet::new();
        let mut customers = HashSet::new();
        let mut movers = Vec::new();
        for (_, c) in changes {
            if let Some(v) = c.vehicle() {
                vehicle_ids.insert(v.to_owned());
            }
            match c {
                Change::District { customer, .. } => {
                    customers.insert(customer.clone());
                    movers.push(customer.clone());
                }
                Change::Vehicle(f) => {
                    customers.insert(f.owner.clone());
                }
                Change::Visit { customer, .. } => {
                    customers.insert(customer.clone());
                }
                Change::Sale { buyer, .. } => {
                    customers.insert(buyer.clone());
                }
                Change::Status { .. } => {}
            }
        }
        customers.remove("");
        let customers: Vec<String> = customers.into_iter().collect();
        let mut districts = HashMap::new();
        for row in fetch_in(
            tx,
            "SELECT customer_id, dealer, district FROM analytics_customers WHERE customer_id IN",
            &customers,
        )
        .await?
        {
            districts.insert(
                row.try_get::<String, _>("customer_id")?,
                (row.try_get("dealer")?, row.try_get("district")?),
            );
        }
        let vehicle_ids: Vec<String> = vehicle_ids.into_iter().collect();
        let mut rows = fetch_in(
            tx,
            &format!("SELECT {VEHICLE_COLUMNS} FROM analytics_vehicles WHERE vehicle_id IN"),
            &vehicle_ids,
        )
        .await?;
        // A customer who moved takes the vehicles they own to the new district.
        rows.extend(
            fetch_in(
                tx,
                &format!(
                    "SELECT {VEHICLE_COLUMNS} FROM analytics_vehicles WHERE owner_customer_id IN"
                ),
                &movers,
            )
            .await?,
        );
        let mut vehicles = HashMap::new();
        for row in rows {
            let (id, history) = vehicle_history(&row).map_err(|e| sqlx::Error::Decode(e.into()))?;
            if vehicles.contains_key(&id) {
                continue;
            }
            vehicles.insert(
                id,
                Vehicle {
                    dealer: row.try_get("dealer")?,
                    vin: row.try_get("vin")?,
                    owner: row
                        .try_get::<Option<String>, _>("owner_customer_id")?
                        .unwrap_or_default(),
                    stored: Some(history.clone()),
                    announced: announced(&row)?,
                    history,
                    changed: false,
                    history_changed: false,
                },
            );
        }
        Ok(Batch {
            districts,
            changed_customers: HashSet::new(),
            vehicles,
        })
    }

    fn vehicle(&mut self, dealer: &str, id: &str) -> &mut Vehicle {
        let v = self
            .vehicles
            .entry(id.to_owned())
            .or_insert_with(|| Vehicle::new(dealer));
        v.changed = true;
        v.history_changed = true;
        v
    }

    fn district(&self, customer: &str) -> String {
        self.districts
            .get(customer)
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    }

    fn set_owner(&mut self, dealer: &str, vehicle: &str, owner: &str) {
        let district = self.district(owner);
        let v = self.vehicle(dealer, vehicle);
        v.owner = owner.to_owned();
        v.history.district = district;
    }

    fn apply(&mut self, dealer: &str, change: Change) {
        match change {
            Change::District { customer, district } => {
                for v in self.vehicles.values_mut().filter(|v| v.owner == customer) {
                    if v.history.district != district {
                        v.history.district = district.clone();
                        v.changed = true;
                        v.history_changed = true;
                    }
                }
                self.districts
                    .insert(customer.clone(), (dealer.to_owned(), district));
                self.changed_customers.insert(customer);
            }
            Change::Vehicle(f) => {
                let v = self.vehicle(dealer, &f.vehicle);
                if !f.vin.is_empty() {
                    v.vin = f.vin;
                }
                if !f.model.is_empty() {
                    v.history.model = f.model;
                }
                if f.purchased.is_some() {
                    v.history.purchased = f.purchased;
                }
                if !f.owner.is_empty() {
                    self.set_owner(dealer, &f.vehicle, &f.owner);
                }
            }
            Change::Visit {
                vehicle,
                vin,
                customer,
                month,
                mark,
            } => {
                let v = self.vehicle(dealer, &vehicle);
                if v.vin.is_empty() {
                    v.vin = vin;
                }
                v.history.add_visit(month, mark);
                // A vehicle first seen in the workshop belongs to whoever brought it.
                if v.owner.is_empty() && !customer.is_empty() {
                    self.set_owner(dealer, &vehicle, &customer);
                }
            }
            Change::Status {
                vehicle,
                segment,
                month,
            } => {
                let v = self
                    .vehicles
                    .entry(vehicle)
                    .or_insert_with(|| Vehicle::new(dealer));
                v.announced = Some((segment, month));
                v.changed = true;
            }
            Change::Sale {
                vehicle,
                vin,
                buyer,
                model,
                month,
            } => {
                let v = self.vehicle(dealer, &vehicle);
                if v.vin.is_empty() {
                    v.vin = vin;
                }
                if v.history.model.is_empty() {
                    v.history.model = model;
                }
                v.history.add_sale(month);
                if !buyer.is_empty() {
                    self.set_owner(dealer, &vehicle, &buyer);
                }
            }
        }
    }

    /// `counting`: move the counters too (not while a rebuild defers them).
    async fn write(
        self,
        tx: &mut AnyConnection,
        dealers: &DealersConfig,
        counting: bool,
    ) -> Result<(), sqlx::Error> {
        let customer_rows: Vec<Vec<SqlValue>> = self
            .changed_customers
            .iter()
            .filter_map(|id| {
                let (dealer, district) = self.districts.get(id)?;
                Some(vec![
                    SqlValue::Text(id.clone()),
                    SqlValue::Text(dealer.clone()),
                    SqlValue::Text(district.clone()),
                ])
            })
            .collect();
        if !customer_rows.is_empty() {
            insert_rows(
                tx,
                "analytics_customers",
                &["customer_id", "dealer", "district"],
                "ON CONFLICT (customer_id) DO UPDATE SET district = excluded.district",
                &customer_rows,
            )
            .await?;
        }
        let mut deltas: HashMap<String, Counters> = HashMap::new();
        let mut vehicle_rows = Vec::new();
        // In key order: the database appends to its index rather than inserting
        // all over it.
        let mut changed: Vec<(String, Vehicle)> = self
            .vehicles
            .into_iter()
            .filter(|(_, v)| v.changed)
            .collect();
        changed.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        for (id, v) in changed {
            let rules = dealers.rules(&v.dealer);
            if counting && v.history_changed {
                let delta = deltas.entry(v.dealer.clone()).or_default();
                if let Some(stored) = &v.stored {
                    stored.add_to(delta, rules.warranty_months, -1);
                }
                v.history.add_to(delta, rules.warranty_months, 1);
            }
            let thresholds = Thresholds {
                at_risk: rules.at_risk_months,
                churn: rules.churn_months,
            };
            let due = next_due(v.history.last_visit_month(), v.announced, thresholds);
            vehicle_rows.push(vec![
                SqlValue::Text(id),
                SqlValue::Text(v.dealer),
                SqlValue::Text(v.vin),
                SqlValue::Text(v.history.model.clone()),
                v.history
                    .purchased
                    .map_or(SqlValue::Null, |m| SqlValue::Int(i64::from(m.index()))),
                if v.owner.is_empty() {
                    SqlValue::Null
                } else {
                    SqlValue::Text(v.owner)
                },
                SqlValue::Text(v.history.district.clone()),
                SqlValue::Text(encode_contacts(&v.history.months)),
                SqlValue::Text(v.announced.map_or("", |(s, _)| s.as_str()).to_owned()),
                v.announced
                    .map_or(SqlValue::Null, |(_, m)| SqlValue::Int(i64::from(m.index()))),
                due.map_or(SqlValue::Null, |m| SqlValue::Int(i64::from(m.index()))),
            ]);
        }
        insert_rows(
            tx,
            "analytics_vehicles",
            &[
                "vehicle_id",
                "dealer",
                "vin",
                "model",
                "purchased",
                "owner_customer_id",
                "district",
                "contacts",
                "churn_status",
                "churn_status_month",
                "churn_due",
            ],
            "ON CONFLICT (vehicle_id) DO UPDATE SET vin = excluded.vin, model = excluded.model, \
             purchased = excluded.purchased, owner_customer_id = excluded.owner_customer_id, \
             district = excluded.district, contacts = excluded.contacts, \
             churn_status = excluded.churn_status, churn_status_month = excluded.churn_status_month, \
             churn_due = excluded.churn_due",
            &vehicle_rows,
        )
        .await?;
        write_counters(tx, deltas, false).await
    }
}

/// A cohort counter's primary key, in the table's column order.
fn cohort_order((dealer, k, _): &(String, CohortKey, i64)) -> (&str, &str, &str, Month, &str, i32) {
    (
        dealer,
        k.rule.code(),
        k.dimension.code(),
        k.month,
        &k.value,
        k.gap,
    )
}

/// A base counter's primary key, in the table's column order.
fn base_order((dealer, k, _): &(String, BaseKey, Base)) -> (&str, &str, Month, &str) {
    (dealer, k.dimension.code(), k.month, &k.value)
}

/// Adds the deltas to the stored counters; `fresh`: the tables are empty (a
/// recount), so the rows are plain inserts. Rows go in primary-key order, so the
/// database appends to its index instead of inserting all over it. Counters that
/// reach zero stay as rows: they sum to nothing, and deleting them would cost a
/// statement per key.
async fn write_counters(
    tx: &mut AnyConnection,
    deltas: HashMap<String, Counters>,
    fresh: bool,
) -> Result<(), sqlx::Error> {
    let mut cohort_keys = Vec::new();
    let mut base_keys = Vec::new();
    for (dealer, delta) in deltas {
        cohort_keys.extend(
            delta
                .cohorts
                .into_iter()
                .map(|(k, n)| (dealer.clone(), k, n)),
        );
        base_keys.extend(delta.base.into_iter().map(|(k, b)| (dealer.clone(), k, b)));
    }
    cohort_keys.sort_unstable_by(|a, b| cohort_order(a).cmp(&cohort_order(b)));
    base_keys.sort_unstable_by(|a, b| base_order(a).cmp(&base_order(b)));
    let cohorts: Vec<Vec<SqlValue>> = cohort_keys
        .into_iter()
        .map(|(dealer, key, n)| {
            vec![
                SqlValue::Text(dealer),
                SqlValue::Text(key.rule.code().to_owned()),
                SqlValue::Int(i64::from(key.month.index())),
                SqlValue::Text(key.dimension.code().to_owned()),
                SqlValue::Text(key.value),
                SqlValue::Int(i64::from(key.gap)),
                SqlValue::Int(n),
            ]
        })
        .collect();
    let base: Vec<Vec<SqlValue>> = base_keys
        .into_iter()
        .map(|(dealer, key, b)| {
            vec![
                SqlValue::Text(dealer),
                SqlValue::Int(i64::from(key.month.index())),
                SqlValue::Text(key.dimension.code().to_owned()),
                SqlValue::Text(key.value),
                SqlValue::Int(b.visits),
                SqlValue::Int(b.sales),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "analytics_churn_cohorts",
        &[
            "dealer",
            "rule",
            "month",
            "dimension",
            "value",
            "gap",
            "vehicles",
        ],
        if fresh {
            ""
        } else {
            "ON CONFLICT (dealer, rule, dimension, month, value, gap) \
             DO UPDATE SET vehicles = analytics_churn_cohorts.vehicles + excluded.vehicles"
        },
        &cohorts,
    )
    .await?;
    insert_rows(
        tx,
        "analytics_churn_base",
        &["dealer", "month", "dimension", "value", "visits", "sales"],
        if fresh {
            ""
        } else {
            "ON CONFLICT (dealer, dimension, month, value) DO UPDATE SET \
             visits = analytics_churn_base.visits + excluded.visits, \
             sales = analytics_churn_base.sales + excluded.sales"
        },
        &base,
    )
    .await?;
    Ok(())
}
