//! Traces with OpenTelemetry: `tracing` spans (one per FHIR request, children for the store, the
//! consent decision and the audit journal) exported over OTLP/HTTP as JSON when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, off otherwise.
//! `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the service, as every OpenTelemetry SDK
//! reads them.
//!
//! Decisions:
//! - **W3C trace context**: a request's `traceparent` makes its span a child of the caller's; the
//!   trace id is recorded in the request's AuditEvent, so an auditor can join a disclosure to its
//!   trace.
//! - **No personal data in spans**: attributes are the interaction, resource type, status and
//!   consent outcome, the same codes the metrics use; never ids, names, NHS numbers, bodies or
//!   search values.
//! - **Our own exporter** ([`export`]): a blocking HTTP client on the SDK's batch thread, JSON
//!   encoding, no gRPC stack and no second reqwest.

pub mod export;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The running exporter, flushed when dropped at exit.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// The OTLP traces endpoint the environment names, if any.
pub fn endpoint() -> Option<String> {
    if let Ok(e) = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        && !e.trim().is_empty()
    {
        return Some(e.trim().to_owned());
    }
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .map(|e| e.trim().trim_end_matches('/').to_owned())
        .filter(|e| !e.is_empty())
        .map(|e| format!("{e}/v1/traces"))
}

impl Telemetry {
    /// A tracing layer exporting to `endpoint`, and the handle that flushes it.
    pub fn layer<S>(
        endpoint: String,
    ) -> (
        tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>,
        Telemetry,
    )
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(
                std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "carebridge".into()),
            )
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(export::OtlpJson::new(endpoint, resource.clone()))
            .with_resource(resource)
            .build();
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let tracer = provider.tracer("carebridge");
        (
            tracing_opentelemetry::layer().with_tracer(tracer),
            Telemetry {
                provider: Some(provider),
            },
        )
    }

    /// No exporter.
    pub fn off() -> Telemetry {
        Telemetry { provider: None }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("carebridge: traces not all exported: {e}");
        }
    }
}

/// Makes `span` a child of the W3C trace context in `headers` (`traceparent`), if any.
pub fn continue_trace(span: &tracing::Span, headers: &actix_web::http::header::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    struct Headers<'a>(&'a actix_web::http::header::HeaderMap);
    impl opentelemetry::propagation::Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)));
    let _ = span.set_parent(parent);
}

/// Names `span` in its trace (`otel.name`), also when it has already started (as a span that
/// continued a caller's trace has), once what the request is has been worked out.
pub fn rename(span: &tracing::Span, name: String) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.context().span().update_name(name);
}

/// The trace id of the current span (32 hex digits), when traces are on.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}
