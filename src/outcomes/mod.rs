//! Outcome reporting: the tables the service evaluations published, per organisation and period,
//! from the CLI (`carebridge outcomes`) and the `$hna-outcomes` operation.
//!
//! Population: the HNAs (`QuestionnaireResponse`, `questionnaire` = the HNA canonical, status
//! `completed` or `amended`) whose `author` is the organisation and whose `authored` date falls in the
//! period (both ends included); their Patients; and the care plans citing them in `supportingInfo`
//! (any status but `entered-in-error`). A person's "first" and "second" HNA are their first two in the
//! period, by `authored`. Which tables, and how small numbers are suppressed, is documented in
//! [`tables`] and [`render`]; the output names no person, resource or organisation.
//!
//! Referrals (`ServiceRequest`s sent or received by the organisation, with their fulfilment
//! `Task`s) have tables of their own, in the same report and under the same suppression: their
//! population and reading are in [`referrals`].
//!
//! Speed: HNA rows are found by one indexed search, then fetched in chunks together with their
//! Patients (`_include`) and care plans (`_revinclude`); a second thread parses each chunk into
//! small facts (see [`facts`]) while the next one is read, so reading and parsing overlap.

pub mod disclosure;
pub mod facts;
pub mod measure_report;
pub mod referrals;
pub mod render;
pub mod tables;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::error::Error;
use crate::fhir::ResourceType;
use crate::hna::Canonical;
use crate::rest::Engine;
use crate::rest::parameters::{bad, body_parameters, is_format, name_of, once, unknown};
use crate::search::{Include, ParseOptions};
use crate::store::Store;

pub use measure_report::to_measure_report;
pub use render::{Report, to_csv, to_json};
use tables::Cohort;

/// HNAs per `_include`/`_revinclude` query: few queries, and within every backend's limit on bound
/// parameters (two per HNA for the reverse include).
const CHUNK: usize = 10_000;

/// HNA rows per fetch (the store reorders each fetch at a cost that grows with its square).
const FETCH: usize = 1_000;

/// The operation's name, in messages.
const OPERATION: &str = "$hna-outcomes";
const P_ORGANIZATION: &str = "organization";
const P_START: &str = "start";
const P_END: &str = "end";

/// The value of a body parameter as the text the query string would carry.
fn body_value(name: &str, param: &Value) -> Result<String, Error> {
    let text = |key: &str| param.get(key).and_then(Value::as_str).map(str::trim);
    let value = match name {
        P_ORGANIZATION => text("valueString")
            .or_else(|| text("valueCode"))
            .or_else(|| {
                let id = param.get("valueIdentifier")?;
                let system = id.get("system").and_then(Value::as_str);
                system
                    .is_none_or(|s| s == crate::fhir::ods::SYSTEM)
                    .then(|| id.get("value").and_then(Value::as_str))
                    .flatten()
            })
            .or_else(|| {
                param
                    .get("valueReference")?
                    .get("reference")?
                    .as_str()?
                    .strip_prefix("Organization/")
            }),
        P_START | P_END => text("valueDate"),
        _ => return Err(unknown(OPERATION, name)),
    };
    let hint = match name {
        P_ORGANIZATION => {
            "a valueString or valueCode (id or ODS code), a valueIdentifier (ODS code) or a valueReference to an Organization"
        }
        _ => "a valueDate (YYYY-MM-DD)",
    };
    value
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| bad(name, format!("{name} must be {hint}")))
}

/// What to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Organization id or ODS code.
    pub organization: String,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day, `YYYY-MM-DD`.
    pub end: String,
}

impl Request {
    /// From the operation's inputs: a `Parameters` body (for `POST`) and the query string, each
    /// parameter once across both. `organization` is a `valueString` or `valueCode` (id or ODS
    /// code), a `valueIdentifier` (an ODS code) or a `valueReference` (`Organization/<id>`);
    /// `start` and `end` are `valueDate`s.
    pub fn from_inputs(body: Option<&Value>, query: &[(String, String)]) -> Result<Self, Error> {
        let mut given: [Option<String>; 3] = [None, None, None];
        let mut put = |name: &str, value: String| {
            let i = [P_ORGANIZATION, P_START, P_END]
                .iter()
                .position(|p| *p == name)
                .ok_or_else(|| unknown(OPERATION, name))?;
            match given.get_mut(i) {
                Some(slot) => once(name, slot, value),
                None => Err(unknown(OPERATION, name)),
            }
        };
        if let Some(body) = body {
            for param in body_parameters(OPERATION, body)? {
                let name = name_of(param);
                put(name, body_value(name, param)?)?;
            }
        }
        for (name, value) in query.iter().filter(|(k, _)| !is_format(k)) {
            let value = value.trim();
            if value.is_empty() && [P_ORGANIZATION, P_START, P_END].contains(&name.as_str()) {
                return Err(bad(name, format!("{name} is empty")));
            }
            put(name, value.to_owned())?;
        }
        let [organization, start, end] = given;
        let required = |name: &str, v: Option<String>| {
            v.ok_or_else(|| bad(name, format!("{name} is required")))
        };
        let r = Request {
            organization: required(P_ORGANIZATION, organization)?,
            start: required(P_START, start)?,
            end: required(P_END, end)?,
        };
        r.check()?;
        Ok(r)
    }

