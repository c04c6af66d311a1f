//! Churn end to end: a DMS sends visits over NATS, sales come in over gRPC, and
//! the churn report read over gRPC shows the rates a dealer would compute by hand,
//! per dealer with its own threshold, per advisor group, and for a dealer group
//! within the caller's scope only.

use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use aftercare_proto::common::v1::{Consistency, DealerId, Money, Position, YearMonth};
use aftercare_proto::intake::v1::RecordSaleRequest;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tonic::Code;

use crate::harness::{authorized, jetstream_stack, token};

const GROUP: &str = "group-manager-token-00001";
const D001: &str = "d001-manager-token-000001";
const D003: &str = "d003-manager-token-000001";

fn vin(serial: u32) -> String {
    crate::harness::vin(21, serial)
}

struct Dms {
    client: async_nats::Client,
    last: u64,
    serial: u32,
}

impl Dms {
    /// One repair order, the way a DMS sends it: JSON on the dealer's subject.
    async fn visit(&mut self, dealer: &str, vin: &str, closed: &str, group: &str) {
        self.serial += 1;
        let body = serde_json::json!({
            "repair_order": format!("RO-{}", self.serial), "vin": vin,
            "opened_at": closed, "closed_at": closed, "mileage_km": 12000,
            "kind": "maintenance", "labour_fen": 30000, "parts_fen": 50000,
            "service_advisor": format!("{group}顾问"), "advisor_group": group,
        });
        let at = crate::harness::dms_send(&self.client, dealer, "visits", &body).await;
        self.last = self.last.max(at);
    }
}

fn month(year: i32, month: u32) -> Option<YearMonth> {
    Some(YearMonth { year, month })
}

fn request(
    dealers: &[&str],
    rule: pb::ChurnRule,
    breakdown: pb::Breakdown,
    at: u64,
) -> pb::ChurnReportRequest {
    pb::ChurnReportRequest {
        dealers: dealers
            .iter()
            .filter_map(|d| crate::harness::dealer(d))
            .collect(),
        month: month(2026, 1),
        rule: rule as i32,
        threshold_months: 0,
        breakdown: breakdown as i32,
        consistency: Some(Consistency {
            min_position: Some(Position { value: at }),
        }),
    }
}

