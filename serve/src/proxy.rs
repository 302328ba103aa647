//! The reverse proxy: forwards an allowed request to the forge and streams
//! the answer back.
//!
//! Bodies stream both ways (the filter has only read a GraphQL body or the
//! commands of a push, and replays them). Upstream connections are pooled by
//! hyper's client. Hop-by-hop headers are dropped both ways;
//! `X-Forwarded-For`/`-Proto`/`-Host` are set. Headers a client could use to
//! pose as the gateway (`Sudo`, `X-Finegrain-*`) are always removed; the
//! gateway sets `X-Finegrain-Token`/`-User` (names, never the secret) so a Git
//! hook behind it knows whose push it is.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use finegrain_engine::http::GRAPHQL_PATH;
use finegrain_engine::{params, reading};
use finegrain_filter::{BodyError, Decided, FilterBody};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::metrics::Metrics;

/// The client's address, put on each request by the connection loop.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers only the gateway may set on the way to the forge.
const GATEWAY_HEADERS: [&str; 4] = ["sudo", "x-finegrain-token", "x-finegrain-user", "x-finegrain-project"];

/// Where and how requests go upstream.
pub struct Proxy {
    client: Client<HttpConnector, FilterBody>,
    upstream: Uri,
    /// Sudo mode: the administrator token sent instead of the client's.
    admin_token: Option<HeaderValue>,
    max_body_bytes: u64,
    response_timeout: Duration,
    metrics: std::sync::Arc<Metrics>,
}

impl Proxy {
    /// A proxy to `upstream` (`http://host:port`, checked by the configuration).
    pub fn new(
        upstream: Uri,
        admin_token: Option<String>,
        limits: &crate::config::Limits,
        metrics: std::sync::Arc<Metrics>,
    ) -> anyhow::Result<Proxy> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(limits.upstream_connect_timeout_ms)));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(connector);
        let admin_token = match admin_token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&token)
                    .map_err(|_| anyhow::anyhow!("the administrator token is not a valid header value"))?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let response_timeout = Duration::from_millis(limits.upstream_response_timeout_ms);
        Ok(Proxy { client, upstream, admin_token, max_body_bytes: limits.max_body_bytes, response_timeout, metrics })
    }

    /// Forwards one request and returns the forge's answer (or 502/504/413).
    pub async fn forward(&self, mut request: Request<FilterBody>) -> Response<FilterBody> {
        if let Some(length) = content_length(request.headers())
            && length > self.max_body_bytes
        {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than the gateway accepts");
        }
        let decided = request.extensions().get::<Decided>().cloned();
        let peer = request.extensions().get::<Peer>().copied();
        if let Err(response) = self.rewrite(&mut request, decided.as_ref(), peer) {
            return response;
        }
        let limit = usize::try_from(self.max_body_bytes).unwrap_or(usize::MAX);
        let request: Request<FilterBody> =
            request.map(|body| Limited::new(body, limit).map_err(BodyError::new).boxed_unsync());
        match tokio::time::timeout(self.response_timeout, self.client.request(request)).await {
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                let body: FilterBody = body.map_err(BodyError::new).boxed_unsync();
                Response::from_parts(parts, body)
            }
            Ok(Err(error)) => {
                self.metrics.upstream_error(if error.is_connect() { "connect" } else { "request" });
                plain(StatusCode::BAD_GATEWAY, "the upstream did not answer")
            }
            Err(_) => {
                self.metrics.upstream_error("timeout");
                plain(StatusCode::GATEWAY_TIMEOUT, "the upstream did not answer in time")
            }
        }
    }

    /// Points the request upstream and sets its headers.
    #[allow(clippy::result_large_err, reason = "the error is the answer sent back, built once per refused request")]
    fn rewrite(
        &self,
        request: &mut Request<FilterBody>,
        decided: Option<&Decided>,
        peer: Option<Peer>,
    ) -> Result<(), Response<FilterBody>> {
        let original_host = request.headers().get(header::HOST).cloned();
        let mut target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
        let headers = request.headers_mut();
        strip_hop_by_hop(headers);
        remove_gateway_headers(headers);
        forwarded_headers(headers, peer, original_host);
        let identity = decided.and_then(|d| d.verdict.token.as_ref());
        if let Some(identity) = identity {
            for (name, value) in [("x-finegrain-token", &identity.name), ("x-finegrain-user", &identity.user)] {
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.insert(name, value);
                }
            }
        }
        // For the Git server's pre-receive hook: the project a Git request is about.
        let project =
            decided.and_then(|d| d.verdict.decision.namespace.as_deref()).filter(|_| target.contains(".git/"));
        if let Some(value) = project.and_then(|p| HeaderValue::from_str(p).ok()) {
            headers.insert("x-finegrain-project", value);
        }
        if let Some(admin) = &self.admin_token {
            // Sudo mode: the forge sees the administrator acting as the token's user.
            // GitLab's GraphQL endpoint never reads `Sudo`: it would run as the administrator.
            if is_graphql(&target) {
                return Err(plain(
                    StatusCode::FORBIDDEN,
                    "sudo mode: GitLab's GraphQL endpoint ignores Sudo and would run as the administrator; use pass-through mode for GraphQL",
                ));
            }
            let Some(user) = identity.and_then(|i| HeaderValue::from_str(&i.user).ok()) else {
                return Err(plain(StatusCode::FORBIDDEN, "sudo mode: the token's user is not known"));
            };
            remove_token_headers(headers);
            headers.insert("private-token", admin.clone());
            headers.insert("sudo", user);
            target = without_query_token(&target);
        }
        let uri = format!("{}{}", self.upstream.to_string().trim_end_matches('/'), target);
        *request.uri_mut() =
            uri.parse().map_err(|_| plain(StatusCode::BAD_REQUEST, "the request target is not valid"))?;
        Ok(())
    }
}

