//! What people read of a complaint — the staff's timeline and the OEM's
//! feedback form — is written in the dealer's language setting: D001 keeps the
//! default (Chinese), D002 is set to English. What someone typed stays as typed.

use std::time::Duration;

use aftercare_proto::common::v1::{Consistency, Money, Position};
use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_server::ComplaintService;
use aftercare_runtime::Role;
use futures::StreamExt;

use crate::app::{App, Backend, customer, dealer_field, principal, request, spawn_app};

const REASON: &str = "客户情绪激动";

/// Files an OEM hotline complaint at `dealer` (grade 4), escalates it by hand, resolves it with
/// 500 yuan and closes it dissatisfied; the ticket as read after, and the OEM's
/// forms of the escalation, the resolution and the closing.
async fn lifecycle(app: &App, dealer: &str) -> (pb::ComplaintTicket, Vec<String>) {
    let customer_id = customer(
        app.store.as_ref(),
        dealer,
        &format!("0190f0a0-0000-7000-8000-0000000000{}", &dealer[2..]),
        "刘洋",
    )
    .await;
    let manager = principal(Role::CareManager, dealer);
    let filed = app
        .api
        .file_complaint(request(
            pb::FileComplaintRequest {
                dealer: dealer_field(dealer),
                channel: pb::Channel::OemHotline as i32,
                oem_ticket: format!("OEM-{dealer}-1"),
                customer_id,
                description: "异响".into(),
                ..Default::default()
            },
            &principal(Role::Oem, dealer),
        ))
        .await
        .expect("filed")
        .into_inner();
    let ticket = filed.ticket_id.clone();
    app.api
        .escalate_complaint(request(
            pb::EscalateComplaintRequest {
                dealer: dealer_field(dealer),
                ticket_id: ticket.clone(),
                reason: REASON.into(),
                complained_again: false,
            },
            &manager,
        ))
        .await
        .expect("escalated");
    app.api
        .resolve_complaint(request(
            pb::ResolveComplaintRequest {
                dealer: dealer_field(dealer),
                ticket_id: ticket.clone(),
                resolution: "更换正时链条".into(),
                compensation: Some(Money { fen: 50_000 }),
            },
            &manager,
        ))
        .await
        .expect("resolved");
    let closed = app
        .api
        .close_complaint(request(
            pb::CloseComplaintRequest {
                dealer: dealer_field(dealer),
                ticket_id: ticket.clone(),
                satisfaction: pb::Satisfaction::Dissatisfied as i32,
            },
            &manager,
        ))
        .await
        .expect("closed")
        .into_inner();
    let got = app
        .api
        .get_complaint(request(
            pb::GetComplaintRequest {
                dealer: dealer_field(dealer),
                ticket_id: ticket,
                consistency: Some(Consistency {
                    min_position: Some(Position {
                        value: closed.position.map_or(0, |p| p.value),
                    }),
                }),
            },
            &manager,
        ))
        .await
        .expect("read")
        .into_inner();
    let feed = app
        .api
        .watch_complaints(request(
            pb::WatchComplaintsRequest {
                dealers: vec![aftercare_proto::common::v1::DealerId {
                    value: dealer.into(),
                }],
                from_position: 0,
            },
            &principal(Role::Oem, dealer),
        ))
        .await
        .expect("watch")
        .into_inner();
    let forms = tokio::time::timeout(Duration::from_secs(30), feed.take(4).collect::<Vec<_>>())
        .await
        .expect("four forms in time");
    let details = forms
        .into_iter()
        .map(|f| f.expect("form").detail)
        .skip(1)
        .collect();
    (got, details)
}

fn timeline(ticket: &pb::ComplaintTicket) -> Vec<(&str, &str, &str)> {
    ticket
        .timeline
        .iter()
        .map(|e| (e.kind.as_str(), e.detail.as_str(), e.note.as_str()))
        .collect()
}

async fn each_dealer_reads_its_own_language(backend: Backend) {
    let app = spawn_app(backend).await;
    let (chinese, chinese_forms) = lifecycle(&app, "D001").await;
    assert_eq!(
        timeline(&chinese),
        [
            ("filed", "4级，由总经理处理", ""),
            ("escalated", "4级 → 5级，由总经理处理：人工升级", REASON),
            ("resolved", "补偿500.00元", "更换正时链条"),
            ("closed", "不满意", ""),
        ]
    );
    assert_eq!(
        chinese_forms,
        [
            format!("人工升级：{REASON}"),
            "更换正时链条（补偿500.00元）".to_owned(),
            "不满意".to_owned()
        ]
    );
    let (english, english_forms) = lifecycle(&app, "D002").await;
    assert_eq!(
        timeline(&english),
        [
            ("filed", "grade 4, handled by the general manager", ""),
            (
                "escalated",
                "grade 4 → 5, handled by the general manager: escalated by hand",
                REASON
            ),
            ("resolved", "compensation 500.00 yuan", "更换正时链条"),
            ("closed", "dissatisfied", ""),
        ]
    );
    assert_eq!(
        english_forms,
        [
            format!("escalated by hand: {REASON}"),
            "更换正时链条 (compensation 500.00 yuan)".to_owned(),
            "dissatisfied".to_owned()
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_dealer_reads_its_own_language_on_sqlite() {
    each_dealer_reads_its_own_language(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_dealer_reads_its_own_language_on_postgres() {
    each_dealer_reads_its_own_language(Backend::Postgres).await;
}
