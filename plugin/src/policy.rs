//! A loaded policy: the bundle's catalog and world compiled into indexes, with
//! every cross-reference checked. Loading is the only place a world can be
//! rejected; after it, a check can only allow or deny.

use std::sync::Arc;

// Keys are interned names, ids and SHA-256 digests, looked up on every check:
// FxHash, not SipHash (no key here is chosen by a client to collide).
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use finegrain_catalog::{Boundary, Catalog, CrudVerb, GraphqlKind, MinRole, role_level};

use crate::api::Timestamp;
use crate::bundle;
use crate::permset::{PermId, PermSet};
use crate::router::Router;
use crate::tokens::{DigestIndex, NameIndex, TokenName, TokenTable};
use crate::world::{ProtectedBranch, ProtectedTag, Visibility, World};

mod tokens_load;

/// What kind of namespace a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsKind {
    Group,
    Project,
    /// A user's personal namespace (`alice`), parent of their personal projects.
    Personal,
}

/// A namespace with its place in the tree.
pub struct Ns {
    pub path: String,
    pub kind: NsKind,
    pub parent: Option<usize>,
    pub visibility: Visibility,
    /// The user owning the personal namespace this sits in, if any.
    pub personal_owner: Option<usize>,
    pub protected_branches: Vec<ProtectedBranch>,
    pub protected_tags: Vec<ProtectedTag>,
}

/// A role as held through a membership.
#[derive(Clone, Copy, Debug)]
pub enum HeldRole {
    Base(u8),
    Custom(usize),
}

/// A custom role, resolved.
pub struct Role {
    pub level: u8,
    /// Ability indexes (canonical).
    pub abilities: Vec<usize>,
    pub crud: Vec<(String, CrudVerb)>,
}

pub struct Membership {
    pub namespace: usize,
    pub role: HeldRole,
    pub expires: Option<Timestamp>,
}

pub struct UserRec {
    pub username: String,
    pub admin: bool,
    pub active: bool,
    pub memberships: Vec<Membership>,
}

/// How a grant reaches a namespace: naming it (or covering it by its kind), or
/// naming one of its ancestor groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    Direct,
    Ancestor,
}

/// Which namespaces a grant covers, resolved.
pub enum Access {
    PersonalProjects,
    AllMemberships,
    /// The selected namespaces: `Policy::grant_ns[start..end]`.
    Selected {
        start: u32,
        end: u32,
    },
    User,
    Instance,
}

pub struct GrantRec {
    pub access: Access,
    /// Raw permissions the grant's assignable permissions expand to, shared by
    /// every grant with the same permission list.
    pub raw: Arc<PermSet>,
    /// The permission list: an index into `Policy::grant_lists`.
    pub set: u32,
}

pub enum TokenRights {
    /// Legacy scope indexes, shared by every token with the same scopes.
    Legacy(Arc<[usize]>),
    FineGrained(Box<[GrantRec]>),
}

pub struct TokenRec {
    pub name: TokenName,
    pub user: usize,
    pub rights: TokenRights,
    pub expires: Option<Timestamp>,
    pub revoked: bool,
}

/// The catalog compiled once: permission ids, the router, the GraphQL tables,
/// what each legacy scope covers. Immutable and shared between the policies
/// `apply` makes, which recompile only the world.
pub struct Vocabulary {
    pub catalog: Catalog,
    pub router: Router,
    pub perm_ids: HashMap<String, PermId>,
    pub assignable_ids: HashMap<String, usize>,
    /// Raw permissions of each assignable permission.
    pub assignable_raw: Vec<Vec<PermId>>,
    /// Assignable permissions containing each raw permission.
    pub raw_to_assignable: Vec<Vec<usize>>,
    /// Ability indexes that grant each raw permission.
    pub perm_abilities: Vec<Vec<usize>>,
    /// Endpoint permissions as ids.
    pub endpoint_perms: Vec<Vec<PermId>>,
    /// GraphQL root fields by kind and name, and their permissions as ids.
    pub graphql_fields: HashMap<GraphqlKind, HashMap<String, usize>>,
    pub graphql_perms: Vec<Vec<PermId>>,
    /// GraphQL object fields by parent type and name (indexes into
    /// `catalog.graphql_types`), and the permission of each as an id.
    pub graphql_type_fields: HashMap<String, HashMap<String, usize>>,
    pub graphql_type_perms: Vec<Option<PermId>>,
    pub scope_ids: HashMap<String, usize>,
    /// Raw permissions each legacy scope covers in permission-shaped checks.
    pub scope_perms: Vec<PermSet>,
    pub download_code: Option<PermId>,
    pub push_code: Option<PermId>,
}

