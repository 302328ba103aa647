//! The GitLab-shaped token API, driven with curl against the portal binary.

mod common;

use common::{Server, curl, make_store, scratch};

fn private(secret: &str) -> String {
    format!("PRIVATE-TOKEN: {secret}")
}

#[test]
fn the_token_api_creates_lists_rotates_and_revokes() {
    let dir = scratch("api");
    let (store, tokens) = make_store(&dir);
    let events = dir.join("events.jsonl");
    let server = Server::start(&store, &events);
    let api = format!("{}/api/v4", server.url);
    let list_url = format!("{api}/personal_access_tokens");

    // No token, an unknown one: 401 with the engine's reason, in JSON.
    let none = curl(&[&list_url]);
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(none.json()["reasons"][0], "token_missing");
    let unknown = curl(&["-H", &private("glpat-not-a-real-token-at-all-000000"), &list_url]);
    assert_eq!(unknown.status, 401);
    assert!(!unknown.body.contains("glpat-not-a-real"), "a secret is never echoed: {}", unknown.body);

    // The list holds alice's tokens only, never a secret.
    let list = curl(&["-H", &private(&tokens.alice_api), &list_url]);
    assert_eq!(list.status, 200, "{}", list.body);
    let names: Vec<String> =
        list.json().as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["laptop", "reader"]);
    assert!(!list.body.contains("glpat-"), "{}", list.body);
    let used: Vec<bool> = list.json().as_array().unwrap().iter().map(|t| t["last_used_at"].is_string()).collect();
    assert_eq!(used, [true, false], "the calling token's use is recorded, the other's is not");

    // A token that may only read tokens may list them but not create one.
    let reader_list = curl(&["-H", &format!("Authorization: Bearer {}", tokens.alice_reader), &list_url]);
    assert_eq!(reader_list.status, 200, "{}", reader_list.body);
    let create_url = format!("{api}/user/personal_access_tokens");
    let expires = finegrain_store::format_date(common::now() + 10 * 86_400);
    let body = format!(
        r#"{{"name":"ci","description":"build","expires_at":"{expires}","granular_scopes":[
        {{"access":"selected_memberships","namespaces":["acme/platform"],"permissions":["repository:view","read_job"]}},
        {{"access":"user","permissions":["read_personal_access_token","rotate_personal_access_token"]}}]}}"#
    );
    let body = body.as_str();
    let json = ["-H", "Content-Type: application/json", "-d"];
    let refused = curl(&[&["-H", &private(&tokens.alice_reader)][..], &json, &[body, &create_url]].concat());
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["reasons"][0], "token_lacks_permission");

    // Creation with granular scopes: 201, the secret once, the event written.
    let created = curl(&[&["-H", &private(&tokens.alice_api)][..], &json, &[body, &create_url]].concat());
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.json();
    let secret = token["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("glpat-"), "{secret}");
    assert_eq!(token["token_type"], "fine_grained");
    assert_eq!(token["expires_at"], expires.as_str());
    assert_eq!(token["granular_scopes"][0]["namespaces"][0], "acme/platform");
    assert!(token["granular_scopes"][0]["permissions"].as_array().unwrap().iter().any(|p| p == "read_branch"));
    assert!(created.headers.contains("cache-control: no-store"), "{}", created.headers);
    let event_lines = std::fs::read_to_string(&events).unwrap();
    assert_eq!(event_lines.lines().count(), 1, "{event_lines}");
    let event: serde_json::Value = serde_json::from_str(event_lines.trim()).unwrap();
    assert_eq!(event["event"], "token_created");
    assert_eq!(event["scope_types"], serde_json::json!(["selected_memberships", "user"]));
    assert!(event["resources"].as_array().unwrap().iter().any(|r| r == "repository"), "{event}");
    for leak in [secret.as_str(), "acme", "ci", "alice"] {
        assert!(!event_lines.contains(&format!("\"{leak}")), "the event holds {leak:?}: {event_lines}");
    }
    let id = token["id"].as_i64().unwrap();

    // The new token works: it may read itself.
    let me = curl(&["-H", &private(&secret), &format!("{api}/personal_access_tokens/self")]);
    assert_eq!((me.status, me.json()["id"].as_i64()), (200, Some(id)), "{}", me.body);

    // Mistakes are JSON with the right status.
    let bad_permission = r#"{"name":"x","granular_scopes":[{"access":"user","permissions":["read_usr"]}]}"#;
    let unknown = curl(&[&["-H", &private(&tokens.alice_api)][..], &json, &[bad_permission, &create_url]].concat());
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.json()["message"], "unknown permission \"read_usr\" (did you mean \"read_user\"?)");
    let never = r#"{"name":"forever","scopes":["read_api"],"expires_at":null}"#;
    let never = curl(&[&["-H", &private(&tokens.alice_api)][..], &json, &[never, &create_url]].concat());
    assert_eq!(never.status, 422, "{}", never.body);
    assert!(never.json()["message"].as_str().unwrap().starts_with("tokens must expire"), "{}", never.body);
    let taken = curl(&[&["-H", &private(&tokens.alice_api)][..], &json, &[body, &create_url]].concat());
    assert_eq!(taken.status, 409, "{}", taken.body);
    let form = curl(&["-H", &private(&tokens.alice_api), "-d", "name=x&scopes[]=api", &create_url]);
    assert_eq!(form.status, 415, "{}", form.body);
    let broken = curl(&[&["-H", &private(&tokens.alice_api)][..], &json, &["{\"name\":", &create_url]].concat());
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert_eq!(std::fs::read_to_string(&events).unwrap().lines().count(), 1, "failed creations write no event");

    // Another user's token is not found; a non-number is not found.
    let bobs = curl(&["-H", &private(&tokens.bob_api), "-X", "DELETE", &format!("{list_url}/{id}")]);
    assert_eq!(bobs.status, 404, "{}", bobs.body);
    assert_eq!(curl(&["-H", &private(&tokens.alice_api), &format!("{list_url}/abc")]).status, 404);

    // Rotation: a new secret, the old one refused as revoked.
    let rotated = curl(&["-H", &private(&tokens.alice_api), "-X", "POST", &format!("{list_url}/{id}/rotate")]);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = rotated.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(rotated.json()["name"], "ci");
    let old = curl(&["-H", &private(&secret), &format!("{api}/personal_access_tokens/self")]);
    assert_eq!((old.status, old.json()["reasons"][0].as_str()), (401, Some("token_revoked")), "{}", old.body);
    assert_eq!(std::fs::read_to_string(&events).unwrap().lines().count(), 2, "rotation writes its event");

    // Self-rotation needs rotate_personal_access_token, which the reader lacks.
    let reader = curl(&["-H", &private(&tokens.alice_reader), "-X", "POST", &format!("{list_url}/self/rotate")]);
    assert_eq!(reader.status, 403, "{}", reader.body);

    // Self-rotation with the rotated token; then revoke the result.
    let self_rotated = curl(&["-H", &private(&second), "-X", "POST", &format!("{list_url}/self/rotate")]);
    assert_eq!(self_rotated.status, 200, "{}", self_rotated.body);
    let third = self_rotated.json();
    assert_eq!(curl(&["-H", &private(&second), &format!("{list_url}/self")]).status, 401);
    let third_id = third["id"].as_i64().unwrap();
    let revoked = curl(&["-H", &private(&tokens.alice_api), "-X", "DELETE", &format!("{list_url}/{third_id}")]);
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let again = curl(&["-H", &private(&tokens.alice_api), "-X", "DELETE", &format!("{list_url}/{third_id}")]);
    assert_eq!(again.status, 409, "{}", again.body);
    let third_secret = third["token"].as_str().unwrap();
    assert_eq!(curl(&["-H", &private(third_secret), &format!("{list_url}/self")]).status, 401);

    // The list shows the history, with statuses.
    let list = curl(&["-H", &private(&tokens.alice_api), &list_url]).json();
    let statuses: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(statuses.iter().filter(|(n, s)| n == "ci" && s == "revoked").count(), 3, "{statuses:?}");
}

