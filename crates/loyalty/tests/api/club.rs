//! The club from intake's facts: buyers join green with their vehicle, the
//! third referred buyer gives the referrer a star, a second vehicle gives gold,
//! visits earn points at the dealer's rates; redemptions never overdraw, also
//! when two race, and a retried redemption redeems once; gold by points is lost
//! when the points leave the window, where the dealer downgrades. Another
//! dealer's member is not found.

use aftercare_proto::common::v1::Money;
use aftercare_proto::loyalty::v1 as pb;
use aftercare_proto::loyalty::v1::loyalty_service_server::LoyaltyService;
use aftercare_runtime::Role;
use jiff::{SignedDuration, Timestamp};
use tonic::Code;

use crate::app::{
    App, Backend, after, customer, dealer, person, request, sale_at, spawn_app_with, vin, visit_at,
};

fn staff() -> aftercare_runtime::Principal {
    person("经理", Role::CareManager, "D001")
}

async fn sale(app: &App, serial: u32, buyer: &str, referrer: &str) -> u64 {
    sale_at(app, "D001", vin(71, serial), buyer, referrer).await
}

async fn visit(
    app: &App,
    order: &str,
    serial: u32,
    owner: &str,
    closed: Timestamp,
    labour: i64,
    parts: i64,
) -> u64 {
    visit_at(
        app,
        "D001",
        order,
        vin(71, serial),
        owner,
        closed,
        (labour, parts),
    )
    .await
}

/// The member's card once every projection and policy has applied the log
/// (the club's policy reacts to intake's events behind them); `expected`
/// is what it must show.
async fn card(
    app: &App,
    customer_id: &str,
    position: u64,
    expected: impl Fn(&pb::MemberCard) -> bool,
) -> pb::MemberCard {
    let settled = app.settled().await.max(position);
    let card = app
        .api
        .get_member(request(
            pb::GetMemberRequest {
                dealer: dealer("D001"),
                customer_id: customer_id.into(),
                consistency: after(settled),
            },
            &staff(),
        ))
        .await
        .expect("card")
        .into_inner();
    assert!(expected(&card), "{card:?}");
    card
}

fn redeem(
    app: &App,
    customer_id: &str,
    points: i64,
    key: &str,
) -> impl std::future::Future<Output = Result<tonic::Response<pb::MemberCommandResponse>, tonic::Status>>
{
    app.api.redeem(request(
        pb::RedeemRequest {
            dealer: dealer("D001"),
            customer_id: customer_id.into(),
            points,
            item: "四轮定位".into(),
            partner_id: String::new(),
            key: key.into(),
            value: Some(Money { fen: 20_000 }),
        },
        &staff(),
    ))
}

