//! What an export will read, decided at kick-off: for each type, the searches whose union is the
//! type's part of the export. Each type is authorised as a search of it by the same caller (scopes
//! and role rules): a type asked for by `_type` that the caller may not search refuses the
//! kick-off (403); a type only implied (no `_type`) is left out. The searches then run as that
//! caller's, so an export holds exactly what those searches would find.

use serde_json::Value;

use super::deidentified;
use crate::access::{Gate, authorise};
use crate::auth::Role;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::interaction::{ExportLevel, ExportSpec, Interaction, Request, in_patient_compartment};
use crate::rest::Engine;
use crate::search::{Filter, SearchQuery};

/// Group members are searched this many at a time (`patient=Patient/a,Patient/b,...`).
const MEMBERS_PER_SEARCH: usize = 50;

/// One type's part of an export.
#[derive(Debug, Clone)]
pub struct Part {
    /// The type.
    pub rtype: ResourceType,
    /// Searches whose union is the part (one for most; one per `_typeFilter` and member chunk).
    pub queries: Vec<SearchQuery>,
}

/// An export's parts, in output order, and the `_since` instant, if any.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The parts.
    pub parts: Vec<Part>,
    /// `_since`, for the audit log's part.
    pub since: Option<String>,
    /// The de-identified HNA extract, when the Group defines one: its parts are then written by
    /// [`deidentified`], not by searches.
    pub extract: Option<deidentified::Extract>,
}

/// The plan of `spec` at `level` for `gate`'s caller.
pub async fn plan(
    engine: &Engine,
    gate: &Gate,
    level: &ExportLevel,
    spec: &ExportSpec,
) -> Result<Plan, Error> {
    let role = gate.principal().role;
    let explicit = spec.types.is_some();
    let candidates: Vec<ResourceType> = match &spec.types {
        Some(types) => types.clone(),
        None => ResourceType::ALL
            .iter()
            .copied()
            .filter(|t| *t != ResourceType::AuditEvent)
            .filter(|t| *level == ExportLevel::System || in_patient_compartment(*t))
            .collect(),
    };
    let members = match level {
        ExportLevel::Group(id) => {
            let group = read_group(engine, gate, id).await?;
            let canonical = engine.canonical();
            match crate::hna::cohort::extract_cohort(&group, canonical) {
                Ok(Some(cohort)) => {
                    let (extract, types) =
                        deidentified::prepare(engine, gate, id, cohort, spec).await?;
                    return Ok(Plan {
                        parts: types
                            .into_iter()
                            .map(|rtype| Part {
                                rtype,
                                queries: Vec::new(),
                            })
                            .collect(),
                        since: None,
                        extract: Some(extract),
                    });
                }
                Ok(None) => Some(members_of(&group)),
                Err(issues) => return Err(Error::BusinessRule(issues)),
            }
        }
        _ => None,
    };
    let mut parts = Vec::new();
    for rtype in candidates {
        match may_export(gate, rtype, role) {
            Ok(()) => {}
            Err(e) if explicit => return Err(e),
            Err(_) => continue,
        }
        let mut queries: Vec<SearchQuery> = spec
            .type_filters
            .iter()
            .filter(|q| q.rtype == rtype)
            .cloned()
            .collect();
        if queries.is_empty() {
            queries.push(SearchQuery::all(rtype, 0));
        }
        for q in &mut queries {
            q.filters
                .extend(spec.since.as_ref().map(|(f, _)| f.clone()));
        }
        if let Some(members) = &members {
            queries = for_members(engine, rtype, queries, members)?;
        }
        parts.push(Part { rtype, queries });
    }
    Ok(Plan {
        parts,
        since: spec.since.as_ref().map(|(_, s)| s.clone()),
        extract: None,
    })
}

/// 403 unless the caller may search `rtype` (the audit log: auditors and system callers only,
/// whose export is the whole log; a patient's own access report is a search, not an export).
fn may_export(gate: &Gate, rtype: ResourceType, role: Role) -> Result<(), Error> {
    if rtype == ResourceType::AuditEvent && !role.reads_every_audit_event() {
        return Err(Error::Forbidden(
            "The audit log is exported to auditors and system callers only".into(),
        ));
    }
    let search = Request {
        interaction: Interaction::Search { rtype, query: None },
        params: Vec::new(),
        head: false,
        if_match: None,
        fresh: None,
    };
    authorise(gate, &search)
}

/// The Group `id` as the caller may see it (404 for a Group it may not see, as a read would
/// answer).
async fn read_group(engine: &Engine, gate: &Gate, id: &str) -> Result<Value, Error> {
    let not_found = || Error::NotFound {
        rtype: ResourceType::Group,
        id: id.to_owned(),
    };
    let group = engine
        .store()
        .backend()
        .read(ResourceType::Group, id)
        .await?
        .filter(|r| !r.deleted)
        .ok_or_else(not_found)?;
    let body = match gate.admit(&group).await? {
        Some(body) => body.into_string(),
        None => {
            gate.attempted(&group);
            return Err(not_found());
        }
    };
    serde_json::from_str(&body).map_err(|e| Error::internal_from(format!("stored Group/{id}"), e))
}

/// The patients `group` lists as active members.
fn members_of(group: &Value) -> Vec<String> {
    let members = group
        .get("member")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    members
        .iter()
        .filter(|m| m.get("inactive").and_then(Value::as_bool) != Some(true))
        .filter_map(|m| m.pointer("/entity/reference").and_then(Value::as_str))
        .filter_map(|r| r.strip_prefix("Patient/"))
        .filter(|id| crate::fhir::id::is_valid_id(id))
        .map(str::to_owned)
        .collect()
}

/// `queries` restricted to `members`' compartments, chunk by chunk (none when there are none).
fn for_members(
    engine: &Engine,
    rtype: ResourceType,
    queries: Vec<SearchQuery>,
    members: &[String],
) -> Result<Vec<SearchQuery>, Error> {
    let mut out = Vec::new();
    for chunk in members.chunks(MEMBERS_PER_SEARCH) {
        let (param, values) = if rtype == ResourceType::Patient {
            ("_id", chunk.join(","))
        } else {
            let refs: Vec<String> = chunk.iter().map(|id| format!("Patient/{id}")).collect();
            ("patient", refs.join(","))
        };
        let pairs = [(param.to_owned(), values)];
        let only = crate::search::parse(rtype, &pairs, engine.parse_options(false))
            .map_err(|e| Error::internal_from("group member search", e))?;
        let filters: Vec<Filter> = only.filters;
        for q in &queries {
            let mut q = q.clone();
            q.filters.extend(filters.iter().cloned());
            out.push(q);
        }
    }
    Ok(out)
}
