//! `OperationOutcome`: the body of every error and of `Prefer: return=OperationOutcome`.

use serde_json::{Value, json};

/// Issue severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The request failed.
    Error,
    /// Worth knowing; the request succeeded.
    Warning,
    /// For information.
    Information,
}

impl Severity {
    fn code(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// One issue of an OperationOutcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeIssue {
    /// Severity.
    pub severity: Severity,
    /// The `IssueType` code (`invalid`, `structure`, `not-found`, ...).
    pub code: &'static str,
    /// Human-readable text (`diagnostics`).
    pub diagnostics: String,
    /// FHIRPath locations (`expression`), when known.
    pub expression: Option<String>,
}

impl OutcomeIssue {
    /// An error issue.
    pub fn error(code: &'static str, diagnostics: impl Into<String>) -> Self {
        OutcomeIssue {
            severity: Severity::Error,
            code,
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    /// An informational issue.
    pub fn information(code: &'static str, diagnostics: impl Into<String>) -> Self {
        OutcomeIssue {
            severity: Severity::Information,
            code,
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    /// Adds a location.
    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }
}

/// Builds the OperationOutcome JSON for `issues`.
pub fn operation_outcome(issues: &[OutcomeIssue]) -> Value {
    let issues: Vec<Value> = issues
        .iter()
        .map(|i| {
            let mut v = json!({"severity": i.severity.code(), "code": i.code, "diagnostics": i.diagnostics});
            if let Some(e) = &i.expression {
                v["expression"] = json!([e]);
            }
            v
        })
        .collect();
    json!({"resourceType": "OperationOutcome", "issue": issues})
}
