//! How a deny is told to the client: status, headers and a JSON body.
//!
//! - 401 when the token is missing, unknown, expired or revoked (with
//!   `WWW-Authenticate: Basic`, so `git` asks for credentials), 403 otherwise;
//! - `X-Accepted-Finegrain-Permissions`: the assignable permissions that would
//!   allow the request, comma-separated (as GitHub's `X-Accepted-GitHub-Permissions`);
//! - `X-Finegrain-Revision`: the policy revision that decided;
//! - a JSON body `{"message", "reasons": [{"code", "detail"}],
//!   "required_permissions", "accepted_permissions", "revision"}`.
//!
//! Everything comes from the decision, whose details never contain a secret.

use bytes::Bytes;
use finegrain_engine::api::{Code, Decision, Effect};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;

/// The header listing the accepted permissions.
pub const ACCEPTED_HEADER: &str = "x-accepted-finegrain-permissions";
/// The header carrying the policy revision.
pub const REVISION_HEADER: &str = "x-finegrain-revision";

/// The reasons that mean "who are you?" rather than "you may not".
const AUTHENTICATION_CODES: [Code; 4] =
    [Code::TokenMissing, Code::TokenUnknown, Code::TokenExpired, Code::TokenRevoked];

/// The status for a decision: 200 for allow, 401 or 403 for deny.
pub fn status(decision: &Decision) -> StatusCode {
    if decision.effect == Effect::Allow {
        StatusCode::OK
    } else if AUTHENTICATION_CODES.iter().any(|code| decision.has_reason(code.as_str())) {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    }
}

/// The headers every answer carries (allowed or not): accepted permissions
/// and revision; on 401 also `WWW-Authenticate`.
pub fn headers(decision: &Decision) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&decision.accepted_permissions.join(", ")) {
        headers.insert(ACCEPTED_HEADER, value);
    }
    headers.insert(REVISION_HEADER, HeaderValue::from(decision.revision));
    if status(decision) == StatusCode::UNAUTHORIZED {
        headers.insert(http::header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"finegrain\""));
    }
    headers
}

#[derive(Serialize)]
struct Body<'a> {
    message: String,
    reasons: &'a [finegrain_engine::api::Reason],
    required_permissions: &'a [String],
    accepted_permissions: &'a [String],
    revision: u64,
}

/// The one-line message of a deny: the first reason's detail, prefixed by the status.
pub fn message(decision: &Decision) -> String {
    let first = decision.reasons.first().map(|r| r.text()).unwrap_or("denied");
    match status(decision) {
        StatusCode::UNAUTHORIZED => format!("401 Unauthorized: {first}"),
        StatusCode::FORBIDDEN => format!("403 Forbidden: {first}"),
        _ => first.to_owned(),
    }
}

/// The JSON body of a deny.
pub fn body(decision: &Decision) -> Bytes {
    let body = Body {
        message: message(decision),
        reasons: &decision.reasons,
        required_permissions: &decision.required_permissions,
        accepted_permissions: &decision.accepted_permissions,
        revision: decision.revision,
    };
    // Serialising plain strings and numbers cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// The whole answer to a denied request.
pub fn deny_response(decision: &Decision) -> http::Response<Bytes> {
    let mut response = http::Response::new(body(decision));
    *response.status_mut() = status(decision);
    *response.headers_mut() = headers(decision);
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use finegrain_engine::api::Reason;

    fn deny(code: &str) -> Decision {
        Decision {
            effect: Effect::Deny,
            reasons: vec![Reason { code: code.into(), detail: Some(format!("because {code}")) }],
            required_permissions: vec!["push_code".into()],
            accepted_permissions: vec!["write_repository".into(), "api".into()],
            boundary: None,
            namespace: None,
            revision: 7,
        }
    }

    #[test]
    fn token_problems_are_401_and_the_rest_403() {
        for code in ["token_missing", "token_unknown", "token_expired", "token_revoked"] {
            assert_eq!(status(&deny(code)), StatusCode::UNAUTHORIZED, "{code}");
        }
        for code in ["token_lacks_permission", "branch_protected", "malformed_request", "user_inactive"] {
            assert_eq!(status(&deny(code)), StatusCode::FORBIDDEN, "{code}");
        }
    }

    #[test]
    fn a_deny_names_reasons_permissions_and_revision() {
        let response = deny_response(&deny("token_lacks_permission"));
        assert_eq!(response.headers()[ACCEPTED_HEADER], "write_repository, api");
        assert_eq!(response.headers()[REVISION_HEADER], "7");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["message"], "403 Forbidden: because token_lacks_permission");
        assert_eq!(body["reasons"][0]["code"], "token_lacks_permission");
        assert_eq!(body["required_permissions"][0], "push_code");
        assert_eq!(body["revision"], 7);
        assert!(deny_response(&deny("token_missing")).headers().contains_key("www-authenticate"));
    }
}
