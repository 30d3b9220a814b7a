//! The audit log over the FHIR API (auditors and system callers; patients for their own access
//! report): `GET AuditEvent` and `GET AuditEvent/{id}` ([`crate::audit::search`]), `$audit-verify`
//! and `$audit-export`. Each first copies the journal into the store, so that everything made
//! durable before the request is covered.
//!
//! AuditEvent is the gateway's own record: it cannot be created, updated or deleted through the
//! API (405), so no client can put an event into the trail or take one out.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::response::to_http;
use crate::audit::Trail;
use crate::audit::event::Record;
use crate::audit::log::render_row;
use crate::audit::search::{Query, matches};
use crate::auth::{Principal, Role};
use crate::error::Error;
use crate::rest::parameters::QueryInputs;
use crate::rest::{Engine, Reply};
use crate::store::AuditRow;
use crate::store::audit_sql::{self, Key};

/// Whose events a caller may read: every event, or those of one patient (rendered for them).
enum Reader {
    Everything,
    Patient(String),
}

fn reader(p: &Principal) -> Result<Reader, Error> {
    match (p.role, &p.patient) {
        (Role::Auditor | Role::System, _) => Ok(Reader::Everything),
        (Role::Patient, Some(id)) => Ok(Reader::Patient(id.clone())),
        _ => Err(Error::Forbidden(
            "The audit log is for auditors, and for patients about their own record".into(),
        )),
    }
}

fn render(trail: &Trail, reader: &Reader, row: &AuditRow) -> Value {
    match reader {
        Reader::Everything => render_row(row, &trail.source("")),
        Reader::Patient(patient) => match Record::from_text(&row.body) {
            Some(r) => {
                let id = row.id.to_string();
                crate::audit::event::build(
                    &r.for_patient(patient),
                    &trail.source(&row.chain),
                    Some(&id),
                )
            }
            None => json!({"resourceType": "AuditEvent", "id": row.id.to_string()}),
        },
    }
}

