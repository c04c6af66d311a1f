//! Reading a member's card and ledger, and the tier sweep, always under the
//! caller's dealer, with the member's name masked as the caller's role allows.

use aftercare_eventstore::{DealerId, Metadata};
use aftercare_proto::calendar::timestamp;
use aftercare_proto::common::v1::Position;
use aftercare_proto::loyalty::v1 as pb;
use aftercare_runtime::paging::Page;
use aftercare_runtime::projection::wait_for_consistency;
use aftercare_runtime::{PersonalData, Principal, ServiceError};
use jiff::Timestamp;
use sqlx::Row;

use crate::api::{CLUB_STAFF, LoyaltyApi, READERS};
use crate::domain::Card;
use crate::domain::member::Command;
use crate::domain::tier::{Earned, Figures, next_card, window};
use crate::events::card_to;
use crate::membership::Membership;

fn micros(value: i64) -> Option<prost_types::Timestamp> {
    Timestamp::from_microsecond(value).ok().map(timestamp)
}

fn customer_id(value: &str) -> Result<String, ServiceError> {
    uuid::Uuid::parse_str(value.trim())
        .map(|u| u.to_string())
        .map_err(|_| ServiceError::invalid("customer_id", "is not a customer id"))
}

impl LoyaltyApi {
    /// The member a customer file of `dealer` is, if any.
    async fn membership(
        &self,
        dealer: &DealerId,
        customer: &str,
    ) -> Result<Option<Membership>, ServiceError> {
        Ok(crate::membership::find(self.store.as_ref(), &self.dealers, dealer, customer).await?)
    }

