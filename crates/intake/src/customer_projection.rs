//! The customer file read model: profile and consents per customer, and one row
//! per phone number for search.

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_runtime::command::EventCodec;
use std::collections::HashMap;

use aftercare_runtime::db::{SqlValue, execute_in, fetch_in, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use sqlx::{AnyConnection, Row as _};

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

/// A customer row as a batch changes it.
struct Row {
    dealer: String,
    name: String,
    district: String,
    customer_type: i64,
    consents: Vec<String>,
    wrong_numbers: Vec<String>,
    position: i64,
    /// The phone numbers, when the batch replaced them: (number, kind).
    phones: Option<Vec<(String, i64)>>,
    changed: bool,
}

impl Row {
    fn profile(&mut self, profile: &Profile, position: i64) {
        self.name = profile.name.clone();
        self.district = profile.district.clone();
        self.customer_type = i64::from(customer_type(profile.customer_type));
        self.phones = Some(
            profile
                .phones
                .iter()
                .map(|p| {
                    let kind =
                        matches!(p.kind(), crate::domain::phone::PhoneKind::Landline) as i64 + 1;
                    (p.as_str().to_owned(), kind)
                })
                .collect(),
        );
        self.position = position;
        self.changed = true;
    }
}

const COLUMNS: &[&str] = &[
    "customer_id",
    "dealer",
    "name",
    "district",
    "customer_type",
    "consents",
    "wrong_numbers",
    "position",
];

#[async_trait]
impl Projection for Customers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(aftercare_proto::aggregates::CUSTOMER)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["intake_customer_phones", "intake_customers"]
    }

    /// The batch's customers are read with one statement, changed in memory in
    /// log order (an update may follow its registration in the same batch), and
    /// written back with multi-row statements.
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut decoded = Vec::with_capacity(events.len());
        for event in events {
            let e = CustomerCodec
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
                CustomerEvent::Registered { customer_id, .. }
                | CustomerEvent::Updated { customer_id, .. }
                | CustomerEvent::ConsentChanged { customer_id, .. }
                | CustomerEvent::PhoneReportedWrong { customer_id, .. } => customer_id.clone(),
            })
            .collect();
        let mut rows: HashMap<String, Row> = HashMap::new();
        for r in fetch_in(
            tx,
            "SELECT customer_id, dealer, name, district, CAST(customer_type AS BIGINT) AS customer_type, \
             consents, wrong_numbers, position FROM intake_customers WHERE customer_id IN",
            &ids,
        )
        .await?
        {
            let consents: String = r.try_get("consents")?;
            let wrong: String = r.try_get("wrong_numbers")?;
            rows.insert(
                r.try_get("customer_id")?,
                Row {
                    dealer: r.try_get("dealer")?,
                    name: r.try_get("name")?,
                    district: r.try_get("district")?,
                    customer_type: r.try_get("customer_type")?,
                    consents: consents.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
                    wrong_numbers: wrong.split(',').filter(|n| !n.is_empty()).map(str::to_owned).collect(),
                    position: r.try_get("position")?,
                    phones: None,
                    changed: false,
                },
            );
        }
        for (event, e) in decoded {
            let position = event.position.0 as i64;
            match e {
                // The first registration wins; a customer is registered once.
                CustomerEvent::Registered {
                    customer_id,
                    profile,
                    consents,
                } => {
                    if rows.contains_key(&customer_id) {
                        continue;
                    }
                    let mut row = Row {
                        dealer: event.dealer().to_string(),
                        name: String::new(),
                        district: String::new(),
                        customer_type: 0,
                        consents: consents
                            .iter()
                            .filter(|(_, granted)| *granted)
                            .map(|(c, _)| channel_name(*c).to_owned())
                            .collect(),
                        wrong_numbers: Vec::new(),
                        position,
                        phones: None,
                        changed: true,
                    };
                    row.profile(&profile, position);
                    rows.insert(customer_id, row);
                }
                CustomerEvent::Updated {
                    customer_id,
                    profile,
                } => {
                    if let Some(row) = rows.get_mut(&customer_id) {
                        row.profile(&profile, position);
                    }
                }
                CustomerEvent::ConsentChanged {
                    customer_id,
                    channel,
                    granted,
                } => {
                    if let Some(row) = rows.get_mut(&customer_id) {
                        row.consents.retain(|c| c != channel_name(channel));
                        if granted {
                            row.consents.push(channel_name(channel).to_owned());
                        }
                        row.consents.sort();
                        row.position = position;
                        row.changed = true;
                    }
                }
                CustomerEvent::PhoneReportedWrong {
                    customer_id,
                    number,
                    ..
                } => {
                    if let Some(row) = rows.get_mut(&customer_id)
                        && !row.wrong_numbers.contains(&number)
                    {
                        row.wrong_numbers.push(number);
                        row.position = position;
                        row.changed = true;
                    }
                }
            }
        }
        let mut customers = Vec::new();
        let mut replaced = Vec::new();
        let mut phones = Vec::new();
        for (id, row) in rows.into_iter().filter(|(_, r)| r.changed) {
            if let Some(list) = &row.phones {
                replaced.push(id.clone());
                for (number, kind) in list {
                    phones.push(vec![
                        SqlValue::Text(id.clone()),
                        SqlValue::Text(row.dealer.clone()),
                        SqlValue::Text(number.clone()),
                        SqlValue::Int(*kind),
                    ]);
                }
            }
            customers.push(vec![
                SqlValue::Text(id),
                SqlValue::Text(row.dealer),
                SqlValue::Text(row.name),
                SqlValue::Text(row.district),
                SqlValue::Int(row.customer_type),
                SqlValue::Text(row.consents.join(",")),
                SqlValue::Text(row.wrong_numbers.join(",")),
                SqlValue::Int(row.position),
            ]);
        }
        let updates: Vec<String> = COLUMNS[2..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        insert_rows(
            tx,
            "intake_customers",
            COLUMNS,
            &format!(
                "ON CONFLICT (customer_id) DO UPDATE SET {}",
                updates.join(", ")
            ),
            &customers,
        )
        .await?;
        execute_in(
            tx,
            "DELETE FROM intake_customer_phones WHERE customer_id IN",
            &replaced,
        )
        .await?;
        insert_rows(
            tx,
            "intake_customer_phones",
            &["customer_id", "dealer", "phone", "kind"],
            "ON CONFLICT (customer_id, phone) DO NOTHING",
            &phones,
        )
        .await?;
        Ok(())
    }
}
