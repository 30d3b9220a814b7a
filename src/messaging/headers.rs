//! The identifiers a BaRS message travels with (`X-Request-ID`, `X-Correlation-ID`) and the
//! digest that tells a repeat of a message from a different one.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// A message's request and correlation ids, both GUIDs, as sent (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageIds {
    /// `X-Request-ID`: this message; a repeat carries the same.
    pub request_id: String,
    /// `X-Correlation-ID`: the conversation it belongs to.
    pub correlation_id: String,
}

impl MessageIds {
    /// The ids from the two headers' values; 400 naming the header when one is missing or is
    /// not a GUID.
    pub fn from_headers(
        request_id: Option<&str>,
        correlation_id: Option<&str>,
    ) -> Result<Self, Error> {
        Ok(MessageIds {
            request_id: guid("X-Request-ID", request_id)?,
            correlation_id: guid("X-Correlation-ID", correlation_id)?,
        })
    }
}

fn guid(header: &str, value: Option<&str>) -> Result<String, Error> {
    let value = value.ok_or_else(|| {
        Error::BadRequest(format!(
            "A message needs the {header} header (a GUID); send the same one to repeat it"
        ))
    })?;
    uuid::Uuid::parse_str(value.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| Error::BadRequest(format!("The {header} header must be a GUID")))
}

/// A digest of a message: SHA-256 of its JSON as parsed, so that a repeat re-serialised by a
/// client (other spacing, other key order) is still the same message.
pub fn digest(message: &Value) -> String {
    let text = serde_json::to_string(&sorted(message)).unwrap_or_default();
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// `v` with every object's keys in order (serde_json keeps insertion order here).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_guids_from_both_headers() {
        let ids = MessageIds::from_headers(
            Some("6F1D2C3B-0000-4000-8000-00000000000A"),
            Some("6f1d2c3b-0000-4000-8000-00000000000b"),
        );
        assert_eq!(
            ids.ok().map(|i| i.request_id),
            Some("6f1d2c3b-0000-4000-8000-00000000000a".to_owned())
        );
        for (r, c) in [
            (None, Some("6f1d2c3b-0000-4000-8000-00000000000b")),
            (Some("6f1d2c3b-0000-4000-8000-00000000000a"), None),
            (Some("42"), Some("6f1d2c3b-0000-4000-8000-00000000000b")),
        ] {
            assert!(
                matches!(MessageIds::from_headers(r, c), Err(Error::BadRequest(_))),
                "{r:?} {c:?}"
            );
        }
    }

    #[test]
    fn a_digest_ignores_key_order_and_not_content() {
        let a = json!({"a": 1, "b": [{"x": "1", "y": 2}]});
        let b: Value =
            serde_json::from_str(r#"{ "b": [{"y": 2, "x": "1"}], "a": 1 }"#).unwrap_or_default();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(
            digest(&a),
            digest(&json!({"a": 2, "b": [{"x": "1", "y": 2}]}))
        );
    }
}
