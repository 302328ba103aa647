//! Writes a [`World`] back out as a world file (docs/world-files.md), the inverse of
//! `world_file::parse`. Tokens carry `digest: sha256:<hex>` instead of a secret
//! (a store keeps only digests), which `world_file` reads back, so an exported
//! world re-imports and loads as it was.

use finegrain_host::World;
use finegrain_host::api::{GrantAccess, TokenKind};
use finegrain_host::time::format_timestamp;
use serde::Serialize;

#[derive(Serialize)]
struct FileOut {
    users: Vec<UserOut>,
    groups: Vec<GroupOut>,
    projects: Vec<ProjectOut>,
    custom_roles: Vec<RoleOut>,
    members: Vec<MemberOut>,
    tokens: Vec<TokenOut>,
}

#[derive(Serialize)]
struct UserOut {
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "is_false")]
    admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
}

#[derive(Serialize)]
struct GroupOut {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    visibility: &'static str,
}

#[derive(Serialize)]
struct BranchOut {
    name: String,
    push: &'static str,
    merge: &'static str,
    #[serde(skip_serializing_if = "is_false")]
    allow_force_push: bool,
}

#[derive(Serialize)]
struct TagOut {
    name: String,
    create: &'static str,
}

#[derive(Serialize)]
struct ProjectOut {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    visibility: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    protected_branches: Vec<BranchOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    protected_tags: Vec<TagOut>,
}

#[derive(Serialize)]
struct RoleOut {
    name: String,
    base: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    abilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<&'static str>,
}

#[derive(Serialize)]
struct MemberOut {
    user: String,
    #[serde(rename = "in")]
    namespace: String,
    role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
}

#[derive(Serialize)]
struct GrantOut {
    access: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    namespaces: Vec<String>,
    permissions: Vec<String>,
}

#[derive(Serialize)]
struct TokenOut {
    name: String,
    user: String,
    digest: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    grants: Vec<GrantOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    revoked: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A date when the time is midnight UTC (how world files write expiries), else
/// RFC 3339.
fn when(t: Option<i64>) -> Option<String> {
    t.map(|t| {
        let full = format_timestamp(t);
        if t.rem_euclid(86_400) == 0 { full[..10].to_owned() } else { full }
    })
}

/// `sha256:` and the digest in lower-case hex.
pub fn digest_text(digest: &[u8]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The world as YAML in the world-file format (docs/world-files.md).
pub fn to_yaml(world: &World) -> Result<String, yaml_serde::Error> {
    let file = FileOut {
        users: world
            .users
            .iter()
            .map(|u| UserOut {
                username: u.username.clone(),
                id: u.id,
                admin: u.admin,
                state: (!u.active).then_some("blocked"),
            })
            .collect(),
        groups: world
            .groups
            .iter()
            .map(|g| GroupOut { path: g.path.clone(), id: g.id, visibility: g.visibility.name() })
            .collect(),
        projects: world
            .projects
            .iter()
            .map(|p| ProjectOut {
                path: p.path.clone(),
                id: p.id,
                visibility: p.visibility.name(),
                protected_branches: p
                    .protected_branches
                    .iter()
                    .map(|b| BranchOut {
                        name: b.name.clone(),
                        push: b.push.name(),
                        merge: b.merge.name(),
                        allow_force_push: b.allow_force_push,
                    })
                    .collect(),
                protected_tags: p
                    .protected_tags
                    .iter()
                    .map(|t| TagOut { name: t.name.clone(), create: t.create.name() })
                    .collect(),
            })
            .collect(),
        custom_roles: world
            .custom_roles
            .iter()
            .map(|r| RoleOut {
                name: r.name.clone(),
                base: r.base.clone(),
                abilities: r.abilities.clone(),
                repository: r.crud.iter().find(|(res, _)| res == "repository").map(|(_, verb)| verb.name()),
            })
            .collect(),
        members: world
            .members
            .iter()
            .map(|m| MemberOut {
                user: m.user.clone(),
                namespace: m.namespace.clone(),
                role: m.role.clone(),
                expires: when(m.expires),
            })
            .collect(),
        tokens: world
            .tokens
            .iter()
            .map(|t| {
                let (kind, scopes, grants) = match &t.kind {
                    TokenKind::Legacy(scopes) => ("legacy", scopes.clone(), Vec::new()),
                    TokenKind::FineGrained(grants) => (
                        "fine_grained",
                        Vec::new(),
                        grants
                            .iter()
                            .map(|g| GrantOut {
                                access: g.access.name(),
                                namespaces: match &g.access {
                                    GrantAccess::SelectedMemberships(paths) => paths.clone(),
                                    _ => Vec::new(),
                                },
                                permissions: g.permissions.clone(),
                            })
                            .collect(),
                    ),
                };
                TokenOut {
                    name: t.name.clone(),
                    user: t.user.clone(),
                    digest: digest_text(&t.digest),
                    kind,
                    scopes,
                    grants,
                    expires: when(t.expires),
                    revoked: t.revoked,
                }
            })
            .collect(),
    };
    let yaml = yaml_serde::to_string(&file)?;
    Ok(format!("# finegrain world exported from a store; tokens carry digests, not secrets.\n{yaml}"))
}
