//! The stored audit log: appending an event (chained, in the caller's store transaction or one of
//! its own) and verifying the whole chain page by page, for `carebridge audit verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::chain::{Break, Link, Verified, Verifier};
use crate::error::Error;
use crate::store::{Store, StoreError};

/// Rows read per page while verifying.
const PAGE: usize = 10_000;

/// Appends `body` (recorded at `recorded`, epoch milliseconds) in a transaction of its own; returns
/// once it is durable, with its sequence number.
pub async fn append(store: &Store, recorded: i64, body: String) -> Result<u64, StoreError> {
    store
        .transaction(move |tx| tx.append_audit(recorded, &body))
        .await
}

/// What verifying found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The whole chain holds.
    Intact(Verified),
    /// The first break, after the events before it verified.
    Broken {
        /// What verified before it.
        before: Verified,
        /// The break.
        at: Break,
    },
}

/// Verifies the stored chain from its first event.
pub async fn verify(store: &Store) -> Result<Verdict, Error> {
    let mut v = Verifier::default();
    let mut after = 0;
    loop {
        let rows = store.backend().audit_rows(after, PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(Verdict::Intact(v.finish()));
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
                return Ok(Verdict::Broken {
                    before: v.finish(),
                    at,
                });
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

    fn contains(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }
}

/// One page of an NDJSON export: the events after sequence `after` recorded in `period`, one
/// AuditEvent per line with its sequence number as `id`, and the last sequence number read;
/// `None` once the log is exhausted. A page may hold no lines (none of its events in the period).
pub async fn export_page(
    store: &Store,
    period: Period,
    after: u64,
) -> Result<Option<(String, u64)>, Error> {
    let rows = store.backend().audit_rows(after, PAGE).await?;
    let Some(last) = rows.last().map(|r| r.seq) else {
        return Ok(None);
    };
    let mut text = String::new();
    for r in rows.iter().filter(|r| period.contains(r.recorded)) {
        let mut event: serde_json::Value = serde_json::from_str(&r.body)
            .map_err(|e| Error::Internal(format!("audit event {} is not JSON: {e}", r.seq)))?;
        if let Some(obj) = event.as_object_mut() {
            obj.insert("id".into(), serde_json::Value::String(r.seq.to_string()));
        }
        text.push_str(&event.to_string());
        text.push('\n');
    }
    Ok(Some((text, last)))
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
}

/// Runs `carebridge audit`.
pub async fn run(args: AuditArgs) -> ExitCode {
    match args.command {
        AuditCommand::Verify { config } => run_verify(config).await,
        AuditCommand::Export { start, end, config } => run_export(start, end, config).await,
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
    let (_, store) = match crate::startup::command_setup("audit", config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    let mut after = 0;
    loop {
        match export_page(&store, period, after).await {
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
    let (_, store) = match crate::startup::command_setup("audit", config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    match verify(&store).await {
        Ok(Verdict::Intact(v)) => {
            println!(
                "audit log intact: {} events verified in {:.2} s; head: event {} hash {}",
                v.count,
                started.elapsed().as_secs_f64(),
                v.head_seq,
                v.head_hash
            );
            ExitCode::SUCCESS
        }
        Ok(Verdict::Broken { before, at }) => {
            println!(
                "audit log BROKEN at event {}: {at}; {} events before it verified",
                at.seq(),
                before.count
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("carebridge audit: {e}");
            ExitCode::from(2)
        }
    }
}
