//! The stored audit log: appending an event (chained, in the caller's store transaction or one of
//! its own), verifying the stored chains page by page, exporting a period, and the `carebridge
//! audit` commands. `carebridge audit verify` verifies the stored chains and then the journal's
//! lines not yet copied ([`super::verify::all`]), so an event is covered from the moment it is
//! durable, and a journal altered before its copy is reported like an altered stored event: with
//! its chain, sequence number, reason and place (store, or journal segment and line).

use std::path::PathBuf;
use std::process::ExitCode;

use super::chain::{Break, Link, Verified, Verifier};
use super::event::{Record, Source, build};
use super::journal::LineAt;
use crate::error::Error;
use crate::store::{AuditKeys, AuditRow, STORE_CHAIN, Store, StoreError, audit_sql};

/// Rows read per page while verifying.
const PAGE: usize = 10_000;

/// Appends `body` (recorded at `recorded`, epoch milliseconds) to the store's chain in a
/// transaction of its own, without search keys (tools and tests); returns its sequence number.
pub async fn append(store: &Store, recorded: i64, body: String) -> Result<u64, StoreError> {
    store
        .transaction(move |tx| {
            super::stored::append(tx, STORE_CHAIN, recorded, &body, &AuditKeys::default())
        })
        .await
}

/// Where a break lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the store, among the copied events.
    Store,
    /// In the journal, among the lines not yet copied into the store.
    Journal(LineAt),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Store => f.write_str("in the store"),
            Place::Journal(at) => write!(f, "in the journal ({at})"),
        }
    }
}

/// A break in a chain, and where it lies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}, {place}")]
pub struct Fault {
    /// How the chain breaks.
    pub at: Break,
    /// Where.
    pub place: Place,
}

impl Fault {
    /// The sequence number of the first event at fault.
    pub fn seq(&self) -> u64 {
        self.at.seq()
    }
}

/// What verifying found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Each chain checked, with what verified (up to its break, for a broken one): its stored
    /// events, then its journal lines not yet stored.
    pub chains: Vec<(String, Verified)>,
    /// Of those, the journal lines verified, for each chain with a journal.
    pub journal: Vec<(String, u64)>,
    /// The first break found: its chain, how and where (verification stops there).
    pub broken: Option<(String, Fault)>,
}

impl Report {
    /// Events verified, over every chain.
    pub fn count(&self) -> u64 {
        self.chains.iter().map(|(_, v)| v.count).sum()
    }

    /// Journal lines verified, over every chain.
    pub fn journal_count(&self) -> u64 {
        self.journal.iter().map(|(_, n)| n).sum()
    }
}

/// Verifies every stored chain from its first event, or from its archive anchor (the last event
/// an archive took, `super::archive`): one per gateway process and the store's own, each on its
/// own (their events interleave in time but not in hashes). The journal's lines not yet stored
/// are not read: [`super::verify::all`] continues with them.
pub async fn verify(store: &Store) -> Result<Report, Error> {
    let mut report = Report::default();
    let anchors = super::stored::anchors(store.backend()).await?;
    let mut chains: Vec<String> = super::stored::select(store.backend(), &audit_sql::chains())
        .await?
        .into_iter()
        .map(|r| r.chain)
        .chain(anchors.iter().map(|(c, _, _)| c.clone()))
        .collect();
    chains.sort();
    chains.dedup();
    for chain in chains {
        let mut v = match anchors.iter().find(|(c, _, _)| *c == chain) {
            Some((_, seq, hash)) => Verifier::resume(Verified {
                count: 0,
                head_seq: *seq,
                head_hash: hash.clone(),
            }),
            None => Verifier::default(),
        };
        let broken = continue_chain(store, &chain, &mut v).await?;
        report.chains.push((chain.clone(), v.finish()));
        if let Some(at) = broken {
            let fault = Fault {
                at,
                place: Place::Store,
            };
            report.broken = Some((chain, fault));
            break;
        }
    }
    Ok(report)
}

/// Verifies the stored events of `chain` after the verifier's head, page by page, up to the
/// first break.
pub async fn continue_chain(
    store: &Store,
    chain: &str,
    v: &mut Verifier,
) -> Result<Option<Break>, Error> {
    let mut after = v.verified().head_seq;
    loop {
        let rows =
            super::stored::select(store.backend(), &audit_sql::chain_page(chain, after, PAGE))
                .await?;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        after = last.seq;
        for r in &rows {
            let link = Link {
                seq: r.seq,
                recorded: r.recorded,
                hash: &r.hash,
                body: &r.body,
            };
            if let Err(at) = v.check(&link) {
                return Ok(Some(at));
            }
        }
    }
}

/// A period of recording times: epoch milliseconds, half open, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    /// From (inclusive).
    pub from: Option<i64>,
    /// To (exclusive).
    pub to: Option<i64>,
}

