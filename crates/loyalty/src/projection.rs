//! The club's read model: each member's card, balance and figures, every
//! ledger entry, and the customers' names from intake's events for the card.

use std::sync::Arc;

use aftercare_eventstore::{Filter, RecordedEvent};
use aftercare_proto::event_types::intake as intake_events;
use aftercare_proto::intake::v1 as intake;
use aftercare_runtime::db::{Migrations, SqlMigration, SqlValue, fetch_in, insert_rows};
use aftercare_runtime::projection::{ApplyError, Projection};
use async_trait::async_trait;
use prost::Message;
use sqlx::{AnyConnection, Row};

use crate::config::LoyaltyDealers;
use crate::domain::Source;
use crate::domain::member::Event;
use crate::events;

const SQL: &[SqlMigration] = &[
    SqlMigration {
        version: 5_000_001,
        description: "loyalty members and ledger",
        sql: include_str!("../migrations/5000001_members.sql"),
    },
    SqlMigration {
        version: 5_000_002,
        description: "loyalty partners and settlements",
        sql: include_str!("../migrations/5000002_partners.sql"),
    },
    SqlMigration {
        version: 5_000_003,
        description: "loyalty links and owners on file",
        sql: include_str!("../migrations/5000003_links_and_owners.sql"),
    },
];

/// Loyalty owns migration versions 5,000,000–5,999,999.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: SQL,
    sqlite: SQL,
};

pub const NAME: &str = "loyalty_members";

pub struct Members {
    pub dealers: Arc<LoyaltyDealers>,
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_owned())
}

pub fn source_name(source: Source) -> &'static str {
    match source {
        Source::Visit => "visit",
        Source::Referral => "referral",
        Source::Activity => "activity",
    }
}

