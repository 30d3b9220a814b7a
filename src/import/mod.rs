//! `carebridge import`: brings legacy HNA records (CSV exports) into the gateway through the same
//! validation as the API. Formats and behaviour are documented in `import/README.md`.
//!
//! Pipeline: parse the whole file into assessments, rejecting bad rows with a reason ([`ehna`],
//! [`bespoke`], [`fields`]); write the assessments as transaction Bundles through the in-process
//! [`Engine`] ([`writer`]); write the reject file ([`report`]); print a summary. Every row read ends
//! up either in an imported (created or unchanged) assessment or in the reject file; the summary
//! checks that count.

pub mod bespoke;
pub mod ehna;
pub mod fields;
pub mod report;
pub mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fields::{Parsed, Reject};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::rest::Engine;

/// Assessments per transaction Bundle: large enough to amortise a commit (bench/README.md,
/// "Decisions measured"), small enough that a failed bundle's one-by-one retry stays bounded.
pub const DEFAULT_BATCH: usize = 1000;

/// Bundles in flight at once: one committing while the next is built and validated. Three was 40%
/// slower: the store's writer then often finds two waiting and commits them as one group, each in a
/// savepoint, and statements inside a savepoint of a large transaction cost much more.
const IN_FLIGHT: usize = 2;

/// The legacy export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Electronic HNA export: one row per concern per assessment.
    Ehna,
    /// Bespoke person-level database: one row per person, latest assessment only.
    Bespoke,
}

/// One import, resolved.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    pub file: PathBuf,
    pub rejects: PathBuf,
    pub source: String,
    pub batch_size: usize,
    /// Show a progress bar (only ever on a terminal).
    pub progress: bool,
}

impl Options {
    /// Options with the defaults for `file`.
    pub fn new(format: Format, file: &Path) -> Self {
        Options {
            format,
            file: file.to_owned(),
            rejects: default_rejects(file),
            source: default_source(file),
            batch_size: DEFAULT_BATCH,
            progress: false,
        }
    }
}

/// `<input>.rejects.csv`.
pub fn default_rejects(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".rejects.csv");
    PathBuf::from(s)
}

/// The file name without extension, lower case, other than `[a-z0-9._-]` replaced by `-`.
pub fn default_source(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let s: String = stem
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "legacy".into() } else { s }
}

/// Why an import stopped before the end.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {file}: {reason}")]
    Read { file: String, reason: String },
    #[error("cannot write the reject file: {0}")]
    Rejects(String),
    #[error("the store failed: {0}")]
    Store(String),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub rows_read: u64,
    pub assessments_read: u64,
    /// HNAs created.
    pub created: u64,
    /// HNAs already in the store (a rerun).
    pub unchanged: u64,
    /// Assessments not imported (refused when parsed or by the API).
    pub assessments_rejected: u64,
    /// Rows in the reject file.
    pub rows_rejected: u64,
    /// Person-level records whose earlier assessments had been overwritten, and how many were lost.
    pub lost_persons: u64,
    pub lost_assessments: u64,
    pub patients_created: u64,
    pub organizations_created: u64,
    pub care_plans_created: u64,
    pub rejects_file: PathBuf,
    pub seconds: f64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = (self.created + self.unchanged) as f64 / self.seconds.max(1e-9);
        writeln!(f, "rows read:           {}", self.rows_read)?;
        writeln!(f, "assessments read:    {}", self.assessments_read)?;
        writeln!(f, "  created:           {}", self.created)?;
        writeln!(f, "  unchanged:         {}", self.unchanged)?;
        writeln!(f, "  rejected:          {}", self.assessments_rejected)?;
        writeln!(
            f,
            "rows rejected:       {} (in {})",
            self.rows_rejected,
            self.rejects_file.display()
        )?;
        writeln!(
            f,
            "person-level records with lost earlier assessments: {} ({} assessments lost)",
            self.lost_persons, self.lost_assessments
        )?;
        writeln!(
            f,
            "also created:        {} patients, {} organisations, {} care plans",
            self.patients_created, self.organizations_created, self.care_plans_created
        )?;
        write!(
            f,
            "time:                {:.2} s ({rate:.0} HNAs/s)",
            self.seconds
        )
    }
}

/// Imports one file through `engine` (the library entry point; [`crate::cli::import`] adds
/// settings and output).
pub async fn import(engine: &Engine, opts: &Options) -> Result<Summary, ImportError> {
    let started = Instant::now();
    // Responses are validated against the HNA Questionnaire, so it must be in the store (idempotent).
    crate::rest::artefacts::install(engine)
        .await
        .map_err(|e| ImportError::Store(format!("cannot install the HNA artefacts: {e}")))?;
    let read_err = |reason: String| ImportError::Read {
        file: opts.file.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(&opts.file).map_err(|e| read_err(e.to_string()))?;
    let input = std::io::BufReader::with_capacity(1 << 20, file);
    let parsed: Parsed = match opts.format {
        Format::Ehna => ehna::parse(input),
        Format::Bespoke => bespoke::parse(input),
    }
    .map_err(read_err)?;
    let Parsed {
        rows_read,
        assessments,
        mut rejects,
        lost_persons,
        lost_assessments,
        rejected_assessments,
    } = parsed;
    let mut summary = Summary {
        rows_read,
        assessments_read: assessments.len() as u64 + rejected_assessments,
        lost_persons,
        lost_assessments,
        rejects_file: opts.rejects.clone(),
        ..Summary::default()
    };
    let bar = progress_bar(opts.progress, assessments.len() as u64);
    let w = &writer::Writer::new(engine, &opts.source);
    let mut tally = writer::Tally::default();
    // Bundles stay in flight continuously (not in lock-step pairs): while the store commits one,
    // the next is built and validated on this thread, so neither side waits for the other.
    let mut results = futures_util::stream::iter(assessments.chunks(opts.batch_size.max(1)))
        .map(|chunk| async move { (chunk.len(), w.write(chunk).await) })
        .buffered(IN_FLIGHT);
    let (total, mut done, mut logged) = (assessments.len(), 0, std::time::Instant::now());
    while let Some((n, r)) = results.next().await {
        tally.merge(r.map_err(|e| ImportError::Store(e.to_string()))?);
        bar.inc(n as u64);
        done += n;
        if !opts.progress && logged.elapsed() >= PROGRESS_EVERY {
            logged = std::time::Instant::now();
            tracing::info!(
                done,
                total,
                per_second = done as f64 / started.elapsed().as_secs_f64().max(0.001),
                "import progress (assessments)"
            );
        }
    }
    bar.finish_and_clear();
    summary.created = tally.created;
    summary.unchanged = tally.unchanged;
    summary.patients_created = tally.patients_created;
    summary.organizations_created = tally.organizations_created;
    summary.care_plans_created = tally.care_plans_created;
    for (rows, reason) in &tally.rejected {
        rejects.extend(rows.iter().map(|row| Reject {
            row: *row,
            reason: reason.clone(),
        }));
    }
    summary.assessments_rejected = rejected_assessments + tally.rejected.len() as u64;
    summary.rows_rejected =
        report::write(&opts.file, &opts.rejects, &rejects).map_err(ImportError::Rejects)?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// How often an import whose stderr is not a terminal (a Kubernetes Job, say) logs its progress;
/// on a terminal it draws a bar instead.
pub const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

fn progress_bar(show: bool, len: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} HNAs ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}
