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
}

/// Runs `carebridge audit`.
pub async fn run(args: AuditArgs) -> ExitCode {
    let AuditCommand::Verify { config } = args.command;
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
