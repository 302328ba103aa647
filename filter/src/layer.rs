//! The tower layer and service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use finegrain_engine::api::{GitRequest, GitService, HttpRequest, Request, TokenRef};
use finegrain_engine::http::{GRAPHQL_PATH, HttpTarget, parse_target};
use finegrain_engine::reading;
use finegrain_engine::reading::MAX_BODY_BYTES;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};

use crate::request::{header_pairs, malformed, now};
use crate::{Decided, Decider, Verdict, answer, git};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body the wrapped service receives and the filter answers with.
pub type FilterBody = UnsyncBoxBody<Bytes, BodyError>;

/// A body could not be read or sent. (A concrete type rather than a boxed
/// trait object keeps the layer's futures `Send` for every service.)
#[derive(Debug)]
pub struct BodyError(BoxError);

impl BodyError {
    /// Wraps any body error.
    pub fn new(error: impl Into<BoxError>) -> BodyError {
        BodyError(error.into())
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Adds finegrain authorization in front of a service:
/// `router.layer(FinegrainLayer::new(decider))`.
#[derive(Clone)]
pub struct FinegrainLayer {
    decider: Arc<dyn Decider>,
}

impl FinegrainLayer {
    /// A layer deciding with `decider`.
    pub fn new(decider: Arc<dyn Decider>) -> FinegrainLayer {
        FinegrainLayer { decider }
    }
}

impl<S> tower::Layer<S> for FinegrainLayer {
    type Service = FinegrainService<S>;

    fn layer(&self, inner: S) -> FinegrainService<S> {
        FinegrainService { decider: self.decider.clone(), inner }
    }
}

/// The service [`FinegrainLayer`] wraps around another.
#[derive(Clone)]
pub struct FinegrainService<S> {
    decider: Arc<dyn Decider>,
    inner: S,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for FinegrainService<S>
where
    S: tower::Service<http::Request<FilterBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = http::Response<FilterBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was made ready is the one called (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let decider = self.decider.clone();
        Box::pin(async move {
            match authorize(decider.as_ref(), request).await {
                Outcome::Denied(response) => Ok(response),
                Outcome::Allowed(request, decided) => {
                    let response = inner.call(request).await?;
                    let mut response = response.map(|b| b.map_err(BodyError::new).boxed_unsync());
                    response.extensions_mut().insert(decided);
                    Ok(response)
                }
            }
        })
    }
}

/// What [`authorize`] concluded.
#[allow(clippy::large_enum_variant, reason = "built and matched once per request; boxing buys nothing")]
pub enum Outcome {
    /// Forward this request (it carries [`Decided`] as an extension).
    Allowed(http::Request<FilterBody>, Decided),
    /// Answer with this (it carries [`Decided`] as an extension).
    Denied(http::Response<FilterBody>),
}

/// Decides one request as the layer does, without a service behind it: for
/// endpoints that only answer "may it?" (nginx `auth_request`, Envoy ext_authz).
pub async fn authorize<B>(decider: &dyn Decider, request: http::Request<B>) -> Outcome
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let started = Instant::now();
    let (mut parts, body) = request.into_parts();
    let (verdict, body, push) = decide(decider, &parts, body).await;
    let decided = Decided { verdict, latency: started.elapsed() };
    if decided.verdict.decision.effect != finegrain_engine::api::Effect::Allow {
        let decision = &decided.verdict.decision;
        let refusal = push.filter(|_| answer::status(decision) == http::StatusCode::FORBIDDEN);
        let mut response = match refusal.and_then(|commands| git::refusal(&commands, decision)) {
            // A push git can report on: it shows the reasons on the pusher's terminal.
            Some(report) => git_report(report, body),
            None => answer::deny_response(decision).map(full),
        };
        response.extensions_mut().insert(decided);
        return Outcome::Denied(response);
    }
    parts.extensions.insert(decided.clone());
    Outcome::Allowed(http::Request::from_parts(parts, body), decided)
}

/// A `git-receive-pack` result refusing the push. The pack the client is still
/// sending is read and dropped first, so the client sees the report, not a reset.
fn git_report(report: Vec<u8>, request_body: FilterBody) -> http::Response<FilterBody> {
    let body = DrainThen { drain: Some(request_body), then: Some(Bytes::from(report)) };
    let mut response = http::Response::new(body.boxed_unsync());
    let kind = http::HeaderValue::from_static("application/x-git-receive-pack-result");
    response.headers_mut().insert(http::header::CONTENT_TYPE, kind);
    response.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
    response
}

fn full(bytes: Bytes) -> FilterBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

/// Decides a request, reading as much of its body as the decision needs, and
/// gives back a body that still yields every byte the client sent.
async fn decide<B>(
    decider: &dyn Decider,
    parts: &http::request::Parts,
    body: B,
) -> (Verdict, FilterBody, Option<git::Commands>)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let body = body.map_err(BodyError::new).boxed_unsync();
    let refuse = |detail: String, body| {
        (Verdict { decision: malformed(detail, decider.revision()), token: None, route: None }, body, None)
    };
    let headers = match header_pairs(&parts.headers) {
        Ok(headers) => headers,
        Err(detail) => return refuse(detail, body),
    };
    let method = parts.method.as_str().to_owned();
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    let path = parts.uri.path();
    let mut http =
        HttpRequest { token: None, method, path: target.clone(), headers, body: None, owner: None, at: now() };
    // The engine reads a GraphQL body (whatever the method: Rails merges the
    // body's parameters into a GET's too), and any body GitLab turns into
    // parameters (a token, `_method`): those are read whole, up to the limit,
    // and passed on.
    if path == GRAPHQL_PATH || reading::reads_body(&http.method, &http.headers) {
        return match within_deadline(read_whole(body)).await {
            Ok(text) => {
                http.body = Some(text.clone());
                http.token = reading::read(&http.method, &target, &http.headers, http.body.as_deref())
                    .ok()
                    .and_then(|r| r.token.map(TokenRef::Secret));
                (decider.decide(&Request::Http(http)), full(Bytes::from(text)), None)
            }
            Err(detail) => refuse(detail, full(Bytes::new())),
        };
    }
    // The engine's own reading of the request (when it is not clean, the token
    // is left for the engine to find, and it refuses two tokens or an unreadable one).
    let read = reading::read(&http.method, &target, &http.headers, None).ok();
    let secret = read.as_ref().and_then(|r| r.token.clone());
    // The token named to the engine, so that the decider can say whose it is.
    http.token = secret.clone().map(TokenRef::Secret);
    let push_to = match read.as_ref().map(|r| parse_target(&r.method, &r.path, &r.pairs)) {
        Some(Ok(HttpTarget::Git { project, push: true })) if http.method == "POST" => Some(project),
        _ => None,
    };
    if let (Some(secret), Some(project)) = (secret, push_to) {
        if parts.headers.contains_key(http::header::CONTENT_ENCODING) {
            return refuse("a compressed push body cannot be read".into(), body);
        }
        let (commands, body) = match within_deadline(read_push_commands(body)).await {
            Ok(read) => read,
            Err(detail) => return refuse(detail, full(Bytes::new())),
        };
        if commands.updates.is_empty() {
            return (decider.decide(&Request::Http(http)), body, None);
        }
        let service = GitService::ReceivePack(commands.updates.clone());
        let request = GitRequest { token: TokenRef::Secret(secret), project, service, at: http.at };
        return (decider.decide(&Request::Git(request)), body, Some(commands));
    }
    (decider.decide(&Request::Http(http)), body, None)
}

