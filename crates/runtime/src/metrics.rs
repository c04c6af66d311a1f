//! Prometheus metrics of one process: appends and their latency, gRPC calls per
//! method and status, each runner's position, lag, batch time and dead letters,
//! DMS ingest per outcome and reason, and which leases this replica holds.
//! Served as `/metrics` on a port of its own (`metrics.listen`), off unless set.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aftercare_eventstore::{
    AppendRequest, Appended, DeadLetter, DealerId, DealerProgress, EventData, EventStore,
    EventStream, Expected, Filter, Position, StoreError, StreamEvents, StreamId,
};
use async_trait::async_trait;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use tonic::codegen::{Service, http};

use crate::projection::ProgressHandle;

/// Every metric of the process, registered once.
pub struct Metrics {
    pub registry: Registry,
    /// Appended requests by result (`stored`, `conflict`, `invalid`, `unavailable`, …).
    pub appends: IntCounterVec,
    /// Seconds from an append's call to its answer, by how it was called.
    pub append_seconds: HistogramVec,
    /// gRPC calls by method and status code.
    pub grpc_requests: IntCounterVec,
    pub grpc_seconds: HistogramVec,
    /// The last position each runner applied (or passed).
    pub runner_position: IntGaugeVec,
    /// Events in the log after a runner's position: a projection's lag, a
    /// policy's backlog.
    pub runner_lag: IntGaugeVec,
    pub runner_batch_seconds: HistogramVec,
    /// Events a runner dead-lettered so far.
    pub runner_dead_letters: IntGaugeVec,
    /// Repair orders and other DMS records, by kind, outcome and reason.
    pub ingest: IntCounterVec,
    /// 1 for each runner whose lease this replica holds.
    pub lease_held: IntGaugeVec,
}

/// Latency buckets from a millisecond to half a minute.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let metric = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(SECONDS.to_vec()),
        labels,
    )
    .expect("a valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry =
        Registry::new_custom(Some("aftercare".to_owned()), None).expect("a valid prefix");
    Metrics {
        appends: counter(
            &registry,
            "appends_total",
            "Append requests answered, by result.",
            &["result"],
        ),
        append_seconds: histogram(
            &registry,
            "append_seconds",
            "Seconds until an append is answered (durable when stored).",
            &["call"],
        ),
        grpc_requests: counter(
            &registry,
            "grpc_requests_total",
            "gRPC calls answered, by method and status code.",
            &["method", "code"],
        ),
        grpc_seconds: histogram(
            &registry,
            "grpc_request_seconds",
            "Seconds until a gRPC call is answered, by method.",
            &["method"],
        ),
        runner_position: gauge(
            &registry,
            "runner_position",
            "The log position a projection or policy has applied up to.",
            &["runner", "kind"],
        ),
        runner_lag: gauge(
            &registry,
            "runner_lag_events",
            "Events in the log after a runner's position (a policy's backlog).",
            &["runner", "kind"],
        ),
        runner_batch_seconds: histogram(
            &registry,
            "runner_batch_seconds",
            "Seconds one transaction of a runner takes, by runner.",
            &["runner"],
        ),
        runner_dead_letters: gauge(
            &registry,
            "runner_dead_letters",
            "Events a runner dead-lettered so far.",
            &["runner", "kind"],
        ),
        ingest: counter(
            &registry,
            "ingest_total",
            "DMS records answered on the ingest subjects, by kind, status and reason.",
            &["kind", "status", "reason"],
        ),
        lease_held: gauge(
            &registry,
            "lease_held",
            "1 while this replica holds the runner's lease.",
            &["runner"],
        ),
        registry,
    }
});

pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// The name of every metric family the process exports, as scraped.
pub fn names() -> Vec<String> {
    use prometheus::core::Collector;
    let m = metrics();
    let collectors: [&dyn Collector; 10] = [
        &m.appends,
        &m.append_seconds,
        &m.grpc_requests,
        &m.grpc_seconds,
        &m.runner_position,
        &m.runner_lag,
        &m.runner_batch_seconds,
        &m.runner_dead_letters,
        &m.ingest,
        &m.lease_held,
    ];
    collectors
        .iter()
        .flat_map(|c| c.desc())
        .map(|d| format!("aftercare_{}", d.fq_name))
        .collect()
}

/// The text exposition of every metric.
pub fn render() -> String {
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&metrics().registry.gather(), &mut text)
        .expect("text encoding does not fail");
    String::from_utf8(text).expect("the text format is UTF-8")
}

/// Serves `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                render(),
            )
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds the metrics port; the address it got (for `:0`).
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// The health service name Kubernetes' readiness probe asks for: serving
/// while every runner of the process is within the lag bound.
pub const READY_SERVICE: &str = "aftercare.ready";

/// Readiness: the health reporter and the most events a runner may lag.
pub struct Readiness {
    pub health: crate::grpc::HealthReporter,
    pub max_lag: u64,
}

