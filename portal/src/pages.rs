//! The HTML pages: sign in and out, the list, the creation page, the
//! once-only secret, revoke and rotate.
//!
//! Every POST carries the session's CSRF token. Each action is decided by the
//! engine as the API route it mirrors, with the token the person signed in
//! with: a token that may not read tokens cannot sign in, one that may not
//! create tokens cannot create them here either, and a token revoked or
//! expired since sign-in ends the session.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use finegrain_engine::api::TokenRef;

use crate::core::{Caller, Denied, Portal, now};
use crate::form::{Draft, MAX_FORM, field, fields};
use crate::html::{self, CreatePage, Frame};
use crate::session::{self, COOKIE, Session};

pub(crate) fn routes() -> Router<Arc<Portal>> {
    Router::new()
        .route("/", get(index))
        .route("/sign_in", get(sign_in_page).post(sign_in))
        .route("/sign_out", post(sign_out))
        .route("/new", get(new_page).post(create))
        .route("/{id}/revoke", post(revoke))
        .route("/{id}/rotate", post(rotate))
}

/// The session of a request, with its id.
struct Current {
    id: String,
    session: Session,
}

fn current(portal: &Portal, headers: &HeaderMap) -> Option<Current> {
    let cookie = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = session::cookie_id(cookie)?;
    let session = portal.sessions.lock().unwrap_or_else(|p| p.into_inner()).get(id)?;
    Some(Current { id: id.to_owned(), session })
}

/// The signed-in caller, if the engine still lets their token call
/// `method path`; otherwise where to go instead.
fn signed_in(portal: &Portal, headers: &HeaderMap, method: &str, path: &str) -> Result<(Current, Caller), Response> {
    let to_sign_in = || Redirect::to(&format!("{}/sign_in", portal.base())).into_response();
    let current = current(portal, headers).ok_or_else(to_sign_in)?;
    let caller = current.session.caller.clone().ok_or_else(to_sign_in)?;
    match portal.authorize(TokenRef::Name(caller.token_name.clone()), method, path) {
        Ok(()) => Ok((current, caller)),
        Err(denied) if denied.status == 401 => {
            portal.sessions.lock().unwrap_or_else(|p| p.into_inner()).end(&current.id);
            Err(to_sign_in())
        }
        Err(denied) => Err(refused(portal, &current, &denied)),
    }
}

/// The posted fields, if the CSRF token matches the session's.
fn checked_form(current: &Current, body: &[u8]) -> Result<Vec<(String, String)>, Response> {
    if body.len() > MAX_FORM {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response());
    }
    let fields = fields(body);
    match field(&fields, "csrf") {
        Some(given) if session::csrf_matches(&current.session, given) => Ok(fields),
        _ => Err((StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong; reload the page").into_response()),
    }
}

fn frame<'a>(portal: &'a Portal, current: &'a Current) -> Frame<'a> {
    Frame {
        base: portal.base(),
        user: current.session.caller.as_ref().map(|c| c.user.as_str()),
        csrf: &current.session.csrf,
    }
}

/// An HTML answer that no cache keeps.
fn page(status: StatusCode, text: String) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], text).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

fn refused(portal: &Portal, current: &Current, denied: &Denied) -> Response {
    let status = StatusCode::from_u16(denied.status).unwrap_or(StatusCode::FORBIDDEN);
    page(status, html::refused(&frame(portal, current), &denied.message))
}

fn set_cookie(portal: &Portal, id: &str, max_age: u64) -> HeaderValue {
    let path = if portal.base().is_empty() { "/" } else { portal.base() };
    let secure = if portal.config().secure_cookie { "; Secure" } else { "" };
    let text = format!("{COOKIE}={id}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("finegrain_session=; Max-Age=0"))
}

/// The list page's address.
fn home(portal: &Portal) -> &str {
    if portal.base().is_empty() { "/" } else { portal.base() }
}

fn internal(message: String) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
}

async fn index(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    list_page(&portal, &headers, None)
}

fn list_page(portal: &Portal, headers: &HeaderMap, notice: Option<&str>) -> Response {
    let (current, caller) = match signed_in(portal, headers, "GET", "/api/v4/personal_access_tokens") {
        Ok(found) => found,
        Err(response) => return response,
    };
    match portal.list(&caller) {
        Ok(tokens) => page(StatusCode::OK, html::list(&frame(portal, &current), &tokens, now(), notice)),
        Err(denied) => refused(portal, &current, &denied),
    }
}

async fn sign_in_page(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    let current = match current(&portal, &headers) {
        Some(c) if c.session.caller.is_some() => return Redirect::to(home(&portal)).into_response(),
        Some(c) => c,
        None => match portal.sessions.lock().unwrap_or_else(|p| p.into_inner()).start(None) {
            Ok((id, session)) => Current { id, session },
            Err(e) => return internal(e),
        },
    };
    let mut response = page(StatusCode::OK, html::sign_in(&frame(&portal, &current), None));
    let lifetime = portal.config().session_lifetime.as_secs();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&portal, &current.id, lifetime));
    response
}