/// How long a client may take to send the part of a body the filter reads
/// (parameters, a GraphQL document, push commands): a slow client must not
/// hold a connection, and the work behind it, for as long as it likes.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

async fn within_deadline<T>(read: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(BODY_DEADLINE, read)
        .await
        .unwrap_or_else(|_| Err(format!("the request body did not arrive within {} s", BODY_DEADLINE.as_secs())))
}

/// Reads a body the engine must see, up to its limit; larger, cut short or
/// not UTF-8 is refused (the engine cannot read it as GitLab would).
async fn read_whole(body: FilterBody) -> Result<String, String> {
    let collected = Limited::new(body, MAX_BODY_BYTES).collect().await.map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            format!("the request body is larger than {MAX_BODY_BYTES} bytes")
        } else {
            format!("the request body could not be read: {e}")
        }
    })?;
    String::from_utf8(collected.to_bytes().to_vec()).map_err(|_| "the request body is not UTF-8".to_owned())
}

/// Reads frames until the push commands are complete; returns them and a body
/// that replays what was read, then streams the rest (the pack).
async fn read_push_commands(mut body: FilterBody) -> Result<(git::Commands, FilterBody), String> {
    let mut read = BytesMut::new();
    loop {
        if let Some(commands) = git::parse_commands(&read)? {
            let replay = Prefixed { prefix: Some(read.freeze()), rest: body };
            return Ok((commands, replay.boxed_unsync()));
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                }
            }
            Some(Err(_)) => return Err("the push body could not be read".into()),
            None => return Err("the push body ends before its commands do".into()),
        }
    }
}

/// A body that exists but was not given to the filter (nginx `auth_request`
/// sends none; Envoy may send a cut one): reading it fails with `why`, so a
/// request whose body the engine must see is refused, never decided without it.
pub fn unreadable_body(why: &'static str) -> FilterBody {
    Unreadable(Some(why)).boxed_unsync()
}

struct Unreadable(Option<&'static str>);

impl Body for Unreadable {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        Poll::Ready(self.0.take().map(|why| Err(BodyError::new(why))))
    }
}

/// A body that yields `prefix` first, then `rest`.
struct Prefixed {
    prefix: Option<Bytes>,
    rest: FilterBody,
}

impl Body for Prefixed {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if let Some(prefix) = self.prefix.take().filter(|p| !p.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.as_ref().is_none_or(Bytes::is_empty) && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let prefix = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + prefix);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + prefix);
        }
        hint
    }
}

/// A body that first reads `drain` to its end, dropping it, then yields `then`.
struct DrainThen {
    drain: Option<FilterBody>,
    then: Option<Bytes>,
}

impl Body for DrainThen {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        while let Some(drain) = self.drain.as_mut() {
            match Pin::new(drain).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(_))) => {}
                // A client that stops sending still gets the report.
                Poll::Ready(Some(Err(_)) | None) => self.drain = None,
            }
        }
        Poll::Ready(self.then.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.drain.is_none() && self.then.is_none()
    }
}