/// The compiled policy: the shared vocabulary, and the world's indexes.
pub struct Policy {
    pub vocabulary: Arc<Vocabulary>,
    /// The world's revision and small sections; its `tokens` is always empty:
    /// the tokens live in `tokens` and the indexes ([`Policy::world`] puts them
    /// back together).
    pub world: World,
    pub users: Vec<UserRec>,
    pub user_ids: HashMap<String, usize>,
    pub namespaces: Vec<Ns>,
    pub ns_by_path: HashMap<String, usize>,
    pub project_ids: HashMap<u64, usize>,
    pub group_ids: HashMap<u64, usize>,
    pub roles: Vec<Role>,
    pub tokens: Vec<TokenRec>,
    pub token_by_digest: DigestIndex,
    pub token_by_name: NameIndex,
    /// The namespaces selected by grants, each grant's a range of them.
    pub grant_ns: Vec<usize>,
    /// The assignable permission ids of each permission list grants refer to.
    pub grant_lists: Vec<Vec<usize>>,
}

/// A policy reads its vocabulary's tables as its own (`policy.router`,
/// `policy.catalog`): they are shared, not copied, between policies.
impl std::ops::Deref for Policy {
    type Target = Vocabulary;

    fn deref(&self) -> &Vocabulary {
        &self.vocabulary
    }
}

/// Checks a path of slash-separated segments: no empty, dot or odd segments.
fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

impl Policy {
    /// Decodes and compiles a bundle; its token table is read as it is.
    pub fn from_bytes(bytes: &[u8]) -> Result<Policy, String> {
        let payload = bundle::decode_payload(bytes)?;
        Policy::build(Arc::new(Vocabulary::compile(payload.catalog)?), payload.world, payload.tokens)
    }

    /// Compiles a catalog and a world; the error names the offending item as
    /// `section[index].field: problem`.
    pub fn new(catalog: Catalog, world: World) -> Result<Policy, String> {
        Policy::with_vocabulary(Arc::new(Vocabulary::compile(catalog)?), world)
    }

    /// Compiles a world against an already compiled vocabulary (`apply`).
    pub fn with_vocabulary(vocabulary: Arc<Vocabulary>, mut world: World) -> Result<Policy, String> {
        let tokens = TokenTable::from_tokens(&std::mem::take(&mut world.tokens));
        Policy::build(vocabulary, world, tokens)
    }

    /// Compiles a world without tokens, and its token table.
    fn build(vocabulary: Arc<Vocabulary>, world: World, tokens: TokenTable) -> Result<Policy, String> {
        let mut policy = Policy {
            vocabulary,
            users: Vec::new(),
            user_ids: HashMap::default(),
            namespaces: Vec::new(),
            ns_by_path: HashMap::default(),
            project_ids: HashMap::default(),
            group_ids: HashMap::default(),
            roles: Vec::new(),
            tokens: Vec::new(),
            token_by_digest: DigestIndex::default(),
            token_by_name: NameIndex::default(),
            grant_ns: Vec::new(),
            grant_lists: Vec::new(),
            world: World::default(),
        };
        policy.load_world(world, tokens)?;
        Ok(policy)
    }
}

