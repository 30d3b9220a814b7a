//! The token attack suite at the verifier: every token the contract refuses, signed with real keys.

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

use super::*;

const RSA_PRIVATE: &str = include_str!("../../../tests/fixtures/keys/rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("../../../tests/fixtures/keys/rsa-public.pem");
const RSA_OTHER: &str = include_str!("../../../tests/fixtures/keys/rsa-other-private.pem");
const EC_PRIVATE: &str = include_str!("../../../tests/fixtures/keys/ec-private.pem");
const JWKS: &str = include_str!("../../../tests/fixtures/keys/jwks.json");
const SECRET: &str = "a-development-secret-of-32-bytes!";

fn config(algorithms: &[Algorithm]) -> AuthConfig {
    AuthConfig {
        issuer: "https://idp.test".into(),
        audience: "carebridge".into(),
        algorithms: algorithms.to_vec(),
        hs256_secret: Some(SECRET.into()),
        keys: serde_json::from_str(JWKS).ok(),
        jwks_url: None,
        claims: ClaimNames::default(),
        leeway_seconds: 5,
    }
}

fn verifier(algorithms: &[Algorithm]) -> Verifier {
    match Verifier::new(config(algorithms)) {
        Ok(v) => v,
        Err(e) => panic!("test configuration refused: {e}"),
    }
}

fn all() -> Verifier {
    verifier(&[Algorithm::HS256, Algorithm::RS256, Algorithm::ES256])
}

fn claims() -> Value {
    let now = now_seconds();
    json!({"iss": "https://idp.test", "aud": "carebridge", "sub": "gp-user-1",
        "exp": now + 300, "iat": now, "role": "gp", "org": "A81001",
        "scope": "user/CarePlan.rs user/Patient.rs", "fhirUser": "Practitioner/p1"})
}

fn sign(alg: Algorithm, kid: Option<&str>, pem_or_secret: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let key = match alg {
        Algorithm::HS256 => Ok(EncodingKey::from_secret(pem_or_secret.as_bytes())),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem_or_secret.as_bytes()),
        _ => EncodingKey::from_ec_pem(pem_or_secret.as_bytes()),
    };
    match key.and_then(|k| encode(&header, claims, &k)) {
        Ok(t) => t,
        Err(e) => panic!("cannot sign: {e}"),
    }
}

fn rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, Some("rsa-1"), RSA_PRIVATE, claims)
}

fn with(change: impl FnOnce(&mut Value)) -> Value {
    let mut c = claims();
    change(&mut c);
    c
}

#[test]
fn good_tokens_of_each_algorithm_give_the_principal() {
    let v = all();
    for token in [
        rs256(&claims()),
        sign(Algorithm::ES256, Some("ec-1"), EC_PRIVATE, &claims()),
        sign(Algorithm::HS256, None, SECRET, &claims()),
    ] {
        let p = v.verify(&token).map_err(|e| e.to_string());
        let p = p.as_deref().cloned();
        assert_eq!(p.as_ref().map(|p| p.role), Ok(Role::Gp));
        assert_eq!(
            p.as_ref().map(|p| p.organization.clone()),
            Ok(Some("A81001".into()))
        );
        assert_eq!(p.as_ref().map(|p| p.purpose.as_str()), Ok("TREAT"));
        assert_eq!(p.as_ref().map(|p| p.scopes.len()), Ok(2));
    }
}

