//! The `Prefer` and `If-Match` request headers.

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
    /// `respond-async`: what a Bulk Data kick-off must ask for.
    pub respond_async: bool,
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
                "respond-async" => p.respond_async = true,
                _ => {}
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_values_combine() {
        let p = Prefer::parse(["return=minimal", "handling=lenient, respond-async"].into_iter());
        assert_eq!(
            p,
            Prefer {
                return_: Return::Minimal,
                lenient: true,
                respond_async: true,
            }
        );
        let p = Prefer::parse(["return=OperationOutcome; handling=strict"].into_iter());
        assert_eq!(p.return_, Return::OperationOutcome);
        assert_eq!(Prefer::parse([].into_iter()), Prefer::default());
    }
}