impl Period {
    /// From FHIR dates or dateTimes: `start` from the beginning of what it names, `end` to the end
    /// of what it names (`end=2026-11-30` includes that whole day).
    pub fn parse(start: Option<&str>, end: Option<&str>) -> Result<Period, String> {
        let bound = |name: &str, v: Option<&str>| {
            v.map(|s| {
                crate::search::date::parse_range(s)
                    .ok_or_else(|| format!("'{name}' is not a FHIR date or dateTime"))
            })
            .transpose()
        };
        let period = Period {
            from: bound("start", start)?.map(|r| r.lo),
            to: bound("end", end)?.map(|r| r.hi),
        };
        if let (Some(f), Some(t)) = (period.from, period.to)
            && f >= t
        {
            return Err("'start' must come before 'end'".into());
        }
        Ok(period)
    }
}

/// One page of an NDJSON export: the events stored after `after` (storage order) recorded in
/// `period`, one AuditEvent per line with its storage id as `id`, and the last id read; `None`
/// once the log is exhausted.
pub async fn export_page(
    store: &Store,
    render: &Source<'_>,
    period: Period,
    after: i64,
) -> Result<Option<(String, i64)>, Error> {
    let rows = super::stored::select(
        store.backend(),
        &audit_sql::export_page(after, period.from, period.to, PAGE),
    )
    .await?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(None);
    };
    let mut text = String::new();
    for r in &rows {
        text.push_str(&render_row(r, render).to_string());
        text.push('\n');
    }
    Ok(Some((text, last)))
}

/// The AuditEvent of a stored row (a row whose text is not a record, written by an older version
/// or a tool, is given as stored, with its id).
pub fn render_row(r: &AuditRow, render: &Source<'_>) -> serde_json::Value {
    let id = r.id.to_string();
    let source = Source {
        chain: &r.chain,
        ..render.clone()
    };
    match Record::from_text(&r.body) {
        Some(record) => build(&record, &source, Some(&id)),
        None => {
            let mut v: serde_json::Value =
                serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("id".into(), serde_json::Value::String(id));
            }
            v
        }
    }
}

