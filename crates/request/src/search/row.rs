//! The index rows the store writes for extracted entries, one per [`IndexEntry`]: the shape of the
//! four index tables, without their SQL. It lives here, not in the store, so that the store's
//! writers and the in-memory [`matcher`](super::matcher) decide on exactly the same rows: a change
//! to how an entry is stored changes both.
//!
//! | entry              | table       | param               | columns                      |
//! |--------------------|-------------|---------------------|------------------------------|
//! | `Token`            | `sp_token`  | the parameter       | system (`''` when absent), code |
//! | `Uri`              | `sp_token`  | the parameter       | system `''`, code the uri    |
//! | `RefIdentifier`    | `sp_token`  | `<param>:identifier`| system (`''` when absent), code |
//! | `String`           | `sp_string` | the parameter       | [`normalise`]d, exact        |
//! | `Date`             | `sp_date`   | the parameter       | lo, hi                       |
//! | `Reference`        | `sp_ref`    | the parameter       | target type, target id       |

use super::{IndexEntry, IndexValue, normalise};

/// The index row a value is stored as: (table, columns after `rtype, param`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexRow<'a> {
    /// `sp_token(system, code)`.
    Token {
        param: String,
        system: &'a str,
        code: &'a str,
    },
    /// `sp_string(norm, exact)`.
    String {
        param: &'a str,
        norm: String,
        exact: &'a str,
    },
    /// `sp_date(lo, hi)`.
    Date { param: &'a str, lo: i64, hi: i64 },
    /// `sp_ref(target_type, target_id)`.
    Ref {
        param: &'a str,
        target_type: &'a str,
        target_id: &'a str,
    },
}

/// Maps an extracted entry to its row.
pub fn index_row(e: &IndexEntry) -> IndexRow<'_> {
    match &e.value {
        IndexValue::Token { system, code } => IndexRow::Token {
            param: e.param.to_owned(),
            system: system.as_deref().unwrap_or(""),
            code,
        },
        IndexValue::Uri(u) => IndexRow::Token {
            param: e.param.to_owned(),
            system: "",
            code: u,
        },
        IndexValue::RefIdentifier { system, code } => IndexRow::Token {
            param: format!("{}:identifier", e.param),
            system: system.as_deref().unwrap_or(""),
            code,
        },
        IndexValue::String(s) => IndexRow::String {
            param: e.param,
            norm: normalise(s),
            exact: s,
        },
        IndexValue::Date(r) => IndexRow::Date {
            param: e.param,
            lo: r.lo,
            hi: r.hi,
        },
        IndexValue::Reference { rtype, id } => IndexRow::Ref {
            param: e.param,
            target_type: rtype.as_str(),
            target_id: id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResourceType;

    fn row(param: &'static str, value: IndexValue) -> String {
        format!("{:?}", index_row(&IndexEntry { param, value }))
    }

    #[test]
    fn absent_systems_uris_and_reference_identifiers_are_token_rows() {
        let token = |system: Option<&str>| IndexValue::Token {
            system: system.map(str::to_owned),
            code: "c".into(),
        };
        assert_eq!(row("gender", token(None)), row("gender", token(Some(""))));
        assert_eq!(
            row("url", IndexValue::Uri("http://x".into())),
            r#"Token { param: "url", system: "", code: "http://x" }"#
        );
        assert_eq!(
            row(
                "subject",
                IndexValue::RefIdentifier {
                    system: None,
                    code: "9".into()
                }
            ),
            r#"Token { param: "subject:identifier", system: "", code: "9" }"#
        );
        assert_eq!(
            row(
                "subject",
                IndexValue::Reference {
                    rtype: ResourceType::Patient,
                    id: "p".into()
                }
            ),
            r#"Ref { param: "subject", target_type: "Patient", target_id: "p" }"#
        );
        assert_eq!(
            row("family", IndexValue::String("Siân".into())),
            r#"String { param: "family", norm: "sian", exact: "Siân" }"#
        );
    }
}
