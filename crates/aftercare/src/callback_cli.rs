//! `aftercare callback …`: the day's worklist, claiming a task, recording a call
//! attempt and what a reached call came to, one task, and the month's measures.

use aftercare_proto::callback::v1 as pb;
use aftercare_proto::callback::v1::callback_service_client::CallbackServiceClient;
use clap::{Subcommand, ValueEnum};

use crate::client::{ClientArgs, Output, status_error};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    PostSale,
    PostService,
    Lead,
    Winback,
    FirstService,
    Maintenance,
    Insurance,
    Birthday,
    Inspection,
    ChurnRisk,
}

impl KindArg {
    fn proto(self) -> pb::TaskKind {
        match self {
            KindArg::PostSale => pb::TaskKind::PostSale,
            KindArg::PostService => pb::TaskKind::PostService,
            KindArg::Lead => pb::TaskKind::LeadFirstContact,
            KindArg::Winback => pb::TaskKind::Winback,
            KindArg::FirstService => pb::TaskKind::FirstServiceReminder,
            KindArg::Maintenance => pb::TaskKind::MaintenanceReminder,
            KindArg::Insurance => pb::TaskKind::InsuranceReminder,
            KindArg::Birthday => pb::TaskKind::Birthday,
            KindArg::Inspection => pb::TaskKind::InspectionReminder,
            KindArg::ChurnRisk => pb::TaskKind::ChurnRisk,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ResultArg {
    NoAnswer,
    Busy,
    WrongNumber,
    Refused,
    Reached,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ChurnReasonArg {
    MileageNotDue,
    NoTime,
    CarSold,
    MovedAway,
    OtherDealer,
    IndependentShop,
    Price,
    ServiceQuality,
    Distance,
    InsurerSentElsewhere,
}

#[derive(Subcommand)]
pub enum CallbackCommand {
    /// Tasks due now, the earliest deadline first.
    Worklist {
        #[arg(long)]
        dealer: String,
        /// Only this agent's or advisor's tasks.
        #[arg(long, default_value = "")]
        assignee: String,
        #[arg(long, value_enum)]
        kind: Vec<KindArg>,
        /// The next page, as the previous page's last line names it.
        #[arg(long, default_value = "")]
        page_token: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Take a task: nobody else calls it.
    Claim {
        #[arg(long)]
        dealer: String,
        task: String,
        /// Claim for someone else (managers).
        #[arg(long = "for", default_value = "")]
        agent: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Hand a task to someone else (managers).
    Reassign {
        #[arg(long)]
        dealer: String,
        task: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Record a call: no answer and busy are tried again the next working day.
    Attempt {
        #[arg(long)]
        dealer: String,
        task: String,
        #[arg(long, value_enum)]
        result: ResultArg,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// What a reached call came to.
    Outcome {
        #[arg(long)]
        dealer: String,
        task: String,
        /// 1 (very dissatisfied) to 5 (very satisfied).
        #[arg(long)]
        satisfaction: Option<u32>,
        /// An appointment on this day (YYYY-MM-DD) …
        #[arg(long)]
        appointment: Option<String>,
        /// … in this slot of the day.
        #[arg(long, default_value_t = 1)]
        slot: u32,
        #[arg(long, value_enum)]
        churn_reason: Option<ChurnReasonArg>,
        /// What the customer complained about: filed as a complaint, once.
        #[arg(long, default_value = "")]
        complaint: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// One task.
    Show {
        #[arg(long)]
        dealer: String,
        task: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Schedule the birthdays and inspections falling due now (the server
    /// does this every hour).
    Sweep {
        #[arg(long)]
        dealer: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The month's callback measures, for the dealer and each person.
    Measures {
        #[arg(long)]
        dealer: String,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn kind_name(kind: i32) -> &'static str {
    match pb::TaskKind::try_from(kind) {
        Ok(pb::TaskKind::PostSale) => "post-sale",
        Ok(pb::TaskKind::PostService) => "post-service",
        Ok(pb::TaskKind::LeadFirstContact) => "lead",
        Ok(pb::TaskKind::Winback) => "winback",
        Ok(pb::TaskKind::FirstServiceReminder) => "first-service",
        Ok(pb::TaskKind::MaintenanceReminder) => "maintenance",
        Ok(pb::TaskKind::InsuranceReminder) => "insurance",
        Ok(pb::TaskKind::Birthday) => "birthday",
        Ok(pb::TaskKind::InspectionReminder) => "inspection",
        Ok(pb::TaskKind::ChurnRisk) => "churn-risk",
        _ => "",
    }
}

fn status_name(status: i32) -> &'static str {
    match pb::TaskStatus::try_from(status) {
        Ok(pb::TaskStatus::Open) => "open",
        Ok(pb::TaskStatus::Claimed) => "claimed",
        Ok(pb::TaskStatus::Reached) => "reached",
        Ok(pb::TaskStatus::Unreached) => "unreached",
        Ok(pb::TaskStatus::Superseded) => "superseded",
        _ => "",
    }
}

fn percent(ratio: Option<&pb::Ratio>) -> String {
    match ratio {
        Some(r) if r.denominator > 0 => {
            format!("{:.1}% ({}/{})", r.rate * 100.0, r.numerator, r.denominator)
        }
        _ => "–".to_owned(),
    }
}

pub async fn callback(command: CallbackCommand) -> anyhow::Result<()> {
    use CallbackCommand::*;
    let client = match &command {
        Worklist { client, .. }
        | Claim { client, .. }
        | Reassign { client, .. }
        | Attempt { client, .. }
        | Outcome { client, .. }
        | Show { client, .. }
        | Sweep { client, .. }
        | Measures { client, .. } => client.clone(),
    };
    let mut api = CallbackServiceClient::new(client.channel().await?);
    let output = client.output;
    let answer = match command {
        Worklist {
            dealer,
            assignee,
            kind,
            page_token,
            ..
        } => {
            let list = api
                .worklist(pb::WorklistRequest {
                    dealer: crate::client::dealer(&dealer),
                    assignee,
                    kinds: kind.iter().map(|k| k.proto() as i32).collect(),
                    page: Some(aftercare_proto::common::v1::PageRequest {
                        page_size: 50,
                        page_token,
                    }),
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&list),
                Output::Table | Output::Csv => {
                    let mut table = crate::table::Table::new(&[
                        "TASK", "KIND", "DUE", "OVERDUE", "CUSTOMER", "PHONE", "VEHICLE", "FOR",
                        "ATTEMPTS", "WHY",
                    ]);
                    for t in &list.tasks {
                        table.row(vec![
                            t.task_id.clone(),
                            kind_name(t.kind).to_owned(),
                            crate::client::local_time(t.due_at.as_ref()),
                            if t.overdue { "yes" } else { "" }.to_owned(),
                            t.customer_name.clone(),
                            t.phone.clone(),
                            [t.vin.as_str(), t.model.as_str()]
                                .iter()
                                .filter(|s| !s.is_empty())
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(" "),
                            if t.claimed_by.is_empty() {
                                t.assignee.clone()
                            } else {
                                t.claimed_by.clone()
                            },
                            t.attempts.to_string(),
                            t.cause.clone(),
                        ]);
                    }
                    table.print();
                    if list.overdue > 0 {
                        println!("{} overdue", list.overdue);
                    }
                    crate::client::print_page(list.tasks.len(), list.page.as_ref());
                }
            }
            return Ok(());
        }
        Claim {
            dealer,
            task,
            agent,
            ..
        } => {
            api.claim_task(pb::ClaimTaskRequest {
                dealer: crate::client::dealer(&dealer),
                task_id: task,
                agent,
            })
            .await
        }
        Reassign {
            dealer, task, to, ..
        } => {
            api.reassign_task(pb::ReassignTaskRequest {
                dealer: crate::client::dealer(&dealer),
                task_id: task,
                to_agent: to,
            })
            .await
        }
        Attempt {
            dealer,
            task,
            result,
            note,
            ..
        } => {
            let result = match result {
                ResultArg::NoAnswer => pb::AttemptResult::NoAnswer,
                ResultArg::Busy => pb::AttemptResult::Busy,
                ResultArg::WrongNumber => pb::AttemptResult::WrongNumber,
                ResultArg::Refused => pb::AttemptResult::Refused,
                ResultArg::Reached => pb::AttemptResult::Reached,
            };
            // The time of the call is sent, so a retry of this command is
            // recognised as the same call.
            let at = aftercare_proto::calendar::timestamp(jiff::Timestamp::now());
            api.record_attempt(pb::RecordAttemptRequest {
                dealer: crate::client::dealer(&dealer),
                task_id: task,
                result: result as i32,
                note,
                at: Some(at),
            })
            .await
        }
        Outcome {
            dealer,
            task,
            satisfaction,
            appointment,
            slot,
            churn_reason,
            complaint,
            note,
            ..
        } => {
            let appointment = match appointment {
                Some(day) => {
                    let day: jiff::civil::Date = day.parse().map_err(|e| {
                        anyhow::anyhow!("--appointment {day:?}: not a day like 2026-12-03: {e}")
                    })?;
                    Some(pb::Appointment {
                        date: Some(aftercare_proto::calendar::to_date(day)),
                        slot,
                    })
                }
                None => None,
            };
            let churn_reason = churn_reason.map_or(pb::ChurnReason::Unspecified, |r| match r {
                ChurnReasonArg::MileageNotDue => pb::ChurnReason::MileageNotDue,
                ChurnReasonArg::NoTime => pb::ChurnReason::NoTime,
                ChurnReasonArg::CarSold => pb::ChurnReason::CarSold,
                ChurnReasonArg::MovedAway => pb::ChurnReason::MovedAway,
                ChurnReasonArg::OtherDealer => pb::ChurnReason::OtherDealer,
                ChurnReasonArg::IndependentShop => pb::ChurnReason::IndependentShop,
                ChurnReasonArg::Price => pb::ChurnReason::Price,
                ChurnReasonArg::ServiceQuality => pb::ChurnReason::ServiceQuality,
                ChurnReasonArg::Distance => pb::ChurnReason::Distance,
                ChurnReasonArg::InsurerSentElsewhere => pb::ChurnReason::InsurerSentElsewhere,
            });
            api.record_outcome(pb::RecordOutcomeRequest {
                dealer: crate::client::dealer(&dealer),
                task_id: task,
                satisfaction: satisfaction.map_or(0, |s| s as i32),
                appointment,
                churn_reason: churn_reason as i32,
                note,
                complaint,
            })
            .await
        }
        Show { dealer, task, .. } => {
            let t = api
                .get_task(pb::GetTaskRequest {
                    dealer: crate::client::dealer(&dealer),
                    task_id: task,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&t),
                Output::Table | Output::Csv => {
                    println!(
                        "{} task {}: {}",
                        kind_name(t.kind),
                        t.task_id,
                        status_name(t.status)
                    );
                    println!("why: {}", t.cause);
                    println!(
                        "due: {}{}",
                        t.due_at_text,
                        if t.overdue { " (overdue)" } else { "" }
                    );
                    if !t.customer_name.is_empty() || !t.phone.is_empty() {
                        println!("call: {} {}", t.customer_name, t.phone);
                    }
                    if !t.vin.is_empty() {
                        println!("vehicle: {} {}", t.vin, t.model);
                    }
                    if !t.assignee.is_empty() {
                        println!("for: {}", t.assignee);
                    }
                    if !t.claimed_by.is_empty() {
                        println!("claimed by: {}", t.claimed_by);
                    }
                    println!("attempts: {}", t.attempts);
                    if t.next_attempt_at.is_some() {
                        println!(
                            "next attempt: {}",
                            crate::client::local_time(t.next_attempt_at.as_ref())
                        );
                    }
                    if t.satisfaction > 0 {
                        println!("satisfaction: {} of 5", t.satisfaction);
                    }
                    if t.complaint {
                        println!("complained on the call: filed as a complaint");
                    }
                    if t.returned {
                        println!("the vehicle came back after the call");
                    }
                    if let Some(a) = &t.appointment {
                        let d = a.date.unwrap_or_default();
                        println!(
                            "appointment: {:04}-{:02}-{:02}, slot {}{}",
                            d.year,
                            d.month,
                            d.day,
                            a.slot,
                            if t.appointment_kept { " (kept)" } else { "" }
                        );
                    }
                }
            }
            return Ok(());
        }
        Sweep { dealer, .. } => {
            let swept = api
                .sweep_tasks(pb::SweepTasksRequest {
                    dealer: crate::client::dealer(&dealer),
                    as_of: None,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&swept),
                Output::Table | Output::Csv => println!("{} reminders scheduled", swept.scheduled),
            }
            return Ok(());
        }
        Measures {
            dealer, month: m, ..
        } => {
            let answer = api
                .measures(pb::MeasuresRequest {
                    dealer: crate::client::dealer(&dealer),
                    month: Some(crate::report_cli::year_month(&m)?),
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&answer),
                Output::Table | Output::Csv => {
                    let mut table = crate::table::Table::new(&[
                        "WHO",
                        "CALLBACK RATE",
                        "REACH RATE",
                        "SALES SATISFACTION",
                        "SERVICE SATISFACTION",
                        "LEADS IN 30 MIN",
                        "WINBACK APPOINTMENTS",
                        "RETURNED",
                        "REMINDERS CONVERTED",
                        "APPOINTMENTS KEPT",
                        ">UNREACHED",
                    ]);
                    let row = |who: String, f: &pb::Figures| {
                        vec![
                            who,
                            percent(f.callback_rate.as_ref()),
                            percent(f.reach_rate.as_ref()),
                            percent(f.sales_satisfaction.as_ref()),
                            percent(f.service_satisfaction.as_ref()),
                            percent(f.lead_compliance.as_ref()),
                            percent(f.winback_appointment_rate.as_ref()),
                            percent(f.return_rate.as_ref()),
                            percent(f.reminder_conversion.as_ref()),
                            percent(f.appointment_show_rate.as_ref()),
                            f.unreached.to_string(),
                        ]
                    };
                    table.row(row(
                        format!("dealer {dealer}"),
                        &answer.dealer.unwrap_or_default(),
                    ));
                    for p in &answer.people {
                        table.row(row(p.person.clone(), &p.figures.unwrap_or_default()));
                    }
                    table.print();
                    println!(
                        "not contactable (no consent to calls): {}; history not called: {}",
                        answer.not_contactable, answer.not_scheduled_history
                    );
                }
            }
            return Ok(());
        }
    };
    let answer = answer.map_err(status_error)?.into_inner();
    let at = answer.position.map_or(0, |p| p.value);
    crate::client::report(output, &answer, "task", &answer.task_id, answer.changed, at);
    Ok(())
}
