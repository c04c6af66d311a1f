//! The customer file through the real event store: commands decided on the
//! current state, with concurrent writers.

use std::sync::Arc;

use aftercare_eventstore::{DealerId, EmbeddedStore, EventStore, StreamId};
use aftercare_intake::customer_events::CustomerCodec;
use aftercare_intake::domain::customer::{
    Channel, Customer, CustomerCommand, CustomerRejection, CustomerType, ProfileInput,
};
use aftercare_runtime::command::{CommandError, execute};

fn profile() -> aftercare_intake::domain::customer::Profile {
    ProfileInput {
        name: "刘洋".into(),
        phones: vec!["13812341234".into()],
        district: "浦东新区".into(),
        customer_type: CustomerType::Private,
        birthday: None,
    }
    .validate(jiff::civil::date(2026, 11, 26))
    .expect("valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_consent_changes_are_all_decided_on_the_current_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn EventStore> = Arc::new(
        EmbeddedStore::open(dir.path().join("events.db"))
            .await
            .expect("log"),
    );
    let stream =
        StreamId::new(DealerId::parse("D001").expect("valid"), "customer", "c-1").expect("valid");
    let register = CustomerCommand::Register {
        customer_id: "c-1".into(),
        profile: profile(),
        consents: vec![],
    };
    execute::<Customer>(
        store.as_ref(),
        &stream,
        &CustomerCodec,
        register.clone(),
        |e| e,
    )
    .await
    .expect("registered");
    let again = execute::<Customer>(store.as_ref(), &stream, &CustomerCodec, register, |e| e).await;
    assert!(
        matches!(
            again,
            Err(CommandError::Rejected(CustomerRejection::AlreadyRegistered))
        ),
        "{again:?}"
    );

    // Three channels granted at once by three writers: each retries on conflict
    // and decides on what the others wrote, so all three consents end up recorded.
    let mut writers = Vec::new();
    for channel in [Channel::Phone, Channel::Sms, Channel::WeChat] {
        let (store, stream) = (store.clone(), stream.clone());
        writers.push(tokio::spawn(async move {
            let command = CustomerCommand::SetConsent {
                channel,
                granted: true,
            };
            execute::<Customer>(store.as_ref(), &stream, &CustomerCodec, command, |e| e).await
        }));
    }
    for writer in writers {
        let executed = writer.await.expect("task").expect("consent recorded");
        assert_eq!(executed.events.len(), 1);
    }
    let recorded = store.read_stream(&stream).await.expect("read");
    assert_eq!(recorded.len(), 4);
    let customer = recorded.iter().fold(Customer::default(), |c, e| {
        use aftercare_runtime::command::{Aggregate, EventCodec};
        c.evolve(&CustomerCodec.decode(e).expect("decodes"))
    });
    assert!(
        [Channel::Phone, Channel::Sms, Channel::WeChat]
            .iter()
            .all(|c| customer.may_contact(*c))
    );
    // Granting again changes nothing and appends nothing.
    let same = CustomerCommand::SetConsent {
        channel: Channel::Sms,
        granted: true,
    };
    let executed = execute::<Customer>(store.as_ref(), &stream, &CustomerCodec, same, |e| e)
        .await
        .expect("no-op");
    assert!(executed.events.is_empty());
    assert_eq!(store.read_stream(&stream).await.expect("read").len(), 4);
}
