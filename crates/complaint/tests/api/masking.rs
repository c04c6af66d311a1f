//! Every role against every personal field a complaint shows: the description,
//! the VIN and the resolution, in GetComplaint (with its timeline),
//! ListComplaints and WatchComplaints, and the VIN of an early warning. Roles
//! with the right to personal data see it as recorded, the others the masks;
//! roles that may not read complaints are refused.

use std::time::Duration;

use aftercare_proto::common::v1::{Consistency, Money, Position};
use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_server::ComplaintService;
use aftercare_runtime::Role;
use futures::StreamExt;
use tonic::Code;

use crate::app::{App, Backend, customer, principal, request, spawn_app};

const VIN: &str = "LSVAG2186E2100001";
const DESCRIPTION: &str = "发动机异响，三次未修好";
const RESOLUTION: &str = "更换正时链条，赠送保养一次";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Sees {
    AsRecorded,
    Masked,
    Refused,
}

const ROLES: [(Role, Sees); 8] = [
    (Role::Admin, Sees::AsRecorded),
    (Role::CareManager, Sees::AsRecorded),
    (Role::Manager, Sees::AsRecorded),
    (Role::ServiceAdvisor, Sees::AsRecorded),
    (Role::Oem, Sees::AsRecorded),
    (Role::Viewer, Sees::Masked),
    (Role::CallbackAgent, Sees::Refused),
    (Role::Dms, Sees::Refused),
];

/// (field, as the role was shown it), or the code the role was refused with.
async fn shown_to(
    app: &App,
    role: Role,
    ticket: &str,
    at: u64,
) -> Result<Vec<(&'static str, String)>, Code> {
    let who = principal(role, "D001");
    let consistency = Some(Consistency {
        min_position: Some(Position { value: at }),
    });
    let got = app
        .api
        .get_complaint(request(
            pb::GetComplaintRequest {
                dealer: crate::app::dealer_field("D001"),
                ticket_id: ticket.into(),
                consistency,
            },
            &who,
        ))
        .await
        .map_err(|s| s.code())?
        .into_inner();
    let listed = app
        .api
        .list_complaints(request(
            pb::ListComplaintsRequest {
                dealer: crate::app::dealer_field("D001"),
                consistency,
                ..Default::default()
            },
            &who,
        ))
        .await
        .map_err(|s| s.code())?
        .into_inner();
    let feed = app
        .api
        .watch_complaints(request(pb::WatchComplaintsRequest::default(), &who))
        .await
        .map_err(|s| s.code())?
        .into_inner();
    let forms: Vec<_> =
        tokio::time::timeout(Duration::from_secs(30), feed.take(2).collect::<Vec<_>>())
            .await
            .expect("the filing and the resolution are fed within the deadline");
    let forms: Vec<pb::ComplaintFeedback> = forms
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("feedback");
    let warnings = app
        .api
        .list_warnings(request(
            pb::ListWarningsRequest {
                dealer: crate::app::dealer_field("D001"),
                consistency: None,
            },
            &who,
        ))
        .await
        .map_err(|s| s.code())?
        .into_inner();
    let resolved = got
        .timeline
        .iter()
        .find(|e| e.kind == "resolved")
        .expect("the resolution on the timeline");
    let listed = listed.tickets.first().expect("listed");
    let change = |name: &str| {
        forms
            .iter()
            .find(|f| f.change == name)
            .map(|f| f.detail.clone())
            .unwrap_or_else(|| panic!("no {name} feedback in {forms:?}"))
    };
    Ok(vec![
        ("GetComplaint description", got.description.clone()),
        ("GetComplaint vin", got.vin.clone()),
        ("GetComplaint timeline resolution", resolved.note.clone()),
        ("ListComplaints description", listed.description.clone()),
        ("ListComplaints vin", listed.vin.clone()),
        ("WatchComplaints filed", change("filed")),
        ("WatchComplaints resolved", change("resolved")),
        (
            "ListWarnings vin",
            warnings.warnings.first().expect("a warning").vin.clone(),
        ),
    ])
}

fn expected(field: &str, sees: Sees) -> String {
    let masked = sees == Sees::Masked;
    match field {
        f if f.ends_with("vin") => if masked { "LSV**********0001" } else { VIN }.to_owned(),
        f if f.ends_with("description") || f.ends_with("filed") => if masked {
            "(hidden: 11 characters)"
        } else {
            DESCRIPTION
        }
        .to_owned(),
        // The timeline keeps what was typed apart; the OEM's form says it with
        // the compensation in yuan, in the dealer's language (D001: Chinese).
        f => {
            let resolution = if masked {
                "(hidden: 13 characters)"
            } else {
                RESOLUTION
            };
            if f.starts_with("WatchComplaints") {
                format!("{resolution}（补偿500.00元）")
            } else {
                resolution.to_owned()
            }
        }
    }
}

async fn each_role_sees_a_complaint_as_it_may(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer_id = customer(
        app.store.as_ref(),
        "D001",
        "0190f0a0-0000-7000-8000-0000000000a1",
        "刘洋",
    )
    .await;
    let filed = app
        .api
        .file_complaint(request(
            pb::FileComplaintRequest {
                dealer: crate::app::dealer_field("D001"),
                channel: pb::Channel::OemHotline as i32,
                oem_ticket: "OEM-20261126-01".into(),
                customer_id,
                vin: VIN.into(),
                description: DESCRIPTION.into(),
                ..Default::default()
            },
            &principal(Role::Oem, "D001"),
        ))
        .await
        .expect("filed")
        .into_inner();
    let resolved = app
        .api
        .resolve_complaint(request(
            pb::ResolveComplaintRequest {
                dealer: crate::app::dealer_field("D001"),
                ticket_id: filed.ticket_id.clone(),
                resolution: RESOLUTION.into(),
                compensation: Some(Money { fen: 50_000 }),
            },
            &principal(Role::CareManager, "D001"),
        ))
        .await
        .expect("resolved")
        .into_inner();
    // An early warning of the same car, as the sweep records it.
    sqlx::query(
        "INSERT INTO complaint_warnings (warning_id, cause, dealer, kind, vin, vehicle_id, visit_id, \
         repair_order, fault_code, ticket_id, grade, detail, raised_at) \
         VALUES ('w-1', 'reopened/t/1', 'D001', 3, $1, '', '', '', '', $2, 4, 'a grade 4 complaint was reopened', 0)",
    )
    .bind(VIN)
    .bind(filed.ticket_id.as_str())
    .execute(&app.db.pool)
    .await
    .expect("warning");
    let at = resolved.position.map_or(0, |p| p.value);
    let mut leaks = Vec::new();
    for (role, sees) in ROLES {
        match (shown_to(&app, role, &filed.ticket_id, at).await, sees) {
            (Err(Code::PermissionDenied), Sees::Refused) => {}
            (Err(code), _) => leaks.push(format!("{role:?}: {code:?}, expected {sees:?}")),
            (Ok(fields), Sees::Refused) => leaks.push(format!("{role:?} read {fields:?}")),
            (Ok(fields), _) => {
                for (field, shown) in fields {
                    let want = expected(field, sees);
                    if shown != want {
                        leaks.push(format!("{role:?} / {field}: {shown:?}, not {want:?}"));
                    }
                }
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_a_complaint_as_it_may_on_sqlite() {
    each_role_sees_a_complaint_as_it_may(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_a_complaint_as_it_may_on_postgres() {
    each_role_sees_a_complaint_as_it_may(Backend::Postgres).await;
}
