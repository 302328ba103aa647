//! Reading an HTTP request as a gateway receives it: where the token is, which
//! API path or Git service it asks for. Every path is hostile until shown
//! otherwise: anything odd is refused here, before routing, so that no spelling
//! of a path can reach a different resource than it appears to name.

/// Longest request target accepted, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// What an HTTP request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpTarget<'a> {
    /// A REST call: the path after `/api/v4`, still percent-encoded.
    Api { api_path: &'a str },
    /// Git smart HTTP on a project (full path, decoded).
    Git { project: String, push: bool },
    /// The GraphQL endpoint, `POST /api/graphql` (or `GET` with the document in
    /// the query).
    Graphql,
}

/// Why a request could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpProblem {
    /// The request is malformed or hostile.
    Malformed(String),
    /// Well-formed, but not an API or Git route this engine knows.
    NotRouted(String),
}

/// Decodes `%XX` escapes. Fails on a bad escape, invalid UTF-8 or a control
/// character in the result.
pub fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let value = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape in {text:?}"))?;
            out.push(value);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).map_err(|_| format!("{text:?} decodes to invalid UTF-8"))?;
    if decoded.chars().any(char::is_control) {
        return Err(format!("{text:?} decodes to a control character"));
    }
    Ok(decoded)
}

/// Checks the raw path (without query) segment by segment.
fn check_path(path: &str) -> Result<(), String> {
    if path.len() > MAX_PATH_LEN {
        return Err(format!("path is {} bytes long; the limit is {MAX_PATH_LEN}", path.len()));
    }
    if let Some(c) = path.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("path contains the character {c:?}"));
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err("path does not start with /".into());
    };
    for segment in rest.split('/') {
        if segment.is_empty() {
            return Err("path has an empty segment".into());
        }
        let decoded = percent_decode(segment)?;
        if decoded == "." || decoded == ".." || decoded.split('/').any(|s| s == "." || s == "..") {
            return Err("path has a dot segment".into());
        }
        if decoded.contains('%') {
            return Err(format!("segment {segment:?} is percent-encoded twice"));
        }
        if decoded.contains('\\') {
            return Err(format!("segment {segment:?} contains a backslash"));
        }
    }
    Ok(())
}

/// Splits the target into path and query, checks the path, and says what it
/// asks for.
/// Where GitLab serves GraphQL.
pub const GRAPHQL_PATH: &str = "/api/graphql";

pub fn parse_target<'a>(method: &str, target: &'a str) -> Result<(HttpTarget<'a>, &'a str), HttpProblem> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HttpProblem::Malformed(format!("method {method:?} is not an upper-case HTTP method")));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    check_path(path).map_err(HttpProblem::Malformed)?;
    if query.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(HttpProblem::Malformed("query contains a control or non-ASCII character".into()));
    }
    if let Some(api_path) = path.strip_prefix("/api/v4")
        && api_path.starts_with('/')
    {
        return Ok((HttpTarget::Api { api_path }, query));
    }
    if path == GRAPHQL_PATH && matches!(method, "POST" | "GET" | "HEAD") {
        return Ok((HttpTarget::Graphql, query));
    }
    if let Some(git) = git_target(method, path, query) {
        return Ok((git?, query));
    }
    Err(HttpProblem::NotRouted(format!("{method} {path} is not a known API or Git route")))
}

/// Git smart HTTP: `/<project>.git/info/refs?service=…`, `/<project>.git/git-upload-pack`,
/// `/<project>.git/git-receive-pack`.
fn git_target<'a>(method: &str, path: &str, query: &str) -> Option<Result<HttpTarget<'a>, HttpProblem>> {
    let (project, tail) = path.split_once(".git/")?;
    let push = match (method, tail) {
        ("GET", "info/refs") => match query_param(query, "service")?.as_deref() {
            Ok("git-upload-pack") => false,
            Ok("git-receive-pack") => true,
            _ => return Some(Err(HttpProblem::Malformed("unknown Git service".into()))),
        },
        ("POST", "git-upload-pack") => false,
        ("POST", "git-receive-pack") => true,
        _ => return None,
    };
    let project = percent_decode(project.trim_start_matches('/')).map_err(HttpProblem::Malformed);
    Some(project.map(|project| HttpTarget::Git { project, push }))
}

