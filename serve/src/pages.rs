//! The token self-service pages and token API of `finegrain-portal`, mounted
//! in the gateway under [`PAGES_PREFIX`](crate::PAGES_PREFIX) when it runs on a
//! live store: the pages at `/-/tokens/`, the GitLab-shaped API at
//! `/-/tokens/api/v4/…` (the forge's own `/api/v4` stays the upstream's).

use std::convert::Infallible;
use std::path::Path;

use anyhow::{Context, Result};
use finegrain_filter::{BodyError, FilterBody};
use finegrain_portal::{Portal, PortalConfig};
use finegrain_store::EventSink;
use http::{Request, Response};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::{PAGES_PREFIX, Pages};

/// Where the portal's pages live; [`PAGES_PREFIX`](crate::PAGES_PREFIX) without its slash.
const BASE: &str = "/-/tokens";

/// The portal over the store at `store`, as the gateway's [`Pages`]. Creation
/// events go to `events` (a file path, or `-` for standard error), when given.
pub fn token_pages(store: &Path, events: Option<&str>) -> Result<Pages> {
    let mut config = PortalConfig::new(store.to_path_buf());
    config.base = BASE.to_owned();
    config.events = events.map(EventSink::parse);
    let portal = Portal::open(config).map_err(|e| anyhow::anyhow!("{e}")).context("token pages")?;
    let app = axum::Router::new()
        .nest(BASE, finegrain_portal::router(portal.clone()))
        .nest(&format!("{BASE}/api/v4"), finegrain_portal::api_router(portal));
    let service = app
        .map_request(|mut request: Request<FilterBody>| {
            // `/-/tokens/` is the pages' index, which the router knows as `/-/tokens`.
            if request.uri().path() == PAGES_PREFIX {
                let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
                if let Ok(uri) = format!("{BASE}{query}").parse() {
                    *request.uri_mut() = uri;
                }
            }
            request.map(axum::body::Body::new)
        })
        .map_response(|response: Response<axum::body::Body>| {
            response.map(|body| body.map_err(BodyError::new).boxed_unsync())
        })
        .map_err(|never: Infallible| match never {});
    Ok(BoxCloneSyncService::new(service))
}
