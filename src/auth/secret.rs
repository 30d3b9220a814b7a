//! A secret that cannot be printed: configuration types derive `Debug` (errors and start-up logs
//! print them), and a secret inside one must never reach a log. [`Secret`] has no `Display`, its
//! `Debug` says only that it is redacted, and code that signs or verifies asks for the text by
//! name ([`Secret::expose`]), which makes every use easy to find.

use std::fmt;

use serde::Deserialize;

/// A secret's text (the HS256 shared secret), kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret's text, for signing and verifying only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in bytes (a secret too short to be safe is refused).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty (an empty setting means none).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret(text.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "0123456789abcdef0123456789abcdef-do-not-print";

    #[test]
    fn a_secret_is_never_in_debug_output_of_what_holds_it() {
        let secret = Secret::new(TEXT);
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        let raw: crate::auth::settings::RawAuth =
            toml::from_str(&format!("hs256_secret = \"{TEXT}\"")).expect("parsed");
        assert!(!format!("{raw:?}").contains("do-not-print"));
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join(crate::auth::dev::SECRET_FILE), TEXT).expect("secret");
        let settings = crate::auth::dev::settings(dir.path()).expect("settings");
        assert!(!format!("{settings:?}").contains("do-not-print"));
        let config = settings.load().expect("loaded");
        assert!(!format!("{config:?}").contains("do-not-print"));
        assert_eq!(config.hs256_secret.as_ref().map(Secret::expose), Some(TEXT));
    }
}
