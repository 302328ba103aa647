//! Whole-query GraphQL authorization: every field below a root field that
//! returns an object is decided too, not only the root.
//!
//! The walk follows the selection tree with two things in hand: the GraphQL type
//! the selections are read on, and the [`Place`] where the objects can be. Each
//! object field is looked up in the catalog (`graphql_types.tsv`) by type and
//! name; its `reach` moves the place (to the parent group, to a group's subtree,
//! or everywhere), and its permission is then checked there like an endpoint. A
//! field the catalog does not know is denied. Relay connections (`nodes`,
//! `edges { node }`, `pageInfo`) are read through to their element type.

use std::collections::HashSet;

use finegrain_catalog::{GraphqlReach, GraphqlTypeField};

use super::*;
use crate::graphql::SubField;
use crate::policy::Access;

/// Where the objects at a point of a query can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Place {
    /// In this project, or in this group or anything below it.
    Ns(usize),
    /// The token's own user (no namespace).
    User,
    /// The instance (administration).
    Instance,
    /// Any namespace the user can see.
    Everywhere,
}

impl Place {
    /// Where a root field's target was decided.
    pub(super) fn of_root(boundary: Boundary, ns: Option<usize>) -> Place {
        match (boundary, ns) {
            (_, Some(ns)) => Place::Ns(ns),
            (Boundary::User, None) => Place::User,
            (Boundary::Instance, None) => Place::Instance,
            _ => Place::Everywhere,
        }
    }
}

