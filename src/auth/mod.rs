//! Authentication: who is calling. Bearer JWTs per the token contract (design.md section 2) become a
//! [`Principal`] (role, organisation, purpose, patient, scopes), which authorisation and the consent
//! engine decide on. Verification is [`verify`]; wiring it in front of every route, JWKS fetching
//! over HTTP and SMART scope enforcement follow in the consent work.

pub mod client;
pub mod dev;
pub mod jwks;
pub mod mint;
pub mod principal;
pub mod scopes;
pub mod secret;
pub mod settings;
pub mod verify;

pub use principal::{DEFAULT_PURPOSE, Principal, Role};
pub use secret::Secret;
pub use settings::AuthSettings;
pub use verify::{AuthConfig, AuthConfigError, AuthError, ClaimNames, Verifier};
