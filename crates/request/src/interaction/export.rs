//! FHIR Bulk Data `$export` requests: the kick-off's parameters, parsed here with everything else
//! a request is, and the job URLs the kick-off hands out (`_export/<job>` for status and deletion,
//! `_export/<job>/<n>` for the n-th output file).
//!
//! Decisions where the Bulk Data IG leaves room:
//! - `_type` names types the gateway serves; at `Patient` or `Group` level only types of the
//!   patient compartment (an unknown or out-of-compartment type is 400, or ignored under
//!   `Prefer: handling=lenient`). Without `_type`, the export covers every type the caller may
//!   search at that level (decided when the job runs, by the caller's role and scopes).
//! - `_since` is an instant (date, time and zone), applied as `_lastUpdated=ge<since>`.
//! - `_typeFilter` is `Type?search`, strict, and only filters: `_include`, `_sort`, `_summary`,
//!   `_elements` and `_count` are refused in it. Several for one type are alternatives (OR); a
//!   type given in `_typeFilter` but missing from `_type` is 400.
//! - `_outputFormat` is NDJSON (`application/fhir+ndjson`, `application/ndjson`, `ndjson`).
//! - Other kick-off parameters (`_elements`, `patient`, `includeAssociatedData`, `_until`) are
//!   not supported: 400, or ignored when lenient. The kick-off is `GET`.

use super::RequestError;
use super::parse::{Context, clip};
use crate::ResourceType;
use crate::id::is_valid_id;
use crate::search::{self, Filter, ParseOptions, SearchQuery, Summary};

/// Where `$export` was invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportLevel {
    /// `[base]/$export`: every patient the caller may see, and the types that are nobody's.
    System,
    /// `[base]/Patient/$export`: the patient compartment of every patient the caller may see.
    Patient,
    /// `[base]/Group/[id]/$export`: the patient compartment of the group's members.
    Group(String),
}

/// A parsed kick-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSpec {
    /// `_type`; `None`: every type the caller may search at this level.
    pub types: Option<Vec<ResourceType>>,
    /// `_since`, as the `_lastUpdated` filter it applies, with the instant as given.
    pub since: Option<(Filter, String)>,
    /// `_typeFilter`s: each a search of one type, alternatives within a type.
    pub type_filters: Vec<SearchQuery>,
}

/// The types in the patient compartment the gateway serves: Patient and every type whose
/// resources name their patient (`patient` search parameter). AuditEvent is the audit log's,
/// exported only at system level.
pub fn in_patient_compartment(rtype: ResourceType) -> bool {
    rtype == ResourceType::Patient
        || (rtype != ResourceType::AuditEvent && search::registry::find(rtype, "patient").is_some())
}

const KICK_OFF_PARAMS: &[&str] = &["_type", "_since", "_typeFilter", "_outputFormat"];
const NDJSON: &[&str] = &["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// Parses a kick-off's parameters at `level`.
pub(super) fn parse_spec(
    level: &ExportLevel,
    params: &[(String, String)],
    ctx: &Context<'_>,
) -> Result<ExportSpec, RequestError> {
    let lenient = ctx.search.lenient;
    let mut spec = ExportSpec {
        types: None,
        since: None,
        type_filters: Vec::new(),
    };
    for (k, v) in params {
        match k.as_str() {
            "_type" => {
                let mut types = spec.types.take().unwrap_or_default();
                for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    match exportable(level, name) {
                        Ok(t) if !types.contains(&t) => types.push(t),
                        Ok(_) => {}
                        Err(_) if lenient => {}
                        Err(e) => return Err(e),
                    }
                }
                spec.types = Some(types);
            }
            "_since" => spec.since = Some(since(v, ctx)?),
            "_typeFilter" => spec.type_filters.push(type_filter(level, v, ctx)?),
            "_outputFormat" if !NDJSON.contains(&v.as_str()) => {
                return Err(RequestError::malformed(format!(
                    "_outputFormat '{}' is not offered: exports are NDJSON (application/fhir+ndjson)",
                    clip(v)
                )));
            }
            "_format" | "_pretty" | "_outputFormat" => {}
            other if !lenient => {
                return Err(RequestError::malformed(format!(
                    "$export does not support the parameter '{}' (it takes {})",
                    clip(other),
                    KICK_OFF_PARAMS.join(", ")
                )));
            }
            _ => {}
        }
    }
    if let Some(types) = &spec.types
        && let Some(q) = spec.type_filters.iter().find(|q| !types.contains(&q.rtype))
    {
        return Err(RequestError::malformed(format!(
            "_typeFilter names {}, which _type does not include",
            q.rtype
        )));
    }
    Ok(spec)
}

/// The type `name`, if it may be exported at `level`.
fn exportable(level: &ExportLevel, name: &str) -> Result<ResourceType, RequestError> {
    let t: ResourceType = name
        .parse()
        .map_err(|_| RequestError::malformed(format!("_type: unknown type '{}'", clip(name))))?;
    if *level != ExportLevel::System && !in_patient_compartment(t) {
        return Err(RequestError::malformed(format!(
            "_type: {t} is not in the patient compartment, so a patient or group export has none"
        )));
    }
    Ok(t)
}

/// `_since`: an instant, as a `_lastUpdated=ge` filter.
fn since(v: &str, ctx: &Context<'_>) -> Result<(Filter, String), RequestError> {
    let bad = || {
        RequestError::malformed(format!(
            "_since must be an instant with a time zone (2026-01-31T09:00:00Z), not '{}'",
            clip(v)
        ))
    };
    let (_, time) = v.split_once('T').ok_or_else(bad)?;
    if !(time.ends_with('Z') || time.contains('+') || time.contains('-')) {
        return Err(bad());
    }
    let strict = ParseOptions {
        lenient: false,
        ..ctx.search
    };
    let pairs = [("_lastUpdated".to_owned(), format!("ge{v}"))];
    let q = search::parse(ResourceType::Patient, &pairs, strict).map_err(|_| bad())?;
    let filter = q.filters.into_iter().next().ok_or_else(bad)?;
    Ok((filter, v.to_owned()))
}

/// One `_typeFilter`: `Type?search`, strict, filters only.
fn type_filter(
    level: &ExportLevel,
    v: &str,
    ctx: &Context<'_>,
) -> Result<SearchQuery, RequestError> {
    let (name, query) = v.split_once('?').ok_or_else(|| {
        RequestError::malformed(format!("_typeFilter '{}' is not Type?search", clip(v)))
    })?;
    let rtype = exportable(level, name)?;
    let strict = ParseOptions {
        lenient: false,
        ..ctx.search
    };
    let pairs = super::parse::decode_query(query)?;
    let q = search::parse(rtype, &pairs, strict)?;
    let shapes = !q.includes.is_empty()
        || !q.revincludes.is_empty()
        || !q.sort.is_empty()
        || q.summary != Summary::False
        || q.elements.is_some()
        || pairs.iter().any(|(k, _)| k == "_count");
    if shapes || q.filters.is_empty() {
        return Err(RequestError::malformed(format!(
            "_typeFilter '{}' must only filter (no _include, _sort, _summary, _elements or _count)",
            clip(v)
        )));
    }
    Ok(q)
}

/// A job id from a path segment: an id the gateway could have made.
pub(super) fn job_id(segment: &str) -> Result<String, RequestError> {
    if is_valid_id(segment) {
        Ok(segment.to_owned())
    } else {
        Err(RequestError::NoRoute)
    }
}

/// An output file's number from a path segment.
pub(super) fn file_number(segment: &str) -> Result<u32, RequestError> {
    segment.parse().map_err(|_| RequestError::NoRoute)
}
