//! What the fuzz targets share: turning the fuzzer's bytes into the inputs the parsers take.
//!
//! Inputs are kept in a form a person can read and write as a corpus file. A search input is
//! `Type?query`, the query as it would appear in a URL (`CarePlan?patient:identifier=s%7C1`), so
//! the seed corpus is a list of realistic requests and a crash reads as one. The fuzzer mutates
//! bytes, not requests, so every byte string must still map to some input: an unknown type name
//! picks a type from its bytes rather than being thrown away, which keeps mutations of the name
//! exploring the other types' parameters.

use carebridge_request::ResourceType;

/// Splits `Type?rest` into the resource type and `rest`.
///
/// A name that is not a served type picks one by the sum of its bytes; without a `?` the whole
/// input is the rest, and the type is the first one (`Patient`).
pub fn split_type(data: &[u8]) -> (ResourceType, &[u8]) {
    let all = ResourceType::ALL;
    let Some(at) = data.iter().position(|b| *b == b'?') else {
        return (all[0], data);
    };
    let (name, rest) = (&data[..at], &data[at + 1..]);
    let rtype = std::str::from_utf8(name)
        .ok()
        .and_then(|s| s.parse::<ResourceType>().ok())
        .unwrap_or_else(|| {
            let sum = name
                .iter()
                .fold(0usize, |acc, b| acc.wrapping_add(usize::from(*b)));
            all[sum % all.len()]
        });
    (rtype, rest)
}

/// Decodes a raw query string (`application/x-www-form-urlencoded`) into ordered name-value
/// pairs, as the gateway does before it parses a search: `+` is a space, `%XX` a byte, invalid
/// UTF-8 becomes U+FFFD.
///
/// Unlike the gateway's `decode_query`, control characters are kept: the search parser must
/// stand on its own whatever its caller checked first.
pub fn query_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// A request as the request and bundle-entry targets read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLines {
    /// The method (`GET`, `HEAD`, ... or anything).
    pub method: String,
    /// The path and query (relative to the base), or an entry's URL.
    pub target: String,
    /// An `If-None-Exist: ...` line's value.
    pub if_none_exist: Option<String>,
    /// An `If-Match: ...` line's value.
    pub if_match: Option<String>,
}

/// Reads `METHOD target` and optional `If-None-Exist: ...` / `If-Match: ...` lines; `None` for
/// input that is not UTF-8 or has no space after the method.
pub fn request_lines(data: &[u8]) -> Option<RequestLines> {
    let text = std::str::from_utf8(data).ok()?;
    let mut lines = text.split('\n');
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut r = RequestLines {
        method: method.to_owned(),
        target: target.to_owned(),
        if_none_exist: None,
        if_match: None,
    };
    for line in lines {
        if let Some(v) = line.strip_prefix("If-None-Exist: ") {
            r.if_none_exist = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("If-Match: ") {
            r.if_match = Some(v.to_owned());
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_type_name_is_taken_and_an_unknown_one_still_picks_a_type() {
        assert_eq!(
            split_type(b"CarePlan?status=active"),
            (ResourceType::CarePlan, &b"status=active"[..])
        );
        assert_eq!(
            split_type(b"gender=male"),
            (ResourceType::Patient, &b"gender=male"[..])
        );
        let (_, rest) = split_type(b"Nope?x=1");
        assert_eq!(rest, b"x=1");
    }

    #[test]
    fn a_request_reads_as_a_method_a_target_and_preconditions() {
        let r = request_lines(b"POST Patient\nIf-None-Exist: identifier=a|b\nIf-Match: W/\"2\"");
        assert_eq!(
            r,
            Some(RequestLines {
                method: "POST".into(),
                target: "Patient".into(),
                if_none_exist: Some("identifier=a|b".into()),
                if_match: Some("W/\"2\"".into()),
            })
        );
        assert_eq!(request_lines(b"GET"), None);
    }

    #[test]
    fn the_query_is_percent_decoded_in_order() {
        assert_eq!(
            query_pairs(b"a=1&b=x%7Cy+z&a=%FF"),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x|y z".to_owned()),
                ("a".to_owned(), "\u{fffd}".to_owned()),
            ]
        );
    }
}