impl Members {
    async fn apply_one(
        &self,
        tx: &mut AnyConnection,
        event: &RecordedEvent,
        pending: &mut Pending,
    ) -> Result<(), ApplyError> {
        let poison = |reason: String| ApplyError::Poison {
            position: event.position,
            reason,
        };
        let dealer = event.dealer().as_str().to_owned();
        let payload = event.data.payload.as_ref();
        match event.data.event_type.as_str() {
            intake_events::CUSTOMER_REGISTERED => {
                let e = intake::CustomerRegistered::decode(payload)
                    .map_err(|e| poison(e.to_string()))?;
                let name = e.profile.map(|p| p.name).unwrap_or_default();
                insert_rows(
                    tx,
                    "loyalty_customers",
                    &["customer_id", "dealer", "name"],
                    "ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name",
                    &[vec![
                        text(&e.customer_id),
                        text(&dealer),
                        SqlValue::Text(name),
                    ]],
                )
                .await?;
                return Ok(());
            }
            intake_events::CUSTOMER_UPDATED => {
                let e =
                    intake::CustomerUpdated::decode(payload).map_err(|e| poison(e.to_string()))?;
                let name = e.profile.map(|p| p.name).unwrap_or_default();
                sqlx::query("UPDATE loyalty_customers SET name = $1 WHERE customer_id = $2")
                    .bind(name)
                    .bind(&e.customer_id)
                    .execute(&mut *tx)
                    .await?;
                return Ok(());
            }
            intake_events::VEHICLE_REGISTERED => {
                let e = intake::VehicleRegistered::decode(payload)
                    .map_err(|e| poison(e.to_string()))?;
                return self
                    .owned(tx, event, &e.vehicle_id, &e.owner_customer_id)
                    .await;
            }
            intake_events::VEHICLE_SOLD => {
                let e = intake::VehicleSold::decode(payload).map_err(|e| poison(e.to_string()))?;
                if e.buyer_customer_id.is_empty() {
                    return Ok(());
                }
                return self
                    .owned(tx, event, &e.vehicle_id, &e.buyer_customer_id)
                    .await;
            }
            intake_events::VEHICLE_OWNERSHIP_TRANSFERRED => {
                let e = intake::VehicleOwnershipTransferred::decode(payload)
                    .map_err(|e| poison(e.to_string()))?;
                return self
                    .owned(tx, event, &e.vehicle_id, &e.to_customer_id)
                    .await;
            }
            events::MEMBER_LINKED => {
                let e = aftercare_proto::loyalty::v1::MemberLinked::decode(payload)
                    .map_err(|e| poison(e.to_string()))?;
                insert_rows(
                    tx,
                    "loyalty_links",
                    &["customer_id", "dealer", "member_id", "club"],
                    "ON CONFLICT (customer_id) DO NOTHING",
                    &[vec![
                        SqlValue::Text(e.customer_id),
                        text(&dealer),
                        SqlValue::Text(e.member_id),
                        SqlValue::Text(e.club),
                    ]],
                )
                .await?;
                return Ok(());
            }
            _ if event.stream.aggregate() == events::PARTNER => {
                return self.apply_partner(tx, event).await;
            }
            _ if event.stream.aggregate() != events::AGGREGATE => return Ok(()),
            _ => {}
        }
        let zone = &self.dealers.rules(&dealer).time_zone;
        let member = event.stream.id().to_owned();
        let position = event.position.0 as i64;
        let entry = |entry_id: &str,
                     kind: &str,
                     source: &str,
                     points: i64,
                     from_spend: bool,
                     at: jiff::Timestamp,
                     detail: &str,
                     partner: &str,
                     value: i64| {
            vec![
                text(entry_id),
                text(&member),
                text(&dealer),
                text(kind),
                text(source),
                SqlValue::Int(points),
                SqlValue::Int(i64::from(from_spend)),
                SqlValue::Int(at.as_microsecond()),
                text(detail),
                text(partner),
                SqlValue::Int(value),
            ]
        };
        let mut entries = Vec::new();
        let balance_change = match events::decode(event, zone).map_err(poison)? {
            Event::Joined {
                customer_id,
                card,
                at,
                ..
            } => {
                insert_rows(
                    tx,
                    "loyalty_members",
                    &[
                        "member_id",
                        "dealer",
                        "customer_id",
                        "card",
                        "card_reason",
                        "vip",
                        "owner",
                        "balance",
                        "referred",
                        "vehicles",
                        "joined_at",
                        "position",
                    ],
                    "ON CONFLICT (member_id) DO NOTHING",
                    &[vec![
                        text(&member),
                        text(&dealer),
                        text(&customer_id),
                        text(card.as_str()),
                        text(""),
                        SqlValue::Int(0),
                        SqlValue::Int(i64::from(card != crate::domain::Card::Prospect)),
                        SqlValue::Int(0),
                        SqlValue::Int(0),
                        text(""),
                        SqlValue::Int(at.as_microsecond()),
                        SqlValue::Int(position),
                    ]],
                )
                .await?;
                return Ok(());
            }
            Event::VehicleLinked { vehicle_id, .. } | Event::VehicleUnlinked { vehicle_id, .. } => {
                let linked = matches!(event.data.event_type.as_str(), events::VEHICLE_LINKED);
                let row = sqlx::query("SELECT vehicles FROM loyalty_members WHERE member_id = $1")
                    .bind(&member)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok(()) };
                let mut vehicles: Vec<String> = row
                    .try_get::<String, _>("vehicles")?
                    .split(',')
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect();
                vehicles.retain(|v| *v != vehicle_id);
                if linked {
                    vehicles.push(vehicle_id);
                    vehicles.sort();
                }
                sqlx::query(
                    "UPDATE loyalty_members SET vehicles = $1, owner = CASE WHEN $2 = 1 THEN 1 ELSE owner END, \
                     position = $3 WHERE member_id = $4",
                )
                .bind(vehicles.join(","))
                .bind(i64::from(linked))
                .bind(position)
                .bind(&member)
                .execute(&mut *tx)
                .await?;
                return Ok(());
            }
            Event::VipSet { .. } => {
                sqlx::query(
                    "UPDATE loyalty_members SET vip = 1, position = $1 WHERE member_id = $2",
                )
                .bind(position)
                .bind(&member)
                .execute(&mut *tx)
                .await?;
                return Ok(());
            }
            Event::ReferralCounted { .. } => {
                sqlx::query(
                    "UPDATE loyalty_members SET referred = referred + 1, position = $1 \
                     WHERE member_id = $2",
                )
                .bind(position)
                .bind(&member)
                .execute(&mut *tx)
                .await?;
                return Ok(());
            }
            Event::TierChanged { to, reason, .. } => {
                sqlx::query(
                    "UPDATE loyalty_members SET card = $1, card_reason = $2, position = $3 \
                     WHERE member_id = $4",
                )
                .bind(to.as_str())
                .bind(reason)
                .bind(position)
                .bind(&member)
                .execute(&mut *tx)
                .await?;
                return Ok(());
            }
            Event::Earned {
                entry_id,
                source,
                points,
                from_spend,
                note,
                at,
                ..
            } => {
                entries.push(entry(
                    &entry_id,
                    "earned",
                    source_name(source),
                    points,
                    from_spend,
                    at,
                    &note,
                    "",
                    0,
                ));
                points
            }
            Event::Redeemed {
                entry_id,
                points,
                item,
                partner_id,
                at,
                value_fen,
                ..
            } => {
                entries.push(entry(
                    &entry_id,
                    "redeemed",
                    "",
                    -points,
                    false,
                    at,
                    &item,
                    &partner_id,
                    value_fen,
                ));
                -points
            }
            Event::Expired {
                entry_id,
                points,
                at,
                ..
            } => {
                entries.push(entry(
                    &entry_id, "expired", "", -points, false, at, "", "", 0,
                ));
                -points
            }
            Event::Adjusted {
                entry_id,
                points,
                reason,
                at,
                ..
            } => {
                entries.push(entry(
                    &entry_id, "adjusted", "", points, false, at, &reason, "", 0,
                ));
                points
            }
        };
        // Entries are written for the whole batch at once (see `Pending`).
        for row in entries {
            pending.push(member.clone(), row, balance_change, position);
        }
        Ok(())
    }
}

