//! The intake commands of the CLI: `customer`, `vehicle`, `visit`, `lead`. Each is
//! one gRPC call; tables by default, JSON with `--output json`.

use aftercare_proto::common::v1::{DealerId, Money, PageRequest};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::client::{ClientArgs, Output, status_error};

#[derive(Subcommand)]
pub enum CustomerCommand {
    /// Open a customer file.
    Register {
        #[arg(long)]
        dealer: String,
        #[arg(long)]
        name: String,
        /// Repeatable; mobile or landline, in any usual form.
        #[arg(long = "phone", required = true)]
        phones: Vec<String>,
        #[arg(long, default_value = "")]
        district: String,
        /// Channels the customer agreed to be contacted on: phone, sms, wechat.
        #[arg(long = "consent", value_delimiter = ',')]
        consents: Vec<String>,
        /// An idempotency key: repeating the command with the same key (a retry
        /// after a timeout) answers with what the first run created.
        #[arg(long = "request-id", default_value = "")]
        request_id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Record a consent to a contact channel, or its withdrawal (--withdraw).
    Consent {
        #[arg(long)]
        dealer: String,
        customer_id: String,
        /// phone, sms or wechat.
        #[arg(long)]
        channel: String,
        #[arg(long)]
        withdraw: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Replace a customer's profile with the one given.
    Update(crate::file_cli::CustomerUpdate),
    /// One customer's file.
    Show {
        #[arg(long)]
        dealer: String,
        customer_id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// By phone number or part of the name.
    Search {
        #[arg(long)]
        dealer: String,
        query: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub enum VehicleCommand {
    /// A vehicle's owner, sales and service visits.
    History {
        #[arg(long)]
        dealer: String,
        vin: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Open a vehicle file (a car bought elsewhere, or before the system).
    Register(crate::file_cli::VehicleRegister),
    /// Correct a vehicle's plate, model or insurance expiry.
    Update(crate::file_cli::VehicleUpdate),
    /// A new owner (a used-car sale, a family transfer).
    Transfer(crate::file_cli::VehicleTransfer),
    /// Where a vehicle stands: last visit, months since, churn segment.
    Status {
        #[arg(long)]
        dealer: String,
        vin: String,
        /// The day to judge, e.g. 2026-09-30; today at the dealer by default.
        #[arg(long)]
        as_of: Option<jiff::civil::Date>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Args)]
pub struct VisitRecord {
    #[arg(long)]
    dealer: String,
    /// The DMS repair-order number.
    #[arg(long = "ro")]
    repair_order: String,
    #[arg(long)]
    vin: String,
    /// RFC 3339, e.g. 2026-09-01T09:30:00+08:00.
    #[arg(long)]
    opened: String,
    #[arg(long)]
    closed: String,
    #[arg(long, default_value_t = 0)]
    mileage: i64,
    /// maintenance, repair, warranty, accident or other.
    #[arg(long)]
    kind: String,
    #[arg(long)]
    advisor: String,
    #[arg(long, default_value = "")]
    group: String,
    #[arg(long, default_value_t = 0)]
    labour_fen: i64,
    #[arg(long, default_value_t = 0)]
    parts_fen: i64,
    #[arg(long = "fault-code")]
    fault_codes: Vec<String>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Subcommand)]
pub enum VisitCommand {
    /// Record one repair order (as a DMS would).
    Record(VisitRecord),
}

#[derive(Subcommand)]
pub enum LeadCommand {
    /// Capture a lead; web and hotline leads are due for a call within 30 minutes.
    Capture {
        #[arg(long)]
        dealer: String,
        /// hotline, web, referral, walk-in, event or oem.
        #[arg(long)]
        source: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        phone: String,
        #[arg(long, default_value = "")]
        model: String,
        #[arg(long, default_value = "")]
        oem_reference: String,
        #[arg(long, default_value = "")]
        referrer: String,
        /// An idempotency key: repeating the command with the same key (a retry
        /// after a timeout) answers with what the first run created.
        #[arg(long = "request-id", default_value = "")]
        request_id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Confirmed by phone: the lead becomes a lifetime file.
    Verify(crate::file_cli::LeadVerify),
    /// Bought: link the customer and vehicle files.
    Convert(crate::file_cli::LeadConvert),
    /// Lost, with the reason.
    Lose(crate::file_cli::LeadLose),
    /// Leads of a dealer, newest first.
    List {
        #[arg(long)]
        dealer: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn channel(text: &str) -> anyhow::Result<pb::ContactChannel> {
    match text.trim() {
        "phone" => Ok(pb::ContactChannel::Phone),
        "sms" => Ok(pb::ContactChannel::Sms),
        "wechat" => Ok(pb::ContactChannel::Wechat),
        other => Err(anyhow::anyhow!("{other:?}: use phone, sms or wechat")),
    }
}

pub(crate) fn dealer(id: &str) -> Option<DealerId> {
    Some(DealerId {
        value: id.to_owned(),
    })
}

fn timestamp(text: &str, flag: &str) -> anyhow::Result<prost_types::Timestamp> {
    let at: jiff::Timestamp = text
        .parse()
        .map_err(|e| anyhow::anyhow!("--{flag} {text:?}: {e}"))?;
    Ok(prost_types::Timestamp {
        seconds: at.as_second(),
        nanos: at.subsec_nanosecond(),
    })
}

fn print_customers(files: &[pb::CustomerFile], output: Output) {
    match output {
        Output::Json => {
            let list: Vec<_> = files
                .iter()
                .map(|c| json!({ "customer_id": c.customer_id, "name": c.name,
                    "phones": c.phones.iter().map(|p| p.number.clone()).collect::<Vec<_>>(), "district": c.district }))
                .collect();
            println!("{}", json!(list));
        }
        Output::Table => {
            let mut table = crate::table::Table::new(&["CUSTOMER", "NAME", "PHONES", "DISTRICT"]);
            for c in files {
                let phones: Vec<_> = c.phones.iter().map(|p| p.number.as_str()).collect();
                table.row(vec![
                    c.customer_id.clone(),
                    c.name.clone(),
                    phones.join(" "),
                    c.district.clone(),
                ]);
            }
            table.print();
        }
    }
}

pub async fn customer(command: CustomerCommand) -> anyhow::Result<()> {
    match command {
        CustomerCommand::Update(args) => crate::file_cli::update_customer(args).await?,
        CustomerCommand::Register {
            dealer: d,
            name,
            phones,
            district,
            consents,
            request_id,
            client,
        } => {
            let consents = consents
                .iter()
                .map(|c| match c.trim() {
                    "phone" => Ok(pb::ContactChannel::Phone),
                    "sms" => Ok(pb::ContactChannel::Sms),
                    "wechat" => Ok(pb::ContactChannel::Wechat),
                    other => Err(anyhow::anyhow!(
                        "--consent {other:?}: use phone, sms or wechat"
                    )),
                })
                .map(|c| {
                    c.map(|channel| pb::Consent {
                        channel: channel as i32,
                        granted: true,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let profile = pb::CustomerInput {
                name,
                phones,
                district,
                customer_type: pb::CustomerType::Private as i32,
                birthday: None,
            };
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let answer = api
                .register_customer(pb::RegisterCustomerRequest {
                    dealer: dealer(&d),
                    profile: Some(profile),
                    consents,
                    client_request_id: request_id,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match client.output {
                Output::Json => println!(
                    "{}",
                    json!({ "customer_id": answer.customer_id, "position": answer.position.map(|p| p.value) })
                ),
                Output::Table => println!("registered customer {}", answer.customer_id),
            }
        }
        CustomerCommand::Consent {
            dealer: d,
            customer_id,
            channel: c,
            withdraw,
            client,
        } => {
            let consent = pb::Consent {
                channel: channel(&c).map_err(|e| anyhow::anyhow!("--channel {e}"))? as i32,
                granted: !withdraw,
            };
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let answer = api
                .set_contact_consent(pb::SetContactConsentRequest {
                    dealer: dealer(&d),
                    customer_id,
                    consent: Some(consent),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match client.output {
                Output::Json => {
                    println!(
                        "{}",
                        json!({ "changed": answer.changed, "position": answer.position.map(|p| p.value) })
                    )
                }
                Output::Table if answer.changed => println!("recorded"),
                Output::Table => println!("unchanged: already so"),
            }
        }
        CustomerCommand::Show {
            dealer: d,
            customer_id,
            client,
        } => {
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let file = api
                .get_customer(pb::GetCustomerRequest {
                    dealer: dealer(&d),
                    customer_id,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_customers(&[file], client.output);
        }
        CustomerCommand::Search {
            dealer: d,
            query,
            client,
        } => {
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let found = api
                .search_customers(pb::SearchCustomersRequest {
                    dealer: dealer(&d),
                    query,
                    page: Some(PageRequest {
                        page_size: 50,
                        page_token: String::new(),
                    }),
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_customers(&found.customers, client.output);
        }
    }
    Ok(())
}

pub async fn vehicle(command: VehicleCommand) -> anyhow::Result<()> {
    let (d, vin, client) = match command {
        VehicleCommand::History {
            dealer,
            vin,
            client,
        } => (dealer, vin, client),
        VehicleCommand::Status {
            dealer,
            vin,
            as_of,
            client,
        } => return crate::report_cli::vehicle_status(dealer, vin, as_of, client).await,
        VehicleCommand::Register(args) => return crate::file_cli::register_vehicle(args).await,
        VehicleCommand::Update(args) => return crate::file_cli::update_vehicle(args).await,
        VehicleCommand::Transfer(args) => return crate::file_cli::transfer_vehicle(args).await,
    };
    let mut api = IntakeServiceClient::new(client.channel().await?);
    let history = api
        .get_vehicle_history(pb::GetVehicleHistoryRequest {
            dealer: dealer(&d),
            vin,
            consistency: None,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let when = |t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .and_then(|t| jiff::Timestamp::new(t.seconds, t.nanos).ok())
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    match client.output {
        Output::Json => println!(
            "{}",
            json!({ "vin": history.vin, "owner": history.owner_customer_id, "model": history.model,
                "sales": history.sales.iter().map(|s| json!({ "sale_id": s.sale_id, "buyer": s.buyer_customer_id,
                    "price_fen": s.price.map_or(0, |m| m.fen) })).collect::<Vec<_>>(),
                "visits": history.visits.iter().map(|v| json!({ "repair_order": v.repair_order,
                    "closed_at": when(&v.closed_at), "mileage_km": v.mileage_km,
                    "advisor": v.service_advisor })).collect::<Vec<_>>() })
        ),
        Output::Table => {
            println!(
                "vehicle {} {} owner {}",
                history.vin, history.model, history.owner_customer_id
            );
            for s in &history.sales {
                println!(
                    "  sold to {} by {} for {} fen",
                    s.buyer_customer_id,
                    s.sales_consultant,
                    s.price.map_or(0, |m| m.fen)
                );
            }
            let mut table =
                crate::table::Table::new(&["REPAIR ORDER", "CLOSED", ">KM", "ADVISOR"]).indented(2);
            for v in &history.visits {
                table.row(vec![
                    v.repair_order.clone(),
                    when(&v.closed_at).to_string(),
                    v.mileage_km.to_string(),
                    v.service_advisor.clone(),
                ]);
            }
            table.print();
        }
    }
    Ok(())
}

pub async fn visit(command: VisitCommand) -> anyhow::Result<()> {
    let VisitCommand::Record(v) = command;
    let kind = aftercare_intake::domain::visit::VisitKind::parse(&v.kind)
        .map(pb::VisitKind::from)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--kind {:?}: use maintenance, repair, warranty, accident or other",
                v.kind
            )
        })?;
    let order = pb::RepairOrder {
        repair_order: v.repair_order,
        vin: v.vin,
        customer_id: String::new(),
        opened_at: Some(timestamp(&v.opened, "opened")?),
        closed_at: Some(timestamp(&v.closed, "closed")?),
        mileage_km: v.mileage,
        kind: kind as i32,
        labour: Some(Money { fen: v.labour_fen }),
        parts: Some(Money { fen: v.parts_fen }),
        service_advisor: v.advisor,
        advisor_group: v.group,
        fault_codes: v.fault_codes,
    };
    let mut api = IntakeServiceClient::new(v.client.channel().await?);
    let answer = api
        .record_visit(pb::RecordVisitRequest {
            dealer: dealer(&v.dealer),
            repair_order: Some(order),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    match v.client.output {
        Output::Json => println!(
            "{}",
            json!({ "visit_id": answer.visit_id, "already_recorded": answer.already_recorded,
                "position": answer.position.map(|p| p.value) })
        ),
        Output::Table if answer.already_recorded => {
            println!("already recorded as visit {}", answer.visit_id)
        }
        Output::Table => println!("recorded visit {}", answer.visit_id),
    }
    Ok(())
}

pub async fn lead(command: LeadCommand) -> anyhow::Result<()> {
    let (d, client) = match command {
        LeadCommand::List { dealer, client } => (dealer, client),
        LeadCommand::Verify(args) => return crate::file_cli::verify_lead(args).await,
        LeadCommand::Convert(args) => return crate::file_cli::convert_lead(args).await,
        LeadCommand::Lose(args) => return crate::file_cli::lose_lead(args).await,
        LeadCommand::Capture {
            dealer: d,
            source,
            name,
            phone,
            model,
            oem_reference,
            referrer,
            request_id,
            client,
        } => {
            let source = match source.trim() {
                "hotline" => pb::LeadSource::Hotline,
                "web" => pb::LeadSource::Web,
                "referral" => pb::LeadSource::Referral,
                "walk-in" => pb::LeadSource::WalkIn,
                "event" => pb::LeadSource::Event,
                "oem" => pb::LeadSource::Oem,
                other => anyhow::bail!(
                    "--source {other:?}: use hotline, web, referral, walk-in, event or oem"
                ),
            };
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let answer = api
                .capture_lead(pb::CaptureLeadRequest {
                    dealer: dealer(&d),
                    source: source as i32,
                    name,
                    phone,
                    model_of_interest: model,
                    oem_reference,
                    referrer_customer_id: referrer,
                    client_request_id: request_id,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match client.output {
                Output::Json => println!(
                    "{}",
                    json!({ "lead_id": answer.lead_id, "changed": answer.changed })
                ),
                Output::Table => println!("lead {}", answer.lead_id),
            }
            return Ok(());
        }
    };
    let mut api = IntakeServiceClient::new(client.channel().await?);
    let leads = api
        .list_leads(pb::ListLeadsRequest {
            dealer: dealer(&d),
            status: 0,
            source: 0,
            page: None,
            consistency: None,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let name = |status: i32| {
        pb::LeadStatus::try_from(status)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("LEAD_STATUS_")
                    .to_lowercase()
            })
            .unwrap_or_default()
    };
    match client.output {
        Output::Json => println!(
            "{}",
            json!(
                leads
                    .leads
                    .iter()
                    .map(
                        |l| json!({ "lead_id": l.lead_id, "status": name(l.status), "name": l.name,
                "phone": l.phone, "model": l.model_of_interest })
                    )
                    .collect::<Vec<_>>()
            )
        ),
        Output::Table => {
            let mut table = crate::table::Table::new(&["LEAD", "STATUS", "NAME", "PHONE", "MODEL"]);
            for l in &leads.leads {
                table.row(vec![
                    l.lead_id.clone(),
                    name(l.status).to_string(),
                    l.name.clone(),
                    l.phone.clone(),
                    l.model_of_interest.clone(),
                ]);
            }
            table.print();
        }
    }
    Ok(())
}
