//! `aftercare vehicle …`: register, update and transfer vehicles, and show a
//! vehicle's history. Each is one gRPC call; tables by default, JSON with
//! `--output json`.

use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use clap::{Args, Subcommand};

use crate::client::{ClientArgs, Output, date, dealer, position, print_json, report, status_error};

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
    Register(VehicleRegister),
    /// Correct a vehicle's plate, model or insurance expiry.
    Update(VehicleUpdate),
    /// A new owner (a used-car sale, a family transfer).
    Transfer(VehicleTransfer),
    /// What a vehicle is worth to the workshop: RFM scores and segment, ABC class.
    Value {
        #[arg(long)]
        dealer: String,
        vin: String,
        /// The day, e.g. 2026-11-30; today at the dealer by default.
        #[arg(long)]
        as_of: Option<jiff::civil::Date>,
        #[command(flatten)]
        client: ClientArgs,
    },
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
        VehicleCommand::Value {
            dealer,
            vin,
            as_of,
            client,
        } => return crate::report_cli::vehicle_value(dealer, vin, as_of, client).await,
        VehicleCommand::Register(args) => return register_vehicle(args).await,
        VehicleCommand::Update(args) => return update_vehicle(args).await,
        VehicleCommand::Transfer(args) => return transfer_vehicle(args).await,
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
    match client.output {
        Output::Json => print_json(&history),
        Output::Table | Output::Csv => {
            println!(
                "vehicle {} {} owner {}",
                history.vin, history.model, history.owner_customer_id
            );
            for s in &history.sales {
                let on = s
                    .sold_on
                    .as_ref()
                    .and_then(|d| aftercare_proto::calendar::date(d).ok())
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                println!(
                    "  sold on {on} to {} by {} for {} yuan",
                    s.buyer_customer_id,
                    s.sales_consultant,
                    aftercare_kernel::money::yuan(s.price.map_or(0, |m| m.fen))
                );
            }
            let mut table =
                crate::table::Table::new(&["REPAIR ORDER", "CLOSED", ">KM", "ADVISOR"]).indented(2);
            for v in &history.visits {
                table.row(vec![
                    v.repair_order.clone(),
                    crate::client::local_time(v.closed_at.as_ref()),
                    v.mileage_km.to_string(),
                    v.service_advisor.clone(),
                ]);
            }
            table.print();
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct VehicleRegister {
    #[arg(long)]
    dealer: String,
    vin: String,
    #[arg(long, default_value = "")]
    plate: String,
    #[arg(long, default_value = "")]
    model: String,
    #[arg(long, default_value = "")]
    owner: String,
    #[arg(long)]
    purchase_date: Option<jiff::civil::Date>,
    #[arg(long)]
    insurance_expiry: Option<jiff::civil::Date>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Args)]
pub struct VehicleUpdate {
    #[arg(long)]
    dealer: String,
    vin: String,
    #[arg(long, default_value = "")]
    plate: String,
    #[arg(long, default_value = "")]
    model: String,
    #[arg(long)]
    insurance_expiry: Option<jiff::civil::Date>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Args)]
pub struct VehicleTransfer {
    #[arg(long)]
    dealer: String,
    vin: String,
    /// The new owner's customer id.
    #[arg(long = "to")]
    to_customer_id: String,
    /// The day of the transfer.
    #[arg(long)]
    on: jiff::civil::Date,
    #[command(flatten)]
    client: ClientArgs,
}

fn vehicle_report(output: Output, answer: &pb::RecordSaleResponse) {
    report(
        output,
        answer,
        "vehicle",
        &answer.vehicle_id,
        !answer.already_recorded,
        position(answer.position),
    );
}

pub async fn register_vehicle(args: VehicleRegister) -> anyhow::Result<()> {
    let mut api = IntakeServiceClient::new(args.client.channel().await?);
    let answer = api
        .register_vehicle(pb::RegisterVehicleRequest {
            dealer: dealer(&args.dealer),
            vin: args.vin,
            plate: args.plate,
            model: args.model,
            owner_customer_id: args.owner,
            purchase_date: date(args.purchase_date),
            insurance_expiry: date(args.insurance_expiry),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    vehicle_report(args.client.output, &answer);
    Ok(())
}

pub async fn update_vehicle(args: VehicleUpdate) -> anyhow::Result<()> {
    let mut api = IntakeServiceClient::new(args.client.channel().await?);
    let answer = api
        .update_vehicle(pb::UpdateVehicleRequest {
            dealer: dealer(&args.dealer),
            vin: args.vin,
            plate: args.plate,
            model: args.model,
            insurance_expiry: date(args.insurance_expiry),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    vehicle_report(args.client.output, &answer);
    Ok(())
}

pub async fn transfer_vehicle(args: VehicleTransfer) -> anyhow::Result<()> {
    let mut api = IntakeServiceClient::new(args.client.channel().await?);
    let answer = api
        .transfer_ownership(pb::TransferOwnershipRequest {
            dealer: dealer(&args.dealer),
            vin: args.vin,
            to_customer_id: args.to_customer_id,
            transferred_on: date(Some(args.on)),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    vehicle_report(args.client.output, &answer);
    Ok(())
}
