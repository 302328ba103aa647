//! Unit tests of the world and scenario file reader.

use super::*;

#[test]
fn locate_finds_list_items_in_block_and_flow_style() {
    let text = "users:\n  - { username: a }\n  - username: b\n    admin: true\nmembers:\n  - { user: a, in: g, role: x }\n\n  - { user: b, in: g, role: y }\n";
    assert_eq!(locate(text, "users", 0), Some(2));
    assert_eq!(locate(text, "users", 1), Some(3));
    assert_eq!(locate(text, "members", 1), Some(8));
    assert_eq!(locate(text, "members", 2), None);
    assert_eq!(locate(text, "tokens", 0), None);
}

#[test]
fn a_json_world_reads_as_the_same_yaml_world() {
    let yaml = "users:\n  - { username: a }\ngroups:\n  - { path: g }\nmembers:\n  - { user: a, in: g, role: developer }\ntokens:\n  - { name: t, user: a, secret: glpat-x, grants: [{ access: selected_memberships, namespaces: [g], permissions: [read_code] }], expires: 2027-01-01 }\n";
    let json = r#"{"users": [{"username": "a"}], "groups": [{"path": "g"}],
        "members": [{"user": "a", "in": "g", "role": "developer"}],
        "tokens": [{"name": "t", "user": "a", "secret": "glpat-x", "grants": [{"access": "selected_memberships",
          "namespaces": ["g"], "permissions": ["read_code"]}], "expires": "2027-01-01"}]}"#;
    let (from_yaml, from_json) = (parse("w.yaml", yaml).unwrap(), parse("w.json", json).unwrap());
    assert_eq!(format!("{:?}", from_yaml.world), format!("{:?}", from_json.world));
    // A YAML flow mapping that is not JSON is still read as YAML.
    assert_eq!(parse("w.yaml", "{ users: [ { username: a } ] }").unwrap().world.users.len(), 1);
}

#[test]
fn a_json_world_error_names_the_line_and_hides_secrets() {
    let err = parse("w.json", "{\"users\": [\n  {\"username\": \"a\", \"admn\": true}]}").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("unknown field `admn`"), "{err}");
    let err =
        parse("w.json", "{\"tokens\": [{\"name\": \"t\", \"revoked\": \"glpat-leaked-secret-value\"}]}").unwrap_err();
    assert!(!err.to_string().contains("glpat-leaked"), "{err}");
}

#[test]
fn unknown_keys_and_bad_values_name_the_place() {
    let err = parse("w.yaml", "users:\n  - { username: a, admn: true }\n").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("unknown field `admn`"), "{err}");

    let err =
        parse("w.yaml", "users:\n  - { username: a }\nmembers:\n  - { user: a, in: g, role: dev, expires: soon }\n")
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "w.yaml:4: members[0].expires: \"soon\" is not a date (2027-01-01), an RFC 3339 time (2026-11-21T12:00:00Z) or Unix seconds"
    );
}

#[test]
fn errors_never_echo_a_secret_pasted_into_the_wrong_field() {
    let world = |token: &str| {
        format!("users:\n  - {{ username: a }}\ntokens:\n  - {{ name: t, user: a, scopes: [api], {token} }}\n")
    };
    for field in [
        "digest: glpat-Zx81kQ9vT2mP4nR7sW0y",
        "secret: s, expires: glpat-Zx81kQ9vT2mP4nR7sW0y",
        "secret: s, type: gldt-Zx81kQ9vT2mP4nR7sW0y",
        "secret: s, revoked: 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    ] {
        let err = parse("w.yaml", &world(field)).unwrap_err().to_string();
        assert!(err.contains("[redacted]"), "{err}");
        assert!(!err.contains("Zx81kQ9vT2mP4nR7sW0y") && !err.contains("9f8e7d6c5b4a3928"), "{err}");
    }
    // Ordinary words, places, paths and times stay readable.
    let message = "cases[3].request: no endpoint GET /api/v4/projects/7/repository/branches at 2026-11-21T12:00:00Z";
    assert_eq!(redact_secrets(message), message);
}

#[test]
fn tokens_carry_a_secret_or_a_digest() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let world = |token: &str| {
        format!("users:\n  - {{ username: a }}\ntokens:\n  - {{ name: t, user: a, scopes: [api], {token} }}\n")
    };
    let parsed = parse("w.yaml", &world(&format!("digest: \"{digest}\""))).unwrap();
    assert_eq!(parsed.world.tokens[0].digest, [0xab; 32]);
    let parsed = parse("w.yaml", &world("secret: s")).unwrap();
    assert_eq!(parsed.world.tokens[0].digest, world::secret_digest("s"));
    let both = parse("w.yaml", &world(&format!("secret: s, digest: \"{digest}\""))).unwrap_err();
    assert_eq!(both.message, "tokens[0]: a token needs exactly one of `secret` or `digest`");
    assert!(parse("w.yaml", &world("")).is_err());
    let bad = parse("w.yaml", &world("digest: sha256:xyz")).unwrap_err();
    assert_eq!(bad.message, "tokens[0].digest: \"sha256:xyz\" is not `sha256:` followed by 64 hex digits");
}

#[test]
fn request_lines() {
    assert_eq!(
        parse_request_line("git-receive-pack acme/api refs/heads/a refs/heads/b", vec![]),
        Ok(CaseQuery::GitPush {
            project: "acme/api".into(),
            refs: vec![
                RefUpdate { old_id: String::new(), new_id: String::new(), name: "refs/heads/a".into(), force: false },
                RefUpdate { old_id: String::new(), new_id: String::new(), name: "refs/heads/b".into(), force: false },
            ]
        })
    );
    let zero = "0".repeat(40);
    let id = "ab".repeat(20);
    assert_eq!(
        parse_ref_update(&format!("+refs/heads/main:{id}:0")),
        Ok(RefUpdate { old_id: id.clone(), new_id: zero.clone(), name: "refs/heads/main".into(), force: true })
    );
    assert_eq!(parse_ref_update(&format!("refs/tags/v1:0:{id}")).unwrap().old_id, zero);
    assert!(parse_ref_update("refs/heads/main:xyz:0").is_err());
    assert!(parse_ref_update("refs/heads/main:0").is_err());
    assert!(parse_ref_update("+").is_err());
    assert!(parse_request_line("git-receive-pack acme/api", vec![]).is_err());
    assert!(parse_request_line("GET", vec![]).is_err());
}

// The owner of an object-addressed route, on HTTP cases.
const OWNER_WORLD: &str = "users:\n  - { username: a }\ngroups:\n  - { path: g }\ncases:\n";

#[test]
fn http_cases_may_name_the_owner_of_the_object() {
    let text =
        format!("{OWNER_WORLD}  - {{ name: c, token: t, request: GET /api/v4/runners/7, owner: g, expect: deny }}\n");
    let parsed = parse("w.yaml", &text).unwrap();
    match &parsed.cases[0].query {
        CaseQuery::Http { owner, .. } => assert_eq!(owner.as_deref(), Some("g")),
        other => panic!("an HTTP case, not {other:?}"),
    }
}

#[test]
fn an_owner_goes_with_http_cases_only() {
    for query in ["request: git-upload-pack g/p", "action: { permission: read_runner, on: g }"] {
        let text = format!("{OWNER_WORLD}  - {{ name: c, token: t, {query}, owner: g, expect: deny }}\n");
        let err = parse("w.yaml", &text).unwrap_err();
        assert_eq!(err.message, "cases[0].owner: an owner goes with HTTP requests only", "{query}");
    }
}
