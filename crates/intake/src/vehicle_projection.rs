//! Vehicle files (model, owner, where sold) and sales, from the vehicle streams.

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_runtime::command::EventCodec;
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::AnyConnection;

use crate::domain::vehicle::VehicleEvent;
use crate::vehicle_events::VehicleCodec;

pub struct VehicleFiles;

pub const NAME: &str = "intake_vehicle_files";

#[async_trait]
impl Projection for VehicleFiles {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate("vehicle")
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM intake_sales")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM intake_vehicle_files")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// In order, one event at a time: a sale's three events arrive together and
    /// each builds on the one before.
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        for event in events {
            let decoded = VehicleCodec
                .decode(event)
                .map_err(|reason| ApplyError::Poison {
                    position: event.position,
                    reason,
                })?;
            let dealer = event.dealer().to_string();
            let position = event.position.0 as i64;
            match decoded {
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
                    sqlx::query(
                        "INSERT INTO intake_vehicle_files (vehicle_id, dealer, vin, model, owner, selling_dealer, \
                         purchase_date, position, plate, insurance_expiry) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (vehicle_id) DO NOTHING",
                    )
                    .bind(vehicle_id)
                    .bind(dealer)
                    .bind(vin.to_string())
                    .bind(model)
                    .bind(owner)
                    .bind(selling_dealer)
                    .bind(purchase_date.map(|d| d.to_string()))
                    .bind(position)
                    .bind(plate)
                    .bind(insurance_expiry.map(|d| d.to_string()))
                    .execute(&mut *tx)
                    .await?;
                }
                VehicleEvent::Sold {
                    vehicle_id,
                    vin,
                    sale,
                } => {
                    sqlx::query(
                        "INSERT INTO intake_sales (sale_id, dealer, vehicle_id, vin, buyer, consultant, sold_on, \
                         price_fen, referrer, model, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                         ON CONFLICT (sale_id) DO NOTHING",
                    )
                    .bind(sale.sale_id)
                    .bind(dealer)
                    .bind(vehicle_id)
                    .bind(vin.to_string())
                    .bind(sale.buyer)
                    .bind(sale.consultant)
                    .bind(sale.sold_on.to_string())
                    .bind(sale.price_fen)
                    .bind(sale.referrer)
                    .bind(sale.model)
                    .bind(position)
                    .execute(&mut *tx)
                    .await?;
                }
                VehicleEvent::Updated {
                    vehicle_id,
                    plate,
                    model,
                    insurance_expiry,
                } => {
                    sqlx::query(
                        "UPDATE intake_vehicle_files SET plate = $1, model = $2, insurance_expiry = $3, position = $4 \
                         WHERE vehicle_id = $5",
                    )
                    .bind(plate)
                    .bind(model)
                    .bind(insurance_expiry.map(|d| d.to_string()))
                    .bind(position)
                    .bind(vehicle_id)
                    .execute(&mut *tx)
                    .await?;
                }
                VehicleEvent::OwnershipTransferred { vehicle_id, to, .. } => {
                    sqlx::query("UPDATE intake_vehicle_files SET owner = $1, position = $2 WHERE vehicle_id = $3")
                        .bind(to)
                        .bind(position)
                        .bind(vehicle_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
