//! `GET /metadata`: a CapabilityStatement that describes what the server really does. Beyond its
//! shape, every search parameter, include and revinclude it advertises is tried against the server.

use serde_json::Value;

use crate::helpers::*;

/// The resource types the mission needs (docs/design.md section 7).
const MISSION_TYPES: &[&str] = &[
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "CareTeam",
    "Questionnaire",
    "QuestionnaireResponse",
    "CarePlan",
    "Goal",
    "Condition",
    "ServiceRequest",
    "Task",
    "Consent",
    "AuditEvent",
    "Provenance",
];

const INTERACTIONS: &[&str] = &[
    "read",
    "vread",
    "update",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
];

async fn statement(app: &TestApp) -> Value {
    let r = app.get("metadata").await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    r.json()
}

fn resources(cs: &Value) -> Vec<Value> {
    cs["rest"][0]["resource"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v[key].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn metadata_is_a_capability_statement_for_fhir_4_0_1() {
    let app = spawn_app().await;
    let cs = statement(&app).await;
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["kind"], "instance");
    assert_eq!(cs["status"], "active");
    assert_eq!(cs["implementation"]["url"], app.base.as_str());
    assert!(
        cs["format"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "application/fhir+json"))
    );
    assert_eq!(cs["rest"][0]["mode"], "server");
    let system = names(&cs["rest"][0]["interaction"], "code");
    for code in ["transaction", "batch", "history-system"] {
        assert!(
            system.iter().any(|c| c == code),
            "{code} missing from {system:?}"
        );
    }
}

#[tokio::test]
async fn metadata_lists_each_served_type_with_its_interactions_and_search_params() {
    let app = spawn_app().await;
    let cs = statement(&app).await;
    let served = resources(&cs);
    for t in MISSION_TYPES {
        let r = served
            .iter()
            .find(|r| r["type"] == *t)
            .unwrap_or_else(|| panic!("{t} is not in the CapabilityStatement"));
        let interactions = names(&r["interaction"], "code");
        // The audit log is read and searched only (auth::audit_events_cannot_be_created_updated_or_deleted).
        if *t == "AuditEvent" {
            assert_eq!(interactions, vec!["read", "search-type"]);
            continue;
        }
        for i in INTERACTIONS {
            assert!(
                interactions.iter().any(|x| x == i),
                "{t} lacks {i}: {interactions:?}"
            );
        }
        let params = names(&r["searchParam"], "name");
        assert!(params.iter().any(|p| p == "_id"), "{t} lacks _id");
        assert!(
            params.iter().any(|p| p == "_lastUpdated"),
            "{t} lacks _lastUpdated"
        );
        assert_eq!(r["versioning"], "versioned-update", "{t}");
        assert_eq!(r["conditionalCreate"], true, "{t}");
    }
    let params_of = |t: &str| {
        let r = served
            .iter()
            .find(|r| r["type"] == t)
            .cloned()
            .unwrap_or_default();
        names(&r["searchParam"], "name")
    };
    for (t, p) in [
        ("Patient", "identifier"),
        ("Patient", "family"),
        ("Patient", "birthdate"),
        ("CarePlan", "patient"),
        ("CarePlan", "status"),
        ("CarePlan", "subject"),
        ("QuestionnaireResponse", "authored"),
        ("QuestionnaireResponse", "patient"),
        ("ServiceRequest", "performer"),
        ("ServiceRequest", "status"),
        ("Consent", "patient"),
        ("Provenance", "target"),
        ("Task", "owner"),
    ] {
        assert!(
            params_of(t).iter().any(|x| x == p),
            "{t} lacks search parameter {p}"
        );
    }
    let careplan = served
        .iter()
        .find(|r| r["type"] == "CarePlan")
        .cloned()
        .unwrap_or_default();
    assert!(names(&careplan["searchParam"], "type").iter().all(|k| {
        [
            "token",
            "string",
            "date",
            "reference",
            "uri",
            "number",
            "quantity",
            "composite",
            "special",
        ]
        .contains(&k.as_str())
    }));
}

/// A plausible value for a search parameter of `kind`.
fn sample_value(kind: &str) -> &'static str {
    match kind {
        "token" => "x",
        "string" => "x",
        "date" => "2026",
        "reference" => "x",
        "uri" => "https://example.org/x",
        "number" => "1",
        _ => "x",
    }
}

