//! `GET /metadata`: the CapabilityStatement, generated from what is implemented (the resource types,
//! the interactions the router serves, the search registry), so it cannot drift from the code.
//! `conformance/CapabilityStatement.json` is a checked-in copy that a test keeps equal.

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::response::FHIR_JSON;
use super::smart::{OauthUris, SmartConfiguration};
use crate::fhir::ResourceType;
use crate::hna::Canonical;
use crate::rest::Engine;
use crate::search::registry::{self, ParamKind};

/// Interactions served for every type.
const TYPE_INTERACTIONS: &[&str] = &[
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
];

/// The CapabilityStatement for a deployment whose FHIR base is `base_url`, whose HNA profiles are
/// under the canonical base `canonical`, and whose clients get tokens at `oauth` (the SMART
/// configuration's endpoints).
pub fn capability_statement(base_url: &str, canonical: &Canonical, oauth: &OauthUris) -> Value {
    let resources: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|t| resource(*t, canonical))
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-24",
        "publisher": "carebridge",
        "kind": "instance",
        "software": {"name": "carebridge", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "carebridge FHIR gateway", "url": base_url},
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "extension": oauth_uris(oauth),
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"
                }]}],
                "description": "Every interaction but this statement needs a bearer token (SMART scopes); see /.well-known/smart-configuration. Every resource served passes the patient's Consent: hidden resources answer as missing, searches and totals count only what the caller may see, redacted resources carry meta.security REDACTED."
            },
            "resource": resources,
            "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
            "operation": system_operations(canonical),
            "searchParam": [
                {"name": "_id", "type": "token"},
                {"name": "_lastUpdated", "type": "date"},
                {"name": "_count", "type": "number"},
                {"name": "_sort", "type": "string"},
                {"name": "_summary", "type": "token"},
                {"name": "_elements", "type": "string"},
                {"name": "_has", "type": "string"},
            ],
        }],
        "messaging": [messaging(base_url, canonical)],
    })
}

/// The system-level operations: FHIR messaging, Bulk Data `$export`, and the gateway's own (each
/// with its served OperationDefinition).
fn system_operations(canonical: &Canonical) -> Vec<Value> {
    let mut ops = vec![
        json!({
            "name": "process-message",
            "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"
        }),
        json!({"name": "export", "definition": BULK_EXPORT}),
    ];
    ops.extend(crate::hna::profiles::operation_codes().map(|code| {
        json!({"name": code, "definition": crate::hna::profiles::operation_url(canonical, code)})
    }));
    ops
}

/// The Bulk Data IG's OperationDefinitions of `$export` at each level.
const BULK_EXPORT: &str = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export";
const BULK_PATIENT_EXPORT: &str =
    "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export";
const BULK_GROUP_EXPORT: &str = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export";

/// The SMART `oauth-uris` extension: where clients get tokens (none when no endpoint is known).
fn oauth_uris(oauth: &OauthUris) -> Vec<Value> {
    let parts: Vec<Value> = [
        ("token", &oauth.token),
        ("authorize", &oauth.authorize),
        ("introspect", &oauth.introspect),
    ]
    .into_iter()
    .filter_map(|(name, uri)| uri.as_ref().map(|u| json!({"url": name, "valueUri": u})))
    .collect();
    if parts.is_empty() {
        return Vec::new();
    }
    vec![json!({
        "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
        "extension": parts,
    })]
}

/// FHIR messaging: the BaRS referral message, received synchronously at `$process-message`
/// (`crate::messaging`).
fn messaging(base_url: &str, canonical: &Canonical) -> Value {
    json!({
        "endpoint": [{
            "protocol": {"system": "http://terminology.hl7.org/CodeSystem/message-transport", "code": "http"},
            "address": format!("{base_url}/$process-message"),
        }],
        "documentation": "Referral messages (NHS Booking and Referral Standard, servicerequest-request, reason new or update) become the referral workflow's writes in one transaction and are answered synchronously. X-Request-ID and X-Correlation-ID (GUIDs) are required and echoed; a repeat of a processed message gets its first reply; errors carry BaRS codes (REC_*).",
        "supportedMessage": [{"mode": "receiver", "definition": canonical.referral_message()}],
    })
}

/// AuditEvent: the gateway's own audit log, read and searched only (`crate::audit::search`).
fn audit_event() -> Value {
    let param = |name: &str, kind: &str| json!({"name": name, "type": kind});
    json!({
        "type": "AuditEvent",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "no-version",
        "readHistory": false,
        "updateCreate": false,
        "conditionalCreate": false,
        "conditionalUpdate": false,
        "conditionalDelete": "not-supported",
        "conditionalRead": "not-supported",
        "searchParam": [
            param("patient", "reference"),
            param("entity", "reference"),
            param("agent", "reference"),
            param("agent-role", "token"),
            param("organization", "token"),
            param("purpose", "token"),
            param("date", "date"),
            param("action", "token"),
            param("outcome", "token"),
            param("type", "token"),
            param("subtype", "token"),
        ],
    })
}