    pub(crate) async fn card(
        &self,
        principal: &Principal,
        body: &pb::GetMemberRequest,
    ) -> Result<pb::MemberCard, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let customer = customer_id(&body.customer_id)?;
        wait_for_consistency(
            self.members.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let not_found =
            || ServiceError::NotFound(format!("club member {customer} at dealer {dealer}"));
        let membership = self
            .membership(&dealer, &customer)
            .await?
            .ok_or_else(not_found)?;
        let row = sqlx::query(
            "SELECT m.member_id, m.card, m.vip, m.owner, m.balance, m.referred, m.vehicles, \
             m.joined_at, COALESCE(c.name, '') AS name FROM loyalty_members m \
             LEFT JOIN loyalty_customers c ON c.customer_id = $3 AND c.dealer = $4 \
             WHERE m.member_id = $1 AND m.dealer = $2",
        )
        .bind(&membership.member_id)
        .bind(membership.club.as_str())
        .bind(&customer)
        .bind(dealer.as_str())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(not_found)?;
        let member: String = row.try_get("member_id")?;
        let rules = self.dealers.rules(dealer.as_str());
        let today = Timestamp::now().to_zoned(rules.time_zone.clone()).date();
        let earned = sqlx::query(
            "SELECT points, from_spend, at FROM loyalty_entries \
             WHERE member_id = $1 AND kind = 'earned' AND at >= $2",
        )
        .bind(&member)
        .bind(
            today
                .checked_sub(jiff::Span::new().months(i64::from(rules.loyalty.window_months) + 1))
                .ok()
                .and_then(|d| d.to_zoned(rules.time_zone.clone()).ok())
                .map_or(0, |z| z.timestamp().as_microsecond()),
        )
        .fetch_all(&self.db.pool)
        .await?
        .iter()
        .map(|r| -> Result<Earned, sqlx::Error> {
            let at: i64 = r.try_get("at")?;
            Ok(Earned {
                on: Timestamp::from_microsecond(at)
                    .unwrap_or(Timestamp::UNIX_EPOCH)
                    .to_zoned(rules.time_zone.clone())
                    .date(),
                points: r.try_get("points")?,
                from_spend: r.try_get::<i64, _>("from_spend")? != 0,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
        let vehicles: String = row.try_get("vehicles")?;
        let figures = Figures {
            owner: row.try_get::<i64, _>("owner")? != 0,
            vip: row.try_get::<i64, _>("vip")? != 0,
            vehicles: vehicles.split(',').filter(|v| !v.is_empty()).count() as u32,
            referred: row.try_get::<i64, _>("referred")? as u32,
            earned,
        };
        let (points, spend) = window(&figures.earned, today, &rules.loyalty);
        let card = Card::parse(&row.try_get::<String, _>("card")?).unwrap_or(Card::Prospect);
        let name: String = row.try_get("name")?;
        let personal = PersonalData::for_principal(principal);
        Ok(pb::MemberCard {
            member_id: member,
            customer_id: customer,
            name: if name.is_empty() {
                name
            } else {
                personal.name(&name)
            },
            card: card_to(card) as i32,
            vip: figures.vip,
            balance: row.try_get("balance")?,
            window_points: points,
            window_spend_points: spend,
            referred_buyers: figures.referred,
            vehicles: figures.vehicles,
            next_card: next_card(&figures, today, &rules.loyalty, rules.language)
                .unwrap_or_default(),
            joined_at: micros(row.try_get("joined_at")?),
        })
    }

    pub(crate) async fn ledger(
        &self,
        principal: &Principal,
        body: &pb::ListLedgerRequest,
    ) -> Result<pb::ListLedgerResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let customer = customer_id(&body.customer_id)?;
        let page = Page::of(body.page.as_ref(), 50, 500)?;
        wait_for_consistency(
            self.members.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let Some(membership) = self.membership(&dealer, &customer).await? else {
            return Ok(pb::ListLedgerResponse {
                entries: Vec::new(),
                page: Some(page.response(0, 0)),
            });
        };
        let (member, club) = (membership.member_id, membership.club);
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM loyalty_entries WHERE member_id = $1 AND dealer = $2",
        )
        .bind(&member)
        .bind(club.as_str())
        .fetch_one(&self.db.pool)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT entry_id, at, kind, source, points, detail, partner_id FROM loyalty_entries \
             WHERE member_id = $1 AND dealer = $2 ORDER BY at DESC, entry_id LIMIT {} OFFSET {}",
            page.fetch(),
            page.offset
        ))
        .bind(&member)
        .bind(club.as_str())
        .fetch_all(&self.db.pool)
        .await?;
        let found = rows.len();
        let entries = rows
            .iter()
            .take(page.size as usize)
            .map(|r| -> Result<pb::LedgerEntry, sqlx::Error> {
                let source: String = r.try_get("source")?;
                Ok(pb::LedgerEntry {
                    entry_id: r.try_get("entry_id")?,
                    at: micros(r.try_get("at")?),
                    kind: r.try_get("kind")?,
                    source: match source.as_str() {
                        "visit" => pb::PointsSource::Visit,
                        "referral" => pb::PointsSource::Referral,
                        "activity" => pb::PointsSource::Activity,
                        _ => pb::PointsSource::Unspecified,
                    } as i32,
                    points: r.try_get("points")?,
                    detail: r.try_get("detail")?,
                    partner_id: r.try_get("partner_id")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pb::ListLedgerResponse {
            entries,
            page: Some(page.response(found, total as u64)),
        })
    }

    /// Every member of the dealer re-decided as of `as_of`.
    pub(crate) async fn sweep(
        &self,
        principal: &Principal,
        body: &pb::SweepTiersRequest,
    ) -> Result<pb::SweepTiersResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, CLUB_STAFF)?;
        let as_of = match &body.as_of {
            Some(v) if self.allow_future_as_of => aftercare_proto::calendar::instant(v)
                .map_err(|reason| ServiceError::invalid("as_of", reason))?,
            Some(v) => {
                let at = aftercare_proto::calendar::instant(v)
                    .map_err(|reason| ServiceError::invalid("as_of", reason))?;
                if at > Timestamp::now() + jiff::SignedDuration::from_mins(5) {
                    return Err(ServiceError::invalid("as_of", "is in the future"));
                }
                at
            }
            None => Timestamp::now(),
        };
        wait_for_consistency(
            self.members.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let swept = sweep(self.store.as_ref(), &self.db, &self.dealers, &dealer, as_of).await?;
        Ok(pb::SweepTiersResponse {
            changed: swept.0,
            position: Some(Position { value: swept.1 }),
        })
    }
}

/// Re-decides every member of `dealer`'s club as of `as_of`: (cards
/// changed, last position).
pub async fn sweep(
    store: &dyn aftercare_eventstore::EventStore,
    db: &aftercare_runtime::Database,
    dealers: &crate::config::LoyaltyDealers,
    dealer: &DealerId,
    as_of: Timestamp,
) -> Result<(u64, u64), ServiceError> {
    let club = crate::config::club_of(dealers, dealer);
    let members: Vec<String> =
        sqlx::query_scalar("SELECT member_id FROM loyalty_members WHERE dealer = $1")
            .bind(club.as_str())
            .fetch_all(&db.pool)
            .await?;
    let metadata = Metadata {
        actor: "system:loyalty-sweep".to_owned(),
        ..Metadata::default()
    };
    let rules = dealers.rules(club.as_str());
    let terms = crate::domain::member::Terms {
        at: as_of,
        today: as_of.to_zoned(rules.time_zone.clone()).date(),
        rules: rules.loyalty.clone(),
    };
    let (mut changed, mut last) = (0, 0);
    for member_id in members {
        let membership = Membership {
            club: club.clone(),
            member_id,
        };
        let done = crate::owners::run_member(
            store,
            dealers,
            &membership,
            Command::Reevaluate {
                terms: terms.clone(),
            },
            &metadata,
        )
        .await
        .map_err(|e| e.into_service_error(|r| ServiceError::Rejected(r.to_string())))?;
        if !done.events.is_empty() {
            changed += 1;
            last = last.max(done.position.0);
        }
    }
    Ok((changed, last))
}

/// Sweeps every dealer with members once a day, until `stop`.
pub async fn run(
    store: std::sync::Arc<dyn aftercare_eventstore::EventStore>,
    db: aftercare_runtime::Database,
    dealers: std::sync::Arc<crate::config::LoyaltyDealers>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let known: Result<Vec<String>, sqlx::Error> =
            sqlx::query_scalar("SELECT DISTINCT dealer FROM loyalty_members")
                .fetch_all(&db.pool)
                .await;
        match known {
            Ok(ids) => {
                for id in ids {
                    let Ok(dealer) = DealerId::parse(&id) else {
                        continue;
                    };
                    match sweep(store.as_ref(), &db, &dealers, &dealer, Timestamp::now()).await {
                        Ok((changed, _)) if changed > 0 => {
                            tracing::info!(dealer = %dealer, changed, "club cards re-decided")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(dealer = %dealer, error = %e, "club sweep failed; retried tomorrow")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "club sweep cannot read the dealers"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(86_400)) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}
