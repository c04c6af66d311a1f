//! The CLI as a gRPC client: connection, token, and output as a table or JSON.

use std::path::PathBuf;

use aftercare_proto::system::v1 as pb;
use aftercare_proto::system::v1::system_service_client::SystemServiceClient;
use anyhow::Context;
use clap::{Args, ValueEnum};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
    /// A report's table as CSV (reports only).
    Csv,
}

#[derive(Args, Clone, Debug)]
pub struct ClientArgs {
    /// The aftercare server.
    #[arg(
        long,
        env = "AFTERCARE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// Bearer token; read from --token-file when not given.
    #[arg(long, env = "AFTERCARE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the token (the embedded default writes data/admin.token).
    #[arg(long, default_value = "data/admin.token")]
    pub token_file: PathBuf,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Clone)]
pub struct BearerToken(MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

impl ClientArgs {
    pub fn token(&self) -> anyhow::Result<String> {
        match &self.token {
            Some(token) => Ok(token.clone()),
            None => std::fs::read_to_string(&self.token_file)
                .map(|t| t.trim().to_owned())
                .with_context(|| {
                    format!(
                        "no --token or AFTERCARE_TOKEN, and cannot read {}",
                        self.token_file.display()
                    )
                }),
        }
    }

    pub async fn channel(&self) -> anyhow::Result<InterceptedService<Channel, BearerToken>> {
        let token = MetadataValue::try_from(format!("Bearer {}", self.token()?))
            .context("the token must be printable ASCII")?;
        let channel = Channel::from_shared(self.server.clone())
            .with_context(|| format!("--server {:?} is not a URL", self.server))?
            .connect()
            .await
            .with_context(|| format!("cannot reach aftercare at {}", self.server))?;
        Ok(InterceptedService::new(channel, BearerToken(token)))
    }
}

/// A gRPC error as a person reads it: `permission denied: …`.
pub fn status_error(status: tonic::Status) -> anyhow::Error {
    let code = format!("{:?}", status.code());
    let mut words = String::new();
    for (i, c) in code.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    // The dealer's own words first when the server sent them (a dealer that
    // writes in Chinese), then the message every log and ticket quotes.
    use tonic_types::StatusExt;
    match status.get_details_localized_message() {
        Some(localized) if !localized.message.is_empty() => {
            anyhow::anyhow!("{words}: {}\n({})", localized.message, status.message())
        }
        _ => anyhow::anyhow!("{words}: {}", status.message()),
    }
}

fn scope_text(scope: Option<&pb::DealerScope>) -> String {
    match scope.and_then(|s| s.scope.as_ref()) {
        Some(pb::dealer_scope::Scope::All(_)) => "all dealers".to_owned(),
        Some(pb::dealer_scope::Scope::Dealer(d)) => format!("dealer {}", d.value),
        Some(pb::dealer_scope::Scope::Group(g)) => format!(
            "group {} ({})",
            g.name,
            g.dealers
                .iter()
                .map(|d| d.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "none".to_owned(),
    }
}

pub async fn whoami(args: &ClientArgs) -> anyhow::Result<()> {
    let mut client = SystemServiceClient::new(args.channel().await?);
    let me = client
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    match args.output {
        Output::Json => print_json(&me),
        Output::Table | Output::Csv => {
            println!("principal  {}", me.principal);
            println!("roles      {}", me.roles.join(", "));
            println!("scope      {}", scope_text(me.scope.as_ref()));
        }
    }
    Ok(())
}

pub async fn status(args: &ClientArgs) -> anyhow::Result<()> {
    let mut client = SystemServiceClient::new(args.channel().await?);
    let status = client
        .projection_status(pb::ProjectionStatusRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    let head = status.head.map_or(0, |p| p.value);
    match args.output {
        Output::Json => print_json(&status),
        Output::Table | Output::Csv => {
            println!("event log head: {head}");
            let mut table = crate::table::Table::new(&[
                "PROJECTION",
                ">CHECKPOINT",
                ">LAG",
                ">DEAD LETTERS",
                ">OPEN",
            ]);
            for p in &status.projections {
                let checkpoint = p.checkpoint.as_ref().map_or(0, |c| c.value);
                table.row(vec![
                    p.name.clone(),
                    checkpoint.to_string(),
                    p.lag.to_string(),
                    p.dead_lettered.to_string(),
                    p.open_dead_letters.to_string(),
                ]);
            }
            table.print();
            let open: u64 = status.projections.iter().map(|p| p.open_dead_letters).sum();
            if open > 0 {
                println!("{open} dead letters open: `aftercare dlq list` shows them");
            }
        }
    }
    Ok(())
}

/// A request's dealer, from a `--dealer` flag.
pub(crate) fn dealer(id: &str) -> Option<aftercare_proto::common::v1::DealerId> {
    Some(aftercare_proto::common::v1::DealerId {
        value: id.to_owned(),
    })
}

pub(crate) fn date(d: Option<jiff::civil::Date>) -> Option<aftercare_proto::common::v1::Date> {
    d.map(aftercare_proto::calendar::to_date)
}

pub(crate) fn position(p: Option<aftercare_proto::common::v1::Position>) -> u64 {
    p.map_or(0, |p| p.value)
}

/// A response as `--output json` prints it: the proto3 JSON mapping of the
/// gRPC answer, field names as in the proto.
pub(crate) fn print_json<M: prost::Message + prost::Name>(answer: &M) {
    println!("{}", aftercare_proto::json::to_json(answer));
}

/// What a change did: a line, or the answer as JSON.
pub(crate) fn report<M: prost::Message + prost::Name>(
    output: Output,
    answer: &M,
    what: &str,
    id: &str,
    changed: bool,
    at: u64,
) {
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv if changed => println!("{what} {id} (position {at})"),
        Output::Table | Output::Csv => println!("{what} {id}: nothing to change"),
    }
}

pub(crate) fn timestamp(text: &str, flag: &str) -> anyhow::Result<prost_types::Timestamp> {
    let at: jiff::Timestamp = text
        .parse()
        .map_err(|e| anyhow::anyhow!("--{flag} {text:?}: {e}"))?;
    Ok(aftercare_proto::calendar::timestamp(at))
}

/// The last line of a listed page: how many of how many, and the next page.
pub(crate) fn print_page(shown: usize, page: Option<&aftercare_proto::common::v1::PageResponse>) {
    let page = page.cloned().unwrap_or_default();
    if page.next_page_token.is_empty() {
        println!("{shown} of {}", page.total);
    } else {
        println!(
            "{shown} of {}; the next page: --page-token {}",
            page.total, page.next_page_token
        );
    }
}

/// A time as a person at the dealer reads it in a table: to the minute, in the
/// dealer's time zone (`AFTERCARE_TIME_ZONE`, China Standard Time by default,
/// where every dealer so far is). JSON output keeps RFC 3339.
pub(crate) fn local_time(t: Option<&prost_types::Timestamp>) -> String {
    let zone = std::env::var("AFTERCARE_TIME_ZONE")
        .ok()
        .and_then(|name| jiff::tz::TimeZone::get(&name).ok())
        .or_else(|| jiff::tz::TimeZone::get("Asia/Shanghai").ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    t.and_then(|t| jiff::Timestamp::new(t.seconds, t.nanos).ok())
        .map(|t| t.to_zoned(zone).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_deadline_reads_at_the_dealer_to_the_minute() {
        // The end of 2 December in Shanghai.
        let t = prost_types::Timestamp {
            seconds: 1_796_227_199,
            nanos: 999_999_000,
        };
        assert_eq!(super::local_time(Some(&t)), "2026-12-02 23:59");
        assert_eq!(super::local_time(None), "");
    }
}
