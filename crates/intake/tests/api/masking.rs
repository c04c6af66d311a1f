//! Every role against every personal field intake shows: customer names and
//! phones (GetCustomer, SearchCustomers) and lead names, phones and lost reasons
//! (ListLeads).
//! Roles with the right to personal data see it as recorded; the others see
//! the masks, and never the data.

use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_server::IntakeService;
use aftercare_runtime::Role;

use crate::app::{App, Backend, after, dealer, principal, request, spawn_app};
use crate::register_customer;

const ROLES: [(Role, bool); 8] = [
    (Role::Admin, false),
    (Role::CareManager, false),
    (Role::CallbackAgent, false),
    (Role::ServiceAdvisor, false),
    (Role::Manager, false),
    (Role::Oem, false),
    (Role::Viewer, true),
    (Role::Dms, true),
];

/// (field, as recorded, as masked, as the role was shown it)
type Shown = Vec<(&'static str, &'static str, &'static str, String)>;

async fn shown_to(app: &App, role: Role, customer: &str, at: u64) -> Shown {
    let who = principal(role, "D001");
    let consistency = after(Some(aftercare_proto::common::v1::Position { value: at }));
    let file = app
        .api
        .get_customer(request(
            pb::GetCustomerRequest {
                dealer: dealer("D001"),
                customer_id: customer.into(),
                consistency,
            },
            &who,
        ))
        .await
        .expect("get customer")
        .into_inner();
    let found = app
        .api
        .search_customers(request(
            pb::SearchCustomersRequest {
                dealer: dealer("D001"),
                query: "13812341234".into(),
                page: None,
                consistency,
            },
            &who,
        ))
        .await
        .expect("search")
        .into_inner();
    let leads = app
        .api
        .list_leads(request(
            pb::ListLeadsRequest {
                dealer: dealer("D001"),
                consistency,
                ..Default::default()
            },
            &who,
        ))
        .await
        .expect("leads")
        .into_inner();
    let searched = found.customers.first().expect("found by phone");
    let lead = leads.leads.first().expect("a lead");
    vec![
        ("GetCustomer name", "刘洋", "刘*", file.name.clone()),
        (
            "GetCustomer phone",
            "13812341234",
            "138****1234",
            file.phones[0].number.clone(),
        ),
        ("SearchCustomers name", "刘洋", "刘*", searched.name.clone()),
        (
            "SearchCustomers phone",
            "13812341234",
            "138****1234",
            searched.phones[0].number.clone(),
        ),
        ("ListLeads name", "王先生", "王**", lead.name.clone()),
        (
            "ListLeads phone",
            "18600001111",
            "186****1111",
            lead.phone.clone(),
        ),
        (
            "ListLeads lost reason",
            "王先生 bought elsewhere",
            "(hidden: 20 characters)",
            lead.lost_reason.clone(),
        ),
    ]
}

async fn each_role_sees_personal_data_as_it_may(backend: Backend) {
    let app = spawn_app(backend).await;
    let (customer, _) = register_customer(&app, "D001", "刘洋", "13812341234").await;
    let lead = app
        .api
        .capture_lead(request(
            pb::CaptureLeadRequest {
                dealer: dealer("D001"),
                source: pb::LeadSource::Web as i32,
                name: "王先生".into(),
                phone: "18600001111".into(),
                ..Default::default()
            },
            &principal(Role::CareManager, "D001"),
        ))
        .await
        .expect("captured")
        .into_inner();
    let lost = app
        .api
        .lose_lead(request(
            pb::LoseLeadRequest {
                dealer: dealer("D001"),
                lead_id: lead.lead_id.clone(),
                reason: "王先生 bought elsewhere".into(),
            },
            &principal(Role::CareManager, "D001"),
        ))
        .await
        .expect("lost")
        .into_inner();
    let at = lost.position.map_or(0, |p| p.value);
    let mut leaks = Vec::new();
    for (role, masked) in ROLES {
        for (field, recorded, mask, shown) in shown_to(&app, role, &customer, at).await {
            let expected = if masked { mask } else { recorded };
            if shown != expected {
                leaks.push(format!("{role:?} / {field}: {shown:?}, not {expected:?}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_personal_data_as_it_may_on_sqlite() {
    each_role_sees_personal_data_as_it_may(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_personal_data_as_it_may_on_postgres() {
    each_role_sees_personal_data_as_it_may(Backend::Postgres).await;
}
