//! One normalisation step before routing: the request as GitLab (Rails, Rack,
//! Grape/Mustermann) will read it, or a refusal where that reading is
//! ambiguous. Each rule is tested below under a name that says which rule:
//!
//! - **token sources** (`Gitlab::Auth::AuthFinders`, Doorkeeper): the
//!   `PRIVATE-TOKEN`, `JOB-TOKEN`, `DEPLOY-TOKEN` and
//!   `X-Gitlab-Static-Object-Token` headers, `Authorization: Bearer`, `Token`
//!   and `Basic` (the password), and the `private_token`, `access_token`,
//!   `bearer_token`, `job_token`, `token`, `feed_token` and `rss_token`
//!   parameters of the query string and of the body; more than one token value
//!   is refused;
//! - **method override** (`Rack::MethodOverride`): a `POST` carrying `_method`
//!   in its form body, or the `X-HTTP-Method-Override` header, is decided as
//!   that method;
//! - **path literals** (Mustermann): a percent-encoded character matches the
//!   character, so escapes of everything but `/`, `%`, `?`, `#` and `;` are
//!   decoded before routing; matrix parameters (a raw `;`) are refused;
//! - **GraphQL parameters** (`ActionDispatch::Http::Parameters`): query-string
//!   parameters are merged over body parameters, a JSON body that is not an
//!   object becomes `_json`, and the result is handed to the GraphQL reader as
//!   one canonical JSON document.
//!
//! Errors never quote a header or parameter value.

use serde_json::{Map, Value as Json};

use crate::params::{self, Pair, ReadError};
use crate::{graphql, strict_json};

/// The largest body read for parameters, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Headers holding a token as their whole value (compared case-insensitively,
/// `_` as `-`, as Rack's `HTTP_*` names do).
pub const TOKEN_HEADERS: [&str; 4] = ["private-token", "job-token", "deploy-token", "x-gitlab-static-object-token"];

/// Parameters holding a token, in the query string or the body.
pub const TOKEN_PARAMS: [&str; 7] =
    ["private_token", "access_token", "bearer_token", "job_token", "token", "feed_token", "rss_token"];

/// The methods `Rack::MethodOverride` accepts.
const OVERRIDE_METHODS: [&str; 9] = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "LINK", "UNLINK"];

/// The parameters GitLab's GraphQL controller reads.
const GRAPHQL_PARAMS: [&str; 4] = ["query", "variables", "operationName", "_json"];

/// The body's parameters, by the content type Rails would parse it as.
#[derive(Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded`, or a `POST` without a content type.
    Form(Vec<Pair>),
    /// A JSON media type: an object's keys are parameters, anything else is `_json`.
    Json(Json),
    /// `multipart/form-data`: not parsed; the parts it names are looked for.
    Multipart(String),
    /// A content type Rails does not turn into parameters.
    Opaque(String),
}

/// A request as GitLab reads it.
#[derive(Debug)]
pub struct Reading {
    /// The method after `Rack::MethodOverride`.
    pub method: String,
    /// The path with literal escapes decoded (Mustermann's reading).
    pub path: String,
    /// The query-string parameters.
    pub pairs: Vec<Pair>,
    /// The body's parameters.
    pub body: Body,
    /// The token the request carries, if any.
    pub token: Option<String>,
}

/// Header name as Rack files it: lower case, `_` read as `-`.
fn header_is(name: &str, wanted: &str) -> bool {
    name.len() == wanted.len()
        && name.bytes().zip(wanted.bytes()).all(|(a, b)| a.to_ascii_lowercase() == b || (a == b'_' && b == b'-'))
}

/// Every value of a header.
fn header_values<'h>(headers: &'h [(String, String)], wanted: &str) -> Vec<&'h str> {
    headers.iter().filter(|(n, _)| header_is(n, wanted)).map(|(_, v)| v.trim()).collect()
}

