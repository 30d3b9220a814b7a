//! The OperationDefinitions of the gateway's own operations, served under the canonical base and
//! named in the CapabilityStatement (`crate::http::capability`), so a client can discover what
//! each takes. Standard operations (`$validate`, SDC `$extract`, `$process-message`, Bulk Data
//! `$export`) are named by their published definitions instead.

use serde_json::{Value, json};

use super::{ARTEFACT_DATE, ARTEFACT_VERSION, PUBLISHER};
use crate::hna::Canonical;

/// One input or output parameter: `(name, use, min, max, type, documentation)`.
type Param = (
    &'static str,
    &'static str,
    u32,
    &'static str,
    &'static str,
    &'static str,
);

/// Every custom operation: `(code, title, description, parameters)`.
const OPERATIONS: &[(&str, &str, &str, &[Param])] = &[
    (
        "hna-outcomes",
        "HNA outcome tables",
        "The evaluators' outcome tables over the HNAs, plans and referrals of the period (small \
         numbers suppressed), as JSON, CSV (text/csv) or a MeasureReport (application/fhir+json). \
         System callers only.",
        &[
            (
                "organization",
                "in",
                1,
                "1",
                "string",
                "ODS code of the service reported on",
            ),
            ("start", "in", 1, "1", "date", "First day of the period"),
            ("end", "in", 1, "1", "date", "Last day of the period"),
            (
                "return",
                "out",
                1,
                "1",
                "MeasureReport",
                "The report (or JSON / CSV by Accept)",
            ),
        ],
    ),
    (
        "consent-explain",
        "Explain a consent decision",
        "Which rule and which Consent decide what a caller of a given role and organisation sees of \
         one resource, and what it would be shown. Auditors and system callers.",
        &[
            (
                "resource",
                "in",
                1,
                "1",
                "string",
                "The resource, as Type/id",
            ),
            ("role", "in", 1, "1", "code", "The caller's sharing role"),
            (
                "organization",
                "in",
                0,
                "1",
                "string",
                "The caller's ODS code (roles that act for one)",
            ),
            (
                "purpose",
                "in",
                0,
                "1",
                "code",
                "Purpose of use (v3-ActReason), TREAT by default",
            ),
            (
                "patient",
                "in",
                0,
                "1",
                "string",
                "The patient of a patient-context caller",
            ),
            (
                "break-glass-reason",
                "in",
                0,
                "1",
                "string",
                "A reason, to explain broken-glass access",
            ),
            (
                "return",
                "out",
                1,
                "1",
                "Parameters",
                "The decision and what decided it",
            ),
        ],
    ),
    (
        "audit-verify",
        "Verify the audit log",
        "Checks every hash chain of the audit log from its start and reports each chain's head, or \
         where a chain breaks. Auditors and system callers.",
        &[(
            "return",
            "out",
            1,
            "1",
            "Parameters",
            "Each chain's verified count and head, or the break",
        )],
    ),
    (
        "audit-export",
        "Export the audit log",
        "The AuditEvents recorded in a period, as application/fhir+ndjson in storage order, streamed. \
         Auditors and system callers. The same events are available the Bulk Data way with \
         $export?_type=AuditEvent.",
        &[
            ("start", "in", 0, "1", "dateTime", "From (inclusive)"),
            (
                "end",
                "in",
                0,
                "1",
                "dateTime",
                "To (the end of what it names)",
            ),
        ],
    ),
];

/// The OperationDefinitions, ids as their codes.
pub fn operation_definitions(c: &Canonical) -> Vec<Value> {
    OPERATIONS
        .iter()
        .map(|(code, title, description, params)| {
            let parameter: Vec<Value> = params
                .iter()
                .map(|(name, use_, min, max, kind, doc)| {
                    json!({"name": name, "use": use_, "min": min, "max": max,
                        "type": kind, "documentation": doc})
                })
                .collect();
            json!({
                "resourceType": "OperationDefinition",
                "id": code,
                "url": operation_url(c, code),
                "version": ARTEFACT_VERSION,
                "name": title.replace(' ', ""),
                "title": title,
                "status": "active",
                "kind": "operation",
                "date": ARTEFACT_DATE,
                "publisher": PUBLISHER,
                "description": description,
                "affectsState": false,
                "code": code,
                "system": true,
                "type": false,
                "instance": false,
                "parameter": parameter,
            })
        })
        .collect()
}

/// The canonical URL of custom operation `code`.
pub fn operation_url(c: &Canonical, code: &str) -> String {
    c.url(&format!("OperationDefinition/{code}"))
}

/// The codes of the custom operations.
pub fn operation_codes() -> impl Iterator<Item = &'static str> {
    OPERATIONS.iter().map(|(code, ..)| *code)
}