    /// Checks the period: two dates, the start not after the end.
    pub fn check(&self) -> Result<(), Error> {
        let day = |name: &str, v: &str| {
            (v.len() == 10)
                .then(|| crate::fhir::days::parse_day(v))
                .flatten()
                .ok_or_else(|| bad(name, format!("{name} must be a date (YYYY-MM-DD)")))
        };
        if day(P_START, &self.start)? > day(P_END, &self.end)? {
            return Err(bad(P_START, "start is after end"));
        }
        Ok(())
    }
}

/// The `$hna-outcomes` operation: the report for the request's parameters (a `Parameters` body
/// and the query string), rendered by the HTTP layer as JSON, CSV or a MeasureReport.
pub async fn operation_report(
    engine: &Engine,
    body: Option<&Value>,
    query: &[(String, String)],
) -> Result<Report, Error> {
    let request = Request::from_inputs(body, query)?;
    report(engine.store(), engine.canonical(), &request).await
}

/// Computes the report.
pub async fn report(
    store: &Store,
    canonical: &Canonical,
    request: &Request,
) -> Result<Report, Error> {
    let org = resolve_organization(store, &request.organization).await?;
    let mut cohort = gather(store, canonical, &org, request).await?;
    cohort.referrals =
        referrals::gather(store, canonical, &org, &request.start, &request.end).await?;
    Ok(Report {
        start: request.start.clone(),
        end: request.end.clone(),
        tables: tables::build(&cohort),
    })
}

/// The Organization id for an id or an ODS code (an id wins); 404 when neither names one.
pub async fn resolve_organization(store: &Store, name: &str) -> Result<String, Error> {
    let backend = store.backend();
    if crate::fhir::id::is_valid_id(name)
        && let Some(r) = backend.read(ResourceType::Organization, name).await?
        && !r.deleted
    {
        return Ok(r.id);
    }
    let q = parse(
        ResourceType::Organization,
        &[("identifier", format!("{}|{name}", crate::fhir::ods::SYSTEM))],
    )?;
    let rows = backend.search(&q, 2).await?;
    match rows.as_slice() {
        [row] => backend
            .fetch(&[*row])
            .await?
            .into_iter()
            .next()
            .map(|(_, r)| r.id)
            .ok_or_else(|| not_found(name)),
        [] => Err(not_found(name)),
        _ => Err(Error::MultipleMatches(format!(
            "several Organizations have ODS code '{name}'"
        ))),
    }
}

fn not_found(name: &str) -> Error {
    Error::NotFound {
        rtype: ResourceType::Organization,
        id: name.to_owned(),
    }
}

fn parse(
    rtype: ResourceType,
    pairs: &[(&str, String)],
) -> Result<crate::search::SearchQuery, Error> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let opts = ParseOptions {
        lenient: false,
        default_count: 1,
        max_count: 1,
    };
    Ok(crate::search::parse(rtype, &pairs, opts)?)
}

/// The rows of the HNAs of the population: those `org` authored from `start` to `end` (days,
/// both included), ascending. Organisation and period narrow the rows; questionnaire and status
/// are left to the reader ([`facts::hna`]), which is cheaper than two more index joins over every
/// HNA. The de-identified extract (`crate::export`) reads the same rows.
pub async fn population_rows(
    store: &Store,
    org: &str,
    start: &str,
    end: &str,
) -> Result<Vec<crate::store::RowId>, Error> {
    let q = parse(
        ResourceType::QuestionnaireResponse,
        &[
            ("author", format!("Organization/{org}")),
            ("authored", format!("ge{start}")),
            ("authored", format!("le{end}")),
        ],
    )?;
    let mut rows = store.backend().search(&q, usize::MAX).await?;
    // Ascending rows make the store's per-fetch reordering cheap.
    rows.sort_unstable();
    Ok(rows)
}

/// The facts of the organisation's HNAs in the period, their Patients and their plans.
async fn gather(
    store: &Store,
    canonical: &Canonical,
    org: &str,
    request: &Request,
) -> Result<Cohort, Error> {
    let started = std::time::Instant::now();
    let rows = population_rows(store, org, &request.start, &request.end).await?;
    tracing::debug!(rows = rows.len(), elapsed = ?started.elapsed(), "outcomes: HNAs found");
    let mut cohort = read_cohort(store, canonical, &rows).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "outcomes: read and parsed");
    cohort.org_types = organization_types(store, &cohort).await?;
    Ok(cohort)
}