/// Reads a request: method, path, parameters and token.
pub fn read(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Result<Reading, ReadError> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = normalize_path(path)?;
    let pairs = params::parse_pairs(query, "the query string")?;
    // A GraphQL body is read within the GraphQL limits, counted as it is read.
    let limits = if path == crate::http::GRAPHQL_PATH { graphql::JSON_LIMITS } else { strict_json::BODY_LIMITS };
    let body = read_body(method, headers, body, limits)?;
    let token = find_token(headers, &pairs, &body)?;
    refuse_sudo(&pairs, &body)?;
    let method = override_method(method, headers, &body)?;
    Ok(Reading { method, path, pairs, body, token })
}

/// The media type of the `Content-Type` header, lower case, without parameters.
fn media_type(headers: &[(String, String)]) -> Result<Option<String>, ReadError> {
    match header_values(headers, "content-type").as_slice() {
        [] => Ok(None),
        // Rack::MediaType splits on `;` and `,`; an empty value is no content type.
        [one] => {
            let media = one.split([';', ',']).next().unwrap_or("").trim().to_ascii_lowercase();
            Ok((!media.is_empty()).then_some(media))
        }
        _ => Err(ReadError::Ambiguous("the request has more than one Content-Type header".into())),
    }
}

/// Rails' JSON parameter parser's media types: `application/json` and its registered synonyms.
const JSON_TYPES: [&str; 3] = ["application/json", "text/x-json", "application/jsonrequest"];

/// Whether GitLab reads parameters (a token, `_method`, GraphQL fields) from
/// this request's body, whatever its method: a form (`application/x-www-form-urlencoded`,
/// or a POST with no content type), any multipart type, or JSON. A host must
/// pass such a body to the engine; the other bodies (a pack, a file upload as
/// `application/octet-stream`) it may stream past.
pub fn reads_body(method: &str, headers: &[(String, String)]) -> bool {
    match media_type(headers) {
        Ok(None) => method == "POST",
        Ok(Some(media)) => {
            media == "application/x-www-form-urlencoded"
                || media.starts_with("multipart/")
                || JSON_TYPES.contains(&media.as_str())
        }
        // Two content types: the engine refuses the request once it has the body.
        Err(_) => true,
    }
}

/// Whether the headers say a body follows: a `Content-Length` other than 0,
/// or any `Transfer-Encoding`.
fn announces_body(headers: &[(String, String)]) -> bool {
    header_values(headers, "content-length").iter().any(|v| *v != "0")
        || !header_values(headers, "transfer-encoding").is_empty()
}

/// The body's parameters, as Rails would parse them. `None` is a body the host
/// did not pass: refused when the headers announce one GitLab would read.
fn read_body(
    method: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    limits: strict_json::Limits,
) -> Result<Body, ReadError> {
    let Some(body) = body else {
        if announces_body(headers) && reads_body(method, headers) {
            return Err(ReadError::Malformed(
                "the request has a body GitLab reads parameters from, and it was not passed to the engine".into(),
            ));
        }
        return Ok(Body::Empty);
    };
    if body.is_empty() {
        return Ok(Body::Empty);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ReadError::Malformed(format!("the body is {} bytes; the limit is {MAX_BODY_BYTES}", body.len())));
    }
    Ok(match media_type(headers)?.as_deref() {
        Some(media) if JSON_TYPES.contains(&media) => {
            let json = strict_json::parse_within(body, limits);
            Body::Json(json.map_err(|why| ReadError::Malformed(format!("the JSON body: {why}")))?)
        }
        Some("application/x-www-form-urlencoded") => Body::Form(params::parse_form(body, "the form body")?),
        // Rack reads a POST without a content type as a form.
        None if method == "POST" => Body::Form(params::parse_form(body, "the form body")?),
        // Rack parses form-data, mixed and related; every multipart type is looked into.
        Some(media) if media.starts_with("multipart/") => Body::Multipart(body.to_owned()),
        other => Body::Opaque(other.unwrap_or("none").to_owned()),
    })
}

