//! The one parse: decoded path segments, query parameters and preconditions to a [`Request`].
//!
//! Decisions where FHIR leaves room (each the same for a request and a bundle entry):
//! - Order of refusals: unknown type (404), then method (405), then id or version (400), then
//!   parameters (400). A path no interaction has is 404.
//! - A read, vread or history takes any parameters (`_format`, `_summary`... are ignored by
//!   execution); a create, update, delete or bundle takes only `_format` and `_pretty`: a create
//!   with search parameters (`POST Organization?identifier=...`) is refused, not run as a plain
//!   create that would duplicate what the client meant to find.
//! - `If-None-Exist` may be `Type?criteria` or `criteria`; a type other than the created one is
//!   refused. It is ignored on anything but a create, `If-Match` on anything but an update or
//!   delete of one instance, and `If-None-Match` / `If-Modified-Since` on anything but a read or
//!   vread, as HTTP ignores preconditions that do not apply (`super::precondition`).
//! - Conditional criteria must filter (`DELETE Patient` and `DELETE Patient?_count=1` are refused).
//! - `GET Patient/[id]/[type]?...` (a patient compartment search) is `[type]?patient=Patient/[id]&...`
//!   (`_id=[id]` for Patient itself); a type outside the compartment is 404.
//! - A search of AuditEvent keeps its parameters unparsed here: the audit log answers it with its
//!   own parameters (agent, organisation, purpose...), which are not resource search parameters.

use super::export::{self, ExportLevel};
use super::precondition::{parse_freshness, parse_if_match};
use super::url::resolve;
use super::{Interaction, Operation, Request, RequestError, Target};
use crate::ResourceType;
use crate::id::is_valid_id;
use crate::search::{self, ParseOptions, SearchQuery};

/// What the parse needs of the deployment.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The public base URL of the FHIR API (`http://host/fhir`), against which bundle entry URLs
    /// are resolved.
    pub base_url: &'a str,
    /// Page sizes, and `Prefer: handling=lenient` for this request.
    pub search: ParseOptions,
}

/// The preconditions sent with a request (headers) or an entry (`request.ifNoneExist`,
/// `request.ifMatch`, `request.ifNoneMatch`, `request.ifModifiedSince`), as text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conditions<'a> {
    /// `If-None-Exist`.
    pub if_none_exist: Option<&'a str>,
    /// `If-Match`.
    pub if_match: Option<&'a str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a str>,
}

/// Parameters that only shape the response format, allowed on every interaction.
const FORMAT_PARAMS: &[&str] = &["_format", "_pretty"];

/// Splits a raw (percent-encoded) path into decoded segments: a leading slash and one trailing
/// slash are ignored; an empty segment anywhere else, invalid UTF-8 or a control character is an
/// error.
pub fn decode_path(raw: &str) -> Result<Vec<String>, RequestError> {
    let trimmed = raw.strip_prefix('/').unwrap_or(raw);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let mut parts: Vec<&str> = trimmed.split('/').collect();
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .map(|p| {
            if p.is_empty() {
                return Err(RequestError::NoRoute);
            }
            let decoded = percent_encoding::percent_decode_str(p)
                .decode_utf8()
                .map_err(|_| RequestError::malformed("The path is not valid UTF-8"))?;
            plain_text(&decoded, "The path")?;
            Ok(decoded.into_owned())
        })
        .collect()
}

/// Decodes a raw query string (`application/x-www-form-urlencoded`) into ordered pairs; a control
/// character in a name or value is an error.
pub fn decode_query(raw: &str) -> Result<Vec<(String, String)>, RequestError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    for (k, v) in &pairs {
        plain_text(k, "A parameter name")?;
        plain_text(v, "A parameter value")?;
    }
    Ok(pairs)
}

