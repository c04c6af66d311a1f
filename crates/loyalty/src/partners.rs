//! Partner merchants: registered by club staff, redeemed at by members, and
//! each month's statement read and settled by finance once; and the club's
//! month in figures.

use aftercare_eventstore::{DealerId, Metadata};
use aftercare_kernel::Month;
use aftercare_proto::calendar::timestamp;
use aftercare_proto::common::v1::{Money, Position, YearMonth};
use aftercare_proto::loyalty::v1 as pb;
use aftercare_runtime::command::execute;
use aftercare_runtime::projection::wait_for_consistency;
use aftercare_runtime::{Principal, Role, ServiceError, telemetry};
use jiff::Timestamp;
use sqlx::Row;

use crate::api::{CLUB_STAFF, LoyaltyApi, READERS};
use crate::domain::Card;
use crate::domain::partner::{Command, Partner, Rejection, Settlement};
use crate::events::{PartnerCodec, card_to, partner_stream};

/// Who settles with partners.
const FINANCE: &[Role] = &[Role::CareManager, Role::Manager, Role::Admin];

/// A partner id as staff type it.
pub(crate) fn partner_id(field: &str, value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty()
        || value.len() > 64
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ServiceError::invalid(
            field,
            "must be 1–64 letters, digits, '-' or '_'",
        ));
    }
    Ok(value.to_owned())
}

fn month_of(month: Option<&YearMonth>) -> Result<(Month, String), ServiceError> {
    let month = month.ok_or_else(|| ServiceError::invalid("month", "is required"))?;
    let (year, m) = aftercare_proto::calendar::year_month(month)
        .map_err(|reason| ServiceError::invalid("month", reason))?;
    Ok((
        Month::new(year, m),
        format!("{:04}-{:02}", month.year, month.month),
    ))
}

fn micros(value: i64) -> Option<prost_types::Timestamp> {
    Timestamp::from_microsecond(value).ok().map(timestamp)
}

impl LoyaltyApi {
    /// Whether the partner is registered at this dealer, from its own events
    /// (a partner registered a moment ago is known before the read model has it).
    pub(crate) async fn require_partner(
        &self,
        dealer: &DealerId,
        partner: &str,
    ) -> Result<(), ServiceError> {
        let recorded = self
            .store
            .read_stream(&partner_stream(dealer, partner)?)
            .await?;
        if recorded.events.is_empty() {
            return Err(ServiceError::NotFound(format!(
                "partner {partner} at dealer {dealer}"
            )));
        }
        Ok(())
    }

