//! An OTLP/HTTP exporter of spans in the JSON encoding (the protocol's `application/json`), run on
//! the SDK's batch thread with a blocking client made there (never on the async runtime).

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::{KeyValue, Value as OtelValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::{Value, json};

/// Sends batches of spans to one OTLP traces endpoint.
#[derive(Debug)]
pub struct OtlpJson {
    endpoint: String,
    resource: opentelemetry_sdk::Resource,
    client: OnceLock<Option<reqwest::blocking::Client>>,
}

impl OtlpJson {
    /// An exporter to `endpoint` (`.../v1/traces`) describing spans as from `resource`.
    pub fn new(endpoint: String, resource: opentelemetry_sdk::Resource) -> Self {
        OtlpJson {
            endpoint,
            resource,
            client: OnceLock::new(),
        }
    }

    fn body(&self, batch: &[SpanData]) -> Value {
        let resource: Vec<Value> = self
            .resource
            .iter()
            .map(|(k, v)| attribute(k.as_str(), v))
            .collect();
        let spans: Vec<Value> = batch.iter().map(span).collect();
        json!({"resourceSpans": [{
            "resource": {"attributes": resource},
            "scopeSpans": [{"scope": {"name": "carebridge"}, "spans": spans}],
        }]})
    }
}

fn nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        .to_string()
}

fn attribute(key: &str, value: &OtelValue) -> Value {
    let v = match value {
        OtelValue::Bool(b) => json!({"boolValue": b}),
        OtelValue::I64(i) => json!({"intValue": i.to_string()}),
        OtelValue::F64(f) => json!({"doubleValue": f}),
        other => json!({"stringValue": other.as_str()}),
    };
    json!({"key": key, "value": v})
}

fn span(s: &SpanData) -> Value {
    let kind = match s.span_kind {
        opentelemetry::trace::SpanKind::Internal => 1,
        opentelemetry::trace::SpanKind::Server => 2,
        opentelemetry::trace::SpanKind::Client => 3,
        opentelemetry::trace::SpanKind::Producer => 4,
        opentelemetry::trace::SpanKind::Consumer => 5,
    };
    let attributes: Vec<Value> = s
        .attributes
        .iter()
        .map(|KeyValue { key, value, .. }| attribute(key.as_str(), value))
        .collect();
    let mut out = json!({
        "traceId": s.span_context.trace_id().to_string(),
        "spanId": s.span_context.span_id().to_string(),
        "name": s.name,
        "kind": kind,
        "startTimeUnixNano": nanos(s.start_time),
        "endTimeUnixNano": nanos(s.end_time),
        "attributes": attributes,
    });
    if s.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        out["parentSpanId"] = json!(s.parent_span_id.to_string());
    }
    if let opentelemetry::trace::Status::Error { description } = &s.status {
        out["status"] = json!({"code": 2, "message": description});
    }
    out
}

impl SpanExporter for OtlpJson {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let client = self.client.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .ok()
        });
        let Some(client) = client else {
            return Err(OTelSdkError::InternalFailure("no HTTP client".into()));
        };
        let sent = client
            .post(&self.endpoint)
            .header("Content-Type", "application/json")
            .body(self.body(&batch).to_string())
            .send()
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        if sent.status().is_success() {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!(
                "the collector answered {}",
                sent.status()
            )))
        }
    }
}
