//! One store test suite, run against both backends through the public store API.
//!
//! Every case is an `async fn(Db)` written once; [`store_tests!`] expands each into a `sqlite::` test
//! (a temporary file) and a `postgres::` test (a fresh database on the server `TEST_POSTGRES_URL` names,
//! dropped afterwards; skipped with a message when the variable is unset).

mod audit;
mod concurrency;
mod fixtures;
mod harness;
mod history;
mod journal;
#[path = "../support/journal.rs"]
mod journal_support;
mod outbox;
mod postgres_only;
mod resources;
mod search;
mod tls;
mod transactions;
mod view_generated;
mod view_matching;

/// Expands `module::case` paths into one test per backend, named `sqlite::case` and `postgres::case`.
macro_rules! store_tests {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::sqlite(crate::$module::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::postgres(crate::$module::$case).await;
                }
            )*
        }
    };
}

store_tests!(
    resources::create_then_read,
    resources::update_makes_a_new_version,
    resources::delete_is_logical,
    resources::fetch_keeps_order_and_leaves_out_deleted,
    resources::snapshots_save_and_load,
    resources::a_deployment_secret_is_made_once_and_shared,
    outbox::a_change_and_its_outbox_row_commit_together_or_not_at_all,
    outbox::events_are_numbered_per_subscription_and_rows_taken_once,
    outbox::a_restarted_process_takes_back_what_it_held_and_nothing_else,
    resources::migrations_are_idempotent,
    resources::generation_changes_with_every_commit,
    resources::audit_appends_make_one_verifiable_chain,
    audit::copied_events_are_found_by_the_auditors_filters,
    audit::events_stored_before_the_compact_form_move_into_it,
    audit::concurrent_writers_storing_the_same_new_terms_all_commit,
    journal::journal_lines_not_yet_copied_verify_and_count,
    journal::a_journal_line_changed_before_its_copy_is_reported_and_never_copied,
    journal::verifying_while_a_gateway_records_and_copies_finds_no_break,
    journal::an_incomplete_last_line_is_left_alone,
    history::instance_history_is_newest_first,
    history::type_and_system_history_page_with_cursors,
    history::since_limits_history,
    search::token_search,
    search::string_search,
    search::date_search,
    search::last_updated_search_and_sort,
    search::sort_by_string_puts_missing_values_last,
    search::reference_search,
    search::chained_search,
    search::identifier_modifier_search,
    search::count_matches,
    search::include_and_revinclude,
    search::deleted_resources_leave_search,
    search::related_predicate_finds_related_patients_only,
    transactions::failing_job_rolls_back_everything,
    transactions::conflicting_version_rolls_back,
    transactions::transaction_sees_its_own_writes,
    transactions::reindexing_replaces_old_index_rows,
    concurrency::concurrent_updates_serialise,
    concurrency::concurrent_creates_of_one_id_make_one_resource,
    concurrency::conditional_creates_under_lock_make_one_resource,
    view_matching::matcher_decides_every_query_as_the_store,
    view_matching::a_redacted_form_is_not_found_by_what_it_withholds,
    view_matching::sorting_in_memory_gives_the_stores_order,
    view_generated::matcher_agrees_with_the_store_on_generated_data,
);
