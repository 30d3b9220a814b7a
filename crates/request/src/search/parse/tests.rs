use super::*;
use crate::ResourceType::*;

const OPTS: ParseOptions = ParseOptions {
    lenient: false,
    default_count: 20,
    max_count: 1000,
};

fn pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn one(rtype: ResourceType, q: &str) -> Predicate {
    let parsed = parse(rtype, &pairs(q), OPTS).expect("parses");
    parsed.filters[0].0[0].clone()
}

#[test]
fn tokens_take_every_system_form() {
    assert_eq!(
        one(Patient, "identifier=s|1"),
        Predicate::Token {
            param: "identifier",
            system: SystemMatch::Is("s".into()),
            code: Some("1".into()),
            negate: false
        }
    );
    assert_eq!(
        one(Patient, "gender=|female"),
        Predicate::Token {
            param: "gender",
            system: SystemMatch::None,
            code: Some("female".into()),
            negate: false
        }
    );
    assert_eq!(
        one(Patient, "identifier=s|"),
        Predicate::Token {
            param: "identifier",
            system: SystemMatch::Is("s".into()),
            code: None,
            negate: false
        }
    );
    assert!(matches!(
        one(CarePlan, "status:not=active"),
        Predicate::Token { negate: true, .. }
    ));
}

#[test]
fn commas_are_alternatives_and_escaped_commas_are_not() {
    let q = parse(CarePlan, &pairs("status=active,draft"), OPTS).expect("parses");
    assert_eq!(q.filters[0].0.len(), 2);
    let q = parse(Patient, &pairs("name=a%5C,b"), OPTS).expect("parses");
    assert_eq!(
        q.filters[0].0,
        vec![Predicate::String {
            param: "name",
            value: "a,b".into(),
            mode: StringMatch::StartsWith
        }]
    );
}

#[test]
fn references_accept_type_slash_id_and_bare_ids() {
    assert_eq!(
        one(ServiceRequest, "performer=Organization/x"),
        Predicate::Reference {
            param: "performer",
            rtype: Some(Organization),
            id: "x".into()
        }
    );
    assert_eq!(
        one(CarePlan, "subject=p1"),
        Predicate::Reference {
            param: "subject",
            rtype: None,
            id: "p1".into()
        }
    );
    assert!(matches!(
        one(
            CarePlan,
            "patient:identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919"
        ),
        Predicate::RefIdentifier {
            param: "patient",
            ..
        }
    ));
}

#[test]
fn chains_resolve_their_target_type() {
    match one(CarePlan, "patient.identifier=s|1") {
        Predicate::Chain {
            param: "patient",
            target: Patient,
            inner,
        } => {
            assert!(matches!(
                *inner,
                Predicate::Token {
                    param: "identifier",
                    ..
                }
            ))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        one(CarePlan, "subject:Patient.name=smith"),
        Predicate::Chain {
            target: Patient,
            ..
        }
    ));
    assert!(matches!(
        parse(CarePlan, &pairs("subject.name=smith"), OPTS),
        Err(SearchParseError::InvalidValue { .. })
    ));
}

#[test]
fn dates_take_prefixes() {
    assert!(matches!(
        one(QuestionnaireResponse, "authored=ge2026-01-01"),
        Predicate::Date {
            prefix: Prefix::Ge,
            ..
        }
    ));
    assert!(matches!(
        one(Patient, "_lastUpdated=lt2026-01-01T10:00:00Z"),
        Predicate::LastUpdated(Prefix::Lt, _)
    ));
    assert!(matches!(
        parse(Patient, &pairs("birthdate=ge20260101"), OPTS),
        Err(SearchParseError::InvalidValue { .. })
    ));
}

#[test]
fn unknown_parameters_fail_unless_lenient() {
    let p = pairs("foo=bar&gender=male");
    assert_eq!(
        parse(Patient, &p, OPTS),
        Err(SearchParseError::UnknownParameter("foo".into()))
    );
    let lenient = parse(
        Patient,
        &p,
        ParseOptions {
            lenient: true,
            ..OPTS
        },
    )
    .expect("lenient");
    assert_eq!(lenient.filters.len(), 1);
    assert_eq!(
        lenient.canonical,
        vec![("gender".to_owned(), "male".to_owned())]
    );
}

