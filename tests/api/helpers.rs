//! The test harness: `spawn_app()` starts a server on a free port over a fresh SQLite file and
//! returns a [`TestApp`] with typed request helpers; `spawn_app_on_postgres()` does the same over a
//! fresh PostgreSQL database when `TEST_POSTGRES_URL` is set. Responses come back as [`Resp`], which
//! keeps status, headers and body together so that a failed assertion can show the body.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use carebridge::auth::AuthSettings;
use carebridge::auth::mint::token_for;
use carebridge::config::Settings;
use carebridge::startup::Application;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The test PKI (HTTPS receivers, and the CA test gateways trust).
#[path = "pki.rs"]
pub mod pki;

/// The media type of every FHIR response body.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// The NHS number identifier system.
pub const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A running server and a client for it. Dropping it removes its database.
pub struct TestApp {
    /// The FHIR base URL, e.g. `http://127.0.0.1:41234/fhir`.
    pub base: String,
    /// The server root (health probes), e.g. `http://127.0.0.1:41234`.
    pub root: String,
    /// The bound port.
    pub port: u16,
    /// An HTTP client that never uses a proxy.
    pub client: reqwest::Client,
    /// The bearer token every request of [`TestApp::req`] carries: a `system` token with full scopes.
    pub token: String,
    /// The server's token settings, to mint other tokens ([`TestApp::token_for`]).
    pub auth: AuthSettings,
    /// The server's database, for tests that reach past the API (the audit log).
    pub database_url: String,
    /// Versions the server wrote at start-up (its conformance artefacts), left out of
    /// [`TestApp::version_count`].
    baseline: usize,
    _db: DbGuard,
}

/// Keeps a test's database alive for the test and removes it afterwards (the fields are held only
/// for their `Drop`).
#[allow(dead_code)]
enum DbGuard {
    Sqlite(tempfile::TempDir),
    /// The database, and the directory of the server's audit journal.
    Postgres(PgDatabase, tempfile::TempDir),
    /// The database (the test keeps the journal).
    PostgresOnly(PgDatabase),
    /// Only the server's journal: the database is another test app's.
    Journal(tempfile::TempDir),
}

/// The HS256 secret of test servers.
pub const TEST_SECRET: &str = "carebridge-test-secret-0123456789abcdef";

/// The token environment of test servers (HS256 with [`TEST_SECRET`]).
pub const TEST_AUTH_ENV: [(&str, &str); 4] = [
    ("CAREBRIDGE_AUTH_ISSUER", "https://idp.carebridge.test"),
    ("CAREBRIDGE_AUTH_AUDIENCE", "carebridge-test"),
    ("CAREBRIDGE_AUTH_ALGORITHMS", "HS256"),
    ("CAREBRIDGE_AUTH_HS256_SECRET", TEST_SECRET),
];

/// A token for `role` (and organisation, patient) signed as the test servers expect.
pub fn mint_token(
    auth: &AuthSettings,
    role: &str,
    org: Option<&str>,
    patient: Option<&str>,
) -> String {
    token_for(auth, role, org, patient).expect("a test token")
}

/// Settings for a test server: port 0 on localhost, one worker, and the given database.
fn test_settings(database_url: &str) -> Settings {
    let env: BTreeMap<String, String> = [
        ("CAREBRIDGE_LISTEN", "127.0.0.1:0"),
        ("CAREBRIDGE_DATABASE_URL", database_url),
        ("CAREBRIDGE_BASE_URL", "http://127.0.0.1:0/fhir"),
        ("CAREBRIDGE_WORKERS", "1"),
        // Subscriptions in the tests send to this host (`tests/api/subscriptions.rs`).
        ("CAREBRIDGE_NOTIFY_ALLOWED_HOSTS", "hooks.example,127.0.0.1"),
    ]
    .into_iter()
    .chain(TEST_AUTH_ENV)
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut settings = Settings::from_sources(None, &env).expect("test settings are valid");
    // Notification receivers are HTTPS servers with certificates of the test CA.
    settings.outbound_trust = pki::pki().trust();
    settings
}

async fn start(settings: Settings, db: DbGuard) -> TestApp {
    let mut app = start_uncounted(settings, db).await;
    app.baseline = app.version_count().await;
    app
}

/// A server over a fresh SQLite database whose audit journal is in `journal` (which may be made
/// to fail); nothing is requested of it before it is returned.
pub async fn spawn_app_unaudited(journal: &std::path::Path) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("carebridge.db");
    let mut settings = test_settings(&format!("sqlite://{}", path.display()));
    settings.audit_dir = journal.to_owned();
    start_uncounted(settings, DbGuard::Sqlite(dir)).await
}

