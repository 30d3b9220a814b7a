//! A resource's JSON on its way out: the text exactly as stored (served without parsing), or a
//! value built for this reply (a redacted resource, a bundle). The gate decides on it and the
//! interactions return it, so it sits below both.

use serde_json::Value;

/// The body of a reply: stored JSON served as is, or a value built for this reply.
#[derive(Debug, Clone)]
pub enum Body {
    /// JSON text exactly as stored.
    Raw(String),
    /// A built value.
    Json(Value),
}

impl Body {
    /// The body as JSON text.
    pub fn into_string(self) -> String {
        match self {
            Body::Raw(s) => s,
            Body::Json(v) => v.to_string(),
        }
    }

    /// The body as a JSON value (parses stored text; used inside bundles).
    pub fn into_value(self) -> Value {
        match self {
            Body::Raw(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
            Body::Json(v) => v,
        }
    }
}