/// Refuses text with a control character (below U+0020, or U+007F).
fn plain_text(s: &str, what: &str) -> Result<(), RequestError> {
    if s.chars().any(|c| c < ' ' || c == '\u{7f}') {
        Err(RequestError::malformed(format!(
            "{what} contains a control character"
        )))
    } else {
        Ok(())
    }
}

/// Parses a request to the FHIR API: its method (`HEAD` is a `GET` without the body), its path
/// below the base as decoded segments ([`decode_path`]), its decoded parameters and its
/// preconditions.
pub fn parse(
    method: &str,
    segments: &[String],
    params: Vec<(String, String)>,
    conditions: &Conditions<'_>,
    ctx: &Context<'_>,
) -> Result<Request, RequestError> {
    let (method, head) = match method {
        "HEAD" => ("GET", true),
        m => (m, false),
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let interaction = classify(method, &segments, &params, conditions, ctx)?;
    // HEAD is a GET without its body, so it is only for a GET that changes nothing: a Bulk Data
    // kick-off starts a job.
    if head && matches!(interaction, Interaction::Export { .. }) {
        return Err(RequestError::MethodNotAllowed);
    }
    let if_match = match (&interaction, conditions.if_match) {
        (
            Interaction::Update { .. }
            | Interaction::Patch { .. }
            | Interaction::ConditionalPatch { .. }
            | Interaction::Delete { .. },
            Some(text),
        ) => Some(parse_if_match(text)?),
        _ => None,
    };
    let fresh = match &interaction {
        Interaction::Read { .. } | Interaction::VRead { .. } => {
            parse_freshness(conditions.if_none_match, conditions.if_modified_since)
        }
        _ => None,
    };
    Ok(Request {
        interaction,
        params,
        head,
        if_match,
        fresh,
    })
}

/// Parses a bundle entry's request: `method` and `url` as the entry gives them (the URL relative
/// to the base, an absolute path under it, or an absolute URL under it). An entry cannot be a
/// Bundle itself.
pub fn parse_entry(
    method: &str,
    url: &str,
    conditions: &Conditions<'_>,
    ctx: &Context<'_>,
) -> Result<Request, RequestError> {
    match method {
        // PATCH is a verb entries may use; no interaction takes it (405, as for a request).
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" => {}
        other => {
            return Err(RequestError::malformed(format!(
                "Method '{}' is not an HTTP verb a bundle entry may use",
                clip(other)
            )));
        }
    }
    let (segments, params) = resolve(url, ctx.base_url)?;
    let request = parse(method, &segments, params, conditions, ctx)?;
    if request.interaction == Interaction::Bundle {
        return Err(RequestError::malformed(
            "A bundle entry cannot itself be a batch or transaction",
        ));
    }
    Ok(request)
}

fn classify(
    method: &str,
    segments: &[&str],
    params: &[(String, String)],
    conditions: &Conditions<'_>,
    ctx: &Context<'_>,
) -> Result<Interaction, RequestError> {
    use Interaction::*;
    let need = |allowed: &str| {
        if method == allowed {
            Ok(())
        } else {
            Err(RequestError::MethodNotAllowed)
        }
    };
    match segments {
        [] => {
            need("POST")?;
            format_only(params, "A batch or transaction")?;
            Ok(Bundle)
        }
        ["metadata"] => need("GET").map(|()| Capabilities),
        [".well-known", "smart-configuration"] => need("GET").map(|()| SmartConfiguration),
        ["_history"] => need("GET").map(|()| HistorySystem),
        ["$export"] => export(method, ExportLevel::System, params, ctx),
        ["Patient", "$export"] => export(method, ExportLevel::Patient, params, ctx),
        ["Group", id, "$export"] => {
            let level = ExportLevel::Group(valid_id(id)?);
            export(method, level, params, ctx)
        }
        ["_export", job] => {
            let job = export::job_id(job)?;
            match method {
                "GET" => Ok(ExportStatus { job }),
                "DELETE" => Ok(ExportCancel { job }),
                _ => Err(RequestError::MethodNotAllowed),
            }
        }
        ["_export", job, file] => {
            let (job, file) = (export::job_id(job)?, export::file_number(file)?);
            need("GET").map(|()| ExportFile { job, file })
        }
        [op] if op.starts_with('$') => operation(method, op, Target::System),
        [t] => {
            let rtype = resource_type(t)?;
            match method {
                "GET" => Ok(Search {
                    rtype,
                    query: search_query(rtype, params, ctx)?,
                }),
                "POST" => {
                    format_only(params, "A create")?;
                    let if_none_exist = conditions
                        .if_none_exist
                        .map(|text| parse_criteria(rtype, text, ctx))
                        .transpose()?;
                    Ok(Create {
                        rtype,
                        if_none_exist,
                    })
                }
                "PUT" => Ok(ConditionalUpdate {
                    rtype,
                    criteria: criteria(rtype, params, ctx)?,
                }),
                // Without criteria there is nothing a patch at type level could name.
                "PATCH"
                    if params
                        .iter()
                        .all(|(k, _)| FORMAT_PARAMS.contains(&k.as_str())) =>
                {
                    Err(RequestError::MethodNotAllowed)
                }
                "PATCH" => Ok(ConditionalPatch {
                    rtype,
                    criteria: criteria(rtype, params, ctx)?,
                }),
                "DELETE" => Ok(ConditionalDelete {
                    rtype,
                    criteria: criteria(rtype, params, ctx)?,
                }),
                _ => Err(RequestError::MethodNotAllowed),
            }
        }
        [t, "_search"] => {
            let rtype = resource_type(t)?;
            need("POST")?;
            Ok(Search {
                rtype,
                query: search_query(rtype, params, ctx)?,
            })
        }
        [t, "_history"] => {
            let rtype = resource_type(t)?;
            need("GET").map(|()| HistoryType { rtype })
        }
        [t, op] if op.starts_with('$') => operation(method, op, Target::Type(resource_type(t)?)),
        [t, id] => {
            let rtype = resource_type(t)?;
            let make: fn(ResourceType, String) -> Interaction = match method {
                "GET" => |rtype, id| Read { rtype, id },
                "PUT" => |rtype, id| Update { rtype, id },
                "PATCH" => |rtype, id| Patch { rtype, id },
                "DELETE" => |rtype, id| Delete { rtype, id },
                _ => return Err(RequestError::MethodNotAllowed),
            };
            if method != "GET" {
                format_only(params, "An update, patch or delete")?;
            }
            Ok(make(rtype, valid_id(id)?))
        }
        [t, id, "_history"] => {
            let rtype = resource_type(t)?;
            need("GET")?;
            Ok(HistoryInstance {
                rtype,
                id: valid_id(id)?,
            })
        }
        [t, id, op] if op.starts_with('$') => {
            let rtype = resource_type(t)?;
            let target = Target::Instance(rtype, valid_id(id)?);
            operation(method, op, target)
        }
        // A search of the patient compartment is the same search by patient: one intent, one
        // interaction, whichever shape it came in.
        ["Patient", id, t] if !t.starts_with('$') && *t != "_history" => {
            need("GET")?;
            let id = valid_id(id)?;
            let rtype = resource_type(t)?;
            if !export::in_patient_compartment(rtype) {
                return Err(RequestError::NoRoute);
            }
            let mut pairs = params.to_vec();
            pairs.push(if rtype == ResourceType::Patient {
                ("_id".to_owned(), id)
            } else {
                ("patient".to_owned(), format!("Patient/{id}"))
            });
            Ok(Search {
                rtype,
                query: search_query(rtype, &pairs, ctx)?,
            })
        }
        [t, id, "_history", version] => {
            let rtype = resource_type(t)?;
            need("GET")?;
            let id = valid_id(id)?;
            let version = version
                .parse::<u64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| RequestError::NoSuchVersion(rtype, id.clone()))?;
            Ok(VRead { rtype, id, version })
        }
        _ => Err(RequestError::NoRoute),
    }
}

