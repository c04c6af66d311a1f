//! Filing a complaint: the request validated into a filing, its personal data
//! sealed, the ticket opened. A ticket's id is derived from the OEM's ticket
//! number for the hotline, else from the client's request id when it sends one,
//! so a repeat (the OEM sending again, a client retrying after a timeout) is
//! answered with the ticket the first request filed instead of a second one.

use aftercare_proto::complaint::v1 as pb;
use aftercare_runtime::{ClientRequestId, Principal, ServiceError, reference};
use jiff::Timestamp;
use uuid::Uuid;

use crate::api::{ComplaintApi, FILERS};
use crate::domain::Grade;
use crate::domain::ticket::{Command, Filing};
use crate::events::channel_from;

const NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_1f0e_4d1b_4c55_9a62_3b0c_9c2e_c0a1);

/// An OEM ticket number names one ticket at a dealer, for ever.
pub fn oem_ticket_id(dealer: &str, oem_ticket: &str) -> String {
    Uuid::new_v5(
        &NAMESPACE,
        format!("complaint/{dealer}/oem/{}", oem_ticket.trim()).as_bytes(),
    )
    .simple()
    .to_string()
}

impl ComplaintApi {
    pub(crate) async fn file(
        &self,
        principal: &Principal,
        body: &pb::FileComplaintRequest,
    ) -> Result<pb::ComplaintCommandResponse, ServiceError> {
        let dealer = principal.dealer_for("dealer", &body.dealer, FILERS)?;
        let request = ClientRequestId::parse(&body.client_request_id)?;
        let channel = channel_from(body.channel)
            .ok_or_else(|| ServiceError::invalid("channel", "is required: walk-in, phone, callback, oem-hotline, consumer-association, media or group-hq"))?;
        let grade = match body.grade {
            0 => None,
            g => Some(
                Grade::new(g)
                    .ok_or_else(|| ServiceError::invalid("grade", format!("{g} is not 1-5")))?,
            ),
        };
        // The customer, when named, is one of this dealer's: read from intake's
        // events under the dealer, so another dealer's customer is not found.
        let customer = reference::require_optional(
            self.store.as_ref(),
            &dealer,
            aftercare_proto::aggregates::CUSTOMER,
            "customer_id",
            &body.customer_id,
        )
        .await?
        .map(|c| c.to_string())
        .unwrap_or_default();
        let oem_ticket = Some(body.oem_ticket.trim().to_owned()).filter(|t| !t.is_empty());
        let ticket = match (&oem_ticket, &request) {
            (Some(number), _) => oem_ticket_id(dealer.as_str(), number),
            (None, Some(request)) => request
                .aggregate_id(&dealer, crate::events::AGGREGATE)
                .simple()
                .to_string(),
            (None, None) => Uuid::now_v7().simple().to_string(),
        };
        let receiver = match body.receiver.trim() {
            "" => principal.name.clone(),
            r => r.to_owned(),
        };
        // Personal data is sealed for the ticket before it reaches the log.
        let subject = crate::events::subject(&ticket);
        let filing = Filing {
            ticket_id: ticket.clone(),
            channel,
            oem_ticket,
            grade,
            customer_id: self.seal(&subject, &customer).await?,
            vin: self.seal(&subject, &body.vin.trim().to_uppercase()).await?,
            description: self.seal(&subject, body.description.trim()).await?,
            product_liability: body.product_liability,
            receiver,
        };
        let command = Command::File {
            filing,
            at: Timestamp::now(),
            terms: self.terms(&dealer),
        };
        self.run(&dealer, &ticket, command, principal).await
    }
}
