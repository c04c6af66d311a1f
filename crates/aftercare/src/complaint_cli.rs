//! `aftercare complaint …`: file, acknowledge, assign, escalate, resolve, close,
//! reopen, list and show complaint tickets.

use aftercare_proto::common::v1::Money;
use aftercare_proto::complaint::v1 as pb;
use aftercare_proto::complaint::v1::complaint_service_client::ComplaintServiceClient;
use clap::{Subcommand, ValueEnum};

use crate::client::{ClientArgs, Output, status_error};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ChannelArg {
    WalkIn,
    Phone,
    Callback,
    OemHotline,
    ConsumerAssociation,
    Media,
    GroupHq,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SatisfactionArg {
    Satisfied,
    Neutral,
    Dissatisfied,
}

#[derive(Subcommand)]
pub enum ComplaintCommand {
    /// File a complaint; the receiver (you, by default) owns it until it is resolved.
    File {
        #[arg(long)]
        dealer: String,
        #[arg(long, value_enum)]
        channel: ChannelArg,
        #[arg(long)]
        description: String,
        /// The OEM's ticket number (required for the OEM hotline).
        #[arg(long, default_value = "")]
        oem_ticket: String,
        /// 1-5; the channel's default when not given.
        #[arg(long)]
        grade: Option<u32>,
        #[arg(long, default_value = "")]
        customer: String,
        #[arg(long, default_value = "")]
        vin: String,
        #[arg(long)]
        product_liability: bool,
        #[arg(long, default_value = "")]
        receiver: String,
        /// An idempotency key: repeating the command with the same key (a retry
        /// after a timeout) answers with what the first run created.
        #[arg(long = "request-id", default_value = "")]
        request_id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The first response: the ticket is being worked on.
    Ack {
        #[arg(long)]
        dealer: String,
        ticket: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    Assign {
        #[arg(long)]
        dealer: String,
        ticket: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Raise the grade and hand the ticket to the next handler.
    Escalate {
        #[arg(long)]
        dealer: String,
        ticket: String,
        #[arg(long)]
        reason: String,
        /// The customer complained again.
        #[arg(long)]
        again: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    Resolve {
        #[arg(long)]
        dealer: String,
        ticket: String,
        #[arg(long)]
        resolution: String,
        /// Compensation in fen (1/100 yuan).
        #[arg(long, default_value_t = 0)]
        compensation_fen: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Close a resolved ticket with the customer's satisfaction.
    Close {
        #[arg(long)]
        dealer: String,
        ticket: String,
        #[arg(long, value_enum)]
        satisfaction: SatisfactionArg,
        #[command(flatten)]
        client: ClientArgs,
    },
    Reopen {
        #[arg(long)]
        dealer: String,
        ticket: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Tickets of a dealer, newest first.
    List {
        #[arg(long)]
        dealer: String,
        #[arg(long, default_value = "")]
        status: String,
        #[arg(long)]
        grade: Option<u32>,
        #[arg(long, default_value = "")]
        owner: String,
        #[arg(long)]
        overdue: bool,
        /// The next page, as the previous page's last line names it.
        #[arg(long, default_value = "")]
        page_token: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// One ticket with its timeline.
    Show {
        #[arg(long)]
        dealer: String,
        ticket: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn changed(output: Output, answer: pb::ComplaintCommandResponse) {
    let position = answer.position.map_or(0, |p| p.value);
    match output {
        Output::Json => crate::client::print_json(&answer),
        Output::Table | Output::Csv if answer.already_filed => {
            println!("complaint {} already filed", answer.ticket_id)
        }
        Output::Table | Output::Csv if answer.changed => {
            println!("complaint {} (position {position})", answer.ticket_id)
        }
        Output::Table | Output::Csv => {
            println!("complaint {}: nothing to change", answer.ticket_id)
        }
    }
}

pub async fn complaint(command: ComplaintCommand) -> anyhow::Result<()> {
    use ComplaintCommand::*;
    let client = match &command {
        File { client, .. }
        | Ack { client, .. }
        | Assign { client, .. }
        | Escalate { client, .. }
        | Resolve { client, .. }
        | Close { client, .. }
        | Reopen { client, .. }
        | List { client, .. }
        | Show { client, .. } => client.clone(),
    };
    let mut api = ComplaintServiceClient::new(client.channel().await?);
    let output = client.output;
    let answer = match command {
        File {
            dealer,
            channel,
            description,
            oem_ticket,
            grade,
            customer,
            vin,
            product_liability,
            receiver,
            request_id,
            ..
        } => {
            let channel = match channel {
                ChannelArg::WalkIn => pb::Channel::WalkIn,
                ChannelArg::Phone => pb::Channel::Phone,
                ChannelArg::Callback => pb::Channel::Callback,
                ChannelArg::OemHotline => pb::Channel::OemHotline,
                ChannelArg::ConsumerAssociation => pb::Channel::ConsumerAssociation,
                ChannelArg::Media => pb::Channel::Media,
                ChannelArg::GroupHq => pb::Channel::GroupHq,
            };
            api.file_complaint(pb::FileComplaintRequest {
                dealer: crate::client::dealer(&dealer),
                channel: channel as i32,
                oem_ticket,
                grade: grade.unwrap_or(0),
                customer_id: customer,
                vin,
                description,
                product_liability,
                receiver,
                client_request_id: request_id,
            })
            .await
        }
        Ack { dealer, ticket, .. } => {
            api.acknowledge_complaint(pb::TicketRequest {
                dealer: crate::client::dealer(&dealer),
                ticket_id: ticket,
            })
            .await
        }
        Assign {
            dealer, ticket, to, ..
        } => {
            api.assign_complaint(pb::AssignComplaintRequest {
                dealer: crate::client::dealer(&dealer),
                ticket_id: ticket,
                to,
            })
            .await
        }
        Escalate {
            dealer,
            ticket,
            reason,
            again,
            ..
        } => {
            api.escalate_complaint(pb::EscalateComplaintRequest {
                dealer: crate::client::dealer(&dealer),
                ticket_id: ticket,
                reason,
                complained_again: again,
            })
            .await
        }
        Resolve {
            dealer,
            ticket,
            resolution,
            compensation_fen,
            ..
        } => {
            api.resolve_complaint(pb::ResolveComplaintRequest {
                dealer: crate::client::dealer(&dealer),
                ticket_id: ticket,
                resolution,
                compensation: Some(Money {
                    fen: compensation_fen,
                }),
            })
            .await
        }
        Close {
            dealer,
            ticket,
            satisfaction,
            ..
        } => {
            let satisfaction = match satisfaction {
                SatisfactionArg::Satisfied => pb::Satisfaction::Satisfied,
                SatisfactionArg::Neutral => pb::Satisfaction::Neutral,
                SatisfactionArg::Dissatisfied => pb::Satisfaction::Dissatisfied,
            };
            api.close_complaint(pb::CloseComplaintRequest {
                dealer: crate::client::dealer(&dealer),
                ticket_id: ticket,
                satisfaction: satisfaction as i32,
            })
            .await
        }
        Reopen {
            dealer,
            ticket,
            reason,
            ..
        } => {
            api.reopen_complaint(pb::ReopenComplaintRequest {
                dealer: crate::client::dealer(&dealer),
                ticket_id: ticket,
                reason,
            })
            .await
        }
        List {
            dealer,
            status,
            grade,
            owner,
            overdue,
            page_token,
            ..
        } => {
            let list = api
                .list_complaints(pb::ListComplaintsRequest {
                    dealer: crate::client::dealer(&dealer),
                    status,
                    grade: grade.unwrap_or(0),
                    owner,
                    overdue_only: overdue,
                    consistency: None,
                    page: Some(aftercare_proto::common::v1::PageRequest {
                        page_size: 50,
                        page_token,
                    }),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&list),
                Output::Table | Output::Csv => {
                    let mut table = crate::table::Table::new(&[
                        "TICKET",
                        ">GRADE",
                        "STATUS",
                        "HANDLER",
                        "OWNER",
                        "OVERDUE",
                        "RESOLVE BY",
                    ]);
                    for t in &list.tickets {
                        table.row(vec![
                            t.ticket_id.clone(),
                            t.grade.to_string(),
                            t.status.clone(),
                            t.handler.clone(),
                            t.owner.clone(),
                            if t.overdue { "yes" } else { "" }.to_owned(),
                            crate::client::local_time(t.resolve_by.as_ref()),
                        ]);
                    }
                    table.print();
                    crate::client::print_page(list.tickets.len(), list.page.as_ref());
                }
            }
            return Ok(());
        }
        Show { dealer, ticket, .. } => {
            let t = api
                .get_complaint(pb::GetComplaintRequest {
                    dealer: crate::client::dealer(&dealer),
                    ticket_id: ticket,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&t),
                Output::Table | Output::Csv => {
                    println!("complaint {} at {}: {}", t.ticket_id, t.dealer, t.status);
                    println!(
                        "grade {} handled by {}, owned by {}",
                        t.grade, t.handler, t.owner
                    );
                    if !t.oem_ticket.is_empty() {
                        println!("OEM ticket {}", t.oem_ticket);
                    }
                    println!("{}", t.description);
                    let mut table =
                        crate::table::Table::new(&["AT", "WHAT", "BY", "DETAIL", "NOTE"])
                            .indented(2);
                    for e in &t.timeline {
                        table.row(vec![
                            crate::client::local_time(e.at.as_ref()),
                            e.kind.clone(),
                            e.by.clone(),
                            e.detail.clone(),
                            e.note.clone(),
                        ]);
                    }
                    table.print();
                }
            }
            return Ok(());
        }
    };
    changed(output, answer.map_err(status_error)?.into_inner());
    Ok(())
}