#[test]
fn a_token_creates_only_tokens_within_its_own_access() {
    use finegrain_engine::api::GrantAccess;
    use finegrain_store::{Expiry, GrantRequest, PermissionChoice, Store, TokenRequest};
    let dir = scratch("within");
    let (store, tokens) = make_store(&dir);
    let user_grant = |permissions: &[&str]| GrantRequest {
        access: GrantAccess::User,
        permissions: permissions.iter().map(|p| PermissionChoice::Name((*p).into())).collect(),
    };
    let minter = Store::open(&store)
        .unwrap()
        .create_token(
            &TokenRequest {
                owner: "alice".into(),
                name: "minter".into(),
                description: None,
                scopes: Vec::new(),
                grants: vec![user_grant(&["create_user_personal_access_token", "read_personal_access_token"])],
                expires: Expiry::Default,
            },
            common::now(),
        )
        .unwrap()
        .secret
        .expose()
        .to_owned();
    let server = Server::start(&store, &dir.join("events.jsonl"));
    let create_url = format!("{}/api/v4/user/personal_access_tokens", server.url);
    let create = |secret: &str, body: &str| {
        curl(&["-H", &private(secret), "-H", "Content-Type: application/json", "-d", body, &create_url])
    };

    // A token allowed to create tokens cannot mint one broader than itself.
    let api = create(&minter, r#"{"name":"escalated","scopes":["api"]}"#);
    assert_eq!(api.status, 403, "{}", api.body);
    assert!(api.json()["message"].as_str().unwrap().contains("within its own scopes or grants"), "{}", api.body);
    let wider = r#"{"name":"wider","granular_scopes":[{"access":"all_memberships","permissions":["read_project"]}]}"#;
    assert_eq!(create(&minter, wider).status, 403);
    // Within its own grant it may.
    let narrower =
        r#"{"name":"narrower","granular_scopes":[{"access":"user","permissions":["read_personal_access_token"]}]}"#;
    let created = create(&minter, narrower);
    assert_eq!(created.status, 201, "{}", created.body);
    // `api` is the user's whole API: it may create read_api or fine-grained tokens, not sudo.
    assert_eq!(create(&tokens.alice_api, r#"{"name":"r","scopes":["read_api"]}"#).status, 201);
    assert_eq!(create(&tokens.alice_api, r#"{"name":"s","scopes":["sudo"]}"#).status, 403);
}
