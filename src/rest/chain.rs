//! Chained search for callers whose view is narrowed. A chain (`CarePlan?patient.identifier=...`,
//! `subject:Patient.name=...`) is resolved first, as a search of its target type by the same
//! caller (narrowed to what it could be related to, each match decided on the caller's view), and
//! replaced by references to what that search found. A chain therefore selects exactly what the
//! caller could find by searching the target directly and then by reference: never a patient it
//! could not find, and never through an element redaction withholds. Nested chains resolve inner
//! first. System callers, who see everything, keep the chain in SQL.
//!
//! A reverse chain (`Patient?_has:CarePlan:subject:status=active`,
//! `ServiceRequest?_has:Task:focus:status=requested`) is resolved the same way from the other
//! end: the caller's own search of the source type, and the resources its matches reference
//! through the parameter, read from each match as the caller is shown it (a reference a redaction
//! withholds selects nothing). The result is a list of ids, so a reverse chain finds nothing the
//! caller could not find by searching the source and then reading what it references.
//!
//! A chain whose target search finds more than `max_search_results` resources is refused (400):
//! the references would not fit one query, and a partial list would silently drop matches.

use std::future::Future;
use std::pin::Pin;

use super::{Body, Engine};
use crate::access::Gate;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::search::{Filter, IndexValue, Predicate, SearchQuery};
use crate::store::StoredResource;

impl Engine {
    /// Replaces every chain of `q` by the references the caller's own search of its target finds.
    pub(super) fn resolve_chains<'a>(
        &'a self,
        q: &'a mut SearchQuery,
        gate: &'a Gate,
    ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + 'a>> {
        Box::pin(async move {
            for Filter(alternatives) in &mut q.filters {
                let mut resolved = Vec::with_capacity(alternatives.len());
                for p in std::mem::take(alternatives) {
                    match p {
                        Predicate::Chain {
                            param,
                            target,
                            inner,
                        } => {
                            let mut target_q = SearchQuery::all(target, 0);
                            target_q.filters.push(Filter(vec![*inner]));
                            let ids = self.visible_ids(target_q, gate).await?;
                            if ids.is_empty() {
                                // Ids are never empty: this reference matches nothing.
                                resolved.push(Predicate::Id(String::new()));
                            }
                            resolved.extend(ids.into_iter().map(|id| Predicate::Reference {
                                param,
                                rtype: Some(target),
                                id,
                            }));
                        }
                        Predicate::Has {
                            source,
                            param,
                            inner,
                        } => {
                            let mut source_q = SearchQuery::all(source, 0);
                            source_q.filters.push(Filter(vec![*inner]));
                            let ids = self
                                .visible_references(source_q, param, q.rtype, gate)
                                .await?;
                            if ids.is_empty() {
                                resolved.push(Predicate::Id(String::new()));
                            }
                            resolved.extend(ids.into_iter().map(Predicate::Id));
                        }
                        other => resolved.push(other),
                    }
                }
                *alternatives = resolved;
            }
            Ok(())
        })
    }

    /// The ids of the `target` resources that what `q` finds for the caller references through
    /// `param`, read from each match as the caller is shown it.
    async fn visible_references(
        &self,
        q: SearchQuery,
        param: &'static str,
        target: ResourceType,
        gate: &Gate,
    ) -> Result<Vec<String>, Error> {
        let source = q.rtype;
        let stored = crate::search::registry::stored_reference(source.as_str(), param).0;
        let mut out = std::collections::BTreeSet::new();
        for (r, body) in self.visible_matches_of(q, gate).await? {
            let view = match body {
                Body::Json(v) => v,
                Body::Raw(text) => serde_json::from_str(&text)
                    .map_err(|e| Error::internal_from(format!("stored {}/{}", r.rtype, r.id), e))?,
            };
            for entry in crate::search::extract_with_base(source, &view, &self.base_url) {
                if entry.param == stored
                    && let IndexValue::Reference { rtype, id } = entry.value
                    && rtype == target
                {
                    out.insert(id);
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The ids of the resources `q` finds for the caller, as its own search would find them.
    async fn visible_ids(&self, q: SearchQuery, gate: &Gate) -> Result<Vec<String>, Error> {
        Ok(self
            .visible_matches_of(q, gate)
            .await?
            .into_iter()
            .map(|(r, _)| r.id)
            .collect())
    }

    /// The resources `q` finds for the caller, with the bodies it is shown, as its own search
    /// would find them; 400 past `max_search_results`.
    async fn visible_matches_of(
        &self,
        mut q: SearchQuery,
        gate: &Gate,
    ) -> Result<Vec<(StoredResource, Body)>, Error> {
        self.resolve_chains(&mut q, gate).await?;
        if !gate.narrow(&mut q).await? {
            return Ok(Vec::new());
        }
        let rows = self
            .store
            .backend()
            .search(&q, self.max_search_results + 1)
            .await?;
        let (visible, mut decided, _) = self.visible_rows(&q, rows, gate, usize::MAX).await?;
        if visible.len() > self.max_search_results {
            return Err(Error::BadRequest(format!(
                "A chained parameter on {} matches more than {} resources; narrow it",
                q.rtype, self.max_search_results
            )));
        }
        Ok(visible
            .iter()
            .filter_map(|rid| decided.remove(rid))
            .collect())
    }
}
