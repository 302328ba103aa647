//! Running scenario cases: each case becomes an engine request, goes through
//! the component, and its decision is compared with the case's expectation.

use crate::api::*;
use crate::runtime::Authorizer;
use crate::world_file::{Case, CaseQuery, CaseToken};

/// The engine request for a case, at its own time or `default_at`.
pub fn case_request(case: &Case, default_at: Timestamp) -> Request {
    let at = case.at.unwrap_or(default_at);
    let token = match &case.token {
        CaseToken::Name(name) => Some(TokenRef::Name(name.clone())),
        CaseToken::Secret(secret) => Some(TokenRef::Secret(secret.clone())),
        CaseToken::None => None,
    };
    // Forms other than HTTP need a token; an empty one is decided as missing.
    let required_token = || token.clone().unwrap_or(TokenRef::Secret(String::new()));
    match &case.query {
        CaseQuery::Http { method, path, headers, body, owner } => Request::Http(HttpRequest {
            token: token.clone(),
            method: method.clone(),
            path: path.clone(),
            headers: headers.clone(),
            body: body.clone(),
            owner: owner.clone(),
            at,
        }),
        // GraphQL travels as the HTTP request a client would send.
        CaseQuery::GraphQl { document, variables } => Request::Http(HttpRequest {
            token: token.clone(),
            method: "POST".into(),
            path: "/api/graphql".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(graphql_body(document, variables.as_deref())),
            owner: None,
            at,
        }),
        CaseQuery::GitFetch { project } => Request::Git(GitRequest {
            token: required_token(),
            project: project.clone(),
            service: GitService::UploadPack,
            at,
        }),
        CaseQuery::GitPush { project, refs } => Request::Git(GitRequest {
            token: required_token(),
            project: project.clone(),
            service: GitService::ReceivePack(refs.clone()),
            at,
        }),
        CaseQuery::Permission { permission, on, ref_name, force } => Request::Permission(PermissionRequest {
            token: required_token(),
            permission: permission.clone(),
            namespace: on.clone(),
            ref_name: ref_name.clone(),
            force: *force,
            at,
        }),
    }
}

/// Whether a decision meets a case's expectation.
pub fn meets(case: &Case, decision: &Decision) -> bool {
    (decision.effect == Effect::Allow) == case.expect_allow && case.reasons.iter().all(|r| decision.has_reason(r))
}

/// One case's result.
pub struct Outcome {
    pub name: String,
    pub passed: bool,
    pub expected: String,
    /// The decision of `check` (codes, no details).
    pub decision: Decision,
    /// For a failing case, the same request described (reasons with details).
    pub described: Option<Decision>,
}

impl Outcome {
    /// The decision to show people: described when the case failed.
    pub fn shown(&self) -> &Decision {
        self.described.as_ref().unwrap_or(&self.decision)
    }
}

/// Runs cases through the component, in one batch call; a failing case is
/// decided again with `describe`, so its reasons say why.
pub fn run(authorizer: &mut Authorizer, cases: &[Case], default_at: Timestamp) -> Vec<Outcome> {
    let requests: Vec<Request> = cases.iter().map(|c| case_request(c, default_at)).collect();
    let decisions = authorizer.check_batch(&requests);
    cases
        .iter()
        .zip(&requests)
        .zip(decisions)
        .map(|((case, request), decision)| {
            let passed = meets(case, &decision);
            let described = (!passed).then(|| authorizer.describe(request));
            (case, passed, decision, described)
        })
        .map(|(case, passed, decision, described)| Outcome {
            name: case.name.clone(),
            passed,
            described,
            expected: format!(
                "{}{}",
                if case.expect_allow { "allow" } else { "deny" },
                if case.reasons.is_empty() { String::new() } else { format!(" ({})", case.reasons.join(", ")) }
            ),
            decision,
        })
        .collect()
}

/// `allow [allowed]` or `deny [token_lacks_permission, user_lacks_ability]`.
pub fn summary(decision: &Decision) -> String {
    let codes: Vec<&str> = decision.reasons.iter().map(|r| r.code.as_str()).collect();
    format!("{} [{}]", if decision.effect == Effect::Allow { "allow" } else { "deny" }, codes.join(", "))
}

/// The JSON body a GraphQL client posts: `{"query": …, "variables": …}`.
/// `variables` is JSON text from the scenario file; text that does not parse is
/// sent as a string, for the engine to refuse.
pub fn graphql_body(document: &str, variables: Option<&str>) -> String {
    let mut body = serde_json::Map::new();
    body.insert("query".into(), serde_json::Value::String(document.to_owned()));
    if let Some(variables) = variables {
        let value = serde_json::from_str(variables).unwrap_or_else(|_| serde_json::Value::String(variables.to_owned()));
        body.insert("variables".into(), value);
    }
    serde_json::Value::Object(body).to_string()
}