/// A Bulk Data kick-off: `GET` only.
fn export(
    method: &str,
    level: ExportLevel,
    params: &[(String, String)],
    ctx: &Context<'_>,
) -> Result<Interaction, RequestError> {
    if method != "GET" {
        return Err(RequestError::MethodNotAllowed);
    }
    let spec = Box::new(export::parse_spec(&level, params, ctx)?);
    Ok(Interaction::Export { level, spec })
}

fn operation(method: &str, name: &str, target: Target) -> Result<Interaction, RequestError> {
    let operation = Operation::named(name).ok_or(RequestError::NoRoute)?;
    let (rtype, instance) = match &target {
        Target::System => (None, false),
        Target::Type(t) => (Some(*t), false),
        Target::Instance(t, _) => (Some(*t), true),
    };
    if !operation.invocable(rtype, instance) {
        return Err(RequestError::NoRoute);
    }
    if !operation.takes(method) {
        return Err(RequestError::MethodNotAllowed);
    }
    Ok(Interaction::Operation { operation, target })
}

fn resource_type(name: &str) -> Result<ResourceType, RequestError> {
    name.parse()
        .map_err(|_| RequestError::UnknownType(clip(name)))
}

fn valid_id(id: &str) -> Result<String, RequestError> {
    if is_valid_id(id) {
        Ok(id.to_owned())
    } else {
        Err(RequestError::InvalidId)
    }
}

