//! One test per reading rule, named after the GitLab behaviour it follows.

use super::*;

fn h(name: &str, value: &str) -> (String, String) {
    (name.into(), value.into())
}

fn read_get(target: &str, headers: &[(String, String)]) -> Result<Reading, ReadError> {
    read("GET", target, headers, None)
}

fn ambiguous(result: Result<Reading, ReadError>) -> bool {
    matches!(result, Err(ReadError::Ambiguous(_)))
}

fn json(headers: &mut Vec<(String, String)>) -> &mut Vec<(String, String)> {
    headers.push(h("Content-Type", "application/json"));
    headers
}

#[test]
fn auth_finders_read_a_token_from_every_header_and_parameter_gitlab_reads() {
    let token = |target: &str, headers: &[(String, String)]| read_get(target, headers).unwrap().token;
    assert_eq!(token("/api/v4/user", &[h("PRIVATE-TOKEN", "glpat-a")]), Some("glpat-a".into()));
    assert_eq!(token("/api/v4/user", &[h("private_token", "glpat-a")]), Some("glpat-a".into()));
    assert_eq!(token("/api/v4/user", &[h("Job-Token", "glcbt-j")]), Some("glcbt-j".into()));
    assert_eq!(token("/api/v4/user", &[h("Deploy-Token", "gldt-d")]), Some("gldt-d".into()));
    assert_eq!(token("/api/v4/user", &[h("X-Gitlab-Static-Object-Token", "s")]), Some("s".into()));
    assert_eq!(token("/api/v4/user", &[h("authorization", "Bearer glpat-b")]), Some("glpat-b".into()));
    assert_eq!(token("/api/v4/user", &[h("authorization", "Token token=\"glpat-t\"")]), Some("glpat-t".into()));
    // "oauth2:glpat-c" in base64, as `git` sends it.
    assert_eq!(token("/api/v4/user", &[h("Authorization", "Basic b2F1dGgyOmdscGF0LWM=")]), Some("glpat-c".into()));
    for name in TOKEN_PARAMS {
        assert_eq!(token(&format!("/api/v4/user?per_page=2&{name}=glpat-d"), &[]), Some("glpat-d".into()), "{name}");
    }
    assert_eq!(token("/api/v4/user?per_page=2", &[]), None);
    let form = read("POST", "/api/v4/user", &[], Some("private_token=glpat-f")).unwrap();
    assert_eq!(form.token.as_deref(), Some("glpat-f"));
    let mut headers = Vec::new();
    let body = read("POST", "/api/v4/user", json(&mut headers), Some(r#"{"access_token":"glpat-j"}"#)).unwrap();
    assert_eq!(body.token.as_deref(), Some("glpat-j"));
}

#[test]
fn auth_finders_two_token_values_anywhere_are_refused() {
    let pat = [h("PRIVATE-TOKEN", "A")];
    assert!(ambiguous(read_get("/api/v4/user?private_token=A&private_token=B", &[])));
    assert!(ambiguous(read_get("/api/v4/user?x=1;private_token=B", &pat)));
    assert!(ambiguous(read_get("/api/v4/user?private%5Ftoken=B", &pat)));
    assert!(ambiguous(read_get("/api/v4/user?access_token=B", &[h("Authorization", "Bearer A")])));
    assert!(ambiguous(read_get("/api/v4/user?private_token[]=B", &[])));
    assert!(ambiguous(read_get("/api/v4/user?[private_token]=B", &[])));
    assert!(ambiguous(read_get("/api/v4/user", &[h("PRIVATE-TOKEN", "A"), h("Job-Token", "B")])));
    assert!(ambiguous(read("POST", "/api/v4/user", &pat, Some("private_token=B"))));
    let multipart = [h("PRIVATE-TOKEN", "A"), h("Content-Type", "multipart/form-data; boundary=x")];
    let body = "--x\r\nContent-Disposition: form-data; name=\"private_token\"\r\n\r\nB\r\n--x--";
    assert!(ambiguous(read("POST", "/api/v4/user", &multipart, Some(body))));
    // The same token twice is one token.
    assert_eq!(read_get("/api/v4/user?private_token=A", &pat).unwrap().token.as_deref(), Some("A"));
}

#[test]
fn auth_finders_errors_never_quote_a_token() {
    for target in [
        "/api/v4/user?private_token=glpat-%0A",
        "/api/v4/user?private_token=glpat-%",
        "/api/v4/user?private_token=glpat-%FF",
        "/api/v4/user?access_token=glpat-%zz",
        "/api/v4/user?private_token=glpat-1&private_token=glpat-2",
    ] {
        let Err(ReadError::Malformed(message) | ReadError::Ambiguous(message)) = read_get(target, &[]) else {
            panic!("{target} was read");
        };
        assert!(!message.contains("glpat"), "{message}");
    }
    let Err(ReadError::Malformed(m) | ReadError::Ambiguous(m)) =
        read_get("/api/v4/user", &[h("Authorization", "Basic glpat-!!!")])
    else {
        panic!()
    };
    assert!(!m.contains("glpat"), "{m}");
}

#[test]
fn rack_method_override_reads_the_form_method_and_the_header_on_post_only() {
    let method = |method: &str, headers: &[(String, String)], body: Option<&str>| {
        read(method, "/api/v4/projects/7/push_rule", headers, body).map(|r| r.method)
    };
    assert_eq!(method("POST", &[h("X-HTTP-Method-Override", "DELETE")], None), Ok("DELETE".into()));
    assert_eq!(method("POST", &[h("x-http-method-override", "delete")], None), Ok("DELETE".into()));
    assert_eq!(method("POST", &[], Some("_method=delete")), Ok("DELETE".into()));
    let form = [h("Content-Type", "application/x-www-form-urlencoded")];
    assert_eq!(method("POST", &form, Some("a=1&_method=put")), Ok("PUT".into()));
    // Rack does not parse JSON, so `_method` in a JSON body is not an override.
    let json = [h("Content-Type", "application/json")];
    assert_eq!(method("POST", &json, Some(r#"{"_method":"delete"}"#)), Ok("POST".into()));
    // Only a POST is overridden; `_method` in the query string is not read.
    assert_eq!(method("PUT", &[h("X-HTTP-Method-Override", "DELETE")], None), Ok("PUT".into()));
    assert_eq!(read("POST", "/api/v4/x?_method=delete", &[], None).unwrap().method, "POST");
    // Ambiguous overrides are refused.
    assert!(matches!(method("POST", &[h("X-HTTP-Method-Override", "FROB")], None), Err(ReadError::Ambiguous(_))));
    assert!(matches!(
        method("POST", &[h("X-HTTP-Method-Override", "PUT")], Some("_method=delete")),
        Err(ReadError::Ambiguous(_))
    ));
    assert!(matches!(method("POST", &[], Some("_method=delete&_method=put")), Err(ReadError::Ambiguous(_))));
}

#[test]
fn mustermann_matches_a_percent_encoded_literal_as_the_literal() {
    assert_eq!(normalize_path("/api/v4/projects/7/labels/%70romote"), Ok("/api/v4/projects/7/labels/promote".into()));
    assert_eq!(normalize_path("/api/%764/user"), Ok("/api/v4/user".into()));
    assert_eq!(normalize_path("/api/v4/labels/promote%2ejson"), Ok("/api/v4/labels/promote.json".into()));
    // Escapes that would change how the path splits stay encoded, in upper case.
    assert_eq!(normalize_path("/api/v4/projects/acme%2fapi"), Ok("/api/v4/projects/acme%2Fapi".into()));
    assert_eq!(normalize_path("/a/%25%3f%23%20"), Ok("/a/%25%3F%23%20".into()));
    assert!(matches!(normalize_path("/a/%zz"), Err(ReadError::Malformed(_))));
}

#[test]
fn matrix_parameters_in_the_path_are_refused() {
    assert!(matches!(normalize_path("/api/v4/projects/7/labels/promote;x=1"), Err(ReadError::Ambiguous(_))));
    // An escaped `;` is data, not a matrix parameter.
    assert_eq!(normalize_path("/api/v4/a%3bb"), Ok("/api/v4/a%3Bb".into()));
}

fn graphql(method: &str, target: &str, headers: &[(String, String)], body: Option<&str>) -> Result<Json, ReadError> {
    let document = read(method, target, headers, body)?.graphql_document()?;
    Ok(serde_json::from_slice(&document).unwrap())
}

const HARMLESS: &str = r#"{"query":"{ currentUser { id } }"}"#;

#[test]
fn rails_merges_query_string_parameters_over_the_body() {
    let json = [h("Content-Type", "application/json")];
    let doc = graphql("POST", "/api/graphql?query=mutation+%7B+x+%7D", &json, Some(HARMLESS)).unwrap();
    assert_eq!(doc["query"], "mutation { x }");
    let doc = graphql("POST", "/api/graphql?operationName=B", &json, Some(HARMLESS)).unwrap();
    assert_eq!(doc["operationName"], "B");
    let doc = graphql("POST", "/api/graphql?variables=%7B%22a%22%3A1%7D", &json, Some(HARMLESS)).unwrap();
    assert_eq!(doc["variables"], serde_json::json!({"a": 1}));
    let doc = graphql("POST", "/api/graphql?variables[a][b]=1", &json, Some(HARMLESS)).unwrap();
    assert_eq!(doc["variables"], serde_json::json!({"a": {"b": "1"}}));
}

#[test]
fn rails_wraps_a_json_body_that_is_not_an_object_as_json_underscore() {
    let json = [h("Content-Type", "application/json")];
    let doc = graphql("POST", "/api/graphql", &json, Some(r#"[{"query":"{ a }"},{"query":"{ b }"}]"#)).unwrap();
    assert_eq!(doc.as_array().map(Vec::len), Some(2));
    let doc = graphql("POST", "/api/graphql?_json[][query]=mutation+%7B+x+%7D", &[], None).unwrap();
    assert_eq!(doc[0]["query"], "mutation { x }");
    let both = graphql("POST", "/api/graphql?_json[][query]=%7B+a+%7D", &json, Some(HARMLESS));
    assert!(matches!(both, Err(ReadError::Ambiguous(_))));
    assert!(matches!(graphql("POST", "/api/graphql?_json=x", &[], None), Err(ReadError::Malformed(_))));
}

#[test]
fn rails_parses_the_body_by_its_content_type() {
    // A form body that is also valid JSON is read as a form, as Rack reads it.
    let form = [h("Content-Type", "application/x-www-form-urlencoded")];
    assert!(graphql("POST", "/api/graphql", &form, Some(HARMLESS)).is_err());
    let doc = graphql("POST", "/api/graphql", &form, Some("query=%7B+a+%7D")).unwrap();
    assert_eq!(doc["query"], "{ a }");
    // A POST without a content type is a form too.
    assert!(graphql("POST", "/api/graphql", &[], Some(HARMLESS)).is_err());
    // Content types Rails does not parse, and multipart uploads, are refused.
    let text = [h("Content-Type", "text/plain")];
    assert!(matches!(graphql("POST", "/api/graphql", &text, Some(HARMLESS)), Err(ReadError::Malformed(_))));
    let charset = [h("Content-Type", "Application/JSON; charset=utf-8")];
    assert!(graphql("POST", "/api/graphql", &charset, Some(HARMLESS)).is_ok());
    let two = [h("Content-Type", "application/json"), h("content-type", "text/plain")];
    assert!(matches!(graphql("POST", "/api/graphql", &two, Some(HARMLESS)), Err(ReadError::Ambiguous(_))));
}

#[test]
fn duplicated_graphql_keys_are_refused() {
    let json = [h("Content-Type", "application/json")];
    let body = r#"{"query":"{ a }","query":"mutation { b }"}"#;
    assert!(graphql("POST", "/api/graphql", &json, Some(body)).is_err());
    let body = r#"{"query":"{ a }","variables":"{\"x\":1,\"x\":2}"}"#;
    assert!(graphql("POST", "/api/graphql", &json, Some(body)).is_err());
    // Rack keeps the last of two `query` parameters; the engine refuses both.
    let two = graphql("GET", "/api/graphql?query=%7B+a+%7D&query=mutation+%7B+b+%7D", &[], None);
    assert!(matches!(two, Err(ReadError::Ambiguous(_))));
    let semicolon = graphql("GET", "/api/graphql?a=1;query=%7B+a+%7D", &[], None);
    assert!(matches!(semicolon, Err(ReadError::Ambiguous(_))));
}

#[test]
fn a_graphql_get_reads_the_query_string_with_plus_as_space() {
    let doc = graphql("GET", "/api/graphql?query=query+%7B+currentUser+%7B+id+%7D+%7D&operationName=Me", &[], None);
    let doc = doc.unwrap();
    assert_eq!(doc["query"], "query { currentUser { id } }");
    assert_eq!(doc["operationName"], "Me");
    assert!(matches!(graphql("GET", "/api/graphql?operationName=Me", &[], None), Err(ReadError::Malformed(_))));
}

#[test]
fn traces_redact_every_token_parameter_however_it_is_spelled() {
    let redacted =
        redact_target("/api/v4/user?a=1&private_token=glpat-x;access_token=glpat-y&private%5Ftoken=glpat-z&b=%zz");
    assert!(!redacted.contains("glpat"), "{redacted}");
    assert!(!redacted.contains("%zz"), "{redacted}");
    assert!(redacted.starts_with("/api/v4/user?a=1&private_token=[redacted];access_token=[redacted]&"), "{redacted}");
    assert_eq!(redact_target("/api/v4/user"), "/api/v4/user");
}

#[test]
fn rack_splits_a_form_body_on_ampersands_only() {
    // `_method=PUT;` names no method (Rack reads the value `PUT;`), so the
    // engine cannot say which method runs: refused, never decided as PUT.
    assert!(ambiguous(read("POST", "/api/v4/projects/1/push_rule", &[], Some("_method=PUT;&x=1"))));
    // A query string is still split on `;` too.
    assert!(ambiguous(read_get("/api/v4/user?x=1;private_token=B", &[h("PRIVATE-TOKEN", "A")])));
    let form = read("POST", "/api/v4/user", &[], Some("private_token=A;B")).unwrap();
    assert_eq!(form.token.as_deref(), Some("A;B"));
}

#[test]
fn rack_media_type_splits_on_semicolon_and_comma_and_an_empty_one_is_none() {
    let delete = |content_type: &str| {
        read("POST", "/api/v4/projects/1/push_rule", &[h("Content-Type", content_type)], Some("_method=DELETE"))
            .unwrap()
            .method
    };
    assert_eq!(delete("application/x-www-form-urlencoded, text/plain"), "DELETE");
    assert_eq!(delete("application/x-www-form-urlencoded;charset=utf-8"), "DELETE");
    // `Content-Type:` with no value: Rack's media type is nil, and a POST is a form.
    assert_eq!(delete(""), "DELETE");
}

#[test]
fn rack_multipart_parts_are_named_by_disposition_escapes_or_content_id() {
    let post = |content_type: &str, body: &str| {
        read("POST", "/api/v4/projects/1/push_rule", &[h("Content-Type", content_type)], Some(body))
    };
    let part = |headers: &str| format!("--XX\r\n{headers}\r\n\r\nDELETE\r\n--XX--\r\n");
    for (content_type, body) in [
        ("multipart/mixed; boundary=XX", part("Content-Disposition: form-data; name=\"_method\"")),
        ("multipart/related; boundary=XX", part("Content-Disposition: form-data; name=_method")),
        ("multipart/form-data; boundary=XX", part("Content-Disposition: form-data; name=\"_meth\\od\"")),
        ("multipart/form-data; boundary=XX", part("Content-ID: <_method>")),
        ("multipart/form-data; boundary=XX", part("Content-Disposition: form-data; name*=utf-8''%5Fmethod")),
    ] {
        assert!(ambiguous(post(content_type, &body)), "{content_type}: {body:?}");
    }
    let upload = part("Content-Disposition: form-data; name=\"file\"; filename=\"token.txt\"");
    assert!(post("multipart/form-data; boundary=XX", &upload).is_ok());
}

#[test]
fn sudo_parameters_are_refused() {
    assert!(ambiguous(read_get("/api/v4/user?sudo=root", &[h("PRIVATE-TOKEN", "A")])));
    assert!(ambiguous(read_get("/api/v4/user?su%64o=root", &[h("PRIVATE-TOKEN", "A")])));
    assert!(ambiguous(read("POST", "/api/v4/user/keys", &[], Some("sudo=root&title=x"))));
    let mut headers = vec![h("PRIVATE-TOKEN", "A")];
    assert!(ambiguous(read("POST", "/api/v4/user/keys", json(&mut headers), Some(r#"{"sudo":"root"}"#))));
}

#[test]
fn a_body_gitlab_reads_must_be_passed_to_the_engine() {
    let form = [h("Content-Type", "application/x-www-form-urlencoded"), h("Content-Length", "15")];
    assert!(matches!(read("POST", "/api/v4/projects/1/push_rule", &form, None), Err(ReadError::Malformed(_))));
    let json = [h("Content-Type", "application/json"), h("Transfer-Encoding", "chunked")];
    assert!(matches!(read("GET", "/api/v4/user", &json, None), Err(ReadError::Malformed(_))));
    // A body GitLab does not read parameters from may stream past.
    let pack = [h("Content-Type", "application/x-git-receive-pack-request"), h("Content-Length", "99")];
    assert!(read("POST", "/acme/api.git/git-receive-pack", &pack, None).is_ok());
    // No body announced: nothing to pass.
    assert!(read("POST", "/api/v4/projects/1/push_rule", &[h("Content-Length", "0")], None).is_ok());
    assert!(reads_body("GET", &json) && reads_body("POST", &[]) && !reads_body("GET", &[]));
}