/// Whether a multipart body may have a part called `name`, as Rack's multipart
/// parser names parts: the `name` of a `Content-Disposition` (quoted, with
/// backslash escapes, or RFC 2231's `name*=charset''value`), or else the
/// `Content-ID`. Every line that looks like such a header counts, wherever it
/// is, and names compare without case: a false match refuses, a missed one
/// would let a part through unread.
fn multipart_has(body: &str, name: &str) -> bool {
    body.lines().any(|line| {
        let Some((header, value)) = line.split_once(':') else { return false };
        let header = header.trim();
        if header.eq_ignore_ascii_case("content-disposition") {
            value.split(';').skip(1).any(|param| {
                param.split_once('=').is_some_and(|(key, raw)| {
                    let key = key.trim();
                    (key.eq_ignore_ascii_case("name") || key.eq_ignore_ascii_case("name*"))
                        && part_name(raw).eq_ignore_ascii_case(name)
                })
            })
        } else {
            header.eq_ignore_ascii_case("content-id") && part_name(value).eq_ignore_ascii_case(name)
        }
    })
}

/// A part name as written in a header: without quotes, escapes, angle
/// brackets or an RFC 2231 charset prefix, percent-decoded where it decodes.
fn part_name(raw: &str) -> String {
    let raw = raw.trim();
    let raw = raw.rsplit_once("''").map_or(raw, |(_, value)| value);
    let bare: String = raw.chars().filter(|c| !matches!(c, '"' | '\\' | '<' | '>')).collect();
    let bare = bare.trim().to_owned();
    params::form_decode(&bare).unwrap_or(bare)
}

/// The plain string value of a body parameter.
fn body_single<'b>(body: &'b Body, name: &str) -> Result<Option<&'b str>, ReadError> {
    match body {
        Body::Form(pairs) => params::single(pairs, name, "the form body"),
        Body::Json(Json::Object(map)) => match map.get(name) {
            None => Ok(None),
            Some(Json::String(value)) => Ok(Some(value)),
            Some(_) => {
                Err(ReadError::Ambiguous(format!("the JSON body gives {name} as something other than a string")))
            }
        },
        Body::Multipart(text) if multipart_has(text, name) => {
            Err(ReadError::Ambiguous(format!("a multipart body carrying {name} is not read")))
        }
        _ => Ok(None),
    }
}

/// Every token value in the headers, query and body; two different ones are refused.
fn find_token(headers: &[(String, String)], pairs: &[Pair], body: &Body) -> Result<Option<String>, ReadError> {
    let mut found: Vec<String> = Vec::new();
    for (name, value) in headers {
        if TOKEN_HEADERS.iter().any(|h| header_is(name, h)) {
            found.push(value.trim().to_owned());
        } else if header_is(name, "authorization") {
            found.push(authorization_token(value)?);
        }
    }
    for name in TOKEN_PARAMS {
        for value in [params::single(pairs, name, "the query string")?, body_single(body, name)?].into_iter().flatten()
        {
            found.push(value.to_owned());
        }
    }
    found.retain(|t| !t.is_empty());
    found.sort_unstable();
    found.dedup();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(ReadError::Ambiguous(
            "the request carries more than one token; GitLab's choice depends on the route".into(),
        )),
    }
}

/// Sudo (`API::Helpers#sudo!`): a `sudo` parameter (it wins over the `Sudo`
/// header) makes an administrator's token act as another user. The engine
/// decides as the token's own user only, so such a request is refused. (The
/// `Sudo` header itself every gateway removes before the forge sees it.)
fn refuse_sudo(pairs: &[Pair], body: &Body) -> Result<(), ReadError> {
    let asked = !params::named(pairs, "sudo", "the query string")?.is_empty() || body_single(body, "sudo")?.is_some();
    if asked {
        return Err(ReadError::Ambiguous(
            "the request asks to act as another user (sudo); the engine decides as the token's own user only".into(),
        ));
    }
    Ok(())
}

