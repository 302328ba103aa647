//! Envoy external authorization, tested with a tonic client sending the
//! `CheckRequest` messages Envoy's ext_authz filter sends (no Envoy binary can
//! be installed here): pseudo-headers in the header map, the target with its
//! query in `path`, the body in `raw_body` when `pack_as_bytes` is on.

mod support;

use std::collections::HashMap;

use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse, HttpResponse};
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use support::{acme, config};

/// What Envoy sends for `method target` with these extra headers and body.
fn envoy_check(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> CheckRequest {
    let mut map: HashMap<String, String> = [
        (":authority", "forge.example"),
        (":method", method),
        (":path", target),
        (":scheme", "http"),
        ("user-agent", "curl/7.88.1"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "6d0c1e0e-2b9c-4f1e-9d57-0c6c0f6bd1a1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    map.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let http = HttpRequest {
        id: "6d0c1e0e-2b9c-4f1e-9d57-0c6c0f6bd1a1".into(),
        method: method.into(),
        headers: map,
        path: target.into(),
        host: "forge.example".into(),
        scheme: "http".into(),
        protocol: "HTTP/1.1".into(),
        size: body.len() as i64,
        raw_body: body.to_vec(),
        ..Default::default()
    };
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request { http: Some(http), ..Default::default() }),
            ..Default::default()
        }),
    }
}

fn header<'a>(headers: &'a [envoy_types::ext_authz::v3::pb::HeaderValueOption], name: &str) -> Option<&'a str> {
    headers.iter().filter_map(|h| h.header.as_ref()).find(|h| h.key == name).map(|h| h.value.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_check_requests_get_ok_or_the_denied_response() {
    let mut config = config(&acme(), None);
    config.grpc_listen = Some("127.0.0.1:0".parse().unwrap());
    let gateway = finegrain_serve::start(config, None).await.unwrap();
    let address = gateway.grpc_address.expect("gRPC address");
    let mut client = AuthorizationClient::connect(format!("http://{address}")).await.unwrap();
    let branches = "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches?per_page=20";

    let ok: CheckResponse = client
        .check(envoy_check("GET", branches, &[("private-token", "glpat-alice-ci-secret")], b""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.status.as_ref().unwrap().code, 0, "OK");
    let Some(HttpResponse::OkResponse(ok)) = ok.http_response else { panic!("an OK response") };
    assert_eq!(header(&ok.headers, "x-finegrain-token"), Some("alice-ci"));
    assert_eq!(header(&ok.headers, "x-finegrain-user"), Some("alice"));
    assert!(ok.headers_to_remove.contains(&"sudo".to_owned()));

    let denied = client.check(envoy_check("GET", branches, &[], b"")).await.unwrap().into_inner();
    assert_eq!(denied.status.as_ref().unwrap().code, tonic::Code::Unauthenticated as i32);
    let Some(HttpResponse::DeniedResponse(denied)) = denied.http_response else { panic!("a denied response") };
    assert_eq!(denied.status.unwrap().code, 401);
    assert_eq!(header(&denied.headers, "www-authenticate"), Some("Basic realm=\"finegrain\""));
    let body: serde_json::Value = serde_json::from_str(&denied.body).unwrap();
    assert_eq!(body["reasons"][0]["code"], "token_missing");

    // GraphQL: decided on the body Envoy forwards.
    let mutation = br#"{"query": "mutation { mergeRequestAccept(input: {projectPath: \"acme/platform/api\", iid: \"1\", sha: \"a\"}) { errors } }"}"#;
    let forbidden = client
        .check(envoy_check(
            "POST",
            "/api/graphql",
            &[("authorization", "Bearer glpat-legacy"), ("content-type", "application/json")],
            mutation,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forbidden.status.as_ref().unwrap().code, tonic::Code::PermissionDenied as i32);
    let Some(HttpResponse::DeniedResponse(forbidden)) = forbidden.http_response else { panic!("denied") };
    assert_eq!(forbidden.status.unwrap().code, 403);
    assert!(header(&forbidden.headers, "x-accepted-finegrain-permissions").is_some());
    let query = br#"{"query": "query { currentUser { username } }"}"#;
    let allowed = client
        .check(envoy_check(
            "POST",
            "/api/graphql",
            &[("private-token", "glpat-alice-everywhere"), ("content-type", "application/json")],
            query,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(allowed.status.unwrap().code, 0);

    // A body Envoy cut at max_request_bytes is refused, never decided on its first part.
    for partial in [&[("x-envoy-auth-partial-body", "true")][..], &[("content-length", "99999")][..]] {
        let mut headers = vec![("private-token", "glpat-alice-everywhere"), ("content-type", "application/json")];
        headers.extend_from_slice(partial);
        let cut = client.check(envoy_check("POST", "/api/graphql", &headers, query)).await.unwrap().into_inner();
        assert_eq!(cut.status.as_ref().unwrap().code, tonic::Code::PermissionDenied as i32, "{partial:?}");
        let Some(HttpResponse::DeniedResponse(cut)) = cut.http_response else { panic!("denied") };
        let body: serde_json::Value = serde_json::from_str(&cut.body).unwrap();
        assert_eq!(body["reasons"][0]["code"], "malformed_request", "{}", cut.body);
        assert!(body["reasons"][0]["detail"].as_str().unwrap().contains("max_request_bytes"), "{}", cut.body);
    }
    gateway.shutdown().await.unwrap();
}
