//! One batch of the churn read model: the vehicle rows and customers it touches,
//! loaded with a few statements, changed in memory, and written back with
//! multi-row statements, moving the counters by what each history adds before
//! and after.

use std::collections::{HashMap, HashSet};

use crate::config::ChurnDealers;
use aftercare_runtime::db::{SqlValue, fetch_in, insert_rows};
use sqlx::{AnyConnection, Row};

use super::counter_rows::write_counters;
use super::{VEHICLE_COLUMNS, announced, encode_contacts, vehicle_history};
use crate::contacts::Change;
use crate::domain::history::{Counters, VehicleHistory};
use crate::domain::status::next_due;
use crate::domain::{Month, Segment, Thresholds};

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

/// The customers and vehicles one batch reads and changes.
pub(super) struct Batch {
    districts: HashMap<String, (String, String)>,
    changed_customers: HashSet<String>,
    vehicles: HashMap<String, Vehicle>,
}

impl Batch {
    pub(super) async fn load(
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

    pub(super) fn apply(&mut self, dealer: &str, change: Change) {
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
    pub(super) async fn write(
        self,
        tx: &mut AnyConnection,
        dealers: &ChurnDealers,
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
                    .map_or(SqlValue::NullInt, |m| SqlValue::Int(i64::from(m.index()))),
                SqlValue::text_or_null(v.owner),
                SqlValue::Text(v.history.district.clone()),
                SqlValue::Text(encode_contacts(&v.history.months)),
                SqlValue::Text(v.announced.map_or("", |(s, _)| s.as_str()).to_owned()),
                v.announced.map_or(SqlValue::NullInt, |(_, m)| {
                    SqlValue::Int(i64::from(m.index()))
                }),
                due.map_or(SqlValue::NullInt, |m| SqlValue::Int(i64::from(m.index()))),
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