/// The decoded value of a query parameter, if present.
pub fn query_param(query: &str, name: &str) -> Option<Result<String, String>> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

/// Finds the token in the headers or the query. Two different tokens in one
/// request are refused: which one a forge would use is not certain.
pub fn find_token(headers: &[(String, String)], query: &str) -> Result<Option<String>, String> {
    let mut found: Vec<String> = Vec::new();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("private-token") {
            found.push(value.trim().to_owned());
        } else if name.eq_ignore_ascii_case("authorization") {
            let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
            if scheme.eq_ignore_ascii_case("bearer") {
                found.push(credentials.trim().to_owned());
            } else if scheme.eq_ignore_ascii_case("basic") {
                let decoded = base64_decode(credentials.trim()).ok_or("the Basic credentials are not valid base64")?;
                let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
                let (_, password) = text.split_once(':').ok_or("the Basic credentials have no password")?;
                found.push(password.to_owned());
            }
        }
    }
    if let Some(value) = query_param(query, "private_token") {
        found.push(value?);
    }
    found.retain(|t| !t.is_empty());
    found.dedup();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err("the request carries two different tokens".into()),
    }
}

/// Standard base64 (with or without padding).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let trimmed = text.trim_end_matches('=');
    if text.len() - trimmed.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= value(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> (String, String) {
        (name.into(), value.into())
    }

    #[test]
    fn tokens_are_found_in_every_documented_place() {
        assert_eq!(find_token(&[h("PRIVATE-TOKEN", "glpat-a")], ""), Ok(Some("glpat-a".into())));
        assert_eq!(find_token(&[h("authorization", "Bearer glpat-b")], ""), Ok(Some("glpat-b".into())));
        // "oauth2:glpat-c" in base64, as `git` sends it.
        assert_eq!(find_token(&[h("Authorization", "Basic b2F1dGgyOmdscGF0LWM=")], ""), Ok(Some("glpat-c".into())));
        assert_eq!(find_token(&[], "per_page=2&private_token=glpat-d"), Ok(Some("glpat-d".into())));
        assert_eq!(find_token(&[], "per_page=2"), Ok(None));
        assert!(find_token(&[h("PRIVATE-TOKEN", "a")], "private_token=b").is_err());
    }

    #[test]
    fn hostile_paths_are_malformed() {
        for path in [
            "/api/v4/projects/acme%252Fapi",
            "/api/v4/projects/../users",
            "/api/v4/projects/%2e%2e/users",
            "/api/v4//projects",
            "/api/v4/projects/",
            "/api/v4/projects/a%00b",
            "/api/v4/projects/a%ZZ",
            "/api/v4/projects/%ff",
            "/api/v4/projects/a b",
            "api/v4/projects",
        ] {
            assert!(matches!(parse_target("GET", path), Err(HttpProblem::Malformed(_))), "{path}");
        }
        let long = format!("/api/v4/{}", "a".repeat(MAX_PATH_LEN));
        assert!(matches!(parse_target("GET", &long), Err(HttpProblem::Malformed(_))));
        assert!(matches!(parse_target("get", "/api/v4/user"), Err(HttpProblem::Malformed(_))));
        assert!(matches!(parse_target("GET", "/API/V4/user"), Err(HttpProblem::NotRouted(_))));
    }

    #[test]
    fn api_and_git_targets() {
        assert_eq!(parse_target("GET", "/api/v4/user?x=1"), Ok((HttpTarget::Api { api_path: "/user" }, "x=1")));
        assert_eq!(
            parse_target("GET", "/acme/api.git/info/refs?service=git-receive-pack").unwrap().0,
            HttpTarget::Git { project: "acme/api".into(), push: true }
        );
        assert_eq!(
            parse_target("POST", "/acme/api.git/git-upload-pack").unwrap().0,
            HttpTarget::Git { project: "acme/api".into(), push: false }
        );
    }

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(base64_decode("YWJj"), Some(b"abc".to_vec()));
        assert_eq!(base64_decode("YWI="), Some(b"ab".to_vec()));
        assert_eq!(base64_decode("YQ"), Some(b"a".to_vec()));
        assert_eq!(base64_decode("Y"), None);
        assert_eq!(base64_decode("!!!!"), None);
    }
}
