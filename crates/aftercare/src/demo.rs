//! `aftercare demo`: seeds a realistic dealer through the real command path —
//! customers in several districts, their cars across several models sold over the
//! last six years, three years of service visits with advisors in groups, owners
//! who drift away as their cars age, and leads from the usual sources — so every
//! report has something to show. Every create carries a request id derived from
//! the seed (and visits their repair-order numbers), so running the demo again
//! with the same seed creates nothing twice.

use aftercare_proto::common::v1::{DealerId, Money};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::{SignedDuration, Timestamp};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::client::{BearerToken, status_error};

const MODELS: [&str; 7] = [
    "Cruze", "Malibu", "Equinox", "Trax", "Onix", "Envision", "GL8",
];
const DISTRICTS: [&str; 7] = [
    "浦东新区",
    "闵行区",
    "徐汇区",
    "静安区",
    "宝山区",
    "嘉定区",
    "松江区",
];
const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: [&str; 10] = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰"];
const GROUPS: [&str; 3] = ["A组", "B组", "C组"];

/// A small deterministic generator, so the same seed gives the same dealer.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.below(1_000_000) as f64) < p * 1_000_000.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn vin(serial: u64) -> String {
    let body = format!("LSGDEM20X{:08}", serial % 100_000_000);
    let digit = aftercare_intake::domain::vin::check_digit(&body).expect("valid characters");
    body.chars()
        .take(8)
        .chain([digit])
        .chain(body.chars().skip(9))
        .collect()
}

fn proto_time(at: Timestamp) -> prost_types::Timestamp {
    aftercare_proto::calendar::timestamp(at)
}

pub struct Seeded {
    pub customers: u64,
    pub sales: u64,
    pub visits: u64,
    pub leads: u64,
    /// The vehicle with the most visits, and how many: a history worth reading.
    pub busiest_vin: (String, u64),
    /// The phone of a customer with two cars, to search by.
    pub two_car_phone: Option<String>,
}

type Api = IntakeServiceClient<InterceptedService<Channel, BearerToken>>;