async fn start_uncounted(settings: Settings, db: DbGuard) -> TestApp {
    let auth = settings
        .auth
        .clone()
        .expect("test settings configure [auth]");
    let database_url = settings.database_url.clone();
    let app = Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("the server failed to start: {e}"));
    let port = app.port();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    let token = mint_token(&auth, "system", Some("TESTSYS"), None);
    TestApp {
        base: format!("http://127.0.0.1:{port}/fhir"),
        root: format!("http://127.0.0.1:{port}"),
        port,
        client,
        token,
        auth,
        database_url,
        baseline: 0,
        _db: db,
    }
}

impl TestApp {
    /// A second gateway process on this app's database (PostgreSQL: several processes share one),
    /// with its own audit chain and journal.
    pub async fn second_gateway(&self) -> TestApp {
        let mut settings = test_settings(&self.database_url);
        let journal = tempfile::tempdir().expect("temp dir");
        settings.audit_dir = journal.path().to_owned();
        settings.audit_chain = "gw-2".into();
        start_uncounted(settings, DbGuard::Journal(journal)).await
    }
}

/// A server over a fresh SQLite database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server over a fresh database, with settings adjusted by `tweak`. The database is SQLite, or
/// PostgreSQL when `TEST_BACKEND=postgres` (then `TEST_POSTGRES_URL` is required), so that the whole
/// suite can be run against either backend.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var("TEST_BACKEND").is_ok_and(|b| b == "postgres") {
        let admin_url = std::env::var("TEST_POSTGRES_URL")
            .expect("TEST_BACKEND=postgres needs TEST_POSTGRES_URL");
        let (url, db) = fresh_postgres(&admin_url).await;
        let mut settings = test_settings(&url);
        let journal = tempfile::tempdir().expect("temp dir");
        settings.audit_dir = journal.path().to_owned();
        tweak(&mut settings);
        return start(settings, DbGuard::Postgres(db, journal)).await;
    }
    spawn_app_on_sqlite_with(tweak).await
}

/// A server whose audit journal is in `journal` (prepared by the test, which keeps it), over a
/// fresh PostgreSQL database when `postgres` (`None`, after saying so, without
/// `TEST_POSTGRES_URL`), else a fresh SQLite one.
pub async fn spawn_app_with_journal(journal: &Path, postgres: bool) -> Option<TestApp> {
    let journal = journal.to_owned();
    if !postgres {
        return Some(spawn_app_on_sqlite_with(|s| s.audit_dir = journal).await);
    }
    let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
        println!("skipped: TEST_POSTGRES_URL not set");
        return None;
    };
    let (url, db) = fresh_postgres(&admin_url).await;
    let mut settings = test_settings(&url);
    settings.audit_dir = journal;
    Some(start(settings, DbGuard::PostgresOnly(db)).await)
}

/// A server over a fresh SQLite database whatever `TEST_BACKEND` says.
pub async fn spawn_app_on_sqlite() -> TestApp {
    spawn_app_on_sqlite_with(|_| {}).await
}

pub async fn spawn_app_on_sqlite_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("carebridge.db");
    let mut settings = test_settings(&format!("sqlite://{}", path.display()));
    tweak(&mut settings);
    start(settings, DbGuard::Sqlite(dir)).await
}

/// A server over a fresh SQLite database with settings adjusted by `tweak`, asked nothing before it
/// is returned (its listener may speak TLS, which [`TestApp`]'s own requests do not).
pub async fn spawn_app_unprobed_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("carebridge.db");
    let mut settings = test_settings(&format!("sqlite://{}", path.display()));
    tweak(&mut settings);
    start_uncounted(settings, DbGuard::Sqlite(dir)).await
}

/// A server over a fresh PostgreSQL database on the server `TEST_POSTGRES_URL` names (dropped
/// afterwards); `None`, after saying so, when the variable is unset.
pub async fn spawn_app_on_postgres() -> Option<TestApp> {
    let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
        println!("skipped: TEST_POSTGRES_URL not set");
        return None;
    };
    let (url, db) = fresh_postgres(&admin_url).await;
    let mut settings = test_settings(&url);
    let journal = tempfile::tempdir().expect("temp dir");
    settings.audit_dir = journal.path().to_owned();
    Some(start(settings, DbGuard::Postgres(db, journal)).await)
}

