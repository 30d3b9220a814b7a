//! Installing the conformance artefacts ([`crate::hna::profiles`]) in the store at start-up (and
//! before an import), through the same writes and validation as any client.

use crate::error::Error;
use crate::fhir::ResourceType;
use crate::hna::profiles::artefacts;

use super::{Engine, Return};

/// Writes every artefact under the engine's canonical base through conditional update on its `url`,
/// validated like any client write. An unchanged artefact makes no new version, so restarts are
/// idempotent; a changed catalogue or canonical base makes one new version of what changed.
pub async fn install(engine: &Engine) -> Result<(), Error> {
    for artefact in artefacts(engine.canonical()) {
        let rtype: ResourceType = artefact["resourceType"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .map_err(|_| Error::internal(format!("unknown artefact type in {artefact}")))?;
        let url = artefact["url"].as_str().unwrap_or_default().to_owned();
        let criteria: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("url", &url)
            .finish();
        engine
            .job_put(rtype, &criteria, artefact, Return::Minimal)
            .await
            .map_err(|e| explain(rtype, &url, e))?;
    }
    Ok(())
}

/// Names the artefact and, for validation failures, each issue (the plain error text would only say
/// "invalid resource").
fn explain(rtype: ResourceType, url: &str, e: Error) -> Error {
    let detail = match &e {
        Error::InvalidResource(issues) | Error::BusinessRule(issues) => issues
            .iter()
            .map(|i| match &i.expression {
                Some(at) => format!("{at}: {}", i.diagnostics),
                None => i.diagnostics.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Error::MultipleMatches(_) => "several resources already carry this url".into(),
        other => other.to_string(),
    };
    tracing::error!(%rtype, %url, %detail, "cannot install a conformance artefact");
    match e {
        Error::Unavailable(_) | Error::Internal(_) => e,
        _ => Error::BadRequest(format!("cannot install {rtype} {url}: {detail}")),
    }
}
