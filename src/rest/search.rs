//! Search (`GET [type]?...`, `POST [type]/_search`) and its paging.
//!
//! Paging stays correct while writes happen: the first page runs the query once, and when there is
//! more than one page the ordered result rows are saved as a snapshot (in the database, so any
//! gateway process can serve the next page). `next`/`previous` links carry the snapshot key and an
//! offset: a resource created after the search began does not shift later pages, nothing is skipped or
//! repeated, and a resource deleted since is left out. Snapshots expire after an hour (410 then);
//! the same result within ten minutes reuses one (a polled worklist writes no snapshot per poll).
//! A search pages through at most `max_search_results` rows; beyond that the bundle carries a warning.
//!
//! Consent (`access::Gate`) applies before paging: the query is narrowed in SQL to what the caller
//! could be related to, then every row is decided before the first page is cut, so `total`,
//! `_summary=count`, page sizes and links only ever count what the caller may see. The snapshot
//! holds the visible rows only and is bound to the caller (another caller presenting its key finds
//! it expired); later pages are decided again, so a consent withdrawn while paging applies at once.
//! A first page's visible rows are kept per caller and query for the store generation they were
//! decided at, until the first consent period boundary among them (`access::cache`): a worklist
//! polled while nothing changed then costs the page alone, each of its rows still decided (cached)
//! and disclosed as served.
//! Included resources pass the same gate. A chained parameter is resolved first as the caller's own
//! search of its target (`super::chain`), so it finds nothing a direct search would not.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::bundle::BundleWriter;
use super::{Body, Engine, Reply};
use crate::access::Gate;
use crate::error::Error;
use crate::fhir::{OutcomeIssue, ResourceType, Severity, operation_outcome};
use crate::search::{Filter, Predicate, SearchQuery, Summary};
use crate::store::{RowId, StoredResource};

/// Decided rows: the resource and the body the caller may see.
type Decided = HashMap<RowId, (StoredResource, Body)>;

const SUBSETTED: &str =
    r#"{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}"#;

impl Engine {
    /// Runs the parsed search `query`; `pairs` are the request's parameters (for the paging
    /// keys `_getpages` and `_getpagesoffset`).
    pub async fn search(
        &self,
        query: &SearchQuery,
        pairs: &[(String, String)],
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let (q, possible) = self.caller_query(query, gate).await?;
        let (snapshot_key, offset) = paging_keys(pairs)?;
        if !possible {
            return Ok(self.total_only(&q, 0));
        }
        if q.summary == Summary::Count {
            let total = self.count_visible(&q, gate).await?;
            return Ok(self.total_only(&q, total));
        }
        let (mut rows, decided) = self
            .result_rows(query, &q, gate, snapshot_key.as_deref(), offset)
            .await?;
        let truncated = rows.len() > self.max_search_results;
        rows.truncate(self.max_search_results);
        let start = offset.min(rows.len());
        let end = start.saturating_add(q.count).min(rows.len());
        let paging = snapshot_key.is_some();
        let key = self.snapshot(&q, gate, &rows, snapshot_key).await?;
        let page = rows.get(start..end).unwrap_or_default();
        let (matches, bodies) = self.page_matches(&q, gate, page, decided).await?;
        let included = self.includes(&q, &matches, &bodies).await?;
        let links = self.page_links(&q, key.as_deref(), paging, (start, end), rows.len());
        let total = u64::try_from(rows.len()).unwrap_or(u64::MAX);
        let mut bundle = BundleWriter::new("searchset", Some(total), &links);
        self.write_entries(&mut bundle, &q, gate, &matches, bodies, &included)
            .await?;
        if truncated {
            self.too_costly(&mut bundle);
        }
        Ok(Reply::raw(bundle.finish()))
    }

    /// The query as this caller runs it: the patients it names recorded for the audit, chains
    /// resolved as the caller's own searches, narrowed to what the caller could be related to;
    /// and whether anything is possible at all.
    async fn caller_query(
        &self,
        query: &SearchQuery,
        gate: &Gate,
    ) -> Result<(SearchQuery, bool), Error> {
        let mut q = query.clone();
        for patient in named_patients(&q) {
            gate.named_patient(&patient);
        }
        if !gate.unrestricted() {
            self.resolve_chains(&mut q, gate).await?;
        }
        let possible = gate.narrow(&mut q).await?;
        Ok((q, possible))
    }

