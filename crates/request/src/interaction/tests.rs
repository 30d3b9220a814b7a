//! The parse, tested by shape: each interaction from its plain form, then the same intent in
//! every other shape the gateway accepts (encoded paths, absolute and absolute-path entry URLs,
//! HEAD, trailing slashes) must give the very same value, and what is not an interaction is refused.

use proptest::prelude::*;

use super::*;
use crate::search::ParseOptions;

const BASE: &str = "http://gw.example:8080/fhir";

fn ctx() -> Context<'static> {
    Context {
        base_url: BASE,
        search: ParseOptions {
            lenient: false,
            default_count: 20,
            max_count: 1000,
        },
    }
}

/// An HTTP request: the raw path below the server root and the raw query.
fn http(method: &str, path: &str, query: &str) -> Result<Request, RequestError> {
    http_with(method, path, query, &Conditions::default())
}

fn http_with(
    method: &str,
    path: &str,
    query: &str,
    conditions: &Conditions<'_>,
) -> Result<Request, RequestError> {
    let segments = decode_path(path)?;
    let Some((first, below)) = segments.split_first() else {
        return Err(RequestError::NoRoute);
    };
    assert_eq!(first, "fhir", "tests send FHIR paths");
    parse(method, below, decode_query(query)?, conditions, &ctx())
}

fn entry(method: &str, url: &str) -> Result<Request, RequestError> {
    parse_entry(method, url, &Conditions::default(), &ctx())
}

fn interaction(r: Result<Request, RequestError>) -> Interaction {
    match r {
        Ok(r) => r.interaction,
        Err(e) => panic!("not parsed: {e:?}"),
    }
}

#[test]
fn each_path_is_its_interaction() {
    use Interaction::*;
    use ResourceType::*;
    let id = || "p1".to_owned();
    assert_eq!(interaction(http("GET", "/fhir/metadata", "")), Capabilities);
    assert_eq!(
        interaction(http("GET", "/fhir/Patient/p1", "")),
        Read {
            rtype: Patient,
            id: id()
        }
    );
    assert_eq!(
        interaction(http("GET", "/fhir/Patient/p1/_history/2", "")),
        VRead {
            rtype: Patient,
            id: id(),
            version: 2
        }
    );
    assert_eq!(
        interaction(http("GET", "/fhir/Patient/p1/_history", "")),
        HistoryInstance {
            rtype: Patient,
            id: id()
        }
    );
    assert_eq!(
        interaction(http("GET", "/fhir/Patient/_history", "")),
        HistoryType { rtype: Patient }
    );
    assert_eq!(
        interaction(http("GET", "/fhir/_history", "")),
        HistorySystem
    );
    assert!(matches!(
        interaction(http("GET", "/fhir/Patient", "name=x")),
        Search { rtype: Patient, query: Some(q) } if q.filters.len() == 1
    ));
    assert!(matches!(
        interaction(http("POST", "/fhir/Patient/_search", "name=x")),
        Search { rtype: Patient, .. }
    ));
    assert_eq!(
        interaction(http("GET", "/fhir/AuditEvent", "agent-role=gp")),
        Search {
            rtype: AuditEvent,
            query: None
        }
    );
    assert_eq!(
        interaction(http("POST", "/fhir/Patient", "")),
        Create {
            rtype: Patient,
            if_none_exist: None
        }
    );
    assert_eq!(
        interaction(http("PUT", "/fhir/Patient/p1", "")),
        Update {
            rtype: Patient,
            id: id()
        }
    );
    assert!(matches!(
        interaction(http("PUT", "/fhir/Patient", "identifier=a|b")),
        ConditionalUpdate { rtype: Patient, .. }
    ));
    assert_eq!(
        interaction(http("DELETE", "/fhir/Patient/p1", "")),
        Delete {
            rtype: Patient,
            id: id()
        }
    );
    assert!(matches!(
        interaction(http("DELETE", "/fhir/Patient", "identifier=a|b")),
        ConditionalDelete { rtype: Patient, .. }
    ));
    assert_eq!(interaction(http("POST", "/fhir", "")), Bundle);
    assert_eq!(interaction(http("POST", "/fhir/", "")), Bundle);
}

