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

/// The query parameters of an operation that takes its inputs from the query alone: 400 for a
/// parameter it does not have (`_format` and `_pretty` aside), and each read at most once.
pub struct QueryInputs<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> QueryInputs<'a> {
    /// Checks `pairs` against the operation's parameter names.
    pub fn new(
        operation: &str,
        pairs: &'a [(String, String)],
        known: &[&str],
    ) -> Result<Self, Error> {
        match pairs
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()) && !is_format(k))
        {
            Some((k, _)) => Err(unknown(operation, k)),
            None => Ok(QueryInputs { pairs }),
        }
    }

    /// The value of `name`, if given (blank counts as not given); 400 when given twice.
    pub fn get(&self, name: &str) -> Result<Option<String>, Error> {
        let mut value = None;
        for (_, v) in self.pairs.iter().filter(|(k, _)| k == name) {
            once(name, &mut value, v.clone())?;
        }
        Ok(value.filter(|s| !s.trim().is_empty()))
    }
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
    fn query_inputs_are_known_and_given_once() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let ok = pairs(&[("a", "1"), ("_format", "json"), ("b", " ")]);
        let q = QueryInputs::new("$x", &ok, &["a", "b"]).expect("known");
        assert_eq!(q.get("a").ok(), Some(Some("1".to_owned())));
        assert_eq!(q.get("b").ok(), Some(None), "blank is not given");
        assert!(QueryInputs::new("$x", &pairs(&[("c", "1")]), &["a"]).is_err());
        let twice = pairs(&[("a", "1"), ("a", "2")]);
        let q = QueryInputs::new("$x", &twice, &["a"]).expect("known");
        assert!(q.get("a").is_err());
    }

    #[test]
    fn a_parameter_is_given_once() {
        let mut slot = None;
        assert!(once("a", &mut slot, 1).is_ok());
        assert!(once("a", &mut slot, 2).is_err());
        assert_eq!(slot, Some(1));
    }
}
