//! The customer file read model: profile and consents per customer, and one row
//! per phone number for search.

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_runtime::command::EventCodec;
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::AnyConnection;

use crate::customer_events::CustomerCodec;
use crate::domain::customer::{Channel, CustomerEvent, CustomerType, Profile};

pub struct Customers;

pub const NAME: &str = "intake_customers";

fn customer_type(t: CustomerType) -> i32 {
    match t {
        CustomerType::Private => 1,
        CustomerType::Corporate => 2,
        CustomerType::Government => 3,
    }
}

pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Phone => "phone",
        Channel::Sms => "sms",
        Channel::WeChat => "wechat",
    }
}

async fn write_profile(
    tx: &mut AnyConnection,
    event: &RecordedEvent,
    id: &str,
    profile: &Profile,
    consents: Option<&[(Channel, bool)]>,
) -> Result<(), sqlx::Error> {
    let dealer = event.dealer().to_string();
    match consents {
        Some(consents) => {
            let granted: Vec<_> = consents
                .iter()
                .filter(|(_, g)| *g)
                .map(|(c, _)| channel_name(*c))
                .collect();
            sqlx::query(
                "INSERT INTO intake_customers (customer_id, dealer, name, district, customer_type, consents, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (customer_id) DO NOTHING",
            )
            .bind(id)
            .bind(dealer.as_str())
            .bind(profile.name.as_str())
            .bind(profile.district.as_str())
            .bind(customer_type(profile.customer_type))
            .bind(granted.join(","))
            .bind(event.position.0 as i64)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query(
                "UPDATE intake_customers SET name = $1, district = $2, customer_type = $3, position = $4 \
                 WHERE customer_id = $5",
            )
            .bind(profile.name.as_str())
            .bind(profile.district.as_str())
            .bind(customer_type(profile.customer_type))
            .bind(event.position.0 as i64)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query("DELETE FROM intake_customer_phones WHERE customer_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for phone in &profile.phones {
        sqlx::query("INSERT INTO intake_customer_phones (customer_id, dealer, phone, kind) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(dealer.as_str())
            .bind(phone.as_str())
            .bind(matches!(phone.kind(), crate::domain::phone::PhoneKind::Landline) as i32 + 1)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl Projection for Customers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate("customer")
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM intake_customer_phones")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM intake_customers")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// One event at a time, in order: a customer's file changes rarely, and an
    /// update may follow its registration within the same batch.
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        for event in events {
            let decoded = CustomerCodec
                .decode(event)
                .map_err(|reason| ApplyError::Poison {
                    position: event.position,
                    reason,
                })?;
            match decoded {
                CustomerEvent::Registered {
                    customer_id,
                    profile,
                    consents,
                } => write_profile(tx, event, &customer_id, &profile, Some(&consents)).await?,
                CustomerEvent::Updated {
                    customer_id,
                    profile,
                } => write_profile(tx, event, &customer_id, &profile, None).await?,
                CustomerEvent::ConsentChanged {
                    customer_id,
                    channel,
                    granted,
                } => {
                    let current: Option<String> = sqlx::query_scalar(
                        "SELECT consents FROM intake_customers WHERE customer_id = $1",
                    )
                    .bind(customer_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let mut set: Vec<String> = current
                        .unwrap_or_default()
                        .split(',')
                        .filter(|c| !c.is_empty() && *c != channel_name(channel))
                        .map(str::to_owned)
                        .collect();
                    if granted {
                        set.push(channel_name(channel).to_owned());
                    }
                    set.sort();
                    sqlx::query("UPDATE intake_customers SET consents = $1, position = $2 WHERE customer_id = $3")
                        .bind(set.join(","))
                        .bind(event.position.0 as i64)
                        .bind(customer_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