#[test]
fn operations_are_known_by_name_level_and_method() {
    use Interaction::Operation as Op;
    let qr = ResourceType::QuestionnaireResponse;
    assert_eq!(
        interaction(http("GET", "/fhir/$audit-export", "start=2026")),
        Op {
            operation: Operation::AuditExport,
            target: Target::System
        }
    );
    assert_eq!(
        interaction(http("POST", "/fhir/QuestionnaireResponse/q1/$extract", "")),
        Op {
            operation: Operation::Extract,
            target: Target::Instance(qr, "q1".into())
        }
    );
    assert_eq!(
        interaction(http("POST", "/fhir/QuestionnaireResponse/$extract", "")),
        Op {
            operation: Operation::Extract,
            target: Target::Type(qr)
        }
    );
    for op in ["$hna-outcomes", "$consent-explain", "$audit-verify"] {
        assert!(http("GET", &format!("/fhir/{op}"), "").is_ok(), "{op}");
    }
    assert!(http("POST", "/fhir/$hna-outcomes", "").is_ok());
    let message = interaction(http("POST", "/fhir/%24process-message", ""));
    assert_eq!(
        message,
        Op {
            operation: Operation::ProcessMessage,
            target: Target::System
        }
    );
    assert!(message.writes(), "a message becomes a transaction");
    assert_eq!(
        interaction(http("PATCH", "/fhir/Patient/p1", "")),
        Interaction::Patch {
            rtype: ResourceType::Patient,
            id: "p1".into()
        }
    );
    assert_eq!(
        http("PATCH", "/fhir/Patient", "").map(|r| r.interaction),
        Err(RequestError::MethodNotAllowed)
    );
    assert!(http("PATCH", "/fhir/Patient/p1", "name=x").is_err());
    let validate = interaction(http("POST", "/fhir/CarePlan/%24validate", "mode=create"));
    assert_eq!(
        validate,
        Op {
            operation: Operation::Validate,
            target: Target::Type(ResourceType::CarePlan)
        }
    );
    assert!(!validate.writes(), "$validate never stores");
    assert_eq!(
        interaction(http("POST", "/fhir/CarePlan/p1/$validate", "mode=update")),
        Op {
            operation: Operation::Validate,
            target: Target::Instance(ResourceType::CarePlan, "p1".into())
        }
    );
    // Wrong method: 405; wrong level or unknown name: no such endpoint.
    let refused = [
        (
            "GET",
            "/fhir/QuestionnaireResponse/q1/$extract",
            RequestError::MethodNotAllowed,
        ),
        (
            "POST",
            "/fhir/$audit-export",
            RequestError::MethodNotAllowed,
        ),
        ("POST", "/fhir/Patient/$extract", RequestError::NoRoute),
        ("POST", "/fhir/$extract", RequestError::NoRoute),
        ("GET", "/fhir/Patient/$audit-export", RequestError::NoRoute),
        (
            "GET",
            "/fhir/$process-message",
            RequestError::MethodNotAllowed,
        ),
        (
            "POST",
            "/fhir/ServiceRequest/$process-message",
            RequestError::NoRoute,
        ),
        ("GET", "/fhir/$everything", RequestError::NoRoute),
        ("POST", "/fhir/$validate", RequestError::NoRoute),
        ("POST", "/fhir/AuditEvent/$validate", RequestError::NoRoute),
        (
            "GET",
            "/fhir/CarePlan/$validate",
            RequestError::MethodNotAllowed,
        ),
        ("GET", "/fhir/Patient/p1/$everything", RequestError::NoRoute),
    ];
    for (method, path, expected) in refused {
        assert_eq!(http(method, path, ""), Err(expected), "{method} {path}");
    }
}

