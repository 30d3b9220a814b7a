//! SQL of the audit log (`audit_event`, `audit_ref`; schema migration 4), shared by both backends:
//! appending, reading a chain in order, exporting in storage order and the auditors' search.
//! Every select returns `id, chain, seq, recorded, hash, body` ([`super::AuditRow`]).

use super::sql::Sql;
use super::{AuditKeys, ChainedEvent};

/// The columns every select returns.
pub const COLUMNS: &str =
    "SELECT e.id, e.chain, e.seq, e.recorded, e.hash, e.body FROM audit_event e";

/// `seq, hash` of the last event of `chain`.
pub fn head(chain: &str) -> Sql {
    let mut q = Sql::default();
    q.push("SELECT seq, hash FROM audit_event WHERE chain = ");
    q.text(chain);
    q.push(" ORDER BY seq DESC LIMIT 1");
    q
}

/// Events of `chain` after sequence number `after`, in sequence order, at most `limit`.
pub fn chain_page(chain: &str, after: u64, limit: usize) -> Sql {
    let mut q = Sql::default();
    q.push(COLUMNS);
    q.push(" WHERE e.chain = ");
    q.text(chain);
    q.push(" AND e.seq > ");
    q.int(i64::try_from(after).unwrap_or(i64::MAX));
    q.push(" ORDER BY e.seq LIMIT ");
    q.int(i64::try_from(limit).unwrap_or(i64::MAX));
    q
}

/// Inserts an event and returns `id, ''`; nothing when its chain already has its sequence number.
pub fn insert_event(e: &ChainedEvent) -> Sql {
    let k = &e.keys;
    let mut q = Sql::default();
    q.push(
        "INSERT INTO audit_event (chain, seq, recorded, hash, body, subtype, action, outcome, \
         agent, agent_user, agent_org, agent_role, purpose) VALUES (",
    );
    q.text(&e.chain);
    q.push(", ");
    q.int(i64::try_from(e.seq).unwrap_or(i64::MAX));
    q.push(", ");
    q.int(e.recorded);
    q.push(", ");
    q.texts([
        e.hash.as_str(),
        &e.body,
        &k.subtype,
        &k.action,
        &k.outcome,
        &k.agent,
        &k.user,
        &k.org,
        &k.role,
        &k.purpose,
    ]);
    q.push(") ON CONFLICT (chain, seq) DO NOTHING RETURNING id, ''");
    q
}

/// The `audit_ref` rows of event `id`.
pub fn insert_refs(id: i64, k: &AuditKeys) -> Vec<Sql> {
    let patients = k.patients.iter().map(|p| ("patient", p));
    let entities = k.entities.iter().map(|e| ("entity", e));
    patients
        .chain(entities)
        .map(|(kind, value)| {
            let mut q = Sql::default();
            q.push("INSERT INTO audit_ref (event, kind, value) VALUES (");
            q.int(id);
            q.push(", ");
            q.texts([kind, value.as_str()]);
            q.push(") ON CONFLICT DO NOTHING RETURNING event, ''");
            q
        })
        .collect()
}

/// The last event of `chain`.
pub fn chain_head(chain: &str) -> Sql {
    let mut q = Sql::default();
    q.push(COLUMNS);
    q.push(" WHERE e.chain = ");
    q.text(chain);
    q.push(" ORDER BY e.seq DESC LIMIT 1");
    q
}

/// The first stored event of every chain (whatever its sequence number: verifying must see a
/// chain whose first events were removed).
pub fn chains() -> Sql {
    let mut q = Sql::default();
    q.push(COLUMNS);
    q.push(" WHERE e.id IN (SELECT MIN(id) FROM audit_event GROUP BY chain) ORDER BY e.chain");
    q
}

/// Events stored after `after` (storage order) recorded in `[from, to)`, at most `limit`.
pub fn export_page(after: i64, from: Option<i64>, to: Option<i64>, limit: usize) -> Sql {
    let mut q = Sql::default();
    q.push(COLUMNS);
    q.push(" WHERE e.id > ");
    q.int(after);
    if let Some(f) = from {
        q.push(" AND e.recorded >= ");
        q.int(f);
    }
    if let Some(t) = to {
        q.push(" AND e.recorded < ");
        q.int(t);
    }
    q.push(" ORDER BY e.id LIMIT ");
    q.int(i64::try_from(limit).unwrap_or(i64::MAX));
    q
}
