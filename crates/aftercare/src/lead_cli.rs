//! `aftercare lead …`: capture, verify, convert, lose and list leads. Each is one
//! gRPC call; tables by default, JSON with `--output json`.

use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use clap::{Args, Subcommand};

use crate::client::{ClientArgs, Output, dealer, position, print_json, report, status_error};

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
    Verify(LeadVerify),
    /// Bought: link the customer and vehicle files.
    Convert(LeadConvert),
    /// Lost, with the reason.
    Lose(LeadLose),
    /// Leads of a dealer, newest first.
    List {
        #[arg(long)]
        dealer: String,
        /// The next page, as the previous page's last line names it.
        #[arg(long, default_value = "")]
        page_token: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub async fn lead(command: LeadCommand) -> anyhow::Result<()> {
    let (d, page_token, client) = match command {
        LeadCommand::List {
            dealer,
            page_token,
            client,
        } => (dealer, page_token, client),
        LeadCommand::Verify(args) => return verify_lead(args).await,
        LeadCommand::Convert(args) => return convert_lead(args).await,
        LeadCommand::Lose(args) => return lose_lead(args).await,
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
                Output::Json => print_json(&answer),
                Output::Table | Output::Csv => println!("lead {}", answer.lead_id),
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
            page: Some(aftercare_proto::common::v1::PageRequest {
                page_size: 50,
                page_token,
            }),
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
        Output::Json => print_json(&leads),
        Output::Table | Output::Csv => {
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
            crate::client::print_page(leads.leads.len(), leads.page.as_ref());
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct LeadVerify {
    #[arg(long)]
    dealer: String,
    lead_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Args)]
pub struct LeadConvert {
    #[arg(long)]
    dealer: String,
    lead_id: String,
    /// The customer file the lead became.
    #[arg(long)]
    customer: String,
    /// The vehicle file of the car bought.
    #[arg(long)]
    vehicle: String,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Args)]
pub struct LeadLose {
    #[arg(long)]
    dealer: String,
    lead_id: String,
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    client: ClientArgs,
}

fn lead_report(output: Output, answer: &pb::LeadCommandResponse) {
    report(
        output,
        answer,
        "lead",
        &answer.lead_id,
        answer.changed,
        position(answer.position),
    );
}

pub async fn verify_lead(args: LeadVerify) -> anyhow::Result<()> {
    let mut api = IntakeServiceClient::new(args.client.channel().await?);
    let answer = api
        .verify_lead(pb::LeadRequest {
            dealer: dealer(&args.dealer),
            lead_id: args.lead_id,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    lead_report(args.client.output, &answer);
    Ok(())
}

pub async fn convert_lead(args: LeadConvert) -> anyhow::Result<()> {
    let mut api = IntakeServiceClient::new(args.client.channel().await?);
    let answer = api
        .convert_lead(pb::ConvertLeadRequest {
            dealer: dealer(&args.dealer),
            lead_id: args.lead_id,
            customer_id: args.customer,
            vehicle_id: args.vehicle,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    lead_report(args.client.output, &answer);
    Ok(())
}

pub async fn lose_lead(args: LeadLose) -> anyhow::Result<()> {
    let mut api = IntakeServiceClient::new(args.client.channel().await?);
    let answer = api
        .lose_lead(pb::LoseLeadRequest {
            dealer: dealer(&args.dealer),
            lead_id: args.lead_id,
            reason: args.reason,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    lead_report(args.client.output, &answer);
    Ok(())
}