#[test]
fn what_is_not_an_interaction_is_refused() {
    let cases: Vec<(&str, &str, &str, RequestError)> = vec![
        (
            "GET",
            "/fhir/Observation/1",
            "",
            RequestError::UnknownType("Observation".into()),
        ),
        (
            "GET",
            "/fhir/patient/1",
            "",
            RequestError::UnknownType("patient".into()),
        ),
        ("PATCH", "/fhir/Patient", "", RequestError::MethodNotAllowed),
        ("GET", "/fhir", "", RequestError::MethodNotAllowed),
        ("POST", "/fhir/metadata", "", RequestError::MethodNotAllowed),
        (
            "GET",
            "/fhir/Patient/_search",
            "",
            RequestError::MethodNotAllowed,
        ),
        ("GET", "/fhir/Patient//1", "", RequestError::NoRoute),
        (
            "GET",
            "/fhir/Patient/p1/_history/2/x",
            "",
            RequestError::NoRoute,
        ),
        ("GET", "/fhir/Patient/a_b", "", RequestError::InvalidId),
        ("GET", "/fhir/Patient/%2F", "", RequestError::InvalidId),
        ("PUT", "/fhir/Patient/..%2F..", "", RequestError::InvalidId),
        (
            "GET",
            "/fhir/Patient%2Fp1",
            "",
            RequestError::UnknownType("Patient/p1".into()),
        ),
    ];
    for (method, path, query, expected) in cases {
        assert_eq!(http(method, path, query), Err(expected), "{method} {path}");
    }
    for v in ["x", "0", "-1"] {
        assert_eq!(
            http("GET", &format!("/fhir/Patient/p1/_history/{v}"), ""),
            Err(RequestError::NoSuchVersion(
                ResourceType::Patient,
                "p1".into()
            ))
        );
    }
    let malformed = [
        ("GET", "/fhir/Patient/a%00b", ""),
        ("GET", "/fhir/Patient", "name=%00"),
        ("GET", "/fhir/Patient", "na%07me=x"),
        ("GET", "/fhir/Patient/%FF", ""),
        ("POST", "/fhir/Patient", "identifier=a|b"),
        ("PUT", "/fhir/Patient/p1", "x=y"),
        ("DELETE", "/fhir/Patient", ""),
        ("DELETE", "/fhir/Patient", "_count=1"),
        ("PUT", "/fhir/Patient", "_format=json"),
        ("POST", "/fhir", "x=1"),
        ("GET", "/fhir/Patient", "unknown-param=1"),
    ];
    for (method, path, query) in malformed {
        assert!(
            matches!(
                http(method, path, query),
                Err(RequestError::Malformed(_) | RequestError::Search(_))
            ),
            "{method} {path}?{query}: {:?}",
            http(method, path, query)
        );
    }
}

#[test]
fn preconditions_belong_to_the_interactions_they_govern() {
    let c = Conditions {
        if_none_exist: Some("Patient?identifier=a|b"),
        if_match: Some("W/\"3\""),
        ..Conditions::default()
    };
    let create = http_with("POST", "/fhir/Patient", "", &c).map(|r| r.interaction);
    assert!(matches!(
        create,
        Ok(Interaction::Create { if_none_exist: Some(q), .. }) if q.filters.len() == 1
    ));
    let update = http_with("PUT", "/fhir/Patient/p1", "", &c);
    assert_eq!(update.map(|r| r.if_match), Ok(Some(3)));
    // Ignored where they do not apply.
    let read = http_with("GET", "/fhir/Patient/p1", "", &c);
    assert_eq!(read.map(|r| r.if_match), Ok(None));
    // Another type's criteria, empty criteria and a bad ETag are refused.
    for (ine, im) in [
        (Some("CarePlan?_id=x"), None),
        (Some(""), None),
        (None, Some("W/\"x\"")),
    ] {
        let c = Conditions {
            if_none_exist: ine,
            if_match: im,
            ..Conditions::default()
        };
        let method = if ine.is_some() { "POST" } else { "PUT" };
        let path = if ine.is_some() {
            "/fhir/Patient"
        } else {
            "/fhir/Patient/p1"
        };
        assert!(http_with(method, path, "", &c).is_err(), "{ine:?} {im:?}");
    }
}

