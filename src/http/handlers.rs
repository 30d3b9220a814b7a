//! Actix handlers: each reads the request (`request`), calls one interaction (`rest::Engine`) and
//! writes the reply (`response`). No FHIR logic lives here.

use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};

use super::access::{check_consent_write, gate};
use super::request::{
    check_accept, if_match, if_none_exist, json_body, prefer, query_pairs, search_form,
};
use super::response::to_http;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::rest::{Engine, parse_type};

type Result = std::result::Result<HttpResponse, Error>;

fn reply(engine: &Engine, r: crate::rest::Reply) -> Result {
    Ok(to_http(r, engine.base_url()))
}

/// `GET [type]`.
pub async fn search(engine: Data<Engine>, path: Path<String>, req: HttpRequest) -> Result {
    check_accept(&req)?;
    let rtype = parse_type(&path)?;
    let gate = gate(&req, &engine)?;
    let r = engine
        .search(rtype, &query_pairs(&req), prefer(&req).lenient, &gate)
        .await?;
    reply(&engine, r)
}

/// `POST [type]/_search`.
pub async fn search_post(
    engine: Data<Engine>,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result {
    check_accept(&req)?;
    let rtype = parse_type(&path)?;
    let pairs = search_form(&req, &body)?;
    let gate = gate(&req, &engine)?;
    let r = engine
        .search(rtype, &pairs, prefer(&req).lenient, &gate)
        .await?;
    reply(&engine, r)
}

/// `POST [type]`.
pub async fn create(
    engine: Data<Engine>,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result {
    check_accept(&req)?;
    let rtype = parse_type(&path)?;
    let resource = json_body(&req, &body)?;
    if rtype == ResourceType::Consent {
        check_consent_write(&engine, &*gate(&req, &engine)?, &resource, None).await?;
    }
    let r = engine
        .create(
            rtype,
            resource,
            if_none_exist(&req)?.as_deref(),
            prefer(&req).return_,
        )
        .await?;
    reply(&engine, r)
}

/// `PUT [type]?criteria`.
pub async fn conditional_update(
    engine: Data<Engine>,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result {
    check_accept(&req)?;
    let rtype = parse_type(&path)?;
    let resource = json_body(&req, &body)?;
    let r = engine
        .conditional_update(rtype, req.query_string(), resource, prefer(&req).return_)
        .await?;
    reply(&engine, r)
}

/// `DELETE [type]?criteria`.
pub async fn conditional_delete(
    engine: Data<Engine>,
    path: Path<String>,
    req: HttpRequest,
) -> Result {
    let rtype = parse_type(&path)?;
    let r = engine.conditional_delete(rtype, req.query_string()).await?;
    reply(&engine, r)
}

/// `GET [type]/[id]`.
pub async fn read(engine: Data<Engine>, path: Path<(String, String)>, req: HttpRequest) -> Result {
    check_accept(&req)?;
    let (t, id) = path.into_inner();
    let r = engine
        .read(parse_type(&t)?, &id, &*gate(&req, &engine)?)
        .await?;
    reply(&engine, r)
}

/// `GET [type]/[id]/_history/[vid]`.
pub async fn vread(
    engine: Data<Engine>,
    path: Path<(String, String, String)>,
    req: HttpRequest,
) -> Result {
    check_accept(&req)?;
    let (t, id, v) = path.into_inner();
    let r = engine
        .vread(parse_type(&t)?, &id, &v, &*gate(&req, &engine)?)
        .await?;
    reply(&engine, r)
}

/// `PUT [type]/[id]`.
pub async fn update(
    engine: Data<Engine>,
    path: Path<(String, String)>,
    req: HttpRequest,
    body: Bytes,
) -> Result {
    check_accept(&req)?;
    let (t, id) = path.into_inner();
    let rtype = parse_type(&t)?;
    let resource = json_body(&req, &body)?;
    if rtype == ResourceType::Consent {
        check_consent_write(&engine, &*gate(&req, &engine)?, &resource, Some(&id)).await?;
    }
    let r = engine
        .update(rtype, &id, resource, if_match(&req)?, prefer(&req).return_)
        .await?;
    reply(&engine, r)
}

/// `DELETE [type]/[id]`.
pub async fn delete(
    engine: Data<Engine>,
    path: Path<(String, String)>,
    req: HttpRequest,
) -> Result {
    let (t, id) = path.into_inner();
    let r = engine.delete(parse_type(&t)?, &id, if_match(&req)?).await?;
    reply(&engine, r)
}

/// `GET [type]/[id]/_history`.
pub async fn instance_history(
    engine: Data<Engine>,
    path: Path<(String, String)>,
    req: HttpRequest,
) -> Result {
    check_accept(&req)?;
    let (t, id) = path.into_inner();
    let r = engine
        .history(
            Some(parse_type(&t)?),
            Some(&id),
            &query_pairs(&req),
            &*gate(&req, &engine)?,
        )
        .await?;
    reply(&engine, r)
}

/// `GET [type]/_history`.
pub async fn type_history(engine: Data<Engine>, path: Path<String>, req: HttpRequest) -> Result {
    check_accept(&req)?;
    let r = engine
        .history(
            Some(parse_type(&path)?),
            None,
            &query_pairs(&req),
            &*gate(&req, &engine)?,
        )
        .await?;
    reply(&engine, r)
}

/// `GET _history`.
pub async fn system_history(engine: Data<Engine>, req: HttpRequest) -> Result {
    check_accept(&req)?;
    let r = engine
        .history(None, None, &query_pairs(&req), &*gate(&req, &engine)?)
        .await?;
    reply(&engine, r)
}

/// `POST [base]` with a batch or transaction Bundle.
pub async fn bundle(engine: Data<Engine>, req: HttpRequest, body: Bytes) -> Result {
    check_accept(&req)?;
    let b = json_body(&req, &body)?;
    let principal = super::authorise::principal(&req)?;
    let needs = super::authorise::bundle_needs(&b);
    super::authorise::check(&principal, &needs)?;
    super::access::append_only(&needs)?;
    super::access::bundle_permitted(&principal, &needs)?;
    let r = engine
        .bundle(b, prefer(&req).return_, &*gate(&req, &engine)?)
        .await?;
    reply(&engine, r)
}

/// Any method a route does not take.
pub async fn method_not_allowed() -> Result {
    Err(Error::MethodNotAllowed)
}

/// Any path no route takes.
pub async fn no_route() -> Result {
    Err(Error::NoRoute)
}
