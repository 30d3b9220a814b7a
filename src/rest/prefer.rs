//! The `Prefer` and `If-Match` request headers.

use crate::error::Error;

/// `Prefer: return=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Return {
    /// The resource (the default).
    #[default]
    Representation,
    /// No body.
    Minimal,
    /// An OperationOutcome.
    OperationOutcome,
}

/// The client's preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prefer {
    /// What a write returns.
    pub return_: Return,
    /// `handling=lenient`: ignore unknown search parameters.
    pub lenient: bool,
}

impl Prefer {
    /// Parses every `Prefer` header value; unknown preferences are ignored, as RFC 7240 requires.
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>) -> Self {
        let mut p = Prefer::default();
        for pref in values.flat_map(|v| v.split([',', ';'])) {
            match pref.trim().replace(' ', "").as_str() {
                "return=minimal" => p.return_ = Return::Minimal,
                "return=representation" => p.return_ = Return::Representation,
                "return=OperationOutcome" => p.return_ = Return::OperationOutcome,
                "handling=lenient" => p.lenient = true,
                "handling=strict" => p.lenient = false,
                _ => {}
            }
        }
        p
    }
}

/// Parses `If-Match: W/"3"` (or `"3"`, or `3`) into a version number.
pub fn parse_if_match(value: &str) -> Result<u64, Error> {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    let v = v.trim_matches('"');
    v.parse()
        .map_err(|_| Error::BadRequest("If-Match must be a version ETag such as W/\"1\"".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_values_combine() {
        let p = Prefer::parse(["return=minimal", "handling=lenient"].into_iter());
        assert_eq!(
            p,
            Prefer {
                return_: Return::Minimal,
                lenient: true
            }
        );
        let p = Prefer::parse(["return=OperationOutcome; handling=strict"].into_iter());
        assert_eq!(p.return_, Return::OperationOutcome);
        assert_eq!(Prefer::parse([].into_iter()), Prefer::default());
    }

    #[test]
    fn if_match_takes_weak_and_strong_etags() {
        assert_eq!(parse_if_match("W/\"3\"").ok(), Some(3));
        assert_eq!(parse_if_match("\"12\"").ok(), Some(12));
        assert!(parse_if_match("W/\"x\"").is_err());
    }
}
