//! Walking a search's whole result in pages, as the caller's search would decide it: what a bulk
//! export (`crate::export`) reads. The query is prepared once as a search prepares it (chains
//! resolved as the caller's own searches, narrowed to what the caller could be related to), then
//! read in row order after a cursor, each match decided by the gate and matched on the view the
//! caller is shown, exactly as a search's matches are. Unlike a search it has no
//! `max_search_results` limit and keeps no snapshot: the cursor is the last row read.

use super::{Body, Engine};
use crate::access::Gate;
use crate::error::Error;
use crate::search::SearchQuery;
use crate::store::{RowId, StoredResource};

/// A query prepared for walking.
pub struct Walk {
    query: SearchQuery,
    possible: bool,
}

/// One page of a walk: the visible matches with the bodies the caller is shown, and where the
/// next page starts (`None`: the walk is over).
pub struct WalkPage {
    /// The matches the caller may see, in row order.
    pub matches: Vec<(RowId, StoredResource, Body)>,
    /// The cursor of the next page, if any.
    pub next: Option<RowId>,
}

impl Engine {
    /// Prepares `query` (no `_sort`) for walking as `gate`'s caller.
    pub async fn walk(&self, query: &SearchQuery, gate: &Gate) -> Result<Walk, Error> {
        let mut q = query.clone();
        q.sort.clear();
        if !gate.unrestricted() {
            self.resolve_chains(&mut q, gate).await?;
        }
        let possible = gate.narrow(&mut q).await?;
        Ok(Walk { query: q, possible })
    }

    /// The page of `walk` after row `after` (0: the first), reading at most `rows` rows.
    pub async fn walk_page(
        &self,
        walk: &Walk,
        after: RowId,
        rows: usize,
        gate: &Gate,
    ) -> Result<WalkPage, Error> {
        if !walk.possible {
            return Ok(WalkPage {
                matches: Vec::new(),
                next: None,
            });
        }
        let backend = self.store.backend();
        let found = backend.search_after(&walk.query, after, rows).await?;
        let next = (found.len() == rows)
            .then(|| found.last().copied())
            .flatten();
        let mut matches = Vec::with_capacity(found.len());
        for (rid, r) in backend.fetch(&found).await? {
            if let Some(body) = self.admit_match(&walk.query, &r, gate).await? {
                matches.push((rid, r, body));
            }
        }
        Ok(WalkPage { matches, next })
    }
}