/// `CREATE DATABASE cb_api_<random>`: its URL and the guard that drops it.
pub async fn fresh_postgres(admin_url: &str) -> (String, PgDatabase) {
    let name = format!("cb_api_{}", uuid::Uuid::new_v4().simple());
    pg_execute(admin_url, &format!("CREATE DATABASE {name}")).await;
    let url = with_database(admin_url, &name);
    let db = PgDatabase {
        admin_url: admin_url.to_owned(),
        name,
    };
    (url, db)
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let host_part = match head[scheme_end..].find('/') {
        Some(slash) => &head[..scheme_end + slash],
        None => head,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

async fn pg_execute(url: &str, statement: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to TEST_POSTGRES_URL: {e}"));
    let conn = tokio::spawn(connection);
    client
        .batch_execute(statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    drop(client);
    let _ = conn.await;
}

/// A per-test PostgreSQL database, dropped (with its connections) when the test ends.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on a future; use a thread of its own.
        let dropper = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(pg_execute(
                    &url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ));
            }
        });
        let _ = dropper.join();
    }
}

/// Runs a test body on SQLite (`on_sqlite`) and on PostgreSQL (`on_postgres`, skipped without
/// `TEST_POSTGRES_URL`). The body gets a fresh `app: TestApp`.
macro_rules! on_both_backends {
    ($(#[doc = $doc:expr])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: crate::helpers::TestApp) $body

            #[tokio::test]
            async fn on_sqlite() {
                run(crate::helpers::spawn_app_on_sqlite().await).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                if let Some(app) = crate::helpers::spawn_app_on_postgres().await {
                    run(app).await;
                }
            }
        }
    };
}

/// A response, read completely.
#[derive(Debug)]
pub struct Resp {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body text.
    pub text: String,
}