    /// A bundle with no entries, only the search's `total` and its self link.
    fn total_only(&self, q: &SearchQuery, total: u64) -> Reply {
        let links = [("self", self.link(q, None, None))];
        Reply::raw(BundleWriter::new("searchset", Some(total), &links).finish())
    }

    /// `_summary=count`: the matches the caller may see (each decided, when restricted).
    async fn count_visible(&self, q: &SearchQuery, gate: &Gate) -> Result<u64, Error> {
        let backend = self.store.backend();
        Ok(if gate.unrestricted() {
            backend.count(q).await?
        } else {
            let rows = backend.search(q, self.max_search_results + 1).await?;
            let (visible, _, _) = self.visible_rows(q, rows, gate, 0).await?;
            u64::try_from(visible.len()).unwrap_or(u64::MAX)
        })
    }

    /// The ordered visible rows of the whole result: from the snapshot a page link names, from
    /// the caller's cached first page, or by running the search; with the rows already decided
    /// (the first page of a filtered search), so they are not fetched and decided twice.
    async fn result_rows(
        &self,
        query: &SearchQuery,
        q: &SearchQuery,
        gate: &Gate,
        snapshot_key: Option<&str>,
        offset: usize,
    ) -> Result<(Vec<RowId>, Decided), Error> {
        let backend = self.store.backend();
        if let Some(key) = snapshot_key {
            let rows = backend
                .load_snapshot(&snapshot_name(key, gate))
                .await?
                .ok_or(Error::SearchExpired)?;
            return Ok((rows, HashMap::new()));
        }
        if let Some(rows) = self.cached_search(query, gate).await? {
            return Ok((rows, HashMap::new()));
        }
        let rows = backend.search(q, self.max_search_results + 1).await?;
        let (visible, decided, redacted) = self
            .visible_rows(q, rows, gate, offset.saturating_add(q.count))
            .await?;
        let rows = self.order_on_view(q, visible, redacted, gate).await?;
        self.cache_search(query, gate, &rows, redacted).await?;
        Ok((rows, decided))
    }

    /// The snapshot key the page links carry: the one given, or, for a first page of a result
    /// longer than a page, a new snapshot of `rows`.
    async fn snapshot(
        &self,
        q: &SearchQuery,
        gate: &Gate,
        rows: &[RowId],
        snapshot_key: Option<String>,
    ) -> Result<Option<String>, Error> {
        match snapshot_key {
            Some(k) => Ok(Some(k)),
            None if rows.len() > q.count && q.count > 0 => {
                let backend = self.store.backend();
                let k = new_snapshot_key(rows, crate::fhir::instant::now_ms());
                let name = snapshot_name(&k, gate);
                // A search repeated with the same result (a worklist polled) reuses its snapshot
                // rather than writing it again.
                if backend.load_snapshot(&name).await?.as_deref() != Some(rows) {
                    backend.save_snapshot(&name, rows).await?;
                }
                Ok(Some(k))
            }
            None => Ok(None),
        }
    }

    /// The page's matches and the bodies the caller may see: taken from `decided` when all were
    /// decided already, otherwise fetched and decided (rows gone or refused since are left out).
    async fn page_matches(
        &self,
        q: &SearchQuery,
        gate: &Gate,
        page: &[RowId],
        mut decided: Decided,
    ) -> Result<(Vec<(RowId, StoredResource)>, Vec<Body>), Error> {
        let mut matches = Vec::with_capacity(page.len());
        let mut bodies = Vec::with_capacity(page.len());
        if page.iter().all(|rid| decided.contains_key(rid)) {
            for rid in page {
                if let Some((r, body)) = decided.remove(rid) {
                    matches.push((*rid, r));
                    bodies.push(body);
                }
            }
        } else {
            for (rid, r) in self.store.backend().fetch(page).await? {
                if let Some(body) = self.admit_match(q, &r, gate).await? {
                    matches.push((rid, r));
                    bodies.push(body);
                }
            }
        }
        Ok((matches, bodies))
    }

