//! HTTP preconditions of a request or bundle entry: `If-Match` on writes, and `If-None-Match` /
//! `If-Modified-Since` on reads (a conditional read, answered 304 when the client's copy is
//! current).
//!
//! Decisions (RFC 9110 section 13, where FHIR says nothing more):
//! - A version ETag is `W/"3"`, `"3"` or `3`; `If-Match` that is not one is 400 (a write must not
//!   run on a precondition it cannot check).
//! - `If-None-Match` lists ETags or is `*`; a tag that is not a version simply never matches, and a
//!   value that is not a list of tags is ignored, as a cache would. When it is present,
//!   `If-Modified-Since` is ignored (RFC 9110 13.2.2).
//! - `If-Modified-Since` that is not an HTTP date is ignored (RFC 9110 13.1.3). The comparison is
//!   at whole seconds, the precision of `Last-Modified`.

use super::RequestError;

/// What a conditional read asks: answer 304 when the resource is still what the client holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// `If-None-Match: *`: any current version is what the client holds.
    AnyVersion,
    /// `If-None-Match` with version ETags.
    Versions(Vec<u64>),
    /// `If-Modified-Since`, as epoch seconds.
    ModifiedSince(i64),
}

impl Freshness {
    /// Whether a resource at `version`, last updated at `last_updated_ms` (epoch milliseconds), is
    /// unchanged for the client: the read answers 304.
    pub fn unchanged(&self, version: u64, last_updated_ms: i64) -> bool {
        match self {
            Freshness::AnyVersion => true,
            Freshness::Versions(vs) => vs.contains(&version),
            Freshness::ModifiedSince(since) => last_updated_ms.div_euclid(1000) <= *since,
        }
    }
}

/// Parses `If-Match: W/"3"` (or `"3"`, or `3`) into a version number.
pub fn parse_if_match(value: &str) -> Result<u64, RequestError> {
    version_tag(value)
        .ok_or_else(|| RequestError::malformed("If-Match must be a version ETag such as W/\"1\""))
}

/// The read precondition of `If-None-Match` and `If-Modified-Since` (either may be absent); `None`
/// when there is none to apply.
pub fn parse_freshness(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
) -> Option<Freshness> {
    if let Some(text) = if_none_match {
        let text = text.trim();
        if text == "*" {
            return Some(Freshness::AnyVersion);
        }
        let tags: Vec<&str> = text.split(',').map(str::trim).collect();
        if tags.iter().all(|t| is_entity_tag(t)) {
            return Some(Freshness::Versions(
                tags.iter().filter_map(|t| version_tag(t)).collect(),
            ));
        }
        return None;
    }
    let since = chrono::DateTime::parse_from_rfc2822(if_modified_since?.trim()).ok()?;
    Some(Freshness::ModifiedSince(since.timestamp()))
}

/// A version number from `W/"3"`, `"3"` or `3`.
fn version_tag(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.trim_matches('"').parse().ok()
}

/// Whether `t` is an entity tag (`W/"..."` or `"..."`), or a bare version as clients send them.
fn is_entity_tag(t: &str) -> bool {
    let opaque = t.strip_prefix("W/").unwrap_or(t);
    let quoted = opaque.len() >= 2
        && opaque.starts_with('"')
        && opaque.ends_with('"')
        && !opaque[1..opaque.len() - 1].contains('"');
    quoted || (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_versions_and_a_star_matches_any() {
        let f = parse_freshness(Some(r#"W/"3", "5""#), None);
        assert_eq!(f, Some(Freshness::Versions(vec![3, 5])));
        assert!(f.as_ref().is_some_and(|f| f.unchanged(5, 0)));
        assert!(!f.as_ref().is_some_and(|f| f.unchanged(4, 0)));
        assert_eq!(
            parse_freshness(Some("*"), None),
            Some(Freshness::AnyVersion)
        );
        assert_eq!(
            parse_freshness(Some("7"), None),
            Some(Freshness::Versions(vec![7]))
        );
    }

    #[test]
    fn a_tag_that_is_not_a_version_never_matches_and_garbage_is_ignored() {
        assert_eq!(
            parse_freshness(Some(r#"W/"abc""#), None),
            Some(Freshness::Versions(vec![]))
        );
        assert_eq!(parse_freshness(Some("not a tag"), None), None);
    }

    #[test]
    fn if_modified_since_compares_whole_seconds_and_yields_to_if_none_match() {
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let f = parse_freshness(None, Some(date));
        assert_eq!(f, Some(Freshness::ModifiedSince(784_111_777)));
        let f = f.as_ref();
        assert!(f.is_some_and(|f| f.unchanged(9, 784_111_777_999)));
        assert!(!f.is_some_and(|f| f.unchanged(9, 784_111_778_000)));
        assert_eq!(
            parse_freshness(Some(r#""2""#), Some(date)),
            Some(Freshness::Versions(vec![2]))
        );
        assert_eq!(parse_freshness(None, Some("yesterday")), None);
    }
}