#[test]
fn entries_resolve_against_the_base_only() {
    let plain = http("GET", "/fhir/CarePlan/c1", "");
    for url in [
        "CarePlan/c1",
        "CarePlan/c1/",
        "/fhir/CarePlan/c1",
        "http://gw.example:8080/fhir/CarePlan/c1",
        "HTTP://GW.EXAMPLE:8080/fhir/CarePlan/c1",
        "http://gw.example:8080/%66hir/Care%50lan/c%31",
        "//gw.example:8080/fhir/CarePlan/c1",
    ] {
        assert_eq!(entry("GET", url), plain, "{url}");
    }
    for url in [
        "http://other.example/fhir/CarePlan/c1",
        "https://gw.example:8080/fhir/CarePlan/c1",
        "http://gw.example:8080/other/CarePlan/c1",
        "http://gw.example:8080/CarePlan/c1",
        "/CarePlan/c1",
        "urn:uuid:0b0f0c2c-1111-4c4c-8888-000000000000",
        "//other.example/fhir/CarePlan/c1",
    ] {
        assert_eq!(entry("GET", url), Err(RequestError::OtherServer), "{url}");
    }
    assert!(matches!(
        entry("GET", "CarePlan/c1#x"),
        Err(RequestError::Malformed(_))
    ));
    assert!(matches!(entry("POST", ""), Err(RequestError::Malformed(_))));
    assert!(matches!(
        entry("POST", BASE),
        Err(RequestError::Malformed(_))
    ));
    assert_eq!(
        entry("PATCH", "CarePlan/c1").map(|r| r.interaction),
        Ok(Interaction::Patch {
            rtype: ResourceType::CarePlan,
            id: "c1".into()
        })
    );
    assert!(matches!(
        entry("OPTIONS", "CarePlan/c1"),
        Err(RequestError::Malformed(_))
    ));
}

#[test]
fn head_is_get_without_the_body() {
    let get = http("GET", "/fhir/Patient/p1", "");
    let head = http("HEAD", "/fhir/Patient/p1", "");
    assert_eq!(head.clone().map(|r| r.head), Ok(true));
    assert_eq!(head.map(|r| r.interaction), get.map(|r| r.interaction));
    assert_eq!(
        entry("HEAD", "Patient?_id=p1").map(|r| r.interaction),
        http("GET", "/fhir/Patient", "_id=p1").map(|r| r.interaction)
    );
    assert_eq!(
        http("HEAD", "/fhir/Patient/p1", "").map(|r| r.head),
        entry("HEAD", "Patient/p1").map(|r| r.head)
    );
}

#[test]
fn head_is_refused_where_get_would_start_something() {
    for path in [
        "/fhir/$export",
        "/fhir/Patient/$export",
        "/fhir/Group/g1/$export",
    ] {
        assert!(http("GET", path, "").is_ok(), "{path}");
        assert_eq!(
            http("HEAD", path, "").map(|r| r.interaction),
            Err(RequestError::MethodNotAllowed),
            "{path}"
        );
    }
    assert_eq!(
        entry("HEAD", "$export?_type=CarePlan").map(|r| r.interaction),
        Err(RequestError::MethodNotAllowed)
    );
    // Polling a job is safe: HEAD answers as GET.
    assert_eq!(
        http("HEAD", "/fhir/_export/j1", "").map(|r| r.head),
        Ok(true)
    );
}

