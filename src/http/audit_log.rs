//! The audit log over the FHIR API (auditors and system callers; patients for their own access
//! report): `GET AuditEvent` and `GET AuditEvent/{id}` ([`crate::audit::search`]), `$audit-verify`
//! and `$audit-export`. Each first copies the journal into the store, so that everything made
//! durable before the request is covered.
//!
//! AuditEvent is the gateway's own record: it cannot be created, updated or deleted through the
//! API (405), so no client can put an event into the trail or take one out.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;

use super::response::to_http;
use crate::audit::Trail;
use crate::audit::search::{Query, Reader};
use crate::auth::Principal;
use crate::error::Error;
use crate::rest::bundle::BundleWriter;
use crate::rest::parameters::QueryInputs;
use crate::rest::{Engine, Reply};

/// The reader `principal` is, or 403 when the audit log is not theirs to read.
fn reader(principal: &Principal) -> Result<Reader, Error> {
    Reader::of(principal).ok_or_else(|| {
        Error::Forbidden(
            "The audit log is for auditors, and for patients about their own record".into(),
        )
    })
}

/// `GET [base]/AuditEvent?...`: a searchset Bundle of one page ([`crate::audit::search::run`]),
/// newest first unless `_sort=date`; a journal that could not be copied whole adds an outcome
/// entry saying the log is incomplete.
pub async fn search(
    engine: &Engine,
    trail: &Trail,
    principal: &Principal,
    params: &[(String, String)],
) -> Result<HttpResponse, Error> {
    let reader = reader(principal)?;
    let mut q = Query::parse(params).map_err(|e| Error::BadRequest(e.0))?;
    let echoed = std::mem::take(&mut q.echoed);
    let warning = catch_up(trail).await?;
    let base = engine.base_url();
    let link = |extra: Option<&str>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &echoed {
            s.append_pair(k, v);
        }
        if let Some(c) = extra {
            s.append_pair("_cursor", c);
        }
        format!("{base}/AuditEvent?{}", s.finish())
    };
    let self_link = link(None);
    let page = crate::audit::search::run(engine.store(), &reader, q).await?;
    let mut links = vec![("self", self_link)];
    if let Some(cursor) = &page.next {
        links.push(("next", link(Some(cursor))));
    }
    let mut bundle = BundleWriter::new("searchset", page.total, &links);
    for row in &page.rows {
        bundle.entry(
            &format!("{base}/AuditEvent/{}", row.id),
            Some(&reader.render(trail, row).to_string()),
            json!({"search": {"mode": "match"}}),
        );
    }
    if let Some(w) = warning {
        let outcome = crate::fhir::operation_outcome(&[crate::fhir::OutcomeIssue {
            severity: crate::fhir::Severity::Warning,
            code: "incomplete",
            diagnostics: w,
            expression: None,
        }]);
        bundle.entry_without_url(
            None,
            Some(&outcome.to_string()),
            json!({"search": {"mode": "outcome"}}),
        );
    }
    Ok(to_http(Reply::raw(bundle.finish()), base))
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
    let row = crate::audit::search::one(engine.store(), &reader, n)
        .await?
        .ok_or_else(missing)?;
    Ok(to_http(
        Reply::json(StatusCode::OK, reader.render(trail, &row)),
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
    use crate::audit::export::{Period, export_page};
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
