//! Incremental updates through the component: they change decisions at once,
//! bump the revision, and a rejected update leaves the running policy untouched.

use finegrain_engine::world::secret_digest;
use finegrain_host::api::*;
use finegrain_tests::{EXAMPLE_TIME, host, workspace};

fn authorizer() -> finegrain_host::runtime::Authorizer {
    let policy = finegrain_host::load_policy(&workspace().join("examples/acme.yaml")).unwrap();
    host().load(&policy.bundle).unwrap()
}

fn list_branches(secret: &str) -> HttpRequest {
    HttpRequest {
        token: None,
        method: "GET".into(),
        path: "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches".into(),
        headers: vec![("PRIVATE-TOKEN".into(), secret.into())],
        body: None,
        owner: None,
        at: EXAMPLE_TIME,
    }
}

#[test]
fn revoking_a_token_denies_it_and_bumps_the_revision() {
    let mut authz = authorizer();
    assert_eq!(authz.check_http(&list_branches("glpat-alice-ci-secret")).effect, Effect::Allow);
    assert_eq!(authz.revision().unwrap(), 0);
    assert_eq!(authz.apply(&[Update::RevokeToken("alice-ci".into())]).unwrap(), 1);
    let decision = authz.check_http(&list_branches("glpat-alice-ci-secret"));
    assert_eq!(decision.effect, Effect::Deny);
    assert!(decision.has_reason("token_revoked"));
    assert_eq!(decision.revision, 1);
}

#[test]
fn an_added_token_and_membership_authorize_at_once() {
    let mut authz = authorizer();
    let token = NewToken {
        name: "erin-new".into(),
        user: "erin".into(),
        digest: secret_digest("glpat-erin-new").to_vec(),
        kind: TokenKind::FineGrained(vec![Grant {
            access: GrantAccess::SelectedMemberships(vec!["acme/platform".into()]),
            permissions: vec!["read_branch".into()],
        }]),
        expires: None,
    };
    authz.apply(&[Update::AddToken(token)]).unwrap();
    // The token exists, but erin is not a member of the private project.
    let decision = authz.check_http(&list_branches("glpat-erin-new"));
    assert!(decision.has_reason("user_lacks_ability"), "{decision:?}");

    let membership = MembershipUpdate {
        user: "erin".into(),
        namespace: "acme/platform".into(),
        role: "reporter".into(),
        expires: None,
    };
    assert_eq!(authz.apply(&[Update::AddMembership(membership)]).unwrap(), 2);
    assert_eq!(authz.check_http(&list_branches("glpat-erin-new")).effect, Effect::Allow);

    authz.apply(&[Update::RemoveMembership("erin".into(), "acme/platform".into())]).unwrap();
    assert!(authz.check_http(&list_branches("glpat-erin-new")).has_reason("user_lacks_ability"));
}

#[test]
fn a_rejected_update_changes_nothing() {
    let mut authz = authorizer();
    let bad = [
        Update::RevokeToken("alice-ci".into()),
        Update::AddMembership(MembershipUpdate {
            user: "nobody".into(),
            namespace: "acme".into(),
            role: "guest".into(),
            expires: None,
        }),
    ];
    let error = authz.apply(&bad).unwrap_err().to_string();
    assert!(error.contains("unknown user \"nobody\""), "{error}");
    assert_eq!(authz.revision().unwrap(), 0);
    // The first update of the rejected batch did not take effect either.
    assert_eq!(authz.check_http(&list_branches("glpat-alice-ci-secret")).effect, Effect::Allow);

    let error = authz.apply(&[Update::RevokeToken("no-such-token".into())]).unwrap_err().to_string();
    assert_eq!(error, "update 0: no token \"no-such-token\"");
    let short_digest = NewToken {
        name: "x".into(),
        user: "erin".into(),
        digest: vec![1, 2, 3],
        kind: TokenKind::Legacy(vec!["api".into()]),
        expires: None,
    };
    assert!(authz.apply(&[Update::AddToken(short_digest)]).is_err());
    assert_eq!(authz.revision().unwrap(), 0);
}

#[test]
fn a_bad_replacement_bundle_leaves_the_running_policy() {
    let mut authz = authorizer();
    let policy = finegrain_host::load_policy(&workspace().join("examples/acme.yaml")).unwrap();
    let mut corrupt = policy.bundle.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let error = authz.replace_bundle(&corrupt).unwrap_err().to_string();
    assert!(error.contains("digest does not match"), "{error}");
    assert_eq!(authz.check_http(&list_branches("glpat-alice-ci-secret")).effect, Effect::Allow);
    authz.replace_bundle(&policy.bundle).unwrap();
}

#[test]
fn token_introspection_is_token_and_user() {
    let mut authz = authorizer();
    let report = authz.inspect_token(&TokenRef::Name("carol-mr".into()), EXAMPLE_TIME).unwrap();
    assert_eq!(
        (report.kind.as_str(), report.status.as_str(), report.user.as_str()),
        ("fine_grained", "active", "carol")
    );
    let api = report.access.iter().find(|e| e.namespace.as_deref() == Some("acme/platform/api")).expect("api entry");
    assert_eq!(api.boundary, Boundary::Project);
    // The token selects create_merge_request, but carol's view verb does not give it.
    assert!(api.permissions.contains(&"read_merge_request".to_owned()), "{api:?}");
    assert!(!api.permissions.contains(&"create_merge_request".to_owned()), "{api:?}");
    assert_eq!(report.access.len(), 1, "{report:?}");

    let revoked = authz.inspect_token(&TokenRef::Name("alice-gone".into()), EXAMPLE_TIME).unwrap();
    assert_eq!(revoked.status, "revoked");
    assert!(revoked.access.is_empty());
    assert!(authz.inspect_token(&TokenRef::Secret("glpat-nope".into()), EXAMPLE_TIME).is_err());
}
