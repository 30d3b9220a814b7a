//! Searches decided on the caller's view. SQL finds candidates on what is stored; a caller shown a
//! resource only in redacted form (consent withheld some of it) must not be able to select,
//! order or follow it by what was withheld. So, for every candidate admitted in redacted form:
//!
//! - it matches only if its redacted form matches: the query's filters are decided again, in
//!   memory, on the search index entries of that form ([`crate::search::matcher`]; chains and
//!   `:identifier` searches through referenced resources ask the store about the references the
//!   form still holds);
//! - when any result is redacted, a `_sort` orders every result by the values of its own view
//!   (ties keep the store's row order);
//! - `_include` follows only the references its view holds.
//!
//! Totals, `_summary=count` and paging count what matched this way. A resource shown whole is
//! judged by SQL alone, so the common case costs nothing more.

use std::collections::HashSet;

use serde_json::Value;

use super::{Body, Engine};
use crate::access::Gate;
use crate::auth::scopes::Permission;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::search::matcher::{self, Facts, Lookup};
use crate::search::{Include, IndexEntry, IndexValue, SearchQuery, registry};
use crate::store::{RowId, StoredResource};

impl Engine {
    /// What the caller may see of search candidate `r`, if it matches `q` as the caller would be
    /// shown it; `None` when it is hidden or its view does not match.
    pub(super) async fn admit_match(
        &self,
        q: &SearchQuery,
        r: &StoredResource,
        gate: &Gate,
    ) -> Result<Option<Body>, Error> {
        let Some(body) = gate.admit_as(r, Permission::Search).await? else {
            return Ok(None);
        };
        let Body::Json(view) = &body else {
            return Ok(Some(body));
        };
        Ok(self.view_matches(q, r, view).await?.then_some(body))
    }

    /// Whether the redacted `view` of `r` matches `q`.
    async fn view_matches(
        &self,
        q: &SearchQuery,
        r: &StoredResource,
        view: &Value,
    ) -> Result<bool, Error> {
        let entries = crate::search::extract_with_base(r.rtype, view, &self.base_url);
        let facts = Facts {
            rtype: r.rtype,
            id: &r.id,
            last_updated: r.last_updated,
            entries: &entries,
        };
        let lookups = matcher::lookups(q, &facts);
        let mut found: HashSet<&Lookup> = HashSet::new();
        let backend = self.store.backend();
        // One store search per referenced type and predicate: each lookup is answered by whether
        // its resource is among the finds.
        for batch in matcher::batches(&lookups) {
            let rows = backend.search(&batch.query, batch.lookups.len()).await?;
            let ids: HashSet<String> = backend
                .fetch(&rows)
                .await?
                .into_iter()
                .map(|(_, r)| r.id)
                .collect();
            for l in &lookups {
                if batch.lookups.contains(l) && ids.contains(&l.id) {
                    found.insert(l);
                }
            }
        }
        Ok(matcher::holds(q, &facts, &|l| found.contains(l)))
    }

    /// `rows` (visible, in the store's order) ordered by `q`'s sort keys on each one's view, when
    /// some result is redacted (`redacted`); as they are otherwise.
    pub(super) async fn order_on_view(
        &self,
        q: &SearchQuery,
        rows: Vec<RowId>,
        redacted: bool,
        gate: &Gate,
    ) -> Result<Vec<RowId>, Error> {
        if q.sort.is_empty() || !redacted {
            return Ok(rows);
        }
        let mut keyed = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(500) {
            for (rid, r) in self.store.backend().fetch(chunk).await? {
                let view = match gate.admit_as(&r, Permission::Search).await? {
                    Some(Body::Json(v)) => v,
                    Some(Body::Raw(text)) => serde_json::from_str(&text).map_err(|e| {
                        Error::internal_from(format!("stored {} is not JSON", r.rtype), e)
                    })?,
                    // Hidden since it was found (a consent changed): it keeps its place.
                    None => Value::Null,
                };
                let entries = crate::search::extract_with_base(r.rtype, &view, &self.base_url);
                let facts = Facts {
                    rtype: r.rtype,
                    id: &r.id,
                    last_updated: r.last_updated,
                    entries: &entries,
                };
                keyed.push((rid, matcher::sort_values(&q.sort, &facts)));
            }
        }
        keyed.sort_by(|(ra, a), (rb, b)| matcher::compare(&q.sort, a, b).then(ra.cmp(rb)));
        Ok(keyed.into_iter().map(|(rid, _)| rid).collect())
    }

    /// The targets of `include` among the references the redacted `views` hold (live resources
    /// only), for a page whose matches the caller sees in part.
    pub(super) async fn included_from_views(
        &self,
        views: &[(ResourceType, &Value)],
        include: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, Error> {
        let (stored, narrowed) = registry::stored_reference(include.source.as_str(), include.param);
        let mut targets: Vec<(ResourceType, String)> = Vec::new();
        for (rtype, view) in views {
            if *rtype != include.source {
                continue;
            }
            for IndexEntry { param, value } in
                crate::search::extract_with_base(*rtype, view, &self.base_url)
            {
                let IndexValue::Reference { rtype: t, id } = value else {
                    continue;
                };
                let wanted = param == stored
                    && narrowed.is_none_or(|n| n == t)
                    && include.target.is_none_or(|x| x == t);
                if wanted && !targets.contains(&(t, id.clone())) {
                    targets.push((t, id));
                }
            }
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (t, id) in targets {
            let mut q = SearchQuery::all(t, 1);
            q.filters
                .push(crate::search::Filter(vec![crate::search::Predicate::Id(
                    id,
                )]));
            let rows = self.store.backend().search(&q, 1).await?;
            for (rid, r) in self.store.backend().fetch(&rows).await? {
                if seen.insert(rid) {
                    out.push((rid, r));
                }
            }
        }
        Ok(out)
    }
}
