//! `aftercare dlq …`: the dead letters an operator acts on. List them (open
//! ones by default), show one with its reason, retry one or all of a
//! projection's after the fix that makes them apply.

use aftercare_proto::system::v1 as pb;
use aftercare_proto::system::v1::system_service_client::SystemServiceClient;
use clap::Subcommand;

use crate::client::{ClientArgs, Output, local_time, position, print_json, status_error};

#[derive(Subcommand)]
pub enum DlqCommand {
    /// Dead letters not yet applied by a retry, oldest first.
    List {
        /// One projection or policy (`analytics_churn`), or a kind of refused
        /// input (`visits`).
        #[arg(long, default_value = "")]
        projection: String,
        /// Also the letters a retry has applied.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// One letter in full: its event, its reason, its retries.
    Show {
        /// The letter's id as `dlq list` shows it (`analytics_churn@1234`).
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Apply letters again, once the cause is fixed: one by its id, or every
    /// open letter of one projection or policy with `--projection`. The replica
    /// running it applies each once; `dlq list` shows how it went.
    Retry {
        /// The letter's id (`analytics_churn@1234`).
        #[arg(required_unless_present = "projection", conflicts_with = "projection")]
        id: Option<String>,
        #[arg(long)]
        projection: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub async fn dlq(command: DlqCommand) -> anyhow::Result<()> {
    match command {
        DlqCommand::List {
            projection,
            all,
            client,
        } => {
            let answer = list(&client, projection, all, String::new()).await?;
            match client.output {
                Output::Json => print_json(&answer),
                Output::Table | Output::Csv => print_table(&answer.letters),
            }
        }
        DlqCommand::Show { id, client } => {
            let answer = list(&client, String::new(), true, id).await?;
            match client.output {
                Output::Json => print_json(&answer),
                Output::Table | Output::Csv => {
                    for letter in &answer.letters {
                        print_letter(letter);
                    }
                }
            }
        }
        DlqCommand::Retry {
            id,
            projection,
            client,
        } => {
            let mut system = SystemServiceClient::new(client.channel().await?);
            let answer = system
                .retry_dead_letters(pb::RetryDeadLettersRequest {
                    id: id.unwrap_or_default(),
                    runner: projection.unwrap_or_default(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match client.output {
                Output::Json => print_json(&answer),
                Output::Table | Output::Csv => {
                    if answer.requested.is_empty() && answer.skipped.is_empty() {
                        println!("no open dead letters to retry");
                    }
                    for id in &answer.requested {
                        println!("retry requested: {id}");
                    }
                    for why in &answer.skipped {
                        println!("not retried: {why}");
                    }
                    if !answer.requested.is_empty() {
                        println!(
                            "the running replica applies them within seconds; `aftercare dlq list --all` shows the outcome"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

async fn list(
    client: &ClientArgs,
    runner: String,
    include_applied: bool,
    id: String,
) -> anyhow::Result<pb::ListDeadLettersResponse> {
    let mut system = SystemServiceClient::new(client.channel().await?);
    Ok(system
        .list_dead_letters(pb::ListDeadLettersRequest {
            runner,
            include_applied,
            id,
        })
        .await
        .map_err(status_error)?
        .into_inner())
}

/// A reason on one line of a table, cut at a character boundary.
fn short(reason: &str, chars: usize) -> String {
    let line = reason.lines().next().unwrap_or_default();
    if line.chars().count() <= chars && !reason.contains('\n') {
        return line.to_owned();
    }
    let cut: String = line.chars().take(chars.saturating_sub(1)).collect();
    format!("{cut}…")
}

fn print_table(letters: &[pb::DeadLetter]) {
    if letters.is_empty() {
        println!("no dead letters");
        return;
    }
    let mut table = crate::table::Table::new(&["ID", "DEALER", "RECORDED", "STATE", "REASON"]);
    for l in letters {
        table.row(vec![
            l.id.clone(),
            l.dealer
                .as_ref()
                .map(|d| d.value.clone())
                .unwrap_or_default(),
            local_time(l.recorded_at.as_ref()),
            l.state.clone(),
            short(&l.reason, 80),
        ]);
    }
    table.print();
    println!(
        "{} dead letters; `aftercare dlq show <id>` for one in full",
        letters.len()
    );
}

fn print_letter(l: &pb::DeadLetter) {
    let dealer = l
        .dealer
        .as_ref()
        .map(|d| d.value.as_str())
        .unwrap_or_default();
    println!("dead letter  {}", l.id);
    println!("runner       {}", l.runner);
    println!("dealer       {dealer}");
    println!("recorded     {}", local_time(l.recorded_at.as_ref()));
    if l.position.is_some() {
        println!("position     {}", position(l.position));
    }
    if !l.event_id.is_empty() {
        println!("event id     {}", l.event_id);
    }
    println!("payload      {} bytes", l.payload_bytes);
    println!("state        {}", l.state);
    println!("reason       {}", l.reason);
    if !l.retry_requested_by.is_empty() {
        println!(
            "retry        requested by {} at {}",
            l.retry_requested_by,
            local_time(l.retry_requested_at.as_ref())
        );
    }
    if l.retried_at.is_some() {
        println!("retried      {}", local_time(l.retried_at.as_ref()));
    }
    if !l.retry_reason.is_empty() {
        println!("retry failed {}", l.retry_reason);
    }
    if !l.retryable {
        println!(
            "             refused input is not retried here: its sender sends it again once it is corrected"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_reason_is_cut_on_a_character() {
        assert_eq!(super::short("short", 80), "short");
        assert_eq!(super::short("车架号无效，长度不是十七位", 6), "车架号无效…");
        assert_eq!(super::short("first\nsecond", 80), "first…");
    }
}
