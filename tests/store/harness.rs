//! Where each variant's store lives: a temporary SQLite file, or a fresh PostgreSQL database.

use std::future::Future;

use carebridge::store::Store;
use tokio_postgres::NoTls;

/// The database of one test; [`Db::open`] may be called several times (several gateway processes).
#[derive(Debug, Clone)]
pub struct Db {
    url: String,
    postgres: bool,
}

impl Db {
    /// Opens a store on this test's database, applying migrations.
    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("store opens")
    }

    /// Runs `sql` on the database directly, as an operator (or an attacker) would.
    pub async fn execute(&self, sql: &str) {
        if self.postgres {
            let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
                .await
                .expect("connect");
            let connection = tokio::spawn(connection);
            client.batch_execute(sql).await.expect("statement runs");
            drop(client);
            let _ = connection.await;
        } else {
            let path = self.url.trim_start_matches("sqlite://");
            let conn = rusqlite::Connection::open(path).expect("open");
            conn.execute_batch(sql).expect("statement runs");
        }
    }

    /// True for the PostgreSQL variant.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }
}

/// Runs `test` on a new SQLite file in a temporary directory.
pub async fn sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("store.db");
    test(Db {
        url: format!("sqlite://{}", path.display()),
        postgres: false,
    })
    .await;
}

/// The server URL for PostgreSQL tests, or `None` (with a message) when they are to be skipped.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!("skipped: TEST_POSTGRES_URL not set");
            None
        }
    }
}

/// Runs `test` on a database created for it on the `TEST_POSTGRES_URL` server, and drops the database
/// afterwards, also when the test fails.
pub async fn postgres<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(server) = postgres_url() else {
        return;
    };
    let (admin, connection) = tokio_postgres::connect(&server, NoTls)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    let connection = tokio::spawn(connection);
    let name = format!("cb_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .await
        .expect("create the test database");
    let db = Db {
        url: with_database(&server, &name),
        postgres: true,
    };
    // On its own task, so that a failing test still reaches the clean-up below.
    let outcome = tokio::spawn(test(db)).await;
    let dropped = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    drop(admin);
    let _ = connection.await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
    dropped.expect("drop the test database");
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL has a scheme");
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

#[test]
fn database_name_is_replaced() {
    assert_eq!(
        with_database("postgres://u@h:5432/test", "cb_x"),
        "postgres://u@h:5432/cb_x"
    );
    assert_eq!(
        with_database("postgresql://u@h/test?connect_timeout=5", "cb_x"),
        "postgresql://u@h/cb_x?connect_timeout=5"
    );
    assert_eq!(with_database("postgres://h", "cb_x"), "postgres://h/cb_x");
}
