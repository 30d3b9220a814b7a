//! Writing the extract: the population's HNAs first (which names the people and the HNAs the
//! plans may cite), then their Patients, the plans citing them, and the Organizations named.
//! Rows are fetched a thousand at a time; memory holds one file and the ids of the population.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::super::job::Job;
use super::super::plan::Plan;
use super::super::run::{Stop, Writer, beat, save_file};
use super::{Extract, reduce};
use crate::access::Gate;
use crate::error::Error;
use crate::fhir::ResourceType::{self, CarePlan, Organization, Patient, QuestionnaireResponse};
use crate::outcomes::facts;
use crate::rest::Engine;
use crate::store::{RowId, StoredResource};

/// Rows per fetch.
const FETCH: usize = 1_000;
/// Ids per search (`_id=a,b,...`, `supporting-info=...`).
const IDS_PER_SEARCH: usize = 100;

/// What the HNAs name, for the parts after them.
#[derive(Default)]
struct Population {
    hnas: HashSet<String>,
    patients: BTreeSet<String>,
    organizations: BTreeSet<String>,
}

/// Writes `extract`'s parts that `plan` holds, as `gate`'s caller.
pub(in crate::export) async fn run(
    engine: &Engine,
    gate: &Gate,
    job: &mut Job,
    plan: &Plan,
    extract: &Extract,
) -> Result<(), Stop> {
    let wanted = |t: ResourceType| plan.parts.iter().any(|p| p.rtype == t);
    let mut population = Population::default();
    population
        .organizations
        .insert(extract.cohort.organization.clone());
    hnas(
        engine,
        gate,
        job,
        extract,
        wanted(QuestionnaireResponse),
        &mut population,
    )
    .await?;
    if wanted(Patient) {
        patients(engine, gate, job, extract, &population).await?;
    }
    if wanted(CarePlan) || wanted(Organization) {
        plans(
            engine,
            gate,
            job,
            extract,
            wanted(CarePlan),
            &mut population,
        )
        .await?;
    }
    if wanted(Organization) {
        organizations(engine, gate, job, &population).await?;
    }
    Ok(())
}

async fn hnas(
    engine: &Engine,
    gate: &Gate,
    job: &mut Job,
    extract: &Extract,
    write: bool,
    population: &mut Population,
) -> Result<(), Stop> {
    let cohort = &extract.cohort;
    let rows = crate::outcomes::population_rows(
        engine.store(),
        &cohort.organization,
        &cohort.start,
        &cohort.end,
    )
    .await?;
    let questionnaire = engine.canonical().questionnaire();
    let mut w = Writer::new(QuestionnaireResponse);
    for chunk in rows.chunks(FETCH) {
        for (_, r) in engine.store().backend().fetch(chunk).await? {
            let Some(hna) = facts::hna(&r.body, &questionnaire) else {
                continue;
            };
            population.hnas.insert(r.id.clone());
            population.patients.extend(hna.patient.clone());
            if write {
                let body = parsed(&r)?;
                let out = reduce::hna(&extract.pseudonyms, &r.id, hna.patient.as_deref(), &body);
                disclose(gate, &r, hna.patient.as_deref());
                w.write(engine, gate, job, &out).await?;
            }
        }
        beat(engine, job, &mut w).await?;
    }
    save_file(engine, gate, job, &mut w).await
}

async fn patients(
    engine: &Engine,
    gate: &Gate,
    job: &mut Job,
    extract: &Extract,
    population: &Population,
) -> Result<(), Stop> {
    let mut w = Writer::new(Patient);
    let ids: Vec<&String> = population.patients.iter().collect();
    for chunk in ids.chunks(IDS_PER_SEARCH) {
        let values: Vec<&str> = chunk.iter().map(|s| s.as_str()).collect();
        let rows = search(engine, Patient, "_id", values.join(",")).await?;
        for (_, r) in engine.store().backend().fetch(&rows).await? {
            let out = reduce::patient(&extract.pseudonyms, &r.id, &parsed(&r)?);
            disclose(gate, &r, Some(&r.id));
            w.write(engine, gate, job, &out).await?;
        }
        beat(engine, job, &mut w).await?;
    }
    save_file(engine, gate, job, &mut w).await
}

async fn plans(
    engine: &Engine,
    gate: &Gate,
    job: &mut Job,
    extract: &Extract,
    write: bool,
    population: &mut Population,
) -> Result<(), Stop> {
    // Every plan citing an HNA of the population, once, in row order.
    let mut rows: BTreeSet<RowId> = BTreeSet::new();
    let hnas: Vec<&String> = population.hnas.iter().collect();
    for chunk in hnas.chunks(IDS_PER_SEARCH) {
        let refs: Vec<String> = chunk
            .iter()
            .map(|id| format!("QuestionnaireResponse/{id}"))
            .collect();
        rows.extend(search(engine, CarePlan, "supporting-info", refs.join(",")).await?);
    }
    let rows: Vec<RowId> = rows.into_iter().collect();
    let canonical = engine.canonical();
    let mut w = Writer::new(CarePlan);
    for chunk in rows.chunks(FETCH) {
        for (_, r) in engine.store().backend().fetch(chunk).await? {
            if facts::plan(&r.body, canonical).is_none() {
                continue;
            }
            let body = parsed(&r)?;
            let Some(out) = reduce::plan(
                &extract.pseudonyms,
                &r.id,
                &body,
                &population.hnas,
                canonical,
            ) else {
                continue;
            };
            population
                .organizations
                .extend(reduce::performers(&body).map(str::to_owned));
            if write {
                let patient = body
                    .pointer("/subject/reference")
                    .and_then(Value::as_str)
                    .and_then(|s| crate::fhir::reference::ref_id(s, "Patient"));
                disclose(gate, &r, patient);
                w.write(engine, gate, job, &out).await?;
            }
        }
        beat(engine, job, &mut w).await?;
    }
    save_file(engine, gate, job, &mut w).await
}

async fn organizations(
    engine: &Engine,
    gate: &Gate,
    job: &mut Job,
    population: &Population,
) -> Result<(), Stop> {
    let mut w = Writer::new(Organization);
    for id in &population.organizations {
        let Some(r) = engine
            .store()
            .backend()
            .read(Organization, id)
            .await?
            .filter(|r| !r.deleted)
        else {
            continue;
        };
        let out = reduce::organization(&parsed(&r)?);
        disclose(gate, &r, None);
        w.write(engine, gate, job, &out).await?;
    }
    save_file(engine, gate, job, &mut w).await
}

/// The rows of `rtype?param=values`.
async fn search(
    engine: &Engine,
    rtype: ResourceType,
    param: &str,
    values: String,
) -> Result<Vec<RowId>, Error> {
    let pairs = [(param.to_owned(), values)];
    let q = crate::search::parse(rtype, &pairs, engine.parse_options(false))
        .map_err(|e| Error::internal_from(format!("extract search {rtype}?{param}"), e))?;
    Ok(engine.store().backend().search(&q, usize::MAX).await?)
}

fn parsed(r: &StoredResource) -> Result<Value, Error> {
    serde_json::from_str(&r.body)
        .map_err(|e| Error::internal_from(format!("stored {}/{}", r.rtype, r.id), e))
}

/// Records that the file holds (a de-identified form of) `r`, about `patient`.
fn disclose(gate: &Gate, r: &StoredResource, patient: Option<&str>) {
    gate.disclose(r);
    if let Some(p) = patient {
        gate.named_patient(p);
    }
}