#[test]
fn result_controls_are_parsed() {
    let q = parse(CarePlan, &pairs("_count=5000&_sort=-_lastUpdated,date&_include=CarePlan:subject&_revinclude=Provenance:target&_summary=count&_elements=status,subject"), OPTS).expect("parses");
    assert_eq!(q.count, 1000);
    assert_eq!(
        q.sort,
        vec![
            SortKey {
                by: SortBy::LastUpdated,
                descending: true
            },
            SortKey {
                by: SortBy::Date("date"),
                descending: false
            }
        ]
    );
    assert_eq!(
        q.includes,
        vec![Include {
            source: CarePlan,
            param: "subject",
            target: None
        }]
    );
    assert_eq!(
        q.revincludes,
        vec![Include {
            source: Provenance,
            param: "target",
            target: None
        }]
    );
    assert_eq!(q.summary, Summary::Count);
    assert_eq!(q.elements, Some(vec!["status".into(), "subject".into()]));
    assert!(parse(CarePlan, &pairs("_include=Patient:organization"), OPTS).is_err());
    assert!(parse(CarePlan, &pairs("_count=-1"), OPTS).is_err());
}

#[test]
fn a_control_character_in_a_name_or_value_is_refused_lenient_or_not() {
    let lenient = ParseOptions {
        lenient: true,
        ..OPTS
    };
    for q in [
        "name=%00",
        "name=Sm%07ith",
        "name:exact=a%00b",
        "family=Smith,a%00",
        "_id=a%00b",
        "identifier=s|%00",
        "general-practitioner=Organization/a%00",
        "organization.name=%00",
        "_getpages=%00",
        "_format=json%00",
        "_sort=name%00",
        "_count=1%7F",
        "name=a%09b",
        "name=a%0Ab",
    ] {
        for opts in [OPTS, lenient] {
            match parse(Patient, &pairs(q), opts) {
                Err(SearchParseError::InvalidValue { reason, .. }) => {
                    assert!(reason.contains("control character"), "{q}: {reason}");
                }
                other => panic!("{q}: {other:?}"),
            }
        }
    }
    // A name with one is refused, not ignored as unknown, and is not echoed as sent.
    for opts in [OPTS, lenient] {
        match parse(Patient, &pairs("na%00me=x"), opts) {
            Err(SearchParseError::InvalidValue { param, .. }) => assert_eq!(param, "na\u{fffd}me"),
            other => panic!("{other:?}"),
        }
    }
    // Chained through a reference parameter of another type.
    assert!(parse(CarePlan, &pairs("subject:Patient.name=%00"), OPTS).is_err());
    // Non-ASCII text is not a control character.
    assert!(parse(Patient, &pairs("name=Si%C3%A2n"), OPTS).is_ok());
}

#[test]
fn a_chain_keeps_to_the_types_its_parameter_can_point_at() {
    let opts = ParseOptions {
        lenient: true,
        default_count: 20,
        max_count: 100,
    };
    let pairs = |k: &str| vec![(k.to_owned(), "st".to_owned())];
    // Lenient or not: ignoring it would widen the search.
    assert!(matches!(
        parse(CarePlan, &pairs("patient:Organization.name"), opts),
        Err(SearchParseError::InvalidValue { .. })
    ));
    assert!(parse(CarePlan, &pairs("subject:Organization.name"), opts).is_ok());
    assert!(parse(CarePlan, &pairs("patient:Patient.name"), opts).is_ok());
}

#[test]
fn reverse_chains_name_a_source_type_and_a_reference_that_can_point_back() {
    let Predicate::Has {
        source,
        param,
        inner,
    } = one(Patient, "_has:CarePlan:subject:status=active")
    else {
        panic!("not a reverse chain");
    };
    assert_eq!((source, param), (CarePlan, "subject"));
    assert!(matches!(
        *inner,
        Predicate::Token {
            param: "status",
            ..
        }
    ));
    // Nested: referrals with a Task whose owner is found by identifier.
    assert!(matches!(
        one(ServiceRequest, "_has:Task:focus:owner:identifier=s|H1"),
        Predicate::Has {
            source: Task,
            param: "focus",
            ..
        }
    ));
    for bad in [
        "_has:CarePlan:goal:status=active",
        "_has:Nope:subject:status=active",
        "_has:CarePlan:subject=active",
        "_has:CarePlan:status:status=active",
        "_has:CarePlan:subject:nope=1",
    ] {
        assert!(parse(Patient, &pairs(bad), OPTS).is_err(), "{bad}");
    }
}
