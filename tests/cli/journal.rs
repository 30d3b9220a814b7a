//! `carebridge audit verify` covers the journal (the configured `audit_dir`): lines not yet
//! copied verify and are counted; a line changed before its copy is reported (exit 1) with its
//! chain, event, reason, segment and line. On both backends.

use std::path::Path;

use crate::journal_support::{Tamper, copy, record, segment};

/// A fresh database: a SQLite file in `dir`, or a PostgreSQL database (dropped by the guard).
pub async fn database(dir: &Path, postgres: bool) -> Option<(String, Option<PgDatabase>)> {
    if !postgres {
        return Some((format!("sqlite://{}", dir.join("cb.db").display()), None));
    }
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        println!("skipped: TEST_POSTGRES_URL not set");
        return None;
    };
    let name = format!("cb_cli_{}", uuid::Uuid::new_v4().simple());
    execute(&admin, &format!("CREATE DATABASE {name}")).await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    Some((url, Some(PgDatabase { admin, name })))
}

async fn execute(url: &str, statement: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("TEST_POSTGRES_URL answers");
    let conn = tokio::spawn(connection);
    client.batch_execute(statement).await.expect(statement);
    drop(client);
    let _ = conn.await;
}

/// A test's PostgreSQL database, dropped when the test ends.
pub struct PgDatabase {
    admin: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin.clone(), self.name.clone());
        let dropper = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(execute(
                    &url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ));
            }
        });
        let _ = dropper.join();
    }
}

/// A stopped gateway's trail: events 1-3 copied into the store, 4-6 only in the journal.
pub async fn trail(
    dir: &Path,
    postgres: bool,
) -> Option<(Vec<(&'static str, String)>, Option<PgDatabase>)> {
    let (url, guard) = database(dir, postgres).await?;
    let journal = dir.join("audit");
    let store = carebridge::store::Store::open(&url).await.expect("store");
    record(&store, &journal, "gateway", 3).await;
    copy(&store, &journal, "gateway").await.expect("copied");
    record(&store, &journal, "gateway", 3).await;
    store.backend().close().await.expect("closed");
    let env = vec![
        ("CAREBRIDGE_DATABASE_URL", url),
        ("CAREBRIDGE_AUDIT_DIR", journal.display().to_string()),
    ];
    Some((env, guard))
}

fn verify(env: &[(&'static str, String)]) -> (Option<i32>, String) {
    run(&["audit", "verify"], env)
}

/// Runs `carebridge` with `args` and `env`: its exit code, and its standard output then error.
pub fn run(args: &[&str], env: &[(&'static str, String)]) -> (Option<i32>, String) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = super::carebridge(args, &env);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

async fn journal_lines_not_yet_copied_verify_and_are_counted(postgres: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((env, _db)) = trail(dir.path(), postgres).await else {
        return;
    };
    let before = std::fs::read(segment(&dir.path().join("audit"), "gateway")).expect("segment");
    let (code, text) = verify(&env);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "chain gateway: 6 events verified (3 in the store, 3 in the journal); head: event 6"
        ),
        "{text}"
    );
    assert!(
        text.contains("3 lines not yet in the store verified"),
        "{text}"
    );
    assert!(text.contains("audit log intact"), "{text}");
    let after = std::fs::read(segment(&dir.path().join("audit"), "gateway")).expect("segment");
    assert_eq!(before, after, "verifying does not change the journal");
}

async fn a_journal_line_changed_before_its_copy_fails_verification(postgres: bool) {
    for tamper in Tamper::ALL {
        let dir = tempfile::tempdir().expect("tempdir");
        let Some((env, _db)) = trail(dir.path(), postgres).await else {
            return;
        };
        tamper.apply(&dir.path().join("audit"), "gateway", 5);
        let (code, text) = verify(&env);
        assert_eq!(code, Some(1), "{tamper:?}: {text}");
        assert!(
            text.contains("BROKEN at event 5 of chain gateway: "),
            "{tamper:?}: {text}"
        );
        assert!(text.contains(tamper.reason()), "{tamper:?}: {text}");
        assert!(
            text.contains("in the journal (segment gateway.00000000000000000001.log, line 5)"),
            "{tamper:?}: {text}"
        );
        assert!(
            text.contains("4 events before it verified"),
            "{tamper:?}: {text}"
        );
    }
}

#[tokio::test]
async fn journal_lines_not_yet_copied_verify_and_are_counted_on_sqlite() {
    journal_lines_not_yet_copied_verify_and_are_counted(false).await;
}

#[tokio::test]
async fn journal_lines_not_yet_copied_verify_and_are_counted_on_postgres() {
    journal_lines_not_yet_copied_verify_and_are_counted(true).await;
}

#[tokio::test]
async fn a_journal_line_changed_before_its_copy_fails_verification_on_sqlite() {
    a_journal_line_changed_before_its_copy_fails_verification(false).await;
}

#[tokio::test]
async fn a_journal_line_changed_before_its_copy_fails_verification_on_postgres() {
    a_journal_line_changed_before_its_copy_fails_verification(true).await;
}
