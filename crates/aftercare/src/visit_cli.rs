//! `aftercare visit …`: record a repair order by hand, as a DMS would.

use aftercare_proto::common::v1::Money;
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use clap::{Args, Subcommand};

use crate::client::{ClientArgs, Output, dealer, status_error, timestamp};

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
        Output::Json => crate::client::print_json(&answer),
        Output::Table | Output::Csv if answer.already_recorded => {
            println!("already recorded as visit {}", answer.visit_id)
        }
        Output::Table | Output::Csv => println!("recorded visit {}", answer.visit_id),
    }
    Ok(())
}
