//! Commands other than `serve`, `import` and `outcomes`, run as a user would: the real binary.

mod archive;
mod delivery;
mod full_disk;
mod gateway;
mod journal;
#[path = "../support/journal.rs"]
mod journal_support;
mod logs;
mod pg_outage;
#[allow(dead_code)]
#[path = "../api/pki.rs"]
mod pki;
#[allow(dead_code)]
#[path = "../api/receiver.rs"]
mod receiver;
mod shutdown;
#[path = "../support/small_disk.rs"]
mod small_disk;
mod subscriber;
mod telemetry;
mod two_gateways;

use std::collections::BTreeMap;
use std::process::{Command, Output};

use carebridge::auth::{Role, Verifier};
use carebridge::config::Settings;

const SECRET: &str = "a-development-secret-of-32-bytes!";

fn auth_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CAREBRIDGE_AUTH_ISSUER", "https://carebridge.test/dev"),
        ("CAREBRIDGE_AUTH_AUDIENCE", "carebridge"),
        ("CAREBRIDGE_AUTH_ALGORITHMS", "HS256"),
        ("CAREBRIDGE_AUTH_HS256_SECRET", SECRET),
    ]
}

fn carebridge(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_carebridge"));
    c.args(args).env("CAREBRIDGE_LOG", "warn");
    // Only the variables given: a developer's own CAREBRIDGE_* settings must not leak in.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CAREBRIDGE_")) {
        c.env_remove(k);
    }
    c.envs(env.iter().copied());
    c.output().expect("the command runs")
}

#[test]
fn token_mints_a_development_token_the_gateway_accepts() {
    let out = carebridge(
        &["token", "--role", "gp", "--org", "A81001", "--minutes", "5"],
        &auth_env(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let env: BTreeMap<String, String> = auth_env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let settings = Settings::from_sources(None, &env).expect("the same settings");
    let config = settings
        .auth
        .expect("auth configured")
        .load()
        .expect("loads");
    let verifier = Verifier::new(config).expect("a verifier");
    let principal = verifier.verify(&token).expect("the gateway accepts it");
    assert_eq!(principal.role, Role::Gp);
    assert_eq!(principal.organization.as_deref(), Some("A81001"));
}

#[test]
fn token_refuses_without_an_hs256_secret_and_for_incomplete_roles() {
    let rs256_only = [
        ("CAREBRIDGE_AUTH_ISSUER", "https://idp.test"),
        ("CAREBRIDGE_AUTH_AUDIENCE", "carebridge"),
        ("CAREBRIDGE_AUTH_ALGORITHMS", "RS256"),
        ("CAREBRIDGE_AUTH_JWKS_FILE", "tests/fixtures/keys/jwks.json"),
    ];
    let out = carebridge(&["token", "--role", "auditor"], &rs256_only);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hs256_secret"));
    assert!(out.stdout.is_empty());
    let out = carebridge(&["token", "--role", "housing"], &auth_env());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--org"));
}

/// Without `[auth]`, the gateway and the command share a development secret beside the store.
#[test]
fn token_uses_the_development_secret_without_auth_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cb.db").display());
    let env = [("CAREBRIDGE_DATABASE_URL", url.as_str())];
    let out = carebridge(&["token", "--role", "system", "--org", "SYS01"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let settings = carebridge::auth::dev::settings(dir.path()).expect("the same secret");
    let verifier = Verifier::new(settings.load().expect("loads")).expect("a verifier");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(verifier.verify(&token).map(|p| p.role), Ok(Role::System));
}

#[test]
fn sample_loads_a_world_and_prints_a_token_per_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("sample.db").display());
    let env = [("CAREBRIDGE_DATABASE_URL", db.as_str())];
    let out = carebridge(&["sample"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for var in [
        "GP",
        "OTHER_GP",
        "LINK_WORKER",
        "CNS",
        "HOUSING",
        "WELFARE",
        "ANN",
        "AUDITOR",
    ] {
        assert!(
            text.contains(&format!("export {var}=ey")),
            "{var} in {text}"
        );
    }
    // Development mode: the tokens are signed with the secret kept beside the store.
    assert!(dir.path().join("dev-token-secret").exists());
    // Running it again changes nothing and still succeeds.
    assert!(carebridge(&["sample"], &env).status.success());
}

#[tokio::test]
async fn audit_verify_passes_an_intact_log_and_names_the_first_altered_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.db");
    let db = format!("sqlite://{}", path.display());
    {
        let store = carebridge::store::Store::open(&db).await.expect("store");
        for i in 0..5 {
            carebridge::audit::stored::append_by_tool(
                &store,
                1_790_000_000_000 + i,
                format!("{{\"n\":{i}}}"),
            )
            .await
            .expect("appended");
        }
        store.backend().close().await.expect("closed");
    }
    let env = [("CAREBRIDGE_DATABASE_URL", db.as_str())];
    let intact = carebridge(&["audit", "verify"], &env);
    let text = String::from_utf8_lossy(&intact.stdout);
    assert!(intact.status.success(), "{text}");
    assert!(text.contains("5 events verified"), "{text}");

    // Someone with database access edits one event.
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute(
        "UPDATE audit_event SET body = '{\"n\":99}' WHERE seq = 3",
        [],
    )
    .expect("tampered");
    drop(conn);
    let broken = carebridge(&["audit", "verify"], &env);
    let text = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{text}");
    assert!(text.contains("BROKEN at event 3 of chain store"), "{text}");
    assert!(text.contains("2 events before it verified"), "{text}");
}

#[tokio::test]
async fn audit_export_writes_the_period_as_ndjson() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("audit.db").display());
    {
        let store = carebridge::store::Store::open(&db).await.expect("store");
        let nov = carebridge::search::date::parse_range("2026-11-10")
            .expect("date")
            .lo;
        for (i, t) in [nov - 86_400_000 * 30, nov, nov + 1].iter().enumerate() {
            carebridge::audit::stored::append_by_tool(&store, *t, format!("{{\"n\":{i}}}"))
                .await
                .expect("appended");
        }
        store.backend().close().await.expect("closed");
    }
    let env = [("CAREBRIDGE_DATABASE_URL", db.as_str())];
    let out = carebridge(&["audit", "export", "--start", "2026-11"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().all(|l| l.contains("\"id\"")), "{text}");
    let bad = carebridge(
        &["audit", "export", "--start", "2026-12", "--end", "2026-11"],
        &env,
    );
    assert_eq!(bad.status.code(), Some(2));
}
