//! The layers of the crate, lowest first, and the check that keeps imports pointing down.
//!
//! A module may use modules of its own layer or of lower ones. The layers:
//!
//! 1. foundations: `fhir`, `error`, `interaction`, `search` (the request crate's vocabulary),
//!    `telemetry`, `logging`, `outbound`, `metrics`, `setting`;
//! 2. who is calling: `auth`, `tls`;
//! 3. the domain, pure: `consent`, `hna`;
//! 4. persistence: `store`;
//! 5. access, its record, and what a subscriber may ask for: `access`, `audit`, `subscription`;
//! 6. the interactions and the services built on them: `rest`, `referral`, `messaging`, `notify`,
//!    `outcomes`, `import`, `export`, `sample`;
//! 7. the edges: `config`, `http`, `startup`, `cli`.
//!
//! The test below reads the sources (`crate::<module>` paths outside tests) and fails on an import
//! from a lower layer to a higher one, or on a cycle between modules of one layer. A module that
//! needs something above it is a sign that the thing belongs lower down: move it (as the
//! subscription rules moved out of `notify` so that `rest` could check a Subscription on write),
//! or pass it in.

/// The layers, lowest first ([module docs](self)).
pub const LAYERS: &[&[&str]] = &[
    &[
        "fhir",
        "error",
        "interaction",
        "search",
        "telemetry",
        "logging",
        "outbound",
        "metrics",
        "setting",
    ],
    &["auth", "tls"],
    &["consent", "hna"],
    &["store"],
    &["access", "audit", "subscription"],
    &[
        "rest",
        "referral",
        "messaging",
        "notify",
        "outcomes",
        "import",
        "export",
        "sample",
    ],
    &["config", "http", "startup", "cli"],
];

#[cfg(test)]
mod tests;
