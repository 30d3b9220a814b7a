//! Search: the parameter registry, extraction of index values at write time, parsing of queries,
//! and the in-memory decision of a query on one resource's entries (`matcher`, for redacted forms).
//! SQL lives in `store`, so this module is backend-neutral.
//!
//! Decisions where the spec leaves room (HAPI and Firely are the reference for what clients expect):
//! - `param:identifier=system|value` matches `Reference.identifier` *or* the identifier of the
//!   resource the reference points at: NHS systems reference patients by id but search by NHS
//!   number, so `CarePlan?patient:identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919` finds the
//!   plans of that patient either way.
//! - String search folds case and accents (`Siân` is found by `sian`); `:exact` does neither.
//! - Dates without a time zone are UTC; a partial date is the whole period it names.
//! - Only references to the served types are indexed, relative (`Patient/1`) or absolute under this
//!   server's base URL; references to other servers and to unserved types are stored but not
//!   searchable.
//! - Chaining through a parameter that may point at several types needs the type
//!   (`subject:Patient.identifier=`); a type the parameter cannot point at
//!   (`patient:Organization.name=`) is refused, lenient or not, as ignoring it would widen the
//!   search. Chains may nest.
//! - Not supported (400, or ignored under `Prefer: handling=lenient`): `_include:iterate`,
//!   `_include=*`, `_summary=true`, `_has`, `_text`, `_content`, `_filter`, `:missing`, `:below`,
//!   quantity and number parameters.

pub mod date;
pub mod extract;
pub mod matcher;
pub mod parse;
pub mod query;
pub mod registry;
pub mod row;

pub use extract::{IndexEntry, IndexValue, extract, extract_with_base};
pub use parse::{ParseOptions, SearchParseError, parse};
pub use query::*;

/// The form used for string search: accents removed (Unicode decomposition without combining marks)
/// and lower-cased, as the FHIR spec asks (`Siân` is found by `sian`).
pub fn normalise(s: &str) -> String {
    use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn string_search_folds_case_and_accents() {
        assert_eq!(super::normalise("Siân Ó Brien"), "sian o brien");
    }
}
