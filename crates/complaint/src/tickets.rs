//! Reading tickets from the read model, always under the caller's dealer, with
//! the personal data (VIN, description, resolution) shown as the caller's role
//! allows.

use aftercare_eventstore::DealerId;
use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::paging::Page;
use aftercare_runtime::projection::wait_for_consistency;
use aftercare_runtime::{PersonalData, Principal, ServiceError};
use jiff::Timestamp;
use sqlx::Row;

use crate::api::{ComplaintApi, READERS};
use crate::domain::deadline::missed_deadline;
use crate::domain::{Grade, Status};
use crate::projection::{COLUMNS, TicketRow};

impl ComplaintApi {
    pub(crate) async fn read(
        &self,
        dealer: &DealerId,
        ticket: &str,
        personal: PersonalData,
    ) -> Result<pb::ComplaintTicket, ServiceError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM complaint_tickets WHERE ticket_id = $1 AND dealer = $2",
            COLUMNS.join(", ")
        ))
        .bind(ticket)
        .bind(dealer.as_str())
        .fetch_optional(&self.db.pool)
        .await?
        // Another dealer's ticket is simply not found.
        .ok_or_else(|| ServiceError::NotFound(format!("complaint {ticket} at dealer {dealer}")))?;
        let mut out = ticket_message(TicketRow::read(&row)?, Timestamp::now(), personal);
        let rows = sqlx::query(
            "SELECT l.at, l.kind, l.by_whom, l.detail, l.note FROM complaint_timeline l \
             JOIN complaint_tickets t ON t.ticket_id = l.ticket_id \
             WHERE l.ticket_id = $1 AND t.dealer = $2 ORDER BY l.position",
        )
        .bind(ticket)
        .bind(dealer.as_str())
        .fetch_all(&self.db.pool)
        .await?;
        for r in rows {
            // What someone typed is masked for the roles that may not read it;
            // the system's words (grades, handlers, deadlines, amounts) are not.
            let note: String = r.try_get("note")?;
            out.timeline.push(pb::TimelineEntry {
                at: micros(Some(r.try_get("at")?)),
                kind: r.try_get("kind")?,
                by: r.try_get("by_whom")?,
                detail: r.try_get("detail")?,
                note: if note.is_empty() {
                    note
                } else {
                    personal.text(&note)
                },
            });
        }
        Ok(out)
    }

    pub(crate) async fn list(
        &self,
        principal: &Principal,
        body: &pb::ListComplaintsRequest,
    ) -> Result<pb::ListComplaintsResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let page = Page::of(body.page.as_ref(), 50, 500)?;
        wait_for_consistency(
            self.tickets.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let now = Timestamp::now().as_microsecond();
        let mut sql = " FROM complaint_tickets WHERE dealer = $1".to_owned();
        let mut n = 1;
        let mut texts = Vec::new();
        if !body.status.is_empty() {
            if !["open", "in-progress", "resolved", "closed"].contains(&body.status.as_str()) {
                return Err(ServiceError::invalid(
                    "status",
                    "must be open, in-progress, resolved or closed",
                ));
            }
            n += 1;
            sql.push_str(&format!(" AND status = ${n}"));
            texts.push(body.status.clone());
        }
        if !body.owner.is_empty() {
            n += 1;
            sql.push_str(&format!(" AND owner = ${n}"));
            texts.push(body.owner.clone());
        }
        if body.grade != 0 {
            let grade = Grade::new(body.grade).ok_or_else(|| {
                ServiceError::invalid("grade", format!("{} is not 1-5", body.grade))
            })?;
            sql.push_str(&format!(" AND grade = {}", grade.value()));
        }
        if body.overdue_only {
            sql.push_str(&format!(
                " AND {}",
                crate::projection::overdue_condition(now)
            ));
        }
        let count = format!("SELECT COUNT(*){sql}");
        let select = format!(
            "SELECT {}{sql} ORDER BY filed_at DESC, ticket_id LIMIT {} OFFSET {}",
            COLUMNS.join(", "),
            page.fetch(),
            page.offset
        );
        let mut query = sqlx::query(&select).bind(dealer.as_str());
        let mut total = sqlx::query_scalar::<_, i64>(&count).bind(dealer.as_str());
        for t in &texts {
            query = query.bind(t.as_str());
            total = total.bind(t.as_str());
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        let total = total.fetch_one(&self.db.pool).await?;
        let now = Timestamp::now();
        let personal = PersonalData::for_principal(principal);
        Ok(pb::ListComplaintsResponse {
            tickets: rows
                .iter()
                .take(page.size as usize)
                .map(|r| TicketRow::read(r).map(|t| ticket_message(t, now, personal)))
                .collect::<Result<_, _>>()?,
            page: Some(page.response(rows.len(), total.max(0) as u64)),
        })
    }
}

fn micros(value: Option<i64>) -> Option<prost_types::Timestamp> {
    value.and_then(aftercare_proto::calendar::timestamp_from_micros)
}

fn ticket_message(t: TicketRow, now: Timestamp, personal: PersonalData) -> pb::ComplaintTicket {
    let at = |us: Option<i64>| us.and_then(|us| Timestamp::from_microsecond(us).ok());
    let overdue = Status::parse(&t.status)
        .and_then(|status| missed_deadline(status, at(t.respond_by), at(t.resolve_by), now))
        .is_some();
    pb::ComplaintTicket {
        ticket_id: t.ticket_id,
        dealer: t.dealer,
        channel: t.channel as i32,
        oem_ticket: t.oem_ticket,
        grade: t.grade as u32,
        handler: t.handler,
        owner: t.owner,
        assignee: t.assignee,
        status: t.status,
        customer_id: t.customer_id,
        vin: personal.vin(&t.vin),
        description: personal.text(&t.description),
        product_liability: t.product_liability,
        filed_at: micros(Some(t.filed_at)),
        respond_by: micros(t.respond_by),
        resolve_by: micros(t.resolve_by),
        overdue,
        timeline: Vec::new(),
    }
}
