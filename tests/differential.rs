//! The native engine and the component must give identical decisions (effect,
//! reasons, permissions, boundary, namespace, revision) for every example case
//! and for thousands of generated requests over the example world, hostile
//! spellings included.

use finegrain_host::api::*;
use finegrain_host::scenario;
use finegrain_tests::{EXAMPLE_TIME, host, scenario_files, spellings, workspace};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const NAMESPACES: &[&str] = &[
    "acme%2Fplatform%2Fapi",
    "acme%2Fplatform%2Fweb",
    "opensource%2Flib",
    "alice%2Fdotfiles",
    "acme",
    "acme%2Fplatform",
    "opensource",
    "100",
    "101",
    "200",
    "300",
    "10",
    "11",
    "20",
    "999",
    "acme%2Fnowhere",
    "acme%252Fplatform",
    "ACME%2Fplatform%2Fapi",
    "%2e%2e",
    "acme%2F..%2Fplatform",
    "alice",
];

const PARAM_VALUES: &[&str] =
    &["main", "1", "42", "feature%2Flogin", "README.md", "src%2Flib.rs", "v1.0", "deadbeef", "%00", "..", ""];

const REFS: &[&str] = &[
    "refs/heads/main",
    "refs/heads/feature",
    "refs/heads/release/2.0",
    "refs/heads/hotfix/x",
    "refs/tags/v1.0",
    "refs/tags/build-7",
    "main",
    "release/1",
];

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "get", "OPTIONS"];