/// The token of an `Authorization` header.
fn authorization_token(value: &str) -> Result<String, ReadError> {
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(credentials.to_owned())
    } else if scheme.eq_ignore_ascii_case("token") {
        // `Token token="…"` (ActionController::HttpAuthentication::Token).
        let inner = credentials.strip_prefix("token=").unwrap_or(credentials);
        Ok(inner.split(',').next().unwrap_or("").trim().trim_matches('"').to_owned())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let bad = |why: &str| ReadError::Malformed(format!("the Basic credentials {why}"));
        let decoded = crate::http::base64_decode(credentials).ok_or_else(|| bad("are not valid base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| bad("are not UTF-8"))?;
        let (_, password) = text.split_once(':').ok_or_else(|| bad("have no password"))?;
        Ok(password.to_owned())
    } else {
        Err(ReadError::Ambiguous("the Authorization header uses a scheme the engine does not read".into()))
    }
}

/// `Rack::MethodOverride`: a POST's form `_method`, else the
/// `X-HTTP-Method-Override` header, upper-cased, if it names a known method.
fn override_method(method: &str, headers: &[(String, String)], body: &Body) -> Result<String, ReadError> {
    if method != "POST" {
        return Ok(method.to_owned());
    }
    let form = match body {
        Body::Json(_) => None, // Rack does not parse JSON; Rails does, after the override.
        other => body_single(other, "_method")?,
    };
    let header = match header_values(headers, "x-http-method-override").as_slice() {
        [] => None,
        [one] => Some(*one),
        _ => return Err(ReadError::Ambiguous("the request has more than one X-HTTP-Method-Override header".into())),
    };
    let wanted = match (form, header) {
        (None, None) => return Ok(method.to_owned()),
        (Some(f), Some(h)) if !f.eq_ignore_ascii_case(h) => {
            return Err(ReadError::Ambiguous("_method and X-HTTP-Method-Override disagree".into()));
        }
        (Some(m), _) | (None, Some(m)) => m.to_ascii_uppercase(),
    };
    if OVERRIDE_METHODS.contains(&wanted.as_str()) {
        Ok(wanted)
    } else {
        Err(ReadError::Ambiguous("the method override names a method Rack ignores".into()))
    }
}

/// Bytes whose escapes stay encoded: they would change how the path splits.
fn keeps_escape(byte: u8) -> bool {
    !byte.is_ascii_graphic() || matches!(byte, b'/' | b'%' | b'?' | b'#' | b';')
}

/// Decodes the escapes Mustermann would match as literal characters
/// (`%70romote` is `promote`); keeps the others, in upper-case hex.
pub fn normalize_path(path: &str) -> Result<String, ReadError> {
    if path.contains(';') {
        return Err(ReadError::Ambiguous(
            "the path carries matrix parameters (`;`); GitLab's routes do not define them".into(),
        ));
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(char::from(bytes[i]));
            i += 1;
            continue;
        }
        let byte = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| ReadError::Malformed("the path has a bad percent escape".into()))?;
        if keeps_escape(byte) {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(char::from(byte));
        }
        i += 3;
    }
    Ok(out)
}

/// The request target with every value that could be a secret hidden, for
/// traces and messages: token parameters (however their names are spelled)
/// and anything that does not decode.
pub fn redact_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else { return target.to_owned() };
    let mut out = format!("{path}?");
    let mut piece = String::new();
    let flush = |piece: &mut String, out: &mut String| {
        let (key, value) = piece.split_once('=').map_or((piece.as_str(), None), |(k, v)| (k, Some(v)));
        match (params::form_decode(key), value) {
            (Some(name), Some(value))
                if !TOKEN_PARAMS.contains(&params::rack_name(&name)) && params::form_decode(value).is_some() =>
            {
                out.push_str(key);
                out.push('=');
                out.push_str(value);
            }
            (Some(name), None) if !TOKEN_PARAMS.contains(&params::rack_name(&name)) => out.push_str(key),
            (Some(_), _) => {
                out.push_str(key);
                out.push_str("=[redacted]");
            }
            (None, _) => out.push_str("[redacted]"),
        }
        piece.clear();
    };
    for c in query.chars() {
        if c == '&' || c == ';' {
            flush(&mut piece, &mut out);
            out.push(c);
        } else {
            piece.push(c);
        }
    }
    flush(&mut piece, &mut out);
    out
}

