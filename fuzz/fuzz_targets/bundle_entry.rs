//! The bundle entry parser (`carebridge_request::interaction::parse_entry`) on any entry request:
//! `METHOD url`, optionally followed by `If-None-Exist: ...` / `If-Match: ...` lines, the URL
//! relative, an absolute path or an absolute URL (of this base or another).
//!
//! Beyond not panicking: an entry is never itself a Bundle; a URL under another base or scheme is
//! refused; what parses names a served type and valid ids, and parses again to the same value
//! from its relative form.

#![no_main]

use carebridge_fuzz::request_lines;
use carebridge_request::id::is_valid_id;
use carebridge_request::interaction::{Conditions, Context, Interaction, parse_entry};
use carebridge_request::search::ParseOptions;
use libfuzzer_sys::fuzz_target;

const BASE: &str = "https://gw.example/fhir";

fuzz_target!(|data: &[u8]| {
    let Some(r) = request_lines(data) else {
        return;
    };
    let ctx = Context {
        base_url: BASE,
        search: ParseOptions {
            lenient: true,
            default_count: 20,
            max_count: 100,
        },
    };
    let conditions = Conditions {
        if_none_exist: r.if_none_exist.as_deref(),
        if_match: r.if_match.as_deref(),
        // The read preconditions reuse the same fuzzed text: their parsers must not panic either.
        if_none_match: r.if_match.as_deref(),
        if_modified_since: r.if_none_exist.as_deref(),
    };
    let Ok(req) = parse_entry(&r.method, &r.target, &conditions, &ctx) else {
        return;
    };
    assert_ne!(
        req.interaction,
        Interaction::Bundle,
        "an entry parsed as a bundle"
    );
    if let Some(id) = req.interaction.id() {
        assert!(is_valid_id(id), "an invalid id was parsed: {id:?}");
    }
    let lower = r.target.to_ascii_lowercase();
    let other_scheme = lower.contains(':') && !lower.starts_with("https://gw.example/");
    let other_host = lower.starts_with("//") && !lower.starts_with("//gw.example/");
    let first = lower.split(['/', '?']).next().unwrap_or_default();
    if (other_scheme && first.contains(':')) || other_host {
        panic!("a URL under another base was accepted: {:?}", r.target);
    }
    if let Some(relative) = r.target.strip_prefix(&format!("{BASE}/")) {
        let again = parse_entry(&r.method, relative, &conditions, &ctx);
        assert_eq!(
            again.as_ref(),
            Ok(&req),
            "the relative form parses differently"
        );
    }
});
