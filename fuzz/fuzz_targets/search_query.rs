//! The search parser (`carebridge_request::search::parse`) on any `Type?query`.
//!
//! Beyond not panicking, a query that parses must hold what the rest of the gateway relies on:
//! - its page size is at most `max_count`, and it searches the type asked for;
//! - its `canonical` pairs (the `self` link, and what a client sends back for the next page) are
//!   some of the pairs given, in order, and parse again, strictly, to the same query;
//! - lenient handling only ever drops pairs: whatever parses strictly parses leniently to the same
//!   query.

#![no_main]

use carebridge_fuzz::{query_pairs, split_type};
use carebridge_request::search::{ParseOptions, parse};
use libfuzzer_sys::fuzz_target;

/// The gateway's defaults (`src/store`): a page of 20, at most 100.
const STRICT: ParseOptions = ParseOptions {
    lenient: false,
    default_count: 20,
    max_count: 100,
};

const LENIENT: ParseOptions = ParseOptions {
    lenient: true,
    ..STRICT
};

fuzz_target!(|data: &[u8]| {
    let (rtype, raw) = split_type(data);
    let pairs = query_pairs(raw);
    let strict = parse(rtype, &pairs, STRICT);
    let lenient = parse(rtype, &pairs, LENIENT);
    if let Ok(q) = &strict {
        assert_eq!(
            lenient.as_ref(),
            Ok(q),
            "lenient parsing differs from strict"
        );
    }
    for (q, opts) in [(strict, STRICT), (lenient, LENIENT)] {
        let Ok(q) = q else { continue };
        assert_eq!(q.rtype, rtype);
        assert!(
            q.count <= opts.max_count,
            "count {} over the maximum",
            q.count
        );
        let mut given = pairs.iter();
        assert!(
            q.canonical.iter().all(|c| given.any(|p| p == c)),
            "canonical pairs {:?} are not a subsequence of the pairs given",
            q.canonical
        );
        let again = parse(rtype, &q.canonical, STRICT);
        assert_eq!(
            again.as_ref(),
            Ok(&q),
            "canonical pairs do not parse to the same query"
        );
    }
});
