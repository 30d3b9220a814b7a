//! carebridge: a FHIR R4 gateway for personalised cancer care. See README.md for the architecture.

pub mod access;
pub mod audit;
pub mod auth;
pub mod commands;
pub mod config;
pub mod consent;
pub mod error;
pub mod export;
pub mod fhir;
pub mod hna;
pub mod http;
pub mod import;
pub mod logging;
pub mod messaging;
pub mod metrics;
pub mod notify;
pub mod outbound;
pub use carebridge_request::interaction;
pub mod outcomes;
pub mod referral;
pub mod rest;
pub mod sample;
pub mod search;
pub mod startup;
pub mod store;
pub mod tls;