/// A batch's ledger entries, written with one insert, and each member's
/// balance moved once by the sum of the entries that were new.
#[derive(Default)]
struct Pending {
    /// (member, entry row, what it does to the balance, its position)
    entries: Vec<(String, Vec<SqlValue>, i64, i64)>,
}

const ENTRY_COLUMNS: &[&str] = &[
    "entry_id",
    "member_id",
    "dealer",
    "kind",
    "source",
    "points",
    "from_spend",
    "at",
    "detail",
    "partner_id",
    "value_fen",
];

impl Pending {
    fn push(&mut self, member: String, row: Vec<SqlValue>, change: i64, position: i64) {
        self.entries.push((member, row, change, position));
    }

    fn entry_id(row: &[SqlValue]) -> String {
        match row.first() {
            Some(SqlValue::Text(id)) => id.clone(),
            _ => String::new(),
        }
    }

    async fn flush(self, tx: &mut AnyConnection) -> Result<(), sqlx::Error> {
        if self.entries.is_empty() {
            return Ok(());
        }
        // An entry already on the ledger (or twice in the batch) moves nothing.
        let ids: Vec<String> = self
            .entries
            .iter()
            .map(|(_, row, ..)| Self::entry_id(row))
            .collect();
        let mut seen: std::collections::HashSet<(String, String)> = fetch_in(
            tx,
            "SELECT member_id, entry_id FROM loyalty_entries WHERE entry_id IN",
            &ids,
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get("member_id")?, r.try_get("entry_id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let mut rows = Vec::new();
        let mut balances: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
        for (member, row, change, position) in self.entries {
            if !seen.insert((member.clone(), Self::entry_id(&row))) {
                continue;
            }
            rows.push(row);
            let b = balances.entry(member).or_default();
            b.0 += change;
            b.1 = b.1.max(position);
        }
        insert_rows(
            tx,
            "loyalty_entries",
            ENTRY_COLUMNS,
            "ON CONFLICT (member_id, entry_id) DO NOTHING",
            &rows,
        )
        .await?;
        for (member, (change, position)) in balances {
            sqlx::query(
                "UPDATE loyalty_members SET balance = balance + $1, \
                 position = CASE WHEN position < $2 THEN $2 ELSE position END \
                 WHERE member_id = $3",
            )
            .bind(change)
            .bind(position)
            .bind(member)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

impl Members {
    /// Who owns a vehicle on file now, under the club of its dealer; a vehicle
    /// passed to nobody on file leaves the owners.
    async fn owned(
        &self,
        tx: &mut AnyConnection,
        event: &RecordedEvent,
        vehicle_id: &str,
        customer_id: &str,
    ) -> Result<(), ApplyError> {
        if customer_id.is_empty() {
            sqlx::query("DELETE FROM loyalty_owned WHERE vehicle_id = $1")
                .bind(vehicle_id)
                .execute(&mut *tx)
                .await?;
            return Ok(());
        }
        let club = crate::config::club_of(&self.dealers, event.dealer());
        insert_rows(
            tx,
            "loyalty_owned",
            &["vehicle_id", "dealer", "club", "customer_id"],
            "ON CONFLICT (vehicle_id) DO UPDATE SET customer_id = excluded.customer_id",
            &[vec![
                text(vehicle_id),
                text(event.dealer().as_str()),
                SqlValue::Text(club.to_string()),
                text(customer_id),
            ]],
        )
        .await?;
        Ok(())
    }

    async fn apply_partner(
        &self,
        tx: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ApplyError> {
        use crate::domain::partner::Event as E;
        let dealer = event.dealer().as_str().to_owned();
        let partner = event.stream.id().to_owned();
        match events::decode_partner(event).map_err(|reason| ApplyError::Poison {
            position: event.position,
            reason,
        })? {
            E::Registered { name, at, .. } => {
                insert_rows(
                    tx,
                    "loyalty_partners",
                    &["dealer", "partner_id", "name", "registered_at"],
                    "ON CONFLICT (dealer, partner_id) DO NOTHING",
                    &[vec![
                        text(&dealer),
                        text(&partner),
                        SqlValue::Text(name),
                        SqlValue::Int(at.as_microsecond()),
                    ]],
                )
                .await?;
            }
            E::Settled(s) => {
                insert_rows(
                    tx,
                    "loyalty_settlements",
                    &[
                        "dealer",
                        "partner_id",
                        "month",
                        "redemptions",
                        "points",
                        "value_fen",
                        "settled_by",
                        "settled_at",
                    ],
                    "ON CONFLICT (dealer, partner_id, month) DO NOTHING",
                    &[vec![
                        text(&dealer),
                        text(&partner),
                        SqlValue::Text(s.month),
                        SqlValue::Int(s.redemptions as i64),
                        SqlValue::Int(s.points),
                        SqlValue::Int(s.value_fen),
                        SqlValue::Text(s.by),
                        SqlValue::Int(s.at.as_microsecond()),
                    ]],
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Projection for Members {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self) -> Filter {
        Filter::aggregate(events::AGGREGATE)
            .or_aggregate(events::PARTNER)
            .or_aggregate(aftercare_proto::aggregates::CUSTOMER)
            .or_aggregate(aftercare_proto::aggregates::VEHICLE)
            .or_aggregate(aftercare_proto::aggregates::MEMBER_LINK)
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "loyalty_entries",
            "loyalty_members",
            "loyalty_customers",
            "loyalty_partners",
            "loyalty_settlements",
            "loyalty_links",
            "loyalty_owned",
        ]
    }

    async fn apply(
        &self,
        tx: &mut AnyConnection,
        batch: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut pending = Pending::default();
        for event in batch {
            self.apply_one(tx, event, &mut pending).await?;
        }
        pending.flush(tx).await?;
        Ok(())
    }
}