/// Reads and parses HNAs, their Patients and the plans citing them.
///
/// The chunks are dealt alternately to two readers, each on its own connection and thread, and
/// each parses what it read on its own thread. (A reader feeding parsing threads was slower: half
/// a gigabyte of text crossing threads made the allocator take fresh pages from the kernel rather
/// than reuse freed ones. A reader of HNAs beside a reader of their Patients and plans left the
/// first with twice the work.) The CLI and the HTTP workers run single-threaded runtimes, so the
/// second reader is a blocking thread rather than a task, which would only take turns with the
/// first; the runtime's own thread, awaiting it, still drives PostgreSQL's sockets.
async fn read_cohort(
    store: &Store,
    canonical: &Canonical,
    rows: &[crate::store::RowId],
) -> Result<Cohort, Error> {
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    // At least two chunks whenever there are two HNAs, so that both readers always work (and
    // the merge below is exercised by small cohorts too).
    let size = rows.len().div_ceil(2).clamp(1, CHUNK);
    for (i, chunk) in rows.chunks(size).enumerate() {
        let half = if i % 2 == 0 { &mut mine } else { &mut theirs };
        half.push(chunk.to_vec());
    }
    let runtime = tokio::runtime::Handle::current();
    let (second_store, second_canonical) = (store.clone(), canonical.clone());
    let second = tokio::task::spawn_blocking(move || {
        runtime.block_on(read_part(&second_store, &second_canonical, theirs))
    });
    let first = read_part(store, canonical, mine).await;
    let second = second
        .await
        .map_err(|_| Error::internal("outcome reader panicked"))?;
    let (mut cohort, first_rows) = first?;
    let mut plan_rows: HashSet<_> = first_rows.into_iter().collect();
    let (other, other_rows) = second?;
    cohort.hnas.reserve(other.hnas.len());
    let offset = cohort.hnas.len();
    cohort
        .hna_index
        .extend(other.hna_index.into_iter().map(|(id, i)| (id, i + offset)));
    cohort.hnas.extend(other.hnas);
    cohort.patients.extend(other.patients);
    // A plan citing HNAs of both halves was read by both readers: keep it once.
    for (row, plan) in other_rows.into_iter().zip(other.plans) {
        if plan_rows.insert(row) {
            cohort.plans.push(plan);
        }
    }
    Ok(cohort)
}

/// One reader's share: for each chunk the HNAs (`FETCH` rows a query), their Patients
/// (`_include`) and the plans citing them (`_revinclude`, one query a chunk: the reverse include
/// walks every plan link, so fewer is faster). Returns the facts and the row of each plan, in order.
async fn read_part(
    store: &Store,
    canonical: &Canonical,
    chunks: Vec<Vec<crate::store::RowId>>,
) -> Result<(Cohort, Vec<crate::store::RowId>), Error> {
    let patient_include = Include {
        source: ResourceType::QuestionnaireResponse,
        param: "subject",
        target: Some(ResourceType::Patient),
    };
    let plan_include = Include {
        source: ResourceType::CarePlan,
        param: "supporting-info",
        target: None,
    };
    let backend = store.backend();
    let questionnaire = canonical.questionnaire();
    let mut c = Cohort::default();
    let mut plan_rows = HashSet::new();
    let mut plan_order = Vec::new();
    let mut spent = [std::time::Duration::ZERO; 3];
    for chunk in chunks {
        let mut targets = Vec::with_capacity(chunk.len());
        for part in chunk.chunks(FETCH) {
            let t = std::time::Instant::now();
            let hnas = backend.fetch(part).await?;
            spent[0] += t.elapsed();
            for (_, r) in hnas {
                if let Some(f) = facts::hna(&r.body, &questionnaire) {
                    c.hna_index.insert(r.id.clone(), c.hnas.len());
                    c.hnas.push(f);
                }
                targets.push((ResourceType::QuestionnaireResponse, r.id));
            }
        }
        let t = std::time::Instant::now();
        let patients = backend.included(&chunk, &patient_include).await?;
        spent[1] += t.elapsed();
        for (_, r) in patients {
            if !c.patients.contains_key(&r.id)
                && let Some(p) = facts::patient(&r.body)
            {
                c.patients.insert(r.id, p);
            }
        }
        let t = std::time::Instant::now();
        let plans = backend.revincluded(&targets, &plan_include).await?;
        spent[2] += t.elapsed();
        for (row, r) in plans {
            if !plan_rows.contains(&row)
                && let Some(p) = facts::plan(&r.body, canonical)
            {
                plan_rows.insert(row);
                plan_order.push(row);
                c.plans.push(p);
            }
        }
    }
    let [fetch, include, revinclude] = spent;
    tracing::debug!(
        ?fetch,
        ?include,
        ?revinclude,
        "outcomes: one reader's store time"
    );
    Ok((c, plan_order))
}

/// Types of the Organizations that referral activities name as performer.
async fn organization_types(store: &Store, c: &Cohort) -> Result<HashMap<String, String>, Error> {
    let ids: HashSet<&String> = c
        .plans
        .iter()
        .flat_map(|p| &p.activities)
        .filter(|(kind, _)| kind == "referral")
        .filter_map(|(_, org)| org.as_ref())
        .collect();
    let mut types = HashMap::new();
    for id in ids {
        if let Some(r) = store.backend().read(ResourceType::Organization, id).await?
            && !r.deleted
            && let Some(t) = facts::organization_type(&r.body)
        {
            types.insert(id.clone(), t);
        }
    }
    Ok(types)
}
