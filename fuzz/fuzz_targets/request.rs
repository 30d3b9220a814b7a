//! The request parser (`carebridge_request::interaction`) on any `METHOD path?query`, the path
//! relative to the FHIR base, optionally followed by lines `If-None-Exist: ...` / `If-Match: ...`.
//!
//! Beyond not panicking: the same request sent as a batch entry, with its URL relative, as an
//! absolute URL under the base or as an absolute path, parses to the very same value (or the
//! entry is refused because a bundle cannot hold a bundle); what authorisation sees is what
//! execution runs, whatever the shape. A parsed interaction names a served type and valid ids.

#![no_main]

use carebridge_fuzz::request_lines;
use carebridge_request::id::is_valid_id;
use carebridge_request::interaction::{
    Conditions, Context, Interaction, RequestError, decode_path, decode_query, parse, parse_entry,
};
use carebridge_request::search::ParseOptions;
use libfuzzer_sys::fuzz_target;

const BASE: &str = "http://gw.example:8080/fhir";

fn ctx() -> Context<'static> {
    Context {
        base_url: BASE,
        search: ParseOptions {
            lenient: false,
            default_count: 20,
            max_count: 100,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(r) = request_lines(data) else {
        return;
    };
    let conditions = Conditions {
        if_none_exist: r.if_none_exist.as_deref(),
        if_match: r.if_match.as_deref(),
        // The read preconditions reuse the same fuzzed text: their parsers must not panic either.
        if_none_match: r.if_match.as_deref(),
        if_modified_since: r.if_none_exist.as_deref(),
    };
    let (path, query) = r.target.split_once('?').unwrap_or((&r.target, ""));
    let http = decode_path(&format!("/fhir/{path}")).and_then(|segments| {
        let below = segments.get(1..).unwrap_or_default();
        parse(&r.method, below, decode_query(query)?, &conditions, &ctx())
    });
    if let Ok(req) = &http {
        let i = &req.interaction;
        if let Some(id) = i.id() {
            assert!(is_valid_id(id), "an invalid id was parsed: {id:?}");
        }
        assert_eq!(req.head, r.method == "HEAD");
    }
    // Entry URLs mean the same only where a relative reference is a plain path: no fragment, no
    // scheme, no authority.
    let first = path.split('/').next().unwrap_or_default();
    let plain = !r.target.contains('#') && !path.starts_with('/') && !first.contains(':');
    if !plain
        || !matches!(
            r.method.as_str(),
            "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH"
        )
    {
        return;
    }
    for url in [
        r.target.clone(),
        format!("{BASE}/{}", r.target),
        format!("/fhir/{}", r.target),
    ] {
        let entry = parse_entry(&r.method, &url, &conditions, &ctx());
        match (&http, &entry) {
            (Ok(req), Err(RequestError::Malformed(_)))
                if req.interaction == Interaction::Bundle => {}
            _ => assert_eq!(&entry, &http, "the entry {url:?} parses differently"),
        }
    }
});
