//! Helpers shared by the integration tests: paths, the compiled engine
//! component (compiled once per test binary), and the fixed time of the examples.

use std::path::PathBuf;
use std::sync::OnceLock;

use finegrain_host::runtime::EngineHost;

/// The time the example and scenario files are written for.
pub const EXAMPLE_TIME: i64 = 1_795_262_400; // 2026-11-21T12:00:00Z

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Every scenario file: the examples and `tests/scenarios/`.
pub fn scenario_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples", "tests/scenarios"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(workspace().join(dir))
            .expect("scenario directory")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// The engine component, compiled once for the whole test binary.
pub fn host() -> &'static EngineHost {
    static HOST: OnceLock<EngineHost> = OnceLock::new();
    HOST.get_or_init(|| EngineHost::new().expect("the engine component compiles"))
}

/// Spellings of an HTTP request that GitLab reads as the same request: the
/// token moved between every place GitLab reads it, the method given by
/// `Rack::MethodOverride`, percent-encoded literal characters (Mustermann),
/// and a GraphQL request's parameters moved between the JSON body, a form body
/// and the query string (Rails merges them). Each comes with the rule it follows.
pub fn spellings(request: &finegrain_host::api::HttpRequest) -> Vec<(&'static str, finegrain_host::api::HttpRequest)> {
    let mut out = Vec::new();
    let with = |rule: &'static str, change: &dyn Fn(&mut finegrain_host::api::HttpRequest)| {
        let mut spelled = request.clone();
        change(&mut spelled);
        (rule, spelled)
    };
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let join =
        |extra: &str| if query.is_empty() { format!("{path}?{extra}") } else { format!("{path}?{query}&{extra}") };
    // Token sources (Gitlab::Auth::AuthFinders, Doorkeeper).
    let header_token =
        request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("private-token")).map(|(_, v)| v.clone());
    if let Some(secret) = header_token {
        let without: Vec<(String, String)> =
            request.headers.iter().filter(|(n, _)| !n.eq_ignore_ascii_case("private-token")).cloned().collect();
        let moved = |headers: Vec<(String, String)>, path: String| {
            let mut spelled = request.clone();
            spelled.headers = headers;
            spelled.path = path;
            spelled
        };
        let mut bearer = without.clone();
        bearer.push(("Authorization".into(), format!("Bearer {secret}")));
        out.push(("AuthFinders: Authorization Bearer", moved(bearer, request.path.clone())));
        let mut basic = without.clone();
        basic.push(("Authorization".into(), format!("Basic {}", base64(&format!("oauth2:{secret}")))));
        out.push(("AuthFinders: Basic password", moved(basic, request.path.clone())));
        let mut underscored = without.clone();
        underscored.push(("private_token".into(), secret.clone()));
        out.push(("Rack: HTTP_PRIVATE_TOKEN from private_token", moved(underscored, request.path.clone())));
        for param in ["private_token", "private%5Ftoken", "access_token"] {
            out.push(("AuthFinders: token parameter", moved(without.clone(), join(&format!("{param}={secret}")))));
        }
        out.push((
            "AuthFinders: the same token twice is one token",
            moved(request.headers.clone(), join(&format!("private_token={secret}"))),
        ));
    }
    // Rack::MethodOverride, for REST requests without a body.
    if request.body.is_none() && request.method != "POST" && !path.starts_with("/api/graphql") {
        let method = request.method.clone();
        out.push(with("Rack::MethodOverride: header", &|r| {
            r.method = "POST".into();
            r.headers.push(("X-HTTP-Method-Override".into(), method.to_lowercase()));
        }));
        out.push(with("Rack::MethodOverride: form _method", &|r| {
            r.method = "POST".into();
            r.body = Some(format!("_method={method}"));
        }));
    }
    // Mustermann: any character of the path but `/` may be percent-encoded.
    let in_escape = |i: usize| path[..i].ends_with('%') || (i >= 2 && path.as_bytes()[i - 2] == b'%');
    for (i, c) in path.char_indices().filter(|(i, c)| c.is_ascii_alphanumeric() && !in_escape(*i)).step_by(7) {
        let encoded = format!("{}%{:02x}{}", &path[..i], c as u32, &path[i + 1..]);
        let full = if query.is_empty() { encoded } else { format!("{encoded}?{query}") };
        out.push(with("Mustermann: a percent-encoded literal", &|r| r.path = full.clone()));
    }
    if path.contains("%2F") {
        let lower = request.path.replace("%2F", "%2f");
        out.push(with("percent escapes are case-insensitive", &|r| r.path = lower.clone()));
    }
    graphql_spellings(request, &mut out);
    out
}

/// GraphQL parameters moved between the places Rails reads them from.
fn graphql_spellings(
    request: &finegrain_host::api::HttpRequest,
    out: &mut Vec<(&'static str, finegrain_host::api::HttpRequest)>,
) {
    let Some(body) = request.body.as_deref().filter(|_| request.path == "/api/graphql") else { return };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) else { return };
    let form: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={}", form_encode(k), form_encode(&text))
        })
        .collect();
    let form = form.join("&");
    let headers_without_type: Vec<(String, String)> =
        request.headers.iter().filter(|(n, _)| !n.eq_ignore_ascii_case("content-type")).cloned().collect();
    let spelled = |rule, path: String, headers: Vec<(String, String)>, body: Option<String>| {
        let mut r = request.clone();
        r.path = path;
        r.headers = headers;
        r.body = body;
        (rule, r)
    };
    let mut form_headers = headers_without_type.clone();
    form_headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    out.push(spelled("Rails: a form-encoded body", request.path.clone(), form_headers, Some(form.clone())));
    out.push(spelled(
        "Rails: a POST without a content type is a form",
        request.path.clone(),
        headers_without_type.clone(),
        Some(form.clone()),
    ));
    out.push(spelled(
        "Rails: query-string parameters",
        format!("/api/graphql?{form}"),
        headers_without_type.clone(),
        None,
    ));
    let mut charset = headers_without_type.clone();
    charset.push(("Content-Type".into(), "application/json; charset=utf-8".into()));
    out.push(spelled("Rails: JSON with a charset", request.path.clone(), charset.clone(), Some(body.to_owned())));
    out.push(spelled("Rails: a batch of one is _json", request.path.clone(), charset, Some(format!("[{body}]"))));
}

/// `application/x-www-form-urlencoded` encoding of one component.
pub fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Standard base64 with padding.
pub fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
