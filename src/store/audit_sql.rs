//! SQL of the audit log (`audit_event`, `audit_ref`, `audit_term`, `audit_agent`; schema migration
//! 11), shared by both backends: reading a chain in order, exporting in storage order and the
//! auditors' search. Only the store sees it: the audit layer names what to read
//! ([`super::audit::AuditSelect`]). Every select returns `id, chain, seq, recorded, hash, body, agent`
//! ([`super::AuditStored`]); `crate::audit::stored` decodes them.
//!
//! Storage (migration 11): an event's texts are terms (`audit_term`, one row per distinct text),
//! its caller a row of `audit_agent`, its interaction and outcome one number ([`kind_code`]), its
//! patients and resources `audit_ref` rows keyed by their terms, and its hash 32 bytes. That is
//! what keeps a read's event near 100 bytes in the store, indexes included (`bench/audit_bytes.py`).

use super::search_sql::Sql;

/// The REST interactions (BALP `subtype`) with their action codes, numbered by position: the
/// numbering is stored (in [`kind_code`] and in compact bodies), so entries are only ever
/// appended.
pub const SUBTYPES: &[(&str, &str)] = &[
    ("capabilities", "R"),
    ("read", "R"),
    ("vread", "R"),
    ("history-instance", "R"),
    ("history-type", "R"),
    ("history-system", "R"),
    ("search-type", "E"),
    ("create", "C"),
    ("update", "U"),
    ("delete", "D"),
    ("transaction", "E"),
    ("batch", "E"),
    ("operation", "E"),
];

/// BALP outcome codes, numbered by position (stored in [`kind_code`]).
pub const OUTCOMES: &[&str] = &["0", "4", "8"];

/// Subtype number of a code not in [`SUBTYPES`] (an event written by a tool).
const OTHER: usize = 63;

/// The stored number of an interaction and outcome: subtype number times four plus the outcome's.
pub fn kind_code(subtype: &str, outcome: &str) -> i64 {
    let s = SUBTYPES
        .iter()
        .position(|(c, _)| *c == subtype)
        .unwrap_or(OTHER);
    let o = OUTCOMES
        .iter()
        .position(|c| *c == outcome)
        .unwrap_or(OUTCOMES.len());
    code(s, o)
}

/// The stored number of subtype number `s` and outcome number `o`.
fn code(s: usize, o: usize) -> i64 {
    i64::try_from(s * 4 + o).unwrap_or(i64::MAX)
}

/// Every stored kind whose interaction, action or outcome (as `key` says) is one of `values`.
fn kind_codes(key: Key, values: &[String]) -> Vec<i64> {
    let has = |v: &str| values.iter().any(|x| x == v);
    let mut codes = Vec::new();
    for (si, (subtype, action)) in SUBTYPES.iter().enumerate() {
        for (oi, outcome) in OUTCOMES.iter().enumerate() {
            let hit = match key {
                Key::Subtype => has(subtype),
                Key::Action => has(action),
                Key::Outcome => has(outcome),
                _ => false,
            };
            if hit {
                codes.push(code(si, oi));
            }
        }
    }
    codes
}

/// (`$n` parameters: SQLite binds them by position too.)
/// Removes the `audit_ref` rows of chain `$1`'s events up to sequence number `$2`.
pub(super) const CUT_REFS: &str = "DELETE FROM audit_ref WHERE event IN \
     (SELECT id FROM audit_event WHERE chain = $1 AND seq <= $2)";
/// Removes chain `$1`'s events up to sequence number `$2`.
pub(super) const CUT_EVENTS: &str = "DELETE FROM audit_event WHERE chain = $1 AND seq <= $2";
/// Records chain `$1`'s anchor: sequence number `$2`, hash `$3`, archived at `$4`.
pub(super) const ANCHOR: &str = "INSERT INTO audit_anchor (chain, seq, hash, archived) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, \
     hash = excluded.hash, archived = excluded.archived";

/// The columns every select returns.
pub(super) const COLUMNS: &str =
    "SELECT e.id, e.chain, e.seq, e.recorded, e.hash, e.body, e.agent FROM audit_event e";

/// The term number of text `?` (NULL when the text was never stored).
const TERM_OF: &str = "(SELECT id FROM audit_term WHERE text = ";