async fn the_club_from_intakes_facts(backend: Backend) {
    let app = spawn_app_with(
        backend,
        "[dealers.D001.loyalty]\nlabour_points_per_yuan = 2\n",
    )
    .await;
    let (liu, _) = customer(&app, "D001", "刘洋", "13812341234", true).await;
    // 刘洋 buys, then refers three buyers.
    let mut last = sale(&app, 1, &liu, "").await;
    for n in 2..=4 {
        let (buyer, _) = customer(
            &app,
            "D001",
            &format!("朋友{n}"),
            &format!("1390000000{n}"),
            true,
        )
        .await;
        last = sale(&app, n, &buyer, &liu).await;
    }
    let one_star = card(&app, &liu, last, |c| c.referred_buyers == 3).await;
    assert_eq!(one_star.card, pb::Card::GreenOneStar as i32, "{one_star:?}");
    assert_eq!(one_star.balance, 3_000, "1,000 points a referral");
    assert_eq!(one_star.name, "刘洋");
    // A visit: labour 450.00 at 2 a yuan, parts 800.99 at 1.
    let last = visit(
        &app,
        "RO-71-1",
        1,
        &liu,
        Timestamp::now() - SignedDuration::from_hours(3),
        45_000,
        80_099,
    )
    .await;
    let earned = card(&app, &liu, last, |c| c.balance > 3_000).await;
    assert_eq!(earned.balance, 3_000 + 900 + 800);
    assert_eq!(
        (earned.window_points, earned.window_spend_points),
        (4_700, 1_700)
    );
    assert!(
        earned.next_card.starts_with("绿卡二星：再推荐2位购车客户"),
        "in the dealer's language: {}",
        earned.next_card
    );

    // Two redemptions of 2,000 race over a balance of 4,700 … and a third
    // would overdraw: at most two win, and the balance never goes below 0.
    let (a, b, c) = tokio::join!(
        redeem(&app, &liu, 2_000, "r-a"),
        redeem(&app, &liu, 2_000, "r-b"),
        redeem(&app, &liu, 2_000, "r-c"),
    );
    let won: Vec<_> = [&a, &b, &c].into_iter().filter(|r| r.is_ok()).collect();
    assert_eq!(won.len(), 2, "{a:?} {b:?} {c:?}");
    let refused = [a, b, c]
        .into_iter()
        .find_map(Result::err)
        .expect("one refused");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("the balance is 700 points"),
        "{}",
        refused.message()
    );
    // A retry of a redemption that went through redeems nothing more.
    let retried = redeem(&app, &liu, 2_000, "r-a").await;
    let retried = match retried {
        Ok(r) => r.into_inner(),
        Err(_) => redeem(&app, &liu, 2_000, "r-b")
            .await
            .expect("retry")
            .into_inner(),
    };
    assert!(!retried.changed);
    assert_eq!(retried.balance, 700);

    // The ledger lists every entry, newest first.
    let ledger = app
        .api
        .list_ledger(request(
            pb::ListLedgerRequest {
                dealer: dealer("D001"),
                customer_id: liu.clone(),
                consistency: after(retried.position.expect("position").value),
                ..Default::default()
            },
            &staff(),
        ))
        .await
        .expect("ledger")
        .into_inner();
    let sum: i64 = ledger.entries.iter().map(|e| e.points).sum();
    assert_eq!(sum, 700, "{ledger:?}");
    assert_eq!(
        ledger.entries.len(),
        6,
        "three referrals, a visit, two redemptions"
    );

    // A second vehicle on file: gold.
    let last = sale(&app, 9, &liu, "").await;
    // (The card follows the vehicle in the same append; the read model may
    // show one before the other.)
    let gold = card(&app, &liu, last, |c| {
        c.vehicles == 2 && c.card != pb::Card::GreenOneStar as i32
    })
    .await;
    assert_eq!(gold.card, pb::Card::Gold as i32);

    // Another dealer's staff find no member under this customer.
    let hidden = app
        .api
        .get_member(request(
            pb::GetMemberRequest {
                dealer: dealer("D002"),
                customer_id: liu.clone(),
                consistency: None,
            },
            &person("经理", Role::CareManager, "D002"),
        ))
        .await
        .expect_err("not theirs");
    assert_eq!(hidden.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_club_from_intakes_facts_on_sqlite() {
    the_club_from_intakes_facts(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_club_from_intakes_facts_on_postgres() {
    the_club_from_intakes_facts(Backend::Postgres).await;
}

async fn gold_by_points_leaves_with_the_window(backend: Backend) {
    let app = spawn_app_with(backend, "[dealers.D001.loyalty]\ndowngrades = true\n").await;
    let (zhou, _) = customer(&app, "D001", "周杰", "13700001234", true).await;
    sale(&app, 21, &zhou, "").await;
    // 23 months ago: 10,000 points from spend; a year ago 20,000 from activities.
    let long_ago = Timestamp::now() - SignedDuration::from_hours(24 * 700);
    let last = visit(&app, "RO-71-21", 21, &zhou, long_ago, 0, 1_000_000).await;
    card(&app, &zhou, last, |c| c.balance >= 10_000).await;
    let done = app
        .api
        .record_activity(request(
            pb::RecordActivityRequest {
                dealer: dealer("D001"),
                customer_id: zhou.clone(),
                points: 20_000,
                activity: "车友会自驾游".into(),
                key: "trip-2026".into(),
            },
            &staff(),
        ))
        .await
        .expect("activity")
        .into_inner();
    let gold = card(&app, &zhou, done.position.expect("position").value, |c| {
        c.balance >= 30_000
    })
    .await;
    assert_eq!(gold.card, pb::Card::Gold as i32, "{gold:?}");
    // Two months on, the visit's points have left the window.
    let swept = app
        .api
        .sweep_tiers(request(
            pb::SweepTiersRequest {
                dealer: dealer("D001"),
                as_of: Some(aftercare_proto::calendar::timestamp(
                    Timestamp::now() + SignedDuration::from_hours(24 * 60),
                )),
                consistency: None,
            },
            &staff(),
        ))
        .await
        .expect("swept")
        .into_inner();
    assert_eq!(swept.changed, 1);
    let green = card(&app, &zhou, swept.position.expect("position").value, |_| {
        true
    })
    .await;
    assert_eq!(green.card, pb::Card::Green as i32);
    // Sweeping again changes nothing.
    let again = app
        .api
        .sweep_tiers(request(
            pb::SweepTiersRequest {
                dealer: dealer("D001"),
                as_of: Some(aftercare_proto::calendar::timestamp(
                    Timestamp::now() + SignedDuration::from_hours(24 * 60),
                )),
                consistency: None,
            },
            &staff(),
        ))
        .await
        .expect("swept")
        .into_inner();
    assert_eq!(again.changed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gold_by_points_leaves_with_the_window_on_sqlite() {
    gold_by_points_leaves_with_the_window(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gold_by_points_leaves_with_the_window_on_postgres() {
    gold_by_points_leaves_with_the_window(Backend::Postgres).await;
}

pub(crate) fn this_month(offset: i32) -> aftercare_proto::common::v1::YearMonth {
    let today = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"))
        .date()
        .first_of_month()
        .checked_add(jiff::Span::new().months(offset))
        .expect("month");
    aftercare_proto::common::v1::YearMonth {
        year: i32::from(today.year()),
        month: today.month() as u32,
    }
}

async fn partners_statements_and_the_clubs_month(backend: Backend) {
    let app = spawn_app_with(backend, "[dealers.D001.loyalty]\npoint_value_fen = 2\n").await;
    let (wu, _) = customer(&app, "D001", "吴敏", "13600001234", true).await;
    let (sun, _) = customer(&app, "D001", "孙丽", "13600005678", true).await;
    sale(&app, 31, &wu, "").await;
    let last = sale(&app, 32, &sun, &wu).await;
    card(&app, &wu, last, |c| c.balance == 1_000).await;
    app.api
        .register_partner(request(
            pb::RegisterPartnerRequest {
                dealer: dealer("D001"),
                partner_id: "carwash-01".into(),
                name: "洁美洗车".into(),
            },
            &staff(),
        ))
        .await
        .expect("registered");
    let at_partner = |partner: &str, key: &str| {
        app.api.redeem(request(
            pb::RedeemRequest {
                dealer: dealer("D001"),
                customer_id: wu.clone(),
                points: 300,
                item: "精洗".into(),
                partner_id: partner.into(),
                key: key.into(),
                value: Some(Money { fen: 3_000 }),
            },
            &staff(),
        ))
    };
    // A partner that is not registered here is not found.
    let unknown = at_partner("nail-salon", "p-0")
        .await
        .expect_err("unknown partner");
    assert_eq!(unknown.code(), Code::NotFound);
    at_partner("carwash-01", "p-1").await.expect("redeemed");
    let done = at_partner("carwash-01", "p-2")
        .await
        .expect("redeemed")
        .into_inner();
    let statement = app
        .api
        .partner_statement(request(
            pb::PartnerStatementRequest {
                dealer: dealer("D001"),
                partner_id: "carwash-01".into(),
                month: Some(this_month(0)),
                consistency: after(done.position.expect("position").value),
            },
            &staff(),
        ))
        .await
        .expect("statement")
        .into_inner();
    assert_eq!(
        (
            statement.redemptions,
            statement.points,
            statement.value.map(|m| m.fen),
            statement.settled
        ),
        (2, 600, Some(6_000), false)
    );
    assert_eq!(statement.name, "洁美洗车");
    // The month is not over: not yet settled. Last month is, once.
    let settle = |month| {
        app.api.settle_statement(request(
            pb::SettleStatementRequest {
                dealer: dealer("D001"),
                partner_id: "carwash-01".into(),
                month: Some(month),
            },
            &person("财务", Role::CareManager, "D001"),
        ))
    };
    let early = settle(this_month(0)).await.expect_err("not over");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(
        settle(this_month(-1))
            .await
            .expect("settled")
            .into_inner()
            .changed
    );
    assert!(
        !settle(this_month(-1))
            .await
            .expect("again")
            .into_inner()
            .changed
    );

    // The club's month.
    let stats = app
        .api
        .club_stats(request(
            pb::ClubStatsRequest {
                dealer: dealer("D001"),
                month: Some(this_month(0)),
                consistency: after(done.position.expect("position").value),
            },
            &staff(),
        ))
        .await
        .expect("stats")
        .into_inner();
    assert_eq!((stats.members, stats.joined, stats.active), (2, 2, 1));
    assert_eq!((stats.points_issued, stats.points_redeemed), (1_000, 600));
    assert_eq!(stats.points_outstanding, 400);
    assert_eq!(stats.club, "D001");
    assert_eq!(
        (stats.owners, stats.owners_joined),
        (2, 2),
        "both buyers are members"
    );
    assert_eq!(stats.liability.map(|m| m.fen), Some(800), "2 fen a point");
    assert_eq!(
        stats.cards,
        [pb::CardCount {
            card: pb::Card::Green as i32,
            members: 2
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_statements_and_the_clubs_month_on_sqlite() {
    partners_statements_and_the_clubs_month(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_statements_and_the_clubs_month_on_postgres() {
    partners_statements_and_the_clubs_month(Backend::Postgres).await;
}
