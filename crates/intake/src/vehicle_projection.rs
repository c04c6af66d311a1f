//! Vehicle files (model, owner, where sold) and sales, from the vehicle streams.

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_runtime::command::EventCodec;
use std::collections::HashMap;

use aftercare_runtime::db::{SqlValue, fetch_in, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::{AnyConnection, Row};

use crate::domain::vehicle::VehicleEvent;
use crate::vehicle_events::VehicleCodec;

pub struct VehicleFiles;

pub const NAME: &str = "intake_vehicle_files";

/// The columns of a vehicle file, in the order rows are built here.
const FILE_COLUMNS: &[&str] = &[
    "vehicle_id",
    "dealer",
    "vin",
    "model",
    "owner",
    "selling_dealer",
    "purchase_date",
    "position",
    "plate",
    "insurance_expiry",
];

#[async_trait]
impl Projection for VehicleFiles {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::VEHICLE)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["intake_sales", "intake_vehicle_files"]
    }

    /// The batch's vehicle files are read with one statement and changed in
    /// memory in log order (a sale's three events arrive together and each
    /// builds on the one before); files and sales are written with multi-row
    /// statements.
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut decoded = Vec::with_capacity(events.len());
        for event in events {
            let e = VehicleCodec
                .decode(event)
                .map_err(|reason| ApplyError::Poison {
                    position: event.position,
                    reason,
                })?;
            decoded.push((event, e));
        }
        let ids: Vec<String> = decoded
            .iter()
            .map(|(_, e)| match e {
                VehicleEvent::Registered { vehicle_id, .. }
                | VehicleEvent::Sold { vehicle_id, .. }
                | VehicleEvent::Updated { vehicle_id, .. }
                | VehicleEvent::OwnershipTransferred { vehicle_id, .. } => vehicle_id.clone(),
            })
            .collect();
        let mut files: HashMap<String, (Vec<SqlValue>, bool)> = HashMap::new();
        for r in fetch_in(
            tx,
            &format!(
                "SELECT {} FROM intake_vehicle_files WHERE vehicle_id IN",
                FILE_COLUMNS.join(", ")
            ),
            &ids,
        )
        .await?
        {
            let text = |c: &str| -> Result<SqlValue, sqlx::Error> {
                Ok(r.try_get::<Option<String>, _>(c)?
                    .map_or(SqlValue::NullText, SqlValue::Text))
            };
            let row = vec![
                text("vehicle_id")?,
                text("dealer")?,
                text("vin")?,
                text("model")?,
                text("owner")?,
                text("selling_dealer")?,
                text("purchase_date")?,
                SqlValue::Int(r.try_get("position")?),
                text("plate")?,
                text("insurance_expiry")?,
            ];
            files.insert(r.try_get("vehicle_id")?, (row, false));
        }
        let opt = |v: Option<String>| v.map_or(SqlValue::NullText, SqlValue::Text);
        let mut sales = Vec::new();
        for (event, e) in decoded {
            let dealer = event.dealer().to_string();
            let position = SqlValue::Int(event.position.0 as i64);
            match e {
                // The first registration wins.
                VehicleEvent::Registered {
                    vehicle_id,
                    vin,
                    plate,
                    model,
                    owner,
                    purchase_date,
                    selling_dealer,
                    insurance_expiry,
                } => {
                    files.entry(vehicle_id.clone()).or_insert_with(|| {
                        let row = vec![
                            SqlValue::Text(vehicle_id),
                            SqlValue::Text(dealer),
                            SqlValue::Text(vin.to_string()),
                            SqlValue::Text(model),
                            opt(owner),
                            opt(selling_dealer),
                            opt(purchase_date.map(|d| d.to_string())),
                            position,
                            opt(plate),
                            opt(insurance_expiry.map(|d| d.to_string())),
                        ];
                        (row, true)
                    });
                }
                VehicleEvent::Sold {
                    vehicle_id,
                    vin,
                    sale,
                } => sales.push(vec![
                    SqlValue::Text(sale.sale_id),
                    SqlValue::Text(dealer),
                    SqlValue::Text(vehicle_id),
                    SqlValue::Text(vin.to_string()),
                    SqlValue::Text(sale.buyer),
                    SqlValue::Text(sale.consultant),
                    SqlValue::Text(sale.sold_on.to_string()),
                    SqlValue::Int(sale.price_fen),
                    opt(sale.referrer),
                    SqlValue::Text(sale.model),
                    position,
                ]),
                VehicleEvent::Updated {
                    vehicle_id,
                    plate,
                    model,
                    insurance_expiry,
                } => {
                    if let Some((row, changed)) = files.get_mut(&vehicle_id) {
                        row[3] = SqlValue::Text(model);
                        row[7] = position;
                        row[8] = opt(plate);
                        row[9] = opt(insurance_expiry.map(|d| d.to_string()));
                        *changed = true;
                    }
                }
                VehicleEvent::OwnershipTransferred { vehicle_id, to, .. } => {
                    if let Some((row, changed)) = files.get_mut(&vehicle_id) {
                        row[4] = SqlValue::Text(to);
                        row[7] = position;
                        *changed = true;
                    }
                }
            }
        }
        let rows: Vec<Vec<SqlValue>> = files
            .into_values()
            .filter(|(_, changed)| *changed)
            .map(|(row, _)| row)
            .collect();
        let updates: Vec<String> = FILE_COLUMNS[2..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        insert_rows(
            tx,
            "intake_vehicle_files",
            FILE_COLUMNS,
            &format!(
                "ON CONFLICT (vehicle_id) DO UPDATE SET {}",
                updates.join(", ")
            ),
            &rows,
        )
        .await?;
        insert_rows(
            tx,
            "intake_sales",
            &[
                "sale_id",
                "dealer",
                "vehicle_id",
                "vin",
                "buyer",
                "consultant",
                "sold_on",
                "price_fen",
                "referrer",
                "model",
                "position",
            ],
            "ON CONFLICT (sale_id) DO NOTHING",
            &sales,
        )
        .await?;
        Ok(())
    }
}
