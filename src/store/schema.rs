//! The schema, as ordered migrations shared by both backends. Each backend applies the ones it has not
//! yet recorded in `schema_migrations`, in one transaction, at start-up. Text in `{...}` is replaced per
//! backend: `{rowid}` (auto-increment key), `{without_rowid}`, `{collate_c}`.

/// The migrations, in order; never edit a released one, append a new one.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE resources (
    rid {rowid},
    rtype TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    deleted SMALLINT NOT NULL,
    UNIQUE (rtype, id)
);
CREATE INDEX resources_type_updated ON resources (rtype, last_updated);
CREATE TABLE versions (
    vid {rowid},
    rid BIGINT NOT NULL,
    rtype TEXT NOT NULL,
    version BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    deleted SMALLINT NOT NULL,
    method TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (rid, version)
);
CREATE INDEX versions_type ON versions (rtype, vid);
CREATE INDEX versions_updated ON versions (last_updated);
CREATE TABLE sp_token (
    rtype TEXT NOT NULL, param TEXT NOT NULL, code TEXT NOT NULL, system TEXT NOT NULL, rid BIGINT NOT NULL,
    PRIMARY KEY (rtype, param, code, system, rid)
){without_rowid};
CREATE INDEX sp_token_rid ON sp_token (rid);
CREATE TABLE sp_string (
    rtype TEXT NOT NULL, param TEXT NOT NULL, norm TEXT {collate_c} NOT NULL, exact TEXT NOT NULL, rid BIGINT NOT NULL,
    PRIMARY KEY (rtype, param, norm, exact, rid)
){without_rowid};
CREATE INDEX sp_string_rid ON sp_string (rid);
CREATE TABLE sp_date (
    rtype TEXT NOT NULL, param TEXT NOT NULL, lo BIGINT NOT NULL, hi BIGINT NOT NULL, rid BIGINT NOT NULL,
    PRIMARY KEY (rtype, param, lo, hi, rid)
){without_rowid};
CREATE INDEX sp_date_rid ON sp_date (rid);
CREATE TABLE sp_ref (
    rtype TEXT NOT NULL, param TEXT NOT NULL, target_id TEXT NOT NULL, target_type TEXT NOT NULL, rid BIGINT NOT NULL,
    PRIMARY KEY (rtype, param, target_id, target_type, rid)
){without_rowid};
CREATE INDEX sp_ref_rid ON sp_ref (rid);
CREATE INDEX sp_ref_target ON sp_ref (target_id, target_type);
CREATE TABLE search_snapshots (
    key TEXT PRIMARY KEY,
    created BIGINT NOT NULL,
    rows_csv TEXT NOT NULL
);
CREATE INDEX search_snapshots_created ON search_snapshots (created);
"#,
    // 2: `patient` became a narrowing of `subject` (search::registry::ParamDef::narrows): its
    // literal-reference rows duplicate `subject`'s and are no longer read.
    r#"
DELETE FROM sp_ref WHERE param = 'patient' AND rtype IN (
    'CareTeam', 'QuestionnaireResponse', 'CarePlan', 'Goal', 'Condition', 'ServiceRequest', 'Task'
);
"#,
    // 3: the hash-chained audit log (audit::chain): append-only, in sequence order.
    r#"
CREATE TABLE audit_log (
    seq BIGINT NOT NULL PRIMARY KEY,
    recorded BIGINT NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL
);
"#,
    // 4: the audit log holds several chains (`chain`: the gateway process whose journal recorded
    // the event, or `store` for events committed with the write they record), a storage order
    // (`id`, for export) and the keys auditors search on; `audit_ref` indexes the many-valued ones
    // (patients, entities) by a 64-bit hash of kind and value (`audit_sql::ref_key`): integer
    // keys cost a quarter of text ones to insert (11 against 2.5 us per event, two refs each), and
    // searches check the matched events' records, so a collision can cost time, never a wrong hit.
    r#"
CREATE TABLE audit_event (
    id {rowid},
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    recorded BIGINT NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL,
    subtype TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    agent_user TEXT NOT NULL DEFAULT '',
    agent_org TEXT NOT NULL DEFAULT '',
    agent_role TEXT NOT NULL DEFAULT '',
    purpose TEXT NOT NULL DEFAULT '',
    UNIQUE (chain, seq)
);
CREATE INDEX audit_event_recorded ON audit_event (recorded, id);
CREATE TABLE audit_ref (
    key BIGINT NOT NULL,
    event BIGINT NOT NULL,
    PRIMARY KEY (key, event)
){without_rowid};
INSERT INTO audit_event (chain, seq, recorded, hash, body)
    SELECT 'store', seq, recorded, hash, body FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
