//! TLS to PostgreSQL: `sslmode` and `sslrootcert` in the URL, against the local `TEST_POSTGRES_URL`
//! server with certificates made here.
//!
//! The server is given a certificate for `localhost` only, signed by a test CA, both kept in
//! [`DIR`] (made once, then reused by later and concurrent runs), and TLS is turned on with
//! `ALTER SYSTEM` and a configuration reload. It stays on: the rest of the suite connects with the
//! default `prefer`, which works with or without TLS. Where that cannot be done (a remote server, not
//! root, a server that refuses) the test says why and skips.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use carebridge::store::Store;
use carebridge::store::postgres::tls;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_postgres::{Client, NoTls};

use crate::harness;

/// Where the server's certificate, its key and the CA certificate live (readable by the server).
const DIR: &str = "/var/lib/postgresql/carebridge-test-tls";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_and_sslrootcert_are_honoured() {
    let Some(server) = harness::postgres_url() else {
        return;
    };
    let (admin, connection) = tokio_postgres::connect(&server, NoTls)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    tokio::spawn(connection);
    let target = match Target::of(&server) {
        Ok(t) => t,
        Err(why) => return println!("skipped: {why}"),
    };
    let ca = match enable_tls(&admin, &target).await {
        Ok(ca) => ca,
        Err(why) => return println!("skipped: {why}"),
    };
    let name = format!("cb_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .await
        .expect("create the test database");
    let target = Target {
        db: name.clone(),
        ..target
    };
    let outcome = tokio::spawn(checks(target, ca)).await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop the test database");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn checks(target: Target, ca: PathBuf) {
    let ca = ca.display();
    // The certificate names `localhost`: verify-full holds by that name, and not by the address.
    let full = target.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    opens(&full).await;
    assert!(uses_tls(&full).await, "verify-full is TLS");
    let by_address = target.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let m = refused(&by_address).await;
    assert!(m.contains("not valid for name"), "{m}");
    // verify-ca checks the chain only.
    let ca_only = target.url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}"));
    opens(&ca_only).await;
    assert!(uses_tls(&ca_only).await, "verify-ca is TLS");

    // A CA that did not sign the server's certificate.
    let other = tempfile::tempdir().expect("temporary directory");
    let other_ca = other.path().join("other-ca.pem");
    fs::write(&other_ca, make_ca("another CA").0).expect("write the other CA");
    for mode in ["verify-full", "verify-ca"] {
        let query = format!("sslmode={mode}&sslrootcert={}", other_ca.display());
        let m = refused(&target.url("localhost", &query)).await;
        assert!(m.contains("UnknownIssuer"), "{mode}: {m}");
    }

    // require without a root: TLS, any certificate; disable: no TLS; absent: prefer, TLS here.
    let require = target.url("127.0.0.1", "sslmode=require");
    opens(&require).await;
    assert!(uses_tls(&require).await, "require is TLS");
    let disable = target.url("127.0.0.1", "sslmode=disable");
    opens(&disable).await;
    assert!(!uses_tls(&disable).await, "disable is not TLS");
    let default = target.url("127.0.0.1", "");
    opens(&default).await;
    assert!(uses_tls(&default).await, "prefer takes TLS when offered");

    // Settings that cannot be honoured stop the store from opening, naming the setting.
    let m = refused(&target.url("127.0.0.1", "sslmode=bogus")).await;
    assert!(m.contains("sslmode=bogus"), "{m}");
    let missing = other.path().join("missing.pem");
    let query = format!("sslmode=verify-full&sslrootcert={}", missing.display());
    let m = refused(&target.url("localhost", &query)).await;
    assert!(
        m.contains("sslrootcert=") && m.contains("cannot be read"),
        "{m}"
    );
}

/// The parts of the `TEST_POSTGRES_URL` the test varies the host and parameters of.
struct Target {
    user: String,
    port: u16,
    db: String,
}

impl Target {
    fn of(server: &str) -> Result<Target, String> {
        let config: tokio_postgres::Config = server.parse().map_err(|e| format!("{e}"))?;
        let local = config.get_hosts().iter().all(|h| {
            matches!(h, tokio_postgres::config::Host::Tcp(h) if h == "127.0.0.1" || h == "localhost")
        });
        if !local || config.get_password().is_some() {
            return Err("TEST_POSTGRES_URL is not a password-less server on 127.0.0.1".to_owned());
        }
        Ok(Target {
            user: config.get_user().unwrap_or("postgres").to_owned(),
            port: config.get_ports().first().copied().unwrap_or(5432),
            db: config.get_dbname().unwrap_or("postgres").to_owned(),
        })
    }

    fn url(&self, host: &str, query: &str) -> String {
        let Target { user, port, db } = self;
        let url = format!("postgres://{user}@{host}:{port}/{db}");
        if query.is_empty() {
            url
        } else {
            format!("{url}?{query}")
        }
    }
}

