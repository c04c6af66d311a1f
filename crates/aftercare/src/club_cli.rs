//! `aftercare club …`: a member's card and ledger, redemptions, adjustments,
//! club activities, VIPs, prospects joining, and the tier sweep.

use aftercare_proto::common::v1::Money;
use aftercare_proto::loyalty::v1 as pb;
use aftercare_proto::loyalty::v1::loyalty_service_client::LoyaltyServiceClient;
use clap::Subcommand;

use crate::client::{ClientArgs, Output, status_error};

#[derive(Subcommand)]
pub enum ClubCommand {
    /// A member's card: tier, balance, the 24-month window, what the next card needs.
    Member {
        #[arg(long)]
        dealer: String,
        customer: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A member's ledger, newest first.
    Ledger {
        #[arg(long)]
        dealer: String,
        customer: String,
        #[arg(long, default_value = "")]
        page_token: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Redeem points for a gift or a service; never more than the balance.
    Redeem {
        #[arg(long)]
        dealer: String,
        customer: String,
        #[arg(long)]
        points: i64,
        #[arg(long)]
        item: String,
        /// At a partner merchant (友好商户).
        #[arg(long, default_value = "")]
        partner: String,
        /// The value given, in yuan (for the partner's statement).
        #[arg(long, default_value_t = 0.0)]
        value_yuan: f64,
        /// The same key again is the same redemption (a retry redeems once).
        #[arg(long)]
        key: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add or take points by hand, with a reason.
    Adjust {
        #[arg(long)]
        dealer: String,
        customer: String,
        #[arg(long, allow_hyphen_values = true)]
        points: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        key: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Points for taking part in a club activity.
    Activity {
        #[arg(long)]
        dealer: String,
        customer: String,
        #[arg(long)]
        points: i64,
        #[arg(long)]
        activity: String,
        #[arg(long)]
        key: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Make a member VIP (green 2-star at least).
    Vip {
        #[arg(long)]
        dealer: String,
        customer: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A prospect with purchase intent applies for the prospect card.
    Join {
        #[arg(long)]
        dealer: String,
        customer: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Register a partner merchant (友好商户).
    Partner {
        #[arg(long)]
        dealer: String,
        /// Letters, digits, '-' and '_' (e.g. carwash-01).
        partner: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The dealer's partner merchants.
    Partners {
        #[arg(long)]
        dealer: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A partner's month: what members redeemed there; --settle once it is over.
    Statement {
        #[arg(long)]
        dealer: String,
        partner: String,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        #[arg(long)]
        settle: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The club's month: members per card, activity, points and liability.
    Stats {
        #[arg(long)]
        dealer: String,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Re-decide every member's card now (the server does this daily).
    Sweep {
        #[arg(long)]
        dealer: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn card_name(card: i32) -> &'static str {
    match pb::Card::try_from(card) {
        Ok(pb::Card::Prospect) => "prospect",
        Ok(pb::Card::Green) => "green",
        Ok(pb::Card::GreenOneStar) => "green 1-star",
        Ok(pb::Card::GreenTwoStar) => "green 2-star",
        Ok(pb::Card::Gold) => "gold",
        _ => "",
    }
}

pub async fn club(command: ClubCommand) -> anyhow::Result<()> {
    use ClubCommand::*;
    let client = match &command {
        Member { client, .. }
        | Ledger { client, .. }
        | Redeem { client, .. }
        | Adjust { client, .. }
        | Activity { client, .. }
        | Vip { client, .. }
        | Join { client, .. }
        | Partner { client, .. }
        | Partners { client, .. }
        | Statement { client, .. }
        | Stats { client, .. }
        | Sweep { client, .. } => client.clone(),
    };
    let mut api = LoyaltyServiceClient::new(client.channel().await?);
    let output = client.output;
    let d = |dealer: &str| crate::client::dealer(dealer);
    let answer = match command {
        Member {
            dealer, customer, ..
        } => {
            let card = api
                .get_member(pb::GetMemberRequest {
                    dealer: d(&dealer),
                    customer_id: customer,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&card),
                Output::Table | Output::Csv => {
                    println!(
                        "{} {}: {} card{}",
                        card.name,
                        card.customer_id,
                        card_name(card.card),
                        if card.vip { " (VIP)" } else { "" }
                    );
                    println!("balance: {} points", card.balance);
                    println!(
                        "last 24 months: {} points, {} from maintenance and parts",
                        card.window_points, card.window_spend_points
                    );
                    println!(
                        "referred buyers: {}; vehicles: {}",
                        card.referred_buyers, card.vehicles
                    );
                    if !card.next_card.is_empty() {
                        println!("next: {}", card.next_card);
                    }
                    println!(
                        "member since {}",
                        crate::client::local_time(card.joined_at.as_ref())
                    );
                }
            }
            return Ok(());
        }
        Ledger {
            dealer,
            customer,
            page_token,
            ..
        } => {
            let list = api
                .list_ledger(pb::ListLedgerRequest {
                    dealer: d(&dealer),
                    customer_id: customer,
                    page: Some(aftercare_proto::common::v1::PageRequest {
                        page_size: 50,
                        page_token,
                    }),
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&list),
                Output::Table | Output::Csv => {
                    let mut table =
                        crate::table::Table::new(&["AT", "WHAT", ">POINTS", "DETAIL", "PARTNER"]);
                    for e in &list.entries {
                        table.row(vec![
                            crate::client::local_time(e.at.as_ref()),
                            e.kind.clone(),
                            format!("{:+}", e.points),
                            e.detail.clone(),
                            e.partner_id.clone(),
                        ]);
                    }
                    table.print();
                    crate::client::print_page(list.entries.len(), list.page.as_ref());
                }
            }
            return Ok(());
        }
        Redeem {
            dealer,
            customer,
            points,
            item,
            partner,
            value_yuan,
            key,
            ..
        } => {
            api.redeem(pb::RedeemRequest {
                dealer: d(&dealer),
                customer_id: customer,
                points,
                item,
                partner_id: partner,
                key,
                value: Some(Money {
                    fen: (value_yuan * 100.0).round() as i64,
                }),
            })
            .await
        }
        Adjust {
            dealer,
            customer,
            points,
            reason,
            key,
            ..
        } => {
            api.adjust_points(pb::AdjustPointsRequest {
                dealer: d(&dealer),
                customer_id: customer,
                points,
                reason,
                key,
            })
            .await
        }
        Activity {
            dealer,
            customer,
            points,
            activity,
            key,
            ..
        } => {
            api.record_activity(pb::RecordActivityRequest {
                dealer: d(&dealer),
                customer_id: customer,
                points,
                activity,
                key,
            })
            .await
        }
        Vip {
            dealer,
            customer,
            reason,
            ..
        } => {
            api.set_vip(pb::SetVipRequest {
                dealer: d(&dealer),
                customer_id: customer,
                reason,
            })
            .await
        }
        Join {
            dealer, customer, ..
        } => {
            api.join_club(pb::JoinClubRequest {
                dealer: d(&dealer),
                customer_id: customer,
            })
            .await
        }
        Partner {
            dealer,
            partner,
            name,
            ..
        } => {
            let done = api
                .register_partner(pb::RegisterPartnerRequest {
                    dealer: d(&dealer),
                    partner_id: partner,
                    name,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let at = done.position.map_or(0, |p| p.value);
            crate::client::report(output, &done, "partner", &done.partner_id, done.changed, at);
            return Ok(());
        }
        Partners { dealer, .. } => {
            let list = api
                .list_partners(pb::ListPartnersRequest {
                    dealer: d(&dealer),
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&list),
                Output::Table | Output::Csv => {
                    let mut table = crate::table::Table::new(&["PARTNER", "NAME", "SINCE"]);
                    for p in &list.partners {
                        table.row(vec![
                            p.partner_id.clone(),
                            p.name.clone(),
                            crate::client::local_time(p.registered_at.as_ref()),
                        ]);
                    }
                    table.print();
                }
            }
            return Ok(());
        }
        Statement {
            dealer,
            partner,
            month,
            settle,
            ..
        } => {
            let month = crate::report_cli::year_month(&month)?;
            if settle {
                let done = api
                    .settle_statement(pb::SettleStatementRequest {
                        dealer: d(&dealer),
                        partner_id: partner.clone(),
                        month: Some(month),
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                if output == Output::Json {
                    crate::client::print_json(&done);
                    return Ok(());
                }
            }
            let s = api
                .partner_statement(pb::PartnerStatementRequest {
                    dealer: d(&dealer),
                    partner_id: partner,
                    month: Some(month),
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&s),
                Output::Table | Output::Csv => {
                    println!(
                        "{} ({}), {:04}-{:02}: {} redemptions, {} points, {} yuan{}",
                        s.name,
                        s.partner_id,
                        month.year,
                        month.month,
                        s.redemptions,
                        s.points,
                        aftercare_kernel::money::yuan(s.value.map_or(0, |m| m.fen)),
                        if s.settled {
                            format!(
                                "; settled by {} on {}",
                                s.settled_by,
                                crate::client::local_time(s.settled_at.as_ref())
                            )
                        } else {
                            "; not settled".to_owned()
                        }
                    );
                }
            }
            return Ok(());
        }
        Stats { dealer, month, .. } => {
            let stats = api
                .club_stats(pb::ClubStatsRequest {
                    dealer: d(&dealer),
                    month: Some(crate::report_cli::year_month(&month)?),
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&stats),
                Output::Table | Output::Csv => {
                    let mut table = crate::table::Table::new(&["CARD", ">MEMBERS"]);
                    for c in &stats.cards {
                        table.row(vec![card_name(c.card).to_owned(), c.members.to_string()]);
                    }
                    table.print();
                    if stats.club != dealer {
                        println!("the group-wide club kept at dealer {}", stats.club);
                    }
                    println!(
                        "{} members, {} joined in {month}, {} active",
                        stats.members, stats.joined, stats.active
                    );
                    println!(
                        "owners on file {}, of whom members {}{}",
                        stats.owners,
                        stats.owners_joined,
                        if stats.owners > 0 {
                            format!(
                                " ({:.1}%)",
                                stats.owners_joined as f64 * 100.0 / stats.owners as f64
                            )
                        } else {
                            String::new()
                        }
                    );
                    println!(
                        "points issued {}, redeemed {}; outstanding {} ({} yuan)",
                        stats.points_issued,
                        stats.points_redeemed,
                        stats.points_outstanding,
                        aftercare_kernel::money::yuan(stats.liability.map_or(0, |m| m.fen))
                    );
                }
            }
            return Ok(());
        }
        Sweep { dealer, .. } => {
            let swept = api
                .sweep_tiers(pb::SweepTiersRequest {
                    dealer: d(&dealer),
                    as_of: None,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Output::Json => crate::client::print_json(&swept),
                Output::Table | Output::Csv => println!("{} cards changed", swept.changed),
            }
            return Ok(());
        }
    };
    let answer = answer.map_err(status_error)?.into_inner();
    match output {
        Output::Json => crate::client::print_json(&answer),
        Output::Table | Output::Csv if answer.changed => println!(
            "member {}: balance {} points (position {})",
            answer.member_id,
            answer.balance,
            answer.position.map_or(0, |p| p.value)
        ),
        Output::Table | Output::Csv => println!(
            "member {}: nothing to change; balance {} points",
            answer.member_id, answer.balance
        ),
    }
    Ok(())
}
