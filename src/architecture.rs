//! The layers of the crate, lowest first, and the check that keeps imports pointing down.
//!
//! A module may use modules of its own layer or of lower ones. The layers:
//!
//! 1. foundations: `fhir`, `error`, `interaction`, `search` (the request crate's vocabulary),
//!    `telemetry`, `logging`, `outbound`, `metrics`, `setting`;
//! 2. who is calling: `auth`, `tls`;
//! 3. the domain, pure: `consent`, `hna`;
//! 4. persistence: `store`;
//! 5. access and its record: `access`, `audit`;
//! 6. the interactions and the services built on them: `rest`, `referral`, `messaging`, `notify`,
//!    `outcomes`, `import`, `export`, `sample`;
//! 7. the edges: `config`, `http`, `startup`, `commands`.
//!
//! The test below reads the sources (`crate::<module>` paths outside tests) and fails on an import
//! from a lower layer to a higher one, or on a cycle within a layer, that is not in its list of
//! known ones. The lists are the debts still to pay (issue 17): a change that removes one must
//! remove it from the list too, so they only shrink.

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
    &["access", "audit"],
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
    &["config", "http", "startup", "commands"],
];

#[cfg(test)]
mod tests;
