//! The HTTP surface: the FHIR API under the base path `/fhir` (one entry point, [`fhir::dispatch`],
//! which parses each request once and takes it through authentication, authorisation, execution
//! and audit), health probes and the SMART configuration at the root, and the middleware that makes
//! every error an OperationOutcome.

mod audit;
mod audit_log;
mod authenticate;
pub mod capability;
mod errors;
mod export;
pub mod fhir;
mod health;
mod messaging;
pub mod metrics;
mod operations;
mod request;
mod response;
mod smart;
mod token;

use actix_web::web::{self, ServiceConfig};

pub use errors::outcome_errors;
pub use fhir::Services;
pub use health::{Readiness, healthz, readyz};
pub use request::BREAK_GLASS_HEADER;
pub use response::FHIR_JSON;
pub use smart::{OauthUris, SmartConfiguration};
pub use token::TokenEndpoint;

/// The path under which the FHIR API is served.
pub const FHIR_PATH: &str = "/fhir";

/// Registers every route: the probes, the SMART configuration and (in development) the token
/// endpoint at the root; everything else, the FHIR API included, goes to [`fhir::dispatch`] (404
/// outside the FHIR base).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route(token::TOKEN_PATH, web::post().to(token::token))
        .route(
            "/.well-known/smart-configuration",
            web::get().to(smart::smart_configuration),
        )
        .route("/readyz", web::get().to(health::readyz))
        .default_service(web::to(fhir::dispatch));
}
