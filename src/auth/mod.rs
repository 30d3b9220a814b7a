//! Authentication: who is calling. Bearer JWTs per the token contract (docs/design.md section 2)
//! become a [`Principal`] (role, organisation, purpose, patient, scopes), which authorisation and
//! the consent engine decide on. Verification is [`verify`], JWKS fetching [`jwks`], scope
//! enforcement [`scopes`].

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