    /// The bundle's links: `self`, and with a snapshot `next` and `previous` around the page
    /// `start..end` of `len` rows.
    fn page_links(
        &self,
        q: &SearchQuery,
        key: Option<&str>,
        paging: bool,
        (start, end): (usize, usize),
        len: usize,
    ) -> Vec<(&'static str, String)> {
        // The first page's self link is the search itself; later pages link to their snapshot page.
        let self_link = match key {
            Some(k) if paging => self.link(q, Some(k), Some(start)),
            _ => self.link(q, None, None),
        };
        let mut links = vec![("self", self_link)];
        if let Some(k) = key {
            if end < len {
                links.push(("next", self.link(q, Some(k), Some(end))));
            }
            if start > 0 {
                links.push((
                    "previous",
                    self.link(q, Some(k), Some(start.saturating_sub(q.count))),
                ));
            }
        }
        links
    }

    /// The page's entries: the matches, shaped by `_summary`/`_elements`, then the included
    /// resources the caller may see; each disclosed as it is written.
    async fn write_entries(
        &self,
        bundle: &mut BundleWriter,
        q: &SearchQuery,
        gate: &Gate,
        matches: &[(RowId, StoredResource)],
        bodies: Vec<Body>,
        included: &[StoredResource],
    ) -> Result<(), Error> {
        for ((_, r), body) in matches.iter().zip(bodies) {
            gate.disclose(r);
            let shaped = shape(body, q)?;
            bundle.entry(
                &self.full_url(r),
                Some(&shaped),
                json!({"search": {"mode": "match"}}),
            );
        }
        for r in included {
            if let Some(body) = gate.admit(r).await? {
                gate.disclose(r);
                bundle.entry(
                    &self.full_url(r),
                    Some(&body.into_string()),
                    json!({"search": {"mode": "include"}}),
                );
            }
        }
        Ok(())
    }

    /// The warning entry of a result cut at `max_search_results`.
    fn too_costly(&self, bundle: &mut BundleWriter) {
        let warning = OutcomeIssue {
            severity: Severity::Warning,
            code: "too-costly",
            diagnostics: format!(
                "Only the first {} results can be paged; narrow the search",
                self.max_search_results
            ),
            expression: None,
        };
        let outcome = operation_outcome(&[warning]).to_string();
        bundle.entry(
            &format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            Some(&outcome),
            json!({"search": {"mode": "outcome"}}),
        );
    }

    /// The visible rows of `query` for this caller, when the same caller ran the same search at
    /// the same store generation and no decision behind it could have changed since (a polled
    /// worklist): the page is then fetched and decided alone. Never for unrestricted callers
    /// (nothing to decide) or broken glass.
    async fn cached_search(
        &self,
        query: &SearchQuery,
        gate: &Gate,
    ) -> Result<Option<Vec<RowId>>, Error> {
        if gate.unrestricted() || !gate.cacheable() {
            return Ok(None);
        }
        let generation = gate.reading_generation().await?;
        let key = search_cache_key(query, gate);
        let now = crate::fhir::instant::now_ms();
        Ok(self
            .consent
            .cache
            .search(&generation, &key, now)
            .map(|found| found.rows.to_vec()))
    }

    /// Keeps a first page's visible rows for [`Engine::cached_search`], until the first instant
    /// a decision behind them could change.
    async fn cache_search(
        &self,
        query: &SearchQuery,
        gate: &Gate,
        rows: &[RowId],
        redacted: bool,
    ) -> Result<(), Error> {
        if gate.unrestricted() || !gate.cacheable() {
            return Ok(());
        }
        let generation = gate.reading_generation().await?;
        let found = crate::access::cache::Found {
            rows: std::sync::Arc::new(rows.to_vec()),
            redacted,
            valid_until: gate.decided_until(),
        };
        self.consent
            .cache
            .put_search(&generation, &search_cache_key(query, gate), found);
        Ok(())
    }

