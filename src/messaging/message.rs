//! Reading a message Bundle: its header (event, reason, focus, source) and its focus referral,
//! whose references to the message's own Patient and Organization entries become conditional
//! references to the stored ones. Pure: nothing here reads the store.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{EVENTS, REASONS, REFERRAL_REQUEST};
use crate::error::Error;
use crate::fhir::OutcomeIssue;
use crate::fhir::nhs_number;

/// Why the message was sent (`MessageHeader.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A referral the receiver does not have yet.
    New,
    /// A change to a referral it has (a cancellation is a change of status to `revoked`).
    Update,
}

/// A message the gateway handles, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `MessageHeader.id`, which the reply's `response.identifier` names.
    pub header_id: Option<String>,
    /// New or update.
    pub reason: Reason,
    /// `MessageHeader.source.endpoint`: where the sender takes replies.
    pub source: Option<String>,
    /// The index of the focus entry in the message (for error paths).
    pub focus_entry: usize,
    /// The focus referral, its `id` and `meta` dropped (the gateway assigns them) and its
    /// references to message entries made conditional.
    pub referral: Value,
}

impl Message {
    /// The referral's first identifier with a system and a value, if it has one: what an
    /// update names its referral by.
    pub fn identifier(&self) -> Option<(String, String)> {
        self.referral["identifier"]
            .as_array()?
            .iter()
            .find_map(|i| {
                Some((
                    i["system"].as_str()?.to_owned(),
                    i["value"].as_str()?.to_owned(),
                ))
            })
    }

    /// Whether the message cancels its referral (an update to `revoked`).
    pub fn cancels(&self) -> bool {
        self.reason == Reason::Update && self.referral["status"] == "revoked"
    }
}

/// Reads `bundle` as a message the gateway handles: 400 naming the element for a malformed
/// message, 501 for an event or reason it has no workflow for, 422 for a referral that
/// references an entry the gateway would not keep.
pub fn read(mut bundle: Value) -> Result<Message, Error> {
    if bundle["resourceType"] != "Bundle" || bundle["type"] != "message" {
        return Err(invalid(
            "Bundle.type",
            "$process-message takes a Bundle of type message",
        ));
    }
    let mut entries = match bundle.get_mut("entry").map(Value::take) {
        Some(Value::Array(e)) if !e.is_empty() => e,
        _ => {
            return Err(invalid(
                "Bundle.entry",
                "A message has entries, its MessageHeader first",
            ));
        }
    };
    let header = entries[0]["resource"].take();
    if header["resourceType"] != "MessageHeader" {
        return Err(invalid(
            "Bundle.entry[0].resource",
            "A message's first entry is its MessageHeader",
        ));
    }
    event(&header)?;
    let reason = reason(&header)?;
    let focus = match header["focus"].as_array().map(Vec::as_slice) {
        Some([one]) => one["reference"].as_str().unwrap_or_default(),
        _ => {
            return Err(invalid(
                "MessageHeader.focus",
                "A referral message has one focus: its ServiceRequest",
            ));
        }
    };
    let by_url = urls(&entries);
    let focus_entry = by_url
        .get(focus)
        .copied()
        .filter(|i| entries[*i]["resource"]["resourceType"] == "ServiceRequest")
        .ok_or_else(|| {
            invalid(
                "MessageHeader.focus",
                "The focus must be a ServiceRequest entry of the message (by its fullUrl)",
            )
        })?;
    let mut referral = entries[focus_entry]["resource"].take();
    if let Some(o) = referral.as_object_mut() {
        o.remove("id");
        o.remove("meta");
    }
    let mut unkept = Vec::new();
    resolve(
        &mut referral,
        "ServiceRequest",
        &by_url,
        &entries,
        &mut unkept,
    );
    if !unkept.is_empty() {
        return Err(Error::BusinessRule(unkept));
    }
    Ok(Message {
        header_id: header["id"].as_str().map(str::to_owned),
        reason,
        source: header["source"]["endpoint"].as_str().map(str::to_owned),
        focus_entry,
        referral,
    })
}