impl Resp {
    /// The body as JSON (panics, showing the body, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status, self.text
            )
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status, expected,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// The `id` of the resource in the body.
    pub fn id(&self) -> String {
        self.json()["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.text))
            .to_owned()
    }

    /// A Bundle's entries.
    pub fn entries(&self) -> Vec<Value> {
        self.json()["entry"].as_array().cloned().unwrap_or_default()
    }

    /// Ids of the resources a searchset matched (`search.mode = match`), in bundle order.
    pub fn match_ids(&self) -> Vec<String> {
        self.entries()
            .iter()
            .filter(|e| e["search"]["mode"] == "match")
            .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// `Type/id` of the resources a searchset included (`search.mode = include`).
    pub fn included(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .entries()
            .iter()
            .filter(|e| e["search"]["mode"] == "include")
            .map(|e| {
                format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str().unwrap_or_default(),
                    e["resource"]["id"].as_str().unwrap_or_default()
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The URL of a Bundle link.
    pub fn link(&self, relation: &str) -> Option<String> {
        self.json()["link"]
            .as_array()?
            .iter()
            .find(|l| l["relation"] == relation)
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned)
    }

    /// A Bundle's `total`.
    pub fn total(&self) -> Option<u64> {
        self.json()["total"].as_u64()
    }
}

/// Asserts an error response: status, FHIR content type, an OperationOutcome with an issue of
/// `code` (and, when given, whose `expression` includes `expression`). Returns that issue.
#[track_caller]
pub fn assert_outcome(resp: &Resp, status: u16, code: &str, expression: Option<&str>) -> Value {
    resp.assert_status(status);
    assert_eq!(
        resp.header("content-type"),
        Some(FHIR_JSON),
        "error bodies are FHIR JSON: {}",
        resp.text
    );
    let body = resp.json();
    assert_eq!(body["resourceType"], "OperationOutcome", "{}", resp.text);
    let issues = body["issue"].as_array().cloned().unwrap_or_default();
    let found = issues.iter().find(|i| {
        i["code"] == code
            && i["severity"] == "error"
            && expression.is_none_or(|x| {
                i["expression"]
                    .as_array()
                    .is_some_and(|es| es.iter().any(|e| e == x))
            })
    });
    match found {
        Some(issue) => issue.clone(),
        None => panic!(
            "no error issue with code {code:?} and expression {expression:?} in {}",
            resp.text
        ),
    }
}

/// Sorted copies, for comparing id sets.
pub fn sorted<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.as_ref().to_owned()).collect();
    v.sort();
    v
}

impl TestApp {
    /// An absolute URL: `path` relative to the FHIR base, or returned as is when absolute.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else if path.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    /// A request to `path` (see [`TestApp::url`]) with the app's `system` token.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.anonymous(method, path).bearer_auth(&self.token)
    }

    /// A request to `path` without any token.
    pub fn anonymous(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// The audit log as stored, oldest first (a second connection to the server's database).
    pub async fn audit_events(&self) -> Vec<Value> {
        // `$audit-verify` copies the journal into the store first; its own event is left out.
        let verify = self.anonymous(reqwest::Method::GET, "$audit-verify");
        self.send(verify.bearer_auth(&self.token))
            .await
            .assert_status(200);
        let store = carebridge::store::Store::open(&self.database_url)
            .await
            .expect("the database opens");
        let rows = carebridge::audit::stored::select(
            store.backend(),
            &carebridge::store::audit::AuditSelect::ExportPage {
                after: 0,
                from: None,
                to: None,
                limit: 1_000_000,
            },
        )
        .await
        .expect("audit rows");
        let source = carebridge::audit::event::Source {
            chain: "",
            base_url: &self.base,
            canonical: "https://fhir.carebridge.uk",
        };
        rows.iter()
            .filter(|r| !r.body.contains("\"path\":\"/$audit-verify\""))
            .map(|r| carebridge::audit::export::render_row(r, &source))
            .collect()
    }

    /// `GET path` with `token` and `Prefer: respond-async`: a Bulk Data kick-off.
    pub async fn export_kick_off(&self, token: &str, path: &str) -> Resp {
        let r = self
            .anonymous(Method::GET, path)
            .bearer_auth(token)
            .header("Prefer", "respond-async")
            .header("Accept", "application/fhir+json");
        self.send(r).await
    }

    /// Polls an export's `status` URL until the job is done; the manifest.
    pub async fn export_manifest(&self, token: &str, status: &str) -> Value {
        for _ in 0..400 {
            let r = self
                .send(self.anonymous(Method::GET, status).bearer_auth(token))
                .await;
            match r.status {
                202 => {
                    assert!(r.header("retry-after").is_some(), "202 says when to retry");
                    assert!(r.header("x-progress").is_some(), "202 says how far it got");
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                200 => {
                    assert!(
                        r.header("expires").is_some(),
                        "the manifest says when files go"
                    );
                    return r.json();
                }
                other => panic!("status poll answered {other}: {}", r.text),
            }
        }
        panic!("the export did not finish");
    }

    /// Runs a Bulk Data export at `path` as `token`; the resources of each type, by type, every
    /// file checked to be NDJSON of its type with the count the manifest gives.
    pub async fn bulk_export(&self, token: &str, path: &str) -> BTreeMap<String, Vec<Value>> {
        let r = self.export_kick_off(token, path).await;
        r.assert_status(202);
        let status = r
            .header("content-location")
            .expect("the status URL")
            .to_owned();
        let m = self.export_manifest(token, &status).await;
        assert_eq!(m["requiresAccessToken"], true);
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for o in m["output"].as_array().expect("output") {
            let url = o["url"].as_str().expect("url");
            let file = self
                .send(self.anonymous(Method::GET, url).bearer_auth(token))
                .await;
            file.assert_status(200);
            assert_eq!(file.header("content-type"), Some("application/fhir+ndjson"));
            let lines: Vec<Value> = file
                .text
                .lines()
                .map(|l| serde_json::from_str(l).expect("one resource per line"))
                .collect();
            assert_eq!(Some(lines.len() as u64), o["count"].as_u64());
            let rtype = o["type"].as_str().expect("type");
            assert!(lines.iter().all(|l| l["resourceType"] == rtype));
            out.entry(rtype.to_owned()).or_default().extend(lines);
        }
        out
    }

    /// A token for another role of this server.
    pub fn token_for(&self, role: &str, org: Option<&str>, patient: Option<&str>) -> String {
        mint_token(&self.auth, role, org, patient)
    }

    /// A token for `role` granting exactly `scope` (space separated).
    pub fn token_with_scope(&self, role: &str, org: Option<&str>, scope: &str) -> String {
        self.token_with(role, org, Some(scope), "TREAT")
    }

    /// A token for `role` with purpose of use `purpose` (`BTG` to break the glass).
    pub fn token_with_purpose(&self, role: &str, org: Option<&str>, purpose: &str) -> String {
        self.token_with(role, org, None, purpose)
    }

    fn token_with(
        &self,
        role: &str,
        org: Option<&str>,
        scope: Option<&str>,
        purpose: &str,
    ) -> String {
        let args = carebridge::auth::mint::TokenArgs {
            role: role.to_owned(),
            org: org.map(str::to_owned),
            patient: None,
            sub: None,
            fhir_user: None,
            scope: scope.map(str::to_owned),
            purpose: purpose.to_owned(),
            minutes: 60,
            config: None,
            client: false,
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        carebridge::auth::mint::mint(&self.auth, &args, i64::try_from(now).unwrap_or(i64::MAX))
            .expect("a test token")
    }

    /// Sends `request` and reads the whole response.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let r = request.send().await.expect("the server answers");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("a readable body");
        Resp {
            status,
            headers,
            text,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path)).await
    }

    /// `method path` with a FHIR JSON body and extra headers.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut rb = self
            .req(method, path)
            .header("content-type", "application/fhir+json")
            .body(body.to_string());
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb).await
    }

    /// `method path` with a FHIR JSON body, sent with `token` instead of the app's own.
    pub async fn send_json_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Resp {
        self.send(
            self.anonymous(method, path)
                .bearer_auth(token)
                .header("content-type", "application/fhir+json")
                .body(body.to_string()),
        )
        .await
    }

    /// `POST [type]` with the resource (its type taken from `resourceType`).
    pub async fn create(&self, resource: &Value) -> Resp {
        self.create_with(resource, &[]).await
    }

    /// `POST [type]` with extra headers (`If-None-Exist`, `Prefer`).
    pub async fn create_with(&self, resource: &Value, headers: &[(&str, &str)]) -> Resp {
        let rtype = resource["resourceType"].as_str().unwrap_or_default();
        self.send_json(Method::POST, rtype, resource, headers).await
    }

    /// Creates `resource`, asserts 201 and returns the id assigned.
    pub async fn create_id(&self, resource: &Value) -> String {
        self.create(resource).await.assert_status(201).id()
    }

    /// Creates `resource` and returns the stored resource (with `id` and `meta`).
    pub async fn created(&self, resource: &Value) -> Value {
        self.create(resource).await.assert_status(201).json()
    }

    /// `GET [type]/[id]`.
    pub async fn read(&self, rtype: &str, id: &str) -> Resp {
        self.get(&format!("{rtype}/{id}")).await
    }

    /// `GET [type]/[id]/_history/[vid]`.
    pub async fn vread(&self, rtype: &str, id: &str, version: &str) -> Resp {
        self.get(&format!("{rtype}/{id}/_history/{version}")).await
    }

    /// `PUT [type]/[id]` with the resource (type and id taken from the body).
    pub async fn update(&self, resource: &Value) -> Resp {
        self.update_with(resource, &[]).await
    }

    /// `PUT [type]/[id]` with extra headers (`If-Match`, `Prefer`).
    pub async fn update_with(&self, resource: &Value, headers: &[(&str, &str)]) -> Resp {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap_or_default(),
            resource["id"].as_str().unwrap_or_default()
        );
        self.send_json(Method::PUT, &path, resource, headers).await
    }

    /// `DELETE [type]/[id]`.
    pub async fn delete(&self, rtype: &str, id: &str) -> Resp {
        self.send(self.req(Method::DELETE, &format!("{rtype}/{id}")))
            .await
    }

    /// `GET [type]?query` (the query as written; `+` must be encoded by the caller).
    pub async fn search(&self, rtype: &str, query: &str) -> Resp {
        self.get(&format!("{rtype}?{query}")).await
    }

    /// The ids a search matched, sorted (asserts 200).
    pub async fn search_ids(&self, rtype: &str, query: &str) -> Vec<String> {
        let r = self.search(rtype, query).await;
        r.assert_status(200);
        sorted(&r.match_ids())
    }

    /// `POST [base]` with a batch or transaction Bundle.
    pub async fn bundle(&self, bundle: &Value) -> Resp {
        self.send_json(Method::POST, "", bundle, &[]).await
    }

    /// Every entry of a history (or search) bundle at `path`, following `next` links.
    pub async fn all_entries(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(self.url(path));
        let mut pages = 0;
        while let Some(url) = next {
            pages += 1;
            assert!(pages < 100, "too many pages following {path}");
            let page = self.get(&url).await;
            page.assert_status(200);
            out.extend(page.entries());
            next = page.link("next");
        }
        out
    }

    /// How many versions the tests wrote (system history less the start-up artefacts), to show
    /// nothing was written.
    pub async fn version_count(&self) -> usize {
        self.all_entries("_history?_count=1000")
            .await
            .len()
            .saturating_sub(self.baseline)
    }
}

/// Reads a JSON fixture file; a missing or malformed file fails the test with its path.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `*.json` fixtures of `dir`, sorted, without its `expected.json`.
pub fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| p.file_name().is_some_and(|n| n != "expected.json"))
        .collect();
    files.sort();
    files
}

/// The file name of `p`, for messages and `expected.json` keys.
pub fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
