//! Every spelling GitLab reads as the same request gets the same decision:
//! each HTTP and GraphQL case of every scenario file is decided again in each
//! of its equivalent spellings ([`finegrain_tests::spellings`]) by the native
//! engine, and no decision or explanation carries a secret.

use finegrain_host::api::*;
use finegrain_host::scenario;
use finegrain_tests::{EXAMPLE_TIME, base64, scenario_files, spellings};

#[test]
fn base64_matches_known_values() {
    assert_eq!(base64("abc"), "YWJj");
    assert_eq!(base64("ab"), "YWI=");
    assert_eq!(base64("oauth2:glpat-c"), "b2F1dGgyOmdscGF0LWM=");
}

#[test]
fn every_spelling_gitlab_reads_as_the_same_request_gets_the_same_decision() {
    let mut compared = 0;
    let mut failures = Vec::new();
    for path in scenario_files() {
        let policy = finegrain_host::load_policy(&path).unwrap_or_else(|e| panic!("{e}"));
        let engine = finegrain_engine::Authorizer::load(&policy.bundle).expect("bundle loads");
        for case in policy.file.expect("a YAML file").cases {
            let Request::Http(base) = scenario::case_request(&case, EXAMPLE_TIME) else { continue };
            let expected = engine.check_http(&base);
            if expected.has_reason("malformed_request") || expected.has_reason("ambiguous_request") {
                continue;
            }
            for (rule, spelled) in spellings(&base) {
                compared += 1;
                let got = engine.check_http(&spelled);
                if got != expected {
                    failures.push(format!(
                        "{}: {}: {rule}: {} {} {:?}: expected {:?}, got {:?}",
                        path.display(),
                        case.name,
                        spelled.method,
                        spelled.path,
                        spelled.body,
                        expected.reasons,
                        got.reasons
                    ));
                }
            }
        }
    }
    assert!(compared > 2000, "only {compared} spellings compared");
    assert!(failures.is_empty(), "{} of {compared} spellings differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn no_decision_or_explanation_carries_a_secret() {
    let path = finegrain_tests::workspace().join("tests/scenarios/request_reading.yaml");
    let policy = finegrain_host::load_policy(&path).unwrap();
    let engine = finegrain_engine::Authorizer::load(&policy.bundle).unwrap();
    let secret = "glpat-rr-api";
    let request = |path: String, headers: Vec<(String, String)>| HttpRequest {
        token: None,
        method: "GET".into(),
        path,
        headers,
        body: None,
        owner: None,
        at: EXAMPLE_TIME,
    };
    let header = || vec![("PRIVATE-TOKEN".to_owned(), "glpat-rr-readapi".to_owned())];
    let mut requests = Vec::new();
    for bad in ["%0A", "%", "%FF", "%zz", ""] {
        for name in ["private_token", "access_token", "job_token", "private%5Ftoken"] {
            let target = format!("/api/v4/projects/300/repository/branches?a=1;{name}={secret}{bad}");
            requests.push(request(target.clone(), Vec::new()));
            requests.push(request(target, header()));
            let target = format!("/api/v4/projects/300/repository/branches?{name}={secret}{bad}&b=2");
            requests.push(request(target, header()));
        }
    }
    requests.push(request("/api/v4/user".into(), vec![("Authorization".into(), format!("Basic {secret}!"))]));
    requests.push(request("/api/v4/user".into(), vec![("Authorization".into(), format!("Negotiate {secret}"))]));
    for request in requests {
        let explained = engine.explain(&Request::Http(request.clone()));
        let text = serde_json::to_string(&explained).unwrap();
        assert!(!text.contains(secret), "{}: {text}", request.path);
    }
}