fn event(header: &Value) -> Result<(), Error> {
    let coding = &header["eventCoding"];
    if coding.is_null() {
        return Err(Error::NotImplemented(
            "Only messages with an eventCoding are handled (the event servicerequest-request)"
                .into(),
        ));
    }
    match (coding["system"].as_str(), coding["code"].as_str()) {
        (Some(EVENTS), Some(REFERRAL_REQUEST)) => Ok(()),
        (system, code) => Err(Error::NotImplemented(format!(
            "The gateway handles the event {EVENTS}|{REFERRAL_REQUEST} only, not {}|{}",
            clip(system.unwrap_or_default()),
            clip(code.unwrap_or_default())
        ))),
    }
}

fn reason(header: &Value) -> Result<Reason, Error> {
    let codings = header["reason"]["coding"].as_array();
    let code = codings
        .into_iter()
        .flatten()
        .find(|c| c["system"] == REASONS)
        .and_then(|c| c["code"].as_str())
        .ok_or_else(|| {
            invalid(
                "MessageHeader.reason",
                "A referral message gives its reason (new or update) from the BaRS reasons",
            )
        })?;
    match code {
        "new" => Ok(Reason::New),
        "update" => Ok(Reason::Update),
        other => Err(Error::NotImplemented(format!(
            "The reason '{}' is not handled; send new or update",
            clip(other)
        ))),
    }
}

/// Each entry's index by the URLs it can be referenced by: its `fullUrl` and `Type/id`.
fn urls(entries: &[Value]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(u) = e["fullUrl"].as_str() {
            out.insert(u.to_owned(), i);
        }
        let r = &e["resource"];
        if let (Some(t), Some(id)) = (r["resourceType"].as_str(), r["id"].as_str()) {
            out.insert(format!("{t}/{id}"), i);
        }
    }
    out
}

/// Rewrites every reference under `v` (at FHIRPath `path`) that names a message entry: Patient
/// and Organization entries become conditional references by NHS number or ODS code; any other
/// entry, or one without that identifier, is an issue.
fn resolve(
    v: &mut Value,
    path: &str,
    by_url: &HashMap<String, usize>,
    entries: &[Value],
    issues: &mut Vec<OutcomeIssue>,
) {
    match v {
        Value::Object(o) => {
            let named = o
                .get("reference")
                .and_then(Value::as_str)
                .and_then(|r| by_url.get(r));
            if let Some(i) = named {
                let target = &entries[*i]["resource"];
                match conditional(target) {
                    Ok(c) => {
                        o.insert("reference".into(), json!(c));
                    }
                    Err(why) => issues.push(
                        OutcomeIssue::error("business-rule", why).at(format!("{path}.reference")),
                    ),
                }
                return;
            }
            for (k, child) in o.iter_mut() {
                resolve(child, &format!("{path}.{k}"), by_url, entries, issues);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter_mut().enumerate() {
                resolve(child, &format!("{path}[{i}]"), by_url, entries, issues);
            }
        }
        _ => {}
    }
}

/// The conditional reference to the stored resource a message entry stands for.
fn conditional(entry: &Value) -> Result<String, String> {
    let rtype = entry["resourceType"].as_str().unwrap_or_default();
    let system = match rtype {
        "Patient" => nhs_number::SYSTEM,
        "Organization" => crate::fhir::ods::SYSTEM,
        other => {
            return Err(format!(
                "The referral references the message's {} entry; the gateway keeps only the referral, so reference a stored resource instead",
                clip(other)
            ));
        }
    };
    entry["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["system"] == system)
        .and_then(|i| i["value"].as_str())
        .map(|value| format!("{rtype}?identifier={system}|{}", encoded(value)))
        .ok_or_else(|| {
            format!("The message's {rtype} entry has no {system} identifier to find it by")
        })
}

/// `value` percent-encoded for a search parameter's value: all but unreserved characters, so
/// that no `&`, `|`, `,` or `%` in it can change the query.
pub fn encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn invalid(expression: &str, message: &str) -> Error {
    Error::InvalidResource(vec![OutcomeIssue::error("invalid", message).at(expression)])
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests;
