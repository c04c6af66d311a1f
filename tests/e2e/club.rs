//! The owner club on the production shape (JetStream, PostgreSQL): sales with
//! referrers and visits with spend go in → the referrer has a star at the third
//! referred buyer, a big spender has gold by points and loses it to the
//! monthly sweep once the points leave the window (this dealer downgrades); a
//! redemption at a partner shows in the month's statement; the club's read
//! model rebuilt from the log with the server stopped gives every member the
//! same card and balance (checked before the sweep looks two months ahead,
//! since the restarted server's own sweep decides the cards as of now).

use std::time::Duration;

use aftercare_proto::common::v1::{Consistency, Money, Position};
use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftercare_proto::loyalty::v1 as pb;
use aftercare_proto::loyalty::v1::loyalty_service_client::LoyaltyServiceClient;
use jiff::{SignedDuration, Timestamp};

use crate::harness::{Server, authorized, cli, dealer, token, vin};

const ADMIN: &str = "club-admin-token-000001";
const CLUB: &str = "club-manager-token-0001";

fn after(position: u64) -> Option<Consistency> {
    Some(Consistency {
        min_position: Some(Position { value: position }),
    })
}

/// The member's card once `ready` holds (the club's policy runs behind the log).
async fn card(
    api: &mut LoyaltyServiceClient<tonic::transport::Channel>,
    customer: &str,
    ready: impl Fn(&pb::MemberCard) -> bool,
) -> pb::MemberCard {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = api
            .get_member(authorized(
                pb::GetMemberRequest {
                    dealer: dealer("D001"),
                    customer_id: customer.into(),
                    consistency: None,
                },
                CLUB,
            ))
            .await;
        if let Ok(card) = &answer
            && ready(card.get_ref())
        {
            return answer.expect("card").into_inner();
        }
        assert!(std::time::Instant::now() < deadline, "{answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_club_survives_a_rebuild() {
    let nats = tokio::task::spawn_blocking(aftercare_testkit::NatsServer::start)
        .await
        .expect("nats");
    let database = aftercare_testkit::postgres().create_database();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("aftercare.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nallow_future_sweeps = true\n[store]\nbackend = \"jetstream\"\nurl = \"{}\"\n\
             [database]\nurl = \"{}\"\n{}{}[dealers.D001.loyalty]\ndowngrades = true\n",
            nats.url(),
            database.url,
            token("admin", ADMIN, "admin", "all"),
            token("经理", CLUB, "care-manager", "dealer:D001"),
        ),
    )
    .expect("config");
    let config_arg = config.to_str().expect("utf-8").to_owned();
    let args = ["--config", config_arg.as_str()];
    let server = Server::start(dir.path(), &args, &[]);
    let mut intake_api = IntakeServiceClient::new(server.channel().await);
    let mut club = LoyaltyServiceClient::new(server.channel().await);

    let mut customers = Vec::new();
    for (n, name) in ["刘洋", "陈静", "王磊", "赵敏", "周杰"].iter().enumerate() {
        let id = intake_api
            .register_customer(authorized(
                intake::RegisterCustomerRequest {
                    dealer: dealer("D001"),
                    profile: Some(intake::CustomerInput {
                        name: (*name).into(),
                        phones: vec![format!("1381234{n:04}")],
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ADMIN,
            ))
            .await
            .expect("customer")
            .into_inner()
            .customer_id;
        customers.push(id);
    }
    let sold_on = (Timestamp::now() - SignedDuration::from_hours(48))
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"))
        .date();
    // 刘洋 buys; the next three buyers were referred by 刘洋.
    for (n, buyer) in customers.iter().take(4).enumerate() {
        intake_api
            .record_sale(authorized(
                intake::RecordSaleRequest {
                    dealer: dealer("D001"),
                    vin: vin(81, n as u32),
                    buyer_customer_id: buyer.clone(),
                    referrer_customer_id: if n == 0 {
                        String::new()
                    } else {
                        customers[0].clone()
                    },
                    sales_consultant: "李娜".into(),
                    sold_on: Some(aftercare_proto::calendar::to_date(sold_on)),
                    model: "科鲁兹".into(),
                    ..Default::default()
                },
                ADMIN,
            ))
            .await
            .expect("sale");
    }
    // The card follows the referral in the same append: wait for both.
    let liu = card(&mut club, &customers[0], |c| {
        c.referred_buyers == 3 && c.card != pb::Card::Green as i32
    })
    .await;
    assert_eq!(liu.card, pb::Card::GreenOneStar as i32, "{liu:?}");
    assert_eq!(liu.balance, 3_000);

    // 周杰 spent 30,000.00 yuan on parts 700 days ago: gold by points.
    let closed = Timestamp::now() - SignedDuration::from_hours(24 * 700);
    intake_api
        .record_visit(authorized(
            intake::RecordVisitRequest {
                dealer: dealer("D001"),
                repair_order: Some(intake::RepairOrder {
                    repair_order: "RO-81-1".into(),
                    vin: vin(81, 9),
                    customer_id: customers[4].clone(),
                    opened_at: Some(aftercare_proto::calendar::timestamp(
                        closed - SignedDuration::from_hours(4),
                    )),
                    closed_at: Some(aftercare_proto::calendar::timestamp(closed)),
                    mileage_km: 80_000,
                    kind: intake::VisitKind::Repair as i32,
                    labour: Some(Money { fen: 0 }),
                    parts: Some(Money { fen: 3_000_000 }),
                    service_advisor: "张伟".into(),
                    ..Default::default()
                }),
            },
            ADMIN,
        ))
        .await
        .expect("visit");
    let zhou = card(&mut club, &customers[4], |c| {
        c.balance == 30_000 && c.card != pb::Card::Green as i32
    })
    .await;
    assert_eq!(zhou.card, pb::Card::Gold as i32, "{zhou:?}");

    // A redemption at a partner, in this month's statement.
    club.register_partner(authorized(
        pb::RegisterPartnerRequest {
            dealer: dealer("D001"),
            partner_id: "carwash-01".into(),
            name: "洁美洗车".into(),
        },
        CLUB,
    ))
    .await
    .expect("partner");
    let redeemed = club
        .redeem(authorized(
            pb::RedeemRequest {
                dealer: dealer("D001"),
                customer_id: customers[0].clone(),
                points: 500,
                item: "精洗".into(),
                partner_id: "carwash-01".into(),
                key: "club-e2e-1".into(),
                value: Some(Money { fen: 5_000 }),
            },
            CLUB,
        ))
        .await
        .expect("redeemed")
        .into_inner();
    assert_eq!(redeemed.balance, 2_500);
    let today = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone"))
        .date();
    let month = aftercare_proto::common::v1::YearMonth {
        year: i32::from(today.year()),
        month: today.month() as u32,
    };
    let statement = club
        .partner_statement(authorized(
            pb::PartnerStatementRequest {
                dealer: dealer("D001"),
                partner_id: "carwash-01".into(),
                month: Some(month),
                consistency: after(redeemed.position.expect("position").value),
            },
            CLUB,
        ))
        .await
        .expect("statement")
        .into_inner();
    assert_eq!((statement.redemptions, statement.points), (1, 500));

    // Every member's card, rebuilt from the log with the server stopped.
    let mut before = Vec::new();
    for c in &customers {
        let m = card(&mut club, c, |_| true).await;
        before.push((m.card, m.balance, m.referred_buyers, m.vehicles));
    }
    assert!(server.terminate().success());
    let (ok, _, stderr) = cli(
        dir.path(),
        &[
            "--config",
            config_arg.as_str(),
            "rebuild",
            "loyalty_members",
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    let server = Server::start(dir.path(), &args, &[]);
    let mut club = LoyaltyServiceClient::new(server.channel().await);
    let mut rebuilt = Vec::new();
    for c in &customers {
        let m = card(&mut club, c, |_| true).await;
        rebuilt.push((m.card, m.balance, m.referred_buyers, m.vehicles));
    }
    assert_eq!(rebuilt, before);

    // Two months on, the monthly sweep takes 周杰's gold (the points left the window).
    let swept = club
        .sweep_tiers(authorized(
            pb::SweepTiersRequest {
                dealer: dealer("D001"),
                as_of: Some(aftercare_proto::calendar::timestamp(
                    Timestamp::now() + SignedDuration::from_hours(24 * 60),
                )),
                consistency: None,
            },
            CLUB,
        ))
        .await
        .expect("swept")
        .into_inner();
    assert_eq!(swept.changed, 1);
    let zhou = card(&mut club, &customers[4], |c| {
        c.card != pb::Card::Gold as i32
    })
    .await;
    assert_eq!(zhou.card, pb::Card::Green as i32);
}