impl Vocabulary {
    /// Compiles a catalog: validated, its names interned as ids, its routes
    /// and GraphQL fields indexed.
    pub fn compile(catalog: Catalog) -> Result<Vocabulary, String> {
        catalog.validate().map_err(|e| format!("catalog: {e}"))?;
        let router = Router::new(&catalog.endpoints)?;
        let perm_ids: HashMap<String, PermId> =
            catalog.permissions.iter().enumerate().map(|(i, p)| (p.name.clone(), i as PermId)).collect();
        if catalog.permissions.len() > usize::from(PermId::MAX) {
            return Err("catalog: too many permissions".into());
        }
        let perm = |name: &str| perm_ids.get(name).copied();
        let assignable_ids: HashMap<String, usize> =
            catalog.assignable.iter().enumerate().map(|(i, a)| (a.name.clone(), i)).collect();
        let assignable_raw: Vec<Vec<PermId>> =
            catalog.assignable.iter().map(|a| a.raw_permissions.iter().filter_map(|r| perm(r)).collect()).collect();
        let mut raw_to_assignable = vec![Vec::new(); catalog.permissions.len()];
        for (a, raws) in assignable_raw.iter().enumerate() {
            for raw in raws {
                raw_to_assignable[usize::from(*raw)].push(a);
            }
        }
        let ability_index = |name: &str| catalog.abilities.iter().position(|a| a.name == name);
        let perm_abilities =
            catalog.permissions.iter().map(|p| p.abilities.iter().filter_map(|a| ability_index(a)).collect()).collect();
        let endpoint_perms: Vec<Vec<PermId>> =
            catalog.endpoints.iter().map(|e| e.permissions.iter().filter_map(|p| perm(p)).collect()).collect();
        let mut graphql_fields: HashMap<GraphqlKind, HashMap<String, usize>> = HashMap::default();
        for (i, f) in catalog.graphql.iter().enumerate() {
            graphql_fields.entry(f.kind).or_default().insert(f.name.clone(), i);
        }
        let graphql_perms: Vec<Vec<PermId>> =
            catalog.graphql.iter().map(|f| f.permissions.iter().filter_map(|p| perm(p)).collect()).collect();
        let mut graphql_type_fields: HashMap<String, HashMap<String, usize>> = HashMap::default();
        for (i, f) in catalog.graphql_types.iter().enumerate() {
            graphql_type_fields.entry(f.parent.clone()).or_default().insert(f.field.clone(), i);
        }
        let graphql_type_perms = catalog.graphql_types.iter().map(|f| f.permission.as_deref().and_then(perm)).collect();
        let download_code = perm("download_code");
        let push_code = perm("push_code");
        let scope_ids = catalog.legacy_scopes.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        let scope_perms = catalog
            .legacy_scopes
            .iter()
            .map(|scope| {
                let mut set = PermSet::with_capacity(catalog.permissions.len());
                for (e, endpoint) in catalog.endpoints.iter().enumerate() {
                    if scope.covers_endpoint(endpoint) {
                        for p in &endpoint_perms[e] {
                            set.insert(*p);
                        }
                    }
                }
                for (flag, id) in [(scope.git_fetch, download_code), (scope.git_push, push_code)] {
                    if let (true, Some(id)) = (flag, id) {
                        set.insert(id);
                    }
                }
                set
            })
            .collect();

        Ok(Vocabulary {
            router,
            perm_ids,
            assignable_ids,
            assignable_raw,
            raw_to_assignable,
            perm_abilities,
            endpoint_perms,
            graphql_fields,
            graphql_perms,
            graphql_type_fields,
            graphql_type_perms,
            scope_ids,
            scope_perms,
            download_code,
            push_code,
            catalog,
        })
    }
}

impl Policy {
    fn load_world(&mut self, world: World, tokens: TokenTable) -> Result<(), String> {
        self.load_users(&world)?;
        self.load_namespaces(&world)?;
        self.load_roles(&world)?;
        self.load_members(&world)?;
        self.load_tokens(tokens)?;
        self.world = world;
        Ok(())
    }

    fn load_users(&mut self, world: &World) -> Result<(), String> {
        let mut ids = HashSet::default();
        for (i, user) in world.users.iter().enumerate() {
            if !valid_path(&user.username) || user.username.contains('/') {
                return Err(format!("users[{i}].username: {:?} is not a valid username", user.username));
            }
            if self.user_ids.insert(user.username.clone(), i).is_some() {
                return Err(format!("users[{i}].username: duplicate username {:?}", user.username));
            }
            if let Some(id) = user.id
                && !ids.insert(id)
            {
                return Err(format!("users[{i}].id: duplicate user id {id}"));
            }
            self.users.push(UserRec {
                username: user.username.clone(),
                admin: user.admin,
                active: user.active,
                memberships: Vec::new(),
            });
            // The personal namespace, owned without any membership entry.
            self.ns_by_path.insert(user.username.clone(), self.namespaces.len());
            self.namespaces.push(Ns {
                path: user.username.clone(),
                kind: NsKind::Personal,
                parent: None,
                visibility: Visibility::Private,
                personal_owner: Some(i),
                protected_branches: Vec::new(),
                protected_tags: Vec::new(),
            });
        }
        Ok(())
    }

