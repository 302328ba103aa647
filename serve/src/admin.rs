//! The admin listener: engine hot swap and rollback, on a loopback address
//! only (`[engine] admin_listen`, `--admin-listen`). No authentication beyond
//! that: whoever can reach the loopback interface of the gateway's machine
//! may swap its engine, as they could restart it.
//!
//! - `GET /-/admin/status`: what serves and what a rollback returns to,
//!   `{"serving": {"revision", "engine"}, "previous": … | null}`;
//! - `POST /-/admin/engine`: re-reads the configured component file (and
//!   `FILE.sig`), validates it, loads the running policy into it, runs the
//!   canary, swaps it in: 200 with `{"serving", "replaced", "took_us"}`, or 422
//!   with `{"error"}` and the running engine unchanged;
//! - `POST /-/admin/rollback`: the previous snapshot (engine and policy)
//!   back in service: 200 as above, or 409 when there is none.
//!
//! `curl -X POST http://127.0.0.1:9091/-/admin/rollback` is the rollback command.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use finegrain_host::signing::TrustedKeys;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::decider::{PoolDecider, Swapped};
use crate::swap;

/// What the admin endpoints act on.
pub struct Admin {
    pub decider: Arc<PoolDecider>,
    /// The component file `POST /-/admin/engine` reads.
    pub component: Option<PathBuf>,
    /// Keys the component must be signed by (none: unsigned accepted).
    pub trusted: TrustedKeys,
}

/// Serves the admin endpoints until `shutdown` turns true.
pub async fn serve(listener: TcpListener, admin: Arc<Admin>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let admin = admin.clone();
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let admin = admin.clone();
            async move { Ok::<_, Infallible>(route(admin, request.method().clone(), request.uri().path()).await) }
        });
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn route(admin: Arc<Admin>, method: Method, path: &str) -> Response<Full<Bytes>> {
    match (method, path) {
        (Method::GET, "/-/admin/status") => {
            let status = serde_json::json!({"serving": admin.decider.serving(), "previous": admin.decider.previous()});
            json(StatusCode::OK, status)
        }
        (Method::POST, "/-/admin/engine") => {
            let outcome = tokio::task::spawn_blocking(move || swap_engine(&admin)).await;
            answer(
                "engine swap",
                outcome.unwrap_or_else(|e| Err(anyhow::anyhow!("{e}"))),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        (Method::POST, "/-/admin/rollback") => {
            let outcome = tokio::task::spawn_blocking(move || admin.decider.rollback()).await;
            answer("rollback", outcome.unwrap_or_else(|e| Err(anyhow::anyhow!("{e}"))), StatusCode::CONFLICT)
        }
        _ => json(StatusCode::NOT_FOUND, serde_json::json!({"error": "no such admin endpoint"})),
    }
}

fn swap_engine(admin: &Admin) -> anyhow::Result<Swapped> {
    let path = admin.component.as_ref().ok_or_else(|| anyhow::anyhow!("no `engine.component` file is configured"))?;
    let (bytes, signature) = swap::read_component(path)?;
    admin.decider.swap_engine(&path.display().to_string(), &bytes, signature.as_deref(), &admin.trusted)
}

/// 200 with the swap, or `failure` with the error; both logged.
fn answer(what: &str, outcome: anyhow::Result<Swapped>, failure: StatusCode) -> Response<Full<Bytes>> {
    match outcome {
        Ok(swapped) => {
            eprintln!(
                "finegrain serve: {what}: revision {} engine {} now serving (was revision {} engine {}), in {} µs",
                swapped.serving.revision,
                swapped.serving.engine,
                swapped.replaced.revision,
                swapped.replaced.engine,
                swapped.took_us
            );
            json(StatusCode::OK, serde_json::to_value(&swapped).unwrap_or_default())
        }
        Err(error) => {
            eprintln!("finegrain serve: {what} refused, the running engine stays: {error:#}");
            json(failure, serde_json::json!({"error": format!("{error:#}")}))
        }
    }
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}
