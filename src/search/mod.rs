//! Search: the parameter registry, extraction of index values at write time, and parsing of queries.
//! SQL lives in `store`, so this module is backend-neutral.

pub mod date;
pub mod extract;
pub mod parse;
pub mod query;
pub mod registry;

pub use extract::{IndexEntry, IndexValue, extract, extract_with_base};
pub use parse::{ParseOptions, SearchParseError, parse};
pub use query::*;
