//! The customer file over gRPC against the real binary on its embedded default:
//! register, read back at the written position, search, masking, consents.

use aftercare_proto::common::v1::{Consistency, DealerId, PageRequest};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tonic::Code;

use crate::harness::{Server, authorized};

const MANAGER: &str = "care-manager-token-0000001";
const VIEWER: &str = "viewer-token-000000000001";

fn dealer(id: &str) -> Option<DealerId> {
    Some(DealerId { value: id.into() })
}

fn profile(phones: &[&str]) -> Option<pb::CustomerInput> {
    Some(pb::CustomerInput {
        name: "刘洋".into(),
        phones: phones.iter().map(|p| (*p).to_owned()).collect(),
        district: "浦东新区".into(),
        customer_type: pb::CustomerType::Private as i32,
        birthday: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_file_over_grpc() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("aftercare.toml");
    std::fs::write(
        &config,
        format!(
            "[[auth.tokens]]\nname = \"manager\"\ntoken = \"{MANAGER}\"\nroles = [\"care-manager\"]\nscope = \"dealer:D001\"\n\
             [[auth.tokens]]\nname = \"viewer\"\ntoken = \"{VIEWER}\"\nroles = [\"viewer\"]\nscope = \"dealer:D001\"\n"
        ),
    )
    .expect("config");
    let server = Server::start(
        dir.path(),
        &["--config", config.to_str().expect("utf-8")],
        &[],
    );
    let mut client = IntakeServiceClient::new(server.channel().await);

    let registered = client
        .register_customer(authorized(
            pb::RegisterCustomerRequest {
                dealer: dealer("D001"),
                profile: profile(&["+86 138-1234-1234", "021 62345678"]),
                consents: vec![pb::Consent {
                    channel: pb::ContactChannel::Phone as i32,
                    granted: true,
                }],
                client_request_id: String::new(),
            },
            MANAGER,
        ))
        .await
        .expect("registered")
        .into_inner();
    assert!(registered.changed);
    let at = Some(Consistency {
        min_position: registered.position,
    });
    let get = |token: &'static str, consistency: Option<Consistency>| {
        authorized(
            pb::GetCustomerRequest {
                dealer: dealer("D001"),
                customer_id: registered.customer_id.clone(),
                consistency,
            },
            token,
        )
    };
    let file = client
        .get_customer(get(MANAGER, at))
        .await
        .expect("read back")
        .into_inner();
    assert_eq!(file.name, "刘洋");
    let phones: Vec<_> = file.phones.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(phones, ["021-62345678", "13812341234"]);
    let masked = client
        .get_customer(get(VIEWER, None))
        .await
        .expect("viewer reads")
        .into_inner();
    assert!(masked.masked);
    assert_eq!(masked.name, "刘*");
    let phones: Vec<_> = masked.phones.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(phones, ["021-****5678", "138****1234"]);

    for query in ["138 1234 1234", "洋"] {
        let found = client
            .search_customers(authorized(
                pb::SearchCustomersRequest {
                    dealer: dealer("D001"),
                    query: query.into(),
                    page: Some(PageRequest {
                        page_size: 10,
                        page_token: String::new(),
                    }),
                    consistency: None,
                },
                MANAGER,
            ))
            .await
            .expect("search")
            .into_inner();
        assert_eq!(found.customers.len(), 1, "{query}");
        assert_eq!(found.customers[0].customer_id, registered.customer_id);
    }
    let other = client
        .search_customers(authorized(
            pb::SearchCustomersRequest {
                dealer: dealer("D002"),
                query: "洋".into(),
                page: None,
                consistency: None,
            },
            MANAGER,
        ))
        .await
        .expect_err("other dealer");
    assert_eq!(other.code(), Code::PermissionDenied);

    let same = client
        .update_customer(authorized(
            pb::UpdateCustomerRequest {
                dealer: dealer("D001"),
                customer_id: registered.customer_id.clone(),
                profile: profile(&["13812341234", "021-62345678"]),
            },
            MANAGER,
        ))
        .await
        .expect("update")
        .into_inner();
    assert!(
        !same.changed,
        "the same profile, typed differently, changes nothing"
    );
    let consent = client
        .set_contact_consent(authorized(
            pb::SetContactConsentRequest {
                dealer: dealer("D001"),
                customer_id: registered.customer_id.clone(),
                consent: Some(pb::Consent {
                    channel: pb::ContactChannel::Sms as i32,
                    granted: true,
                }),
            },
            MANAGER,
        ))
        .await
        .expect("consent")
        .into_inner();
    assert!(consent.changed);
    let file = client
        .get_customer(get(
            MANAGER,
            Some(Consistency {
                min_position: consent.position,
            }),
        ))
        .await
        .expect("read")
        .into_inner();
    let mut channels: Vec<_> = file.consents.iter().map(|c| c.channel).collect();
    channels.sort();
    assert_eq!(
        channels,
        [
            pb::ContactChannel::Phone as i32,
            pb::ContactChannel::Sms as i32
        ]
    );

    let bad = client
        .register_customer(authorized(
            pb::RegisterCustomerRequest {
                dealer: dealer("D001"),
                profile: profile(&["12345"]),
                consents: vec![],
                client_request_id: String::new(),
            },
            MANAGER,
        ))
        .await
        .expect_err("bad phone");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message().contains("profile.phones[0]"),
        "{}",
        bad.message()
    );
    let unknown = client
        .update_customer(authorized(
            pb::UpdateCustomerRequest {
                dealer: dealer("D001"),
                customer_id: uuid::Uuid::now_v7().to_string(),
                profile: profile(&["13812341234"]),
            },
            MANAGER,
        ))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);
    let denied = client
        .register_customer(authorized(
            pb::RegisterCustomerRequest {
                dealer: dealer("D001"),
                profile: profile(&["13812341234"]),
                consents: vec![],
                client_request_id: String::new(),
            },
            VIEWER,
        ))
        .await
        .expect_err("viewers read only");
    assert_eq!(denied.code(), Code::PermissionDenied);
}
