//! The HTTP side of the gateway: routes, the connection loop (limits,
//! graceful shutdown) and the handlers of `/-/auth` and the operations endpoints.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use finegrain_filter::{
    BodyError, Decided, Decider, FilterBody, FinegrainLayer, FinegrainService, Outcome, answer, authorize,
    unreadable_body,
};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};

use crate::metrics::{Asked, Metrics};
use crate::proxy::{Peer, Proxy, plain};

/// What every handler shares.
pub struct App {
    pub decider: Arc<dyn Decider>,
    pub metrics: Arc<Metrics>,
    /// The filtered proxy; `None` without an upstream.
    pub gateway: Option<FinegrainService<ProxyService>>,
    /// The unfiltered proxy, used when authorization is switched off.
    pub proxy: Option<ProxyService>,
    pub authorization: bool,
    /// False once shutdown has begun.
    pub ready: AtomicBool,
    /// The token self-service pages, when mounted.
    pub pages: Option<Pages>,
}

impl App {
    /// The shared state, with the proxy behind the filter layer.
    pub fn new(decider: Arc<dyn Decider>, metrics: Arc<Metrics>, proxy: Option<Proxy>, authorization: bool) -> App {
        let proxy = proxy.map(|p| ProxyService(Arc::new(p)));
        let gateway = proxy.clone().map(|p| FinegrainLayer::new(decider.clone()).layer(p));
        App { decider, metrics, gateway, proxy, authorization, ready: AtomicBool::new(true), pages: None }
    }
}

/// The proxy as a tower service, so the filter layer can wrap it.
#[derive(Clone)]
pub struct ProxyService(Arc<Proxy>);

impl tower::Service<Request<FilterBody>> for ProxyService {
    type Response = Response<FilterBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<FilterBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<FilterBody>) -> Self::Future {
        let proxy = self.0.clone();
        Box::pin(async move { Ok(proxy.forward(request).await) })
    }
}

/// Token self-service pages, built elsewhere and served under `/-/tokens/`
/// outside the filter (they authenticate people themselves). Any tower
/// service fits, an `axum::Router` included (`BoxCloneSyncService::new(router)`
/// after mapping its body), once the workspace can take axum (see the
/// workspace Cargo.toml about matchit).
pub type Pages = BoxCloneSyncService<Request<FilterBody>, Response<FilterBody>, Infallible>;

/// Where the pages are mounted.
pub const PAGES_PREFIX: &str = "/-/tokens/";

/// Routes one request: the operations endpoints, `/-/auth`, the pages, and
/// everything else decided and proxied.
pub async fn route(app: Arc<App>, request: Request<FilterBody>) -> Response<FilterBody> {
    let path = request.uri().path();
    match path {
        "/-/health" => text(StatusCode::OK, "ok\n".into(), "text/plain"),
        "/-/ready" if app.ready.load(Ordering::Relaxed) => text(StatusCode::OK, "ready\n".into(), "text/plain"),
        "/-/ready" => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into(), "text/plain"),
        "/-/metrics" => {
            text(StatusCode::OK, app.metrics.encode(), "application/openmetrics-text; version=1.0.0; charset=utf-8")
        }
        "/-/auth" => auth_request(&app, request).await,
        _ if (path.starts_with(PAGES_PREFIX) || path == PAGES_PREFIX.trim_end_matches('/')) && app.pages.is_some() => {
            match &app.pages {
                Some(pages) => pages.clone().oneshot(request).await.unwrap_or_else(|never| match never {}),
                None => plain(StatusCode::NOT_FOUND, "no pages"),
            }
        }
        _ => gateway(&app, request).await,
    }
}

