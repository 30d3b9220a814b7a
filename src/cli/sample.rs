//! `carebridge sample`: loads the sample world ([`crate::sample`]) through the engine, then prints a
//! development token per role and two requests to try.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::auth::mint::token_for;
use crate::rest::Engine;
use crate::sample::load;

/// Arguments of `carebridge sample`.
#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// Configuration file (the same as `serve`'s).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs `carebridge sample`.
pub async fn run(args: SampleArgs) -> ExitCode {
    let (settings, store) = match crate::cli::setup("sample", args.config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let engine = Engine::new(store, settings.engine_settings());
    let world = match load(&engine).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("carebridge sample: {}", crate::error::chain(&e));
            return ExitCode::FAILURE;
        }
    };
    let auth = match super::signing_settings(settings.auth.clone(), &settings.database_url) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("carebridge sample: {}", crate::error::chain(&e));
            return ExitCode::FAILURE;
        }
    };
    println!("# Sample world loaded. Tokens for 60 minutes (paste into a shell):");
    let roles: [(&str, &str, Option<&str>, Option<&str>); 8] = [
        ("GP", "gp", Some("A81001"), None),
        ("OTHER_GP", "gp", Some("B82002"), None),
        ("LINK_WORKER", "link-worker", Some("L0001"), None),
        ("CNS", "cns", Some("RH001"), None),
        ("HOUSING", "housing", Some("H0001"), None),
        ("WELFARE", "social-care", Some("W0001"), None),
        ("ANN", "patient", None, Some(world.patients[0].as_str())),
        ("AUDITOR", "auditor", None, None),
    ];
    for (var, role, org, patient) in roles {
        match token_for(&auth, role, org, patient) {
            Ok(t) => println!("export {var}={t}"),
            Err(e) => eprintln!("carebridge sample: cannot mint a {role} token: {e}"),
        }
    }
    println!("# Then, for example:");
    println!(
        "#   curl -H \"Authorization: Bearer $HOUSING\" {}/CarePlan/{}",
        settings.base_url, world.ann_plan
    );
    println!(
        "#   curl -H \"Authorization: Bearer $GP\" '{}/CarePlan?_summary=count'",
        settings.base_url
    );
    ExitCode::SUCCESS
}
