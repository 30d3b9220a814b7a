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
pub mod sampler;

use sampler::{Sampler, Traceparent};

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
    /// A tracing layer exporting to `endpoint`, and the handle that flushes it; an unknown
    /// sampler in the environment is an error.
    pub fn layer<S>(
        endpoint: String,
    ) -> Result<
        (
            tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>,
            Telemetry,
        ),
        String,
    >
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(
                std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "carebridge".into()),
            )
            .build();
        let _ = SAMPLER.set(Sampler::from_env()?);
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(export::OtlpJson::new(endpoint, resource.clone()))
            .with_resource(resource)
            // Requests are sampled before their span is made ([`sampler`]): every span the SDK
            // sees is one to export.
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
            .build();
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let tracer = provider.tracer("carebridge");
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            // No busy/idle timing (two clock reads each time a request's future is polled), no
            // thread names, no source locations: costs per span that nobody asked for.
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false);
        Ok((
            layer,
            Telemetry {
                provider: Some(provider),
            },
        ))
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

/// The sampling rule, once traces are exported (unset: nothing is traced).
static SAMPLER: std::sync::OnceLock<Sampler> = std::sync::OnceLock::new();

/// Whether this process exports traces (set up before the store is opened).
pub fn exporting() -> bool {
    SAMPLER.get().is_some()
}

/// What a request's trace is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTrace {
    /// Whether its spans are made and exported.
    pub sampled: bool,
    /// The caller's trace context, if it sent a valid one.
    pub parent: Option<Traceparent>,
}

/// Decides whether the request with `headers` is traced, by the caller's `traceparent` and the
/// process's sampler ([`sampler`]); never when traces are not exported.
pub fn request_trace(headers: &actix_web::http::header::HeaderMap) -> RequestTrace {
    let parent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(Traceparent::parse);
    let sampled = SAMPLER.get().is_some_and(|s| s.samples(parent.as_ref()));
    RequestTrace { sampled, parent }
}

/// A child span of the current one, made by `make` only when there is a current span (a request
/// that is traced): an untraced request makes none, and never a stray root.
pub fn child(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    // Without an exporter no request is traced: one atomic load, not a subscriber lookup.
    if !exporting() || tracing::Span::current().is_none() {
        tracing::Span::none()
    } else {
        make()
    }
}

/// The span of a call this process makes (a notification, a key fetch), made by `make`: a child of
/// the current request when that is traced; otherwise a new trace when the sampler keeps one;
/// otherwise none.
pub fn outgoing(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    let traced =
        !tracing::Span::current().is_none() || SAMPLER.get().is_some_and(|s| s.samples(None));
    if traced {
        make()
    } else {
        tracing::Span::none()
    }
}

/// The `traceparent` header that makes the receiver's spans children of `span` (W3C trace
/// context), when `span` is traced.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if span.is_none() {
        return None;
    }
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
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

/// The trace id of `span` (32 hex digits), when it is traced.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    fn an_outgoing_call_carries_the_traced_request_as_its_parent() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("fhir.request");
            let request_id = trace_id(&request).expect("traced");
            let _in = request.enter();
            let call = outgoing(|| tracing::info_span!("notify.deliver"));
            let header = traceparent(&call).expect("a traceparent");
            let parsed = Traceparent::parse(&header).expect("valid W3C");
            assert_eq!(parsed.trace_id, request_id, "the same trace");
            assert!(parsed.sampled);
            let parent = traceparent(&request).expect("the request's");
            assert_ne!(header, parent, "the call's own span id");
        });
        // Outside any traced request, with no sampler (traces off): nothing is made or sent.
        assert!(traceparent(&outgoing(|| tracing::info_span!("x"))).is_none());
    }
}