    /// The rows among `rows` the caller may see and whose view matches `q` (all of them for an
    /// unrestricted caller), with the resources and bodies of the first `keep` of them, decided
    /// once, and whether any was admitted redacted.
    pub(super) async fn visible_rows(
        &self,
        q: &SearchQuery,
        rows: Vec<RowId>,
        gate: &Gate,
        keep: usize,
    ) -> Result<(Vec<RowId>, Decided, bool), Error> {
        let mut kept = HashMap::new();
        if gate.unrestricted() {
            return Ok((rows, kept, false));
        }
        let mut out = Vec::with_capacity(rows.len());
        let mut redacted = false;
        for chunk in rows.chunks(500) {
            for (rid, r) in self.store.backend().fetch(chunk).await? {
                if let Some(body) = self.admit_match(q, &r, gate).await? {
                    redacted |= matches!(body, Body::Json(_));
                    out.push(rid);
                    if kept.len() < keep {
                        kept.insert(rid, (r, body));
                    }
                }
            }
        }
        Ok((out, kept, redacted))
    }

    /// `_include` and `_revinclude` targets of a page, without duplicates or repeats of matches.
    /// Includes follow the references of what the caller is shown: the stored references of
    /// matches shown whole, the references left in the views of redacted ones.
    async fn includes(
        &self,
        q: &SearchQuery,
        matches: &[(RowId, StoredResource)],
        bodies: &[Body],
    ) -> Result<Vec<StoredResource>, Error> {
        let mut seen: Vec<RowId> = matches.iter().map(|(rid, _)| *rid).collect();
        let mut out = Vec::new();
        let backend = self.store.backend();
        if matches.is_empty() {
            return Ok(out);
        }
        let mut whole = Vec::new();
        let mut views = Vec::new();
        for ((rid, r), body) in matches.iter().zip(bodies) {
            match body {
                Body::Raw(_) => whole.push(*rid),
                Body::Json(v) => views.push((r.rtype, v)),
            }
        }
        let mut found = Vec::new();
        for inc in &q.includes {
            if !whole.is_empty() {
                found.extend(backend.included(&whole, inc).await?);
            }
            if !views.is_empty() {
                found.extend(self.included_from_views(&views, inc).await?);
            }
        }
        let targets: Vec<(ResourceType, String)> = matches
            .iter()
            .map(|(_, r)| (r.rtype, r.id.clone()))
            .collect();
        for inc in &q.revincludes {
            found.extend(backend.revincluded(&targets, inc).await?);
        }
        for (rid, r) in found {
            if !seen.contains(&rid) {
                seen.push(rid);
                out.push(r);
            }
        }
        Ok(out)
    }

    pub(super) fn full_url(&self, r: &StoredResource) -> String {
        format!("{}/{}/{}", self.base_url, r.rtype, r.id)
    }

    /// The URL of this search (or one page of its snapshot).
    fn link(&self, q: &SearchQuery, key: Option<&str>, offset: Option<usize>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q.canonical {
            if k != "_count" {
                s.append_pair(k, v);
            }
        }
        // Page links pin the page size; the search's own link says only what the client said.
        if key.is_some() || q.canonical.iter().any(|(k, _)| k == "_count") {
            s.append_pair("_count", &q.count.to_string());
        }
        if let Some(k) = key {
            s.append_pair("_getpages", k);
            s.append_pair("_getpagesoffset", &offset.unwrap_or(0).to_string());
        }
        format!("{}/{}?{}", self.base_url, q.rtype, s.finish())
    }
}

/// The paging keys of a request: the snapshot `_getpages` names, and `_getpagesoffset` (0 when
/// absent).
fn paging_keys(pairs: &[(String, String)]) -> Result<(Option<String>, usize), Error> {
    let snapshot_key = pairs
        .iter()
        .find(|(k, _)| k == "_getpages")
        .map(|(_, v)| v.clone());
    let offset = match pairs.iter().find(|(k, _)| k == "_getpagesoffset") {
        Some((_, v)) => v
            .parse::<usize>()
            .map_err(|_| Error::BadRequest("_getpagesoffset must be a number".into()))?,
        None => 0,
    };
    Ok((snapshot_key, offset))
}