/// Keeps the runners' gauges at their progress against the log's head, and
/// the readiness service at whether they are caught up, every `every`, until
/// `stop` is set.
pub async fn watch_runners(
    store: Arc<dyn EventStore>,
    runners: Vec<ProgressHandle>,
    every: Duration,
    readiness: Readiness,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let m = metrics();
    let mut was_ready = None;
    loop {
        if let Ok(head) = store.head().await {
            let worst = runners
                .iter()
                .map(|r| (head.0.saturating_sub(r.current().position.0), r.name()))
                .max();
            let ready = worst.is_none_or(|(lag, _)| lag <= readiness.max_lag);
            if was_ready != Some(ready) {
                match worst {
                    Some((lag, runner)) if !ready => {
                        tracing::info!(runner, lag, "not ready: a read model is behind")
                    }
                    _ => tracing::info!("ready: every read model is caught up"),
                }
                let status = if ready {
                    tonic_health::ServingStatus::Serving
                } else {
                    tonic_health::ServingStatus::NotServing
                };
                readiness
                    .health
                    .set_service_status(READY_SERVICE, status)
                    .await;
                was_ready = Some(ready);
            }
            for runner in &runners {
                let p = runner.current();
                let labels = [runner.name(), runner.kind()];
                m.runner_position
                    .with_label_values(&labels)
                    .set(p.position.0 as i64);
                m.runner_lag
                    .with_label_values(&labels)
                    .set(head.0.saturating_sub(p.position.0) as i64);
                m.runner_dead_letters
                    .with_label_values(&labels)
                    .set(p.dead_lettered as i64);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// An event store whose appends are counted and timed.
pub struct MeteredStore(pub Arc<dyn EventStore>);

fn result_label(result: &Result<Appended, StoreError>) -> &'static str {
    match result {
        Ok(_) => "stored",
        Err(StoreError::Conflict { .. }) => "conflict",
        Err(StoreError::InvalidInput { .. }) => "invalid",
        Err(StoreError::Unavailable(_)) => "unavailable",
        Err(_) => "error",
    }
}

#[async_trait]
impl EventStore for MeteredStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: Expected,
        events: Vec<EventData>,
    ) -> Result<Appended, StoreError> {
        let started = Instant::now();
        let result = self.0.append(stream, expected, events).await;
        let m = metrics();
        m.append_seconds
            .with_label_values(&["single"])
            .observe(started.elapsed().as_secs_f64());
        m.appends.with_label_values(&[result_label(&result)]).inc();
        result
    }

    async fn append_batch(&self, batch: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
        let started = Instant::now();
        let results = self.0.append_batch(batch).await;
        let m = metrics();
        m.append_seconds
            .with_label_values(&["batch"])
            .observe(started.elapsed().as_secs_f64());
        for result in &results {
            m.appends.with_label_values(&[result_label(result)]).inc();
        }
        results
    }

    async fn read_stream(&self, stream: &StreamId) -> Result<StreamEvents, StoreError> {
        self.0.read_stream(stream).await
    }

    async fn subscribe(&self, filter: &Filter, from: Position) -> Result<EventStream, StoreError> {
        self.0.subscribe(filter, from).await
    }

    async fn head(&self) -> Result<Position, StoreError> {
        self.0.head().await
    }

    async fn dealer_progress(
        &self,
        dealers: &[DealerId],
        after: Position,
    ) -> Result<DealerProgress, StoreError> {
        self.0.dealer_progress(dealers, after).await
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        self.0.dead_letter(letter).await
    }

    async fn dead_letters(&self, kind: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        self.0.dead_letters(kind).await
    }
}

/// A layer counting and timing each gRPC call by method and status.
#[derive(Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower_layer::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> GrpcMetrics<S> {
        GrpcMetrics { inner }
    }
}

#[derive(Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

/// Every method the server answers, `/<package>.<Service>/<Method>`: a call
/// to any other path is counted as `other`, so a client cannot make up labels.
static KNOWN_METHODS: LazyLock<std::collections::HashSet<String>> = LazyLock::new(|| {
    use prost::Message;
    let mut known = std::collections::HashSet::new();
    for encoded in [
        aftercare_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        let Ok(set) = prost_types::FileDescriptorSet::decode(encoded) else {
            continue;
        };
        for file in set.file {
            let package = file.package.unwrap_or_default();
            for service in file.service {
                let service_name = service.name.unwrap_or_default();
                for method in service.method {
                    known.insert(format!(
                        "/{package}.{service_name}/{}",
                        method.name.unwrap_or_default()
                    ));
                }
            }
        }
    }
    known
});

fn method_label(path: &str) -> String {
    if KNOWN_METHODS.contains(path) {
        path.to_owned()
    } else {
        "other".to_owned()
    }
}

/// The status of an answer: in its headers when the call failed before a
/// body, otherwise `OK` (a body's status travels in its trailers).
fn grpc_code<B>(response: &http::Response<B>) -> String {
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0);
    format!("{:?}", tonic::Code::from_i32(code))
}

impl<S, B, R> Service<http::Request<B>> for GrpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = method_label(request.uri().path());
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let answer = call.await;
            let code = match &answer {
                Ok(response) => grpc_code(response),
                Err(_) => "Unavailable".to_owned(),
            };
            let m = metrics();
            m.grpc_seconds
                .with_label_values(&[method.as_str()])
                .observe(started.elapsed().as_secs_f64());
            m.grpc_requests
                .with_label_values(&[method.as_str(), code.as_str()])
                .inc();
            answer
        })
    }
}