/// An intent: method, path segments below the base (unencoded) and query pairs.
fn intents() -> impl Strategy<Value = (String, Vec<String>, Vec<(String, String)>)> {
    let rtype = prop::sample::select(vec![
        "Patient",
        "CarePlan",
        "QuestionnaireResponse",
        "AuditEvent",
        "Consent",
        "Nonsense",
    ]);
    let id = prop::sample::select(vec!["p1", "a-b.c", "x_y", "$extract", "_history", "7"]);
    let tail = prop::sample::select(vec![
        vec![],
        vec!["_history"],
        vec!["_history", "2"],
        vec!["$extract"],
        vec!["_search"],
    ]);
    let system = prop::sample::select(vec![
        "$audit-export",
        "$consent-explain",
        "$hna-outcomes",
        "$audit-verify",
        "metadata",
        "_history",
    ]);
    let method = prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]);
    let query = prop::sample::select(vec![
        vec![],
        vec![("_id", "p1")],
        vec![("identifier", "https://fhir.nhs.uk/Id/nhs-number|9434765919")],
        vec![
            ("performer", "Organization/o1"),
            ("_include", "CarePlan:performer"),
        ],
        vec![("start", "2026-01-01")],
    ]);
    let path = prop_oneof![
        (rtype.clone(), id, tail).prop_map(|(t, i, tail)| {
            let mut v = vec![t.to_owned(), i.to_owned()];
            v.extend(tail.into_iter().map(str::to_owned));
            v
        }),
        rtype.prop_map(|t| vec![t.to_owned()]),
        system.prop_map(|s| vec![s.to_owned()]),
    ];
    (method, path, query).prop_map(|(m, p, q)| {
        let q = q
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (m.to_owned(), p, q)
    })
}