async fn sign_in(State(portal): State<Arc<Portal>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(current) = current(&portal, &headers) else {
        return Redirect::to(&format!("{}/sign_in", portal.base())).into_response();
    };
    let fields = match checked_form(&current, &body) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let secret = field(&fields, "token").unwrap_or("").trim();
    let caller = match portal.caller(secret, "GET", "/api/v4/personal_access_tokens") {
        Ok(caller) => caller,
        Err(denied) => {
            let message = format!("cannot sign in with this token: {}", denied.message);
            return page(StatusCode::UNAUTHORIZED, html::sign_in(&frame(&portal, &current), Some(&message)));
        }
    };
    let started = {
        let mut sessions = portal.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.end(&current.id);
        sessions.start(Some(caller)).map(|(id, _)| (id, sessions.lifetime().as_secs()))
    };
    let (id, lifetime) = match started {
        Ok(started) => started,
        Err(e) => return internal(e),
    };
    let mut response = Redirect::to(home(&portal)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&portal, &id, lifetime));
    response
}

async fn sign_out(State(portal): State<Arc<Portal>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(current) = current(&portal, &headers) else {
        return Redirect::to(&format!("{}/sign_in", portal.base())).into_response();
    };
    if let Err(response) = checked_form(&current, &body) {
        return response;
    }
    portal.sessions.lock().unwrap_or_else(|p| p.into_inner()).end(&current.id);
    let mut response = Redirect::to(&format!("{}/sign_in", portal.base())).into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&portal, "", 0));
    response
}

async fn new_page(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    match signed_in(&portal, &headers, "POST", "/api/v4/user/personal_access_tokens") {
        Ok((current, caller)) => create_page(&portal, &current, &caller, &Draft::default(), None),
        Err(response) => response,
    }
}

fn create_page(portal: &Portal, current: &Current, caller: &Caller, draft: &Draft, error: Option<&str>) -> Response {
    let at = now();
    let store = portal.store();
    let (settings, namespaces) = match (store.settings(), store.selectable_namespaces(&caller.user, at)) {
        (Ok(s), Ok(n)) => (s, n),
        (Err(e), _) | (_, Err(e)) => return internal(e.to_string()),
    };
    let draft = if draft.access.is_empty() {
        &Draft { access: "all_memberships".into(), kind: "fine_grained".into(), ..draft.clone() }
    } else {
        draft
    };
    let today = at - at.rem_euclid(86_400);
    let create =
        CreatePage { catalog: store.catalog(), settings: &settings, namespaces: &namespaces, today, draft, error };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    page(status, html::create(&frame(portal, current), &create))
}

async fn create(State(portal): State<Arc<Portal>>, headers: HeaderMap, body: Bytes) -> Response {
    let (current, caller) = match signed_in(&portal, &headers, "POST", "/api/v4/user/personal_access_tokens") {
        Ok(found) => found,
        Err(response) => return response,
    };
    let fields = match checked_form(&current, &body) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let draft = Draft::from_fields(&fields);
    let request = {
        let store = portal.store();
        draft.request(&caller.user, store.catalog())
    };
    let created = match request.map_err(|e| Denied::new(422, e)).and_then(|r| portal.create(&caller, r)) {
        Ok(created) => created,
        Err(denied) => return create_page(&portal, &current, &caller, &draft, Some(&denied.message)),
    };
    let html = html::secret(&frame(&portal, &current), &draft.name, created.secret.expose(), created.expires, false);
    page(StatusCode::CREATED, html)
}

/// The token id, session and caller of a revoke or rotate form, if the
/// engine allows `method path` (the API route it mirrors) and the CSRF token
/// matches.
fn token_action(
    portal: &Portal,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
    route: impl Fn(i64) -> (&'static str, String),
) -> Result<(i64, Current, Caller), Response> {
    let id = id.parse::<i64>().map_err(|_| (StatusCode::NOT_FOUND, "no such token").into_response())?;
    let (method, path) = route(id);
    let (current, caller) = signed_in(portal, headers, method, &path)?;
    checked_form(&current, body)?;
    Ok((id, current, caller))
}

async fn revoke(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let route = |id| ("DELETE", format!("/api/v4/personal_access_tokens/{id}"));
    let (id, current, caller) = match token_action(&portal, &headers, &id, &body, route) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let label = portal.owned(&caller, id).map(|t| t.label);
    match label.and_then(|label| portal.revoke(&caller, id).map(|()| label)) {
        Ok(_) if id == caller.token_id => {
            portal.sessions.lock().unwrap_or_else(|p| p.into_inner()).end(&current.id);
            Redirect::to(&format!("{}/sign_in", portal.base())).into_response()
        }
        Ok(label) => list_page(&portal, &headers, Some(&format!("Token {label:?} was revoked."))),
        Err(denied) => refused(&portal, &current, &denied),
    }
}

async fn rotate(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let route = |id| ("POST", format!("/api/v4/personal_access_tokens/{id}/rotate"));
    let (id, current, caller) = match token_action(&portal, &headers, &id, &body, route) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let rotated = portal.rotate(&caller, id).and_then(|c| portal.owned(&caller, c.id).map(|t| (c, t.label)));
    match rotated {
        Ok((created, label)) => {
            if id == caller.token_id {
                // The session's token is gone; the new secret is on this page.
                portal.sessions.lock().unwrap_or_else(|p| p.into_inner()).end(&current.id);
            }
            let html = html::secret(&frame(&portal, &current), &label, created.secret.expose(), created.expires, true);
            page(StatusCode::OK, html)
        }
        Err(denied) => refused(&portal, &current, &denied),
    }
}
