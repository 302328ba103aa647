//! Envoy external authorization: `envoy.service.auth.v3.Authorization/Check`
//! over gRPC (tonic, with `envoy-types`' messages).
//!
//! The `CheckRequest` names the client's request (method, target with its
//! query, headers, and the body when Envoy is configured `with_request_body`);
//! it is decided exactly as the proxy decides, by the filter. Allowed: OK, and
//! the upstream request gets `x-finegrain-token`/`-user` (names only) while
//! any such headers from the client are removed. Denied: the 401/403 status,
//! headers and JSON body the proxy would send.

use std::sync::Arc;

use bytes::Bytes;
use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse, HeaderAppendAction, HttpStatusCode,
};
use envoy_types::ext_authz::v3::{CheckResponseExt, DeniedHttpResponseBuilder, OkHttpResponseBuilder};
use finegrain_filter::{Decided, Decider, Outcome, authorize, unreadable_body};
use http_body_util::{BodyExt, Full};
use tonic::{Request, Response, Status};

use crate::metrics::{Asked, Metrics};

/// The ext_authz service.
pub struct EnvoyAuthz {
    pub decider: Arc<dyn Decider>,
    pub metrics: Arc<Metrics>,
}

#[tonic::async_trait]
impl Authorization for EnvoyAuthz {
    async fn check(&self, request: Request<CheckRequest>) -> Result<Response<CheckResponse>, Status> {
        let http = request
            .into_inner()
            .attributes
            .and_then(|a| a.request)
            .and_then(|r| r.http)
            .ok_or_else(|| Status::invalid_argument("the CheckRequest names no HTTP request"))?;
        let body = if http.raw_body.is_empty() { Bytes::from(http.body) } else { Bytes::from(http.raw_body) };
        let mut builder = http::Request::builder().method(http.method.as_str()).uri(http.path.as_str());
        for (name, value) in &http.headers {
            // Pseudo-headers (`:authority`, `:path`) are not HTTP/1 headers; the target carries them.
            if !name.starts_with(':') {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        // A body Envoy cut at max_request_bytes is not the body GitLab will read.
        let partial = http.headers.get("x-envoy-auth-partial-body").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || http.headers.get("content-length").and_then(|v| v.parse::<usize>().ok()).is_some_and(|n| n > body.len());
        let body = if partial {
            unreadable_body("Envoy sent part of the body (max_request_bytes); the engine will not decide on a part")
        } else {
            Full::new(body).map_err(|never| match never {}).boxed_unsync()
        };
        let Ok(client_request) = builder.body(body) else {
            return Err(Status::invalid_argument("the CheckRequest's method, path or headers are not valid HTTP"));
        };
        let path = http.path.split('?').next().unwrap_or("").to_owned();
        let (response, decided, status) = match authorize(self.decider.as_ref(), client_request).await {
            Outcome::Allowed(_, decided) => (allowed(&decided), decided, 200),
            Outcome::Denied(response) => denied(response).await,
        };
        let asked = Asked { method: &http.method, path: &path, source: "ext_authz" };
        let request_id = if http.id.is_empty() { self.metrics.request_id() } else { http.id.clone() };
        self.metrics.decided(&request_id, &asked, &decided, status);
        Ok(Response::new(response))
    }
}

fn allowed(decided: &Decided) -> CheckResponse {
    let mut ok = OkHttpResponseBuilder::new();
    for name in ["x-finegrain-token", "x-finegrain-user", "sudo"] {
        ok.remove_header(name);
    }
    if let Some(token) = &decided.verdict.token {
        ok.add_header("x-finegrain-token", token.name.clone(), Some(HeaderAppendAction::OverwriteIfExistsOrAdd), false);
        ok.add_header("x-finegrain-user", token.user.clone(), Some(HeaderAppendAction::OverwriteIfExistsOrAdd), false);
    }
    let mut response = CheckResponse::with_status(Status::ok(""));
    response.set_http_response(ok);
    response
}

async fn denied(response: http::Response<finegrain_filter::FilterBody>) -> (CheckResponse, Decided, u16) {
    let (parts, body) = response.into_parts();
    let decided = parts.extensions.get::<Decided>().cloned().expect("the filter marks every answer it makes");
    let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let mut denied = DeniedHttpResponseBuilder::new();
    let (code, status) = if parts.status == http::StatusCode::UNAUTHORIZED {
        (HttpStatusCode::Unauthorized, Status::unauthenticated(""))
    } else {
        (HttpStatusCode::Forbidden, Status::permission_denied(""))
    };
    denied.set_http_status(code);
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            denied.add_header(name.as_str(), value, Some(HeaderAppendAction::OverwriteIfExistsOrAdd), false);
        }
    }
    denied.set_body(String::from_utf8_lossy(&body).into_owned());
    let message = finegrain_filter::answer::message(&decided.verdict.decision);
    let mut response = CheckResponse::with_status(Status::new(status.code(), message));
    response.set_http_response(denied);
    (response, decided, parts.status.as_u16())
}

/// Serves ext_authz on `incoming` (bound with TCP_NODELAY: without it each
/// call waits for delayed ACKs) until `shutdown` resolves.
pub async fn serve(
    incoming: tonic::transport::server::TcpIncoming,
    service: EnvoyAuthz,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tonic::transport::Server::builder()
        .serve_with_incoming_shutdown(AuthorizationServer::new(service), incoming, shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("the gRPC server failed: {e}"))
}
