//! `ComplaintRate`: a month's complaints per service visit at a dealer, against
//! its target. The month is the dealer's calendar month; the rule is
//! `domain::warning::complaint_rate`.

use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::projection::wait_for_consistency;
use aftercare_runtime::{Principal, ServiceError};

use crate::api::{ComplaintApi, READERS};
use crate::domain::warning::complaint_rate;

impl ComplaintApi {
    pub(crate) async fn complaint_rate(
        &self,
        principal: &Principal,
        body: &pb::ComplaintRateRequest,
    ) -> Result<pb::ComplaintRateResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let month = body
            .month
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("month", "is required"))?;
        let (year, m) = aftercare_proto::calendar::year_month(month)
            .map_err(|e| ServiceError::invalid("month", e))?;
        let rules = self.dealers.rules(dealer.as_str());
        let (start, end) = aftercare_kernel::Month::new(year, m)
            .bounds_at(&rules.time_zone)
            .ok_or_else(|| ServiceError::invalid("month", "has no bounds at the dealer"))?;
        for handle in [&self.tickets, &self.workshop] {
            wait_for_consistency(
                handle.as_ref(),
                body.consistency.as_ref(),
                self.read_timeout,
            )
            .await?;
        }
        let count = |sql: &'static str| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(dealer.as_str())
                .bind(start.as_microsecond())
                .bind(end.as_microsecond())
                .fetch_one(&self.db.pool)
        };
        let complaints = count(
            "SELECT COUNT(*) FROM complaint_tickets WHERE dealer = $1 AND filed_at >= $2 AND filed_at < $3",
        )
        .await? as u64;
        let visits = count(
            "SELECT COUNT(*) FROM complaint_repair_orders WHERE dealer = $1 AND closed_at >= $2 AND closed_at < $3",
        )
        .await? as u64;
        let rate = complaint_rate(complaints, visits, rules.complaint.target_rate_basis_points);
        Ok(pb::ComplaintRateResponse {
            complaints: rate.complaints,
            visits: rate.visits,
            rate: rate.rate,
            target: rate.target,
            met: rate.met,
        })
    }
}
