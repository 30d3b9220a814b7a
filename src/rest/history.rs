//! Instance, type and system history (`_history`), newest first, with `_since` and `_count`.
//! Pages follow a cursor (the version row of the last entry), so versions written while a client pages
//! never shift what it has yet to see.
//!
//! Consent: instance history is served to a caller who may see the resource (otherwise 404, as for
//! a missing one), each version passing the gate on its own. Type and system history are open to
//! system callers only (`access::policy`): filtering them would leave pages with gaps that count
//! hidden versions.
//!
//! `total` is given when it costs nothing (the first page holds the whole history) and when asked
//! (`_total=accurate`): then every version is counted, each decided by the gate as it would be
//! served, so the total never counts a version the caller could not page to.

use serde_json::{Value, json};

use super::bundle::BundleWriter;
use super::{Engine, Reply};
use crate::access::Gate;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::fhir::instant::{format_instant, http_date};
use crate::search::date;
use crate::store::{HistoryEntry, HistoryFilter, WriteMethod};

/// A version as served in a history bundle: its full URL, its body (none when deleted) and its
/// entry's `request` and `response`.
type Served = (String, Option<String>, Value);

impl Engine {
    /// History of one resource (`id`), one type, or everything.
    pub async fn history(
        &self,
        rtype: Option<ResourceType>,
        id: Option<&str>,
        pairs: &[(String, String)],
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let (filter, accurate) = self.history_filter(rtype, id, pairs)?;
        if let (Some(t), Some(i)) = (rtype, id) {
            self.instance_visible(t, i, gate).await?;
        }
        let mut page = self
            .store
            .backend()
            .history(&HistoryFilter {
                count: filter.count + 1,
                ..filter.clone()
            })
            .await?;
        let more = page.len() > filter.count;
        page.truncate(filter.count);

        let path = self.history_path(rtype, id);
        let mut links = vec![("self", history_link(&path, &filter, filter.before))];
        if more && let Some(last) = page.last() {
            links.push(("next", history_link(&path, &filter, Some(last.cursor))));
        }
        let served = self.served_versions(&page, gate).await?;
        let total = if accurate {
            Some(self.count_history(&filter, gate).await?)
        } else if filter.before.is_none() && !more {
            Some(u64::try_from(served.len()).unwrap_or(u64::MAX))
        } else {
            None
        };
        let mut bundle = BundleWriter::new("history", total, &links);
        for (url, body, fields) in served {
            bundle.entry(&url, body.as_deref(), fields);
        }
        let _ = http_date;
        Ok(Reply::raw(bundle.finish()))
    }

    /// The versions a history request lists, from its parameters (`_count`, `_since`, `_cursor`),
    /// and whether it asked for an accurate total (`_total=accurate`); any other parameter is
    /// refused.
    fn history_filter(
        &self,
        rtype: Option<ResourceType>,
        id: Option<&str>,
        pairs: &[(String, String)],
    ) -> Result<(HistoryFilter, bool), Error> {
        let mut filter = HistoryFilter {
            rtype,
            id: id.map(str::to_owned),
            count: self.default_page_size,
            ..Default::default()
        };
        let mut accurate = false;
        for (k, v) in pairs {
            match k.as_str() {
                "_total" => {
                    accurate = match v.as_str() {
                        "accurate" => true,
                        "none" | "estimate" => false,
                        _ => {
                            return Err(Error::BadRequest(
                                "_total must be none, estimate or accurate".into(),
                            ));
                        }
                    };
                }
                "_count" => {
                    let n: usize = v.parse().map_err(|_| {
                        Error::BadRequest("_count must be a non-negative integer".into())
                    })?;
                    filter.count = n.min(self.max_page_size);
                }
                "_since" => {
                    let r = date::parse_range(v)
                        .ok_or_else(|| Error::BadRequest("_since must be a FHIR instant".into()))?;
                    filter.since = Some(r.lo);
                }
                "_cursor" => {
                    filter.before = Some(
                        v.parse()
                            .map_err(|_| Error::BadRequest("_cursor is not one of ours".into()))?,
                    );
                }
                "_format" | "_pretty" => {}
                other => {
                    return Err(Error::BadRequest(format!(
                        "Unknown history parameter '{}'",
                        other.chars().take(64).collect::<String>()
                    )));
                }
            }
        }
        Ok((filter, accurate))
    }

