//! Leads over gRPC on JetStream + PostgreSQL: an OEM lead sent twice is one lead,
//! a web lead is due for a call within 30 minutes, and the lifecycle is enforced.

use aftercare_proto::common::v1::{Consistency, DealerId};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tonic::Code;

use crate::harness::{authorized, jetstream_stack, token};

const OEM: &str = "oem-callcenter-token-0002";
const AGENT: &str = "callback-agent-token-0002";

fn dealer() -> Option<DealerId> {
    Some(DealerId {
        value: "D001".into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_from_capture_to_outcome() {
    let stack = jetstream_stack(&format!(
        "{}{}",
        token("oem", OEM, "oem", "all"),
        token("agent", AGENT, "callback-agent", "dealer:D001"),
    ))
    .await;
    let server = &stack.server;
    let mut client = IntakeServiceClient::new(server.channel().await);
    let capture = |source: pb::LeadSource, reference: &str| pb::CaptureLeadRequest {
        dealer: dealer(),
        source: source as i32,
        name: "周先生".into(),
        phone: "139 1234 5678".into(),
        model_of_interest: "Equinox".into(),
        oem_reference: reference.into(),
        referrer_customer_id: String::new(),
        client_request_id: String::new(),
    };
    let oem = client
        .capture_lead(authorized(capture(pb::LeadSource::Oem, "OEM-88"), OEM))
        .await
        .expect("oem lead")
        .into_inner();
    let again = client
        .capture_lead(authorized(capture(pb::LeadSource::Oem, "OEM-88"), OEM))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again.lead_id, oem.lead_id);
    assert!(
        oem.changed && !again.changed,
        "the same OEM reference is one lead"
    );
    let before = jiff::Timestamp::now();
    let web = client
        .capture_lead(authorized(capture(pb::LeadSource::Web, ""), AGENT))
        .await
        .expect("web lead")
        .into_inner();

    let list = |status: pb::LeadStatus, at: Option<aftercare_proto::common::v1::Position>| {
        authorized(
            pb::ListLeadsRequest {
                dealer: dealer(),
                status: status as i32,
                source: 0,
                page: None,
                consistency: Some(Consistency { min_position: at }),
            },
            AGENT,
        )
    };
    let new = client
        .list_leads(list(pb::LeadStatus::New, web.position))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(new.leads.len(), 2);
    let web_lead = new
        .leads
        .iter()
        .find(|l| l.lead_id == web.lead_id)
        .expect("web lead listed");
    let due = web_lead
        .first_contact_due_at
        .as_ref()
        .expect("a first-contact deadline");
    let minutes = (due.seconds - before.as_second()) as f64 / 60.0;
    assert!((29.0..=31.0).contains(&minutes), "due in {minutes} minutes");
    let oem_lead = new
        .leads
        .iter()
        .find(|l| l.lead_id == oem.lead_id)
        .expect("oem lead listed");
    assert!(oem_lead.first_contact_due_at.is_none() && oem_lead.oem_report_due_at.is_some());
    assert_eq!(oem_lead.oem_reference, "OEM-88");
    assert_eq!(oem_lead.phone, "13912345678");

    let lead = |id: &str| pb::LeadRequest {
        dealer: dealer(),
        lead_id: id.into(),
    };
    client
        .verify_lead(authorized(lead(&web.lead_id), AGENT))
        .await
        .expect("verified");
    let no_reason = client
        .lose_lead(authorized(
            pb::LoseLeadRequest {
                dealer: dealer(),
                lead_id: web.lead_id.clone(),
                reason: " ".into(),
            },
            AGENT,
        ))
        .await
        .expect_err("no reason");
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    let lost = client
        .lose_lead(authorized(
            pb::LoseLeadRequest {
                dealer: dealer(),
                lead_id: web.lead_id.clone(),
                reason: "bought elsewhere".into(),
            },
            AGENT,
        ))
        .await
        .expect("lost")
        .into_inner();
    let customer = client
        .register_customer(authorized(
            pb::RegisterCustomerRequest {
                dealer: dealer(),
                profile: Some(pb::CustomerInput {
                    name: "周杰".into(),
                    phones: vec!["13912345678".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            AGENT,
        ))
        .await
        .expect("customer")
        .into_inner();
    let closed = client
        .convert_lead(authorized(
            pb::ConvertLeadRequest {
                dealer: dealer(),
                lead_id: web.lead_id.clone(),
                customer_id: customer.customer_id,
                vehicle_id: String::new(),
            },
            AGENT,
        ))
        .await
        .expect_err("closed");
    assert_eq!(closed.code(), Code::FailedPrecondition);
    let lost_list = client
        .list_leads(list(pb::LeadStatus::Lost, lost.position))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(lost_list.leads.len(), 1);
    assert_eq!(lost_list.leads[0].lost_reason, "bought elsewhere");
    let unknown = client
        .verify_lead(authorized(lead(&uuid::Uuid::now_v7().to_string()), AGENT))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);
}
