//! One trace from a DMS's request to the read models: the DMS sends a repair
//! order with a W3C `traceparent` header; the server (on JetStream and
//! PostgreSQL, exporting to an OTLP collector in this test) continues that
//! trace through the ingest, the append (the event keeps it), the visits read
//! model that applies the event and the callback scheduler that schedules the
//! customer's call from it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::harness::{authorized, cli, dealer, jetstream_stack, token, vin};

/// Keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut kept = self.0.lock().expect("not poisoned");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                kept.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            Value::StringValue(s) => s.clone(),
            Value::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dms_trace_reaches_the_read_model_and_the_scheduled_call() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("collector port");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let admin = "traces-admin-token-00000001";
    let stack = jetstream_stack(&format!(
        "{}[telemetry]\notlp_endpoint = \"{endpoint}\"\n",
        token("ops", admin, "admin", "all")
    ))
    .await;
    let url = stack.server.url();

    let mut intake_api = IntakeServiceClient::new(stack.server.channel().await);
    let customer = intake_api
        .register_customer(authorized(
            intake::RegisterCustomerRequest {
                dealer: dealer("D001"),
                profile: Some(intake::CustomerInput {
                    name: "周敏".into(),
                    phones: vec!["13812345678".into()],
                    ..Default::default()
                }),
                consents: vec![intake::Consent {
                    channel: intake::ContactChannel::Phone as i32,
                    granted: true,
                }],
                ..Default::default()
            },
            admin,
        ))
        .await
        .expect("customer")
        .into_inner()
        .customer_id;

    // The DMS's own trace: 32 hex digits of trace id, 16 of its span.
    let trace_hex = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_hex}-00f067aa0ba902b7-01");
    let closed = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48);
    let body = serde_json::json!({
        "repair_order": "RO-TRACE-1", "vin": vin(71, 1), "customer_id": customer,
        "opened_at": (closed - jiff::SignedDuration::from_hours(3)).to_string(),
        "closed_at": closed.to_string(), "mileage_km": 20000, "kind": "保养",
        "labour_fen": 30000, "parts_fen": 50000, "service_advisor": "张伟",
        "advisor_group": "A组",
    });
    let dms = async_nats::connect(stack.nats.url()).await.expect("dms");
    let inbox = "_INBOX.D001.trace";
    let mut replies = dms.subscribe(inbox).await.expect("subscribe");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("traceparent", traceparent.as_str());
    dms.publish_with_reply_and_headers(
        "aftercare.in.D001.visits",
        inbox,
        headers,
        body.to_string().into(),
    )
    .await
    .expect("publish");
    use futures::StreamExt;
    let reply = tokio::time::timeout(Duration::from_secs(10), replies.next())
        .await
        .expect("an answer")
        .expect("an answer");
    let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json");
    assert_eq!(reply["status"], "STATUS_ACCEPTED", "{reply}");

    // The scheduled call is on the worklist.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, stdout, stderr) = cli(
            std::env::temp_dir().as_path(),
            &[
                "callback", "worklist", "--dealer", "D001", "--server", &url, "--token", admin,
                "--output", "json",
            ],
            &[],
        );
        assert!(ok, "{stderr}");
        if stdout.contains(&vin(71, 1)[11..]) || stdout.contains("TASK_KIND_POST_SERVICE") {
            break;
        }
        assert!(Instant::now() < deadline, "no call scheduled: {stdout}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Every hop's span is in the DMS's trace (the exporter sends in batches).
    let trace_id = (0..16)
        .map(|i| u8::from_str_radix(&trace_hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect::<Vec<u8>>();
    let deadline = Instant::now() + Duration::from_secs(60);
    let hops = |spans: &[Span]| -> Vec<String> {
        let mut hops: Vec<String> = spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .map(|s| match attribute(s, "runner") {
                Some(runner) => format!("{} {runner}", s.name),
                None => s.name.clone(),
            })
            .collect();
        hops.sort();
        hops.dedup();
        hops
    };
    let wanted = [
        "ingest",
        "projection.apply callback_tasks",
        "projection.apply intake_visits",
    ];
    loop {
        let got = hops(&collector.0.lock().expect("not poisoned"));
        if wanted.iter().all(|w| got.iter().any(|g| g == w)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the trace never reached every hop: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The ingest span is the DMS span's child.
    let spans = collector.0.lock().expect("not poisoned").clone();
    let ingest = spans
        .iter()
        .find(|s| s.trace_id == trace_id && s.name == "ingest")
        .expect("ingest span");
    assert_eq!(
        ingest.parent_span_id,
        [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
        "the ingest continues the DMS's span"
    );
}