/// Fills a catalog path template with concrete values.
fn concrete_path(rng: &mut Rng, template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment == ":id" {
                (*rng.pick(NAMESPACES)).to_owned()
            } else if segment.starts_with(':') || segment.starts_with('*') {
                (*rng.pick(PARAM_VALUES)).to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Spoils a path the way an attacker might.
fn mutate(rng: &mut Rng, path: String) -> String {
    match rng.below(9) {
        0 => path.replacen("/api/v4", "/API/V4", 1),
        1 => format!("{path}/"),
        2 => path.replacen('/', "//", 2),
        3 => format!("{path}/../../user"),
        4 => format!("{path}?private_token=glpat-dave-api"),
        5 => path.replace("%2F", "%252F"),
        6 => format!("{path}\u{7f}"),
        7 => format!("{path};x=1"),
        _ => format!("{path}?per_page=100&page=2"),
    }
}

fn generate(
    rng: &mut Rng,
    tokens: &[String],
    secrets: &[String],
    endpoints: &[(String, String)],
    permissions: &[String],
    fields: &[(String, String, Option<String>)],
) -> Request {
    let at = EXAMPLE_TIME + (rng.below(3) as i64 - 1) * 200 * 86_400;
    let token = if rng.chance(50) {
        TokenRef::Name(rng.pick(tokens).clone())
    } else if rng.chance(90) {
        TokenRef::Secret(rng.pick(secrets).clone())
    } else {
        TokenRef::Secret("glpat-not-a-real-token".into())
    };
    match rng.below(11) {
        10 => {
            // GraphQL: one to three root fields, the namespace argument inline or
            // through a variable, now and then broken.
            let count = 1 + rng.below(3);
            let mut selections = Vec::new();
            let mut variables = serde_json::Map::new();
            let mut kind = "query";
            for i in 0..count {
                let (field_kind, name, argument) = rng.pick(fields);
                if i == 0 {
                    kind = field_kind;
                } else if field_kind != kind {
                    continue;
                }
                let namespace = rng.pick(NAMESPACES).replace("%2F", "/");
                let args = match argument.as_deref().map(|a| a.split('.').collect::<Vec<_>>()) {
                    Some(parts) if parts.len() == 2 && rng.chance(50) => {
                        variables.insert(format!("v{i}"), serde_json::json!({ parts[1]: namespace }));
                        format!("({}: $v{i})", parts[0])
                    }
                    Some(parts) if parts.len() == 2 => format!("({}: {{{}: {:?}}})", parts[0], parts[1], namespace),
                    Some(parts) => format!("({}: {:?})", parts[0], namespace),
                    None => String::new(),
                };
                selections.push(format!("f{i}: {name}{args} {{ __typename }}"));
            }
            let declared: Vec<String> = variables.keys().map(|v| format!("${v}: JSON")).collect();
            let header = if declared.is_empty() { kind.to_owned() } else { format!("{kind}({})", declared.join(", ")) };
            let mut document = format!("{header} {{ {} }}", selections.join(" "));
            if rng.chance(10) {
                document.truncate(document.len() / 2);
            }
            let body = serde_json::json!({ "query": document, "variables": variables }).to_string();
            let method = if rng.chance(90) { "POST" } else { "GET" }.to_owned();
            Request::Http(HttpRequest {
                token: Some(token),
                method,
                path: "/api/graphql".into(),
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: Some(body),
                owner: None,
                at,
            })
        }
        0..=4 => {
            let (method, template) = rng.pick(endpoints);
            let method = if rng.chance(85) { method.clone() } else { (*rng.pick(METHODS)).to_owned() };
            let mut path = format!("/api/v4{}", concrete_path(rng, template));
            if rng.chance(15) {
                path = mutate(rng, path);
            }
            let (token, headers) = match rng.below(4) {
                0 => (Some(token), Vec::new()),
                1 => match &token {
                    TokenRef::Secret(s) => (None, vec![("PRIVATE-TOKEN".to_owned(), s.clone())]),
                    TokenRef::Name(_) => (Some(token), Vec::new()),
                },
                2 => match &token {
                    TokenRef::Secret(s) => (None, vec![("Authorization".to_owned(), format!("Bearer {s}"))]),
                    TokenRef::Name(_) => (None, Vec::new()),
                },
                _ => (Some(token), vec![("PRIVATE-TOKEN".to_owned(), "glpat-other".to_owned())]),
            };
            Request::Http(HttpRequest { token, method, path, headers, body: None, owner: None, at })
        }
        5 | 6 => {
            let project = rng.pick(NAMESPACES).replace("%2F", "/");
            let service = if rng.chance(40) {
                GitService::UploadPack
            } else {
                let count = 1 + rng.below(3);
                GitService::ReceivePack(
                    (0..count)
                        .map(|_| RefUpdate {
                            old_id: (*rng.pick(&[
                                "",
                                "0000000000000000000000000000000000000000",
                                "1111111111111111111111111111111111111111",
                            ]))
                            .to_owned(),
                            new_id: (*rng.pick(&[
                                "",
                                "0000000000000000000000000000000000000000",
                                "2222222222222222222222222222222222222222",
                            ]))
                            .to_owned(),
                            name: (*rng.pick(REFS)).to_owned(),
                            force: rng.chance(30),
                        })
                        .collect(),
                )
            };
            Request::Git(GitRequest { token, project, service, at })
        }
        _ => {
            let namespace = if rng.chance(80) { Some(rng.pick(NAMESPACES).replace("%2F", "/")) } else { None };
            let ref_name = if rng.chance(40) { Some((*rng.pick(REFS)).to_owned()) } else { None };
            Request::Permission(PermissionRequest {
                token,
                permission: rng.pick(permissions).clone(),
                namespace,
                ref_name,
                force: rng.chance(30),
                at,
            })
        }
    }
}

#[test]
fn native_and_component_agree_on_every_example_case() {
    for path in scenario_files() {
        let policy = finegrain_host::load_policy(&path).unwrap_or_else(|e| panic!("{e}"));
        let native = finegrain_engine::Authorizer::load(&policy.bundle).unwrap();
        let mut component = host().load(&policy.bundle).unwrap();
        for case in &policy.file.unwrap().cases {
            let request = scenario::case_request(case, EXAMPLE_TIME);
            assert_eq!(
                native.check_request(&request),
                component.check_request(&request),
                "{}: {}",
                path.display(),
                case.name
            );
            assert_eq!(native.explain(&request), component.explain(&request), "{}: {}", path.display(), case.name);
        }
    }
}

#[test]
fn native_and_component_agree_on_ten_thousand_generated_requests() {
    let path = workspace().join("examples/acme.yaml");
    let policy = finegrain_host::load_policy(&path).unwrap();
    let world = policy.file.as_ref().unwrap();
    let native = finegrain_engine::Authorizer::load(&policy.bundle).unwrap();
    let mut component = host().load(&policy.bundle).unwrap();

    let tokens: Vec<String> = world.world.tokens.iter().map(|t| t.name.clone()).chain(["nobody".to_owned()]).collect();
    // Secrets as the example file writes them (the engine only holds digests).
    let text = std::fs::read_to_string(&path).unwrap();
    let secrets: Vec<String> = text
        .split("secret: ")
        .skip(1)
        .map(|rest| rest.split([',', '}', '\n']).next().unwrap().trim().to_owned())
        .collect();
    assert!(secrets.len() >= 15, "found {} secrets", secrets.len());
    let catalog = native.catalog();
    let endpoints: Vec<(String, String)> =
        catalog.endpoints.iter().map(|e| (e.method.clone(), e.path.clone())).collect();
    let permissions: Vec<String> = catalog
        .permissions
        .iter()
        .map(|p| p.name.clone())
        .chain(catalog.assignable.iter().map(|a| a.name.clone()))
        // Unknown names, often enough that the generator meets them.
        .chain(["teleport_code", "read_everything", "push_cod", "admin_all", "delete_universe"].map(str::to_owned))
        .collect();
    let fields: Vec<(String, String, Option<String>)> = catalog
        .graphql
        .iter()
        .map(|f| (f.kind.name().to_owned(), f.name.clone(), f.argument.clone()))
        .chain([("query".to_owned(), "abuseReport".to_owned(), None)])
        .collect();

    let mut rng = Rng(0x5eed_f1e9_a1b2_c3d4);
    let requests: Vec<Request> =
        (0..10_000).map(|_| generate(&mut rng, &tokens, &secrets, &endpoints, &permissions, &fields)).collect();
    // Every fourth HTTP request again in each spelling GitLab reads the same way.
    let spelled: Vec<Request> = requests
        .iter()
        .step_by(4)
        .filter_map(|r| if let Request::Http(h) = r { Some(h) } else { None })
        .flat_map(|h| spellings(h).into_iter().map(|(_, s)| Request::Http(s)))
        .collect();
    assert!(spelled.len() > 2000, "only {} spelled requests", spelled.len());
    let requests: Vec<Request> = requests.into_iter().chain(spelled).collect();
    let mut allowed = 0;
    let mut codes = std::collections::BTreeMap::new();
    for chunk in requests.chunks(500) {
        let from_component = component.check_batch(chunk);
        for (request, component_decision) in chunk.iter().zip(from_component) {
            let native_decision = native.check_request(request);
            assert_eq!(native_decision, component_decision, "request: {request:?}");
            // Every decision explains itself, and an allow is never mixed with a
            // denial reason (a GraphQL allow has one `allowed` per root field).
            assert!(!native_decision.reasons.is_empty());
            if native_decision.effect == Effect::Allow {
                allowed += 1;
                assert!(native_decision.reasons.iter().all(|r| r.code == "allowed"), "{native_decision:?}");
            }
            for r in &native_decision.reasons {
                *codes.entry(r.code.clone()).or_insert(0) += 1;
            }
        }
    }
    // The generator must reach both outcomes and most reason codes, or it tests little.
    assert!(allowed > 300, "only {allowed} of {} generated requests were allowed", requests.len());
    for code in [
        "allowed",
        "token_unknown",
        "token_expired",
        "token_revoked",
        "user_inactive",
        "malformed_request",
        "ambiguous_request",
        "endpoint_unknown",
        "endpoint_not_for_tokens",
        "namespace_unknown",
        "permission_unknown",
        "scope_excludes_namespace",
        "token_lacks_permission",
        "user_lacks_ability",
        "branch_protected",
        "force_push_forbidden",
    ] {
        assert!(codes.contains_key(code), "no generated request produced {code}: {codes:?}");
    }
}
