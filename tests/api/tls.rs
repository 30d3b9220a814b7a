//! The listener over TLS, with certificates made in the test (`crate::pki`): the configured
//! certificate is served and replaced without a restart when its files change; plain HTTP and TLS
//! 1.1 are refused; client certificates are verified (missing when required, expired, from another
//! CA: no handshake) and bound to tokens (RFC 8705 `cnf.x5t#S256`, else the certificate's common
//! name is the token's organisation): a token used on the wrong certificate is 401.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{TEST_SECRET, TestApp, spawn_app_unprobed_with};
use crate::pki::{Issued, Pki, Use, pki};
use carebridge::tls::{ClientAuth, TlsSettings};

/// The organisation of the system caller, and of its certificate's common name.
const ORG: &str = "TESTSYS";

/// A gateway over TLS with the test PKI's server certificate (files in `dir`).
async fn tls_gateway(dir: &Path, client_auth: ClientAuth) -> TestApp {
    let server = pki().server();
    let (cert, key, ca) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("clients.pem"),
    );
    std::fs::write(&cert, &server.cert_pem).expect("cert");
    std::fs::write(&key, &server.key_pem).expect("key");
    std::fs::write(&ca, &pki().ca_pem).expect("client CA");
    spawn_app_unprobed_with(move |s| {
        s.tls = Some(TlsSettings {
            cert_file: cert,
            key_file: key,
            client_ca_file: Some(ca),
            client_auth,
        });
    })
    .await
}

/// An HTTPS client trusting the test CA, presenting `identity` if given, one connection a request.
fn client(identity: Option<&Issued>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .add_root_certificate(reqwest::Certificate::from_pem(pki().ca_pem.as_bytes()).expect("CA"));
    if let Some(id) = identity {
        let pem = format!("{}{}", id.cert_pem, id.key_pem);
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    b.build().expect("client")
}

/// A system token for `org`, bound to the certificate with thumbprint `bound` if given.
fn token(org: &str, bound: Option<&str>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut claims = json!({"iss": "https://idp.carebridge.test", "aud": "carebridge-test",
        "sub": "client-system", "exp": now + 600, "role": "system", "org": org,
        "scope": "system/*.cruds"});
    if let Some(t) = bound {
        claims["cnf"] = json!({"x5t#S256": t});
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("a token")
}

fn thumbprint(cert: &Issued) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&cert.der))
}

