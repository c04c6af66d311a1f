//! Tracing in one place: pretty on a terminal, JSON when asked or when not on a
//! terminal, OTLP export when configured. The returned handle flushes the exporter
//! on shutdown. W3C trace context is carried in gRPC metadata and event metadata.

use std::io::IsTerminal;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetryConfig};

/// Keeps the exporter alive; `shutdown` flushes what is buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            eprintln!("flushing traces failed: {err}");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry.filter: {0}")]
    Filter(String),
    #[error("telemetry.otlp_endpoint: {0}")]
    Exporter(String),
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// The NATS client logs whole messages (names, phones, VINs) below INFO; those
/// events are never recorded, whatever `RUST_LOG` or `telemetry.filter` say.
fn prints_payloads(target: &str, level: tracing::Level) -> bool {
    target.starts_with("async_nats") && level > tracing::Level::INFO
}

/// Installs the global subscriber. Call once, from `main`.
pub fn init(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives),
        _ => EnvFilter::try_new(&config.filter),
    }
    .map_err(|e| TelemetryError::Filter(e.to_string()))?;
    let json = match config.log_format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let fmt = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };
    let provider = match &config.otlp_endpoint {
        Some(endpoint) => Some(otlp_provider(endpoint, &config.service_name)?),
        None => None,
    };
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("aftercare"))
            .with_filter(EnvFilter::new("info"))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::filter::filter_fn(|meta| {
            !prints_payloads(meta.target(), *meta.level())
        }))
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(Telemetry { provider })
}

fn otlp_provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let processor =
        opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build())
}

struct HeaderExtractor<'a>(&'a tonic::codegen::http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Makes the `traceparent` of incoming gRPC metadata (HTTP/2 headers) the parent
/// of `span`, so a caller's trace continues through the server.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &tonic::codegen::http::HeaderMap) {
    if headers.contains_key("traceparent") {
        let context = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        let _ = span.set_parent(context);
    }
}

struct OneHeader<'a>(&'a str);

impl Extractor for OneHeader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// Makes a W3C `traceparent` (from an event's metadata or a NATS message's
/// headers) the parent of `span`: work done for an event continues the trace
/// of the request that produced it.
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    let context = TraceContextPropagator::new().extract(&OneHeader(traceparent));
    let _ = span.set_parent(context);
}

/// A span for what a runner does with one event, continuing the event's
/// trace; `None` for an event recorded outside any trace.
pub fn event_span(
    what: &'static str,
    runner: &'static str,
    event: &aftercare_eventstore::RecordedEvent,
) -> Option<tracing::Span> {
    let traceparent = event.data.metadata.traceparent.as_deref()?;
    let span = tracing::info_span!(
        "event",
        otel.name = what,
        runner,
        position = event.position.0,
        event_type = %event.data.event_type,
    );
    continue_trace(&span, traceparent);
    Some(span)
}

struct Traceparent(Option<String>);

impl Injector for Traceparent {
    fn set(&mut self, key: &str, value: String) {
        if key == "traceparent" {
            self.0 = Some(value);
        }
    }
}

/// The current span's W3C `traceparent`, to store with the events it produces
/// (and from there into NATS headers); `None` when not exporting traces.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    let mut carrier = Traceparent(None);
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.0
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    #[test]
    fn the_nats_client_never_logs_below_info() {
        for level in [Level::DEBUG, Level::TRACE] {
            assert!(super::prints_payloads("async_nats", level));
            assert!(super::prints_payloads("async_nats::connector", level));
        }
        assert!(!super::prints_payloads("async_nats", Level::INFO));
        assert!(!super::prints_payloads("async_nats", Level::WARN));
        assert!(!super::prints_payloads("aftercare_intake", Level::TRACE));
    }
}