#[test]
fn the_header_must_carry_a_bearer_token() {
    let v = all();
    let token = rs256(&claims());
    assert_eq!(v.authenticate(None).err(), Some(AuthError::Missing));
    assert_eq!(
        v.authenticate(Some(&format!("Basic {token}"))).err(),
        Some(AuthError::Missing)
    );
    assert_eq!(
        v.authenticate(Some("Bearer")).err(),
        Some(AuthError::Missing)
    );
    assert!(v.authenticate(Some(&format!("bearer {token}"))).is_ok());
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused() {
    let v = all();
    let now = now_seconds();
    let expired = rs256(&with(|c| c["exp"] = json!(now - 60)));
    assert_eq!(v.verify(&expired).err(), Some(AuthError::Expired));
    let early = rs256(&with(|c| c["nbf"] = json!(now + 600)));
    assert_eq!(v.verify(&early).err(), Some(AuthError::NotYetValid));
    // Within the leeway: accepted.
    let skewed = rs256(&with(|c| c["nbf"] = json!(now + 2)));
    assert!(v.verify(&skewed).is_ok());
}

#[test]
fn wrong_issuer_or_audience_is_refused() {
    let v = all();
    let iss = rs256(&with(|c| c["iss"] = json!("https://evil.test")));
    assert_eq!(v.verify(&iss).err(), Some(AuthError::Issuer));
    let aud = rs256(&with(|c| c["aud"] = json!("another-service")));
    assert_eq!(v.verify(&aud).err(), Some(AuthError::Audience));
}

#[test]
fn a_tampered_payload_or_a_foreign_key_fails_the_signature() {
    let v = all();
    let token = rs256(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims = with(|c| c["role"] = json!("auditor"));
    let forged_payload = base64_url(&forged_claims.to_string());
    let tampered = format!(
        "{}.{}.{}",
        parts.first().copied().unwrap_or_default(),
        forged_payload,
        parts.get(2).copied().unwrap_or_default()
    );
    assert_eq!(v.verify(&tampered).err(), Some(AuthError::Signature));
    let foreign = sign(Algorithm::RS256, Some("rsa-1"), RSA_OTHER, &claims());
    assert_eq!(v.verify(&foreign).err(), Some(AuthError::Signature));
    let wrong_secret = sign(
        Algorithm::HS256,
        None,
        "another-secret-of-at-least-32-bytes",
        &claims(),
    );
    assert_eq!(v.verify(&wrong_secret).err(), Some(AuthError::Signature));
}

#[test]
fn unknown_or_mismatched_keys_are_refused() {
    let v = all();
    let unknown = sign(Algorithm::RS256, Some("rsa-9"), RSA_PRIVATE, &claims());
    assert_eq!(v.verify(&unknown).err(), Some(AuthError::UnknownKey));
    let no_kid = sign(Algorithm::RS256, None, RSA_PRIVATE, &claims());
    assert_eq!(v.verify(&no_kid).err(), Some(AuthError::UnknownKey));
    // An ES256 token naming the RSA key.
    let mismatched = sign(Algorithm::ES256, Some("rsa-1"), EC_PRIVATE, &claims());
    assert_eq!(v.verify(&mismatched).err(), Some(AuthError::UnknownKey));
}

#[test]
fn algorithms_are_pinned_and_a_public_key_is_never_an_hmac_secret() {
    // RS256 only: an HS256 token, even HMAC'd with the very public key, is refused.
    let v = verifier(&[Algorithm::RS256]);
    let confused = sign(Algorithm::HS256, Some("rsa-1"), RSA_PUBLIC, &claims());
    assert_eq!(v.verify(&confused).err(), Some(AuthError::Algorithm));
    let es = sign(Algorithm::ES256, Some("ec-1"), EC_PRIVATE, &claims());
    assert_eq!(v.verify(&es).err(), Some(AuthError::Algorithm));
    // HS256 enabled too: the public key still is not the secret.
    let v = all();
    assert_eq!(v.verify(&confused).err(), Some(AuthError::Signature));
}

#[test]
fn unsigned_and_malformed_tokens_are_refused() {
    let v = all();
    let header = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64_url(&claims().to_string());
    assert_eq!(
        v.verify(&format!("{header}.{payload}.")).err(),
        Some(AuthError::Malformed)
    );
    for junk in ["", "abc", "a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9.e30"] {
        assert!(v.verify(junk).is_err(), "{junk:?}");
    }
}

#[test]
fn claims_the_gateway_needs_must_be_there() {
    let v = all();
    for (missing, name) in [("sub", "sub"), ("role", "role"), ("org", "org")] {
        let token = rs256(&with(|c| {
            if let Some(o) = c.as_object_mut() {
                o.remove(missing);
            }
        }));
        assert_eq!(
            v.verify(&token).err(),
            Some(AuthError::Claim(name.into())),
            "{missing}"
        );
    }
    let no_exp = rs256(&with(|c| {
        if let Some(o) = c.as_object_mut() {
            o.remove("exp");
        }
    }));
    assert_eq!(
        v.verify(&no_exp).err(),
        Some(AuthError::Claim("exp".into()))
    );
    let bad_role = rs256(&with(|c| c["role"] = json!("superuser")));
    assert_eq!(
        v.verify(&bad_role).err(),
        Some(AuthError::Claim("role".into()))
    );
    let patient = rs256(&with(|c| c["role"] = json!("patient")));
    assert_eq!(
        v.verify(&patient).err(),
        Some(AuthError::Claim("patient".into()))
    );
    let patient = rs256(&with(|c| {
        c["role"] = json!("patient");
        c["patient"] = json!("pat-1");
    }));
    assert_eq!(
        v.verify(&patient).ok().and_then(|p| p.patient.clone()),
        Some("pat-1".into())
    );
}

#[test]
fn a_claim_holding_a_control_character_invalidates_the_token() {
    let v = all();
    for (name, value) in [
        ("sub", "gp-user\u{0}1"),
        ("role", "gp\u{0}"),
        ("org", "A81\u{0}001"),
        ("org", "A81001\u{7}"),
        ("purpose_of_use", "TR\u{0}EAT"),
        ("fhirUser", "Practitioner/p\u{0}1"),
        ("patient", "p\u{1b}1"),
        ("scope", "user/CarePlan.rs\u{0}"),
        ("sub", "gp-user-1\n"),
        ("org", "\tA81001"),
    ] {
        let token = rs256(&with(|c| c[name] = json!(value)));
        assert_eq!(
            v.verify(&token).err(),
            Some(AuthError::Claim(name.into())),
            "{name}: {value:?}"
        );
    }
    // Spaces are no control characters: trimmed as before.
    let token = rs256(&with(|c| c["org"] = json!(" A81001 ")));
    assert_eq!(
        v.verify(&token).map(|p| p.organization.clone()),
        Ok(Some("A81001".into()))
    );
}

#[test]
fn claim_names_follow_the_configuration() {
    let mut c = config(&[Algorithm::RS256]);
    c.claims.role = "https://idp.test/role".into();
    c.claims.organization = "ods".into();
    c.claims.purpose = "pou".into();
    let v = match Verifier::new(c) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let token = rs256(
        &json!({"iss": "https://idp.test", "aud": "carebridge", "sub": "u",
        "exp": now_seconds() + 60, "https://idp.test/role": "housing", "ods": "H1",
        "pou": "HOPERAT"}),
    );
    let p = v.verify(&token).ok();
    assert_eq!(p.as_ref().map(|p| p.role), Some(Role::Housing));
    assert_eq!(
        p.as_ref().and_then(|p| p.organization.clone()),
        Some("H1".into())
    );
    assert_eq!(
        p.as_ref().map(|p| p.purpose.clone()),
        Some("HOPERAT".into())
    );
}

#[test]
fn a_verified_token_is_remembered_until_it_expires() {
    let v = all();
    let token = rs256(&claims());
    let first = v.verify(&token).ok();
    let second = v.verify(&token).ok();
    assert!(matches!((&first, &second), (Some(a), Some(b)) if Arc::ptr_eq(a, b)));
    // A refused token is never remembered.
    let expired = rs256(&with(|c| c["exp"] = json!(now_seconds() - 60)));
    assert!(v.verify(&expired).is_err());
    assert_eq!(v.cache.lock().map(|c| c.len()).ok(), Some(1));
}

#[test]
fn unsafe_configurations_are_refused() {
    let weak = AuthConfig {
        hs256_secret: Some("short".into()),
        ..config(&[Algorithm::HS256])
    };
    assert_eq!(Verifier::new(weak).err(), Some(AuthConfigError::WeakSecret));
    let no_keys = AuthConfig {
        keys: None,
        ..config(&[Algorithm::RS256])
    };
    assert_eq!(
        Verifier::new(no_keys).err(),
        Some(AuthConfigError::NoKeys(Algorithm::RS256))
    );
    assert_eq!(
        Verifier::new(config(&[])).err(),
        Some(AuthConfigError::NoAlgorithm)
    );
    assert_eq!(
        Verifier::new(config(&[Algorithm::HS512])).err(),
        Some(AuthConfigError::Unsupported(Algorithm::HS512))
    );
    let no_aud = AuthConfig {
        audience: " ".into(),
        ..config(&[Algorithm::RS256])
    };
    assert_eq!(
        Verifier::new(no_aud).err(),
        Some(AuthConfigError::NoIssuerOrAudience)
    );
}

fn base64_url(s: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = s.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let take = chunk.len() + 1;
        for i in 0..take {
            let idx = ((n >> (18 - 6 * i)) & 63) as usize;
            out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'A')));
        }
    }
    out
}

