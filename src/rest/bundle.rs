//! Assembly of searchset and history Bundles from stored JSON text, without parsing it again.

use serde_json::{Value, json};

use crate::fhir::instant::{format_instant, now_ms};

/// A Bundle being written as JSON text.
pub struct BundleWriter {
    out: String,
    entries: usize,
}

impl BundleWriter {
    /// Starts a bundle of `kind` (`searchset`, `history`, ...) with optional `total` and links.
    pub fn new(kind: &str, total: Option<u64>, links: &[(&str, String)]) -> Self {
        let links: Vec<Value> = links
            .iter()
            .map(|(rel, url)| json!({"relation": rel, "url": url}))
            .collect();
        let mut head = json!({
            "resourceType": "Bundle",
            "id": uuid::Uuid::new_v4().to_string(),
            "meta": {"lastUpdated": format_instant(now_ms())},
            "type": kind,
        });
        if let Some(t) = total {
            head["total"] = json!(t);
        }
        if !links.is_empty() {
            head["link"] = Value::Array(links);
        }
        let mut out = head.to_string();
        out.pop(); // reopen the object to append entries
        out.push_str(",\"entry\":[");
        BundleWriter { out, entries: 0 }
    }

    /// Appends an entry: `fields` are its JSON members other than `resource`, which is `resource_json`
    /// (stored text, inserted verbatim) when given.
    pub fn entry(&mut self, full_url: &str, resource_json: Option<&str>, fields: Value) {
        self.entry_without_url(Some(full_url), resource_json, fields);
    }

    /// As [`BundleWriter::entry`], for entries that may have no `fullUrl` (a failed batch entry).
    pub fn entry_without_url(
        &mut self,
        full_url: Option<&str>,
        resource_json: Option<&str>,
        fields: Value,
    ) {
        if self.entries > 0 {
            self.out.push(',');
        }
        self.entries += 1;
        self.out.push('{');
        let mut first = true;
        let mut member = |out: &mut String, key: &str, raw: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&Value::String(key.to_owned()).to_string());
            out.push(':');
            out.push_str(raw);
        };
        if let Some(url) = full_url {
            member(
                &mut self.out,
                "fullUrl",
                &Value::String(url.to_owned()).to_string(),
            );
        }
        if let Some(r) = resource_json {
            member(&mut self.out, "resource", r);
        }
        if let Value::Object(map) = fields {
            for (k, v) in map {
                member(&mut self.out, &k, &v.to_string());
            }
        }
        self.out.push('}');
    }

    /// Finishes the JSON text (dropping an empty `entry` array, which FHIR does not allow).
    pub fn finish(mut self) -> String {
        if self.entries == 0 {
            let cut = self.out.len() - ",\"entry\":[".len();
            self.out.truncate(cut);
            self.out.push('}');
        } else {
            self.out.push_str("]}");
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_valid_json_with_and_without_entries() {
        let empty: Value = serde_json::from_str(
            &BundleWriter::new("searchset", Some(0), &[("self", "u".into())]).finish(),
        )
        .expect("json");
        assert_eq!(empty["total"], 0);
        assert!(empty.get("entry").is_none());
        let mut b = BundleWriter::new("searchset", Some(1), &[]);
        b.entry(
            "http://x/Patient/1",
            Some("{\"resourceType\":\"Patient\",\"id\":\"1\"}"),
            json!({"search": {"mode": "match"}}),
        );
        let v: Value = serde_json::from_str(&b.finish()).expect("json");
        assert_eq!(v["entry"][0]["resource"]["id"], "1");
        assert_eq!(v["entry"][0]["search"]["mode"], "match");
    }
}