/// The status of `GET /fhir/Patient` with `token` over `client`, or `None` when no HTTP answer
/// came (the handshake failed).
async fn search(app: &TestApp, client: &reqwest::Client, token: &str) -> Option<u16> {
    client
        .get(format!(
            "https://localhost:{}/fhir/Patient?_count=1",
            app.port
        ))
        .bearer_auth(token)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// The certificate the gateway presented on a new connection.
async fn served(app: &TestApp) -> Vec<u8> {
    let resp = client(None)
        .get(format!("https://localhost:{}/healthz", app.port))
        .send()
        .await
        .expect("an answer over TLS");
    assert_eq!(resp.status().as_u16(), 200);
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .expect("the peer certificate")
}

/// A TLS 1.1 ClientHello (no supported_versions extension), and the first byte of the answer.
fn hello_tls11(port: u16) -> u8 {
    let mut body = vec![0x03, 0x02]; // client_version TLS 1.1
    body.extend([7u8; 32]); // random
    body.push(0); // session id
    body.extend([0x00, 0x04, 0xc0, 0x13, 0x00, 0x2f]); // ECDHE-RSA-AES128-SHA, RSA-AES128-SHA
    body.extend([0x01, 0x00]); // compression: null
    let mut hs = vec![0x01, 0, 0, body.len() as u8];
    hs.extend(body);
    let mut record = vec![0x16, 0x03, 0x01, 0, hs.len() as u8];
    record.extend(hs);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(&record).expect("hello sent");
    let mut first = [0u8; 1];
    match s.read(&mut first) {
        Ok(1) => first[0],
        _ => 0,
    }
}

#[tokio::test]
async fn the_gateway_serves_its_certificate_replaces_it_live_and_refuses_old_or_plain_clients() {
    let dir = tempfile::tempdir().expect("dir");
    let app = tls_gateway(dir.path(), ClientAuth::Off).await;
    assert_eq!(
        served(&app).await,
        pki().server().der,
        "the configured certificate"
    );
    // No answer to plain HTTP on the TLS port.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("http://127.0.0.1:{}/healthz", app.port))
        .send()
        .await;
    assert!(
        plain.map(|r| r.status().is_success()).ok() != Some(true),
        "plain HTTP is not served"
    );
    // TLS 1.1 gets an alert (content type 21), not a ServerHello (22).
    assert_eq!(hello_tls11(app.port), 21, "TLS 1.1 is refused");
    // A renewed certificate is in service without a restart.
    let renewed = pki().issue("renewed.test", Use::Server, false);
    std::fs::write(dir.path().join("key.pem"), &renewed.key_pem).expect("key");
    std::fs::write(dir.path().join("cert.pem"), &renewed.cert_pem).expect("cert");
    let mut now = Vec::new();
    for _ in 0..40 {
        now = served(&app).await;
        if now == renewed.der {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(now, renewed.der, "the renewed certificate is served");
}

#[tokio::test]
async fn required_client_certificates_are_verified_and_bound_to_tokens() {
    let dir = tempfile::tempdir().expect("dir");
    let app = tls_gateway(dir.path(), ClientAuth::Required).await;
    let mine = pki().issue(ORG, Use::Client, false);
    let other = pki().issue(ORG, Use::Client, false);
    let unbound = token(ORG, None);
    // No handshake: no certificate, an expired one, one from another CA.
    assert_eq!(
        search(&app, &client(None), &unbound).await,
        None,
        "a certificate is required"
    );
    let expired = pki().issue(ORG, Use::Client, true);
    assert_eq!(
        search(&app, &client(Some(&expired)), &unbound).await,
        None,
        "expired"
    );
    let foreign = Pki::new("another CA").issue(ORG, Use::Client, false);
    assert_eq!(
        search(&app, &client(Some(&foreign)), &unbound).await,
        None,
        "another CA"
    );
    // A valid certificate: the token must be bound to it, or be for its organisation.
    let c = client(Some(&mine));
    assert_eq!(
        search(&app, &c, &unbound).await,
        Some(200),
        "the certificate's organisation"
    );
    assert_eq!(
        search(&app, &c, &token("A81001", None)).await,
        Some(401),
        "another organisation"
    );
    let bound = token("A81001", Some(&thumbprint(&mine)));
    assert_eq!(
        search(&app, &c, &bound).await,
        Some(200),
        "bound to this certificate"
    );
    let elsewhere = token(ORG, Some(&thumbprint(&other)));
    assert_eq!(
        search(&app, &c, &elsewhere).await,
        Some(401),
        "bound to another certificate"
    );
    // The same refusal in the other shapes the server accepts: HEAD, and a batch entry.
    let url = format!("https://localhost:{}/fhir", app.port);
    let head = c
        .head(format!("{url}/Patient?_count=1"))
        .bearer_auth(&elsewhere)
        .send()
        .await;
    assert_eq!(head.map(|r| r.status().as_u16()).ok(), Some(401), "HEAD");
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("{url}/Patient?_count=1")}}]});
    let posted = c
        .post(&url)
        .bearer_auth(&elsewhere)
        .header("Content-Type", "application/fhir+json")
        .body(batch.to_string())
        .send()
        .await;
    assert_eq!(
        posted.map(|r| r.status().as_u16()).ok(),
        Some(401),
        "a batch entry"
    );
}

#[tokio::test]
async fn optional_client_certificates_still_bind_the_tokens_that_name_one() {
    let dir = tempfile::tempdir().expect("dir");
    let app = tls_gateway(dir.path(), ClientAuth::Optional).await;
    let mine = pki().issue(ORG, Use::Client, false);
    let bound = token(ORG, Some(&thumbprint(&mine)));
    assert_eq!(
        search(&app, &client(None), &token(ORG, None)).await,
        Some(200),
        "no certificate"
    );
    assert_eq!(
        search(&app, &client(None), &bound).await,
        Some(401),
        "a bound token without its certificate"
    );
    assert_eq!(search(&app, &client(Some(&mine)), &bound).await, Some(200));
    let foreign = Pki::new("another CA").issue(ORG, Use::Client, false);
    assert_eq!(
        search(&app, &client(Some(&foreign)), &token(ORG, None)).await,
        None,
        "a presented certificate is verified"
    );
}