/// A JWKS endpoint on localhost serving `body` (changeable), counting its requests.
struct KeyServer {
    url: String,
    body: Arc<Mutex<String>>,
    hits: Arc<std::sync::atomic::AtomicUsize>,
}

async fn key_server(body: &str) -> KeyServer {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/jwks.json",
        listener.local_addr().expect("address")
    );
    let body = Arc::new(Mutex::new(body.to_owned()));
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (b, h) = (Arc::clone(&body), Arc::clone(&hits));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let text = b.lock().map(|t| t.clone()).unwrap_or_default();
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = socket.write_all(resp.as_bytes()).await;
        }
    });
    KeyServer { url, body, hits }
}

fn url_verifier(url: &str) -> Verifier {
    let mut c = config(&[Algorithm::RS256, Algorithm::ES256]);
    c.keys = None;
    c.jwks_url = Some(url.to_owned());
    match Verifier::new(c) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn keys_come_from_the_jwks_url_and_are_refetched_for_a_new_kid() {
    let full: Value = serde_json::from_str(JWKS).unwrap_or_default();
    let rsa_only = json!({"keys": [full["keys"][0].clone()]});
    let server = key_server(&rsa_only.to_string()).await;
    let v = url_verifier(&server.url);
    assert!(v.fetch_keys().await, "fetched at start-up");
    let bearer = |t: String| format!("Bearer {t}");
    let rsa = bearer(rs256(&claims()));
    assert!(v.authenticate_refreshing(Some(&rsa)).await.is_ok());
    // The provider rotates in an EC key; the first token naming it makes the gateway refetch,
    // once the minimum interval has passed since the last fetch.
    if let Ok(mut b) = server.body.lock() {
        *b = full.to_string();
    }
    let ec = bearer(sign(Algorithm::ES256, Some("ec-1"), EC_PRIVATE, &claims()));
    let hits = || server.hits.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        v.authenticate_refreshing(Some(&ec)).await.err(),
        Some(AuthError::UnknownKey),
        "too soon after the last fetch: no refetch"
    );
    assert_eq!(hits(), 1);
    if let Some(f) = &v.fetcher
        && let Ok(mut last) = f.last_fetch()
    {
        *last = None;
    }
    assert!(v.authenticate_refreshing(Some(&ec)).await.is_ok());
    assert_eq!(hits(), 2);
}

#[test]
fn a_jwks_url_must_be_https_unless_local() {
    let mut c = config(&[Algorithm::RS256]);
    c.keys = None;
    c.jwks_url = Some("http://idp.example/jwks".into());
    assert!(matches!(
        Verifier::new(c.clone()).err(),
        Some(AuthConfigError::JwksUrl(_))
    ));
    c.jwks_url = Some("https://idp.example/jwks".into());
    assert!(Verifier::new(c).is_ok());
}
