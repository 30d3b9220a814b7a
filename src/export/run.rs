//! Running an export: the plan's searches walked as the caller's (`crate::rest::walk`), each
//! resource the caller is shown written as one NDJSON line, files cut at [`FILE_RESOURCES`] lines
//! and saved with the audit of what each discloses (replayed into the event of its fetch). The job
//! saves its progress after every file and every few pages (its heartbeat), and stops when it
//! finds its job deleted (cancelled). Memory holds one file at a time.

use std::collections::HashSet;
use std::sync::Arc;

use super::job::{Job, Output, Status};
use super::plan::{Part, Plan};
use crate::access::{Disclosures, Gate};
use crate::audit::Trail;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::fhir::instant::now_ms;
use crate::rest::{Body, Engine};
use crate::store::exports::ExportFile;

/// Resources per output file.
pub const FILE_RESOURCES: u64 = 5_000;
/// Rows read per page of a walk.
const PAGE_ROWS: usize = 1_000;
/// Pages between heartbeats when few rows are visible.
const PAGES_PER_BEAT: u32 = 20;

/// Why a run stopped early.
pub(super) enum Stop {
    /// The job was deleted (the owner cancelled it).
    Cancelled,
    /// An error, told to the owner as the job's failure.
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Failed(e)
    }
}

impl From<crate::store::StoreError> for Stop {
    fn from(e: crate::store::StoreError) -> Self {
        Stop::Failed(e.into())
    }
}

/// The file being written.
pub(super) struct Writer {
    rtype: ResourceType,
    text: String,
    count: u64,
    pages: u32,
}

impl Writer {
    /// An empty file of `rtype`.
    pub(super) fn new(rtype: ResourceType) -> Self {
        Writer {
            rtype,
            text: String::new(),
            count: 0,
            pages: 0,
        }
    }

    /// Adds `resource` as a line (compact JSON never holds a newline); saves the file when full.
    pub(super) async fn write(
        &mut self,
        engine: &Engine,
        gate: &Gate,
        job: &mut Job,
        resource: &serde_json::Value,
    ) -> Result<(), Stop> {
        self.text.push_str(&resource.to_string());
        self.text.push('\n');
        self.count += 1;
        if self.count >= FILE_RESOURCES {
            save_file(engine, gate, job, self).await?;
        }
        Ok(())
    }
}

/// Runs `job` to completion (or failure, or cancellation), as `gate`'s caller.
pub async fn run(engine: Arc<Engine>, trail: Arc<Trail>, gate: Gate, mut job: Job, plan: Plan) {
    let outcome = run_parts(&engine, &trail, &gate, &mut job, &plan).await;
    let store = engine.store().backend().exports();
    match outcome {
        Ok(()) => job.state.status = Status::Complete,
        Err(Stop::Cancelled) => return,
        Err(Stop::Failed(e)) => {
            tracing::error!(job = %job.row.id, error = %crate::error::chain(&e), "export failed");
            job.state.status = Status::Failed;
            job.state.error = Some(e.to_string());
        }
    }
    if let Err(e) = store.update_job(job.to_row(now_ms())).await {
        tracing::error!(job = %job.row.id, error = %crate::error::chain(&e), "export state not saved");
    }
}

async fn run_parts(
    engine: &Engine,
    trail: &Trail,
    gate: &Gate,
    job: &mut Job,
    plan: &Plan,
) -> Result<(), Stop> {
    if let Some(extract) = &plan.extract {
        return super::deidentified::run(engine, gate, job, plan, extract).await;
    }
    for part in &plan.parts {
        let mut w = Writer::new(part.rtype);
        if part.rtype == ResourceType::AuditEvent {
            audit_part(engine, trail, job, plan, &mut w).await?;
        } else {
            resource_part(engine, gate, job, part, &mut w).await?;
        }
        save_file(engine, gate, job, &mut w).await?;
    }
    Ok(())
}

