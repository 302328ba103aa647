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
                format!(
                    "owner: {owner:?} ignored; {} takes no owner (it is decided where it says)",
                    self.label(&target.label)
                )
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