async fn opens(url: &str) {
    if let Err(e) = Store::open(url).await {
        panic!("{url} should open: {e}");
    }
}

async fn refused(url: &str) -> String {
    match Store::open(url).await {
        Ok(_) => panic!("{url} should not open"),
        Err(e) => e.to_string(),
    }
}

/// Whether a connection made as the store makes them (same configuration and connector) is TLS.
async fn uses_tls(url: &str) -> bool {
    let client = connect(url).await.expect("connects");
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .get(0)
}

async fn connect(url: &str) -> Result<Client, String> {
    let (config, tls) = tls::configure(url).map_err(|e| e.to_string())?;
    let (client, connection) = config.connect(tls).await.map_err(|e| {
        let mut m = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            m = format!("{m}: {c}");
            cause = c.source();
        }
        m
    })?;
    tokio::spawn(connection);
    Ok(client)
}

/// Turns TLS on with the certificate in [`DIR`] (made if absent) and returns the CA's path once the
/// server presents that certificate; `Err` says why it cannot.
async fn enable_tls(admin: &Client, target: &Target) -> Result<PathBuf, String> {
    let data: String = show(admin, "data_directory").await?;
    let owner = fs::metadata(&data).map_err(|e| {
        format!("the server's data directory {data} is not readable here ({e}): a remote server?")
    })?;
    let dir = Path::new(DIR);
    if !dir.join("server.key").exists() {
        make_certificates(dir, owner.uid(), owner.gid())?;
    }
    let ca = dir.join("ca.pem");
    let probe = target.url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
    );
    if connect(&probe).await.is_ok() {
        return Ok(ca);
    }
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let wanted = [
        ("ssl_cert_file", cert.display().to_string()),
        ("ssl_key_file", key.display().to_string()),
        ("ssl", "on".to_owned()),
    ];
    for (setting, value) in &wanted {
        if show(admin, setting).await? != *value {
            let sql = format!("ALTER SYSTEM SET {setting} = '{value}'");
            admin
                .batch_execute(&sql)
                .await
                .map_err(|e| format!("the server refuses `{sql}`: {e}"))?;
        }
    }
    // Also when the settings were already there: the files may be new.
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .map_err(|e| format!("pg_reload_conf: {e}"))?;
    // The reload is asynchronous: wait until the server presents the certificate.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match connect(&probe).await {
            Ok(_) => return Ok(ca),
            Err(e) if Instant::now() > deadline => {
                // Another certificate (or none): the server did not load ours; anything else is
                // this test's business.
                if e.contains("UnknownIssuer") || e.contains("server does not support TLS") {
                    return Err(format!(
                        "the server did not take the certificate in {DIR} (see its log): {e}"
                    ));
                }
                panic!("verify-ca against the test CA: {e}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn show(admin: &Client, setting: &str) -> Result<String, String> {
    admin
        .query_one(&format!("SHOW {setting}"), &[])
        .await
        .map(|row| row.get(0))
        .map_err(|e| format!("SHOW {setting}: {e}"))
}

/// Makes the CA and the server certificate in a directory of its own, then renames it to `dir`, so
/// that concurrent runs see either nothing or all three files; the key belongs to the server's user.
fn make_certificates(dir: &Path, uid: u32, gid: u32) -> Result<(), String> {
    let parent = dir.parent().ok_or("no parent directory")?;
    let tmp = parent.join(format!(
        ".carebridge-test-tls-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let cannot = |e: std::io::Error| format!("cannot prepare {}: {e}", tmp.display());
    fs::create_dir(&tmp).map_err(cannot)?;
    let (ca_pem, issuer) = make_ca("carebridge PostgreSQL test CA");
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned()]).map_err(|e| e.to_string())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    let key_file = tmp.join("server.key");
    fs::write(tmp.join("ca.pem"), ca_pem).map_err(cannot)?;
    fs::write(tmp.join("server.crt"), cert.pem()).map_err(cannot)?;
    fs::write(&key_file, key.serialize_pem()).map_err(cannot)?;
    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o600)).map_err(cannot)?;
    std::os::unix::fs::chown(&key_file, Some(uid), Some(gid)).map_err(cannot)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).map_err(cannot)?;
    if let Err(e) = fs::rename(&tmp, dir) {
        // Another run made it first (or it cannot be made): use what is there.
        let _ = fs::remove_dir_all(&tmp);
        if !dir.join("server.key").exists() {
            return Err(format!("cannot create {}: {e}", dir.display()));
        }
    }
    Ok(())
}

/// A new CA: its certificate (PEM) and what signs with it.
fn make_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().expect("CA key");
    let pem = params.self_signed(&key).expect("CA certificate").pem();
    (pem, Issuer::new(params, key))
}