/// Arguments of `carebridge audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// `carebridge audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Checks the hash chain of the stored audit log; exit 1 at the first break.
    Verify {
        /// Configuration file (the same as `serve`'s).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Writes the events recorded in a period to standard output as NDJSON, oldest first.
    Export {
        /// First day (or instant) of the period (FHIR date or dateTime); open when left out.
        #[arg(long)]
        start: Option<String>,
        /// Last day (or instant) of the period, included; open when left out.
        #[arg(long)]
        end: Option<String>,
        /// Configuration file (the same as `serve`'s).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Seals everything recorded before a date into a new archive file, verifies it, and removes
    /// it from the store (retention; `super::archive`). Keep the file and the SHA-256 printed.
    Archive {
        /// The period's end: events recorded before the start of this day (or instant) go.
        #[arg(long)]
        before: String,
        /// The archive file to write (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Configuration file (the same as `serve`'s).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Verifies an archive file on its own, without a store; exit 1 when it does not verify.
    VerifyArchive {
        /// The archive file.
        file: PathBuf,
    },
    /// Searches an archive file offline with the AuditEvent search's parameters (`patient=`,
    /// `agent=`, `date=ge2026-01-01`, ...), writing the matching AuditEvents as NDJSON.
    Search {
        /// The archive file.
        #[arg(long)]
        archive: PathBuf,
        /// The search, as a query string (`patient=pat-1&action=R`).
        #[arg(default_value = "")]
        query: String,
        /// The gateway's public base URL, for the references in the output.
        #[arg(long, default_value = "https://localhost/fhir")]
        base_url: String,
        /// The deployment's canonical base, for the code systems in the output.
        #[arg(long, default_value = crate::hna::DEFAULT_CANONICAL)]
        canonical: String,
    },
}

/// Runs `carebridge audit`.
pub async fn run(args: AuditArgs) -> ExitCode {
    match args.command {
        AuditCommand::Verify { config } => run_verify(config).await,
        AuditCommand::Export { start, end, config } => run_export(start, end, config).await,
        AuditCommand::Archive {
            before,
            out,
            config,
        } => run_archive(&before, &out, config).await,
        AuditCommand::VerifyArchive { file } => run_verify_archive(&file),
        AuditCommand::Search {
            archive,
            query,
            base_url,
            canonical,
        } => run_search_archive(&archive, &query, &base_url, &canonical),
    }
}

async fn run_archive(before: &str, out: &std::path::Path, config: Option<PathBuf>) -> ExitCode {
    let Some(cut) = crate::search::date::parse_range(before).map(|r| r.lo) else {
        eprintln!("carebridge audit archive: '--before {before}' is not a FHIR date or dateTime");
        return ExitCode::from(2);
    };
    let (_, store) = match crate::startup::command_setup("audit", config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    match super::archive::seal(&store, cut, out).await {
        Ok(s) if s.events == 0 => {
            println!("nothing recorded before {before}: no archive written");
            ExitCode::SUCCESS
        }
        Ok(s) => {
            for p in &s.parts {
                println!(
                    "chain {}: events {} to {} archived ({}); the store continues from hash {}",
                    p.chain,
                    p.after + 1,
                    p.last,
                    p.events,
                    p.head
                );
            }
            println!(
                "archived {} events recorded before {before} to {} in {:.1} s; SHA-256 {}",
                s.events,
                out.display(),
                started.elapsed().as_secs_f64(),
                s.sha256
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carebridge audit archive: {e}; nothing was removed from the store");
            ExitCode::FAILURE
        }
    }
}

fn run_verify_archive(file: &std::path::Path) -> ExitCode {
    match super::archive::verify_file(file) {
        Ok(s) => {
            for p in &s.parts {
                println!(
                    "chain {}: events {} to {} verified; last hash {}",
                    p.chain,
                    p.after + 1,
                    p.last,
                    p.head
                );
            }
            println!("archive intact: {} events; SHA-256 {}", s.events, s.sha256);
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("archive BROKEN: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_search_archive(
    archive: &std::path::Path,
    query: &str,
    base_url: &str,
    canonical: &str,
) -> ExitCode {
    use std::io::Write as _;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let q = match super::search::Query::parse(&pairs) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("carebridge audit search: {e}");
            return ExitCode::from(2);
        }
    };
    if q.nothing {
        eprintln!("0 events found");
        return ExitCode::SUCCESS;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let found = super::archive::search(archive, &q.filter, |e, record| {
        let source = Source {
            chain: &e.chain,
            base_url,
            canonical,
        };
        let id = format!("{}-{}", e.chain, e.seq);
        let event = match record {
            Some(r) => build(r, &source, Some(&id)),
            None => serde_json::json!({"id": id, "chain": e.chain, "text": e.body}),
        };
        writeln!(out, "{event}")
    });
    let _ = out.flush();
    match found {
        Ok(n) => {
            eprintln!("{n} events found");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carebridge audit search: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_export(
    start: Option<String>,
    end: Option<String>,
    config: Option<PathBuf>,
) -> ExitCode {
    use std::io::Write as _;
    let period = match Period::parse(start.as_deref(), end.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("carebridge audit export: {e}");
            return ExitCode::from(2);
        }
    };
    let (settings, store) = match crate::startup::command_setup("audit", config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let render = Source {
        chain: "",
        base_url: &settings.base_url,
        canonical: &settings.canonical_base,
    };
    let mut out = std::io::stdout().lock();
    let mut after = 0;
    loop {
        match export_page(&store, &render, period, after).await {
            Ok(Some((text, last))) => {
                if out.write_all(text.as_bytes()).is_err() {
                    return ExitCode::FAILURE;
                }
                after = last;
            }
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("carebridge audit export: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
}

async fn run_verify(config: Option<PathBuf>) -> ExitCode {
    let (settings, store) = match crate::startup::command_setup("audit", config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    let dir = &settings.audit_dir;
    match super::verify::all(&store, Some(dir)).await {
        Ok(report) => {
            let seconds = started.elapsed().as_secs_f64();
            print_report(&report, dir);
            match &report.broken {
                None => {
                    println!(
                        "audit log intact: {} events in {} chains verified in {seconds:.2} s ({} of them in the journal, not yet in the store)",
                        report.count(),
                        report.chains.len(),
                        report.journal_count()
                    );
                    ExitCode::SUCCESS
                }
                Some((chain, fault)) => {
                    println!(
                        "audit log BROKEN at event {} of chain {chain}: {fault}; {} events before it verified",
                        fault.seq(),
                        report.count()
                    );
                    if let Place::Journal(at) = &fault.place {
                        println!("journal file: {}", at.segment.display());
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("carebridge audit: {e}");
            ExitCode::from(2)
        }
    }
}

/// One line per chain, then the journal directory read.
fn print_report(report: &Report, dir: &std::path::Path) {
    for (chain, v) in &report.chains {
        let journal = report
            .journal
            .iter()
            .find(|(c, _)| c == chain)
            .map(|(_, n)| {
                format!(
                    " ({} in the store, {n} in the journal)",
                    v.count.saturating_sub(*n)
                )
            })
            .unwrap_or_default();
        println!(
            "chain {chain}: {} events verified{journal}; head: event {} hash {}",
            v.count, v.head_seq, v.head_hash
        );
    }
    let store_broke = matches!(&report.broken, Some((_, f)) if f.place == Place::Store);
    if report.journal.is_empty() && store_broke {
        println!(
            "journal {}: not read (the stored log breaks first)",
            dir.display()
        );
    } else if report.journal.is_empty() {
        println!("journal {}: no segments", dir.display());
    } else {
        println!(
            "journal {}: {} lines not yet in the store verified",
            dir.display(),
            report.journal_count()
        );
    }
}
