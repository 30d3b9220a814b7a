//! `carebridge audit`: the operator's commands over the audit log. `verify` verifies the stored
//! chains and then the journal's lines not yet copied ([`crate::audit::verify::all`]), so an event
//! is covered from the moment it is durable, and a journal altered before its copy is reported like
//! an altered stored event: with its chain, sequence number, reason and place (store, or journal
//! segment and line). `export` writes a period as NDJSON; `archive`, `verify-archive` and `search
//! --archive` are retention ([`crate::audit::archive`]).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::audit::event::{Source, build};
use crate::audit::export::{Period, export_page};
use crate::audit::verify::{Place, Report};

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
    let (_, store) = match crate::cli::setup("audit", config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    match crate::audit::archive::seal(&store, cut, out).await {
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
            eprintln!(
                "carebridge audit archive: {}; nothing was removed from the store",
                crate::error::chain(&e)
            );
            ExitCode::FAILURE
        }
    }
}

fn run_verify_archive(file: &std::path::Path) -> ExitCode {
    match crate::audit::archive::verify_file(file) {
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
    let q = match crate::audit::search::Query::parse(&pairs) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("carebridge audit search: {}", crate::error::chain(&e));
            return ExitCode::from(2);
        }
    };
    if q.nothing {
        eprintln!("0 events found");
        return ExitCode::SUCCESS;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let found = crate::audit::archive::search(archive, &q.filter, |e, record| {
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
            eprintln!("carebridge audit search: {}", crate::error::chain(&e));
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
    let (settings, store) = match crate::cli::setup("audit", config.as_deref()).await {
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
                eprintln!("carebridge audit export: {}", crate::error::chain(&e));
                return ExitCode::FAILURE;
            }
        }
    }
}

async fn run_verify(config: Option<PathBuf>) -> ExitCode {
    let (settings, store) = match crate::cli::setup("audit", config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    let dir = &settings.audit_dir;
    match crate::audit::verify::all(&store, Some(dir)).await {
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
            eprintln!("carebridge audit: {}", crate::error::chain(&e));
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