/// Whether a patient's filter names a record that is not `patient`'s own: another patient, or
/// an entity that is not theirs (the entity read from the store; one that does not exist, or
/// belongs to nobody, counts as another's).
async fn names_another_record(
    engine: &Engine,
    conditions: &[(Key, Vec<String>)],
    patient: &str,
) -> Result<bool, Error> {
    for (key, values) in conditions {
        for v in values {
            let theirs = match key {
                Key::Patient => v == patient,
                Key::Entity => match crate::fhir::id::parse_relative(v) {
                    Some((crate::fhir::ResourceType::Patient, id)) => id == patient,
                    Some((rtype, id)) => engine
                        .store()
                        .backend()
                        .read(rtype, id)
                        .await?
                        .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
                        .and_then(|body| {
                            crate::consent::decision::patient_of(rtype, &body).map(String::from)
                        })
                        .is_some_and(|owner| owner == patient),
                    None => false,
                },
                _ => true,
            };
            if !theirs {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// `GET [base]/AuditEvent?...`: a searchset Bundle, newest first unless `_sort=date`.
pub async fn search(
    engine: &Engine,
    trail: &Trail,
    principal: &Principal,
    params: &[(String, String)],
) -> Result<HttpResponse, Error> {
    let reader = reader(principal)?;
    let mut q = Query::parse(params).map_err(|e| Error::BadRequest(e.0))?;
    if let Reader::Patient(p) = &reader {
        // A patient's search is always about their own record, whatever else it asks; and a
        // filter naming another person's record would probe it through their own events (was it
        // touched with mine?), so it matches nothing.
        if names_another_record(engine, &q.filter.conditions, p).await? {
            q.nothing = true;
        }
        q.filter.conditions.push((Key::Patient, vec![p.clone()]));
    }
    let warning = catch_up(trail).await?;
    let backend = engine.store().backend();
    let counted = if q.nothing {
        Some(0)
    } else if q.count_only || q.total {
        Some(backend.audit_count(&audit_sql::count(&q.filter)).await?)
    } else {
        None
    };
    let rows = if q.nothing || q.count_only {
        Vec::new()
    } else {
        crate::audit::stored::select(backend, &audit_sql::search(&q.filter)).await?
    };
    let base = engine.base_url();
    let link = |relation: &str, extra: Option<String>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q.echoed {
            s.append_pair(k, v);
        }
        if let Some(c) = extra {
            s.append_pair("_cursor", &c);
        }
        json!({"relation": relation, "url": format!("{base}/AuditEvent?{}", s.finish())})
    };
    let mut links = vec![link("self", None)];
    if rows.len() == q.filter.limit
        && let Some(last) = rows.last()
    {
        links.push(link("next", Some(format!("{}.{}", last.recorded, last.id))));
    }
    let mut entries: Vec<Value> = rows
        .iter()
        .filter(|r| Record::from_text(&r.body).is_none_or(|rec| matches(&rec, &q.filter)))
        .map(|r| {
            json!({
                "fullUrl": format!("{base}/AuditEvent/{}", r.id),
                "resource": render(trail, &reader, r),
                "search": {"mode": "match"},
            })
        })
        .collect();
    if let Some(w) = warning {
        let outcome = crate::fhir::operation_outcome(&[crate::fhir::OutcomeIssue {
            severity: crate::fhir::Severity::Warning,
            code: "incomplete",
            diagnostics: w,
            expression: None,
        }]);
        entries.push(json!({"resource": outcome, "search": {"mode": "outcome"}}));
    }
    // The whole result is this page: its matches are the total, counted for free.
    let whole = q.filter.after.is_none() && rows.len() < q.filter.limit;
    let total = counted.or_else(|| {
        whole.then(|| {
            let matched = entries.iter().filter(|e| e["search"]["mode"] == "match");
            u64::try_from(matched.count()).unwrap_or(u64::MAX)
        })
    });
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
    });
    if let Some(t) = total {
        bundle["total"] = json!(t);
    }
    if !entries.is_empty() {
        bundle["entry"] = json!(entries);
    }
    Ok(to_http(Reply::json(StatusCode::OK, bundle), base))
}

/// `GET [base]/AuditEvent/{id}`: one stored event (for a patient, only one about them).
pub async fn read(
    engine: &Engine,
    trail: &Trail,
    principal: &Principal,
    id: &str,
) -> Result<HttpResponse, Error> {
    let reader = reader(principal)?;
    let missing = || Error::NotFound {
        rtype: crate::fhir::ResourceType::AuditEvent,
        id: id.to_owned(),
    };
    let n: i64 = id.parse().map_err(|_| missing())?;
    // A broken journal: what is stored is served (the search says the log is incomplete).
    catch_up(trail).await?;
    let mut filter = audit_sql::Filter {
        id: Some(n),
        limit: 1,
        ..audit_sql::Filter::default()
    };
    if let Reader::Patient(p) = &reader {
        filter.conditions.push((Key::Patient, vec![p.clone()]));
    }
    let sql = audit_sql::search(&filter);
    let row = crate::audit::stored::select(engine.store().backend(), &sql)
        .await?
        .pop()
        .filter(|r| Record::from_text(&r.body).is_none_or(|rec| matches(&rec, &filter)))
        .ok_or_else(missing)?;
    Ok(to_http(
        Reply::json(StatusCode::OK, render(trail, &reader, &row)),
        engine.base_url(),
    ))
}

/// `GET [base]/$audit-verify` (auditors and system callers): a Parameters resource with `intact`,
/// `verified` (events, over every chain), a `chain` part per chain (`name`, `verified`,
/// `head-sequence`, `head-hash`), and for a broken log `broken-chain`, `broken-at` (the first
/// event at fault) and `reason`. Events made durable before the request are copied from the
/// journal first, so they are covered.
pub async fn audit_verify(engine: &Engine, trail: &Trail) -> Result<HttpResponse, Error> {
    use serde_json::json;
    // R4 integers are 32-bit: a larger count is given as a decimal rather than clamped.
    let number = |name: &str, n: u64| match i32::try_from(n) {
        Ok(i) => json!({"name": name, "valueInteger": i}),
        Err(_) => json!({"name": name, "valueDecimal": n}),
    };
    // Copies the journal first, then verifies the store and the journal lines not yet copied.
    let report = trail.verify(engine.store()).await?;
    let mut params = vec![
        json!({"name": "intact", "valueBoolean": report.broken.is_none()}),
        number("verified", report.count()),
    ];
    for (chain, v) in &report.chains {
        params.push(json!({"name": "chain", "part": [
            {"name": "name", "valueString": chain},
            number("verified", v.count),
            number("head-sequence", v.head_seq),
            {"name": "head-hash", "valueString": v.head_hash},
        ]}));
    }
    if let Some((chain, at)) = &report.broken {
        params.push(json!({"name": "broken-chain", "valueString": chain}));
        params.push(number("broken-at", at.seq()));
        params.push(json!({"name": "reason", "valueString": at.to_string()}));
    }
    let parameters = json!({"resourceType": "Parameters", "parameter": params});
    Ok(to_http(
        Reply::json(StatusCode::OK, parameters),
        engine.base_url(),
    ))
}

/// Copies the journal into the store before an auditor reads it. A journal that no longer
/// continues its chain (altered before its copy) is not copied past the break, for good: the
/// auditor is then served what is stored, and told (the returned warning; `$audit-verify`
/// reports the break), rather than shut out of the whole log. Any other failure is 503.
pub(super) async fn catch_up(trail: &Trail) -> Result<Option<String>, Error> {
    match trail.catch_up().await {
        Ok(_) => Ok(None),
        Err(crate::audit::ingest::IngestError::Broken(b)) => Ok(Some(format!(
            "The audit journal of chain '{}' does not continue its chain at event {}: events recorded after it are not searchable until it is repaired; $audit-verify reports the break",
            b.chain,
            b.at.seq()
        ))),
        Err(e) => {
            tracing::error!(error = %e, "audit journal not copied before an audit query");
            Err(Error::Unavailable(
                "The audit log cannot be read completely just now; try again".into(),
            ))
        }
    }
}

/// `GET [base]/$audit-export?start=&end=` (auditors and system callers): the events recorded in
/// the period as `application/fhir+ndjson`, in storage order, each with its storage id as `id`,
/// streamed page by page. A page that cannot be read ends the stream early (and is logged); the
/// client sees a short export rather than a half-written line.
pub async fn audit_export(
    engine: &Engine,
    trail: &actix_web::web::Data<Trail>,
    params: &[(String, String)],
) -> Result<HttpResponse, Error> {
    use crate::audit::log::{Period, export_page};
    let q = QueryInputs::new("$audit-export", params, &["start", "end"])?;
    let period = Period::parse(q.get("start")?.as_deref(), q.get("end")?.as_deref())
        .map_err(Error::BadRequest)?;
    catch_up(trail).await?;
    let store = engine.store().clone();
    let trail = trail.clone();
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = store.clone();
        let trail = trail.clone();
        async move {
            let after = after?;
            match export_page(&store, &trail.source(""), period, after).await {
                Ok(Some((text, last))) => Some((
                    Ok::<_, actix_web::Error>(actix_web::web::Bytes::from(text)),
                    Some(last),
                )),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped early");
                    None
                }
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/fhir+ndjson")
        .streaming(pages))
}
