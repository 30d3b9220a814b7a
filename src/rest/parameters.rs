//! Inputs of FHIR operations, shared by every operation: a `Parameters` body and the query string,
//! each parameter at most once across both places.
//!
//! Unknown or malformed parameters are 400 naming the parameter (`Parameters.parameter.where(name =
//! '...')`), never ignored: a misspelt input silently taking its default would be a different answer.

use serde_json::Value;

use crate::error::Error;
use crate::fhir::OutcomeIssue;

/// 400 naming parameter `name`.
pub fn bad(name: &str, message: impl Into<String>) -> Error {
    Error::InvalidResource(vec![
        OutcomeIssue::error("invalid", message.into())
            .at(format!("Parameters.parameter.where(name = '{name}')")),
    ])
}

/// Stores `v` in `slot`, or 400 when the parameter was already given.
pub fn once<T>(name: &str, slot: &mut Option<T>, v: T) -> Result<(), Error> {
    if slot.is_some() {
        return Err(bad(name, format!("{name} is given more than once")));
    }
    *slot = Some(v);
    Ok(())
}

/// 400 for a parameter the operation does not have (the name clipped, as it is echoed).
pub fn unknown(operation: &str, name: &str) -> Error {
    let shown: String = name.chars().take(64).collect();
    bad(name, format!("{operation} has no parameter '{shown}'"))
}

/// The `parameter` elements of a `Parameters` body, each with a name; 400 when the body is not a
/// `Parameters` resource or an element has no name.
pub fn body_parameters<'a>(operation: &str, body: &'a Value) -> Result<&'a [Value], Error> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(Error::BadRequest(format!(
            "The body of {operation} must be a Parameters resource"
        )));
    }
    let list = match body.get("parameter") {
        None => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            return Err(Error::BadRequest(
                "Parameters.parameter must be an array".into(),
            ));
        }
    };
    if list.iter().any(|p| {
        p.get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    }) {
        return Err(Error::BadRequest(
            "Every Parameters.parameter needs a name".into(),
        ));
    }
    Ok(list)
}

/// The name of a parameter element that [`body_parameters`] returned.
pub fn name_of(param: &Value) -> &str {
    param.get("name").and_then(Value::as_str).unwrap_or("")
}

/// Whether a query parameter belongs to the HTTP layer (format and pretty-printing), not to the
/// operation.
pub fn is_format(name: &str) -> bool {
    matches!(name, "_format" | "_pretty")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_must_be_parameters_with_named_elements() {
        assert!(body_parameters("$x", &json!({"resourceType": "Patient"})).is_err());
        assert!(
            body_parameters(
                "$x",
                &json!({"resourceType": "Parameters", "parameter": {"name": "a"}})
            )
            .is_err()
        );
        assert!(
            body_parameters(
                "$x",
                &json!({"resourceType": "Parameters", "parameter": [{"valueString": "a"}]})
            )
            .is_err()
        );
        let body = json!({"resourceType": "Parameters", "parameter": [{"name": "a"}]});
        assert_eq!(
            body_parameters("$x", &body).map(<[Value]>::len).ok(),
            Some(1)
        );
        let empty = json!({"resourceType": "Parameters"});
        assert_eq!(
            body_parameters("$x", &empty).map(<[Value]>::len).ok(),
            Some(0)
        );
    }

    #[test]
    fn a_parameter_is_given_once() {
        let mut slot = None;
        assert!(once("a", &mut slot, 1).is_ok());
        assert!(once("a", &mut slot, 2).is_err());
        assert_eq!(slot, Some(1));
    }
}
