//! read and vread. The stored JSON is served as is when the caller may see all of it (no parse, no
//! re-serialisation on the hot path for system callers); otherwise the access gate decides.
//!
//! A resource the caller may not see answers exactly like one that does not exist (404, the same
//! body). A deleted resource is 410 Gone only to a caller who could see its last live version;
//! anyone else gets the 404 of a resource that never existed, so deletion leaks nothing either.

use actix_web::http::StatusCode;

use super::{Engine, Reply};
use crate::access::Gate;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::store::StoredResource;

impl Engine {
    /// `GET [type]/[id]`: 404 when unknown or hidden, 410 when deleted.
    pub async fn read(&self, rtype: ResourceType, id: &str, gate: &Gate) -> Result<Reply, Error> {
        let backend = self.store.backend();
        let r = if gate.unrestricted() {
            backend.read(rtype, id).await?
        } else {
            let (r, generation) = backend.read_at_generation(rtype, id).await?;
            gate.seed_generation(generation);
            r
        };
        self.serve(rtype, id, r, gate).await
    }

    /// `GET [type]/[id]/_history/[vid]`: 404 when the version is unknown or hidden, 410 for a
    /// deletion.
    pub async fn vread(
        &self,
        rtype: ResourceType,
        id: &str,
        version: u64,
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let r = self.store.backend().vread(rtype, id, version).await?;
        self.serve(rtype, id, r, gate).await
    }

    async fn serve(
        &self,
        rtype: ResourceType,
        id: &str,
        r: Option<StoredResource>,
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let not_found = || Error::NotFound {
            rtype,
            id: id.to_owned(),
        };
        let r = r.ok_or_else(not_found)?;
        if r.deleted {
            return Err(if self.saw_before_deletion(&r, gate).await? {
                Error::Gone {
                    rtype,
                    id: id.to_owned(),
                }
            } else {
                gate.attempted(&r);
                not_found()
            });
        }
        let Some(body) = gate.admit(&r).await? else {
            gate.attempted(&r);
            return Err(not_found());
        };
        gate.disclose(&r);
        Ok(Reply::resource(StatusCode::OK, &r, Some(body)))
    }

    /// Whether the caller could see the live version before deletion `r`.
    pub(super) async fn saw_before_deletion(
        &self,
        r: &StoredResource,
        gate: &Gate,
    ) -> Result<bool, Error> {
        if gate.unrestricted() {
            return Ok(true);
        }
        let mut v = r.version;
        while v > 1 {
            v -= 1;
            match self.store.backend().vread(r.rtype, &r.id, v).await? {
                Some(prev) if !prev.deleted => return Ok(gate.admit(&prev).await?.is_some()),
                Some(_) => continue,
                None => return Ok(false),
            }
        }
        Ok(false)
    }
}
