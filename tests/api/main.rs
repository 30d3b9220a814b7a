//! Black-box tests of the FHIR API: each test starts the real server (`Application::build`) on its
//! own port with its own database and speaks HTTP to it, as a client would.
//!
//! One binary with a module per area, so the server is linked once. Run with `cargo test --test api`;
//! the PostgreSQL variants (`*::on_postgres`) need `TEST_POSTGRES_URL`, e.g.
//! `TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo test --test api`, and print
//! `skipped: TEST_POSTGRES_URL not set` without it. With `TEST_BACKEND=postgres` as well, every test
//! runs on PostgreSQL. `UPDATE_CONFORMANCE=1` regenerates
//! `conformance/CapabilityStatement.json`.

#[macro_use]
mod helpers;
use helpers::pki;
mod resources;
mod sharing;
mod world;

mod activity_domains;
mod attack;
mod audit;
mod audit_journal;
mod auth;
mod bundles;
mod conditional_read;
mod conformance;
mod consent;
mod consent_matrix;
mod control_chars;
mod create;
mod delete;
mod errors;
mod export;
mod extract;
mod health;
mod history;
mod hna_validation;
#[path = "../support/journal.rs"]
mod journal_support;
mod metadata;
mod metrics;
mod paging;
mod patch;
mod profiles;
mod read;
// `Receiver::delay` is for the crash test in `tests/cli`, which shares this file.
#[allow(dead_code)]
mod receiver;
mod referral;
mod search;
mod search_results;
mod slow_body;
mod smart;
mod subscriptions;
mod tls;
mod update;
mod validate;