/// The type a selection set is read on.
#[derive(Clone, Copy)]
enum Shape<'c> {
    /// An object of this type (`""` when the catalog does not know it).
    Object(&'c str),
    /// A list or connection of objects of this type.
    List(&'c str),
    /// A connection's edge to an object of this type.
    Edge(&'c str),
}

/// One walk over the fields of one root field.
pub(super) struct Walk<'p, 'r> {
    pub(super) policy: &'p Policy,
    pub(super) token: Option<&'r TokenRef>,
    pub(super) at: Timestamp,
    pub(super) mutation: bool,
    /// Checks already allowed in this request, so each is run once.
    pub(super) checked: &'r mut HashSet<(PermId, Place)>,
    /// The allowed verdicts, to report with the root's.
    pub(super) allowed: Vec<Verdict<'p>>,
}

impl<'p> Walk<'p, '_> {
    /// Authorizes the selections of a root field `name` (a query, or a
    /// mutation's payload) decided at `place`; the first denial is returned.
    pub(super) fn root(
        &mut self,
        name: &str,
        place: Place,
        root_perms: &[PermId],
        selections: &[SubField],
        trace: &mut Trace,
    ) -> Result<(), Verdict<'p>> {
        let kind = if self.mutation { "mutation" } else { "query" };
        let key = if self.mutation { ("Mutation", "*") } else { ("Query", name) };
        let row = self.lookup(key.0, key.1).map(|(_, row)| row);
        let mut place = place;
        if let Some(row) = row
            && row.reach == GraphqlReach::Everywhere
        {
            // An instance-wide list: the root's own permissions must hold everywhere.
            place = Place::Everywhere;
            for perm in root_perms {
                self.check(&format!("graphql {kind} {name}"), *perm, place, trace)?;
            }
        }
        let shape = match row {
            Some(row) if row.list => Shape::List(&row.returns),
            Some(row) => Shape::Object(&row.returns),
            None => Shape::Object(""),
        };
        self.selections(&format!("graphql {kind} {name}"), shape, place, selections, trace)
    }

    /// The catalog row of a field selected on a type, and its index.
    fn lookup(&self, parent: &str, field: &str) -> Option<(usize, &'p GraphqlTypeField)> {
        let index = *self.policy.graphql_type_fields.get(parent)?.get(field)?;
        Some((index, &self.policy.catalog.graphql_types[index]))
    }

    /// Authorizes the object fields of one selection set, read on `shape` at `place`.
    fn selections(
        &mut self,
        path: &str,
        shape: Shape<'_>,
        place: Place,
        fields: &[SubField],
        trace: &mut Trace,
    ) -> Result<(), Verdict<'p>> {
        for field in fields.iter().filter(|f| f.object) {
            let label = format!("{path}.{}", field.name);
            let (next, place) = match (shape, field.name.as_str()) {
                (Shape::List(t), "nodes") | (Shape::Edge(t), "node") => (Shape::Object(t), place),
                (Shape::List(t), "edges") => (Shape::Edge(t), place),
                (Shape::List(_), "pageInfo") => (Shape::Object("PageInfo"), place),
                (Shape::List(t) | Shape::Object(t), name) => {
                    let Some((index, row)) = self.lookup(t, name) else {
                        return Err(self.unknown(&label, t, name, trace));
                    };
                    let place = self.reach(place, row.reach);
                    if let Some(perm) = self.policy.graphql_type_perms[index] {
                        self.check(&label, perm, place, trace)?;
                    }
                    let next = if row.list { Shape::List(&row.returns) } else { Shape::Object(&row.returns) };
                    (next, place)
                }
                (Shape::Edge(_), name) => return Err(self.unknown(&label, "Edge", name, trace)),
            };
            self.selections(&label, next, place, &field.selections, trace)?;
        }
        Ok(())
    }

    /// The denial of an object field the catalog does not list.
    fn unknown(&self, label: &str, parent: &str, name: &str, trace: &mut Trace) -> Verdict<'p> {
        let detail = trace.detail(|| {
            if parent.is_empty() {
                format!("{label}: the catalog does not know the type this field is selected on, so it is denied")
            } else {
                format!("{label}: no mapping for the object field {parent}.{name}")
            }
        });
        self.policy.refuse(Code::EndpointUnknown, detail, trace)
    }

    /// Where a field with `reach` leads from `place`.
    fn reach(&self, place: Place, reach: GraphqlReach) -> Place {
        let namespaces = &self.policy.namespaces;
        match (reach, place) {
            (GraphqlReach::Same, _) => place,
            (GraphqlReach::Parent, Place::Ns(ns)) => match namespaces[ns].parent {
                Some(parent) if namespaces[parent].kind == NsKind::Group => Place::Ns(parent),
                _ => Place::Everywhere,
            },
            // A project's or group's descendants are checked at it: a grant on a
            // group, or above it, covers everything below.
            (GraphqlReach::Descendants, Place::Ns(ns)) => Place::Ns(ns),
            _ => Place::Everywhere,
        }
    }

    /// Checks one permission at a place; a denial is returned as is.
    fn check(&mut self, label: &str, perm: PermId, place: Place, trace: &mut Trace) -> Result<(), Verdict<'p>> {
        if self.checked.contains(&(perm, place)) {
            return Ok(());
        }
        let policy = self.policy;
        let (boundary, ns) = match place {
            Place::Ns(ns) if policy.namespaces[ns].kind == NsKind::Project => (Boundary::Project, Some(ns)),
            Place::Ns(ns) if policy.namespaces[ns].kind == NsKind::Group => (Boundary::Group, Some(ns)),
            Place::User => (Boundary::User, None),
            Place::Instance => (Boundary::Instance, None),
            Place::Ns(_) | Place::Everywhere => return self.check_everywhere(label, perm, trace),
        };
        let target = Target {
            label: Label::Field(label.to_owned()),
            required: smallvec::smallvec![perm],
            boundary,
            ns,
            scope_test: ScopeTest::Graphql { mutation: self.mutation },
            writes: Vec::new(),
            auth: Auth::Token,
            user_rule: None,
        };
        let mut decision = policy.run(self.token, Ok(target), self.at, trace);
        if decision.effect == Effect::Deny {
            // Name the field that was denied, not only the namespace.
            for detail in decision.causes.iter_mut().filter_map(|c| c.detail.as_mut()) {
                if !detail.starts_with(label) {
                    *detail = format!("{label}: {detail}");
                }
            }
            return Err(decision);
        }
        self.checked.insert((perm, place));
        self.allowed.push(decision);
        Ok(())
    }

    /// A field that can reach any namespace the user can see: only a grant on
    /// all memberships (or a legacy scope, which is not limited to namespaces)
    /// covers it. The user's own access is not checked here: GitLab returns
    /// only the objects the user may read.
    fn check_everywhere(&mut self, label: &str, perm: PermId, trace: &mut Trace) -> Result<(), Verdict<'p>> {
        let policy = self.policy;
        let token = match policy.valid_token(self.token, self.at, trace) {
            Ok(token) => token,
            Err(Refusal(code, detail)) => return Err(policy.refuse(code, detail, trace)),
        };
        let name = policy.perm_name(perm);
        let covered = match &token.rights {
            TokenRights::Legacy(scopes) => {
                scopes.iter().any(|s| policy.catalog.legacy_scopes[*s].covers_graphql(self.mutation))
            }
            TokenRights::FineGrained(grants) => {
                grants.iter().any(|g| matches!(g.access, Access::AllMemberships) && g.raw.contains(perm))
            }
        };
        if !covered {
            let detail = trace.detail(|| {
                format!(
                    "{label} can reach any namespace the user can see; only a grant on all memberships holding \
                     {name} covers that, and token {:?} has none",
                    token.name
                )
            });
            return Err(policy.refuse(Code::ScopeExcludesNamespace, detail, trace));
        }
        trace.note(|| format!("token: {label} reaches everywhere; a grant on all memberships holds {name}"));
        let cause = trace.cause(Code::Allowed, || format!("{label} allowed everywhere the user can see"));
        self.checked.insert((perm, Place::Everywhere));
        self.allowed.push(policy.verdict(
            Effect::Allow,
            smallvec::smallvec![cause],
            smallvec::smallvec![perm],
            None,
            None,
        ));
        Ok(())
    }
}