    fn add_namespace(
        &mut self,
        place: &str,
        path: &str,
        kind: NsKind,
        visibility: Visibility,
    ) -> Result<usize, String> {
        if !valid_path(path) {
            return Err(format!("{place}.path: {path:?} is not a valid path"));
        }
        if let Some(existing) = self.ns_by_path.get(path) {
            let what = match self.namespaces[*existing].kind {
                NsKind::Personal => "a user's personal namespace",
                NsKind::Group => "a group",
                NsKind::Project => "a project",
            };
            return Err(format!("{place}.path: duplicate path {path:?} (already {what})"));
        }
        let parent = match path.rsplit_once('/') {
            None => None,
            Some((parent, _)) => match self.ns_by_path.get(parent) {
                Some(p) if self.namespaces[*p].kind != NsKind::Project => Some(*p),
                Some(_) => return Err(format!("{place}.path: {path:?} is inside project {parent:?}")),
                None => return Err(format!("{place}.path: parent {parent:?} of {path:?} is not a group or user")),
            },
        };
        if kind == NsKind::Group && parent.is_some_and(|p| self.namespaces[p].kind == NsKind::Personal) {
            return Err(format!("{place}.path: group {path:?} cannot live in a user's personal namespace"));
        }
        if kind == NsKind::Project && parent.is_none() {
            return Err(format!("{place}.path: project {path:?} needs a group or user before it"));
        }
        let personal_owner = parent.and_then(|p| self.namespaces[p].personal_owner);
        let index = self.namespaces.len();
        self.ns_by_path.insert(path.to_owned(), index);
        self.namespaces.push(Ns {
            path: path.to_owned(),
            kind,
            parent,
            visibility,
            personal_owner,
            protected_branches: Vec::new(),
            protected_tags: Vec::new(),
        });
        Ok(index)
    }

    fn load_namespaces(&mut self, world: &World) -> Result<(), String> {
        // Parents before children, whatever order the file lists them in.
        let mut groups: Vec<(usize, &crate::world::Group)> = world.groups.iter().enumerate().collect();
        groups.sort_by_key(|(_, g)| g.path.matches('/').count());
        for (i, group) in groups {
            let ns = self.add_namespace(&format!("groups[{i}]"), &group.path, NsKind::Group, group.visibility)?;
            if let Some(id) = group.id
                && self.group_ids.insert(id, ns).is_some()
            {
                return Err(format!("groups[{i}].id: duplicate group id {id}"));
            }
        }
        for (i, project) in world.projects.iter().enumerate() {
            let place = format!("projects[{i}]");
            let ns = self.add_namespace(&place, &project.path, NsKind::Project, project.visibility)?;
            if let Some(id) = project.id
                && self.project_ids.insert(id, ns).is_some()
            {
                return Err(format!("{place}.id: duplicate project id {id}"));
            }
            for (j, rule) in project.protected_branches.iter().enumerate() {
                if rule.name.is_empty() {
                    return Err(format!("{place}.protected_branches[{j}].name: empty branch name"));
                }
            }
            self.namespaces[ns].protected_branches = project.protected_branches.clone();
            self.namespaces[ns].protected_tags = project.protected_tags.clone();
        }
        Ok(())
    }