    /// Instance history is served only to a caller who may see the resource (or saw it before
    /// it was deleted): otherwise 404, as for a missing one, and the attempt recorded.
    async fn instance_visible(&self, t: ResourceType, i: &str, gate: &Gate) -> Result<(), Error> {
        let not_found = || Error::NotFound {
            rtype: t,
            id: i.to_owned(),
        };
        let current = self
            .store
            .backend()
            .read(t, i)
            .await?
            .ok_or_else(not_found)?;
        let visible = if current.deleted {
            self.saw_before_deletion(&current, gate).await?
        } else {
            gate.admit(&current).await?.is_some()
        };
        if !visible {
            gate.attempted(&current);
            return Err(not_found());
        }
        Ok(())
    }

    /// The path of this history: of one resource, one type, or the system.
    fn history_path(&self, rtype: Option<ResourceType>, id: Option<&str>) -> String {
        match (rtype, id) {
            (Some(t), Some(i)) => format!("{}/{t}/{i}/_history", self.base_url),
            (Some(t), None) => format!("{}/{t}/_history", self.base_url),
            _ => format!("{}/_history", self.base_url),
        }
    }

    /// The page's versions the caller may see (deleted ones always, without a body), each
    /// disclosed; the others are left out.
    async fn served_versions(
        &self,
        page: &[HistoryEntry],
        gate: &Gate,
    ) -> Result<Vec<Served>, Error> {
        let mut served = Vec::with_capacity(page.len());
        for e in page {
            let r = &e.resource;
            let fields = entry_fields(e);
            let body = if r.deleted {
                None
            } else {
                match gate.admit(r).await? {
                    Some(b) => {
                        gate.disclose(r);
                        Some(b.into_string())
                    }
                    None => continue,
                }
            };
            let url = format!("{}/{}", self.base_url, r.version_reference());
            served.push((url, body, fields));
        }
        Ok(served)
    }

    /// Every version `filter` selects (from the newest, whatever its cursor) that `gate` would
    /// serve, counted a page at a time.
    async fn count_history(&self, filter: &HistoryFilter, gate: &Gate) -> Result<u64, Error> {
        const PAGE: usize = 1_000;
        let mut total = 0u64;
        let mut before = None;
        loop {
            let page = self
                .store
                .backend()
                .history(&HistoryFilter {
                    before,
                    count: PAGE,
                    ..filter.clone()
                })
                .await?;
            for e in &page {
                if e.resource.deleted || gate.admit(&e.resource).await?.is_some() {
                    total += 1;
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE => before = Some(last.cursor),
                _ => return Ok(total),
            }
        }
    }
}

/// A history entry's `request` (the interaction that made the version) and `response`.
fn entry_fields(e: &HistoryEntry) -> Value {
    let r = &e.resource;
    let (method, url, status) = match e.method {
        WriteMethod::Create => ("POST", r.rtype.to_string(), "201 Created"),
        WriteMethod::Update => (
            "PUT",
            format!("{}/{}", r.rtype, r.id),
            if r.version == 1 {
                "201 Created"
            } else {
                "200 OK"
            },
        ),
        WriteMethod::Delete => ("DELETE", format!("{}/{}", r.rtype, r.id), "204 No Content"),
    };
    json!({
        "request": {"method": method, "url": url},
        "response": {"status": status, "etag": format!("W/\"{}\"", r.version), "lastModified": format_instant(r.last_updated)},
    })
}

/// The URL of the history at `path` from after `cursor` (from the newest when `None`).
fn history_link(path: &str, filter: &HistoryFilter, cursor: Option<i64>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("_count", &filter.count.to_string());
    if let Some(since) = filter.since {
        s.append_pair("_since", &format_instant(since));
    }
    if let Some(c) = cursor {
        s.append_pair("_cursor", &c.to_string());
    }
    format!("{path}?{}", s.finish())
}