"#,
    // 5: the replies to messages (`$process-message`, crate::messaging), kept per caller and
    // request id so that a repeated message is answered again without a second write.
    r#"
CREATE TABLE messages (
    caller TEXT NOT NULL,
    request_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    recorded BIGINT NOT NULL,
    reply TEXT NOT NULL,
    PRIMARY KEY (caller, request_id)
);
"#,
    // 6: bulk export jobs and their output files (`super::exports`).
    super::exports::MIGRATION,
    // 7: secrets the deployment makes for itself (`super::exports::SECRETS_MIGRATION`).
    super::exports::SECRETS_MIGRATION,
    // 8: the notification outbox (`super::outbox`).
    super::outbox::MIGRATION,
    // 9: each subscription's numbered events (`super::outbox`).
    super::outbox::EVENTS_MIGRATION,
    // 10: which process holds a subscription's delivery (`super::outbox::HOLDER_MIGRATION`).
    super::outbox::HOLDER_MIGRATION,
    // 11: the compact audit log (`super::audit_sql`, `crate::audit::compact`). The events of
    // migration 4 move to `audit_event_text` and are copied into the new form by
    // `crate::audit::stored::upgrade` when the gateway opens the store (`crate::audit::open_store`) (in Rust: their bodies are re-encoded),
    // which leaves that table empty. `audit_anchor` is where an archived chain continues
    // (`crate::audit::archive`).
    r#"
ALTER TABLE audit_event RENAME TO audit_event_text;
DROP INDEX audit_event_recorded;
DROP TABLE audit_ref;
CREATE TABLE audit_term (
    id {rowid},
    text TEXT NOT NULL {collate_c} UNIQUE
);
CREATE TABLE audit_agent (
    id {rowid},
    sub TEXT NOT NULL,
    user_ref TEXT NOT NULL,
    role TEXT NOT NULL,
    org TEXT NOT NULL,
    purpose TEXT NOT NULL,
    UNIQUE (sub, user_ref, role, org, purpose)
);
CREATE TABLE audit_event (
    id {rowid},
    chain BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    recorded BIGINT NOT NULL,
    hash {blob} NOT NULL,
    body {blob} NOT NULL,
    kind BIGINT NOT NULL,
    agent BIGINT NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_event_recorded ON audit_event (recorded, id);
CREATE TABLE audit_ref (
    key BIGINT NOT NULL,
    event BIGINT NOT NULL,
    PRIMARY KEY (key, event)
){without_rowid};
CREATE TABLE audit_anchor (
    chain BIGINT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash {blob} NOT NULL,
    archived BIGINT NOT NULL
);
"#,
];

/// How a backend spells what the migrations leave open.
pub struct Dialect {
    /// An integer primary key that numbers rows in insertion order.
    pub rowid: &'static str,
    /// The suffix of a table stored in its primary key's order.
    pub without_rowid: &'static str,
    /// Byte-order collation of a text column.
    pub collate_c: &'static str,
    /// A byte-string column type.
    pub blob: &'static str,
}

/// One migration's SQL for a backend.
pub fn render(sql: &str, d: &Dialect) -> String {
    sql.replace("{rowid}", d.rowid)
        .replace("{without_rowid}", d.without_rowid)
        .replace("{collate_c}", d.collate_c)
        .replace("{blob}", d.blob)
}

/// How long a saved search stays pageable, in milliseconds.
pub const SNAPSHOT_TTL_MS: i64 = 60 * 60 * 1000;

/// Encodes snapshot rows compactly.
pub fn rows_to_csv(rows: &[i64]) -> String {
    let mut s = String::with_capacity(rows.len() * 8);
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&r.to_string());
    }
    s
}

/// Decodes snapshot rows; malformed entries are skipped (the table is ours, never client text).
pub fn rows_from_csv(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|r| r.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use crate::fhir::ResourceType;
    use crate::search::registry;

    /// Migration 2 removes the rows of exactly the parameters that narrow another.
    #[test]
    fn the_narrowing_migration_names_every_narrowed_parameter() {
        let narrowed: Vec<String> = ResourceType::ALL
            .iter()
            .filter(|t| registry::all_params(**t).any(|d| d.narrows.is_some()))
            .map(|t| format!("'{t}'"))
            .collect();
        let migration = MIGRATIONS[1];
        for t in &narrowed {
            assert!(migration.contains(t.as_str()), "{t} missing");
        }
        assert_eq!(migration.matches('\'').count(), 2 * narrowed.len() + 2);
        assert!(registry::all_params(ResourceType::Patient).all(|d| d.narrows.is_none()));
    }
}