/// Events of `chain` after sequence number `after`, in sequence order, at most `limit`.
pub(super) fn chain_page(chain: &str, after: u64, limit: usize) -> Sql {
    let mut q = Sql::default();
    q.push(COLUMNS);
    q.push(" WHERE e.chain = ");
    q.push(TERM_OF);
    q.text(chain);
    q.push(") AND e.seq > ");
    q.int(i64::try_from(after).unwrap_or(i64::MAX));
    q.push(" ORDER BY e.seq LIMIT ");
    q.int(i64::try_from(limit).unwrap_or(i64::MAX));
    q
}

/// Every chain's archive anchor, in the shape of [`COLUMNS`]: `0, chain, seq, archived, hash,
/// hash, 0` (the event an archive ended with: its sequence number and hash; the body is not kept).
pub(super) fn anchors() -> Sql {
    let mut q = Sql::default();
    q.push(
        "SELECT CAST(0 AS BIGINT), a.chain, a.seq, a.archived, a.hash, a.hash, CAST(0 AS BIGINT) \
         FROM audit_anchor a ORDER BY a.chain",
    );
    q
}

/// Most numbers looked up by one statement of [`terms`] or [`agents`].
pub(super) const LOOKUP_CHUNK: usize = 500;

/// The texts of terms `ids`: rows `id, text`.
pub(super) fn terms(ids: &[i64]) -> Sql {
    let mut q = Sql::default();
    q.push("SELECT id, text FROM audit_term WHERE id IN (");
    q.ints(ids.iter().copied());
    q.push(")");
    q
}

/// The callers `ids`: rows `id, sub, user_ref, role, org, purpose`.
pub(super) fn agents(ids: &[i64]) -> Sql {
    let mut q = Sql::default();
    q.push("SELECT id, sub, user_ref, role, org, purpose FROM audit_agent WHERE id IN (");
    q.ints(ids.iter().copied());
    q.push(")");
    q
}

/// The last event of `chain`.
pub(super) fn chain_head(chain: &str) -> Sql {
    let mut q = Sql::default();
    q.push(COLUMNS);
    q.push(" WHERE e.chain = ");
    q.push(TERM_OF);
    q.text(chain);
    q.push(")");
    q.push(" ORDER BY e.seq DESC LIMIT 1");
    q
}

/// The first stored event of every chain (whatever its sequence number: verifying must see a
/// chain whose first events were removed).
pub(super) fn chains() -> Sql {
    let mut q = Sql::default();
    q.push(COLUMNS);
    q.push(" WHERE e.id IN (SELECT MIN(id) FROM audit_event GROUP BY chain) ORDER BY e.chain");
    q
}

/// Events stored after `after` (storage order) recorded in `[from, to)`, at most `limit`.
pub(super) fn export_page(after: i64, from: Option<i64>, to: Option<i64>, limit: usize) -> Sql {
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
pub(super) fn search(f: &Filter) -> Sql {
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
pub(super) fn count(f: &Filter) -> Sql {
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
        match key {
            Key::Agent => {
                q.push(" AND e.agent IN (SELECT id FROM audit_agent WHERE sub IN (");
                q.texts(values.iter().map(String::as_str));
                q.push(") OR user_ref IN (");
                q.texts(values.iter().map(String::as_str));
                q.push("))");
            }
            Key::Role | Key::Organization | Key::Purpose => {
                let column = match key {
                    Key::Role => "role",
                    Key::Organization => "org",
                    _ => "purpose",
                };
                q.push(" AND e.agent IN (SELECT id FROM audit_agent WHERE ");
                q.push(column);
                q.push(" IN (");
                q.texts(values.iter().map(String::as_str));
                q.push("))");
            }
            Key::Action | Key::Outcome | Key::Subtype => {
                let codes = kind_codes(*key, values);
                if codes.is_empty() {
                    q.push(" AND 1 = 0");
                } else {
                    q.push(" AND e.kind IN (");
                    q.ints(codes);
                    q.push(")");
                }
            }
            Key::Patient | Key::Entity => {
                // A patient is an id, an entity `Type/id`: a value of the other shape names
                // nothing of this kind (their terms would be the other kind's).
                let shaped: Vec<&str> = values
                    .iter()
                    .map(String::as_str)
                    .filter(|v| v.contains('/') == (*key == Key::Entity))
                    .collect();
                if shaped.is_empty() {
                    q.push(" AND 1 = 0");
                    continue;
                }
                q.push(
                    " AND e.id IN (SELECT r.event FROM audit_ref r WHERE r.key IN \
                     (SELECT id FROM audit_term WHERE text IN (",
                );
                q.texts(shaped);
                q.push(")))");
            }
        }
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