/// 400 unless every parameter only shapes the format.
fn format_only(params: &[(String, String)], what: &str) -> Result<(), RequestError> {
    match params
        .iter()
        .find(|(k, _)| !FORMAT_PARAMS.contains(&k.as_str()))
    {
        None => Ok(()),
        Some((k, _)) => Err(RequestError::malformed(format!(
            "{what} takes no parameter '{}'; send conditions in If-None-Exist or the URL of a conditional interaction",
            clip(k)
        ))),
    }
}

fn search_query(
    rtype: ResourceType,
    params: &[(String, String)],
    ctx: &Context<'_>,
) -> Result<Option<Box<SearchQuery>>, RequestError> {
    if rtype == ResourceType::AuditEvent {
        return Ok(None);
    }
    Ok(Some(Box::new(search::parse(rtype, params, ctx.search)?)))
}

/// Conditional criteria: strict (never lenient: an ignored criterion would widen the match), and
/// they must filter.
fn criteria(
    rtype: ResourceType,
    params: &[(String, String)],
    ctx: &Context<'_>,
) -> Result<Box<SearchQuery>, RequestError> {
    let pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !FORMAT_PARAMS.contains(&k.as_str()))
        .cloned()
        .collect();
    if pairs.is_empty() {
        return Err(RequestError::malformed("Conditional criteria are empty"));
    }
    let strict = ParseOptions {
        lenient: false,
        ..ctx.search
    };
    let q = search::parse(rtype, &pairs, strict)?;
    if q.filters.is_empty() {
        return Err(RequestError::malformed("Conditional criteria must filter"));
    }
    Ok(Box::new(q))
}

/// Conditional criteria given as text (`If-None-Exist`, a conditional reference
/// `Patient?identifier=...`): `Type?criteria` or `criteria`, strict, and they must filter; a type
/// other than `rtype` is refused.
pub fn parse_criteria(
    rtype: ResourceType,
    text: &str,
    ctx: &Context<'_>,
) -> Result<Box<SearchQuery>, RequestError> {
    let raw = match text.split_once('?') {
        Some((t, q)) if t.is_empty() || t == rtype.as_str() => q,
        Some(_) => {
            return Err(RequestError::malformed(
                "The criteria name another resource type than the one they select",
            ));
        }
        None => text,
    };
    criteria(rtype, &decode_query(raw)?, ctx)
}

/// Client text echoed in messages, shortened.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}
