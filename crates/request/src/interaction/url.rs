//! Resolving a bundle entry's `request.url` against the server's base URL (RFC 3986 reference
//! resolution, reduced to what FHIR allows): relative (`Patient/1?x=y`), an absolute path
//! (`/fhir/Patient/1`) or an absolute URL (`http://host/fhir/Patient/1`). The result is the path
//! below the base as decoded segments, and the decoded query, exactly as an HTTP request's.
//!
//! Scheme and host compare case-insensitively; the path compares segment by segment after
//! decoding, as the HTTP layer's does. Ports are compared as written (`:80` and no port differ).

use super::RequestError;
use super::parse::{decode_path, decode_query};

/// Decoded path segments below the base, and decoded query pairs.
pub(crate) type Resolved = (Vec<String>, Vec<(String, String)>);

/// The segments below `base` and the query pairs of `url`.
pub(crate) fn resolve(url: &str, base: &str) -> Result<Resolved, RequestError> {
    if url.contains('#') {
        return Err(RequestError::malformed(
            "A request URL must not carry a fragment",
        ));
    }
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    // The path first, then the query, as a request's are decoded: the same faults, the same order.
    let segments = match scheme_of(path) {
        Some((scheme, rest)) => {
            let (base_scheme, base_rest) = scheme_of(base).ok_or(RequestError::OtherServer)?;
            if !scheme.eq_ignore_ascii_case(base_scheme) {
                return Err(RequestError::OtherServer);
            }
            let (authority, path) = authority_of(rest).ok_or(RequestError::OtherServer)?;
            let (base_authority, base_path) =
                authority_of(base_rest).ok_or(RequestError::OtherServer)?;
            if !authority.eq_ignore_ascii_case(base_authority) {
                return Err(RequestError::OtherServer);
            }
            below(path, base_path)?
        }
        // A network-path reference (`//host/fhir/...`): the base's scheme, its own authority.
        None if path.starts_with("//") => {
            let (base_authority, base_path) = scheme_of(base)
                .and_then(|(_, rest)| authority_of(rest))
                .ok_or(RequestError::OtherServer)?;
            let (authority, path) = authority_of(path).ok_or(RequestError::OtherServer)?;
            if !authority.eq_ignore_ascii_case(base_authority) {
                return Err(RequestError::OtherServer);
            }
            below(path, base_path)?
        }
        None if path.starts_with('/') => {
            let base_path = scheme_of(base)
                .and_then(|(_, rest)| authority_of(rest))
                .map_or(base, |(_, p)| p);
            below(path, base_path)?
        }
        None => decode_path(path)?,
    };
    let params = decode_query(query)?;
    Ok((segments, params))
}

/// `scheme` and the rest of an absolute URI (`None` when `s` has no scheme).
fn scheme_of(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// `//authority/path` split into the authority and the path (which keeps its leading slash).
fn authority_of(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.strip_prefix("//")?;
    Some(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    })
}

/// The decoded segments of `path` below `base_path`.
fn below(path: &str, base_path: &str) -> Result<Vec<String>, RequestError> {
    let segments = decode_path(path)?;
    let base = decode_path(base_path)?;
    segments
        .strip_prefix(base.as_slice())
        .map(<[String]>::to_vec)
        .ok_or(RequestError::OtherServer)
}
