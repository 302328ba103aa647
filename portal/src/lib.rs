//! Token self-service for finegrain: the pages where a person signs in with a
//! token and creates, lists, revokes and rotates their tokens, and the same
//! operations as a GitLab-shaped REST API.
//!
//! - [`router`] serves the HTML pages; nest it under a prefix such as
//!   `/-/tokens` (the prefix is [`PortalConfig::base`], used for links and the
//!   session cookie's path).
//! - [`api_router`] serves `/personal_access_tokens…` and
//!   `/user/personal_access_tokens`; nest it under `/api/v4`.
//! - [`app`] is both, ready to serve (the `finegrain-portal` binary).
//!
//! Nothing here restates a rule. The store validates and writes tokens
//! ([`finegrain_store::Store`]), expands CRUD verbs and applies the lifetime
//! settings; the engine decides whether the calling token may use each
//! endpoint, exactly as it would for GitLab's own routes
//! (`read_personal_access_token`, `create_user_personal_access_token`, …, or
//! the `api` legacy scope). Secrets are shown once, in the answer to the
//! request that made them, and never logged.

// Handlers and their helpers return early with a finished `Response` as the
// error; it is built once per request, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod api;
mod core;
mod form;
mod html;
mod pages;
mod session;
mod style;

use std::sync::Arc;

use axum::Router;

pub use crate::core::{Caller, Denied, Portal, PortalConfig, PortalError};

/// The HTML pages, to nest under [`PortalConfig::base`].
pub fn router(portal: Arc<Portal>) -> Router {
    pages::routes().with_state(portal)
}

/// The REST API, to nest under `/api/v4`.
pub fn api_router(portal: Arc<Portal>) -> Router {
    api::routes().with_state(portal)
}

/// The pages under [`PortalConfig::base`] and the API under `/api/v4`.
pub fn app(portal: Arc<Portal>) -> Router {
    let base = portal.base().to_owned();
    let pages = router(portal.clone());
    let app = Router::new().nest("/api/v4", api_router(portal));
    if base.is_empty() { app.merge(pages) } else { app.nest(&base, pages) }
}