/// The searches of `part`, walked; a row found by two of them is written once.
async fn resource_part(
    engine: &Engine,
    gate: &Gate,
    job: &mut Job,
    part: &Part,
    w: &mut Writer,
) -> Result<(), Stop> {
    let mut seen = HashSet::new();
    let several = part.queries.len() > 1;
    for q in &part.queries {
        let walk = engine.walk(q, gate).await?;
        let mut after = 0;
        loop {
            let page = engine.walk_page(&walk, after, PAGE_ROWS, gate).await?;
            for (rid, r, body) in page.matches {
                if several && !seen.insert(rid) {
                    continue;
                }
                gate.disclose(&r);
                push_line(&mut w.text, body);
                w.count += 1;
                if w.count >= FILE_RESOURCES {
                    save_file(engine, gate, job, w).await?;
                }
            }
            beat(engine, job, w).await?;
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
    }
    Ok(())
}

/// The audit log from `_since` to the transaction time, as `$audit-export` serves it.
async fn audit_part(
    engine: &Engine,
    trail: &Trail,
    job: &mut Job,
    plan: &Plan,
    w: &mut Writer,
) -> Result<(), Stop> {
    use crate::audit::export::{Period, export_page};
    let mut period = Period::parse(plan.since.as_deref(), None).map_err(Error::BadRequest)?;
    period.to = Some(job.state.transaction_time + 1);
    let mut after = 0;
    while let Some((text, last)) =
        export_page(engine.store(), &trail.source(""), period, after).await?
    {
        after = last;
        w.count += text.bytes().filter(|b| *b == b'\n').count() as u64;
        w.text.push_str(&text);
        if w.count >= FILE_RESOURCES {
            save_file_with(engine, job, w, Disclosures::default()).await?;
        }
        beat(engine, job, w).await?;
    }
    Ok(())
}

/// One resource as one line.
fn push_line(text: &mut String, body: Body) {
    let line = body.into_string();
    if line.contains('\n') {
        // Stored JSON is compact; re-serialise anything that is not, rather than break a line.
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) => text.push_str(&v.to_string()),
            Err(_) => return,
        }
    } else {
        text.push_str(&line);
    }
    text.push('\n');
}

/// Saves the job's progress every few pages; stops when the job is gone.
pub(super) async fn beat(engine: &Engine, job: &mut Job, w: &mut Writer) -> Result<(), Stop> {
    w.pages += 1;
    if !w.pages.is_multiple_of(PAGES_PER_BEAT) {
        return Ok(());
    }
    save_state(engine, job).await
}

async fn save_state(engine: &Engine, job: &mut Job) -> Result<(), Stop> {
    let store = engine.store().backend().exports();
    if store.update_job(job.to_row(now_ms())).await? {
        Ok(())
    } else {
        Err(Stop::Cancelled)
    }
}

/// Saves the file being written, if it holds anything, with what it discloses.
pub(super) async fn save_file(
    engine: &Engine,
    gate: &Gate,
    job: &mut Job,
    w: &mut Writer,
) -> Result<(), Stop> {
    let disclosed = gate.take_disclosures();
    save_file_with(engine, job, w, disclosed).await
}

async fn save_file_with(
    engine: &Engine,
    job: &mut Job,
    w: &mut Writer,
    disclosed: Disclosures,
) -> Result<(), Stop> {
    if w.count == 0 {
        return Ok(());
    }
    let n = u32::try_from(job.state.outputs.len() + 1).unwrap_or(u32::MAX);
    let file = ExportFile {
        body: std::mem::take(&mut w.text),
        audit: serde_json::to_string(&disclosed).unwrap_or_default(),
    };
    let store = engine.store().backend().exports();
    store.save_file(&job.row.id, n, &file).await?;
    job.state.outputs.push(Output {
        rtype: w.rtype.to_string(),
        file: n,
        count: w.count,
    });
    job.state.resources += w.count;
    w.count = 0;
    save_state(engine, job).await
}