    fn load_roles(&mut self, world: &World) -> Result<(), String> {
        let mut names = HashSet::default();
        for (i, role) in world.custom_roles.iter().enumerate() {
            let place = format!("custom_roles[{i}]");
            if role_level(&role.name).is_some() || !names.insert(role.name.as_str()) {
                return Err(format!("{place}.name: duplicate role name {:?}", role.name));
            }
            let level = role_level(&role.base).filter(|l| (5..=50).contains(l)).ok_or_else(|| {
                format!("{place}.base: unknown base role {:?} (use minimal_access … owner)", role.base)
            })?;
            let mut abilities = Vec::new();
            for name in &role.abilities {
                let canonical = self
                    .catalog
                    .canonical_ability(name)
                    .ok_or_else(|| format!("{place}.abilities: unknown ability {name:?}"))?;
                let index = self.catalog.abilities.iter().position(|a| a.name == canonical).unwrap_or_default();
                abilities.push(index);
            }
            for ability in &abilities {
                let a = &self.catalog.abilities[*ability];
                for requirement in &a.requirements {
                    let listed = abilities.iter().any(|x| self.catalog.abilities[*x].name == *requirement);
                    let by_base = self.catalog.abilities.iter().find(|x| x.name == *requirement).is_some_and(|x| {
                        x.default_project_levels.contains(&level) || x.default_group_levels.contains(&level)
                    });
                    if !listed && !by_base {
                        return Err(format!(
                            "{place}.abilities: {:?} requires {requirement:?}, which role {:?} neither lists nor holds through base role {:?}",
                            a.name, role.name, role.base
                        ));
                    }
                }
            }
            for (resource, _) in &role.crud {
                if resource != "repository" {
                    return Err(format!("{place}: unknown CRUD resource {resource:?} (known: repository)"));
                }
            }
            self.roles.push(Role { level, abilities, crud: role.crud.clone() });
        }
        Ok(())
    }

    fn load_members(&mut self, world: &World) -> Result<(), String> {
        let mut seen = HashSet::default();
        for (i, member) in world.members.iter().enumerate() {
            let place = format!("members[{i}]");
            let user = *self
                .user_ids
                .get(&member.user)
                .ok_or_else(|| format!("{place}.user: unknown user {:?}", member.user))?;
            let ns = self
                .lookup_namespace(&member.namespace)
                .filter(|ns| self.namespaces[*ns].kind != NsKind::Personal)
                .ok_or_else(|| format!("{place}.in: unknown group or project {:?}", member.namespace))?;
            let role = role_level(&member.role)
                .filter(|l| *l < 60)
                .map(HeldRole::Base)
                .or_else(|| world.custom_roles.iter().position(|r| r.name == member.role).map(HeldRole::Custom))
                .ok_or_else(|| format!("{place}.role: unknown role {:?}", member.role))?;
            if !seen.insert((user, ns)) {
                return Err(format!("{place}: {:?} already has a membership in {:?}", member.user, member.namespace));
            }
            self.users[user].memberships.push(Membership { namespace: ns, role, expires: member.expires });
        }
        Ok(())
    }

    /// Finds a namespace by full path or numeric id (projects first).
    pub fn lookup_namespace(&self, name: &str) -> Option<usize> {
        if let Ok(id) = name.parse::<u64>() {
            return self.project_ids.get(&id).or_else(|| self.group_ids.get(&id)).copied();
        }
        self.ns_by_path.get(name).copied()
    }

