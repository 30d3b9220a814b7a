//! The `carebridge` command.

use std::path::PathBuf;
use std::process::ExitCode;

use carebridge::config::Settings;
use carebridge::startup::Application;
use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: the gateway allocates many short-lived JSON values
/// from several threads, where glibc's allocator contended (measurements: bench/README.md,
/// "Decisions measured").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The import keeps the memory it frees for reuse rather than give it back to the OS after
/// mimalloc's default 10 ms: it frees on the store's writer thread what its reader thread
/// allocated, and returned pages were faulted in and zeroed again (bench/README.md, "Decisions
/// measured"). A short command returns everything at exit; the server and the outcome report keep
/// the default, so memory a burst used goes back.
fn keep_freed_memory() {
    /// `mi_option_purge_delay` in mimalloc.h (the same in v2 and v3; the Rust bindings do not name
    /// it). -1: never purge.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets one global option; mimalloc reads its options atomically, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
}

/// carebridge: FHIR R4 gateway for personalised cancer care.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gateway.
    Serve {
        /// A TOML configuration file; CAREBRIDGE_* environment variables override it.
        #[arg(long, env = "CAREBRIDGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Imports legacy HNA exports (CSV) through the API's validation.
    Import(carebridge::cli::import::ImportArgs),
    /// Computes the HNA outcome tables for an organisation and period.
    Outcomes(carebridge::cli::outcomes::OutcomesArgs),
    /// Writes the HNA conformance artefacts (Questionnaire, code systems, profiles).
    Profiles(carebridge::cli::profiles::ProfilesArgs),
    /// Prints a development token for a role (needs the configured HS256 secret).
    Token(carebridge::auth::mint::TokenArgs),
    /// Loads a small sample world (organisations, patients, HNAs, plans, consents) and prints a
    /// development token for each role.
    Sample(carebridge::cli::sample::SampleArgs),
    /// The tamper-evident audit log: `verify` checks its hash chain.
    Audit(carebridge::cli::audit::AuditArgs),
    /// Receives notifications for a Subscription, checks their signatures and prints them.
    Subscriber(carebridge::cli::subscriber::SubscriberArgs),
}

#[actix_web::main]
async fn main() -> ExitCode {
    let _telemetry = match carebridge::logging::init() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("carebridge: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config).await,
        Command::Import(args) => {
            keep_freed_memory();
            carebridge::cli::import::run(args).await
        }
        Command::Outcomes(args) => carebridge::cli::outcomes::run(args).await,
        Command::Profiles(args) => carebridge::cli::profiles::run(args).await,
        Command::Token(args) => carebridge::cli::token::run(args),
        Command::Sample(args) => carebridge::cli::sample::run(args).await,
        Command::Audit(args) => carebridge::cli::audit::run(args).await,
        Command::Subscriber(args) => carebridge::cli::subscriber::run(args).await,
    }
}

async fn serve(config: Option<PathBuf>) -> ExitCode {
    let settings = match Settings::load(config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("carebridge: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let (listen, db, base) = (
        settings.listen,
        settings.database_url.clone(),
        settings.base_url.clone(),
    );
    let app = match Application::build(settings).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("carebridge: {}", carebridge::error::chain(&e));
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(%listen, store = %redact(&db), %base, "carebridge serving");
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carebridge: {}", carebridge::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}
