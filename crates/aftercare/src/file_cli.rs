//! The CLI's changes to customer and vehicle files and to leads: `customer
//! update`, `vehicle register|update|transfer`, `lead verify|convert|lose`. Each is
//! one gRPC call, answered with what changed and the event position.

use aftercare_proto::common::v1::{Date, Position};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use clap::Args;
use serde_json::json;

use crate::client::{ClientArgs, Output, status_error};
use crate::intake_cli::dealer;

fn date(d: Option<jiff::civil::Date>) -> Option<Date> {
    d.map(|d| Date {
        year: i32::from(d.year()),
        month: d.month() as u32,
        day: d.day() as u32,
    })
}

fn position(p: Option<Position>) -> u64 {
    p.map_or(0, |p| p.value)
}

/// What a change did, as a line or as JSON.
fn report(output: Output, what: &str, id: &str, changed: bool, at: u64) {
    match output {
        Output::Json => println!(
            "{}",
            json!({ "id": id, "changed": changed, "position": at })
        ),
        Output::Table if changed => println!("{what} {id} (position {at})"),
        Output::Table => println!("{what} {id}: nothing to change"),
    }
}

#[derive(Args)]
pub struct CustomerUpdate {
    #[arg(long)]
    dealer: String,
    customer_id: String,
    /// The profile as it is now: every field, not a patch.
    #[arg(long)]
    name: String,
    #[arg(long = "phone", required = true)]
    phones: Vec<String>,
    #[arg(long, default_value = "")]
    district: String,
    /// private, corporate or government.
    #[arg(long, default_value = "private")]
    customer_type: String,
    #[arg(long)]
    birthday: Option<jiff::civil::Date>,
    #[command(flatten)]
    client: ClientArgs,
}

pub async fn update_customer(args: CustomerUpdate) -> anyhow::Result<()> {
    let customer_type = match args.customer_type.as_str() {
        "private" => pb::CustomerType::Private,
        "corporate" => pb::CustomerType::Corporate,
        "government" => pb::CustomerType::Government,
        other => anyhow::bail!("--customer-type {other:?}: use private, corporate or government"),
    };
    let mut api = IntakeServiceClient::new(args.client.channel().await?);
    let answer = api
        .update_customer(pb::UpdateCustomerRequest {
            dealer: dealer(&args.dealer),
            customer_id: args.customer_id,
            profile: Some(pb::CustomerInput {
                name: args.name,
                phones: args.phones,
                district: args.district,
                customer_type: customer_type as i32,
                birthday: date(args.birthday),
            }),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    report(
        args.client.output,
        "customer",
        &answer.customer_id,
        answer.changed,
        position(answer.position),
    );
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
