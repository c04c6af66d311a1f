//! `aftercare customer …`: register, update, consent, show and search customer
//! files. Each is one gRPC call; tables by default, JSON with `--output json`.

use aftercare_proto::common::v1::PageRequest;
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use clap::{Args, Subcommand};

use crate::client::{ClientArgs, Output, date, dealer, position, print_json, report, status_error};

#[derive(Subcommand)]
pub enum CustomerCommand {
    /// Open a customer file.
    Register {
        #[arg(long)]
        dealer: String,
        #[arg(long)]
        name: String,
        /// Repeatable; mobile or landline, in any usual form.
        #[arg(long = "phone", required = true)]
        phones: Vec<String>,
        #[arg(long, default_value = "")]
        district: String,
        /// Channels the customer agreed to be contacted on: phone, sms, wechat.
        #[arg(long = "consent", value_delimiter = ',')]
        consents: Vec<String>,
        /// An idempotency key: repeating the command with the same key (a retry
        /// after a timeout) answers with what the first run created.
        #[arg(long = "request-id", default_value = "")]
        request_id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Record a consent to a contact channel, or its withdrawal (--withdraw).
    Consent {
        #[arg(long)]
        dealer: String,
        customer_id: String,
        /// phone, sms or wechat.
        #[arg(long)]
        channel: String,
        #[arg(long)]
        withdraw: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Replace a customer's profile with the one given.
    Update(CustomerUpdate),
    /// One customer's file.
    Show {
        #[arg(long)]
        dealer: String,
        customer_id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// By phone number or part of the name.
    Search {
        #[arg(long)]
        dealer: String,
        query: String,
        /// The next page, as the previous page's last line names it.
        #[arg(long, default_value = "")]
        page_token: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn channel(text: &str) -> anyhow::Result<pb::ContactChannel> {
    match text.trim() {
        "phone" => Ok(pb::ContactChannel::Phone),
        "sms" => Ok(pb::ContactChannel::Sms),
        "wechat" => Ok(pb::ContactChannel::Wechat),
        other => Err(anyhow::anyhow!("{other:?}: use phone, sms or wechat")),
    }
}

fn print_customers(files: &[pb::CustomerFile]) {
    let mut table =
        crate::table::Table::new(&["CUSTOMER", "NAME", "PHONES", "DISTRICT", "VEHICLES"]);
    for c in files {
        let phones: Vec<_> = c.phones.iter().map(|p| p.number.as_str()).collect();
        let vehicles: Vec<String> = c
            .vehicles
            .iter()
            .map(|v| format!("{} {}", v.vin, v.model))
            .collect();
        table.row(vec![
            c.customer_id.clone(),
            c.name.clone(),
            phones.join(" "),
            c.district.clone(),
            vehicles.join(", "),
        ]);
    }
    table.print();
}

pub async fn customer(command: CustomerCommand) -> anyhow::Result<()> {
    match command {
        CustomerCommand::Update(args) => update_customer(args).await?,
        CustomerCommand::Register {
            dealer: d,
            name,
            phones,
            district,
            consents,
            request_id,
            client,
        } => {
            let consents = consents
                .iter()
                .map(|c| match c.trim() {
                    "phone" => Ok(pb::ContactChannel::Phone),
                    "sms" => Ok(pb::ContactChannel::Sms),
                    "wechat" => Ok(pb::ContactChannel::Wechat),
                    other => Err(anyhow::anyhow!(
                        "--consent {other:?}: use phone, sms or wechat"
                    )),
                })
                .map(|c| {
                    c.map(|channel| pb::Consent {
                        channel: channel as i32,
                        granted: true,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let profile = pb::CustomerInput {
                name,
                phones,
                district,
                customer_type: pb::CustomerType::Private as i32,
                birthday: None,
            };
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let answer = api
                .register_customer(pb::RegisterCustomerRequest {
                    dealer: dealer(&d),
                    profile: Some(profile),
                    consents,
                    client_request_id: request_id,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match client.output {
                Output::Json => print_json(&answer),
                Output::Table | Output::Csv => {
                    println!("registered customer {}", answer.customer_id)
                }
            }
        }
        CustomerCommand::Consent {
            dealer: d,
            customer_id,
            channel: c,
            withdraw,
            client,
        } => {
            let consent = pb::Consent {
                channel: channel(&c).map_err(|e| anyhow::anyhow!("--channel {e}"))? as i32,
                granted: !withdraw,
            };
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let answer = api
                .set_contact_consent(pb::SetContactConsentRequest {
                    dealer: dealer(&d),
                    customer_id,
                    consent: Some(consent),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match client.output {
                Output::Json => print_json(&answer),
                Output::Table | Output::Csv if answer.changed => println!("recorded"),
                Output::Table | Output::Csv => println!("unchanged: already so"),
            }
        }
        CustomerCommand::Show {
            dealer: d,
            customer_id,
            client,
        } => {
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let file = api
                .get_customer(pb::GetCustomerRequest {
                    dealer: dealer(&d),
                    customer_id,
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match client.output {
                Output::Json => print_json(&file),
                Output::Table | Output::Csv => print_customers(&[file]),
            }
        }
        CustomerCommand::Search {
            dealer: d,
            query,
            page_token,
            client,
        } => {
            let mut api = IntakeServiceClient::new(client.channel().await?);
            let found = api
                .search_customers(pb::SearchCustomersRequest {
                    dealer: dealer(&d),
                    query,
                    page: Some(PageRequest {
                        page_size: 50,
                        page_token,
                    }),
                    consistency: None,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            match client.output {
                Output::Json => print_json(&found),
                Output::Table | Output::Csv => {
                    print_customers(&found.customers);
                    crate::client::print_page(found.customers.len(), found.page.as_ref());
                }
            }
        }
    }
    Ok(())
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
        &answer,
        "customer",
        &answer.customer_id,
        answer.changed,
        position(answer.position),
    );
    Ok(())
}
