//! The HTTP surface: routes under the FHIR base path `/fhir`, health probes at the root, and the
//! middleware that makes every error an OperationOutcome.

mod access;
mod audit;
mod audit_log;
mod authenticate;
mod authorise;
pub mod capability;
mod errors;
mod handlers;
mod health;
mod operations;
mod request;
mod response;
mod smart;

use actix_web::web::{self, ServiceConfig};

pub use audit::audit;
pub use authenticate::authenticate;
pub use errors::outcome_errors;
pub use response::FHIR_JSON;
pub use smart::SmartConfiguration;

/// The path under which the FHIR API is served.
pub const FHIR_PATH: &str = "/fhir";

/// Registers every route.
pub fn routes(cfg: &mut ServiceConfig) {
    use handlers::*;
    let not_allowed = || web::to(method_not_allowed);
    cfg.route("/healthz", web::get().to(health::healthz))
        .route(
            "/.well-known/smart-configuration",
            web::get().to(smart::smart_configuration),
        )
        .route("/readyz", web::get().to(health::readyz))
        .service(
            web::scope(FHIR_PATH)
                .service(
                    web::resource(["", "/"])
                        .route(web::post().to(bundle))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/.well-known/smart-configuration")
                        .route(web::get().to(smart::smart_configuration))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/metadata")
                        .route(web::get().to(capability::metadata))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/$hna-outcomes")
                        .route(web::get().to(operations::outcomes))
                        .route(web::post().to(operations::outcomes))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/$audit-export")
                        .route(web::get().to(audit_log::audit_export))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/$audit-verify")
                        .route(web::get().to(audit_log::audit_verify))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/AuditEvent")
                        .route(web::get().to(audit_log::search))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/AuditEvent/{id}")
                        .route(web::get().to(audit_log::read))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/$consent-explain")
                        .route(web::get().to(operations::consent_explain))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/QuestionnaireResponse/$extract")
                        .route(web::post().to(operations::extract_type))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/QuestionnaireResponse/{id}/$extract")
                        .route(web::post().to(operations::extract_instance))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/_history")
                        .route(web::get().to(system_history))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}")
                        .route(web::get().to(search))
                        .route(web::post().to(create))
                        .route(web::put().to(conditional_update))
                        .route(web::delete().to(conditional_delete))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/_search")
                        .route(web::post().to(search_post))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/_history")
                        .route(web::get().to(type_history))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/{id}")
                        .route(web::get().to(read))
                        .route(web::put().to(update))
                        .route(web::delete().to(delete))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/{id}/_history")
                        .route(web::get().to(instance_history))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/{id}/_history/{vid}")
                        .route(web::get().to(vread))
                        .default_service(not_allowed()),
                ),
        )
        .default_service(web::to(no_route));
}
