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
//! Speed: HNA rows are found by one indexed search, then fetched in chunks together with their
//! Patients (`_include`) and care plans (`_revinclude`); a second thread parses each chunk into
//! small facts (see [`facts`]) while the next one is read, so reading and parsing overlap.

pub mod facts;
pub mod render;
pub mod tables;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

use crate::config::Settings;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::hna::Canonical;
use crate::rest::Engine;
use crate::search::{Include, ParseOptions};
use crate::store::{Store, StoredResource};

pub use render::{Report, to_csv, to_json};
use tables::Cohort;

/// HNAs per `_include`/`_revinclude` query: few queries, and within every backend's limit on bound
/// parameters (two per HNA for the reverse include).
const CHUNK: usize = 10_000;

/// HNA rows per fetch (the store reorders each fetch at a cost that grows with its square).
const FETCH: usize = 1_000;

/// The ODS organisation code system, the other way to name the organisation.
const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// Output format of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The JSON document.
    Json,
    /// One CSV section per table.
    Csv,
}

/// Arguments of `carebridge outcomes`.
#[derive(Debug, clap::Args)]
pub struct OutcomesArgs {
    /// The recording organisation: its Organization id, or its ODS code.
    #[arg(long)]
    pub organization: String,
    /// First day of the period (YYYY-MM-DD).
    #[arg(long)]
    pub start: String,
    /// Last day of the period (YYYY-MM-DD), included.
    #[arg(long)]
    pub end: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// A TOML configuration file (database, canonical base); CAREBRIDGE_* variables override it.
    #[arg(long, env = "CAREBRIDGE_CONFIG")]
    pub config: Option<PathBuf>,
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
    /// From operation parameters (`organization`, `start`, `end`; `_format` is the caller's).
    pub fn from_params(params: &[(String, String)]) -> Result<Self, Error> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::BadRequest(format!("parameter '{name}' is required")))
        };
        if let Some((k, _)) = params
            .iter()
            .find(|(k, _)| !matches!(k.as_str(), "organization" | "start" | "end" | "_format"))
        {
            return Err(Error::BadRequest(format!("unknown parameter '{k}'")));
        }
        let r = Request {
            organization: get("organization")?,
            start: get("start")?,
            end: get("end")?,
        };
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<(), Error> {
        let day = |name: &str, v: &str| {
            (v.len() == 10)
                .then(|| facts::parse_day(v))
                .flatten()
                .ok_or_else(|| Error::BadRequest(format!("'{name}' must be a date (YYYY-MM-DD)")))
        };
        if day("start", &self.start)? > day("end", &self.end)? {
            return Err(Error::BadRequest("'start' is after 'end'".into()));
        }
        Ok(())
    }
}