pub async fn seed(
    api: Api,
    dealer: &str,
    customers: u64,
    seed: u64,
    show_progress: bool,
) -> anyhow::Result<Seeded> {
    let mut dice = Dice(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let now = Timestamp::now();
    let d = || {
        Some(DealerId {
            value: dealer.to_owned(),
        })
    };
    let bar = if show_progress {
        ProgressBar::new(customers)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("seeding [{bar:40}] {pos}/{len} customers")
            .expect("valid template"),
    );
    let mut seeded = Seeded {
        customers: 0,
        sales: 0,
        visits: 0,
        leads: 0,
        busiest_vin: (String::new(), 0),
        two_car_phone: None,
    };
    let mut visits = Vec::new();
    let mut serial = 0;
    for c in 0..customers {
        let name = format!("{}{}", dice.pick(&SURNAMES), dice.pick(&GIVEN));
        let phone = format!(
            "13{}{:08}",
            5 + dice.below(5),
            (c * 7919 + seed) % 100_000_000
        );
        let profile = pb::CustomerInput {
            name,
            phones: vec![phone.clone()],
            district: dice.pick(&DISTRICTS).to_owned(),
            customer_type: pb::CustomerType::Private as i32,
            // Born 1960–1999, spread over the year (greeted on the birthday).
            birthday: jiff::civil::date(1960, 1, 1)
                .checked_add(jiff::Span::new().days(((c * 7_919 + seed) % 14_600) as i64))
                .ok()
                .map(aftercare_proto::calendar::to_date),
        };
        let consents = [
            pb::ContactChannel::Phone,
            pb::ContactChannel::Sms,
            pb::ContactChannel::Wechat,
        ]
        .into_iter()
        .filter(|_| dice.chance(0.8))
        .map(|channel| pb::Consent {
            channel: channel as i32,
            granted: true,
        })
        .collect();
        let customer = api
            .clone()
            .register_customer(pb::RegisterCustomerRequest {
                dealer: d(),
                profile: Some(profile),
                consents,
                client_request_id: format!("demo/{seed}/customer/{c}"),
            })
            .await
            .map_err(status_error)?
            .into_inner();
        seeded.customers += 1;
        // One car, some owners two (the second bought later).
        let cars = if dice.chance(0.12) { 2 } else { 1 };
        if cars == 2 && seeded.two_car_phone.is_none() {
            seeded.two_car_phone = Some(phone.clone());
        }
        for _ in 0..cars {
            serial += 1;
            let vin = vin(serial + seed * 1_000_000);
            let mut age_days = 30 + dice.below(6 * 365) as i64;
            // One car in fifty was delivered yesterday: its post-sale call is
            // on today's worklist.
            if c % 50 == 7 {
                age_days = 1;
            }
            let sold_at = now - SignedDuration::from_hours(24 * age_days);
            let sold_on = sold_at.to_zoned(jiff::tz::TimeZone::UTC).date();
            let model = dice.pick(&MODELS);
            let sale = pb::RecordSaleRequest {
                dealer: d(),
                vin: vin.clone(),
                buyer_customer_id: customer.customer_id.clone(),
                sales_consultant: format!("销售{}", 1 + dice.below(6)),
                sold_on: Some(aftercare_proto::calendar::to_date(sold_on)),
                price: Some(Money {
                    fen: 9_000_000 + dice.below(30_000_000) as i64,
                }),
                referrer_customer_id: String::new(),
                model: model.to_owned(),
            };
            // A customer seeded by an earlier run had their cars sold then, on
            // dates counted back from that day: selling them again would record
            // a second sale. The dice are drawn all the same, so every later
            // customer is the same as in that run.
            if customer.changed {
                api.clone().record_sale(sale).await.map_err(status_error)?;
            }
            seeded.sales += 1;
            // Visits every 4–8 months over the last three years; an owner drifts
            // away with a chance that grows with the car's age.
            let three_years_ago = now - SignedDuration::from_hours(24 * 365 * 3);
            let mut at = sold_at.max(three_years_ago)
                + SignedDuration::from_hours(24 * (120 + dice.below(120) as i64));
            let mut mileage = 3_000 + dice.below(5_000) as i64;
            let mut visits_of_car = 0;
            while at < now - SignedDuration::from_hours(24) {
                visits_of_car += 1;
                let years = (at.as_second() - sold_at.as_second()) as f64 / (365.0 * 86_400.0);
                if dice.chance(0.06 + 0.05 * years) {
                    break;
                }
                let group = dice.below(3) as usize;
                visits.push(pb::RecordVisitsRequest {
                    dealer: d(),
                    line: visits.len() as u64 + 1,
                    repair_order: Some(pb::RepairOrder {
                        repair_order: format!("RO{}{:07}", seed, visits.len() + 1),
                        vin: vin.clone(),
                        customer_id: customer.customer_id.clone(),
                        opened_at: Some(proto_time(at - SignedDuration::from_hours(5))),
                        closed_at: Some(proto_time(at)),
                        mileage_km: mileage,
                        kind: if dice.chance(0.7) {
                            pb::VisitKind::Maintenance
                        } else {
                            pb::VisitKind::Repair
                        } as i32,
                        labour: Some(Money {
                            fen: 15_000 + dice.below(60_000) as i64,
                        }),
                        parts: Some(Money {
                            fen: 20_000 + dice.below(200_000) as i64,
                        }),
                        service_advisor: format!("顾问{}", group * 4 + 1 + dice.below(4) as usize),
                        advisor_group: GROUPS[group].to_owned(),
                        fault_codes: vec![],
                    }),
                });
                mileage += 4_000 + dice.below(6_000) as i64;
                at += SignedDuration::from_hours(24 * (120 + dice.below(120) as i64));
            }
            if visits_of_car > seeded.busiest_vin.1 {
                seeded.busiest_vin = (vin.clone(), visits_of_car);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let count = visits.len() as u64;
    let summary = api
        .clone()
        .record_visits(futures::stream::iter(visits))
        .await
        .map_err(status_error)?
        .into_inner();
    seeded.visits = summary.accepted + summary.already_recorded;
    anyhow::ensure!(
        summary.rejected.is_empty() && seeded.visits == count,
        "the demo's own visits were rejected"
    );
    // Leads in the proportions dealers see: hotline ~46%, web ~40%, referral ~11%.
    let leads = (customers / 10).max(5);
    let captures = (0..leads).map(|i| {
        let roll = dice.below(100);
        let source = match roll {
            0..46 => pb::LeadSource::Hotline,
            46..86 => pb::LeadSource::Web,
            86..97 => pb::LeadSource::WalkIn,
            _ => pb::LeadSource::Event,
        };
        pb::CaptureLeadRequest {
            dealer: d(),
            source: source as i32,
            name: format!("{}先生", dice.pick(&SURNAMES)),
            phone: format!("186{:08}", (i * 104_729 + seed) % 100_000_000),
            model_of_interest: dice.pick(&MODELS).to_owned(),
            oem_reference: String::new(),
            referrer_customer_id: String::new(),
            client_request_id: format!("demo/{seed}/lead/{i}"),
        }
    });
    let captured: Vec<_> = futures::stream::iter(captures)
        .map(|request| {
            let mut api = api.clone();
            async move { api.capture_lead(request).await.map_err(status_error) }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for lead in captured {
        lead?;
        seeded.leads += 1;
    }
    Ok(seeded)
}

type ComplaintApi =
    aftercare_proto::complaint::v1::complaint_service_client::ComplaintServiceClient<
        InterceptedService<Channel, BearerToken>,
    >;

/// Three complaints of the dealer's for the board, filed once however often
/// this runs (each has an idempotency key, the hotline one its OEM ticket): a
/// walk-in about waiting, a call about a noise after maintenance on `vin`, and
/// an OEM hotline complaint about the air conditioning.
pub async fn complaints(mut api: ComplaintApi, dealer: &str, vin: &str) -> anyhow::Result<usize> {
    use aftercare_proto::complaint::v1 as complaint;
    let filings = [
        (
            complaint::Channel::WalkIn,
            1,
            "",
            "",
            "保养等了三个小时，没人告知进度",
            "demo-complaint-1",
        ),
        (
            complaint::Channel::Phone,
            2,
            vin,
            "",
            "上周保养后底盘异响，要求重新检查",
            "demo-complaint-2",
        ),
        (
            complaint::Channel::OemHotline,
            0,
            "",
            "OEM-DEMO-0001",
            "空调不制冷，已返修两次",
            "",
        ),
    ];
    for (channel, grade, vin, oem_ticket, description, key) in filings {
        api.file_complaint(complaint::FileComplaintRequest {
            dealer: Some(DealerId {
                value: dealer.to_owned(),
            }),
            channel: channel as i32,
            grade,
            vin: vin.to_owned(),
            oem_ticket: oem_ticket.to_owned(),
            description: description.to_owned(),
            client_request_id: key.to_owned(),
            ..Default::default()
        })
        .await
        .map_err(status_error)?;
    }
    Ok(filings.len())
}
