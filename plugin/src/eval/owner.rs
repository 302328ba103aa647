//! Object-addressed REST routes decided at the namespace that owns their
//! object.
//!
//! A route such as `/runners/:id` or `/virtual_registries/…/registries/:id`
//! names an object, not the project or group it belongs to, so the catalog
//! decides it at the instance boundary (administrators only). When the host
//! knows the owner and says so (`owner` of [`HttpRequest`]), and the catalog
//! gives the route an owner rule (`catalog/rules/object_owners.tsv`), the route
//! is decided at that namespace with the rule's permissions, through the same
//! checks as any project or group endpoint. Without `owner`, or for a route
//! without an owner rule (every route that names its own namespace), nothing
//! changes.

use finegrain_catalog::OwnerRule;

use super::*;

impl Policy {
    /// The target an owned object-addressed endpoint is decided as, or the
    /// routed target unchanged when no owner applies.
    pub(super) fn owned_target<'r>(
        &self,
        target: Target<'r>,
        owner: Option<&str>,
        trace: &mut Trace,
    ) -> Result<Target<'r>, Refusal> {
        let Some(owner) = owner else {
            return Ok(target);
        };
        let Label::Endpoint(e) = target.label else {
            return Ok(target);
        };
        let Some(rule) = &self.catalog.endpoints[e].owner else {
            trace.note(|| {
                let why = if target.boundary == Boundary::Instance {
                    "the catalog gives it no owner rule, so it stays at the instance boundary"
                } else {
                    "it names its own namespace"
                };
                format!("owner: {owner:?} ignored; {} takes no owner: {why}", self.label(&target.label))
            });
            return Ok(target);
        };
        let (ns, boundary) = self.owner_namespace(e, rule, owner)?;
        let required = rule
            .permissions
            .iter()
            .map(|name| {
                self.perm_ids
                    .get(name)
                    .copied()
                    .ok_or_else(|| refusal(Code::PermissionUnknown, format!("no permission {name:?}")))
            })
            .collect::<Result<Perms, Refusal>>()?;
        trace.note(|| {
            format!(
                "owner: the host names {} as the owner of the object; {} is decided at the {} boundary with {}",
                self.namespaces[ns].path,
                self.label(&target.label),
                boundary.name(),
                rule.permissions.join(", ")
            )
        });
        Ok(Target { label: Label::Owned(e, ns), required, boundary, ns: Some(ns), ..target })
    }

    /// Resolves the owner like any namespace (full path or numeric id) and
    /// checks that the rule lets this kind of namespace own the object.
    fn owner_namespace(&self, e: usize, rule: &OwnerRule, owner: &str) -> Result<(usize, Boundary), Refusal> {
        let ns = self.lookup_namespace(owner).filter(|ns| self.namespaces[*ns].kind != NsKind::Personal).ok_or_else(
            || refusal(Code::NamespaceUnknown, format!("no group or project {owner:?} (the owner given)")),
        )?;
        let boundary = if self.namespaces[ns].kind == NsKind::Project { Boundary::Project } else { Boundary::Group };
        if !rule.boundaries.contains(&boundary) {
            let allowed: Vec<&str> = rule.boundaries.iter().map(|b| b.name()).collect();
            let detail = format!(
                "the owner {} is a {}, but the object of {} is owned by a {}",
                self.namespaces[ns].path,
                boundary.name(),
                self.label(&Label::Endpoint(e)),
                allowed.join(" or ")
            );
            return Err(refusal(Code::MalformedRequest, detail));
        }
        Ok((ns, boundary))
    }
}

#[cfg(test)]
mod tests {
    use finegrain_catalog::Catalog;

    use super::*;
    use crate::api::{Grant, GrantAccess, TokenKind};
    use crate::world::{Group, Member, Project, Token, User, Visibility, World};

    fn token(name: &str, digest: u8, namespaces: &[&str], permissions: &[&str]) -> Token {
        let access = GrantAccess::SelectedMemberships(namespaces.iter().map(|n| (*n).to_owned()).collect());
        let permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
        Token {
            name: name.into(),
            user: "alice".into(),
            digest: [digest; 32],
            kind: TokenKind::FineGrained(vec![Grant { access, permissions }]),
            expires: None,
            revoked: false,
        }
    }

    /// alice maintains acme (and so acme/api); other/app is not hers.
    fn policy() -> Policy {
        let group = |path: &str, id| Group { path: path.into(), id: Some(id), visibility: Visibility::Private };
        let project = |path: &str, id| Project {
            path: path.into(),
            id: Some(id),
            visibility: Visibility::Private,
            protected_branches: Vec::new(),
            protected_tags: Vec::new(),
        };
        let world = World {
            users: vec![User { username: "alice".into(), id: None, admin: false, active: true }],
            groups: vec![group("acme", 1), group("other", 2)],
            projects: vec![project("acme/api", 10), project("other/app", 20)],
            members: vec![Member {
                user: "alice".into(),
                namespace: "acme".into(),
                role: "maintainer".into(),
                expires: None,
            }],
            tokens: vec![
                token("runners", 1, &["acme/api"], &["read_runner", "delete_runner"]),
                token("registries", 2, &["acme"], &["read_virtual_registry"]),
            ],
            ..World::default()
        };
        Policy::new(Catalog::builtin().unwrap(), world).unwrap()
    }