fn resource(t: ResourceType, canonical: &Canonical) -> Value {
    if t == ResourceType::AuditEvent {
        return audit_event();
    }
    let params: Vec<Value> = registry::all_params(t)
        .map(|d| json!({"name": d.name, "type": d.kind.fhir_name()}))
        .chain([
            json!({"name": "_id", "type": "token"}),
            json!({"name": "_lastUpdated", "type": "date"}),
        ])
        .collect();
    let includes: Vec<String> = registry::params_of(t)
        .iter()
        .filter(|d| d.kind == ParamKind::Reference)
        .map(|d| format!("{t}:{}", d.name))
        .collect();
    let revincludes: Vec<String> = ResourceType::ALL
        .iter()
        .filter(|source| **source != ResourceType::AuditEvent)
        .flat_map(|source| {
            registry::params_of(*source)
                .iter()
                .filter(move |d| {
                    d.kind == ParamKind::Reference
                        && (d.targets.is_empty() || d.targets.contains(&t))
                })
                .map(move |d| format!("{source}:{}", d.name))
        })
        .collect();
    let interactions: Vec<Value> = TYPE_INTERACTIONS
        .iter()
        .map(|c| json!({"code": c}))
        .collect();
    without_empty_arrays(json!({
        "extension": topic_extensions(t, canonical),
        "type": t.as_str(),
        "supportedProfile": canonical.profiles_of(t),
        "interaction": interactions,
        "versioning": "versioned-update",
        "readHistory": true,
        "updateCreate": true,
        "conditionalCreate": true,
        "conditionalUpdate": true,
        "conditionalDelete": "single",
        "conditionalRead": "not-supported",
        "referencePolicy": ["literal", "logical", "local"],
        "searchInclude": includes,
        "searchRevInclude": revincludes,
        "searchParam": params,
        "operation": operations(t),
    }))
}

/// On `Subscription`, the topics subscribers may name (the Subscriptions backport's
/// `capabilitystatement-subscriptiontopic-canonical`, `crate::subscription::topic`).
fn topic_extensions(t: ResourceType, canonical: &crate::hna::Canonical) -> Vec<Value> {
    if t != ResourceType::Subscription {
        return Vec::new();
    }
    crate::subscription::topic::Topic::ALL
        .iter()
        .map(|topic| {
            json!({
                "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical",
                "valueCanonical": crate::subscription::topic_url(canonical, *topic),
            })
        })
        .collect()
}

/// The operations served on type `t`: `$validate` on every written type, SDC `$extract` on
/// QuestionnaireResponse, Bulk Data `$export` on Patient and Group, the Subscriptions backport's
/// `$status` and `$events` on Subscription.
fn operations(t: ResourceType) -> Vec<Value> {
    let mut ops = vec![json!({
        "name": "validate",
        "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"
    })];
    if t == ResourceType::QuestionnaireResponse {
        ops.push(json!({
            "name": "extract",
            "definition": "http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract"
        }));
    }
    match t {
        ResourceType::Patient => {
            ops.push(json!({"name": "export", "definition": BULK_PATIENT_EXPORT}))
        }
        ResourceType::Group => ops.push(json!({"name": "export", "definition": BULK_GROUP_EXPORT})),
        ResourceType::Subscription => {
            let backport = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition";
            ops.push(json!({"name": "status", "definition": format!("{backport}/backport-subscription-status")}));
            ops.push(json!({"name": "events", "definition": format!("{backport}/backport-subscription-events")}));
        }
        _ => {}
    }
    ops
}

/// `GET /metadata`.
pub fn metadata(engine: &Engine, smart: &SmartConfiguration) -> HttpResponse {
    let statement = capability_statement(engine.base_url(), engine.canonical(), smart.uris());
    HttpResponse::Ok()
        .insert_header(("content-type", FHIR_JSON))
        .body(without_empty_security_extension(statement).to_string())
}

/// FHIR JSON allows no empty arrays: drop `rest.security.extension` when no endpoint is known.
fn without_empty_security_extension(mut v: Value) -> Value {
    if let Some(security) = v.pointer_mut("/rest/0/security") {
        *security = without_empty_arrays(security.take());
    }
    v
}

/// FHIR JSON allows no empty arrays: drop the keys whose list came out empty.
fn without_empty_arrays(mut v: Value) -> Value {
    if let Value::Object(map) = &mut v {
        map.retain(|_, child| !matches!(child, Value::Array(a) if a.is_empty()));
    }
    v
}
