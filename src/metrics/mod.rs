//! Metrics in the Prometheus text format (version 0.0.4): the process's registry. They are served
//! on their own listener ([`crate::http::metrics`], `metrics_listen`) so that scrapers never reach
//! the FHIR port and the FHIR port's clients never see them.
//!
//! Decisions:
//! - **One registry per process** ([`global`]): requests and consent decisions are counted where
//!   they happen without threading a handle through every layer; what the store and the journal
//!   know is read when the page is scraped ([`crate::http::metrics`]).
//! - **Labels are codes, never data**: interaction, resource type, status, consent outcome and
//!   rule. No identifier, search value or organisation is a label (they would be personal data
//!   or unbounded).
//! - Hand-written: a dozen metric families do not justify a metrics framework's dependencies.
//! - Import progress is not here: `carebridge import` is its own process (a bar on a terminal,
//!   else a log line every [`crate::import::PROGRESS_EVERY`]).

pub mod registry;

pub use registry::{Registry, global};
