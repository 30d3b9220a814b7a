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
    let mut q = insert_event_values(e, "INSERT INTO");
    q.push(" ON CONFLICT (chain, seq) DO NOTHING RETURNING id, ''");
    q
}

/// SQLite's form of [`insert_event`]: `INSERT OR IGNORE`, without `RETURNING` (the caller reads
/// `changes()` and `last_insert_rowid()`). SQLite answers `RETURNING` through an ephemeral table
/// whose page cache it creates and zeroes per statement: with it, copying an event cost about
/// 119,000 instructions (callgrind, `bench/audit_instructions.sh`).
pub fn insert_event_quiet(e: &ChainedEvent) -> Sql {
    insert_event_values(e, "INSERT OR IGNORE INTO")
}

/// The `audit_ref` row of SQLite's [`insert_event_quiet`] path: `?1` key, `?2` event id.
pub const INSERT_REF_QUIET: &str = "INSERT OR IGNORE INTO audit_ref (key, event) VALUES (?1, ?2)";

fn insert_event_values(e: &ChainedEvent, verb: &str) -> Sql {
    let k = &e.keys;
    let mut q = Sql::default();
    q.push(verb);
    q.push(
        " audit_event (chain, seq, recorded, hash, body, subtype, action, outcome, \
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
    q.push(")");
    q
}

/// The `audit_ref` key of a patient or entity: FNV-1a (64 bits) of `kind:value`, stable across
/// versions and platforms.
pub fn ref_key(kind: &str, value: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([b':']).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_be_bytes(h.to_be_bytes())
}

/// The `audit_ref` keys of an event's patients and entities, each once.
pub fn ref_keys(k: &AuditKeys) -> Vec<i64> {
    let patients = k.patients.iter().map(|p| ref_key("patient", p));
    let entities = k.entities.iter().map(|e| ref_key("entity", e));
    let mut keys: Vec<i64> = patients.chain(entities).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The `audit_ref` rows of event `id`.
pub fn insert_refs(id: i64, k: &AuditKeys) -> Vec<Sql> {
    ref_keys(k)
        .into_iter()
        .map(|key| {
            let mut q = Sql::default();
            q.push("INSERT INTO audit_ref (key, event) VALUES (");
            q.int(key);
            q.push(", ");
            q.int(id);
            q.push(") RETURNING event, ''");
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

/// What an auditor's search can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The token subject or the `fhirUser` reference.
    Agent,
    /// Sharing role code.
    Role,
    /// ODS organisation code.
    Organization,
    /// Purpose of use code.
    Purpose,
    /// Action code.
    Action,
    /// Outcome code.
    Outcome,
    /// REST interaction code.
    Subtype,
    /// Patient id (an `audit_ref` row).
    Patient,
    /// `Type/id` of a resource disclosed or written (an `audit_ref` row).
    Entity,
}

/// An auditor's search: every condition holds (each is one of its values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Conditions: a key and the values any of which it may have.
    pub conditions: Vec<(Key, Vec<String>)>,
    /// Recorded at or after (epoch ms).
    pub from: Option<i64>,
    /// Recorded before (epoch ms).
    pub to: Option<i64>,
    /// Newest first.
    pub descending: bool,
    /// Continue after this `(recorded, id)` in the order chosen.
    pub after: Option<(i64, i64)>,
    /// Most rows.
    pub limit: usize,
    /// Only the event stored as this id.
    pub id: Option<i64>,
}

/// The rows of `f`, in its order.
pub fn search(f: &Filter) -> Sql {
    let mut q = Sql::default();
    q.push(COLUMNS);
    conditions(f, &mut q);
    let (cmp, order) = if f.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((recorded, id)) = f.after {
        q.push(&format!(" AND (e.recorded {cmp} "));
        q.int(recorded);
        q.push(" OR (e.recorded = ");
        q.int(recorded);
        q.push(&format!(" AND e.id {cmp} "));
        q.int(id);
        q.push("))");
    }
    q.push(&format!(
        " ORDER BY e.recorded {order}, e.id {order} LIMIT "
    ));
    q.int(i64::try_from(f.limit).unwrap_or(i64::MAX));
    q
}

/// `SELECT COUNT(*)` of every event `f` matches, whatever its page (`after` and `limit` ignored).
/// Patients and entities are matched by their 64-bit key, as [`search`] finds them.
pub fn count(f: &Filter) -> Sql {
    let mut q = Sql::default();
    q.push("SELECT COUNT(*) FROM audit_event e");
    conditions(f, &mut q);
    q
}

/// ` WHERE ...` of `f`'s conditions and period.
fn conditions(f: &Filter, q: &mut Sql) {
    q.push(" WHERE 1 = 1");
    if let Some(id) = f.id {
        q.push(" AND e.id = ");
        q.int(id);
    }
    for (key, values) in &f.conditions {
        let column = match key {
            Key::Agent => {
                q.push(" AND (e.agent IN (");
                q.texts(values.iter().map(String::as_str));
                q.push(") OR e.agent_user IN (");
                q.texts(values.iter().map(String::as_str));
                q.push("))");
                continue;
            }
            Key::Patient | Key::Entity => {
                // By hash: the caller checks each event's record (`audit::search::matches`).
                let kind = if *key == Key::Patient {
                    "patient"
                } else {
                    "entity"
                };
                q.push(" AND e.id IN (SELECT r.event FROM audit_ref r WHERE r.key IN (");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        q.push(", ");
                    }
                    q.int(ref_key(kind, v));
                }
                q.push("))");
                continue;
            }
            Key::Role => "e.agent_role",
            Key::Organization => "e.agent_org",
            Key::Purpose => "e.purpose",
            Key::Action => "e.action",
            Key::Outcome => "e.outcome",
            Key::Subtype => "e.subtype",
        };
        q.push(" AND ");
        q.push(column);
        q.push(" IN (");
        q.texts(values.iter().map(String::as_str));
        q.push(")");
    }
    if let Some(from) = f.from {
        q.push(" AND e.recorded >= ");
        q.int(from);
    }
    if let Some(to) = f.to {
        q.push(" AND e.recorded < ");
        q.int(to);
    }
}