/// Percent-encodes the characters of `s` chosen by `mask` (bit i for character i, cycling).
fn encode(s: &str, mask: u64) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if mask >> (i % 64) & 1 == 1 && c.is_ascii() {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn query_text(q: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in q {
        s.append_pair(k, v);
    }
    s.finish()
}

proptest! {
    /// The same intent, as a request and as a batch entry in each URL form, with any characters
    /// percent-encoded and an optional trailing slash, is one value: what authorisation sees is
    /// what execution runs.
    #[test]
    fn every_shape_of_an_intent_parses_alike(
        (method, path, query) in intents(),
        masks in prop::collection::vec(any::<u64>(), 6),
        slash in any::<bool>(),
    ) {
        let plain_path = format!("/fhir/{}", path.join("/"));
        let q = query_text(&query);
        let plain = http(&method, &plain_path, &q);
        let encoded: Vec<String> = path
            .iter()
            .zip(masks.iter().cycle())
            .map(|(s, m)| encode(s, *m))
            .collect();
        let mut rel = encoded.join("/");
        if slash {
            rel.push('/');
        }
        let with_query = |u: String| if q.is_empty() { u } else { format!("{u}?{q}") };
        prop_assert_eq!(&http(&method, &format!("/fhir/{rel}"), &q), &plain);
        let shapes = [
            rel.clone(),
            format!("/fhir/{rel}"),
            format!("{BASE}/{rel}"),
            format!("http://GW.example:8080/%66hir/{rel}"),
        ];
        for url in shapes {
            let via_entry = entry(&method, &with_query(url.clone()));
            match (&plain, &via_entry) {
                // A bundle cannot hold a bundle; PATCH is refused alike.
                (Ok(r), Err(RequestError::Malformed(_))) if r.interaction == Interaction::Bundle => {}
                _ => prop_assert_eq!(&via_entry, &plain, "{}", url),
            }
        }
    }

    /// Whatever the bytes, the parse answers (a request or a refusal) and never panics.
    #[test]
    fn any_path_and_query_is_answered(path in "\\PC{0,40}", query in "\\PC{0,40}") {
        let _ = http("GET", &format!("/fhir/{path}"), &query);
        let _ = entry("POST", &format!("{path}?{query}"));
    }
}

#[test]
fn if_match_takes_weak_and_strong_etags() {
    assert_eq!(parse_if_match("W/\"3\"").ok(), Some(3));
    assert_eq!(parse_if_match("\"12\"").ok(), Some(12));
    assert!(parse_if_match("W/\"x\"").is_err());
}

#[test]
fn conditional_patch_needs_criteria() {
    let p = interaction(http("PATCH", "/fhir/Patient", "identifier=s%7C1"));
    assert!(
        matches!(&p, Interaction::ConditionalPatch { rtype: ResourceType::Patient, criteria } if criteria.filters.len() == 1),
        "{p:?}"
    );
    assert_eq!(p.code(), "patch");
    assert!(p.writes());
}

#[test]
fn bulk_export_kick_offs_and_job_urls_are_parsed_once() {
    use super::ExportLevel;
    let kick = interaction(http(
        "GET",
        "/fhir/%24export",
        "_type=Patient,CarePlan&_since=2026-01-01T00:00:00Z&_typeFilter=CarePlan%3Fstatus%3Dactive",
    ));
    let Interaction::Export { level, spec } = &kick else {
        panic!("{kick:?}");
    };
    assert_eq!(*level, ExportLevel::System);
    assert_eq!(
        spec.types.as_deref(),
        Some(&[ResourceType::Patient, ResourceType::CarePlan][..])
    );
    assert!(spec.since.is_some());
    assert_eq!(spec.type_filters.len(), 1);
    assert_eq!(
        http("GET", "/fhir/Group/g1/$export", "").map(|r| r.interaction.resource_type()),
        Ok(Some(ResourceType::Group))
    );
    assert!(matches!(
        interaction(http("GET", "/fhir/Patient/$export", "")),
        Interaction::Export {
            level: ExportLevel::Patient,
            ..
        }
    ));
    for (method, path, query) in [
        ("POST", "/fhir/$export", ""),
        ("PUT", "/fhir/_export/j1", ""),
        ("DELETE", "/fhir/_export/j1/2", ""),
    ] {
        assert_eq!(
            http(method, path, query).map(|r| r.interaction),
            Err(RequestError::MethodNotAllowed),
            "{method} {path}"
        );
    }
    for query in [
        "_type=Nope",
        "_since=2026-01-01",
        "_typeFilter=CarePlan",
        "_type=Patient&_typeFilter=CarePlan%3Fstatus%3Dactive",
        "_outputFormat=text/csv",
        "includeAssociatedData=x",
    ] {
        assert!(
            matches!(
                http("GET", "/fhir/$export", query),
                Err(RequestError::Malformed(_))
            ),
            "{query}"
        );
    }
    assert!(http("GET", "/fhir/Patient/$export", "_type=Organization").is_err());
    assert_eq!(
        interaction(http("GET", "/fhir/_export/j1", "")),
        Interaction::ExportStatus { job: "j1".into() }
    );
    assert_eq!(
        interaction(http("DELETE", "/fhir/_export/j1", "")),
        Interaction::ExportCancel { job: "j1".into() }
    );
    assert_eq!(
        interaction(http("GET", "/fhir/_export/j1/3", "")),
        Interaction::ExportFile {
            job: "j1".into(),
            file: 3
        }
    );
    assert_eq!(
        http("GET", "/fhir/_export/j1/three", "").map(|r| r.interaction),
        Err(RequestError::NoRoute)
    );
    // In a bundle, a kick-off parses (and is refused by execution, which runs it on its own only).
    assert!(entry("GET", "$export").is_ok());
}

#[test]
fn a_patient_compartment_search_is_the_search_by_patient() {
    let by_path = interaction(http("GET", "/fhir/Patient/p1/CarePlan", "status=active"));
    let by_param = interaction(http(
        "GET",
        "/fhir/CarePlan",
        "status=active&patient=Patient/p1",
    ));
    let filters = |i: &Interaction| match i {
        Interaction::Search {
            rtype,
            query: Some(q),
        } => (*rtype, q.filters.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(filters(&by_path), filters(&by_param));
    let own = interaction(http("GET", "/fhir/Patient/p1/Patient", ""));
    let by_id = interaction(http("GET", "/fhir/Patient", "_id=p1"));
    assert_eq!(filters(&own), filters(&by_id));
    for (method, path, err) in [
        (
            "GET",
            "/fhir/Patient/p1/Organization",
            RequestError::NoRoute,
        ),
        ("GET", "/fhir/Patient/p1/AuditEvent", RequestError::NoRoute),
        (
            "POST",
            "/fhir/Patient/p1/CarePlan",
            RequestError::MethodNotAllowed,
        ),
    ] {
        assert_eq!(
            http(method, path, "").map(|r| r.interaction),
            Err(err),
            "{method} {path}"
        );
    }
}
