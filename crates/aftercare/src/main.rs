#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use aftercare::client::{self, ClientArgs};
use aftercare::serve::{self, AuthNotice};
use aftercare_runtime::{Config, telemetry};
use anyhow::Context;
use clap::{Parser, Subcommand};

/// aftercare: after-sales customer care for car dealerships.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Configuration file (TOML); `AFTERCARE__SECTION__KEY` variables override it.
    #[arg(long, global = true, env = "AFTERCARE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the services (all by default) in this process.
    Serve {
        /// Run only these services (repeatable), e.g. one Kubernetes Deployment each.
        #[arg(long = "service")]
        services: Vec<String>,
        /// Listen here instead of `server.listen`.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Serve the web console here instead of `server.web_listen`.
        #[arg(long)]
        web_listen: Option<SocketAddr>,
        /// On the embedded default with an empty event log, seed demo dealer
        /// D001 (customers, sales, three years of visits, leads, complaints)
        /// once started, so the console and the reports have something to show.
        #[arg(long)]
        demo: bool,
    },
    /// Serve only the staff web console, asking the services at
    /// `web.upstreams` (on Kubernetes, a Deployment of its own; with
    /// `web.session_key` its replicas share sessions).
    Console {
        /// Listen here instead of `server.web_listen` (127.0.0.1:8080 when
        /// neither is set).
        #[arg(long)]
        web_listen: Option<SocketAddr>,
    },
    /// Rebuild a read model from the event log. On PostgreSQL the new version
    /// is built beside the live one while the services keep serving, then
    /// swapped in; on SQLite (or with --offline) the projection is emptied and
    /// replayed in place: stop the service that owns it first.
    Rebuild {
        projection: String,
        #[arg(long)]
        offline: bool,
    },
    /// Copy this embedded event log (--config, or the default) into the
    /// JetStream deployment that --to-config describes, in order, each event
    /// keeping its id; run again, it goes on where it stopped. The read models
    /// of the target are then built from its log.
    Migrate {
        #[arg(long)]
        to_config: std::path::PathBuf,
    },
    /// Customer files: register, update, consent, show, search.
    #[command(subcommand)]
    Customer(aftercare::customer_cli::CustomerCommand),
    /// Vehicle files: register, update, transfer, history, churn status.
    #[command(subcommand)]
    Vehicle(aftercare::vehicle_cli::VehicleCommand),
    /// Service visits: record one repair order.
    #[command(subcommand)]
    Visit(aftercare::visit_cli::VisitCommand),
    /// Leads: capture, verify, convert, lose, list.
    #[command(subcommand)]
    Lead(aftercare::lead_cli::LeadCommand),
    /// Complaints: file, ack, assign, escalate, resolve, close, reopen, list, show.
    #[command(subcommand)]
    Complaint(aftercare::complaint_cli::ComplaintCommand),
    /// Callbacks and reminders: the worklist, claim, attempt, outcome, show, sweep, measures.
    #[command(subcommand)]
    Callback(aftercare::callback_cli::CallbackCommand),
    /// The owner club: member, ledger, redeem, adjust, activity, vip, join, sweep.
    #[command(subcommand)]
    Club(aftercare::club_cli::ClubCommand),
    /// Reports: churn by month and breakdown, the churn table and scorecard,
    /// RFM, ABC, lifetime value, churn risk, targets against actuals.
    #[command(subcommand)]
    Report(aftercare::report_cli::ReportCommand),
    /// Targets: set a metric's annual target (broken down to months), enter a
    /// month's score from the OEM's report.
    #[command(subcommand)]
    Targets(aftercare::report_cli::TargetsCommand),
    /// Seed a realistic dealer through the real command path, for a first look.
    Demo {
        #[arg(long, default_value = "D001")]
        dealer: String,
        #[arg(long, default_value_t = 2000)]
        customers: u64,
        /// The same seed gives the same dealer.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Backfill records from files (a DMS export).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Show who the token belongs to: roles and dealer scope.
    Whoami(ClientArgs),
    /// Show the event log head and every projection's checkpoint, lag and
    /// dead letters.
    Status(ClientArgs),
    /// Dead letters: list, show one with its reason, retry after a fix.
    #[command(subcommand)]
    Dlq(aftercare::dlq_cli::DlqCommand),
    /// Print the hash of a web-console password, for `password_hash` beside a
    /// token's `login`. The password is read as one line of standard input
    /// (typed, or piped from a password manager), never from an argument, so
    /// it stays out of shell histories and process lists.
    HashPassword,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Service visits from a CSV file with a header row (repair_order, vin,
    /// customer_id, opened_at, closed_at, mileage_km, kind, labour_fen, parts_fen,
    /// service_advisor, advisor_group, fault_codes separated by ';').
    Visits {
        #[arg(long)]
        dealer: String,
        file: PathBuf,
        /// The file's character set: auto reads UTF-8, else GB18030 (GBK).
        #[arg(long, value_enum, default_value_t = aftercare::import::TextEncoding::Auto)]
        encoding: aftercare::import::TextEncoding,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Demo dealer D001 seeded through the server at `server` with the local admin
/// token, when its event log is still empty.
async fn seed_demo(server: String, token_file: PathBuf) {
    use aftercare_proto::system::v1 as system;
    let args = ClientArgs {
        server,
        token: None,
        token_file,
        output: client::Output::Table,
    };
    let seeded = async {
        let channel = args.channel().await?;
        let head = system::system_service_client::SystemServiceClient::new(channel.clone())
            .projection_status(system::ProjectionStatusRequest {})
            .await
            .map_err(client::status_error)?
            .into_inner()
            .head
            .map_or(0, |h| h.value);
        if head > 0 {
            return anyhow::Ok(None);
        }
        eprintln!("seeding demo dealer D001 (a minute or so)…");
        let seeded = aftercare::demo::seed(
            aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient::new(
                channel.clone(),
            ),
            "D001",
            600,
            7,
            false,
        )
        .await?;
        let complaints = aftercare::demo::complaints(
            aftercare_proto::complaint::v1::complaint_service_client::ComplaintServiceClient::new(
                channel,
            ),
            "D001",
            &seeded.busiest_vin.0,
        )
        .await?;
        Ok(Some((seeded, complaints)))
    }
    .await;
    match seeded {
        Ok(Some((seeded, complaints))) => eprintln!(
            "demo dealer D001 seeded: {} customers, {} sales, {} service visits, {} leads, {complaints} complaints",
            seeded.customers, seeded.sales, seeded.visits, seeded.leads
        ),
        Ok(None) => eprintln!(
            "the event log already holds records: no demo data added (`aftercare demo` adds dealer D001)"
        ),
        Err(err) => eprintln!("demo dealer D001 not seeded: {err:#}"),
    }
}

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Ok(Config::load_checked(
        path,
        std::env::vars(),
        aftercare::modules::check_config,
    )?)
}

/// Exit status of an import that recorded what it could but rejected rows, so
/// that a nightly job notices (the summary and the rejects file say which).
const ROWS_REJECTED: u8 = 3;

#[derive(Debug, thiserror::Error)]
#[error("{0} rows were rejected; they are listed, with the reasons, in the rejects file")]
struct RowsRejected(usize);

/// Exit status of a command whose reader went away (`… | head -n 1`): what a
/// shell reports for a Unix tool ended by SIGPIPE, 128 + 13.
const CLOSED_PIPE: i32 = 141;

/// Printing to a closed pipe ends the command quietly, as other Unix tools do,
/// instead of with a panic message: `println!` panics on a write error.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(CLOSED_PIPE);
        }
        default(info);
    }));
}

