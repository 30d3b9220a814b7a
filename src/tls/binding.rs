//! Which client certificate a connection presented, and whether a token may be used on it.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::auth::Principal;

/// The verified client certificate of a connection (kept in its connection data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// base64url (no padding) of the SHA-256 of its DER: RFC 8705's `x5t#S256`.
    pub thumbprint: String,
    /// Its subject's common name (the ODS code of the organisation it speaks for).
    pub common_name: Option<String>,
}

impl PeerCertificate {
    /// The certificate whose DER is `der`.
    pub fn from_der(der: &[u8]) -> PeerCertificate {
        let thumbprint =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der));
        let common_name = x509_parser::parse_x509_certificate(der)
            .ok()
            .and_then(|(_, cert)| {
                cert.subject()
                    .iter_common_name()
                    .next()
                    .and_then(|cn| cn.as_str().ok())
                    .map(str::to_owned)
            });
        PeerCertificate {
            thumbprint,
            common_name,
        }
    }
}

/// Keeps a TLS connection's verified client certificate, if any, in its connection data
/// (`HttpServer::on_connect`), where [`crate::http`] finds it for every request on it.
pub fn remember_peer(conn: &dyn std::any::Any, data: &mut actix_web::dev::Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let Some(tls) = conn.downcast_ref::<Tls>() else {
        return;
    };
    let (_, session) = tls.get_ref();
    if let Some(leaf) = session.peer_certificates().and_then(|c| c.first()) {
        data.insert(PeerCertificate::from_der(leaf));
    }
}

/// Why a token may not be used on this connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// The token is bound to a certificate the connection did not present.
    #[error("the token is bound to a client certificate that was not presented")]
    CertificateMissing,
    /// The token is bound to another certificate.
    #[error("the token is bound to another client certificate")]
    OtherCertificate,
    /// An unbound token whose organisation is not the certificate's.
    #[error("the token's organisation is not the client certificate's")]
    OtherOrganisation,
}

/// Whether `principal`'s token may be used on a connection that presented `peer`.
pub fn check(principal: &Principal, peer: Option<&PeerCertificate>) -> Result<(), BindingError> {
    match (peer, &principal.bound_certificate) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(BindingError::CertificateMissing),
        (Some(p), Some(bound)) if *bound == p.thumbprint => Ok(()),
        (Some(_), Some(_)) => Err(BindingError::OtherCertificate),
        (Some(p), None) => match (&p.common_name, &principal.organization) {
            (Some(cn), Some(org)) if cn.eq_ignore_ascii_case(org) => Ok(()),
            _ => Err(BindingError::OtherOrganisation),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn principal(org: Option<&str>, bound: Option<&str>) -> Principal {
        let mut p = Principal::subscriber("s", Role::System, org.map(str::to_owned));
        p.bound_certificate = bound.map(str::to_owned);
        p
    }

    fn peer(thumbprint: &str, cn: Option<&str>) -> PeerCertificate {
        PeerCertificate {
            thumbprint: thumbprint.into(),
            common_name: cn.map(str::to_owned),
        }
    }

    #[test]
    fn a_bound_token_needs_its_own_certificate() {
        let p = principal(Some("RH001"), Some("T1"));
        assert_eq!(check(&p, Some(&peer("T1", Some("X")))), Ok(()));
        assert_eq!(
            check(&p, Some(&peer("T2", Some("RH001")))),
            Err(BindingError::OtherCertificate)
        );
        assert_eq!(check(&p, None), Err(BindingError::CertificateMissing));
    }

    #[test]
    fn an_unbound_token_on_a_certificate_needs_its_organisation() {
        assert_eq!(
            check(
                &principal(Some("rh001"), None),
                Some(&peer("T", Some("RH001")))
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &principal(Some("A81001"), None),
                Some(&peer("T", Some("RH001")))
            ),
            Err(BindingError::OtherOrganisation)
        );
        assert_eq!(
            check(&principal(None, None), Some(&peer("T", Some("RH001")))),
            Err(BindingError::OtherOrganisation)
        );
        assert_eq!(check(&principal(None, None), None), Ok(()));
    }
}
