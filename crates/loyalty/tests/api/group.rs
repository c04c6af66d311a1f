//! A group-wide club: D001 keeps it, D002 belongs to it, D003 keeps its own.
//! The same person (the same mobile number) at D001 and D002 is one member:
//! their second vehicle, bought at the other dealer, makes them gold; points
//! earned at D002 (at D002's rates) are redeemable at D001; two dealers
//! linking the person at once still make one member. A dealer outside the
//! group, or a customer file of another dealer, finds nothing.

use aftercare_proto::common::v1::Money;
use aftercare_proto::loyalty::v1 as pb;
use aftercare_proto::loyalty::v1::loyalty_service_server::LoyaltyService;
use aftercare_runtime::{Principal, Role};
use jiff::{SignedDuration, Timestamp};
use tonic::Code;

use crate::app::{
    App, Backend, after, customer, dealer, person, request, sale_at, spawn_app_with, vin, visit_at,
};

const GROUP: &str = "[dealers.D001.loyalty]\nclub = \"D001\"\n\
                     [dealers.D002.loyalty]\nclub = \"D001\"\nlabour_points_per_yuan = 2\n\
                     [dealers.D003]\ntime_zone = \"Asia/Shanghai\"\n";

fn staff(at: &str) -> Principal {
    person("经理", Role::CareManager, at)
}

async fn sale(app: &App, at: &str, serial: u32, buyer: &str) -> u64 {
    sale_at(app, at, vin(81, serial), buyer, "").await
}

async fn card(app: &App, at: &str, customer_id: &str) -> Result<pb::MemberCard, tonic::Status> {
    let settled = app.settled().await;
    app.api
        .get_member(request(
            pb::GetMemberRequest {
                dealer: dealer(at),
                customer_id: customer_id.into(),
                consistency: after(settled),
            },
            &staff(at),
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn group_wide_club(backend: Backend) {
    let app = spawn_app_with(backend, GROUP).await;
    let (zhou_1, _) = customer(&app, "D001", "周强", "13912345678", true).await;
    let (zhou_2, _) = customer(&app, "D002", "周强", "13912345678", true).await;
    let (zheng, _) = customer(&app, "D002", "郑华", "13987654321", true).await;
    sale(&app, "D001", 1, &zhou_1).await;
    let first = card(&app, "D001", &zhou_1).await.expect("member");
    assert_eq!(
        (first.card, first.vehicles),
        (pb::Card::Green as i32, 1),
        "{first:?}"
    );

    // The same person buys at D002: one member, two vehicles, gold.
    sale(&app, "D002", 2, &zhou_2).await;
    sale(&app, "D002", 3, &zheng).await;
    let at_d002 = card(&app, "D002", &zhou_2).await.expect("member");
    assert_eq!(at_d002.member_id, first.member_id);
    assert_eq!(
        (at_d002.card, at_d002.vehicles, at_d002.customer_id.as_str()),
        (pb::Card::Gold as i32, 2, zhou_2.as_str()),
        "{at_d002:?}"
    );
    let at_d001 = card(&app, "D001", &zhou_1).await.expect("member");
    assert_eq!(
        (at_d001.member_id, at_d001.card),
        (first.member_id.clone(), pb::Card::Gold as i32)
    );
    let other = card(&app, "D002", &zheng).await.expect("member");
    assert_ne!(
        other.member_id, first.member_id,
        "another number, another member"
    );

    // Points earned at D002, at D002's rate (2 a yuan of labour) …
    let closed = Timestamp::now() - SignedDuration::from_hours(3);
    visit_at(
        &app,
        "D002",
        "RO-D2-1",
        vin(81, 2),
        &zhou_2,
        closed,
        (30_000, 20_000),
    )
    .await;
    let earned = card(&app, "D001", &zhou_1).await.expect("member");
    assert_eq!(
        earned.balance, 800,
        "300 yuan labour × 2 + 200 yuan parts × 1"
    );

    // … redeemed at D001, and the ledger reads the same from both dealers.
    let redeemed = app
        .api
        .redeem(request(
            pb::RedeemRequest {
                dealer: dealer("D001"),
                customer_id: zhou_1.clone(),
                points: 500,
                item: "机油滤芯".into(),
                partner_id: String::new(),
                key: "group-1".into(),
                value: Some(Money { fen: 5_000 }),
            },
            &staff("D001"),
        ))
        .await
        .expect("redeemed")
        .into_inner();
    assert_eq!(
        (redeemed.member_id.as_str(), redeemed.balance),
        (first.member_id.as_str(), 300)
    );
    let ledger = |at: &'static str, customer_id: String| {
        let app = &app;
        async move {
            app.api
                .list_ledger(request(
                    pb::ListLedgerRequest {
                        dealer: dealer(at),
                        customer_id,
                        page: None,
                        consistency: after(app.settled().await),
                    },
                    &staff(at),
                ))
                .await
                .expect("ledger")
                .into_inner()
                .entries
                .into_iter()
                .map(|e| (e.kind, e.points))
                .collect::<Vec<_>>()
        }
    };
    let seen_at_d002 = ledger("D002", zhou_2.clone()).await;
    assert_eq!(seen_at_d002, ledger("D001", zhou_1.clone()).await);
    assert_eq!(
        seen_at_d002.iter().map(|(_, p)| p).sum::<i64>(),
        300,
        "{seen_at_d002:?}"
    );

    // Outside the group, or another dealer's customer file: nothing.
    let outside = card(&app, "D003", &zhou_1).await.expect_err("not D003's");
    assert_eq!(outside.code(), Code::NotFound);
    let foreign = card(&app, "D002", &zhou_1).await.expect_err("a D001 file");
    assert_eq!(foreign.code(), Code::NotFound);

    // Two dealers link the same new person at once: one member.
    let (wang_1, _) = customer(&app, "D001", "王芳", "13711112222", true).await;
    let (wang_2, _) = customer(&app, "D002", "王芳", "13711112222", true).await;
    let join = |at: &'static str, customer_id: String| {
        app.api.join_club(request(
            pb::JoinClubRequest {
                dealer: dealer(at),
                customer_id,
            },
            &staff(at),
        ))
    };
    let (a, b) = tokio::join!(join("D001", wang_1.clone()), join("D002", wang_2.clone()));
    let (a, b) = (
        a.expect("joined").into_inner(),
        b.expect("joined").into_inner(),
    );
    assert_eq!(a.member_id, b.member_id);
    assert_eq!(
        [a.changed, b.changed].iter().filter(|c| **c).count(),
        1,
        "one of them joined, the other found the member"
    );

    // The club's figures are the group's, asked at either dealer.
    let settled = app.settled().await;
    let stats = app
        .api
        .club_stats(request(
            pb::ClubStatsRequest {
                dealer: dealer("D002"),
                month: Some(crate::club::this_month(0)),
                consistency: after(settled),
            },
            &staff("D002"),
        ))
        .await
        .expect("stats")
        .into_inner();
    assert_eq!(stats.club, "D001");
    assert_eq!(stats.members, 3, "周强, 郑华 and 王芳");
    assert_eq!(
        (stats.owners, stats.owners_joined),
        (3, 3),
        "three owner files, all members"
    );
    assert_eq!((stats.points_issued, stats.points_redeemed), (800, 500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_wide_club_on_sqlite() {
    group_wide_club(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_wide_club_on_postgres() {
    group_wide_club(Backend::Postgres).await;
}
