//! The decision procedure (docs/decisions.md): a request is allowed only if the token is
//! valid, the token covers it, the user may do it, and branch protection allows
//! it. Every request form is first reduced to a [`Target`]; the checks then run
//! the same way for all of them.

use std::borrow::Cow;
use std::collections::HashSet;

use smallvec::SmallVec;

use finegrain_catalog::{Auth, Boundary, GraphqlKind, level};

use crate::api::*;
use crate::graphql::{self, OperationKind};
use crate::http::{self, HttpProblem, HttpTarget};
use crate::params::ReadError;
use crate::permset::PermId;
use crate::policy::{Access, NsKind, Policy, Reach, Standing, TokenRec, TokenRights};
use crate::reading::{self, Reading};
use crate::world::PushLevel;

mod nested;
mod owner;
use nested::{Place, Walk};

/// What a decision writes besides its codes and ids: the reasons' details
/// (sentences for people) and a step-by-step account. A plain check writes
/// neither, so no text is formatted on the hot path.
pub struct Trace {
    steps: Option<Vec<String>>,
    details: bool,
}

impl Trace {
    /// Codes and ids only.
    pub fn off() -> Trace {
        Trace { steps: None, details: false }
    }
    /// The reasons' details, without the steps.
    pub fn details() -> Trace {
        Trace { steps: None, details: true }
    }
    /// Details and every step (`explain`).
    pub fn on() -> Trace {
        Trace { steps: Some(Vec::new()), details: true }
    }
    fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(steps) = &mut self.steps {
            steps.push(line());
        }
    }
    /// Whether steps are written (some shortcuts would skip steps explain shows).
    fn stepping(&self) -> bool {
        self.steps.is_some()
    }
    /// A reason's detail, formatted only when details are asked for.
    fn detail(&self, text: impl FnOnce() -> String) -> Option<String> {
        self.details.then(text)
    }
    /// A reason, its detail formatted only when asked for.
    fn cause(&self, code: Code, text: impl FnOnce() -> String) -> Cause {
        Cause { code, detail: self.detail(text) }
    }
    pub fn into_steps(self) -> Vec<String> {
        self.steps.unwrap_or_default()
    }
}

/// How a legacy token's scopes are matched against the target.
enum ScopeTest {
    Endpoint(usize),
    Git { push: bool },
    Graphql { mutation: bool },
    Permissions,
}

/// One ref a request writes.
struct RefWrite {
    name: String,
    /// Whether the ref is created; `None` when the request does not say.
    create: Option<bool>,
    delete: bool,
    force: bool,
    /// Written by `git push` (protected refs are never deleted that way) rather
    /// than through the API.
    by_push: bool,
    /// A merge request merged into the ref: the protected `merge` level applies.
    merge: bool,
}

/// How a target is named in details and steps; formatted only when one is
/// written.
enum Label<'r> {
    Endpoint(usize),
    /// An object-addressed endpoint decided at the namespace the host named
    /// as its object's owner.
    Owned(usize, usize),
    Git {
        push: bool,
    },
    Permission(&'r str),
    Graphql(&'static str, &'r str),
    /// A GraphQL object field, by its path from the root field.
    Field(String),
}

/// What a request asks for, in the engine's terms.
struct Target<'r> {
    label: Label<'r>,
    required: Perms,
    boundary: Boundary,
    ns: Option<usize>,
    scope_test: ScopeTest,
    writes: Vec<RefWrite>,
    /// How the endpoint authenticates callers (always tokens outside REST).
    auth: Auth,
    /// What GitLab asks of the user instead of the permissions' own roles, when
    /// the catalog says (GraphQL fields only).
    user_rule: Option<UserRule>,
}

/// A user-side rule of a GraphQL field: a base role above the permissions'
/// own, or custom abilities that do instead.
struct UserRule {
    /// The lowest access level GitLab asks for, if more than the permissions'.
    role: Option<u8>,
    /// Ability indexes that let a member do it whatever their base role.
    abilities: Vec<usize>,
}

/// Which grants reach a target at one boundary.
#[derive(Clone, Copy)]
enum Wanted {
    /// Grants that reach this namespace so.
    Reach(usize, Reach),
    User,
    Instance,
}

/// A denial before the checks could run, its detail when one was written.
struct Refusal(Code, Option<String>);

/// A refusal whose detail is cheap next to what led to it (a rare path).
fn refusal(code: Code, detail: String) -> Refusal {
    Refusal(code, Some(detail))
}

/// The all-zero object id Git uses for "no object".
fn is_null_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}

/// `*` in a protected-ref name matches any run of characters.
fn glob_match(pattern: &str, name: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == name;
    };
    let Some(mut remaining) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('*').collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return remaining.len() >= part.len() && remaining.ends_with(part);
        }
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    true
}

