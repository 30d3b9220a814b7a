//! read and vread. The stored JSON is served as is: no parse, no re-serialisation on the hot path.

use actix_web::http::StatusCode;

use super::{Body, Engine, Reply};
use crate::error::Error;
use crate::fhir::ResourceType;

impl Engine {
    /// `GET [type]/[id]`: 404 when unknown, 410 when deleted.
    pub async fn read(&self, rtype: ResourceType, id: &str) -> Result<Reply, Error> {
        let not_found = || Error::NotFound {
            rtype,
            id: id.to_owned(),
        };
        let r = self
            .store
            .backend()
            .read(rtype, id)
            .await?
            .ok_or_else(not_found)?;
        if r.deleted {
            return Err(Error::Gone {
                rtype,
                id: id.to_owned(),
            });
        }
        let body = Body::Raw(r.body.clone());
        Ok(Reply::resource(StatusCode::OK, &r, Some(body)))
    }

    /// `GET [type]/[id]/_history/[vid]`: 404 when the version is unknown, 410 for a deletion.
    pub async fn vread(
        &self,
        rtype: ResourceType,
        id: &str,
        version: &str,
    ) -> Result<Reply, Error> {
        let not_found = || Error::NotFound {
            rtype,
            id: id.to_owned(),
        };
        let v: u64 = version.parse().map_err(|_| not_found())?;
        let r = self
            .store
            .backend()
            .vread(rtype, id, v)
            .await?
            .ok_or_else(not_found)?;
        if r.deleted {
            return Err(Error::Gone {
                rtype,
                id: id.to_owned(),
            });
        }
        let body = Body::Raw(r.body.clone());
        Ok(Reply::resource(StatusCode::OK, &r, Some(body)))
    }
}
