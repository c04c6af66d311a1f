//! `aftercare report …`: churn reports and the churn scorecard as tables, or JSON
//! with `--output json`.

use aftercare_proto::analytics::v1 as pb;
use aftercare_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use aftercare_proto::common::v1::YearMonth;
use clap::{Subcommand, ValueEnum};

use crate::client::{ClientArgs, Output, print_json, status_error};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum By {
    AdvisorGroup,
    Advisor,
    Model,
    Region,
    Age,
    Warranty,
}

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum RuleArg {
    /// Service visits only.
    #[default]
    A,
    /// Service visits and sales.
    B,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Monthly churn rate, optionally broken down, for a dealer or every dealer in scope.
    Churn {
        /// The report month, e.g. 2026-09.
        #[arg(long)]
        month: String,
        #[arg(long, value_enum)]
        by: Option<By>,
        #[arg(long, value_enum, default_value_t = RuleArg::A)]
        rule: RuleArg,
        /// Months without a visit that count as churned; each dealer's own by default.
        #[arg(long)]
        threshold: Option<u32>,
        /// Repeatable; every dealer in the token's scope when not given.
        #[arg(long = "dealer")]
        dealers: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The churn incentive of a month: advisor groups and the service manager.
    Scorecard {
        #[arg(long)]
        dealer: String,
        #[arg(long)]
        month: String,
        #[arg(long, value_enum, default_value_t = RuleArg::A)]
        rule: RuleArg,
        /// Months without a visit that count as churned; the dealer's own by default.
        #[arg(long)]
        threshold: Option<u32>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// RFM segments: recency of the last visit, visits and spend per year,
    /// scored in quintiles among each dealer's vehicles.
    Rfm(ValueArgs),
    /// ABC classes by the last twelve months' labour and parts (80/15/5 unless
    /// the dealer sets its own).
    Abc(ValueArgs),
    /// Lifetime value: annual margin so far × the service years still expected
    /// from the dealer's own survival table by vehicle age.
    Clv(ValueArgs),
    /// The churn-risk model fitted on the dealer's past months, how it did on
    /// later months, and the vehicles most at risk now.
    Risk {
        #[arg(long)]
        dealer: String,
        /// The month to score, e.g. 2026-11; the current month by default.
        #[arg(long)]
        month: Option<String>,
        /// How many vehicles to list.
        #[arg(long, default_value_t = 20)]
        top: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A year's targets against the actuals by month, quarter, year to date.
    Targets {
        #[arg(long)]
        dealer: String,
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The churn table at the end of a month: vehicles on file per segment and
    /// the share at or past the threshold, optionally broken down.
    ChurnTable {
        /// The month, e.g. 2026-09 (the current month: as of today).
        #[arg(long)]
        month: String,
        #[arg(long, value_enum)]
        by: Option<By>,
        /// Months without a visit that count as churned; each dealer's own by default.
        #[arg(long)]
        threshold: Option<u32>,
        /// Repeatable; every dealer in the token's scope when not given.
        #[arg(long = "dealer")]
        dealers: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Per {
    /// Each vehicle on file.
    #[default]
    Vehicle,
    /// Each customer, their vehicles added up.
    Customer,
}

fn breakdown(by: Option<By>) -> pb::Breakdown {
    match by {
        None => pb::Breakdown::Unspecified,
        Some(By::AdvisorGroup) => pb::Breakdown::AdvisorGroup,
        Some(By::Advisor) => pb::Breakdown::Advisor,
        Some(By::Model) => pb::Breakdown::Model,
        Some(By::Region) => pb::Breakdown::Region,
        Some(By::Age) => pb::Breakdown::Age,
        Some(By::Warranty) => pb::Breakdown::Warranty,
    }
}

#[derive(clap::Args)]
pub struct ValueArgs {
    /// Repeatable; every dealer in the token's scope when not given.
    #[arg(long = "dealer")]
    dealers: Vec<String>,
    /// The day, e.g. 2026-11-30; today at the dealer by default.
    #[arg(long)]
    as_of: Option<jiff::civil::Date>,
    #[arg(long, value_enum, default_value_t = Per::Vehicle)]
    per: Per,
    #[command(flatten)]
    client: ClientArgs,
}

async fn value_report(args: &ValueArgs) -> anyhow::Result<pb::ValueReportResponse> {
    let mut api = AnalyticsServiceClient::new(args.client.channel().await?);
    Ok(api
        .value_report(pb::ValueReportRequest {
            dealers: args
                .dealers
                .iter()
                .filter_map(|d| crate::client::dealer(d))
                .collect(),
            as_of: args.as_of.map(aftercare_proto::calendar::to_date),
            unit: match args.per {
                Per::Vehicle => pb::ValueUnit::Vehicle,
                Per::Customer => pb::ValueUnit::Customer,
            } as i32,
            consistency: None,
        })
        .await
        .map_err(status_error)?
        .into_inner())
}

/// A sentence around a report's table: printed with the table, left out of
/// the CSV (which is the table alone).
macro_rules! say {
    ($output:expr, $($arg:tt)*) => {
        if $output == Output::Table {
            println!($($arg)*);
        }
    };
}

fn share(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

fn print_rfm(answer: &pb::ValueReportResponse, output: Output) {
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv => {
            let unit = if answer.unit == pb::ValueUnit::Customer as i32 {
                "customers"
            } else {
                "vehicles"
            };
            say!(
                output,
                "{} {unit} on file, {} never serviced",
                answer.units,
                answer.never_serviced
            );
            let mut table =
                crate::table::Table::new(&["SEGMENT", ">UNITS", ">SHARE", ">YUAN A YEAR"]);
            for l in &answer.segments {
                table.row(vec![
                    l.segment.clone(),
                    l.units.to_string(),
                    share(l.share),
                    aftercare_kernel::money::yuan(l.spend_per_year.as_ref().map_or(0, |m| m.fen)),
                ]);
            }
            table.print_as(output);
        }
    }
}

fn print_abc(answer: &pb::ValueReportResponse, output: Output) {
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv => {
            let mut table = crate::table::Table::new(&[
                "CLASS",
                ">UNITS",
                ">OF UNITS",
                ">YUAN (12 MONTHS)",
                ">OF REVENUE",
            ]);
            for c in &answer.classes {
                table.row(vec![
                    c.class.clone(),
                    c.units.to_string(),
                    share(c.share_of_units),
                    aftercare_kernel::money::yuan(c.contribution.as_ref().map_or(0, |m| m.fen)),
                    share(c.share_of_contribution),
                ]);
            }
            table.print_as(output);
        }
    }
}

fn print_clv(answer: &pb::ValueReportResponse, output: Output) {
    let yuan = |m: Option<&aftercare_proto::common::v1::Money>| {
        aftercare_kernel::money::yuan(m.map_or(0, |m| m.fen))
    };
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv => {
            say!(
                output,
                "lifetime value of {} units: {} yuan",
                answer.units,
                yuan(answer.lifetime_value.as_ref())
            );
            let mut by_segment = crate::table::Table::new(&["SEGMENT", ">UNITS", ">LIFETIME YUAN"]);
            for l in &answer.segments {
                by_segment.row(vec![
                    l.segment.clone(),
                    l.units.to_string(),
                    yuan(l.lifetime_value.as_ref()),
                ]);
            }
            by_segment.print_as(output);
            say!(output, "survival by vehicle age");
            let mut table =
                crate::table::Table::new(&[">AGE", ">CUSTOMERS", ">LOST", ">STAY"]).indented(2);
            for y in answer.survival.iter().filter(|y| y.customers > 0) {
                table.row(vec![
                    y.age.to_string(),
                    y.customers.to_string(),
                    y.lost.to_string(),
                    y.stays.map_or("-".to_owned(), share),
                ]);
            }
            if output == Output::Table {
                table.print();
            }
        }
    }
}

fn print_risk(answer: &pb::RiskReportResponse, output: Output) {
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv => {
            say!(
                output,
                "churn risk in {}: the chance of churning within {} months; warning from {}",
                month_text(answer.month.as_ref()),
                answer.ahead_months,
                share(answer.level)
            );
            say!(
                output,
                "fitted on {} snapshots of {}..{}, judged on {} of {}..{}: AUC {}, the top tenth caught {} of the churners",
                answer.trained_on,
                month_text(answer.train_from.as_ref()),
                month_text(answer.train_to.as_ref()),
                answer.evaluated_on,
                month_text(answer.test_from.as_ref()),
                month_text(answer.test_to.as_ref()),
                answer.auc.map_or("-".to_owned(), |a| format!("{a:.2}")),
                answer.top_decile_capture.map_or("-".to_owned(), share)
            );
            let mut weights = crate::table::Table::new(&["FEATURE", ">WEIGHT"]).indented(2);
            for f in &answer.features {
                weights.row(vec![f.name.clone(), format!("{:+.2}", f.weight)]);
            }
            if output == Output::Table {
                weights.print();
            }
            say!(
                output,
                "{} vehicles at the warning level now",
                answer.at_level
            );
            let mut table = crate::table::Table::new(&["VIN", ">RISK", ">MONTHS SINCE VISIT"]);
            for v in &answer.top {
                table.row(vec![
                    v.vin.clone(),
                    share(v.risk),
                    v.months_since_last_visit.to_string(),
                ]);
            }
            table.print_as(output);
        }
    }
}

fn level(metric: &pb::MetricLine, value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(v) if metric.metric.ends_with("css") || metric.metric == "mystery-shopper" => {
            format!("{v:.1}")
        }
        Some(v) => format!("{:.2}%", v * 100.0),
    }
}

fn print_targets(answer: &pb::TargetsReportResponse, output: Output) {
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv => {
            say!(
                output,
                "targets of dealer {} for {}",
                answer.dealer,
                answer.year
            );
            let mut table =
                crate::table::Table::new(&["METRIC", "PERIOD", ">TARGET", ">ACTUAL", "MET"]);
            for m in &answer.metrics {
                if m.annual.is_none() && m.months.iter().all(|x| x.actual.is_none()) {
                    continue;
                }
                let verdict = |met: Option<bool>| match met {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "",
                };
                for month in &m.months {
                    if month.target.is_none() && month.actual.is_none() {
                        continue;
                    }
                    table.row(vec![
                        m.metric.clone(),
                        month_text(month.month.as_ref()),
                        level(m, month.target),
                        level(m, month.actual),
                        verdict(month.met).to_owned(),
                    ]);
                }
                for p in &m.periods {
                    table.row(vec![
                        m.metric.clone(),
                        p.period.clone(),
                        level(m, p.target),
                        level(m, p.actual),
                        verdict(p.met).to_owned(),
                    ]);
                }
            }
            table.print_as(output);
        }
    }
}

/// `aftercare targets …`.
#[derive(Subcommand)]
pub enum TargetsCommand {
    /// Set or change a metric's target for a year: the annual level every
    /// month, shaped by seasonal weights, or given per month.
    Set {
        #[arg(long)]
        dealer: String,
        /// sales-css, service-css, sales-satisfaction, service-satisfaction,
        /// complaint-rate, churn-rate, callback-rate, winback-appointment-rate,
        /// mystery-shopper.
        #[arg(long)]
        metric: String,
        #[arg(long)]
        year: i32,
        /// A rate as a share (3.38% is 0.0338), a score in points (930).
        #[arg(long, default_value_t = 0.0)]
        annual: f64,
        /// Twelve weights, 100 an average month: 80,90,100,…
        #[arg(long, value_delimiter = ',')]
        weights: Vec<u32>,
        /// Twelve monthly values instead: 0.039,0.038,…
        #[arg(long, value_delimiter = ',')]
        monthly: Vec<f64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Enter a month's score from the OEM's report (CSS, mystery shopper).
    Result {
        #[arg(long)]
        dealer: String,
        #[arg(long)]
        metric: String,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        #[arg(long)]
        value: f64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub async fn targets(command: TargetsCommand) -> anyhow::Result<()> {
    let (client, answer) = match command {
        TargetsCommand::Set {
            dealer,
            metric,
            year,
            annual,
            weights,
            monthly,
            client,
        } => {
            let mut api = AnalyticsServiceClient::new(client.channel().await?);
            let answer = api
                .set_target(pb::SetTargetRequest {
                    dealer: crate::client::dealer(&dealer),
                    metric,
                    year,
                    annual,
                    seasonal_weights: weights,
                    monthly,
                })
                .await;
            (client, answer)
        }
        TargetsCommand::Result {
            dealer,
            metric,
            month,
            value,
            client,
        } => {
            let mut api = AnalyticsServiceClient::new(client.channel().await?);
            let answer = api
                .record_result(pb::RecordResultRequest {
                    dealer: crate::client::dealer(&dealer),
                    metric,
                    month: Some(year_month(&month)?),
                    value,
                })
                .await;
            (client, answer)
        }
    };
    let answer = answer.map_err(status_error)?.into_inner();
    match client.output {
        Output::Json => print_json(&answer),
        Output::Table | Output::Csv if answer.changed => println!(
            "recorded (position {})",
            answer.position.map_or(0, |p| p.value)
        ),
        Output::Table | Output::Csv => println!("nothing to change"),
    }
    Ok(())
}

pub fn year_month(text: &str) -> anyhow::Result<YearMonth> {
    let bad = || anyhow::anyhow!("--month {text:?}: write it as 2026-09");
    let (y, m) = text.split_once('-').ok_or_else(bad)?;
    Ok(YearMonth {
        year: y.parse().map_err(|_| bad())?,
        month: m.parse().map_err(|_| bad())?,
    })
}

fn rule(r: RuleArg) -> pb::ChurnRule {
    match r {
        RuleArg::A => pb::ChurnRule::A,
        RuleArg::B => pb::ChurnRule::B,
    }
}

fn month_text(m: Option<&YearMonth>) -> String {
    m.map(|m| format!("{:04}-{:02}", m.year, m.month))
        .unwrap_or_default()
}

fn percent(l: &pb::ChurnLine) -> String {
    if l.base == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", l.rate * 100.0)
    }
}

fn yuan(fen: i64) -> String {
    format!("{:+}", fen as f64 / 100.0)
}

pub async fn report(command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::Churn {
            month,
            by,
            rule: r,
            threshold,
            dealers,
            client,
        } => {
            let breakdown = breakdown(by);
            let mut api = AnalyticsServiceClient::new(client.channel().await?);
            let answer = api
                .churn_report(pb::ChurnReportRequest {
                    dealers: dealers
                        .iter()
                        .filter_map(|d| crate::client::dealer(d))
                        .collect(),
                    month: Some(year_month(&month)?),
                    rule: rule(r) as i32,
                    threshold_months: threshold.unwrap_or(0),
                    breakdown: breakdown as i32,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_churn(&answer, client.output);
        }
        ReportCommand::Scorecard {
            dealer,
            month,
            rule: r,
            threshold,
            client,
        } => {
            let mut api = AnalyticsServiceClient::new(client.channel().await?);
            let answer = api
                .churn_scorecard(pb::ChurnScorecardRequest {
                    dealer: crate::client::dealer(&dealer),
                    month: Some(year_month(&month)?),
                    rule: rule(r) as i32,
                    consistency: None,
                    threshold_months: threshold.unwrap_or(0),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_scorecard(&answer, client.output);
        }
        ReportCommand::Targets {
            dealer,
            year,
            client,
        } => {
            let mut api = AnalyticsServiceClient::new(client.channel().await?);
            let answer = api
                .targets_report(pb::TargetsReportRequest {
                    dealer: crate::client::dealer(&dealer),
                    year,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_targets(&answer, client.output);
        }
        ReportCommand::Rfm(args) => print_rfm(&value_report(&args).await?, args.client.output),
        ReportCommand::Abc(args) => print_abc(&value_report(&args).await?, args.client.output),
        ReportCommand::Clv(args) => print_clv(&value_report(&args).await?, args.client.output),
        ReportCommand::Risk {
            dealer,
            month,
            top,
            client,
        } => {
            let mut api = AnalyticsServiceClient::new(client.channel().await?);
            let answer = api
                .risk_report(pb::RiskReportRequest {
                    dealer: crate::client::dealer(&dealer),
                    month: month.as_deref().map(year_month).transpose()?,
                    top,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_risk(&answer, client.output);
        }
        ReportCommand::ChurnTable {
            month,
            by,
            threshold,
            dealers,
            client,
        } => {
            let mut api = AnalyticsServiceClient::new(client.channel().await?);
            let answer = api
                .churn_table(pb::ChurnTableRequest {
                    dealers: dealers
                        .iter()
                        .filter_map(|d| crate::client::dealer(d))
                        .collect(),
                    month: Some(year_month(&month)?),
                    threshold_months: threshold.unwrap_or(0),
                    breakdown: breakdown(by) as i32,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_table(&answer, client.output);
        }
    }
    Ok(())
}

fn segment_name(value: i32) -> String {
    pb::Segment::try_from(value)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("SEGMENT_")
                .to_lowercase()
                .replace('_', "-")
        })
        .unwrap_or_default()
}

fn print_churn(answer: &pb::ChurnReportResponse, output: Output) {
    let segments: Vec<(String, i64)> = answer
        .segments
        .iter()
        .map(|s| (segment_name(s.segment), s.vehicles))
        .collect();
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv => {
            let rule = if answer.rule == pb::ChurnRule::B as i32 {
                "B"
            } else {
                "A"
            };
            say!(
                output,
                "churn {} (rule {rule})",
                month_text(answer.month.as_ref())
            );
            for c in &answer.cohorts {
                say!(
                    output,
                    "  {}: vehicles last seen {} ({} months)",
                    c.dealer,
                    month_text(c.cohort_month.as_ref()),
                    c.threshold_months
                );
            }
            let mut table = crate::table::Table::new(&["", ">BASE", ">CHURNED", ">RATE"]);
            for l in &answer.lines {
                let value = if l.value.is_empty() {
                    "(unknown)"
                } else {
                    &l.value
                };
                table.row(vec![
                    value.to_owned(),
                    l.base.to_string(),
                    l.churned.to_string(),
                    percent(l).to_string(),
                ]);
            }
            if let Some(t) = &answer.total {
                table.row(vec![
                    "TOTAL".to_owned(),
                    t.base.to_string(),
                    t.churned.to_string(),
                    percent(t).to_string(),
                ]);
            }
            table.print_as(output);
            let text: Vec<String> = segments.iter().map(|(s, n)| format!("{s} {n}")).collect();
            say!(output, "segments at month end: {}", text.join(", "));
        }
    }
}

fn print_table(answer: &pb::ChurnTableResponse, output: Output) {
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv => {
            say!(
                output,
                "vehicles on file at the end of {}",
                month_text(answer.month.as_ref())
            );
            for t in &answer.thresholds {
                say!(
                    output,
                    "  {}: wavering from {} months, churned from {}",
                    t.dealer,
                    t.at_risk_months,
                    t.threshold_months
                );
            }
            let mut headers = vec!["".to_owned(), ">BASE".to_owned()];
            if let Some(total) = &answer.total {
                headers.extend(
                    total
                        .segments
                        .iter()
                        .map(|s| format!(">{}", segment_name(s.segment).to_uppercase())),
                );
            }
            headers.extend([">CHURNED".to_owned(), ">RATE".to_owned()]);
            let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
            let mut table = crate::table::Table::new(&header_refs);
            let rows = answer
                .lines
                .iter()
                .map(|l| (l, false))
                .chain(answer.total.iter().map(|t| (t, true)));
            for (l, total) in rows {
                let value = match (total, l.value.is_empty()) {
                    (true, _) => "TOTAL",
                    (false, true) => "(unknown)",
                    (false, false) => &l.value,
                };
                let mut row = vec![value.to_owned(), l.base.to_string()];
                row.extend(l.segments.iter().map(|s| s.vehicles.to_string()));
                row.push(l.churned.to_string());
                row.push(if l.base == 0 {
                    "-".to_owned()
                } else {
                    format!("{:.1}%", l.rate * 100.0)
                });
                table.row(row);
            }
            table.print_as(output);
        }
    }
}

fn print_scorecard(answer: &pb::ChurnScorecardResponse, output: Output) {
    match output {
        Output::Json => print_json(answer),
        Output::Table | Output::Csv => {
            let dealer = answer.dealer.clone().unwrap_or_default();
            say!(
                output,
                "dealer churn rate {} ({} of {})",
                percent(&dealer),
                dealer.churned,
                dealer.base
            );
            let groups = answer.groups_rate.clone().unwrap_or_default();
            say!(
                output,
                "advisor groups judged against {} ({} of {} visits), churned after {} months",
                percent(&groups),
                groups.churned,
                groups.base,
                answer.threshold_months
            );
            let mut table = crate::table::Table::new(&[
                "",
                ">BASE",
                ">CHURNED",
                ">RATE",
                ">YUAN",
                ">CALLED IN WINDOW",
                ">SATISFIED",
                ">WINBACK APPTS",
                ">COMPLAINTS",
            ]);
            let of = |n: u64, d: u64| {
                if d == 0 {
                    "-".to_owned()
                } else {
                    format!("{n}/{d}")
                }
            };
            let rows = answer
                .advisor_groups
                .iter()
                .chain(answer.service_manager.iter())
                .chain(answer.workshop_supervisor.iter())
                .chain(answer.advisors.iter());
            for s in rows {
                let l = s.line.clone().unwrap_or_default();
                table.row(vec![
                    s.who.clone(),
                    l.base.to_string(),
                    l.churned.to_string(),
                    percent(&l).to_string(),
                    yuan(s.amount.as_ref().map_or(0, |m| m.fen)).to_string(),
                    s.callbacks.map_or("-".to_owned(), |c| {
                        of(c.callbacks_in_window, c.callbacks_due)
                    }),
                    s.callbacks
                        .map_or("-".to_owned(), |c| of(c.satisfied, c.rated)),
                    s.callbacks.map_or("-".to_owned(), |c| {
                        of(c.winback_appointments, c.winback_called)
                    }),
                    s.complaints.map_or("-".to_owned(), |c| {
                        if c.visits == 0 {
                            c.complaints.to_string()
                        } else {
                            format!("{}/{} ({:.1}%)", c.complaints, c.visits, c.rate * 100.0)
                        }
                    }),
                ]);
            }
            table.print_as(output);
            if output == Output::Table && !answer.callback_agents.is_empty() {
                println!("callback agents: their calls, and the groups they called");
                let mut agents = crate::table::Table::new(&[
                    "",
                    ">IN WINDOW",
                    ">SATISFIED",
                    ">WINBACK APPTS",
                    ">GROUP CALLS",
                    ">GROUPS' RATE",
                    ">YUAN",
                ])
                .indented(2);
                for a in &answer.callback_agents {
                    let c = a.callbacks.unwrap_or_default();
                    agents.row(vec![
                        a.agent.clone(),
                        of(c.callbacks_in_window, c.callbacks_due),
                        of(c.satisfied, c.rated),
                        of(c.winback_appointments, c.winback_called),
                        a.calls.to_string(),
                        if a.calls == 0 {
                            "-".to_owned()
                        } else {
                            format!("{:.1}%", a.rate * 100.0)
                        },
                        yuan(a.amount.as_ref().map_or(0, |m| m.fen)),
                    ]);
                }
                agents.print();
            }
        }
    }
}

pub async fn vehicle_status(
    dealer: String,
    vin: String,
    as_of: Option<jiff::civil::Date>,
    client: ClientArgs,
) -> anyhow::Result<()> {
    let mut api = AnalyticsServiceClient::new(client.channel().await?);
    let answer = api
        .vehicle_churn_status(pb::VehicleChurnStatusRequest {
            dealer: crate::client::dealer(&dealer),
            vin: vin.clone(),
            as_of: as_of.map(aftercare_proto::calendar::to_date),
            consistency: None,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    match client.output {
        Output::Json => print_json(&answer),
        Output::Table | Output::Csv => {
            let last = crate::client::local_time(answer.last_visit_closed_at.as_ref());
            let segment = segment_name(answer.segment);
            println!("{vin}: {segment}");
            if !last.is_empty() {
                println!(
                    "last visit {last} ({} months ago), advisor {} of {}",
                    answer.months_since_last_visit, answer.service_advisor, answer.advisor_group
                );
            }
        }
    }
    Ok(())
}

pub async fn vehicle_value(
    dealer: String,
    vin: String,
    as_of: Option<jiff::civil::Date>,
    client: ClientArgs,
) -> anyhow::Result<()> {
    let mut api = AnalyticsServiceClient::new(client.channel().await?);
    let answer = api
        .vehicle_value(pb::VehicleValueRequest {
            dealer: crate::client::dealer(&dealer),
            vin: vin.clone(),
            as_of: as_of.map(aftercare_proto::calendar::to_date),
            consistency: None,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    match client.output {
        Output::Json => print_json(&answer),
        Output::Table | Output::Csv => {
            let day = |d: Option<&aftercare_proto::common::v1::Date>| {
                d.and_then(|d| aftercare_proto::calendar::date(d).ok())
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            };
            let yuan = |m: Option<&aftercare_proto::common::v1::Money>| {
                aftercare_kernel::money::yuan(m.map_or(0, |m| m.fen))
            };
            if answer.segment.is_empty() {
                println!(
                    "{vin} on {}: never serviced here",
                    day(answer.as_of.as_ref())
                );
            } else {
                println!(
                    "{vin} on {}: {} (R{} F{} M{}), class {}",
                    day(answer.as_of.as_ref()),
                    answer.segment,
                    answer.recency_score,
                    answer.frequency_score,
                    answer.monetary_score,
                    answer.abc_class
                );
                println!(
                    "last visit {} ({} days ago), {:.1} visits and {} yuan a year; {} yuan in the last twelve months",
                    day(answer.last_visit.as_ref()),
                    answer.recency_days,
                    answer.visits_per_year,
                    yuan(answer.spend_per_year.as_ref()),
                    yuan(answer.last_twelve_months.as_ref())
                );
            }
        }
    }
    Ok(())
}
