//! Conversions between the engine's native types (the host library's public
//! vocabulary) and the types wasmtime generates from `wit/authz.wit`.

use finegrain_engine::api as native;

use crate::runtime::wit;
use crate::runtime::wit_updates;

pub fn token_ref(t: &native::TokenRef) -> wit::TokenRef {
    match t {
        native::TokenRef::Secret(s) => wit::TokenRef::Secret(s.clone()),
        native::TokenRef::Name(n) => wit::TokenRef::Name(n.clone()),
    }
}

pub fn permission_request(r: &native::PermissionRequest) -> wit::PermissionRequest {
    wit::PermissionRequest {
        token: token_ref(&r.token),
        permission: r.permission.clone(),
        namespace: r.namespace.clone(),
        ref_name: r.ref_name.clone(),
        force: r.force,
        at: r.at,
    }
}

pub fn http_request(r: &native::HttpRequest) -> wit::HttpRequest {
    wit::HttpRequest {
        token: r.token.as_ref().map(token_ref),
        method: r.method.clone(),
        path: r.path.clone(),
        headers: r
            .headers
            .iter()
            .map(|(name, value)| wit::Header { name: name.clone(), value: value.clone() })
            .collect(),
        body: r.body.clone(),
        owner: r.owner.clone(),
        at: r.at,
    }
}

pub fn git_request(r: &native::GitRequest) -> wit::GitRequest {
    wit::GitRequest {
        token: token_ref(&r.token),
        project: r.project.clone(),
        service: match &r.service {
            native::GitService::UploadPack => wit::GitService::UploadPack,
            native::GitService::ReceivePack(updates) => wit::GitService::ReceivePack(
                updates
                    .iter()
                    .map(|u| wit::RefUpdate {
                        old_id: u.old_id.clone(),
                        new_id: u.new_id.clone(),
                        name: u.name.clone(),
                        force: u.force,
                    })
                    .collect(),
            ),
        },
        at: r.at,
    }
}

pub fn request(r: &native::Request) -> wit::Request {
    match r {
        native::Request::Permission(p) => wit::Request::Permission(permission_request(p)),
        native::Request::Http(h) => wit::Request::Http(http_request(h)),
        native::Request::Git(g) => wit::Request::Git(git_request(g)),
    }
}

fn boundary(b: wit::Boundary) -> native::Boundary {
    match b {
        wit::Boundary::Project => native::Boundary::Project,
        wit::Boundary::Group => native::Boundary::Group,
        wit::Boundary::User => native::Boundary::User,
        wit::Boundary::Instance => native::Boundary::Instance,
    }
}

/// The names of the permission ids in decisions, read from the component once
/// per load (`permission-names`).
#[derive(Clone, Debug, Default)]
pub struct Names {
    raw: Vec<String>,
    assignable: Vec<String>,
}

impl Names {
    pub fn new(names: wit::PermissionNames) -> Names {
        Names { raw: names.raw, assignable: names.assignable }
    }
}

/// A WIT decision with its ids named; `None` when the component named an id
/// outside its own table (a broken component: the caller fails closed).
pub fn decision(d: wit::Decision, names: &Names) -> Option<native::Decision> {
    let name = |table: &[String], id: u16| table.get(usize::from(id)).cloned();
    Some(native::Decision {
        effect: match d.effect {
            wit::Effect::Allow => native::Effect::Allow,
            wit::Effect::Deny => native::Effect::Deny,
        },
        reasons: d
            .reasons
            .into_iter()
            .map(|r| native::Reason { code: reason_code(r.code).as_str().to_owned(), detail: r.detail })
            .collect(),
        required_permissions: d.required_permissions.iter().map(|id| name(&names.raw, *id)).collect::<Option<_>>()?,
        accepted_permissions: d
            .accepted_permissions
            .iter()
            .map(|id| name(&names.assignable, *id))
            .collect::<Option<_>>()?,
        boundary: d.boundary.map(boundary),
        namespace: d.namespace,
        revision: d.revision,
    })
}

fn reason_code(code: wit::ReasonCode) -> native::Code {
    use native::Code as C;
    use wit::ReasonCode as W;
    match code {
        W::Allowed => C::Allowed,
        W::TokenMissing => C::TokenMissing,
        W::TokenUnknown => C::TokenUnknown,
        W::TokenRevoked => C::TokenRevoked,
        W::TokenExpired => C::TokenExpired,
        W::UserInactive => C::UserInactive,
        W::MalformedRequest => C::MalformedRequest,
        W::AmbiguousRequest => C::AmbiguousRequest,
        W::EndpointUnknown => C::EndpointUnknown,
        W::EndpointNotForTokens => C::EndpointNotForTokens,
        W::PermissionUnknown => C::PermissionUnknown,
        W::NamespaceUnknown => C::NamespaceUnknown,
        W::ScopeExcludesNamespace => C::ScopeExcludesNamespace,
        W::TokenLacksPermission => C::TokenLacksPermission,
        W::UserLacksAbility => C::UserLacksAbility,
        W::BranchProtected => C::BranchProtected,
        W::TagProtected => C::TagProtected,
        W::ForcePushForbidden => C::ForcePushForbidden,
    }
}

pub fn token_report(r: wit::TokenReport) -> native::TokenReport {
    native::TokenReport {
        name: r.name,
        user: r.user,
        kind: r.kind,
        status: r.status,
        expires: r.expires,
        scopes: r.scopes,
        access: r
            .access
            .into_iter()
            .map(|e| native::AccessEntry {
                boundary: boundary(e.boundary),
                namespace: e.namespace,
                permissions: e.permissions,
            })
            .collect(),
    }
}

pub fn update(u: &native::Update) -> wit_updates::Update {
    match u {
        native::Update::AddToken(t) => wit_updates::Update::AddToken(wit_updates::NewToken {
            name: t.name.clone(),
            user: t.user.clone(),
            digest: t.digest.clone(),
            kind: match &t.kind {
                native::TokenKind::Legacy(scopes) => wit_updates::TokenKind::Legacy(scopes.clone()),
                native::TokenKind::FineGrained(grants) => wit_updates::TokenKind::FineGrained(
                    grants
                        .iter()
                        .map(|g| wit_updates::Grant {
                            access: match &g.access {
                                native::GrantAccess::PersonalProjects => wit_updates::GrantAccess::PersonalProjects,
                                native::GrantAccess::AllMemberships => wit_updates::GrantAccess::AllMemberships,
                                native::GrantAccess::SelectedMemberships(p) => {
                                    wit_updates::GrantAccess::SelectedMemberships(p.clone())
                                }
                                native::GrantAccess::User => wit_updates::GrantAccess::User,
                                native::GrantAccess::Instance => wit_updates::GrantAccess::Instance,
                            },
                            permissions: g.permissions.clone(),
                        })
                        .collect(),
                ),
            },
            expires: t.expires,
        }),
        native::Update::RevokeToken(name) => wit_updates::Update::RevokeToken(name.clone()),
        native::Update::AddMembership(m) => wit_updates::Update::AddMembership(wit_updates::Membership {
            user: m.user.clone(),
            namespace: m.namespace.clone(),
            role: m.role.clone(),
            expires: m.expires,
        }),
        native::Update::RemoveMembership(user, ns) => wit_updates::Update::RemoveMembership((user.clone(), ns.clone())),
    }
}
