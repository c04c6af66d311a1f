//! The loyalty gRPC service: requests validated into member commands, decided
//! by the member aggregate, read back from the club's read model.

use std::sync::Arc;
use std::time::Duration;

use aftercare_eventstore::{DealerId, EventStore, Metadata};
use aftercare_proto::common::v1::Position;
use aftercare_proto::loyalty::v1 as pb;
use aftercare_runtime::command::CommandError;
use aftercare_runtime::projection::ProgressHandle;
use aftercare_runtime::{Database, Principal, Role, ServiceError, reference, telemetry};
use jiff::Timestamp;
use tonic::{Request, Response, Status};

use crate::config::LoyaltyDealers;
use crate::domain::member::{Command, Identity, Rejection, Terms};
use crate::domain::{Card, Source};

/// Who runs the club.
pub(crate) const CLUB_STAFF: &[Role] = &[Role::CareManager, Role::Manager];
pub const READERS: &[Role] = &[
    Role::CareManager,
    Role::Manager,
    Role::ServiceAdvisor,
    Role::CallbackAgent,
    Role::Viewer,
];

pub struct LoyaltyApi {
    pub store: Arc<dyn EventStore>,
    pub db: Database,
    pub members: Option<ProgressHandle>,
    pub dealers: Arc<LoyaltyDealers>,
    pub read_timeout: Duration,
    /// `server.allow_future_sweeps`: an `as_of` in the future, for tests only.
    pub allow_future_as_of: bool,
}

fn rejection(r: Rejection) -> ServiceError {
    match r {
        Rejection::NotMember => ServiceError::NotFound("the customer's club membership".into()),
        Rejection::NotPositive => ServiceError::invalid("points", "must be more than 0"),
        other => ServiceError::Rejected(other.to_string()),
    }
}

/// An idempotency key as clients send it.
fn key(value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty()
        || value.len() > 64
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.:".contains(c))
    {
        return Err(ServiceError::invalid(
            "key",
            "must be 1–64 letters, digits, '-', '_', '/', '.' or ':'",
        ));
    }
    Ok(value.to_owned())
}

fn text(field: &str, value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 100 {
        return Err(ServiceError::invalid(field, "must be 1–100 characters"));
    }
    Ok(value.to_owned())
}

impl LoyaltyApi {
    pub(crate) fn terms(&self, dealer: &DealerId, at: Timestamp) -> Terms {
        let rules = self.dealers.rules(dealer.as_str());
        Terms {
            at,
            today: at.to_zoned(rules.time_zone.clone()).date(),
            rules: rules.loyalty.clone(),
        }
    }

    /// The dealer that keeps `dealer`'s club.
    pub(crate) fn club(&self, dealer: &DealerId) -> DealerId {
        crate::config::club_of(&self.dealers, dealer)
    }

    /// The customer named in `field`, one of this dealer's.
    async fn customer(&self, dealer: &DealerId, id: &str) -> Result<String, ServiceError> {
        reference::require(
            self.store.as_ref(),
            dealer,
            aftercare_proto::aggregates::CUSTOMER,
            "customer_id",
            id,
        )
        .await
        .map(|u| u.to_string())
    }

    pub(crate) async fn run(
        &self,
        dealer: &DealerId,
        customer: &str,
        command: Command,
        principal: &Principal,
    ) -> Result<pb::MemberCommandResponse, ServiceError> {
        let metadata = Metadata {
            actor: principal.name.clone(),
            traceparent: telemetry::current_traceparent(),
            ..Metadata::default()
        };
        let (membership, done) = crate::owners::run(
            self.store.as_ref(),
            &self.dealers,
            dealer,
            customer,
            command,
            &metadata,
        )
        .await
        .map_err(|e: CommandError<Rejection>| e.into_service_error(rejection))?;
        Ok(pb::MemberCommandResponse {
            member_id: membership.member_id,
            position: Some(Position {
                value: done.position.0,
            }),
            changed: !done.events.is_empty(),
            balance: done.state.balance,
        })
    }

    /// The customer file; its member is found when the command runs.
    fn who(customer: &str) -> Identity {
        Identity {
            member_id: String::new(),
            customer_id: customer.to_owned(),
        }
    }
}

