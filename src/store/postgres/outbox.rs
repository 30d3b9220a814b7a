//! The notification outbox on PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::types::Type;

use super::PostgresBackend;
use super::codec::db_error;
use crate::store::StoreError;
use crate::store::outbox::Settled;
use crate::store::outbox::{
    Change, Delivery, Event, OutboxStore, change, claim_due, delivery, event, release,
    select_count, select_events, select_pending, select_state, settle,
};

/// A state row read in [`crate::store::outbox`]'s column order.
fn state_row(r: &tokio_postgres::Row) -> Result<Delivery, StoreError> {
    Ok(delivery(
        r.try_get(0).map_err(db_error)?,
        r.try_get(1).map_err(db_error)?,
        r.try_get(2).map_err(db_error)?,
        r.try_get(3).map_err(db_error)?,
        r.try_get(4).map_err(db_error)?,
        r.try_get(5).map_err(db_error)?,
        r.try_get(6).map_err(db_error)?,
        r.try_get(7).map_err(db_error)?,
        r.try_get(8).map_err(db_error)?,
    ))
}

#[async_trait]
impl OutboxStore for PostgresBackend {
    async fn pending(&self, limit: usize) -> Result<Vec<Change>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query_typed(&select_pending("$1"), &[Type::INT8], &[&limit])
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let rtype: String = r.try_get(1).map_err(db_error)?;
            out.extend(change(
                r.try_get(0).map_err(db_error)?,
                &rtype,
                r.try_get(2).map_err(db_error)?,
                r.try_get(3).map_err(db_error)?,
                r.try_get(4).map_err(db_error)?,
            ));
        }
        Ok(out)
    }

    async fn events(
        &self,
        subscription: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        static SELECT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| select_events(|n| format!("${n}")));
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query_typed(
                &SELECT,
                &[Type::TEXT, Type::INT8, Type::INT8],
                &[&subscription, &after, &limit],
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let rtype: String = r.try_get(3).map_err(db_error)?;
            out.extend(event(
                r.try_get(0).map_err(db_error)?,
                r.try_get(1).map_err(db_error)?,
                r.try_get(2).map_err(db_error)?,
                &rtype,
                r.try_get(4).map_err(db_error)?,
                r.try_get(5).map_err(db_error)?,
                r.try_get(6).map_err(db_error)?,
            ));
        }
        Ok(out)
    }

    async fn event_count(&self, subscription: &str) -> Result<u64, StoreError> {
        static SELECT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| select_count(|n| format!("${n}")));
        let rows = self
            .query_typed(&SELECT, &[Type::TEXT], &[&subscription])
            .await?;
        match rows.first() {
            Some(r) => {
                let n: i64 = r.try_get(0).map_err(db_error)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
            None => Ok(0),
        }
    }

    async fn delivery(&self, subscription: &str) -> Result<Option<Delivery>, StoreError> {
        static SELECT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| select_state(|n| format!("${n}")));
        let rows = self
            .query_typed(&SELECT, &[Type::TEXT], &[&subscription])
            .await?;
        rows.first().map(state_row).transpose()
    }

    async fn claim_due(
        &self,
        now: i64,
        until: i64,
        holder: &str,
        limit: usize,
    ) -> Result<Vec<(String, Delivery)>, StoreError> {
        static CLAIM: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| claim_due(|n| format!("${n}")));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query_typed(
                &CLAIM,
                &[Type::INT8, Type::INT8, Type::TEXT, Type::INT8],
                &[&now, &until, &holder, &limit],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(9).map_err(db_error)?, state_row(r)?)))
            .collect()
    }

    async fn release(&self, holder: &str) -> Result<u64, StoreError> {
        static RELEASE: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| release(|n| format!("${n}")));
        let client = self.client().await?;
        client
            .execute(RELEASE.as_str(), &[&holder])
            .await
            .map_err(db_error)
    }

    async fn settle(&self, subscription: &str, outcome: &Settled) -> Result<(), StoreError> {
        static SETTLE: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| settle(|n| format!("${n}")));
        let o = outcome;
        self.query_typed(
            &SETTLE,
            &[
                Type::TEXT,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::INT8,
            ],
            &[
                &subscription,
                &i64::try_from(o.delivered).unwrap_or(i64::MAX),
                &i64::try_from(o.attempts).unwrap_or(i64::MAX),
                &o.next_attempt,
                &i64::from(o.failed),
                &o.error,
                &o.next_contact,
            ],
        )
        .await
        .map(|_| ())
    }
}