    /// The partner's name, when it is registered at this dealer.
    pub(crate) async fn partner_name(
        &self,
        dealer: &DealerId,
        partner: &str,
    ) -> Result<String, ServiceError> {
        sqlx::query_scalar(
            "SELECT name FROM loyalty_partners WHERE dealer = $1 AND partner_id = $2",
        )
        .bind(dealer.as_str())
        .bind(partner)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("partner {partner} at dealer {dealer}")))
    }

    async fn run_partner(
        &self,
        dealer: &DealerId,
        partner: &str,
        command: Command,
        principal: &Principal,
    ) -> Result<pb::PartnerCommandResponse, ServiceError> {
        let metadata = Metadata {
            actor: principal.name.clone(),
            traceparent: telemetry::current_traceparent(),
            ..Metadata::default()
        };
        let done = execute::<Partner>(
            self.store.as_ref(),
            &partner_stream(dealer, partner)?,
            &PartnerCodec,
            command,
            |e| e.with_metadata(metadata.clone()),
        )
        .await
        .map_err(|e| {
            e.into_service_error(|Rejection::NotRegistered| {
                ServiceError::NotFound(format!("partner {partner} at dealer {dealer}"))
            })
        })?;
        Ok(pb::PartnerCommandResponse {
            partner_id: partner.to_owned(),
            position: Some(Position {
                value: done.position.0,
            }),
            changed: !done.events.is_empty(),
        })
    }

    pub(crate) async fn register_partner_(
        &self,
        principal: &Principal,
        body: &pb::RegisterPartnerRequest,
    ) -> Result<pb::PartnerCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, CLUB_STAFF)?;
        // Partners, statements and figures are the club\'s.
        let dealer = self.club(&dealer);
        let partner = partner_id("partner_id", &body.partner_id)?;
        let name = body.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid("name", "must be 1–100 characters"));
        }
        let command = Command::Register {
            partner_id: partner.clone(),
            name: name.to_owned(),
            by: principal.name.clone(),
            at: Timestamp::now(),
        };
        self.run_partner(&dealer, &partner, command, principal)
            .await
    }

    pub(crate) async fn partners(
        &self,
        principal: &Principal,
        body: &pb::ListPartnersRequest,
    ) -> Result<pb::ListPartnersResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        // Partners, statements and figures are the club\'s.
        let dealer = self.club(&dealer);
        wait_for_consistency(
            self.members.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let rows = sqlx::query(
            "SELECT partner_id, name, registered_at FROM loyalty_partners WHERE dealer = $1 \
             ORDER BY partner_id LIMIT 1000",
        )
        .bind(dealer.as_str())
        .fetch_all(&self.db.pool)
        .await?;
        Ok(pb::ListPartnersResponse {
            partners: rows
                .iter()
                .map(|r| -> Result<pb::Partner, sqlx::Error> {
                    Ok(pb::Partner {
                        partner_id: r.try_get("partner_id")?,
                        name: r.try_get("name")?,
                        registered_at: micros(r.try_get("registered_at")?),
                    })
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// The month's redemptions at the partner, as the ledger has them now.
    async fn figures(
        &self,
        dealer: &DealerId,
        partner: &str,
        month: Month,
    ) -> Result<(u64, i64, i64), ServiceError> {
        let zone = &self.dealers.rules(dealer.as_str()).time_zone;
        let (from, to) = month
            .bounds_at(zone)
            .ok_or_else(|| ServiceError::invalid("month", "has no bounds at the dealer"))?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS redemptions, CAST(COALESCE(SUM(-points), 0) AS BIGINT) AS points, \
             CAST(COALESCE(SUM(value_fen), 0) AS BIGINT) AS value_fen FROM loyalty_entries \
             WHERE dealer = $1 AND partner_id = $2 AND kind = 'redeemed' AND at >= $3 AND at < $4",
        )
        .bind(dealer.as_str())
        .bind(partner)
        .bind(from.as_microsecond())
        .bind(to.as_microsecond())
        .fetch_one(&self.db.pool)
        .await?;
        Ok((
            row.try_get::<i64, _>("redemptions")? as u64,
            row.try_get::<i64, _>("points")?,
            row.try_get::<i64, _>("value_fen")?,
        ))
    }

    pub(crate) async fn statement(
        &self,
        principal: &Principal,
        body: &pb::PartnerStatementRequest,
    ) -> Result<pb::Statement, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, FINANCE)?;
        // Partners, statements and figures are the club\'s.
        let dealer = self.club(&dealer);
        let partner = partner_id("partner_id", &body.partner_id)?;
        let (month, label) = month_of(body.month.as_ref())?;
        wait_for_consistency(
            self.members.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let name = self.partner_name(&dealer, &partner).await?;
        let settled = sqlx::query(
            "SELECT redemptions, points, value_fen, settled_by, settled_at FROM loyalty_settlements \
             WHERE dealer = $1 AND partner_id = $2 AND month = $3",
        )
        .bind(dealer.as_str())
        .bind(&partner)
        .bind(&label)
        .fetch_optional(&self.db.pool)
        .await?;
        // A settled month reads as it was settled; an open one as it stands.
        let (redemptions, points, value_fen, by, at) = match &settled {
            Some(r) => (
                r.try_get::<i64, _>("redemptions")? as u64,
                r.try_get("points")?,
                r.try_get("value_fen")?,
                r.try_get("settled_by")?,
                micros(r.try_get("settled_at")?),
            ),
            None => {
                let (n, p, v) = self.figures(&dealer, &partner, month).await?;
                (n, p, v, String::new(), None)
            }
        };
        Ok(pb::Statement {
            partner_id: partner,
            name,
            month: body.month,
            redemptions,
            points,
            value: Some(Money { fen: value_fen }),
            settled: settled.is_some(),
            settled_by: by,
            settled_at: at,
        })
    }

    pub(crate) async fn settle(
        &self,
        principal: &Principal,
        body: &pb::SettleStatementRequest,
    ) -> Result<pb::PartnerCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, FINANCE)?;
        // Partners, statements and figures are the club\'s.
        let dealer = self.club(&dealer);
        let partner = partner_id("partner_id", &body.partner_id)?;
        let (month, label) = month_of(body.month.as_ref())?;
        let zone = &self.dealers.rules(dealer.as_str()).time_zone;
        if Month::of_instant(Timestamp::now(), zone).index() <= month.index() {
            return Err(ServiceError::Rejected(format!(
                "{label} is not over yet at the dealer; a month is settled once it has ended"
            )));
        }
        self.require_partner(&dealer, &partner).await?;
        let (redemptions, points, value_fen) = self.figures(&dealer, &partner, month).await?;
        let command = Command::Settle(Settlement {
            month: label,
            redemptions,
            points,
            value_fen,
            by: principal.name.clone(),
            at: Timestamp::now(),
        });
        self.run_partner(&dealer, &partner, command, principal)
            .await
    }

    pub(crate) async fn stats(
        &self,
        principal: &Principal,
        body: &pb::ClubStatsRequest,
    ) -> Result<pb::ClubStatsResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        // Partners, statements and figures are the club\'s.
        let dealer = self.club(&dealer);
        let (month, _) = month_of(body.month.as_ref())?;
        wait_for_consistency(
            self.members.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let rules = self.dealers.rules(dealer.as_str());
        let (from, to) = month
            .bounds_at(&rules.time_zone)
            .ok_or_else(|| ServiceError::invalid("month", "has no bounds at the dealer"))?;
        let (from, to) = (from.as_microsecond(), to.as_microsecond());
        let mut cards = Vec::new();
        let mut members = 0;
        for row in sqlx::query(
            "SELECT card, COUNT(*) AS n FROM loyalty_members WHERE dealer = $1 GROUP BY card",
        )
        .bind(dealer.as_str())
        .fetch_all(&self.db.pool)
        .await?
        {
            let n = row.try_get::<i64, _>("n")? as u64;
            members += n;
            if let Some(card) = Card::parse(&row.try_get::<String, _>("card")?) {
                cards.push((card, n));
            }
        }
        cards.sort();
        let joined: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM loyalty_members WHERE dealer = $1 AND joined_at >= $2 AND joined_at < $3",
        )
        .bind(dealer.as_str())
        .bind(from)
        .bind(to)
        .fetch_one(&self.db.pool)
        .await?;
        let month_row = sqlx::query(
            "SELECT COUNT(DISTINCT member_id) AS active, \
             CAST(COALESCE(SUM(CASE WHEN points > 0 THEN points ELSE 0 END), 0) AS BIGINT) AS issued, \
             CAST(COALESCE(SUM(CASE WHEN kind = 'redeemed' THEN -points ELSE 0 END), 0) AS BIGINT) \
             AS redeemed \
             FROM loyalty_entries WHERE dealer = $1 AND at >= $2 AND at < $3",
        )
        .bind(dealer.as_str())
        .bind(from)
        .bind(to)
        .fetch_one(&self.db.pool)
        .await?;
        let outstanding: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM loyalty_members WHERE dealer = $1",
        )
        .bind(dealer.as_str())
        .fetch_one(&self.db.pool)
        .await?;
        // Owner → member: the owners on file at the club's dealers, and those
        // whose file is a member (their own, or the group's they are linked to).
        let conversion = sqlx::query(
            "SELECT COUNT(*) AS owners, CAST(COALESCE(SUM(CASE WHEN \
             EXISTS (SELECT 1 FROM loyalty_members m WHERE m.dealer = o.club \
                     AND m.customer_id = o.customer_id) \
             OR EXISTS (SELECT 1 FROM loyalty_links l JOIN loyalty_members m \
                        ON m.member_id = l.member_id WHERE l.customer_id = o.customer_id) \
             THEN 1 ELSE 0 END), 0) AS BIGINT) AS joined \
             FROM (SELECT DISTINCT club, customer_id FROM loyalty_owned WHERE club = $1) o",
        )
        .bind(dealer.as_str())
        .fetch_one(&self.db.pool)
        .await?;
        Ok(pb::ClubStatsResponse {
            club: dealer.to_string(),
            owners: conversion.try_get::<i64, _>("owners")? as u64,
            owners_joined: conversion.try_get::<i64, _>("joined")? as u64,
            cards: cards
                .into_iter()
                .map(|(card, members)| pb::CardCount {
                    card: card_to(card) as i32,
                    members,
                })
                .collect(),
            members,
            joined: joined as u64,
            active: month_row.try_get::<i64, _>("active")? as u64,
            points_issued: month_row.try_get("issued")?,
            points_redeemed: month_row.try_get("redeemed")?,
            points_outstanding: outstanding,
            liability: Some(Money {
                fen: outstanding * i64::from(rules.loyalty.point_value_fen),
            }),
        })
    }
}
