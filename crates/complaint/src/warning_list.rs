//! `ListWarnings`: a dealer's early warnings, newest first, VINs masked for
//! roles without the right to see them.

use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::projection::wait_for_consistency;
use aftercare_runtime::{PersonalData, Principal, ServiceError};
use sqlx::Row;

use crate::api::{ComplaintApi, READERS};

impl ComplaintApi {
    pub(crate) async fn list_warnings(
        &self,
        principal: &Principal,
        body: &pb::ListWarningsRequest,
    ) -> Result<pb::ListWarningsResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, READERS)?;
        let personal = PersonalData::for_principal(principal);
        wait_for_consistency(
            self.warnings.as_ref(),
            body.consistency.as_ref(),
            self.read_timeout,
        )
        .await?;
        let rows = sqlx::query(
            "SELECT warning_id, cause, kind, vin, vehicle_id, visit_id, repair_order, fault_code, \
             ticket_id, grade, detail, raised_at FROM complaint_warnings WHERE dealer = $1 \
             ORDER BY raised_at DESC, warning_id LIMIT 500",
        )
        .bind(dealer.as_str())
        .fetch_all(&self.db.pool)
        .await?;
        let warnings = rows
            .iter()
            .map(|r| {
                Ok(pb::EarlyWarningRaised {
                    warning_id: r.try_get("warning_id")?,
                    cause: r.try_get("cause")?,
                    kind: r.try_get::<i64, _>("kind")? as i32,
                    vin: personal.vin(&r.try_get::<String, _>("vin")?),
                    vehicle_id: r.try_get("vehicle_id")?,
                    visit_id: r.try_get("visit_id")?,
                    repair_order: r.try_get("repair_order")?,
                    fault_code: r.try_get("fault_code")?,
                    ticket_id: r.try_get("ticket_id")?,
                    grade: r.try_get::<i64, _>("grade")? as u32,
                    detail: r.try_get("detail")?,
                    raised_at: aftercare_proto::calendar::timestamp_from_micros(
                        r.try_get("raised_at")?,
                    ),
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(pb::ListWarningsResponse { warnings })
    }
}