impl Policy {
    /// Decides any request.
    pub fn decide(&self, request: &Request, trace: &mut Trace) -> Verdict<'_> {
        match request {
            Request::Permission(r) => self.decide_permission(r, trace),
            Request::Http(r) => self.decide_http(r, trace),
            Request::Git(r) => self.decide_git(r, trace),
        }
    }

    /// Decides a permission-shaped request.
    pub fn decide_permission(&self, r: &PermissionRequest, trace: &mut Trace) -> Verdict<'_> {
        trace.note(|| {
            format!("request: permission {} on {}", r.permission, r.namespace.as_deref().unwrap_or("(no namespace)"))
        });
        let target = self.permission_target(r);
        self.run(Some(&r.token), target, r.at, trace)
    }

    /// Decides a Git request.
    pub fn decide_git(&self, r: &GitRequest, trace: &mut Trace) -> Verdict<'_> {
        let push = matches!(r.service, GitService::ReceivePack(_));
        trace.note(|| format!("request: git-{} {}", if push { "receive-pack" } else { "upload-pack" }, r.project));
        let writes = match &r.service {
            GitService::UploadPack => Vec::new(),
            GitService::ReceivePack(updates) => updates
                .iter()
                .map(|u| RefWrite {
                    name: u.name.clone(),
                    create: if u.old_id.is_empty() { None } else { Some(is_null_id(&u.old_id)) },
                    delete: is_null_id(&u.new_id),
                    force: u.force,
                    by_push: true,
                    merge: false,
                })
                .collect(),
        };
        let target = match writes.iter().try_for_each(|w| crate::refname::check(&w.name)) {
            Ok(()) => self.git_target(&r.project, push, writes),
            Err(why) => Err(refusal(Code::MalformedRequest, why)),
        };
        self.run(Some(&r.token), target, r.at, trace)
    }

    /// Decides an HTTP request.
    pub fn decide_http(&self, r: &HttpRequest, trace: &mut Trace) -> Verdict<'_> {
        trace.note(|| format!("request: {} {}", r.method, reading::redact_target(&r.path)));
        let read = match http::check_method(&r.method)
            .map_err(|p| match p {
                HttpProblem::Malformed(why) | HttpProblem::Ambiguous(why) | HttpProblem::NotRouted(why) => {
                    ReadError::Malformed(why)
                }
            })
            .and_then(|()| reading::read(&r.method, &r.path, &r.headers, r.body.as_deref()))
        {
            Ok(read) => read,
            Err(ReadError::Malformed(why)) => return self.refuse(Code::MalformedRequest, Some(why), trace),
            Err(ReadError::Ambiguous(why)) => return self.refuse(Code::AmbiguousRequest, Some(why), trace),
        };
        if read.method != r.method {
            trace.note(|| format!("method override: decided as {}", read.method));
        }
        let target = match http::parse_target(&read.method, &read.path, &read.pairs) {
            Ok(parsed) => parsed,
            Err(HttpProblem::Malformed(why)) => return self.refuse(Code::MalformedRequest, Some(why), trace),
            Err(HttpProblem::Ambiguous(why)) => return self.refuse(Code::AmbiguousRequest, Some(why), trace),
            Err(HttpProblem::NotRouted(why)) => return self.refuse(Code::EndpointUnknown, Some(why), trace),
        };
        let read_token = match (&r.token, &read.token) {
            (None, Some(secret)) => Some(TokenRef::Secret(secret.clone())),
            _ => None,
        };
        let token = r.token.as_ref().or(read_token.as_ref());
        let target = match target {
            HttpTarget::Api { api_path } => {
                self.api_target(&read.method, api_path).and_then(|t| self.owned_target(t, r.owner.as_deref(), trace))
            }
            HttpTarget::Git { project, push } => self.git_target(&project, push, Vec::new()),
            HttpTarget::Graphql => return self.decide_graphql(&read, token, r.at, trace),
        };
        self.run(token, target, r.at, trace)
    }

    /// A GraphQL request is allowed only if every root field it executes is,
    /// and every object field below them ([`nested`]): each root field is decided
    /// like an endpoint, and the first denial decides. The request GitLab
    /// executes is read by [`reading`] (query string merged over the body) and
    /// handed to the GraphQL reader as one JSON document.
    fn decide_graphql(
        &self,
        read: &Reading,
        token: Option<&TokenRef>,
        at: Timestamp,
        trace: &mut Trace,
    ) -> Verdict<'_> {
        let document = match read.graphql_document() {
            Ok(document) => document,
            Err(ReadError::Malformed(why)) => return self.refuse(Code::MalformedRequest, Some(why), trace),
            Err(ReadError::Ambiguous(why)) => return self.refuse(Code::AmbiguousRequest, Some(why), trace),
        };
        let fields = match graphql::root_fields(&document) {
            Ok(fields) if fields.is_empty() => {
                return self.refuse(Code::MalformedRequest, Some("the GraphQL request selects no field".into()), trace);
            }
            Ok(fields) => fields,
            Err(err) => return self.refuse(Code::MalformedRequest, Some(format!("graphql: {err}")), trace),
        };
        if read.method != "POST" && fields.iter().any(|f| f.kind == OperationKind::Mutation) {
            let why = "GraphQL mutations must be sent with POST".to_owned();
            return self.refuse(Code::MalformedRequest, Some(why), trace);
        }
        trace.note(|| {
            let names: Vec<String> = fields.iter().map(|f| format!("{} {}", f.kind.name(), f.name)).collect();
            format!("graphql: root fields {}", names.join(", "))
        });
        let mut combined: Option<Verdict<'_>> = None;
        let mut checked = HashSet::new();
        for field in &fields {
            let target = self.graphql_target(field);
            let root = target.as_ref().ok().map(|t| (Place::of_root(t.boundary, t.ns), t.required.clone()));
            let decision = self.run(token, target, at, trace);
            if decision.effect == Effect::Deny {
                return decision;
            }
            merge(&mut combined, decision);
            let Some((place, root_perms)) = root else { continue };
            let mutation = field.kind == OperationKind::Mutation;
            let mut walk = Walk { policy: self, token, at, mutation, checked: &mut checked, allowed: Vec::new() };
            if let Err(denied) = walk.root(&field.name, place, &root_perms, &field.selections, trace) {
                return denied;
            }
            for decision in walk.allowed {
                merge(&mut combined, decision);
            }
        }
        combined.unwrap_or_else(|| {
            self.refuse(Code::MalformedRequest, Some("the GraphQL request selects no field".into()), trace)
        })
    }

    /// The target of one GraphQL root field: its mapped permissions, at the
    /// namespace its argument names.
    fn graphql_target<'r>(&self, field: &'r graphql::RootField) -> Result<Target<'r>, Refusal> {
        let label = format!("graphql {} {}", field.kind.name(), field.name);
        let kind = match field.kind {
            OperationKind::Query => GraphqlKind::Query,
            OperationKind::Mutation => GraphqlKind::Mutation,
            OperationKind::Subscription => {
                return Err(refusal(Code::EndpointUnknown, format!("{label}: subscriptions are not authorized here")));
            }
        };
        let index = *self
            .graphql_fields
            .get(&kind)
            .and_then(|fields| fields.get(field.name.as_str()))
            .ok_or_else(|| refusal(Code::EndpointUnknown, format!("no mapping for {label}")))?;
        let mapped = &self.catalog.graphql[index];
        let (boundary, ns) = match (&mapped.argument, mapped.boundary) {
            (Some(argument), Boundary::Project | Boundary::Group) => {
                let value = field.argument(argument).ok_or_else(|| {
                    refusal(Code::MalformedRequest, format!("{label}: argument {argument} is missing or not a string"))
                })?;
                let ns_kind = if mapped.boundary == Boundary::Project { NsKind::Project } else { NsKind::Group };
                match self.graphql_namespace(value, ns_kind) {
                    Ok(ns) => (mapped.boundary, Some(ns)),
                    // A project field whose argument may name a group as well.
                    Err(_) if mapped.group_path => {
                        (Boundary::Group, Some(self.graphql_namespace(value, NsKind::Group)?))
                    }
                    Err(refusal) => return Err(refusal),
                }
            }
            _ => (mapped.boundary, None),
        };
        Ok(Target {
            label: Label::Graphql(field.kind.name(), &field.name),
            required: Perms::from_slice(&self.graphql_perms[index]),
            boundary,
            ns,
            scope_test: ScopeTest::Graphql { mutation: kind == GraphqlKind::Mutation },
            writes: Vec::new(),
            auth: Auth::Token,
            user_rule: self.graphql_user_rule(mapped, field),
        })
    }

    /// The user-side rule of a mapped GraphQL field: its role, and its custom
    /// abilities when the field sets only the arguments they are limited to.
    fn graphql_user_rule(
        &self,
        mapped: &finegrain_catalog::GraphqlField,
        field: &graphql::RootField,
    ) -> Option<UserRule> {
        if mapped.role.is_none() && mapped.abilities.is_empty() {
            return None;
        }
        let limited = !mapped.ability_arguments.is_empty();
        let within = field
            .argument_paths()
            .all(|path| mapped.argument.as_deref() == Some(path) || mapped.ability_arguments.iter().any(|a| a == path));
        let abilities = if limited && !within {
            Vec::new()
        } else {
            mapped
                .abilities
                .iter()
                .filter_map(|name| {
                    let canonical = self.catalog.canonical_ability(name)?;
                    self.catalog.abilities.iter().position(|a| a.name == canonical)
                })
                .collect()
        };
        Some(UserRule { role: mapped.role, abilities })
    }

    /// A namespace named by a GraphQL argument: a full path, or a global id
    /// `gid://gitlab/Project/7` / `gid://gitlab/Group/5` of the expected kind.
    fn graphql_namespace(&self, value: &str, kind: NsKind) -> Result<usize, Refusal> {
        let Some(gid) = value.strip_prefix("gid://gitlab/") else {
            if value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(refusal(
                    Code::NamespaceUnknown,
                    format!("{value:?} is neither a full path nor a global id"),
                ));
            }
            return self.namespace_of_kind(value, kind);
        };
        let expected = if kind == NsKind::Project { "Project" } else { "Group" };
        match gid.split_once('/') {
            Some((model, id)) if model == expected && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                self.namespace_of_kind(id, kind)
            }
            _ => Err(refusal(
                Code::NamespaceUnknown,
                format!("global id {value:?} does not name a {}", expected.to_lowercase()),
            )),
        }
    }

    /// A deny for a request refused before the checks; the detail is kept
    /// only when details were asked for.
    fn refuse(&self, code: Code, detail: Option<String>, trace: &mut Trace) -> Verdict<'_> {
        let detail = detail.filter(|_| trace.details);
        trace.note(|| format!("denied: {}", detail.as_deref().unwrap_or(code.as_str())));
        let causes = smallvec::smallvec![Cause { code, detail }];
        self.verdict(Effect::Deny, causes, Perms::new(), None, None)
    }

    /// Whether the permissions delete a branch or tag (through the API), so
    /// that ref protection applies.
    fn deletes_ref(&self, required: &[PermId]) -> bool {
        required.iter().any(|p| matches!(self.perm_name(*p), "delete_branch" | "delete_repository_tag"))
    }

    /// The ids of the assignable permissions containing any of `required`,
    /// in name order.
    pub fn accepted_ids(&self, required: &[PermId]) -> SmallVec<[u16; 8]> {
        let mut ids: SmallVec<[u16; 8]> = required
            .iter()
            .flat_map(|p| &self.raw_to_assignable[usize::from(*p)])
            .filter_map(|a| u16::try_from(*a).ok())
            .collect();
        ids.sort_unstable_by(|a, b| {
            self.catalog.assignable[usize::from(*a)].name.cmp(&self.catalog.assignable[usize::from(*b)].name)
        });
        ids.dedup();
        ids
    }

    /// The assignable permissions containing any of `required`, sorted.
    pub fn accepted(&self, required: &[PermId]) -> Vec<&str> {
        let mut accepted: Vec<&str> = required
            .iter()
            .flat_map(|p| &self.raw_to_assignable[usize::from(*p)])
            .map(|a| self.catalog.assignable[*a].name.as_str())
            .collect();
        accepted.sort_unstable();
        accepted.dedup();
        accepted
    }

    fn verdict<'p>(
        &'p self,
        effect: Effect,
        causes: Causes,
        required: Perms,
        boundary: Option<Boundary>,
        ns: Option<usize>,
    ) -> Verdict<'p> {
        Verdict {
            effect,
            causes,
            required,
            boundary,
            namespace: ns.map(|n| self.namespaces[n].path.as_str()),
            revision: self.world.revision,
        }
    }

    /// A target's name, for details and steps.
    fn label(&self, label: &Label<'_>) -> String {
        match label {
            Label::Endpoint(e) => {
                let endpoint = &self.catalog.endpoints[*e];
                format!("{} /api/v4{}", endpoint.method, endpoint.path)
            }
            Label::Owned(e, ns) => {
                let endpoint = &self.catalog.endpoints[*e];
                let owner = &self.namespaces[*ns].path;
                format!("{} /api/v4{} (object owned by {owner}, as the host says)", endpoint.method, endpoint.path)
            }
            Label::Git { push } => format!("git {}", if *push { "push" } else { "fetch" }),
            Label::Permission(name) => format!("permission {name}"),
            Label::Graphql(kind, name) => format!("graphql {kind} {name}"),
            Label::Field(path) => path.clone(),
        }
    }

    pub fn perm_name(&self, id: PermId) -> &str {
        &self.catalog.permissions[usize::from(id)].name
    }

    fn namespace_of_kind(&self, name: &str, kind: NsKind) -> Result<usize, Refusal> {
        match self.lookup_namespace(name) {
            Some(ns) if self.namespaces[ns].kind == kind => Ok(ns),
            _ => {
                let what = if kind == NsKind::Project { "project" } else { "group" };
                Err(refusal(Code::NamespaceUnknown, format!("no {what} {name:?}")))
            }
        }
    }

    fn api_target<'r>(&self, method: &str, api_path: &'r str) -> Result<Target<'r>, Refusal> {
        let routed = self
            .router
            .route_grape(method, api_path)
            .map_err(|why| refusal(Code::AmbiguousRequest, why))?
            .ok_or_else(|| refusal(Code::EndpointUnknown, format!("no endpoint {method} /api/v4{api_path}")))?;
        let endpoint = &self.catalog.endpoints[routed.endpoint];
        let ns = match (endpoint.boundary, routed.boundary_value) {
            (Boundary::Project | Boundary::Group, Some(raw)) => {
                let name = http::percent_decode(raw).map_err(|why| refusal(Code::MalformedRequest, why))?;
                let kind = if endpoint.boundary == Boundary::Project { NsKind::Project } else { NsKind::Group };
                Some(self.namespace_of_kind(&name, kind)?)
            }
            _ => None,
        };
        let required = &self.endpoint_perms[routed.endpoint];
        let writes = match routed.ref_value {
            Some((prefix, raw)) if self.deletes_ref(required) => {
                let name = http::percent_decode(raw).map_err(|why| refusal(Code::MalformedRequest, why))?;
                let name = format!("{prefix}{name}");
                crate::refname::check(&name).map_err(|why| refusal(Code::MalformedRequest, why))?;
                vec![RefWrite { name, create: Some(false), delete: true, force: false, by_push: false, merge: false }]
            }
            _ => Vec::new(),
        };
        Ok(Target {
            label: Label::Endpoint(routed.endpoint),
            required: Perms::from_slice(required),
            boundary: endpoint.boundary,
            ns,
            scope_test: ScopeTest::Endpoint(routed.endpoint),
            writes,
            auth: endpoint.auth,
            user_rule: None,
        })
    }

    fn git_target(&self, project: &str, push: bool, writes: Vec<RefWrite>) -> Result<Target<'static>, Refusal> {
        let ns = self.namespace_of_kind(project, NsKind::Project)?;
        let needed = if push { self.push_code } else { self.download_code };
        let required =
            needed.ok_or_else(|| refusal(Code::PermissionUnknown, "the catalog lacks the Git permissions".into()))?;
        Ok(Target {
            label: Label::Git { push },
            required: smallvec::smallvec![required],
            boundary: Boundary::Project,
            ns: Some(ns),
            scope_test: ScopeTest::Git { push },
            writes,
            auth: Auth::Token,
            user_rule: None,
        })
    }

    fn permission_target<'r>(&self, r: &'r PermissionRequest) -> Result<Target<'r>, Refusal> {
        let (required, boundaries): (Perms, &[Boundary]) = if let Some(id) = self.perm_ids.get(&r.permission) {
            (smallvec::smallvec![*id], &self.catalog.permissions[usize::from(*id)].boundaries)
        } else if let Some(a) = self.assignable_ids.get(&r.permission) {
            (Perms::from_slice(&self.assignable_raw[*a]), &self.catalog.assignable[*a].boundaries)
        } else {
            return Err(refusal(Code::PermissionUnknown, format!("no permission {:?}", r.permission)));
        };
        let (ns, boundary) = match &r.namespace {
            Some(name) => {
                let ns = self
                    .lookup_namespace(name)
                    .filter(|ns| self.namespaces[*ns].kind != NsKind::Personal)
                    .ok_or_else(|| refusal(Code::NamespaceUnknown, format!("no group or project {name:?}")))?;
                let boundary =
                    if self.namespaces[ns].kind == NsKind::Project { Boundary::Project } else { Boundary::Group };
                (Some(ns), boundary)
            }
            None if boundaries.contains(&Boundary::User) => (None, Boundary::User),
            None => (None, Boundary::Instance),
        };
        let writes = match &r.ref_name {
            Some(name) if self.push_code.is_some_and(|p| required.contains(&p)) => {
                vec![RefWrite {
                    name: name.clone(),
                    create: None,
                    delete: false,
                    force: r.force,
                    by_push: true,
                    merge: false,
                }]
            }
            Some(name) if required.iter().any(|p| self.perm_name(*p) == "merge_merge_request") => {
                vec![RefWrite {
                    name: name.clone(),
                    create: None,
                    delete: false,
                    force: false,
                    by_push: false,
                    merge: true,
                }]
            }
            Some(name) if self.deletes_ref(&required) => {
                let name = if name.starts_with("refs/")
                    || !required.iter().any(|p| self.perm_name(*p) == "delete_repository_tag")
                {
                    name.clone()
                } else {
                    format!("refs/tags/{name}")
                };
                vec![RefWrite { name, create: Some(false), delete: true, force: false, by_push: false, merge: false }]
            }
            _ => Vec::new(),
        };
        for write in &writes {
            // A short name stands for a branch (or, for tag deletion, a tag).
            let full =
                if write.name.starts_with("refs/") { write.name.clone() } else { format!("refs/heads/{}", write.name) };
            crate::refname::check(&full).map_err(|why| refusal(Code::MalformedRequest, why))?;
        }
        Ok(Target {
            label: Label::Permission(&r.permission),
            required,
            boundary,
            ns,
            scope_test: ScopeTest::Permissions,
            writes,
            auth: Auth::Token,
            user_rule: None,
        })
    }

    /// Resolves the token and runs the checks.
    fn run(
        &self,
        token: Option<&TokenRef>,
        target: Result<Target<'_>, Refusal>,
        at: Timestamp,
        trace: &mut Trace,
    ) -> Verdict<'_> {
        if let Ok(target) = &target {
            match target.auth {
                Auth::Token => {}
                Auth::Anonymous => return self.run_anonymous(token, target, at, trace),
                Auth::Service => {
                    let detail = trace.detail(|| {
                        format!(
                            "{} is served to GitLab's own services, runners or CI jobs with their own credentials; \
                             access tokens are never accepted",
                            self.label(&target.label)
                        )
                    });
                    return self.refuse(Code::EndpointNotForTokens, detail, trace);
                }
            }
        }
        let token = match self.valid_token(token, at, trace) {
            Ok(token) => token,
            Err(Refusal(code, detail)) => return self.refuse(code, detail, trace),
        };
        let target = match target {
            Ok(target) => target,
            Err(Refusal(code, detail)) => return self.refuse(code, detail, trace),
        };
        trace.note(|| {
            let names: Vec<&str> = target.required.iter().map(|p| self.perm_name(*p)).collect();
            format!(
                "target: {} at the {} boundary{}; requires {}",
                self.label(&target.label),
                target.boundary.name(),
                target.ns.map(|n| format!(" of {}", self.namespaces[n].path)).unwrap_or_default(),
                names.join(", ")
            )
        });

        trace.note(|| {
            format!("expansion: assignable permissions that grant them: {}", self.accepted(&target.required).join(", "))
        });

        let mut causes = Causes::new();
        let decided = match self.token_covers(token, &target, at, trace) {
            Ok(boundary) => Some(boundary),
            Err(Refusal(code, detail)) => {
                causes.push(Cause { code, detail });
                None
            }
        };
        // The user's standing in the target namespace, computed once for the
        // user check and the protection check.
        let standing = target.ns.map(|ns| (ns, self.standing(token.user, ns, at)));
        let place = standing.as_ref().map(|(ns, s)| (*ns, s));
        if let Err(Refusal(code, detail)) = self.user_may(token.user, &target, place, trace) {
            causes.push(Cause { code, detail });
        }
        if let Some((ns, standing)) = place {
            for write in &target.writes {
                causes.extend(self.protection(ns, write, standing, self.users[token.user].admin, trace));
            }
        }
        let boundary = decided.or(Some(target.boundary));
        if causes.is_empty() {
            trace.note(|| "allowed".to_owned());
            causes.push(trace.cause(Code::Allowed, || {
                format!(
                    "{} allowed at the {} boundary",
                    self.label(&target.label),
                    boundary.map(|b| b.name()).unwrap_or("-")
                )
            }));
            self.verdict(Effect::Allow, causes, target.required, boundary, target.ns)
        } else {
            trace.note(|| "denied".to_owned());
            self.verdict(Effect::Deny, causes, target.required, boundary, target.ns)
        }
    }

    /// An endpoint GitLab serves without authentication: allowed, but a token
    /// that is sent must still be live (GitLab rejects a bad one).
    fn run_anonymous(
        &self,
        token: Option<&TokenRef>,
        target: &Target<'_>,
        at: Timestamp,
        trace: &mut Trace,
    ) -> Verdict<'_> {
        let sent = token.filter(|t| !matches!(t, TokenRef::Secret(s) | TokenRef::Name(s) if s.is_empty()));
        if sent.is_some()
            && let Err(Refusal(code, detail)) = self.valid_token(sent, at, trace)
        {
            return self.refuse(code, detail, trace);
        }
        trace.note(|| format!("target: {} is served without authentication", self.label(&target.label)));
        let cause =
            trace.cause(Code::Allowed, || format!("{} is served without authentication", self.label(&target.label)));
        self.verdict(Effect::Allow, smallvec::smallvec![cause], Perms::new(), Some(target.boundary), None)
    }

    /// Step 1: the token exists, is live, and its user is active.
    fn valid_token(&self, token: Option<&TokenRef>, at: Timestamp, trace: &mut Trace) -> Result<&TokenRec, Refusal> {
        let index = match token {
            None => return Err(Refusal(Code::TokenMissing, trace.detail(|| "the request carries no token".into()))),
            Some(TokenRef::Secret(secret) | TokenRef::Name(secret)) if secret.is_empty() => {
                return Err(Refusal(Code::TokenMissing, trace.detail(|| "the request carries an empty token".into())));
            }
            Some(TokenRef::Secret(secret)) => self.token_by_digest.get(&crate::world::secret_digest(secret)),
            Some(TokenRef::Name(name)) => self.token_by_name.get(name),
        };
        let Some(index) = index else {
            return Err(Refusal(Code::TokenUnknown, trace.detail(|| "no such token".into())));
        };
        let token = &self.tokens[*index];
        let user = &self.users[token.user];
        trace.note(|| format!("token: {:?} of user {:?}", token.name, user.username));
        if token.revoked {
            return Err(Refusal(Code::TokenRevoked, trace.detail(|| format!("token {:?} is revoked", token.name))));
        }
        if let Some(expires) = token.expires
            && expires <= at
        {
            let detail = trace.detail(|| format!("token {:?} expired at {expires}", token.name));
            return Err(Refusal(Code::TokenExpired, detail));
        }
        if !user.active {
            return Err(Refusal(Code::UserInactive, trace.detail(|| format!("user {:?} is blocked", user.username))));
        }
        Ok(token)
    }

    /// Step 2: the token's scopes or grants cover the target. Returns the
    /// boundary at which access was granted.
    fn token_covers(
        &self,
        token: &TokenRec,
        target: &Target<'_>,
        at: Timestamp,
        trace: &mut Trace,
    ) -> Result<Boundary, Refusal> {
        match &token.rights {
            TokenRights::Legacy(scopes) => {
                let covering = scopes.iter().find(|s| {
                    let scope = &self.catalog.legacy_scopes[**s];
                    match target.scope_test {
                        ScopeTest::Endpoint(e) => scope.covers_endpoint(&self.catalog.endpoints[e]),
                        ScopeTest::Git { push } => {
                            if push {
                                scope.git_push
                            } else {
                                scope.git_fetch
                            }
                        }
                        ScopeTest::Graphql { mutation } => scope.covers_graphql(mutation),
                        ScopeTest::Permissions => self.scope_perms[**s].contains_all(&target.required),
                    }
                });
                match covering {
                    Some(s) => {
                        trace.note(|| format!("token: legacy scope {} covers it", self.catalog.legacy_scopes[*s].name));
                        Ok(target.boundary)
                    }
                    None => {
                        let names = || {
                            let names: Vec<&str> =
                                scopes.iter().map(|s| self.catalog.legacy_scopes[*s].name.as_str()).collect();
                            names.join(", ")
                        };
                        trace.note(|| format!("token: legacy scopes [{}] do not cover it", names()));
                        let detail = trace.detail(|| {
                            format!("legacy scopes [{}] do not cover {}", names(), self.label(&target.label))
                        });
                        Err(Refusal(Code::TokenLacksPermission, detail))
                    }
                }
            }
            TokenRights::FineGrained(grants) => self.grants_cover(token, grants, target, at, trace),
        }
    }

    fn grants_cover(
        &self,
        token: &TokenRec,
        grants: &[crate::policy::GrantRec],
        target: &Target<'_>,
        at: Timestamp,
        trace: &mut Trace,
    ) -> Result<Boundary, Refusal> {
        // The boundaries to try, in order, and which grants reach the target there.
        let levels: &[(Boundary, Wanted)] = match (target.boundary, target.ns) {
            (Boundary::Project | Boundary::Group, Some(ns)) => {
                let own = if self.namespaces[ns].kind == NsKind::Project { Boundary::Project } else { Boundary::Group };
                &[(own, Wanted::Reach(ns, Reach::Direct)), (Boundary::Group, Wanted::Reach(ns, Reach::Ancestor))]
            }
            (Boundary::User, _) => &[(Boundary::User, Wanted::User)],
            _ => &[(Boundary::Instance, Wanted::Instance)],
        };
        let reaches = |grant: &&crate::policy::GrantRec, wanted: Wanted| match wanted {
            Wanted::Reach(ns, reach) => self.grant_reach(&grant.access, token.user, ns, at) == Some(reach),
            Wanted::User => matches!(grant.access, Access::User),
            Wanted::Instance => matches!(grant.access, Access::Instance),
        };
        // Grants add up, as in GitLab's `permitted_for_boundary?`: the raw
        // permissions of every grant that reaches the target are united before
        // they are compared with what the target requires (as `inspect` does).
        // The union is built only when no single grant holds them all.
        let mut united: Option<crate::permset::PermSet> = None;
        let mut covered_somewhere = false;
        for (boundary, wanted) in levels {
            let mut reached = false;
            for (g, grant) in grants.iter().filter(|g| reaches(g, *wanted)).enumerate() {
                reached = true;
                covered_somewhere = true;
                trace.note(|| format!("token: grant {} reaches it at the {} boundary", g + 1, boundary.name()));
                if united.is_none() && !trace.stepping() && grant.raw.contains_all(&target.required) {
                    return Ok(*boundary);
                }
                united.get_or_insert_with(Default::default).union_with(&grant.raw);
            }
            if reached && united.as_ref().is_some_and(|u| u.contains_all(&target.required)) {
                trace.note(|| {
                    format!(
                        "token: its grants together hold every required permission at the {} boundary",
                        boundary.name()
                    )
                });
                return Ok(*boundary);
            }
        }
        if covered_somewhere {
            let missing = || {
                let united = united.clone().unwrap_or_default();
                let missing: Vec<&str> =
                    target.required.iter().filter(|p| !united.contains(**p)).map(|p| self.perm_name(*p)).collect();
                missing.join(", ")
            };
            trace.note(|| format!("token: its grants together lack {}", missing()));
            let detail = trace.detail(|| format!("the token's grants lack {}", missing()));
            Err(Refusal(Code::TokenLacksPermission, detail))
        } else {
            let place = || {
                target.ns.map(|n| self.namespaces[n].path.clone()).unwrap_or_else(|| target.boundary.name().to_owned())
            };
            trace.note(|| format!("token: no grant covers {}", place()));
            let detail = trace.detail(|| format!("no grant of token {:?} covers {}", token.name, place()));
            Err(Refusal(Code::ScopeExcludesNamespace, detail))
        }
    }

    /// Step 3: the user holds every required permission (a token never exceeds
    /// its user).
    fn user_may(
        &self,
        user: usize,
        target: &Target<'_>,
        place: Option<(usize, &Standing)>,
        trace: &mut Trace,
    ) -> Result<(), Refusal> {
        let mut missing: SmallVec<[Cow<'_, str>; 2]> = target
            .required
            .iter()
            .filter(|p| !self.user_holds(user, **p, place, target.boundary))
            .map(|p| Cow::Borrowed(self.perm_name(*p)))
            .collect();
        if let (Some(rule), Some((_, standing))) = (&target.user_rule, place) {
            if let Some(a) = rule.abilities.iter().find(|a| standing.abilities.contains(a)) {
                let name = &self.catalog.abilities[*a].name;
                trace
                    .note(|| format!("user: the custom ability {name} lets a member do {}", self.label(&target.label)));
                missing.clear();
            } else if let Some(level) = rule.role
                && standing.level < level
                && !self.users[user].admin
            {
                missing.push(Cow::Owned(format!("the {} role GitLab asks for", finegrain_catalog::role_name(level))));
            }
        }
        let username = &self.users[user].username;
        let role = || match place {
            Some((ns, standing)) => {
                let abilities: Vec<&str> =
                    standing.abilities.iter().map(|a| self.catalog.abilities[*a].name.as_str()).collect();
                let crud: Vec<String> = standing.crud.iter().map(|(r, v)| format!("{r}:{}", v.name())).collect();
                format!(
                    "{} in {}{}{}",
                    finegrain_catalog::role_name(standing.level),
                    self.namespaces[ns].path,
                    if abilities.is_empty() {
                        String::new()
                    } else {
                        format!(", abilities [{}]", abilities.join(", "))
                    },
                    if crud.is_empty() { String::new() } else { format!(", verbs [{}]", crud.join(", ")) },
                )
            }
            None => {
                if self.users[user].admin {
                    "instance admin".to_owned()
                } else {
                    "signed-in user".to_owned()
                }
            }
        };
        if missing.is_empty() {
            trace.note(|| format!("user: {username:?} ({}) holds every required permission", role()));
            Ok(())
        } else {
            let detail = || format!("user {username:?} ({}) lacks {}", role(), missing.join(", "));
            trace.note(|| format!("user: {}", detail()));
            Err(Refusal(Code::UserLacksAbility, trace.detail(detail)))
        }
    }

    /// Step 4: default conditions and ref protection for one written ref.
    fn protection(
        &self,
        ns: usize,
        write: &RefWrite,
        standing: &Standing,
        admin: bool,
        trace: &mut Trace,
    ) -> Vec<Cause> {
        let project = &self.namespaces[ns];
        let may = |level: PushLevel| match level {
            PushLevel::NoOne => false,
            PushLevel::Developer => standing.push_level() >= level::DEVELOPER,
            PushLevel::Maintainer => standing.push_level() >= level::MAINTAINER,
            PushLevel::Admin => admin,
        };
        let mut reasons = Vec::new();
        if let Some(tag) = write.name.strip_prefix("refs/tags/") {
            let rules: Vec<_> = project.protected_tags.iter().filter(|r| glob_match(&r.name, tag)).collect();
            if rules.is_empty() {
                trace.note(|| format!("protection: tag {tag} is not protected"));
                return reasons;
            }
            let creating = write.create.unwrap_or(true) && !write.delete;
            if write.delete && !write.by_push {
                // GitLab's delete services ask for an ability an administrator holds.
                if standing.push_level() < level::MAINTAINER && !admin {
                    reasons.push(trace.cause(Code::TagProtected, || {
                        format!("deleting protected tag {tag} needs the maintainer role or the repository manage verb")
                    }));
                }
            } else if !creating {
                reasons.push(
                    trace.cause(Code::TagProtected, || {
                        format!("protected tag {tag} cannot be moved or deleted by a push")
                    }),
                );
            } else if !rules.iter().any(|r| may(r.create)) {
                reasons.push(
                    trace.cause(Code::TagProtected, || format!("creating protected tag {tag} needs a higher role")),
                );
            }
            trace.note(|| {
                format!(
                    "protection: tag {tag} is protected; {}",
                    if reasons.is_empty() { "creation allowed" } else { "refused" }
                )
            });
            return reasons;
        }
        let branch = write.name.strip_prefix("refs/heads/").unwrap_or(&write.name);
        let rules: Vec<_> = project.protected_branches.iter().filter(|r| glob_match(&r.name, branch)).collect();
        if rules.is_empty() {
            trace.note(|| {
                format!(
                    "protection: branch {branch} is not protected{}",
                    if write.force { "; force push allowed to writers" } else { "" }
                )
            });
            return reasons;
        }
        if write.merge {
            if !rules.iter().any(|r| may(r.merge)) {
                let levels: Vec<&str> = rules.iter().map(|r| r.merge.name()).collect();
                reasons.push(trace.cause(Code::BranchProtected, || {
                    format!("merging into protected branch {branch} needs merge level {}", levels.join(" or "))
                }));
            }
        } else if write.delete && !write.by_push {
            // GitLab's delete services ask for an ability an administrator holds.
            if standing.push_level() < level::MAINTAINER && !admin {
                reasons.push(trace.cause(Code::BranchProtected, || {
                    format!(
                        "deleting protected branch {branch} needs the maintainer role or the repository manage verb"
                    )
                }));
            }
        } else if write.delete {
            reasons.push(
                trace.cause(Code::BranchProtected, || format!("protected branch {branch} cannot be deleted by a push")),
            );
        } else if !rules.iter().any(|r| may(r.push)) {
            let levels: Vec<&str> = rules.iter().map(|r| r.push.name()).collect();
            reasons.push(trace.cause(Code::BranchProtected, || {
                format!("pushing to protected branch {branch} needs push level {}", levels.join(" or "))
            }));
        }
        if write.force && !rules.iter().all(|r| r.allow_force_push) {
            reasons.push(trace.cause(Code::ForcePushForbidden, || {
                format!("no role may force-push protected branch {branch}; its protection does not allow it")
            }));
        }
        trace.note(|| {
            format!(
                "protection: branch {branch} matches {}; {}",
                rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "),
                if reasons.is_empty() { "the push is allowed" } else { "the push is refused" }
            )
        });
        reasons
    }
}

/// Adds an allowed verdict to the verdicts of a request's other parts:
/// reasons and required permissions are united.
fn merge<'p>(combined: &mut Option<Verdict<'p>>, verdict: Verdict<'p>) {
    let Some(all) = combined else {
        *combined = Some(verdict);
        return;
    };
    all.causes.extend(verdict.causes);
    for p in verdict.required {
        if !all.required.contains(&p) {
            all.required.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns_match_like_protected_branch_wildcards() {
        assert!(glob_match("main", "main"));
        assert!(!glob_match("main", "main2"));
        assert!(glob_match("release/*", "release/1.0"));
        assert!(glob_match("release/*", "release/1.0/hotfix"));
        assert!(!glob_match("release/*", "releases/1.0"));
        assert!(glob_match("*-stable", "13-stable"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXcYYb"));
        assert!(glob_match("*", "anything"));
    }

    #[test]
    fn null_ids() {
        assert!(is_null_id("0000000000000000000000000000000000000000"));
        assert!(!is_null_id(""));
        assert!(!is_null_id("00a0"));
    }
}
