//! A test PKI, made when first asked for and kept for the test binary: a CA, a server certificate
//! for `localhost` and `127.0.0.1` that it signed, and whatever other certificates a test asks it
//! to issue (clients, expired ones). Test gateways trust the CA for their outbound calls
//! (`Settings::outbound_trust`), as a deployment trusts its organisation's CA, so notification
//! receivers can be real HTTPS servers on loopback; the TLS tests serve the gateway itself with
//! certificates from here.

use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its key.
#[derive(Clone)]
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

/// A CA and a server certificate it signed.
pub struct Pki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
    server: Issued,
}

/// The binary's test PKI.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| Pki::new("carebridge test CA"))
}

/// What a certificate is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A TLS server.
    Server,
    /// A TLS client.
    Client,
}

impl Pki {
    /// A new CA named `name`, with a loopback server certificate.
    pub fn new(name: &str) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_pem = ca.self_signed(&ca_key).expect("CA certificate").pem();
        let issuer = Issuer::new(ca, ca_key);
        let server = issue(&issuer, "receiver.test", Use::Server, false);
        Pki {
            ca_pem,
            issuer,
            server,
        }
    }

    /// A certificate for `cn` signed by this CA; `expired` makes one whose validity ended in
    /// 2021. Server certificates name `localhost` and `127.0.0.1`.
    pub fn issue(&self, cn: &str, usage: Use, expired: bool) -> Issued {
        issue(&self.issuer, cn, usage, expired)
    }

    /// The loopback server certificate.
    pub fn server(&self) -> &Issued {
        &self.server
    }

    /// A rustls server configuration presenting the server certificate (TLS 1.2 and 1.3, ring).
    pub fn server_config(&self) -> rustls::ServerConfig {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            KeyPair::from_pem(&self.server.key_pem)
                .expect("key")
                .serialize_der(),
        ));
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(self.server.der.clone())], key)
        .expect("server certificate and key")
    }

    /// What a gateway trusts to reach servers of this PKI.
    pub fn trust(&self) -> carebridge::outbound::Trust {
        carebridge::outbound::Trust::from_pem(self.ca_pem.as_bytes().to_vec(), "the test CA")
            .expect("the test CA")
    }
}

fn issue(issuer: &Issuer<'static, KeyPair>, cn: &str, usage: Use, expired: bool) -> Issued {
    let names = match usage {
        Use::Server => vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        Use::Client => Vec::new(),
    };
    let mut params = CertificateParams::new(names).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![match usage {
        Use::Server => ExtendedKeyUsagePurpose::ServerAuth,
        Use::Client => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, issuer).expect("certificate");
    Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().to_vec(),
    }
}
