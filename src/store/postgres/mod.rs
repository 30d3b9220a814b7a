//! PostgreSQL backend (scale-out): several gateway processes share one database.

use async_trait::async_trait;

use super::{Backend, HistoryEntry, HistoryFilter, RowId, StoreError, StoredResource, TxJob};
use crate::fhir::ResourceType;
use crate::search::{Include, SearchQuery};

/// PostgreSQL-backed store.
pub struct PostgresBackend;

impl PostgresBackend {
    /// Connects and applies pending migrations.
    pub async fn connect(_url: &str) -> Result<Self, StoreError> {
        Err(StoreError::Unavailable(
            "PostgreSQL backend not built yet".into(),
        ))
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn read(&self, _: ResourceType, _: &str) -> Result<Option<StoredResource>, StoreError> {
        todo!()
    }
    async fn vread(
        &self,
        _: ResourceType,
        _: &str,
        _: u64,
    ) -> Result<Option<StoredResource>, StoreError> {
        todo!()
    }
    async fn search(&self, _: &SearchQuery, _: usize) -> Result<Vec<RowId>, StoreError> {
        todo!()
    }
    async fn count(&self, _: &SearchQuery) -> Result<u64, StoreError> {
        todo!()
    }
    async fn fetch(&self, _: &[RowId]) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        todo!()
    }
    async fn included(
        &self,
        _: &[RowId],
        _: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        todo!()
    }
    async fn revincluded(
        &self,
        _: &[(ResourceType, String)],
        _: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        todo!()
    }
    async fn history(&self, _: &HistoryFilter) -> Result<Vec<HistoryEntry>, StoreError> {
        todo!()
    }
    async fn transact(&self, _: TxJob) -> Result<(), StoreError> {
        todo!()
    }
    async fn save_snapshot(&self, _: &str, _: &[RowId]) -> Result<(), StoreError> {
        todo!()
    }
    async fn load_snapshot(&self, _: &str) -> Result<Option<Vec<RowId>>, StoreError> {
        todo!()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        todo!()
    }
}
