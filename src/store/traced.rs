//! A backend whose calls are trace spans: each call a traced request makes to the store is a child
//! span named `store <operation>`, so a slow request shows whether the database was the slow part.
//!
//! Wrapped around the backend only when traces are exported ([`Store::open`](super::Store::open)),
//! and a call outside a traced request makes no span ([`crate::telemetry::child`]). The spans carry
//! the operation and the database system, never a query's values.

use async_trait::async_trait;
use tracing::Instrument as _;

use super::audit::{AuditSelect, AuditStore, Filter};
use super::{
    AuditDictionary, AuditStored, Backend, Connections, HistoryEntry, HistoryFilter, MessageRecord,
    RowId, StoreError, StoredResource, TxJob, exports, outbox,
};
use crate::fhir::ResourceType;
use crate::search::{Include, SearchQuery};

/// `inner`, with a span around each call.
pub struct Traced {
    inner: std::sync::Arc<dyn Backend>,
    system: &'static str,
}

impl Traced {
    /// Wraps `inner`, a `system` (`sqlite`, `postgresql`) database.
    pub fn new(inner: std::sync::Arc<dyn Backend>, system: &'static str) -> Traced {
        Traced { inner, system }
    }

    fn span(&self, operation: &'static str) -> tracing::Span {
        crate::telemetry::child(|| {
            tracing::debug_span!(
                "store",
                otel.name = format!("store {operation}"),
                otel.kind = "client",
                db.system = self.system,
                db.operation = operation,
            )
        })
    }
}

#[async_trait]
impl Backend for Traced {
    async fn read(
        &self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let span = self.span("read");
        self.inner.read(rtype, id).instrument(span).await
    }
    async fn vread(
        &self,
        rtype: ResourceType,
        id: &str,
        version: u64,
    ) -> Result<Option<StoredResource>, StoreError> {
        let span = self.span("vread");
        self.inner.vread(rtype, id, version).instrument(span).await
    }
    async fn search(&self, query: &SearchQuery, limit: usize) -> Result<Vec<RowId>, StoreError> {
        let span = self.span("search");
        self.inner.search(query, limit).instrument(span).await
    }
    async fn count(&self, query: &SearchQuery) -> Result<u64, StoreError> {
        let span = self.span("count");
        self.inner.count(query).instrument(span).await
    }
    async fn fetch(&self, rows: &[RowId]) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        let span = self.span("fetch");
        self.inner.fetch(rows).instrument(span).await
    }
    async fn included(
        &self,
        rows: &[RowId],
        include: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        let span = self.span("include");
        self.inner.included(rows, include).instrument(span).await
    }
    async fn revincluded(
        &self,
        targets: &[(ResourceType, String)],
        include: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        let span = self.span("revinclude");
        self.inner
            .revincluded(targets, include)
            .instrument(span)
            .await
    }
    async fn history(&self, filter: &HistoryFilter) -> Result<Vec<HistoryEntry>, StoreError> {
        let span = self.span("history");
        self.inner.history(filter).instrument(span).await
    }
    async fn transact(&self, job: TxJob) -> Result<(), StoreError> {
        let span = self.span("transaction");
        self.inner.transact(job).instrument(span).await
    }
    async fn message(
        &self,
        caller: &str,
        request_id: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let span = self.span("message");
        self.inner
            .message(caller, request_id)
            .instrument(span)
            .await
    }
    async fn search_after(
        &self,
        query: &SearchQuery,
        after: RowId,
        limit: usize,
    ) -> Result<Vec<RowId>, StoreError> {
        let span = self.span("search");
        self.inner
            .search_after(query, after, limit)
            .instrument(span)
            .await
    }
    fn exports(&self) -> &dyn exports::ExportStore {
        self.inner.exports()
    }
    fn outbox(&self) -> &dyn outbox::OutboxStore {
        self.inner.outbox()
    }
    fn audit(&self) -> &dyn AuditStore {
        self
    }
    async fn save_snapshot(&self, key: &str, rows: &[RowId]) -> Result<(), StoreError> {
        let span = self.span("save-snapshot");
        self.inner.save_snapshot(key, rows).instrument(span).await
    }
    async fn load_snapshot(&self, key: &str) -> Result<Option<Vec<RowId>>, StoreError> {
        let span = self.span("load-snapshot");
        self.inner.load_snapshot(key).instrument(span).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    fn connections(&self) -> Connections {
        self.inner.connections()
    }
    async fn generation(&self) -> Result<String, StoreError> {
        let span = self.span("generation");
        self.inner.generation().instrument(span).await
    }
    async fn read_at_generation(
        &self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<(Option<StoredResource>, String), StoreError> {
        let span = self.span("read");
        self.inner
            .read_at_generation(rtype, id)
            .instrument(span)
            .await
    }
    fn prefer_bulk_reads(&self) {
        self.inner.prefer_bulk_reads();
    }
    async fn close(&self) -> Result<(), StoreError> {
        self.inner.close().await
    }
}

#[async_trait]
impl AuditStore for Traced {
    async fn select(&self, what: &AuditSelect<'_>) -> Result<Vec<AuditStored>, StoreError> {
        let span = self.span("audit-select");
        self.inner.audit().select(what).instrument(span).await
    }
    async fn count(&self, filter: &Filter) -> Result<u64, StoreError> {
        let span = self.span("audit-count");
        self.inner.audit().count(filter).instrument(span).await
    }
    async fn dictionary(
        &self,
        terms: &[i64],
        agents: &[i64],
    ) -> Result<AuditDictionary, StoreError> {
        let span = self.span("audit-dictionary");
        self.inner
            .audit()
            .dictionary(terms, agents)
            .instrument(span)
            .await
    }
}