#[tonic::async_trait]
impl pb::loyalty_service_server::LoyaltyService for LoyaltyApi {
    async fn get_member(
        &self,
        request: Request<pb::GetMemberRequest>,
    ) -> Result<Response<pb::MemberCard>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.card(&principal, request.get_ref()).await?,
        ))
    }

    async fn list_ledger(
        &self,
        request: Request<pb::ListLedgerRequest>,
    ) -> Result<Response<pb::ListLedgerResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.ledger(&principal, request.get_ref()).await?,
        ))
    }

    async fn join_club(
        &self,
        request: Request<pb::JoinClubRequest>,
    ) -> Result<Response<pb::MemberCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, CLUB_STAFF)?;
        let customer = self.customer(&dealer, &body.customer_id).await?;
        let command = Command::Join {
            who: Self::who(&customer),
            card: Card::Prospect,
            terms: self.terms(&dealer, Timestamp::now()),
        };
        Ok(Response::new(
            self.run(&dealer, &customer, command, &principal).await?,
        ))
    }

    async fn redeem(
        &self,
        request: Request<pb::RedeemRequest>,
    ) -> Result<Response<pb::MemberCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, CLUB_STAFF)?;
        let key = key(&body.key)?;
        let item = text("item", &body.item)?;
        let value_fen = body.value.map_or(0, |m| m.fen);
        if value_fen < 0 {
            return Err(ServiceError::invalid("value", "must not be negative").into());
        }
        let partner = match body.partner_id.trim() {
            "" => String::new(),
            id => {
                // Only a partner of this dealer's club.
                let id = crate::partners::partner_id("partner_id", id)?;
                self.require_partner(&self.club(&dealer), &id).await?;
                id
            }
        };
        let customer = self.customer(&dealer, &body.customer_id).await?;
        let command = Command::Redeem {
            entry_id: format!("redeem/{key}"),
            points: body.points,
            item,
            partner_id: partner,
            key,
            by: principal.name.clone(),
            value_fen,
            terms: self.terms(&dealer, Timestamp::now()),
        };
        Ok(Response::new(
            self.run(&dealer, &customer, command, &principal).await?,
        ))
    }

    async fn adjust_points(
        &self,
        request: Request<pb::AdjustPointsRequest>,
    ) -> Result<Response<pb::MemberCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, CLUB_STAFF)?;
        let key = key(&body.key)?;
        let reason = text("reason", &body.reason)?;
        let customer = self.customer(&dealer, &body.customer_id).await?;
        let command = Command::Adjust {
            entry_id: format!("adjust/{key}"),
            points: body.points,
            reason,
            by: principal.name.clone(),
            terms: self.terms(&dealer, Timestamp::now()),
        };
        Ok(Response::new(
            self.run(&dealer, &customer, command, &principal).await?,
        ))
    }

    async fn record_activity(
        &self,
        request: Request<pb::RecordActivityRequest>,
    ) -> Result<Response<pb::MemberCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, CLUB_STAFF)?;
        let key = key(&body.key)?;
        let activity = text("activity", &body.activity)?;
        if body.points <= 0 {
            return Err(ServiceError::invalid("points", "must be more than 0").into());
        }
        let customer = self.customer(&dealer, &body.customer_id).await?;
        let command = Command::Earn {
            who: Self::who(&customer),
            entry_id: format!("activity/{key}"),
            source: Source::Activity,
            reference: key,
            points: body.points,
            from_spend: false,
            note: activity,
            terms: self.terms(&dealer, Timestamp::now()),
        };
        Ok(Response::new(
            self.run(&dealer, &customer, command, &principal).await?,
        ))
    }

    async fn set_vip(
        &self,
        request: Request<pb::SetVipRequest>,
    ) -> Result<Response<pb::MemberCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        let body = request.get_ref();
        let dealer = principal.dealer_for("dealer", &body.dealer, CLUB_STAFF)?;
        let reason = text("reason", &body.reason)?;
        let customer = self.customer(&dealer, &body.customer_id).await?;
        let command = Command::SetVip {
            reason,
            by: principal.name.clone(),
            terms: self.terms(&dealer, Timestamp::now()),
        };
        Ok(Response::new(
            self.run(&dealer, &customer, command, &principal).await?,
        ))
    }

    async fn register_partner(
        &self,
        request: Request<pb::RegisterPartnerRequest>,
    ) -> Result<Response<pb::PartnerCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.register_partner_(&principal, request.get_ref())
                .await?,
        ))
    }

    async fn list_partners(
        &self,
        request: Request<pb::ListPartnersRequest>,
    ) -> Result<Response<pb::ListPartnersResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.partners(&principal, request.get_ref()).await?,
        ))
    }

    async fn partner_statement(
        &self,
        request: Request<pb::PartnerStatementRequest>,
    ) -> Result<Response<pb::Statement>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.statement(&principal, request.get_ref()).await?,
        ))
    }

    async fn settle_statement(
        &self,
        request: Request<pb::SettleStatementRequest>,
    ) -> Result<Response<pb::PartnerCommandResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.settle(&principal, request.get_ref()).await?,
        ))
    }

    async fn club_stats(
        &self,
        request: Request<pb::ClubStatsRequest>,
    ) -> Result<Response<pb::ClubStatsResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.stats(&principal, request.get_ref()).await?,
        ))
    }

    async fn sweep_tiers(
        &self,
        request: Request<pb::SweepTiersRequest>,
    ) -> Result<Response<pb::SweepTiersResponse>, Status> {
        let principal = Principal::of(&request)?;
        Ok(Response::new(
            self.sweep(&principal, request.get_ref()).await?,
        ))
    }
}