    /// The namespace and its ancestors, nearest first.
    pub fn ancestry(&self, ns: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(ns), |n| self.namespaces[*n].parent)
    }

    /// What a user holds in a namespace at a time.
    pub fn standing(&self, user: usize, ns: usize, at: Timestamp) -> Standing<'_> {
        let u = &self.users[user];
        let mut standing = Standing { level: 0, member_level: 0, abilities: Vec::new(), crud: Vec::new() };
        if self.namespaces[ns].personal_owner == Some(user) {
            standing.level = standing.level.max(finegrain_catalog::level::OWNER);
        }
        for m in &u.memberships {
            if m.expires.is_some_and(|e| e <= at) || !self.ancestry(ns).any(|a| a == m.namespace) {
                continue;
            }
            match m.role {
                HeldRole::Base(level) => standing.level = standing.level.max(level),
                HeldRole::Custom(r) => {
                    let role = &self.roles[r];
                    standing.level = standing.level.max(role.level);
                    standing.abilities.extend(role.abilities.iter().copied());
                    standing.crud.extend(role.crud.iter().map(|(res, verb)| (res.as_str(), *verb)));
                }
            }
        }
        standing.member_level = standing.level;
        if u.admin {
            standing.level = standing.level.max(finegrain_catalog::level::ADMIN);
        }
        standing
    }

    /// Whether a grant of `user`'s token covers namespace `ns`, and how.
    pub fn grant_reach(&self, access: &Access, user: usize, ns: usize, at: Timestamp) -> Option<Reach> {
        match access {
            Access::PersonalProjects => (self.namespaces[ns].kind == NsKind::Project
                && self.namespaces[ns].personal_owner == Some(user))
            .then_some(Reach::Direct),
            Access::AllMemberships => self.can_access(user, ns, at).then_some(Reach::Direct),
            Access::Selected { start, end } => {
                let ids = &self.grant_ns[*start as usize..*end as usize];
                if ids.contains(&ns) {
                    Some(Reach::Direct)
                } else {
                    self.ancestry(ns).skip(1).any(|n| ids.contains(&n)).then_some(Reach::Ancestor)
                }
            }
            Access::User | Access::Instance => None,
        }
    }

    /// Whether a user can see a namespace: as a member (guest and up), by its
    /// visibility, or as an administrator.
    pub fn can_access(&self, user: usize, ns: usize, at: Timestamp) -> bool {
        match self.namespaces[ns].visibility {
            Visibility::Public | Visibility::Internal => true,
            Visibility::Private => self.standing(user, ns, at).level >= finegrain_catalog::level::GUEST,
        }
    }

    /// Whether a user holds a raw permission in a namespace, given their
    /// standing there (computed once by the caller), or, with `None`, at user or
    /// instance level.
    /// Whether the user holds a raw permission: in a namespace (`place`), by role,
    /// ability, CRUD verb or visibility; otherwise at the `boundary` of a
    /// request that names no namespace.
    pub fn user_holds(&self, user: usize, perm: PermId, place: Option<(usize, &Standing)>, boundary: Boundary) -> bool {
        let p = &self.catalog.permissions[usize::from(perm)];
        let u = &self.users[user];
        let Some((ns, standing)) = place else {
            if u.admin {
                return true;
            }
            // No namespace names a role to check. At the user boundary the
            // request is about the user themself: any active user holds it. At
            // the instance boundary only what the catalog gives every signed-in
            // user (`authenticated`) is held; anything asking for a role there
            // (a route that finds its project from an object, or instance-wide
            // administration) fails closed to administrators.
            return match p.min_role {
                MinRole::Authenticated => true,
                MinRole::Level(level) => boundary == Boundary::User && level != finegrain_catalog::level::ADMIN,
            };
        };
        let min_role = match (self.namespaces[ns].kind, p.group_min_role) {
            (NsKind::Group, Some(in_groups)) => in_groups,
            _ => p.min_role,
        };
        let by_role = match min_role {
            MinRole::Authenticated => true,
            MinRole::Level(level) => standing.level >= level,
        };
        by_role
            || self.perm_abilities[usize::from(perm)].iter().any(|a| standing.abilities.contains(a))
            || p.crud.as_ref().is_some_and(|(resource, needed)| {
                standing.crud.iter().any(|(res, held)| res == resource && held.includes(*needed))
            })
            || (p.public_read
                && match self.namespaces[ns].visibility {
                    Visibility::Public | Visibility::Internal => true,
                    Visibility::Private => false,
                })
    }
}

/// A user's role, abilities and CRUD verbs in one namespace.
pub struct Standing<'a> {
    /// The highest level held, administration included.
    pub level: u8,
    /// The highest level held as a member (or personal owner): what protected
    /// ref levels compare, since an administrator is not a project member.
    pub member_level: u8,
    pub abilities: Vec<usize>,
    pub crud: Vec<(&'a str, CrudVerb)>,
}

impl Standing<'_> {
    /// The level that counts against a protected ref's push and merge
    /// settings: the membership level, as GitLab compares it (an instance
    /// administrator passes only a level that names administrators); a CRUD
    /// `manage` on the repository pushes like a maintainer.
    pub fn push_level(&self) -> u8 {
        let manages = self.crud.iter().any(|(res, verb)| *res == "repository" && *verb == CrudVerb::Manage);
        if manages { self.member_level.max(finegrain_catalog::level::MAINTAINER) } else { self.member_level }
    }
}