fn main() -> std::process::ExitCode {
    quiet_on_closed_pipe();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // The chain of causes, without a backtrace: these are messages for
            // the person at the terminal.
            eprintln!("error: {err:#}");
            if err.downcast_ref::<RowsRejected>().is_some() {
                return std::process::ExitCode::from(ROWS_REJECTED);
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--output csv` outside `aftercare report …`: CSV is how reports are
/// exported; the other commands answer in a table or JSON.
fn csv_outside_reports(command: &Command, args: &[String]) -> bool {
    let csv = args.windows(2).any(|w| w[0] == "--output" && w[1] == "csv")
        || args.iter().any(|a| a == "--output=csv");
    csv && !matches!(command, Command::Report(_))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if csv_outside_reports(&cli.command, &args) {
        anyhow::bail!(
            "--output csv: only reports (aftercare report …) are exported as CSV; use table or json here"
        );
    }
    match cli.command {
        Command::Serve {
            services,
            listen,
            web_listen,
            demo,
        } => {
            let mut config = load_config(cli.config.as_deref())?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            if let Some(web) = web_listen {
                config.server.web_listen = Some(web);
            }
            let telemetry = telemetry::init(&config.telemetry)?;
            let modules = aftercare::modules::select(&services).map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(config.server.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.server.listen))?;
            let result = serve::run(config, listener, modules, aftercare_runtime::grpc::shutdown_signal(), |s| {
                if let Some(metrics) = s.metrics {
                    eprintln!("metrics on http://{metrics}/metrics");
                }
                if let Some(web) = s.web {
                    match &s.auth {
                        AuthNotice::LocalAdmin(path) => eprintln!(
                            "web console on http://{web}/ (sign in with the token in {})",
                            path.display()
                        ),
                        AuthNotice::Configured(_) => eprintln!(
                            "web console on http://{web}/ (sign in with a configured token or login)"
                        ),
                    }
                }
                eprintln!("aftercare listening on {} ({})", s.listening, s.store);
                match &s.auth {
                    AuthNotice::LocalAdmin(path) => eprintln!(
                        "authenticate with the local admin token: export AFTERCARE_TOKEN=$(cat {})",
                        path.display()
                    ),
                    AuthNotice::Configured(n) => eprintln!("{n} configured tokens accepted"),
                }
                if demo {
                    match &s.auth {
                        AuthNotice::LocalAdmin(path) => {
                            let port = s.listening.port();
                            tokio::spawn(seed_demo(
                                format!("http://127.0.0.1:{port}"),
                                path.clone(),
                            ));
                        }
                        AuthNotice::Configured(_) => eprintln!(
                            "--demo seeds with the embedded default's local admin token only; with configured tokens run `aftercare demo --token …`"
                        ),
                    }
                }
            })
            .await;
            telemetry.shutdown();
            result
        }
        Command::Console { web_listen } => {
            let config = load_config(cli.config.as_deref())?;
            let telemetry = telemetry::init(&config.telemetry)?;
            let logins = aftercare_runtime::auth::TokenTable::from_config(&config.auth)?
                .logins()
                .to_vec();
            let setup = aftercare::web::Setup::new(&config, None, logins)?;
            let addr = web_listen
                .or(config.server.web_listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for the web console on {addr}"))?;
            if !setup.shared_sessions() {
                eprintln!(
                    "web.session_key is not set: sessions live in this process, so run one replica or set the key on every replica"
                );
            }
            eprintln!("aftercare console on http://{}/", listener.local_addr()?);
            let result =
                aftercare::web::serve(listener, setup, aftercare_runtime::grpc::shutdown_signal())
                    .await;
            telemetry.shutdown();
            result
        }
        Command::Rebuild {
            projection,
            offline,
        } => {
            let config = load_config(cli.config.as_deref())?;
            let telemetry = telemetry::init(&config.telemetry)?;
            let result = aftercare::rebuild::run(config, &projection, true, offline)
                .await
                .map(|_| ());
            telemetry.shutdown();
            result
        }
        Command::Import(ImportCommand::Visits {
            dealer,
            file,
            encoding,
            client,
        }) => {
            let summary =
                aftercare::import::visits(&client, &dealer, &file, encoding, true).await?;
            aftercare::import::print(&summary, client.output);
            match summary.rejected.len() {
                0 => Ok(()),
                n => Err(RowsRejected(n).into()),
            }
        }
        Command::Customer(c) => aftercare::customer_cli::customer(c).await,
        Command::Vehicle(c) => aftercare::vehicle_cli::vehicle(c).await,
        Command::Visit(c) => aftercare::visit_cli::visit(c).await,
        Command::Lead(c) => aftercare::lead_cli::lead(c).await,
        Command::Report(c) => aftercare::report_cli::report(c).await,
        Command::Targets(c) => aftercare::report_cli::targets(c).await,
        Command::Complaint(c) => aftercare::complaint_cli::complaint(c).await,
        Command::Callback(c) => aftercare::callback_cli::callback(c).await,
        Command::Club(c) => aftercare::club_cli::club(c).await,
        Command::Demo {
            dealer,
            customers,
            seed,
            client,
        } => {
            let api = aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient::new(
                client.channel().await?,
            );
            let seeded = aftercare::demo::seed(api, &dealer, customers, seed, true).await?;
            println!(
                "dealer {dealer}: {} customers, {} sales, {} service visits, {} leads",
                seeded.customers, seeded.sales, seeded.visits, seeded.leads
            );
            println!("\nto look around:");
            let (vin, visits) = &seeded.busiest_vin;
            println!("  aftercare vehicle history --dealer {dealer} {vin}    # {visits} visits");
            if let Some(phone) = &seeded.two_car_phone {
                println!("  aftercare customer search --dealer {dealer} {phone}    # two cars");
            }
            let last_month = jiff::Timestamp::now()
                .to_zoned(
                    jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC),
                )
                .date()
                .first_of_month()
                .yesterday()
                .map(|d| d.strftime("%Y-%m").to_string())
                .unwrap_or_default();
            println!("  aftercare report churn --dealer {dealer} --month {last_month} --by model");
            println!(
                "  aftercare complaint file --dealer {dealer} --channel walk-in --vin {vin} --description \"waited three hours\""
            );
            println!(
                "  aftercare callback worklist --dealer {dealer}    # today's calls: deliveries, visits, leads, reminders"
            );
            let this_month = jiff::Timestamp::now()
                .to_zoned(
                    jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC),
                )
                .strftime("%Y-%m")
                .to_string();
            println!(
                "  aftercare club stats --dealer {dealer} --month {this_month}    # the owner club: every buyer is a member, visits earn points"
            );
            Ok(())
        }
        Command::Migrate { to_config } => {
            let source = load_config(cli.config.as_deref())?;
            let target = load_config(Some(&to_config))?;
            let telemetry = telemetry::init(&source.telemetry)?;
            let result = aftercare::migrate::run(source, target, true).await;
            telemetry.shutdown();
            let done = result?;
            println!(
                "copied {} events into the JetStream log{}; start aftercare on it with a new read-model database (or `aftercare rebuild` each read model): positions there differ from the embedded log's",
                done.copied,
                if done.skipped > 0 {
                    format!(" after the {} an earlier run copied", done.skipped)
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        Command::Whoami(args) => client::whoami(&args).await,
        Command::Status(args) => client::status(&args).await,
        Command::Dlq(command) => aftercare::dlq_cli::dlq(command).await,
        Command::HashPassword => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            let hash = aftercare_runtime::password::PasswordHash::new(
                password,
                aftercare_runtime::password::ITERATIONS,
            )
            .map_err(|reason| anyhow::anyhow!("password: {reason}"))?;
            println!("{hash}");
            Ok(())
        }
    }
}
