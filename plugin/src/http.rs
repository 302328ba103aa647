//! Reading an HTTP request as a gateway receives it: where the token is, which
//! API path or Git service it asks for. Every path is hostile until shown
//! otherwise: anything odd is refused here, before routing, so that no spelling
//! of a path can reach a different resource than it appears to name.

use crate::params::{self, Pair, ReadError};

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
    /// GitLab's reading of the request depends on its version or is not certain.
    Ambiguous(String),
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

/// Where GitLab serves GraphQL.
pub const GRAPHQL_PATH: &str = "/api/graphql";

/// Checks a path (without its query, escapes of literal characters already
/// decoded by [`crate::reading`]) and says what it asks for.
pub fn parse_target<'a>(method: &str, path: &'a str, query: &[Pair]) -> Result<HttpTarget<'a>, HttpProblem> {
    check_method(method)?;
    check_path(path).map_err(HttpProblem::Malformed)?;
    if let Some(api_path) = path.strip_prefix("/api/v4")
        && api_path.starts_with('/')
    {
        return Ok(HttpTarget::Api { api_path });
    }
    if path == GRAPHQL_PATH && matches!(method, "POST" | "GET" | "HEAD") {
        return Ok(HttpTarget::Graphql);
    }
    if let Some(git) = git_target(method, path, query) {
        return git;
    }
    Err(HttpProblem::NotRouted(format!("{method} {path} is not a known API or Git route")))
}

/// An HTTP method is upper-case ASCII letters.
pub fn check_method(method: &str) -> Result<(), HttpProblem> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HttpProblem::Malformed(format!("method {method:?} is not an upper-case HTTP method")));
    }
    Ok(())
}

/// Git smart HTTP: `/<project>.git/info/refs?service=…`, `/<project>.git/git-upload-pack`,
/// `/<project>.git/git-receive-pack`. A duplicated `service` is refused.
fn git_target<'a>(method: &str, path: &str, query: &[Pair]) -> Option<Result<HttpTarget<'a>, HttpProblem>> {
    let (project, tail) = path.split_once(".git/")?;
    let push = match (method, tail) {
        ("GET", "info/refs") => match git_service(query) {
            Ok(Some("git-upload-pack")) => false,
            Ok(Some("git-receive-pack")) => true,
            Ok(_) => return Some(Err(HttpProblem::Malformed("unknown Git service".into()))),
            Err(ReadError::Ambiguous(why) | ReadError::Malformed(why)) => {
                return Some(Err(HttpProblem::Ambiguous(why)));
            }
        },
        ("POST", "git-upload-pack") => false,
        ("POST", "git-receive-pack") => true,
        _ => return None,
    };
    let project = percent_decode(project.trim_start_matches('/')).map_err(HttpProblem::Malformed);
    Some(project.map(|project| HttpTarget::Git { project, push }))
}

/// The `service` parameter of `info/refs`; given twice, even with one value,
/// it is refused (Git's own clients never send it twice).
fn git_service(query: &[Pair]) -> Result<Option<&str>, ReadError> {
    if params::named(query, "service", "the query string")?.len() > 1 {
        return Err(ReadError::Ambiguous("the query string gives service more than once".into()));
    }
    params::single(query, "service", "the query string")
}

/// Standard base64 (with or without padding).
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
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
            assert!(matches!(parse_target("GET", path, &[]), Err(HttpProblem::Malformed(_))), "{path}");
        }
        let long = format!("/api/v4/{}", "a".repeat(MAX_PATH_LEN));
        assert!(matches!(parse_target("GET", &long, &[]), Err(HttpProblem::Malformed(_))));
        assert!(matches!(parse_target("get", "/api/v4/user", &[]), Err(HttpProblem::Malformed(_))));
        assert!(matches!(parse_target("GET", "/API/V4/user", &[]), Err(HttpProblem::NotRouted(_))));
    }

    fn query(text: &str) -> Vec<Pair> {
        params::parse_pairs(text, "the query string").unwrap()
    }

    #[test]
    fn api_and_git_targets() {
        assert_eq!(parse_target("GET", "/api/v4/user", &[]), Ok(HttpTarget::Api { api_path: "/user" }));
        assert_eq!(
            parse_target("GET", "/acme/api.git/info/refs", &query("service=git-receive-pack")),
            Ok(HttpTarget::Git { project: "acme/api".into(), push: true })
        );
        assert_eq!(
            parse_target("POST", "/acme/api.git/git-upload-pack", &[]),
            Ok(HttpTarget::Git { project: "acme/api".into(), push: false })
        );
    }

    #[test]
    fn git_smart_http_refuses_a_duplicated_service_parameter() {
        for text in
            ["service=git-upload-pack&service=git-receive-pack", "service=git-upload-pack&service=git-upload-pack"]
        {
            let hit = parse_target("GET", "/acme/api.git/info/refs", &query(text));
            assert!(matches!(hit, Err(HttpProblem::Ambiguous(_))), "{text}");
        }
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
