//! The file part of a vehicle's history: model, owner and sales.

use aftercare_eventstore::DealerId;
use aftercare_proto::common::v1::Money;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::{Database, ServiceError};
use sqlx::Row;

use crate::domain::vin::Vin;
use crate::vehicle_events::date_to;

/// (model, owner, sales oldest first), or `None` when there is no file.
pub async fn file(
    db: &Database,
    dealer: &DealerId,
    vin: &Vin,
) -> Result<Option<(String, String, Vec<pb::VehicleSold>)>, ServiceError> {
    let Some(row) = sqlx::query(
        "SELECT vehicle_id, model, owner FROM intake_vehicle_files WHERE dealer = $1 AND vin = $2",
    )
    .bind(dealer.as_str())
    .bind(vin.as_str())
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(None);
    };
    let sales = sqlx::query(
        "SELECT sale_id, vehicle_id, buyer, consultant, sold_on, price_fen, referrer, model FROM intake_sales \
         WHERE dealer = $1 AND vin = $2 ORDER BY sold_on",
    )
    .bind(dealer.as_str())
    .bind(vin.as_str())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| -> Result<pb::VehicleSold, sqlx::Error> {
        let sold_on: String = r.try_get("sold_on")?;
        Ok(pb::VehicleSold {
            sale_id: r.try_get("sale_id")?,
            vehicle_id: r.try_get("vehicle_id")?,
            vin: vin.to_string(),
            buyer_customer_id: r.try_get("buyer")?,
            sales_consultant: r.try_get("consultant")?,
            sold_on: sold_on.parse::<jiff::civil::Date>().ok().map(date_to),
            price: Some(Money { fen: r.try_get("price_fen")? }),
            referrer_customer_id: r.try_get::<Option<String>, _>("referrer")?.unwrap_or_default(),
            model: r.try_get("model")?,
        })
    })
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((
        row.try_get("model")?,
        row.try_get::<Option<String>, _>("owner")?
            .unwrap_or_default(),
        sales,
    )))
}