#[tokio::test]
async fn every_advertised_search_parameter_is_accepted() {
    let app = spawn_app().await;
    let cs = statement(&app).await;
    let mut tried = 0;
    for r in resources(&cs) {
        let t = r["type"].as_str().unwrap_or_default();
        for p in r["searchParam"].as_array().cloned().unwrap_or_default() {
            let name = p["name"].as_str().unwrap_or_default();
            let value = sample_value(p["type"].as_str().unwrap_or_default());
            let resp = app.search(t, &format!("{name}={value}")).await;
            assert_eq!(resp.status, 200, "{t}?{name}={value}: {}", resp.text);
            tried += 1;
        }
    }
    assert!(tried > 100, "only {tried} parameters advertised");
    for (name, value) in [
        ("_count", "1"),
        ("_sort", "_lastUpdated"),
        ("_summary", "count"),
        ("_elements", "id"),
    ] {
        app.search("Patient", &format!("{name}={value}"))
            .await
            .assert_status(200);
    }
}

#[tokio::test]
async fn every_advertised_include_and_revinclude_is_accepted() {
    let app = spawn_app().await;
    let cs = statement(&app).await;
    for r in resources(&cs) {
        let t = r["type"].as_str().unwrap_or_default();
        for (key, list) in [
            ("_include", &r["searchInclude"]),
            ("_revinclude", &r["searchRevInclude"]),
        ] {
            for v in list.as_array().cloned().unwrap_or_default() {
                let v = v.as_str().unwrap_or_default();
                let resp = app.search(t, &format!("{key}={v}")).await;
                assert_eq!(resp.status, 200, "{t}?{key}={v}: {}", resp.text);
            }
        }
    }
    let careplan = resources(&cs)
        .into_iter()
        .find(|r| r["type"] == "CarePlan")
        .unwrap_or_default();
    assert!(
        careplan["searchInclude"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "CarePlan:subject"))
    );
    let qr = resources(&cs)
        .into_iter()
        .find(|r| r["type"] == "QuestionnaireResponse")
        .unwrap_or_default();
    assert!(
        qr["searchRevInclude"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "Provenance:target"))
    );
}

#[tokio::test]
async fn types_not_in_the_capability_statement_are_not_served() {
    let app = spawn_app().await;
    let cs = statement(&app).await;
    let served: Vec<String> = resources(&cs)
        .iter()
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect();
    for t in ["Observation", "Encounter", "Appointment"] {
        assert!(!served.contains(&t.to_owned()));
        app.search(t, "").await.assert_status(404);
    }
    for t in &served {
        app.search(t, "").await.assert_status(200);
    }
}

/// Paths of empty arrays and objects, which FHIR JSON does not allow.
pub fn empty_containers(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            if items.is_empty() {
                out.push(path.to_owned());
            }
            for (i, item) in items.iter().enumerate() {
                empty_containers(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            if o.is_empty() {
                out.push(path.to_owned());
            }
            for (k, item) in o {
                empty_containers(item, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_capability_statement_is_valid_fhir_json_without_empty_arrays() {
    let app = spawn_app().await;
    let cs = statement(&app).await;
    let mut empty = Vec::new();
    empty_containers(&cs, "CapabilityStatement", &mut empty);
    assert!(empty.is_empty(), "empty arrays or objects at {empty:?}");
}

/// Every operation the CapabilityStatement names is either a published one (HL7, SDC, Bulk Data)
/// or the gateway's own, whose OperationDefinition it serves at its canonical URL's id.
#[tokio::test]
async fn every_custom_operation_has_a_served_operation_definition() {
    let app = spawn_app().await;
    let cs = app.get("metadata").await.json();
    let ops = cs["rest"][0]["operation"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = ops.iter().filter_map(|o| o["name"].as_str()).collect();
    for expected in [
        "export",
        "hna-outcomes",
        "consent-explain",
        "audit-verify",
        "audit-export",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let mut own = 0;
    for op in &ops {
        let definition = op["definition"].as_str().expect("definition");
        if definition.starts_with("http://hl7.org/") {
            continue;
        }
        own += 1;
        let id = definition.rsplit('/').next().expect("an id");
        let served = app.read("OperationDefinition", id).await;
        served.assert_status(200);
        let od = served.json();
        assert_eq!(od["url"], definition);
        assert_eq!(od["code"], op["name"]);
    }
    assert_eq!(own, 4);
}
