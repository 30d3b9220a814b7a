//! Search: the parameter registry, index extraction and query parsing live in the
//! `carebridge-request` crate (pure, shared with the request parser and the fuzz targets); SQL lives
//! in `store`. Re-exported here so the gateway names them `crate::search::...`.

pub use carebridge_request::search::*;
