//! Chained search for callers whose view is narrowed. A chain (`CarePlan?patient.identifier=...`,
//! `subject:Patient.name=...`) is resolved first, as a search of its target type by the same
//! caller (narrowed to what it could be related to, each match decided on the caller's view), and
//! replaced by references to what that search found. A chain therefore selects exactly what the
//! caller could find by searching the target directly and then by reference: never a patient it
//! could not find, and never through an element redaction withholds. Nested chains resolve inner
//! first. System callers, who see everything, keep the chain in SQL.
//!
//! A chain whose target search finds more than `max_search_results` resources is refused (400):
//! the references would not fit one query, and a partial list would silently drop matches.

use std::future::Future;
use std::pin::Pin;

use super::Engine;
use crate::access::Gate;
use crate::error::Error;
use crate::search::{Filter, Predicate, SearchQuery};

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
                        other => resolved.push(other),
                    }
                }
                *alternatives = resolved;
            }
            Ok(())
        })
    }

    /// The ids of the resources `q` finds for the caller, as its own search would find them.
    async fn visible_ids(&self, mut q: SearchQuery, gate: &Gate) -> Result<Vec<String>, Error> {
        self.resolve_chains(&mut q, gate).await?;
        if !gate.narrow(&mut q).await? {
            return Ok(Vec::new());
        }
        let rows = self
            .store
            .backend()
            .search(&q, self.max_search_results + 1)
            .await?;
        let (visible, decided, _) = self.visible_rows(&q, rows, gate, usize::MAX).await?;
        if visible.len() > self.max_search_results {
            return Err(Error::BadRequest(format!(
                "A chained parameter on {} matches more than {} resources; narrow it",
                q.rtype, self.max_search_results
            )));
        }
        Ok(visible
            .iter()
            .filter_map(|rid| decided.get(rid).map(|(r, _)| r.id.clone()))
            .collect())
    }
}
