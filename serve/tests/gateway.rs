//! `finegrain serve` as a reverse proxy, seen by `curl`: forwarded requests,
//! 401/403 answers, headers both ways, sudo mode, GraphQL and push bodies,
//! `/-/auth`, the operations endpoints, upstream failures and graceful shutdown.

mod support;

use std::time::Duration;

use finegrain_filter::git::pkt_line;
use finegrain_serve::config::AuthMode;
use support::{acme, config, curl, echo_upstream};

const BRANCHES: &str = "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_requests_reach_the_upstream_with_forwarding_headers() {
    let upstream = echo_upstream().await;
    let gateway = finegrain_serve::start(config(&acme(), Some(upstream)), None).await.unwrap();
    let url = format!("http://{}{BRANCHES}?per_page=2", gateway.http_address);
    let answer = curl(&[
        "-H",
        "PRIVATE-TOKEN: glpat-alice-ci-secret",
        "-H",
        "Sudo: root",
        "-H",
        "X-Finegrain-User: root",
        "-H",
        "Connection: keep-alive, X-Hop",
        "-H",
        "X-Hop: 1",
        &url,
    ])
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-upstream"), Some("echo"));
    assert!(answer.header("x-request-id").is_some());
    let echo = answer.json();
    assert_eq!(echo["target"], format!("{BRANCHES}?per_page=2"));
    let headers = &echo["headers"];
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-host"], gateway.http_address.to_string());
    assert_eq!(headers["private-token"], "glpat-alice-ci-secret", "pass-through keeps the token");
    assert_eq!(headers["x-finegrain-token"], "alice-ci");
    assert_eq!(headers["x-finegrain-user"], "alice", "the client's own X-Finegrain-User is replaced");
    assert!(headers.get("sudo").is_none(), "a client cannot ask the forge to act as someone else");
    assert!(headers.get("x-hop").is_none() && headers.get("connection").is_none(), "hop-by-hop headers go");
    gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_problems_get_401_and_other_denies_403_with_reasons() {
    let upstream = echo_upstream().await;
    let gateway = finegrain_serve::start(config(&acme(), Some(upstream)), None).await.unwrap();
    let url = format!("http://{}{BRANCHES}", gateway.http_address);
    for (token, code) in [
        (None, "token_missing"),
        (Some("glpat-nobody-knows-this"), "token_unknown"),
        (Some("glpat-alice-gone"), "token_revoked"),
        (Some("glpat-alice-old"), "token_expired"),
    ] {
        let header = format!("Authorization: Bearer {}", token.unwrap_or(""));
        let answer = curl(&["-H", &header, &url]).await;
        assert_eq!(answer.status, 401, "{code}: {}", answer.body);
        assert_eq!(answer.header("www-authenticate"), Some("Basic realm=\"finegrain\""));
        let body = answer.json();
        assert_eq!(body["reasons"][0]["code"], code);
        assert!(body["message"].as_str().unwrap().starts_with("401 Unauthorized: "));
        if let Some(secret) = token {
            assert!(!answer.body.contains(secret), "the secret is never echoed: {}", answer.body);
        }
    }
    // A valid token without the permission: 403 naming what would allow it.
    let answer = curl(&["-H", "PRIVATE-TOKEN: glpat-alice-profile", &url]).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["reasons"][0]["code"], "token_lacks_permission");
    assert_eq!(body["required_permissions"], serde_json::json!(["read_branch"]));
    let accepted = answer.header("x-accepted-finegrain-permissions").unwrap();
    assert!(accepted.split(", ").any(|p| p == "read_branch"), "{accepted}");
    assert_eq!(answer.header("x-finegrain-revision"), Some(body["revision"].to_string().as_str()));
    gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_mode_swaps_the_token_for_the_administrators_and_names_the_user() {
    let upstream = echo_upstream().await;
    let mut config = config(&acme(), Some(upstream));
    config.upstream_auth.mode = AuthMode::Sudo;
    config.upstream_auth.admin_token_env = Some("FINEGRAIN_TEST_ADMIN_TOKEN".into());
    // SAFETY: set before the gateway starts; no other thread reads this variable.
    unsafe { std::env::set_var("FINEGRAIN_TEST_ADMIN_TOKEN", "glpat-administrator") };
    let gateway = finegrain_serve::start(config, None).await.unwrap();
    let url = format!("http://{}{BRANCHES}?private_token=glpat-alice-ci-secret&page=2", gateway.http_address);
    let answer = curl(&[&url]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let echo = answer.json();
    assert_eq!(echo["target"], format!("{BRANCHES}?page=2"), "the client's token leaves the query");
    assert_eq!(echo["headers"]["private-token"], "glpat-administrator");
    assert_eq!(echo["headers"]["sudo"], "alice");
    assert!(echo["headers"].get("authorization").is_none());

    // `?sudo=` would win over the gateway's Sudo header at GitLab: refused.
    let sudo = format!("http://{}/api/v4/user?sudo=root", gateway.http_address);
    let refused = curl(&["-H", "PRIVATE-TOKEN: glpat-alice-everywhere", &sudo]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["reasons"][0]["code"], "ambiguous_request");
    // GitLab's GraphQL never reads Sudo: it would run as the administrator.
    let graphql = format!("http://{}/api/graphql", gateway.http_address);
    let query = r#"{"query": "query { currentUser { username } }"}"#;
    let json = "Content-Type: application/json";
    let answer = curl(&["-H", "PRIVATE-TOKEN: glpat-alice-everywhere", "-H", json, "--data", query, &graphql]).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("GraphQL"), "{}", answer.body);
    gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_is_decided_on_its_body_and_the_body_still_reaches_the_upstream() {
    let upstream = echo_upstream().await;
    let gateway = finegrain_serve::start(config(&acme(), Some(upstream)), None).await.unwrap();
    let url = format!("http://{}/api/graphql", gateway.http_address);
    let query = r#"{"query": "query { currentUser { username } }"}"#;
    let answer = curl(&[
        "-H",
        "PRIVATE-TOKEN: glpat-alice-everywhere",
        "-H",
        "Content-Type: application/json",
        "--data",
        query,
        &url,
    ])
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["body_length"], query.len());
    let mutation = r#"{"query": "mutation { mergeRequestAccept(input: {projectPath: \"acme/platform/api\", iid: \"1\", sha: \"a\"}) { errors } }"}"#;
    let json = "Content-Type: application/json";
    let answer = curl(&["-H", "PRIVATE-TOKEN: glpat-legacy", "-H", json, "--data", mutation, &url]).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.json()["reasons"][0]["code"], "token_lacks_permission");

    // A GET carries a body too: Rails merges its parameters, so it is read.
    let blob = r#"[{"query": "mutation { mergeRequestAccept(input: {projectPath: \"acme/platform/api\", iid: \"1\", sha: \"a\"}) { errors } }"}]"#;
    let get = format!("{url}?query=query%20%7B%20currentUser%20%7B%20username%20%7D%20%7D");
    let token = "PRIVATE-TOKEN: glpat-alice-everywhere";
    let answer = curl(&["-X", "GET", "-H", token, "-H", json, "--data", blob, &get]).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    // A token in a JSON body counts, as GitLab's params do: two tokens are refused.
    let keys = format!("http://{}/api/v4/user/keys", gateway.http_address);
    let other = r#"{"private_token": "glpat-alice-ci-secret", "title": "x"}"#;
    let answer = curl(&["-H", token, "-H", json, "--data", other, &keys]).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.json()["reasons"][0]["code"], "ambiguous_request");
    gateway.shutdown().await.unwrap();
}