/// Runs the report from the command line; the database comes from the settings, as for `serve`.
pub async fn run(args: OutcomesArgs) -> ExitCode {
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("carebridge outcomes: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let request = Request {
        organization: args.organization,
        start: args.start,
        end: args.end,
    };
    if let Err(e) = request.check() {
        eprintln!("carebridge outcomes: {e}");
        return ExitCode::from(2);
    }
    let store = match Store::open(&settings.database_url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("carebridge outcomes: {e}");
            return ExitCode::FAILURE;
        }
    };
    store.backend().prefer_bulk_reads();
    let canonical = Canonical::new(&settings.canonical_base);
    match report(&store, &canonical, &request).await {
        Ok(r) => {
            match args.format {
                Format::Json => println!("{:#}", to_json(&r)),
                Format::Csv => print!("{}", to_csv(&r)),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carebridge outcomes: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The `$hna-outcomes` operation: the report for the request's parameters, rendered by the HTTP
/// layer as JSON or CSV.
pub async fn operation_report(
    engine: &Engine,
    query: &[(String, String)],
) -> Result<Report, Error> {
    let request = Request::from_params(query)?;
    report(engine.store(), engine.canonical(), &request).await
}

/// Computes the report.
pub async fn report(
    store: &Store,
    canonical: &Canonical,
    request: &Request,
) -> Result<Report, Error> {
    let org = resolve_organization(store, &request.organization).await?;
    let cohort = gather(store, canonical, &org, request).await?;
    Ok(Report {
        start: request.start.clone(),
        end: request.end.clone(),
        tables: tables::build(&cohort),
    })
}

/// The Organization id for an id or an ODS code (an id wins); 404 when neither names one.
async fn resolve_organization(store: &Store, name: &str) -> Result<String, Error> {
    let backend = store.backend();
    if crate::fhir::id::is_valid_id(name)
        && let Some(r) = backend.read(ResourceType::Organization, name).await?
        && !r.deleted
    {
        return Ok(r.id);
    }
    let q = parse(
        ResourceType::Organization,
        &[("identifier", format!("{ODS_SYSTEM}|{name}"))],
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

/// Stored resources handed to the parsing thread (any part may be empty).
#[derive(Default)]
struct Chunk {
    hnas: Vec<StoredResource>,
    patients: Vec<StoredResource>,
    plans: Vec<StoredResource>,
}

/// Reads the population in chunks; a second thread turns each into facts as the next is read.
async fn gather(
    store: &Store,
    canonical: &Canonical,
    org: &str,
    request: &Request,
) -> Result<Cohort, Error> {
    let started = std::time::Instant::now();
    let backend = store.backend();
    // Organisation and period narrow the rows; questionnaire and status are checked on the parsed
    // facts, which is cheaper than two more index joins over every HNA.
    let q = parse(
        ResourceType::QuestionnaireResponse,
        &[
            ("author", format!("Organization/{org}")),
            ("authored", format!("ge{}", request.start)),
            ("authored", format!("le{}", request.end)),
        ],
    )?;
    let mut rows = backend.search(&q, usize::MAX).await?;
    // Ascending rows make the store's per-fetch reordering cheap.
    rows.sort_unstable();
    tracing::debug!(rows = rows.len(), elapsed = ?started.elapsed(), "outcomes: HNAs found");
    let (tx, rx) = mpsc::sync_channel::<Chunk>(4);
    let parser_canonical = canonical.clone();
    let parser = std::thread::spawn(move || parse_chunks(&rx, &parser_canonical));
    let result = read_chunks(backend, &rows, &tx).await;
    drop(tx);
    let mut cohort = parser
        .join()
        .map_err(|_| Error::Internal("outcome parser panicked".into()))?;
    result?;
    tracing::debug!(elapsed = ?started.elapsed(), "outcomes: read and parsed");
    cohort.org_types = organization_types(store, &cohort).await?;
    Ok(cohort)
}

/// Reads HNAs, their Patients and the plans citing them, `CHUNK` HNAs at a time (one
/// `_include`/`_revinclude` query each: the reverse one walks every plan link, so fewer is faster),
/// HNA bodies `FETCH` rows at a time.
async fn read_chunks(
    backend: &dyn crate::store::Backend,
    rows: &[crate::store::RowId],
    tx: &mpsc::SyncSender<Chunk>,
) -> Result<(), Error> {
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
    let (mut seen_plans, mut seen_patients) = (HashSet::new(), HashSet::new());
    let mut spent = [std::time::Duration::ZERO; 3];
    let send = |c: Chunk| {
        tx.send(c)
            .map_err(|_| Error::Internal("outcome parser stopped".into()))
    };
    for chunk in rows.chunks(CHUNK) {
        let mut targets = Vec::with_capacity(chunk.len());
        for part in chunk.chunks(FETCH) {
            let t = std::time::Instant::now();
            let hnas: Vec<StoredResource> = backend
                .fetch(part)
                .await?
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            spent[0] += t.elapsed();
            targets.extend(
                hnas.iter()
                    .map(|r| (ResourceType::QuestionnaireResponse, r.id.clone())),
            );
            send(Chunk {
                hnas,
                ..Chunk::default()
            })?;
        }
        let t = std::time::Instant::now();
        let patients = backend.included(chunk, &patient_include).await?;
        spent[1] += t.elapsed();
        send(Chunk {
            patients: patients
                .into_iter()
                .filter(|(row, _)| seen_patients.insert(*row))
                .map(|(_, r)| r)
                .collect(),
            ..Chunk::default()
        })?;
        let t = std::time::Instant::now();
        let plans = backend.revincluded(&targets, &plan_include).await?;
        spent[2] += t.elapsed();
        send(Chunk {
            plans: plans
                .into_iter()
                .filter(|(row, _)| seen_plans.insert(*row))
                .map(|(_, r)| r)
                .collect(),
            ..Chunk::default()
        })?;
    }
    let [fetch, include, revinclude] = spent;
    tracing::debug!(?fetch, ?include, ?revinclude, "outcomes: store time");
    Ok(())
}

/// The parsing thread: facts from each chunk, in arrival order.
fn parse_chunks(rx: &mpsc::Receiver<Chunk>, canonical: &Canonical) -> Cohort {
    let mut c = Cohort::default();
    let questionnaire = canonical.questionnaire();
    while let Ok(chunk) = rx.recv() {
        for r in chunk.hnas {
            if let Some(f) = facts::hna(&r.body, &questionnaire) {
                c.hna_index.insert(r.id, c.hnas.len());
                c.hnas.push(f);
            }
        }
        for r in chunk.patients {
            if let Some(p) = facts::patient(&r.body) {
                c.patients.insert(r.id, p);
            }
        }
        c.plans.extend(
            chunk
                .plans
                .iter()
                .filter_map(|r| facts::plan(&r.body, canonical)),
        );
    }
    c
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