fn figures(line: Option<&pb::ChurnLine>) -> (i64, i64) {
    let line = line.expect("line");
    (line.churned, line.base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_rates_from_visits_sent_by_a_dms() {
    let stack = jetstream_stack(&format!(
        "[dealers.D002]\nchurn_months = 8\n[auth.groups]\nnorth = [\"D001\", \"D002\"]\n{}{}{}",
        token("north", GROUP, "care-manager", "group:north"),
        token("d001", D001, "care-manager", "dealer:D001"),
        token("d003", D003, "care-manager", "dealer:D003"),
    ))
    .await;
    let (server, nats) = (&stack.server, &stack.nats);
    let mut dms = Dms {
        client: async_nats::connect(nats.url()).await.expect("dms connects"),
        last: 0,
        serial: 0,
    };

    // D001 (churned after 12 months), January 2025: five visits of four vehicles.
    dms.visit("D001", &vin(1), "2025-01-31T15:30:00Z", "A组")
        .await; // 23:30 on the 31st in Shanghai
    dms.visit("D001", &vin(1), "2025-06-03T02:00:00Z", "A组")
        .await; // back in June
    dms.visit("D001", &vin(2), "2025-01-06T02:00:00Z", "A组")
        .await;
    dms.visit("D001", &vin(2), "2025-01-20T02:00:00Z", "B组")
        .await; // last in January: B组's
    dms.visit("D001", &vin(2), "2026-02-02T02:00:00Z", "B组")
        .await; // back after January 2026
    dms.visit("D001", &vin(3), "2025-01-08T02:00:00Z", "B组")
        .await; // never back
    dms.visit("D001", &vin(4), "2025-01-09T02:00:00Z", "A组")
        .await;
    dms.visit("D001", &vin(4), "2026-01-09T02:00:00Z", "A组")
        .await; // back in time
    // Half past midnight on 1 February in Shanghai: not a January visit.
    dms.visit("D001", &vin(5), "2025-01-31T16:30:00Z", "A组")
        .await;
    // D002 (churned after 8 months), May 2025: two vehicles, one never back.
    dms.visit("D002", &vin(6), "2025-05-10T02:00:00Z", "A组")
        .await;
    dms.visit("D002", &vin(7), "2025-05-11T02:00:00Z", "A组")
        .await;
    dms.visit("D002", &vin(7), "2025-09-11T02:00:00Z", "A组")
        .await;
    // D003 is outside the group.
    dms.visit("D003", &vin(8), "2025-01-10T02:00:00Z", "A组")
        .await;

    // A January 2025 sale at D001 that never came for service.
    let mut intake = IntakeServiceClient::new(server.channel().await);
    // The buyer is one of D001's own customers.
    let buyer = intake
        .register_customer(authorized(
            aftercare_proto::intake::v1::RegisterCustomerRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                profile: Some(aftercare_proto::intake::v1::CustomerInput {
                    name: "钱多多".into(),
                    phones: vec!["13600009999".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            D001,
        ))
        .await
        .expect("customer")
        .into_inner()
        .customer_id;
    let sale = intake
        .record_sale(authorized(
            RecordSaleRequest {
                dealer: Some(DealerId {
                    value: "D001".into(),
                }),
                vin: vin(9),
                buyer_customer_id: buyer,
                sales_consultant: "赵磊".into(),
                sold_on: Some(aftercare_proto::common::v1::Date {
                    year: 2025,
                    month: 1,
                    day: 18,
                }),
                price: Some(Money { fen: 12_800_000 }),
                referrer_customer_id: String::new(),
                model: "Cruze".into(),
            },
            D001,
        ))
        .await
        .expect("sale")
        .into_inner();
    let at = dms.last.max(sale.position.expect("position").value);

    let mut analytics = AnalyticsServiceClient::new(server.channel().await);
    // D001, rule A: vin 2 and vin 3 churned, of five January visits.
    let d001 = analytics
        .churn_report(authorized(
            request(&["D001"], pb::ChurnRule::A, pb::Breakdown::AdvisorGroup, at),
            D001,
        ))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(figures(d001.total.as_ref()), (2, 5));
    assert_eq!(d001.total.as_ref().map(|t| t.rate), Some(0.4));
    let groups: Vec<(String, i64, i64)> = d001
        .lines
        .iter()
        .map(|l| (l.value.clone(), l.churned, l.base))
        .collect();
    assert_eq!(groups, vec![("A组".into(), 0, 3), ("B组".into(), 2, 2)]);
    assert_eq!(
        d001.cohorts
            .iter()
            .map(|c| (c.dealer.as_str(), c.cohort_month, c.threshold_months))
            .collect::<Vec<_>>(),
        vec![("D001", month(2025, 1), 12)]
    );
    // Where D001's vehicles stand at the end of January 2026, by calendar months
    // since their last visit.
    let segments: Vec<(i32, i64)> = d001
        .segments
        .iter()
        .filter(|s| s.vehicles > 0)
        .map(|s| (s.segment, s.vehicles))
        .collect();
    assert_eq!(
        segments,
        vec![
            (pb::Segment::Active as i32, 1),       // vin 4, back in January 2026
            (pb::Segment::Wavering as i32, 2),     // vin 1 (June), vin 5 (February)
            (pb::Segment::Churned as i32, 2),      // vin 2 and vin 3 (January 2025)
            (pb::Segment::NeverVisited as i32, 1), // vin 9, sold and never serviced
        ]
    );
    // Rule B adds the sale to the base and its vehicle to the churned.
    let rule_b = analytics
        .churn_report(authorized(
            request(&["D001"], pb::ChurnRule::B, pb::Breakdown::Unspecified, at),
            D001,
        ))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(figures(rule_b.total.as_ref()), (3, 6));

    // The incentive: A组 below the dealer's 40% earns, B组 above it pays; the
    // service manager has no earlier months with visits to be judged against.
    let scorecard = analytics
        .churn_scorecard(authorized(
            pb::ChurnScorecardRequest {
                dealer: crate::harness::dealer("D001"),
                month: month(2026, 1),
                rule: pb::ChurnRule::A as i32,
                consistency: Some(Consistency {
                    min_position: Some(Position { value: at }),
                }),
                threshold_months: 0,
            },
            D001,
        ))
        .await
        .expect("scorecard")
        .into_inner();
    let scores: Vec<(String, i32, i64)> = scorecard
        .advisor_groups
        .iter()
        .map(|s| {
            (
                s.who.clone(),
                s.verdict,
                s.amount.as_ref().map_or(0, |m| m.fen),
            )
        })
        .collect();
    assert_eq!(
        scores,
        vec![
            ("A组".into(), pb::Verdict::Better as i32, 20_000),
            ("B组".into(), pb::Verdict::Worse as i32, -20_000),
        ]
    );
    assert!(scorecard.service_manager.is_none());
    assert!(
        scorecard.workshop_supervisor.is_none(),
        "judged like the service manager"
    );
    // The month's payout: the groups' +200 and −200 cancel and neither the
    // manager nor the supervisor is judged, so what is paid is the agents'.
    let agents: i64 = scorecard
        .callback_agents
        .iter()
        .map(|a| a.amount.as_ref().map_or(0, |m| m.fen))
        .sum();
    assert_eq!(
        scorecard.payout.as_ref().map(|m| m.fen),
        Some(agents),
        "{:?}",
        scorecard.callback_agents
    );
    // Each advisor shown against the groups' rate, paid nothing of their own.
    assert!(!scorecard.advisors.is_empty());
    assert!(
        scorecard
            .advisors
            .iter()
            .all(|a| a.amount.as_ref().is_some_and(|m| m.fen == 0))
    );
    let advisors_base: i64 = scorecard
        .advisors
        .iter()
        .filter_map(|a| a.line.as_ref().map(|l| l.base))
        .sum();
    assert_eq!(
        advisors_base, 5,
        "the five January visits, each under its advisor"
    );
    // Rule B: the dealer's rate counts the sale (3 of 6); the groups are judged
    // on the same denominator as theirs, the visits (2 of 5).
    let rule_b_card = analytics
        .churn_scorecard(authorized(
            pb::ChurnScorecardRequest {
                dealer: crate::harness::dealer("D001"),
                month: month(2026, 1),
                rule: pb::ChurnRule::B as i32,
                consistency: None,
                threshold_months: 0,
            },
            D001,
        ))
        .await
        .expect("scorecard")
        .into_inner();
    assert_eq!(figures(rule_b_card.dealer.as_ref()), (3, 6));
    assert_eq!(figures(rule_b_card.groups_rate.as_ref()), (2, 5));
    assert_eq!(rule_b_card.threshold_months, 12);

    // The churn table at the end of January 2026: six vehicles on file, two
    // of them past twelve months; with eight months, vin 5 (February) too.
    let table = |threshold_months: u32| {
        let mut analytics = analytics.clone();
        async move {
            analytics
                .churn_table(authorized(
                    pb::ChurnTableRequest {
                        dealers: vec![],
                        month: month(2026, 1),
                        threshold_months,
                        breakdown: pb::Breakdown::Unspecified as i32,
                        consistency: None,
                    },
                    D001,
                ))
                .await
                .expect("table")
                .into_inner()
        }
    };
    let twelve = table(0).await;
    let total = twelve.total.expect("total");
    assert_eq!((total.base, total.churned), (6, 2));
    assert!((total.rate - 2.0 / 6.0).abs() < 1e-12);
    let eight = table(8).await.total.expect("total");
    assert_eq!((eight.base, eight.churned), (6, 3));

    // The group: D001 with 12 months, D002 with 8 (cohort May 2025), not D003.
    let group = analytics
        .churn_report(authorized(
            request(&[], pb::ChurnRule::A, pb::Breakdown::Unspecified, at),
            GROUP,
        ))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(figures(group.total.as_ref()), (3, 7));
    let mut cohorts: Vec<_> = group
        .cohorts
        .iter()
        .map(|c| (c.dealer.clone(), c.cohort_month, c.threshold_months))
        .collect();
    cohorts.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        cohorts,
        vec![
            ("D001".into(), month(2025, 1), 12),
            ("D002".into(), month(2025, 5), 8)
        ]
    );

    // Nobody reads another dealer's churn.
    let denied = analytics
        .churn_report(authorized(
            request(&["D001"], pb::ChurnRule::A, pb::Breakdown::Unspecified, at),
            D003,
        ))
        .await
        .expect_err("outside the scope");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let own = analytics
        .churn_report(authorized(
            request(&[], pb::ChurnRule::A, pb::Breakdown::Unspecified, at),
            D003,
        ))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(
        figures(own.total.as_ref()),
        (1, 1),
        "D003 sees its own vehicle, and no other dealer's"
    );

    // Bad input names the field.
    let mut bad = request(&["D001"], pb::ChurnRule::A, pb::Breakdown::Unspecified, at);
    bad.month = month(2026, 13);
    let err = analytics
        .churn_report(authorized(bad, D001))
        .await
        .expect_err("invalid month");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("month"), "{}", err.message());

    // A vehicle's status on a day: vin 3 was last seen in January 2025.
    let status = analytics
        .vehicle_churn_status(authorized(
            pb::VehicleChurnStatusRequest {
                dealer: crate::harness::dealer("D001"),
                vin: vin(3),
                as_of: Some(aftercare_proto::common::v1::Date {
                    year: 2026,
                    month: 1,
                    day: 31,
                }),
                consistency: None,
            },
            D001,
        ))
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.segment, pb::Segment::Churned as i32);
    assert_eq!(status.months_since_last_visit, 12);
    assert_eq!(status.advisor_group, "B组");
}