const ZERO: &str = "0000000000000000000000000000000000000000";
const NEW: &str = "1111111111111111111111111111111111111111";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_is_decided_on_its_ref_commands_and_the_pack_streams_through() {
    let upstream = echo_upstream().await;
    let gateway = finegrain_serve::start(config(&acme(), Some(upstream)), None).await.unwrap();
    let url = format!("http://{}/acme/platform/api.git/git-receive-pack", gateway.http_address);
    let dir = tempfile::tempdir().unwrap();
    let push = |branch: &str, capabilities: &str| -> (String, usize) {
        let mut body = pkt_line(&format!("{ZERO} {NEW} refs/heads/{branch}\0{capabilities}\n")).into_bytes();
        body.extend_from_slice(b"0000PACK");
        body.extend(std::iter::repeat_n(b'x', 300_000));
        let path = dir.path().join(format!("{}-{}", branch.replace('/', "_"), capabilities.len()));
        let length = body.len();
        std::fs::write(&path, body).unwrap();
        (format!("@{}", path.display()), length)
    };
    let (feature, length) = push("feature/x", "report-status side-band-64k");
    let answer = curl(&[
        "-u",
        "alice:glpat-alice-push",
        "-H",
        "Content-Type: application/x-git-receive-pack-request",
        "--data-binary",
        &feature,
        &url,
    ])
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let echo = answer.json();
    assert_eq!(echo["body_length"], length, "every byte reaches the Git server");
    assert_eq!(echo["headers"]["x-finegrain-project"], "acme/platform/api");
    // A client that asked for a status report gets one git can show: each ref
    // rejected with the reason, and the reasons as `remote:` lines.
    let (main, _) = push("main", "report-status side-band-64k");
    let git_body = "Content-Type: application/x-git-receive-pack-request";
    let answer = curl(&["-u", "alice:glpat-alice-push", "-H", git_body, "--data-binary", &main, &url]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/x-git-receive-pack-result"));
    assert!(answer.body.contains("\u{2}finegrain: push refused: branch_protected: "), "{:?}", answer.body);
    assert!(answer.body.contains("ng refs/heads/main branch_protected: "), "{:?}", answer.body);
    // Without one, the JSON 403.
    let (main, _) = push("main", "");
    let git_body = "Content-Type: application/x-git-receive-pack-request";
    let answer = curl(&["-u", "alice:glpat-alice-push", "-H", git_body, "--data-binary", &main, &url]).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.json()["reasons"][0]["code"], "branch_protected");
    gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_request_decides_the_original_request() {
    let gateway = finegrain_serve::start(config(&acme(), None), None).await.unwrap();
    let url = format!("http://{}/-/auth", gateway.http_address);
    let original = format!("X-Original-URI: {BRANCHES}");
    let ask = |token: &'static str| {
        let original = original.clone();
        let url = url.clone();
        async move {
            curl(&["-H", "X-Original-Method: GET", "-H", &original, "-H", &format!("PRIVATE-TOKEN: {token}"), &url])
                .await
        }
    };
    let allowed = ask("glpat-alice-ci-secret").await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("x-finegrain-token"), Some("alice-ci"));
    assert_eq!(allowed.header("x-finegrain-user"), Some("alice"));
    assert_eq!(ask("glpat-nope").await.status, 401);
    assert_eq!(ask("glpat-alice-profile").await.status, 403);
    let missing = curl(&[&url]).await;
    assert_eq!(missing.status, 400);
    assert!(missing.body.contains("X-Original-Method"));

    // nginx sends no body: one GitLab reads parameters from (here `_method`)
    // is refused unless X-Original-Body says there is none.
    let push_rule = "X-Original-URI: /api/v4/projects/100/push_rule";
    let form = "Content-Type: application/x-www-form-urlencoded";
    let bob = "PRIVATE-TOKEN: glpat-bob-admin";
    let post = |body: &'static str| {
        let url = url.clone();
        async move {
            let mut args = vec!["-H", "X-Original-Method: POST", "-H", push_rule, "-H", form, "-H", bob];
            if !body.is_empty() {
                args.extend(["-H", body]);
            }
            args.push(&url);
            curl(&args).await
        }
    };
    for announced in ["X-Original-Body: length=15; encoding=", ""] {
        let refused = post(announced).await;
        assert_eq!(refused.status, 403, "{announced}: {}", refused.body);
        assert!(refused.body.contains("auth_request does not pass the body"), "{}", refused.body);
    }
    let empty = post("X-Original-Body: length=; encoding=").await;
    assert!(!empty.body.contains("auth_request does not pass the body"), "{}", empty.body);
    gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoints_and_upstream_failures() {
    // An upstream address nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let gateway = finegrain_serve::start(config(&acme(), Some(closed)), None).await.unwrap();
    let base = format!("http://{}", gateway.http_address);
    assert_eq!(curl(&[&format!("{base}/-/health")]).await.status, 200);
    assert_eq!(curl(&[&format!("{base}/-/ready")]).await.status, 200);
    let failed = curl(&["-H", "PRIVATE-TOKEN: glpat-alice-ci-secret", &format!("{base}{BRANCHES}")]).await;
    assert_eq!(failed.status, 502);
    assert_eq!(curl(&[&format!("{base}{BRANCHES}")]).await.status, 401);
    let metrics = curl(&[&format!("{base}/-/metrics")]).await;
    assert_eq!(metrics.status, 200);
    for line in [
        "finegrain_decisions_total{effect=\"allow\",reason=\"allowed\"} 1",
        "finegrain_decisions_total{effect=\"deny\",reason=\"token_missing\"} 1",
        "finegrain_upstream_errors_total{kind=\"connect\"} 1",
        "finegrain_decision_latency_seconds_count 2",
    ] {
        assert!(metrics.body.contains(line), "{line} missing from:\n{}", metrics.body);
    }
    gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_refuse_huge_headers_and_bodies() {
    let upstream = echo_upstream().await;
    let mut config = config(&acme(), Some(upstream));
    config.limits.max_header_bytes = 16 * 1024;
    config.limits.max_body_bytes = 1000;
    let gateway = finegrain_serve::start(config, None).await.unwrap();
    let url = format!("http://{}{BRANCHES}", gateway.http_address);
    let huge = format!("X-Huge: {}", "a".repeat(32 * 1024));
    assert_eq!(curl(&["-H", &huge, &url]).await.status, 431);
    let body = "b".repeat(2000);
    let answer = curl(&["-H", "PRIVATE-TOKEN: glpat-alice-ci-secret", "-X", "GET", "--data", &body, &url]).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_flight_finish() {
    let upstream = echo_upstream().await;
    // `/slow` is no forge route; this test is about the proxy, so authorization is off.
    let mut config = config(&acme(), Some(upstream));
    config.authorization = false;
    let gateway = finegrain_serve::start(config, None).await.unwrap();
    let url = format!("http://{}/slow", gateway.http_address);
    let slow = tokio::spawn(async move { curl(&[&url]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let address = gateway.http_address;
    gateway.shutdown().await.unwrap();
    let answer = slow.await.unwrap();
    assert_eq!(answer.status, 200, "the request in flight finished: {}", answer.body);
    assert!(std::net::TcpStream::connect(address).is_err(), "no new connections after shutdown");
}
