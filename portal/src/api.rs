//! The GitLab-shaped REST API, to nest under `/api/v4`:
//!
//! | request | does | answers |
//! |---|---|---|
//! | `GET /personal_access_tokens` | the caller's tokens | 200, a list |
//! | `GET /personal_access_tokens/self` | the calling token | 200 |
//! | `GET /personal_access_tokens/:id` | one of the caller's tokens | 200, 404 |
//! | `POST /user/personal_access_tokens` | create (legacy `scopes` or `granular_scopes`) | 201 with `token` |
//! | `POST /personal_access_tokens/:id/rotate` | rotate | 200 with `token` |
//! | `POST /personal_access_tokens/self/rotate` | rotate the calling token | 200 with `token` |
//! | `DELETE /personal_access_tokens/:id` and `/self` | revoke | 204 |
//!
//! The token comes in `PRIVATE-TOKEN` or `Authorization: Bearer`. The engine
//! decides each call as the GitLab route it mirrors (a missing, unknown,
//! revoked or expired token is 401, any other refusal 403). Errors are JSON:
//! `{"message": …, "reasons": […]}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use finegrain_engine::api::{GrantAccess, Timestamp, TokenKind};
use finegrain_store::{Created, Expiry, GrantRequest, PermissionChoice, TokenInfo, TokenRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::core::{Caller, Denied, Portal, now};

/// Longest request body the API reads.
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn routes() -> Router<Arc<Portal>> {
    Router::new()
        .route("/personal_access_tokens", get(list))
        .route("/personal_access_tokens/self", get(show_self).delete(revoke_self))
        .route("/personal_access_tokens/self/rotate", post(rotate_self))
        .route("/personal_access_tokens/{id}", get(show).delete(revoke))
        .route("/personal_access_tokens/{id}/rotate", post(rotate))
        .route("/user/personal_access_tokens", post(create))
        .fallback(|| async { error(&Denied::new(404, "404 Not Found")) })
        .method_not_allowed_fallback(|| async { error(&Denied::new(405, "405 Method Not Allowed")) })
}

type Answer = Result<Response, Response>;

async fn list(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Answer {
    let caller = authenticate(&portal, &headers, "GET", "/api/v4/personal_access_tokens")?;
    let tokens = portal.list(&caller).map_err(|d| error(&d))?;
    let at = now();
    Ok(Json200(Value::Array(tokens.iter().map(|t| token_json(t, at)).collect())).into_response())
}

async fn show_self(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Answer {
    let caller = authenticate(&portal, &headers, "GET", "/api/v4/personal_access_tokens/self")?;
    let token = portal.owned(&caller, caller.token_id).map_err(|d| error(&d))?;
    Ok(Json200(token_json(&token, now())).into_response())
}

async fn show(State(portal): State<Arc<Portal>>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let id = token_id(&id)?;
    let caller = authenticate(&portal, &headers, "GET", &format!("/api/v4/personal_access_tokens/{id}"))?;
    let token = portal.owned(&caller, id).map_err(|d| error(&d))?;
    Ok(Json200(token_json(&token, now())).into_response())
}

async fn revoke_self(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Answer {
    let caller = authenticate(&portal, &headers, "DELETE", "/api/v4/personal_access_tokens/self")?;
    portal.revoke(&caller, caller.token_id).map_err(|d| error(&d))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn revoke(State(portal): State<Arc<Portal>>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let id = token_id(&id)?;
    let caller = authenticate(&portal, &headers, "DELETE", &format!("/api/v4/personal_access_tokens/{id}"))?;
    portal.revoke(&caller, id).map_err(|d| error(&d))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_self(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Answer {
    let caller = authenticate(&portal, &headers, "POST", "/api/v4/personal_access_tokens/self/rotate")?;
    let created = portal.rotate(&caller, caller.token_id).map_err(|d| error(&d))?;
    created_json(&portal, &created, StatusCode::OK)
}

async fn rotate(State(portal): State<Arc<Portal>>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let id = token_id(&id)?;
    let caller = authenticate(&portal, &headers, "POST", &format!("/api/v4/personal_access_tokens/{id}/rotate"))?;
    let created = portal.rotate(&caller, id).map_err(|d| error(&d))?;
    created_json(&portal, &created, StatusCode::OK)
}

async fn create(State(portal): State<Arc<Portal>>, headers: HeaderMap, body: Bytes) -> Answer {
    let caller = authenticate(&portal, &headers, "POST", "/api/v4/user/personal_access_tokens")?;
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json_body {
        return Err(error(&Denied::new(415, "send the token as JSON (Content-Type: application/json)")));
    }
    if body.len() > MAX_BODY {
        return Err(error(&Denied::new(413, format!("the body is over {MAX_BODY} bytes"))));
    }
    let request = token_request(&caller, &body).map_err(|d| error(&d))?;
    let created = portal.create(&caller, request).map_err(|d| error(&d))?;
    created_json(&portal, &created, StatusCode::CREATED)
}

/// The body of `POST /user/personal_access_tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    /// Absent: the default lifetime; `null`: never; `YYYY-MM-DD`: that day.
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Value>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    granular_scopes: Vec<GranularScope>,
}

/// One grant of a fine-grained token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GranularScope {
    /// `personal_projects`, `all_memberships`, `selected_memberships`, `user`
    /// or `instance`.
    access: String,
    /// Groups and projects (full path or id) for `selected_memberships`.
    #[serde(default)]
    namespaces: Vec<String>,
    /// Permission names or `RESOURCE:VERB`.
    permissions: Vec<String>,
}

/// Tells a field given as `null` from a field not given.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn token_request(caller: &Caller, body: &[u8]) -> Result<TokenRequest, Denied> {
    let body: CreateBody =
        serde_json::from_slice(body).map_err(|e| Denied::new(400, format!("the body is not a token request: {e}")))?;
    let expires = match &body.expires_at {
        None => Expiry::Default,
        Some(Value::Null) => Expiry::Never,
        Some(Value::String(text)) => finegrain_store::parse_date(text)
            .map(Expiry::Date)
            .ok_or_else(|| Denied::new(400, format!("expires_at {text:?} is not a date (YYYY-MM-DD)")))?,
        Some(other) => return Err(Denied::new(400, format!("expires_at {other} is not a date (YYYY-MM-DD) or null"))),
    };
    let grants = body.granular_scopes.iter().map(grant).collect::<Result<_, _>>()?;
    Ok(TokenRequest {
        owner: caller.user.clone(),
        name: body.name,
        description: body.description.filter(|d| !d.is_empty()),
        scopes: body.scopes,
        grants,
        expires,
    })
}

fn grant(scope: &GranularScope) -> Result<GrantRequest, Denied> {
    let access = match scope.access.as_str() {
        "personal_projects" => GrantAccess::PersonalProjects,
        "all_memberships" => GrantAccess::AllMemberships,
        "selected_memberships" => GrantAccess::SelectedMemberships(scope.namespaces.clone()),
        "user" => GrantAccess::User,
        "instance" => GrantAccess::Instance,
        other => {
            return Err(Denied::new(
                400,
                format!(
                    "access {other:?} is not personal_projects, all_memberships, selected_memberships, user or instance"
                ),
            ));
        }
    };
    if !matches!(access, GrantAccess::SelectedMemberships(_)) && !scope.namespaces.is_empty() {
        return Err(Denied::new(400, format!("namespaces are only for selected_memberships, not {:?}", scope.access)));
    }
    if matches!(&access, GrantAccess::SelectedMemberships(paths) if paths.is_empty()) {
        return Err(Denied::new(400, "selected_memberships needs at least one namespace"));
    }
    Ok(GrantRequest { access, permissions: scope.permissions.iter().map(|p| PermissionChoice::parse(p)).collect() })
}

/// The token in `PRIVATE-TOKEN` or `Authorization: Bearer`, if the engine
/// lets it call `method path`.
fn authenticate(portal: &Portal, headers: &HeaderMap, method: &str, path: &str) -> Result<Caller, Response> {
    let private = headers.get("private-token").and_then(|v| v.to_str().ok());
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let secret = private.or(bearer).map(str::trim).filter(|s| !s.is_empty());
    let Some(secret) = secret else {
        return Err(error(&Denied {
            status: 401,
            message: "401 Unauthorized: send a token in PRIVATE-TOKEN or Authorization: Bearer".to_owned(),
            reasons: vec!["token_missing".to_owned()],
        }));
    };
    portal.caller(secret, method, path).map_err(|d| error(&d))
}

fn token_id(text: &str) -> Result<i64, Response> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| error(&Denied::new(404, format!("no token {text:?} (token ids are numbers)"))))
}

/// A token as GitLab's API shows it, plus finegrain's type and grants.
pub(crate) fn token_json(t: &TokenInfo, at: Timestamp) -> Value {
    let (scopes, granular): (Vec<String>, Value) = match &t.kind {
        TokenKind::Legacy(scopes) => (scopes.clone(), Value::Null),
        TokenKind::FineGrained(grants) => (
            Vec::new(),
            grants
                .iter()
                .map(|g| {
                    let namespaces = match &g.access {
                        GrantAccess::SelectedMemberships(paths) => paths.clone(),
                        _ => Vec::new(),
                    };
                    json!({"access": g.access.name(), "namespaces": namespaces, "permissions": g.permissions})
                })
                .collect(),
        ),
    };
    json!({
        "id": t.id,
        "name": t.label,
        "description": t.description,
        "token_type": t.kind_name(),
        "scopes": scopes,
        "granular_scopes": granular,
        "username": t.user,
        "created_at": rfc3339(t.created_at),
        "last_used_at": t.last_used_at.map(rfc3339),
        "expires_at": t.expires.map(finegrain_store::format_date),
        "revoked": t.revoked_at.is_some(),
        "active": t.status(at) == "active",
        "status": t.status(at),
        "rotated_from": t.rotated_from,
    })
}

/// A new token with its secret, the one time it is shown.
fn created_json(portal: &Portal, created: &Created, status: StatusCode) -> Answer {
    let info = portal.store().token(created.id).map_err(|e| error(&Denied::from(e)))?;
    let mut body = token_json(&info, now());
    body["token"] = Value::String(created.secret.expose().to_owned());
    let mut response = (status, Json200(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (beyond the years −9999 to 9999, the Unix seconds).
pub(crate) fn rfc3339(t: Timestamp) -> String {
    jiff::Timestamp::from_second(t).map_or_else(|_| t.to_string(), |at| at.to_string())
}

/// A JSON body (status set by the caller).
struct Json200(Value);

impl IntoResponse for Json200 {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0.to_string()).into_response()
    }
}

/// A refusal as JSON: `{"message": …, "reasons": […]}`.
pub(crate) fn error(denied: &Denied) -> Response {
    let status = StatusCode::from_u16(denied.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"message": denied.message, "reasons": denied.reasons});
    (status, Json200(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(1_795_262_400), "2026-11-21T12:00:00Z");
        assert_eq!(rfc3339(59), "1970-01-01T00:00:59Z");
    }

    #[test]
    fn bodies_become_requests() {
        let caller = Caller { user: "alice".into(), token_id: 1, token_name: "t".into() };
        let body = br#"{"name":"ci","granular_scopes":[{"access":"selected_memberships","namespaces":["acme"],"permissions":["read_branch","repository:view"]}]}"#;
        let request = token_request(&caller, body).unwrap();
        assert_eq!(request.owner, "alice");
        assert_eq!(request.expires, Expiry::Default);
        assert_eq!(request.grants[0].access, GrantAccess::SelectedMemberships(vec!["acme".into()]));
        assert_eq!(request.grants[0].permissions[1], PermissionChoice::Crud("repository:view".into()));
        let never = token_request(&caller, br#"{"name":"x","scopes":["api"],"expires_at":null}"#).unwrap();
        assert_eq!(never.expires, Expiry::Never);
        for (body, problem) in [
            (&br#"{"name":"x","expires_at":"soon"}"#[..], "expires_at \"soon\" is not a date"),
            (br#"{"name":"x","granular_scopes":[{"access":"all","permissions":[]}]}"#, "access \"all\" is not"),
            (br#"{"name":"x","scope":["api"]}"#, "unknown field `scope`"),
            (
                br#"{"name":"x","granular_scopes":[{"access":"selected_memberships","permissions":["a"]}]}"#,
                "needs at least one",
            ),
        ] {
            let denied = token_request(&caller, body).unwrap_err();
            assert!(denied.message.contains(problem), "{}", denied.message);
            assert_eq!(denied.status, 400);
        }
    }
}