/// Whether a request target reaches GitLab's GraphQL endpoint, in any spelling
/// the engine reads as that path (escapes, a format suffix such as `.json`).
fn is_graphql(target: &str) -> bool {
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    reading::normalize_path(path).map_or(true, |path| path.to_ascii_lowercase().starts_with(GRAPHQL_PATH))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// `X-Forwarded-For` (appended), `-Proto`, `-Host`.
fn forwarded_headers(headers: &mut HeaderMap, peer: Option<Peer>, host: Option<HeaderValue>) {
    if let Some(Peer(address)) = peer {
        let ip = address.ip().to_string();
        let value = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {ip}"),
            None => ip,
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert("x-forwarded-for", value);
        }
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    if let Some(host) = host {
        headers.insert("x-forwarded-host", host);
    }
    headers.remove(header::HOST);
}

/// Removes the headers only the gateway may set, however the client spelled
/// them: a backend that reads `_` as `-` (Rack's `HTTP_*` names do) would
/// otherwise take `X_Finegrain_User` for the gateway's `X-Finegrain-User`.
fn remove_gateway_headers(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| GATEWAY_HEADERS.contains(&name.as_str().replace('_', "-").as_str()))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// Removes every header GitLab takes a token from (the engine's
/// [`reading::TOKEN_HEADERS`] and `Authorization`), however the name is
/// spelled (`_` is read as `-`, as Rack does).
fn remove_token_headers(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str().replace('_', "-");
            name == "authorization" || reading::TOKEN_HEADERS.contains(&name.as_str())
        })
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// The target without the query parameters GitLab takes a token from, however
/// their names are spelled (`private%5Ftoken`, after a `;`): sudo mode sends the
/// administrator's token instead, and the client's must not reach the forge.
/// The names are the engine's ([`reading::TOKEN_PARAMS`]).
fn without_query_token(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else { return target.to_owned() };
    let is_token = |pair: &str| {
        let name = pair.split('=').next().unwrap_or("");
        let name = params::form_decode(name).unwrap_or_else(|| name.to_owned());
        reading::TOKEN_PARAMS.contains(&params::rack_name(&name))
    };
    let kept: Vec<&str> = query.split(['&', ';']).filter(|pair| !pair.is_empty() && !is_token(pair)).collect();
    if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
}

/// A short plain-text answer from the gateway itself.
pub fn plain(status: StatusCode, message: &'static str) -> Response<FilterBody> {
    let mut response =
        Response::new(Full::new(Bytes::from_static(message.as_bytes())).map_err(|n| match n {}).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_headers_go_however_they_are_spelled() {
        let mut headers = HeaderMap::new();
        for name in ["x_finegrain_user", "X-Finegrain-Token", "x_finegrain-project", "sudo", "x-kept"] {
            headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_static("v"));
        }
        remove_gateway_headers(&mut headers);
        assert_eq!(headers.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-kept"]);
    }

    #[test]
    fn hop_by_hop_headers_go_including_those_connection_names() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", HeaderValue::from_static("close, x-secret-hop"));
        headers.insert("x-secret-hop", HeaderValue::from_static("1"));
        headers.insert("te", HeaderValue::from_static("trailers"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("accept"));
    }

    #[test]
    fn sudo_mode_drops_the_query_token_only() {
        assert_eq!(without_query_token("/api/v4/user?private_token=glpat-x&per_page=2"), "/api/v4/user?per_page=2");
        assert_eq!(without_query_token("/api/v4/user?private_token=glpat-x"), "/api/v4/user");
        assert_eq!(
            without_query_token("/api/v4/user?a=1;private%5Ftoken=x&access_token=y&b=2"),
            "/api/v4/user?a=1&b=2"
        );
        assert_eq!(without_query_token("/api/v4/user"), "/api/v4/user");
    }
}