impl Reading {
    /// The GraphQL request GitLab will execute, as one canonical JSON
    /// document: `{"query", "variables", "operationName"}` or a batch array.
    pub fn graphql_document(&self) -> Result<Vec<u8>, ReadError> {
        let mut merged: Map<String, Json> = self.graphql_body_params()?;
        for name in GRAPHQL_PARAMS {
            // Rails: query-string parameters win over body parameters.
            if let Some(value) = params::nested(&self.pairs, name, "the query string")? {
                merged.insert(name.to_owned(), value);
            }
        }
        let document = match (merged.remove("_json"), merged.contains_key("query")) {
            (Some(_), true) => {
                return Err(ReadError::Ambiguous("the request has both a query and a _json batch".into()));
            }
            (Some(Json::Array(entries)), false) => {
                let entries: Result<Vec<Json>, ReadError> = entries
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| match e {
                        Json::Object(map) => {
                            canonical_entry(map).map_err(|why| prefix(why, &format!("batch entry {i}")))
                        }
                        _ => Err(ReadError::Malformed(format!("batch entry {i} is not an object"))),
                    })
                    .collect();
                Json::Array(entries?)
            }
            (Some(_), false) => return Err(ReadError::Malformed("_json is not a batch (a list)".into())),
            (None, _) => canonical_entry(merged)?,
        };
        serde_json::to_vec(&document).map_err(|e| ReadError::Malformed(format!("graphql: {e}")))
    }

    /// The body's GraphQL parameters.
    fn graphql_body_params(&self) -> Result<Map<String, Json>, ReadError> {
        let mut out = Map::new();
        match &self.body {
            Body::Empty => {}
            Body::Json(Json::Object(map)) => {
                for name in GRAPHQL_PARAMS {
                    if let Some(value) = map.get(name) {
                        out.insert(name.to_owned(), value.clone());
                    }
                }
            }
            Body::Json(other) => {
                out.insert("_json".into(), other.clone());
            }
            Body::Form(pairs) => {
                for name in GRAPHQL_PARAMS {
                    if let Some(value) = params::nested(pairs, name, "the form body")? {
                        out.insert(name.to_owned(), value);
                    }
                }
            }
            Body::Multipart(_) => {
                return Err(ReadError::Malformed("multipart GraphQL requests (file uploads) are not read".into()));
            }
            Body::Opaque(media) => {
                return Err(ReadError::Malformed(format!(
                    "GitLab does not read a GraphQL body of content type {media:?}; the engine will not guess"
                )));
            }
        }
        Ok(out)
    }
}

fn prefix(error: ReadError, place: &str) -> ReadError {
    match error {
        ReadError::Malformed(m) => ReadError::Malformed(format!("{place}: {m}")),
        ReadError::Ambiguous(m) => ReadError::Ambiguous(format!("{place}: {m}")),
    }
}

/// One `{"query", "variables", "operationName"}` entry, with only the types
/// GitLab accepts.
fn canonical_entry(mut map: Map<String, Json>) -> Result<Json, ReadError> {
    let query = match map.remove("query") {
        Some(Json::String(q)) => q,
        Some(_) => return Err(ReadError::Malformed("the GraphQL query is not a string".into())),
        None => return Err(ReadError::Malformed("a GraphQL request needs a query".into())),
    };
    let variables = match map.remove("variables") {
        None | Some(Json::Null) => Json::Object(Map::new()),
        Some(Json::String(text)) if text.trim().is_empty() => Json::Object(Map::new()),
        // GitLab parses a string of JSON; duplicated keys are refused here.
        Some(Json::String(text)) => match strict_json::parse_within(&text, graphql::JSON_LIMITS) {
            Ok(Json::Object(vars)) => Json::Object(vars),
            Ok(Json::Null) => Json::Object(Map::new()),
            Ok(_) => return Err(ReadError::Malformed("the GraphQL variables are not an object".into())),
            Err(why) => return Err(ReadError::Malformed(format!("the GraphQL variables: {why}"))),
        },
        Some(Json::Object(vars)) => Json::Object(vars),
        Some(_) => return Err(ReadError::Malformed("the GraphQL variables are not an object".into())),
    };
    let mut out = Map::new();
    out.insert("query".into(), Json::String(query));
    out.insert("variables".into(), variables);
    match map.remove("operationName") {
        None | Some(Json::Null) => {}
        Some(Json::String(name)) => {
            out.insert("operationName".into(), Json::String(name));
        }
        Some(_) => return Err(ReadError::Malformed("the GraphQL operationName is not a string".into())),
    }
    Ok(Json::Object(out))
}

#[cfg(test)]
#[path = "reading_tests.rs"]
mod tests;