    fn request(token: &str, method: &str, path: &str, owner: Option<&str>) -> Request {
        Request::Http(HttpRequest {
            token: Some(TokenRef::Name(token.into())),
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
            owner: owner.map(Into::into),
            at: 0,
        })
    }

    fn codes(verdict: &Verdict<'_>) -> Vec<&'static str> {
        verdict.causes.iter().map(|c| c.code.as_str()).collect()
    }

    #[test]
    fn a_runner_is_read_and_deleted_at_its_owning_project() {
        let policy = policy();
        for method in ["GET", "DELETE"] {
            for owner in ["acme/api", "10"] {
                let verdict =
                    policy.decide(&request("runners", method, "/api/v4/runners/7", Some(owner)), &mut Trace::off());
                assert_eq!(codes(&verdict), ["allowed"], "{method} owned by {owner}");
                assert_eq!((verdict.boundary, verdict.namespace), (Some(Boundary::Project), Some("acme/api")));
            }
        }
    }

    #[test]
    fn without_an_owner_the_route_stays_with_administrators() {
        let policy = policy();
        let verdict = policy.decide(&request("runners", "GET", "/api/v4/runners/7", None), &mut Trace::off());
        assert_eq!(verdict.effect, Effect::Deny);
        assert_eq!(verdict.boundary, Some(Boundary::Instance));
        assert!(verdict.has(Code::UserLacksAbility));
    }

    #[test]
    fn an_owner_outside_the_grants_or_unknown_is_denied() {
        let policy = policy();
        let outside =
            policy.decide(&request("runners", "GET", "/api/v4/runners/7", Some("other/app")), &mut Trace::off());
        assert!(outside.has(Code::ScopeExcludesNamespace), "{:?}", codes(&outside));
        for owner in ["nowhere/else", "999", "alice", ""] {
            let unknown =
                policy.decide(&request("runners", "GET", "/api/v4/runners/7", Some(owner)), &mut Trace::off());
            assert_eq!(codes(&unknown), ["namespace_unknown"], "{owner:?}");
        }
    }

    #[test]
    fn an_owner_of_the_wrong_kind_is_malformed() {
        let policy = policy();
        // delete_runner applies at projects only; virtual registries belong to groups.
        let cases = [
            ("runners", "DELETE", "/api/v4/runners/7", "acme", "owned by a project"),
            ("registries", "GET", "/api/v4/virtual_registries/packages/maven/registries/3", "acme/api", "by a group"),
        ];
        for (token, method, path, owner, says) in cases {
            let verdict = policy.decide(&request(token, method, path, Some(owner)), &mut Trace::details());
            assert_eq!(codes(&verdict), ["malformed_request"], "{method} {path}");
            let detail = verdict.causes[0].detail.as_deref().unwrap_or_default();
            assert!(detail.contains(says), "{detail}");
        }
    }

    #[test]
    fn a_virtual_registry_is_read_at_its_owning_group() {
        let policy = policy();
        let path = "/api/v4/virtual_registries/packages/maven/registries/3";
        let verdict = policy.decide(&request("registries", "GET", path, Some("acme")), &mut Trace::off());
        assert_eq!(codes(&verdict), ["allowed"]);
        assert_eq!((verdict.boundary, verdict.namespace), (Some(Boundary::Group), Some("acme")));
    }

    #[test]
    fn a_route_that_names_its_namespace_ignores_the_owner() {
        let policy = policy();
        let mut trace = Trace::on();
        let path = "/api/v4/projects/acme%2Fapi/runners";
        let verdict = policy.decide(&request("runners", "GET", path, Some("other/app")), &mut trace);
        assert_eq!(codes(&verdict), ["allowed"]);
        assert_eq!(verdict.namespace, Some("acme/api"));
        assert!(trace.into_steps().iter().any(|s| s.starts_with("owner: \"other/app\" ignored")));
    }

    #[test]
    fn steps_and_details_say_the_owner_was_used() {
        let policy = policy();
        let mut trace = Trace::on();
        let verdict = policy.decide(&request("runners", "GET", "/api/v4/runners/7", Some("acme/api")), &mut trace);
        let detail = verdict.causes[0].detail.clone().unwrap_or_default();
        assert!(detail.contains("object owned by acme/api"), "{detail}");
        let steps = trace.into_steps();
        assert!(steps.iter().any(|s| s.starts_with("owner: the host names acme/api")), "{steps:#?}");
    }
}