fn text(status: StatusCode, body: String, kind: &'static str) -> Response<FilterBody> {
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

/// Everything that is not an endpoint of the gateway: decided, then proxied.
async fn gateway(app: &App, request: Request<FilterBody>) -> Response<FilterBody> {
    let request_id = app.metrics.request_id();
    let (method, path) = (request.method().to_string(), request.uri().path().to_owned());
    let response = match (&app.gateway, &app.proxy, app.authorization) {
        (Some(gateway), _, true) => gateway.clone().oneshot(request).await.unwrap_or_else(|never| match never {}),
        (_, Some(proxy), false) => proxy.0.forward(request).await,
        _ => plain(StatusCode::NOT_FOUND, "this gateway has no upstream; use /-/auth or gRPC"),
    };
    finish(app, &request_id, Asked { method: &method, path: &path, source: "proxy" }, response)
}

/// nginx `auth_request`: decides the request named by `X-Original-Method` and
/// `X-Original-URI` with the headers sent along; 200, 401 or 403, no body forwarded.
async fn auth_request(app: &App, request: Request<FilterBody>) -> Response<FilterBody> {
    let request_id = app.metrics.request_id();
    // Only the head matters (nginx sends no body); dropping the request here
    // keeps its body, which is not `Sync`, out of the future.
    let (parts, _) = request.into_parts();
    let original = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (Some(method), Some(target)) = (original("x-original-method"), original("x-original-uri")) else {
        return plain(StatusCode::BAD_REQUEST, "/-/auth needs X-Original-Method and X-Original-URI");
    };
    let mut builder = Request::builder().method(method.as_str()).uri(target.as_str());
    for (name, value) in &parts.headers {
        if !name.as_str().starts_with("x-original-") && name != http::header::CONTENT_LENGTH {
            builder = builder.header(name, value);
        }
    }
    let Ok(original_request) = builder.body(unseen_body(original("x-original-body").as_deref())) else {
        return plain(StatusCode::BAD_REQUEST, "X-Original-Method or X-Original-URI is not valid");
    };
    let path = target.split('?').next().unwrap_or("").to_owned();
    let response = match authorize(app.decider.as_ref(), original_request).await {
        Outcome::Denied(response) => response,
        Outcome::Allowed(_, decided) => {
            let mut response = plain(StatusCode::OK, "allowed");
            response.headers_mut().extend(answer::headers(&decided.verdict.decision));
            if let Some(token) = &decided.verdict.token {
                for (name, value) in [("x-finegrain-token", &token.name), ("x-finegrain-user", &token.user)] {
                    if let Ok(value) = HeaderValue::from_str(value) {
                        response.headers_mut().insert(name, value);
                    }
                }
            }
            response.extensions_mut().insert(decided);
            response
        }
    };
    finish(app, &request_id, Asked { method: &method, path: &path, source: "auth_request" }, response)
}

/// The body of a request decided through `/-/auth`, which nginx never sends.
/// `X-Original-Body` (`length=$content_length; encoding=$http_transfer_encoding`
/// in the example nginx.conf) says whether there was one: none is an empty
/// body; one, or a missing header, is a body that cannot be read, so a request
/// whose body GitLab reads parameters from (a token, `_method`, a GraphQL
/// document) is refused rather than decided without it.
fn unseen_body(announced: Option<&str>) -> FilterBody {
    let none = announced.is_some_and(|value| {
        value.split(';').all(|field| field.split_once('=').is_none_or(|(_, v)| v.trim().is_empty() || v.trim() == "0"))
    });
    if none {
        return Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync();
    }
    unreadable_body("nginx auth_request does not pass the body; decide such requests with the proxy")
}

/// Logs and counts the decision an answer carries, and tags it with the request id.
fn finish(app: &App, request_id: &str, asked: Asked<'_>, mut response: Response<FilterBody>) -> Response<FilterBody> {
    let status = response.status().as_u16();
    let revision = response.extensions().get::<Decided>().map(|decided| {
        app.metrics.decided(request_id, &asked, decided, status);
        decided.verdict.decision.revision
    });
    // Every decided answer names the revision that decided, allowed ones included.
    if let Some(revision) = revision {
        response.headers_mut().insert(answer::REVISION_HEADER, HeaderValue::from(revision));
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Connection limits for [`serve_http`].
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_header_bytes: usize,
    pub header_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl From<&crate::config::Limits> for ConnectionLimits {
    fn from(limits: &crate::config::Limits) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: limits.max_connections,
            max_header_bytes: limits.max_header_bytes,
            header_timeout: Duration::from_millis(limits.header_timeout_ms),
            shutdown_grace: Duration::from_millis(limits.shutdown_grace_ms),
        }
    }
}

/// Accepts connections until `shutdown` turns true, then lets in-flight
/// requests finish (up to the grace period).
pub async fn serve_http(
    listener: TcpListener,
    app: Arc<App>,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .max_buf_size(limits.max_header_bytes)
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new()).max_header_list_size(limits.max_header_bytes as u32);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let mut request: Request<FilterBody> = request.map(|body| body.map_err(BodyError::new).boxed_unsync());
            request.extensions_mut().insert(Peer(peer));
            let app = app.clone();
            async move { Ok::<_, Infallible>(route(app, request).await) }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await;
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn termination() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