/// How long a snapshot's key stays the same for the same rows: a reused snapshot is at most this
/// old, so it outlives the search that reused it by the TTL less this.
const SNAPSHOT_REUSE_MS: i64 = 10 * 60 * 1000;

/// The key of a snapshot of `rows` made at `now`: a digest of the rows and the ten minutes it was
/// made in, so the same result in the same ten minutes has the same key (and one stored
/// snapshot). It reveals nothing: the rows are the caller's own result, and the stored name binds
/// the key to the caller ([`snapshot_name`]).
fn new_snapshot_key(rows: &[crate::store::RowId], now: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(now.div_euclid(SNAPSHOT_REUSE_MS).to_le_bytes());
    for r in rows {
        h.update(r.to_le_bytes());
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The cache key of a search: the caller's fingerprint, the type searched and the query as
/// parsed (its canonical parameters, order and page size included).
fn search_cache_key(query: &SearchQuery, gate: &Gate) -> String {
    let mut key = gate.principal().fingerprint();
    key.push('|');
    key.push_str(query.rtype.as_str());
    key.push('?');
    for (k, v) in &query.canonical {
        key.push('&');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

/// The stored name of a snapshot: its key bound to the caller, so that a key is useless to anyone
/// else (their lookup finds nothing: 410, as for an expired search).
fn snapshot_name(key: &str, gate: &Gate) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let p = gate.principal();
    if gate.unrestricted() {
        return key.to_owned();
    }
    let mut h = DefaultHasher::new();
    (
        &p.subject,
        p.role.code(),
        &p.organization,
        &p.patient,
        &p.purpose,
    )
        .hash(&mut h);
    format!("{key}.{:016x}", h.finish())
}

/// The patients a search names by id (`patient=`, `subject=Patient/..`, a Patient `_id`), for its
/// audit event: what was looked for, whatever was found.
fn named_patients(q: &SearchQuery) -> Vec<String> {
    let mut out = Vec::new();
    for Filter(alternatives) in &q.filters {
        for p in alternatives {
            match p {
                Predicate::Reference {
                    param,
                    rtype: target,
                    id,
                } if *param == "patient" || *target == Some(ResourceType::Patient) => {
                    out.push(id.clone());
                }
                Predicate::Id(id) if q.rtype == ResourceType::Patient => out.push(id.clone()),
                _ => {}
            }
        }
    }
    out
}

/// Applies `_summary` and `_elements` to a resource, marking it SUBSETTED when cut. Mandatory and
/// modifier elements stay ([`crate::fhir::elements`]).
fn shape(body: Body, q: &SearchQuery) -> Result<String, Error> {
    let keep: Option<Vec<&str>> = match (&q.elements, q.summary) {
        (Some(elements), _) => Some(
            elements
                .iter()
                .map(|e| e.rsplit('.').next().unwrap_or(e))
                .collect(),
        ),
        (None, Summary::Text) => Some(vec!["text"]),
        (None, Summary::Data) => None,
        (None, _) => return Ok(body.into_string()),
    };
    let full = match body {
        Body::Raw(text) => serde_json::from_str::<Value>(&text)
            .map_err(|e| Error::internal_from("stored resource is not JSON", e))?,
        Body::Json(v) => v,
    };
    let Value::Object(full) = full else {
        return Err(Error::internal("stored resource is not an object"));
    };
    let mut out = Map::new();
    for (k, v) in full {
        let always = crate::fhir::elements::always_kept(q.rtype, &k);
        let wanted = match &keep {
            Some(list) => list.contains(&k.as_str()),
            None => k != "text",
        };
        if always || wanted {
            out.insert(k, v);
        }
    }
    let tag: Value = serde_json::from_str(SUBSETTED)
        .map_err(|e| Error::internal_from("the SUBSETTED tag", e))?;
    if let Some(Value::Object(meta)) = out.get_mut("meta") {
        match meta.get_mut("tag") {
            Some(Value::Array(tags)) => tags.push(tag),
            _ => {
                meta.insert("tag".into(), Value::Array(vec![tag]));
            }
        }
    }
    Ok(Value::Object(out).to_string())
}
