//! The catalog's typed structures. They are plain data (serde), shared by the
//! host, which builds bundles, and the engine, which evaluates requests.

use serde::{Deserialize, Serialize};

/// Where a permission or a token grant applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    Project,
    Group,
    User,
    Instance,
}

impl Boundary {
    /// All boundaries, in the order fine-grained grants are tried.
    pub const ORDER: [Boundary; 4] = [Boundary::Project, Boundary::Group, Boundary::User, Boundary::Instance];

    /// The lower-case name used in data files and decisions.
    pub fn name(self) -> &'static str {
        match self {
            Boundary::Project => "project",
            Boundary::Group => "group",
            Boundary::User => "user",
            Boundary::Instance => "instance",
        }
    }

    /// Parses a lower-case boundary name.
    pub fn parse(name: &str) -> Option<Boundary> {
        Boundary::ORDER.into_iter().find(|b| b.name() == name)
    }
}

/// GitLab's base access levels, by name. One source of truth for role names.
pub const ROLE_LEVELS: [(&str, u8); 10] = [
    ("no_access", 0),
    ("minimal_access", 5),
    ("guest", 10),
    ("planner", 15),
    ("reporter", 20),
    ("security_manager", 25),
    ("developer", 30),
    ("maintainer", 40),
    ("owner", 50),
    ("admin", 60),
];

/// Access levels used by the engine's own rules.
pub mod level {
    pub const GUEST: u8 = 10;
    pub const DEVELOPER: u8 = 30;
    pub const MAINTAINER: u8 = 40;
    pub const OWNER: u8 = 50;
    pub const ADMIN: u8 = 60;
}

/// The access level of a base role name (`developer` → 30).
pub fn role_level(name: &str) -> Option<u8> {
    ROLE_LEVELS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

/// The base role name of an access level (30 → `developer`).
pub fn role_name(level: u8) -> &'static str {
    ROLE_LEVELS.iter().rev().find(|(_, l)| *l <= level).map(|(n, _)| *n).unwrap_or("no_access")
}

/// The lowest standing that holds a raw permission without a custom role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MinRole {
    /// Any signed-in, active user (permissions about oneself).
    Authenticated,
    /// A base access level in the target namespace (60 = instance admin only).
    Level(u8),
}

/// The CRUD verbs of a custom role: manage ⊇ write ⊇ view, manage ⊇ delete ⊇ view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CrudVerb {
    View,
    Write,
    Delete,
    Manage,
}

impl CrudVerb {
    /// The lower-case name used in data and world files.
    pub fn name(self) -> &'static str {
        match self {
            CrudVerb::View => "view",
            CrudVerb::Write => "write",
            CrudVerb::Delete => "delete",
            CrudVerb::Manage => "manage",
        }
    }

    /// Parses a lower-case verb name.
    pub fn parse(name: &str) -> Option<CrudVerb> {
        [CrudVerb::View, CrudVerb::Write, CrudVerb::Delete, CrudVerb::Manage].into_iter().find(|v| v.name() == name)
    }

    /// Whether holding `self` grants `needed`.
    pub fn includes(self, needed: CrudVerb) -> bool {
        use CrudVerb::*;
        matches!((self, needed), (Manage, _) | (Write, Write | View) | (Delete, Delete | View) | (View, View))
    }
}

/// A raw permission: what an endpoint requires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    pub name: String,
    pub resource: String,
    pub action: String,
    pub category: String,
    pub boundaries: Vec<Boundary>,
    /// The user side: the lowest base role that holds it.
    pub min_role: MinRole,
    /// In a group, when GitLab's group policy asks for more than `min_role`
    /// (group runners, variables, deploy tokens, members: owner).
    pub group_min_role: Option<MinRole>,
    /// Custom abilities that grant it below `min_role`.
    pub abilities: Vec<String>,
    /// The CRUD verb on a resource that grants it: `("repository", View)`.
    pub crud: Option<(String, CrudVerb)>,
    /// Non-members may hold it through the namespace's visibility.
    pub public_read: bool,
    /// GitLab's permission, or one created here for an operation GitLab has not
    /// annotated.
    pub origin: Origin,
}

/// An assignable permission: what a user selects for a fine-grained token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignable {
    pub name: String,
    pub category: String,
    pub resource: String,
    pub action: String,
    pub boundaries: Vec<Boundary>,
    /// The raw permissions it expands to.
    pub raw_permissions: Vec<String>,
    /// GitLab's assignable permission, or one created here.
    pub origin: Origin,
}

/// Where a catalog entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// GitLab's own data (an annotated operation, a GitLab permission).
    Gitlab,
    /// Assigned by finegrain, following GitLab's conventions.
    Assigned,
}

impl Origin {
    /// The spelling used in the data files: `gitlab` or `assigned`.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Gitlab => "gitlab",
            Origin::Assigned => "assigned",
        }
    }

    /// Parses a data-file spelling.
    pub fn parse(name: &str) -> Option<Origin> {
        [Origin::Gitlab, Origin::Assigned].into_iter().find(|o| o.name() == name)
    }
}

/// How GitLab authenticates callers of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Auth {
    /// Access tokens: the endpoint's permissions are checked.
    Token,
    /// Served without authentication; a token, when sent, must still be live.
    Anonymous,
    /// Served to GitLab's own components, runners or jobs with their own
    /// credentials; an access token is never accepted.
    Service,
}

impl Auth {
    /// The spelling used in the data files.
    pub fn name(self) -> &'static str {
        match self {
            Auth::Token => "token",
            Auth::Anonymous => "anonymous",
            Auth::Service => "service",
        }
    }

    /// Parses a data-file spelling.
    pub fn parse(name: &str) -> Option<Auth> {
        [Auth::Token, Auth::Anonymous, Auth::Service].into_iter().find(|a| a.name() == name)
    }
}

/// One REST operation under `/api/v4`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub method: String,
    /// The path template: `/projects/:id/repository/branches/:branch`.
    pub path: String,
    pub permissions: Vec<String>,
    pub boundary: Boundary,
    /// The path parameter naming the project or group (`id`); none for user and
    /// instance endpoints.
    pub boundary_param: Option<String>,
    pub origin: Origin,
    /// Who may call it: token holders, anyone, or GitLab's own services.
    pub auth: Auth,
    /// The operation's path as the reference writes it (`/groups/:id/(-/)search`);
    /// optional groups make several templates of one operation.
    pub reference: String,
    /// For an object-addressed endpoint at the instance boundary
    /// (`/runners/:id`): how it is decided when the host names the project or
    /// group that owns the object. `None`: always at the instance boundary.
    #[serde(default)]
    pub owner: Option<OwnerRule>,
}

/// How an object-addressed endpoint is decided at the namespace that owns its
/// object (`catalog/rules/object_owners.tsv`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OwnerRule {
    /// The raw permissions needed at the owner.
    pub permissions: Vec<String>,
    /// What the owner may be: [`Boundary::Project`], [`Boundary::Group`] or both.
    pub boundaries: Vec<Boundary>,
}

/// A named parameter in one segment of a path template: `:id`, or one with a
/// literal prefix or suffix inside the segment (`binary-:architecture`,
/// `:module_version.info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentParam<'a> {
    pub prefix: &'a str,
    pub name: &'a str,
    pub suffix: &'a str,
}

/// The named parameter of a template segment; `None` for literals and
/// catch-alls (`*path`).
pub fn segment_param(segment: &str) -> Option<SegmentParam<'_>> {
    let (prefix, rest) = segment.split_once(':')?;
    let (name, suffix) = rest.find('.').map_or((rest, ""), |i| rest.split_at(i));
    Some(SegmentParam { prefix, name, suffix })
}

/// The kind of a GraphQL root field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GraphqlKind {
    Query,
    Mutation,
}

impl GraphqlKind {
    /// The spelling used in the data files and in GraphQL: `query`, `mutation`.
    pub fn name(self) -> &'static str {
        match self {
            GraphqlKind::Query => "query",
            GraphqlKind::Mutation => "mutation",
        }
    }

    /// Parses a data-file spelling.
    pub fn parse(name: &str) -> Option<GraphqlKind> {
        [GraphqlKind::Query, GraphqlKind::Mutation].into_iter().find(|k| k.name() == name)
    }
}

/// One GraphQL root field (`query { project(fullPath: …) }`) and what it needs.
/// GitLab annotates no GraphQL field yet, so every mapping is assigned here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphqlField {
    pub kind: GraphqlKind,
    pub name: String,
    pub permissions: Vec<String>,
    pub boundary: Boundary,
    /// The dotted argument naming the project or group (`fullPath`,
    /// `input.projectPath`, `id` for a global id); none for user and instance
    /// fields.
    pub argument: Option<String>,
    /// Whether the argument may name a group as well as a project (then the
    /// field is decided at the group).
    pub group_path: bool,
    /// The lowest base-role access level GitLab asks of the user when it asks
    /// more than the permissions' own roles.
    pub role: Option<u8>,
    /// Custom abilities that also let a member with a lower role do it.
    pub abilities: Vec<String>,
    /// When not empty, the abilities count only if the field sets nothing but
    /// its target argument and these dotted arguments.
    pub ability_arguments: Vec<String>,
}

/// Where the objects a GraphQL field returns can be, seen from where it is selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GraphqlReach {
    /// The same namespace (a project's issues).
    Same,
    /// The parent group (a project's group, a group's parent).
    Parent,
    /// The group and every subgroup and project below it (a group's projects).
    Descendants,
    /// Any namespace the user can see (a user's memberships, instance-wide lists).
    Everywhere,
}

impl GraphqlReach {
    /// The spelling used in the data files.
    pub fn name(self) -> &'static str {
        match self {
            GraphqlReach::Same => "same",
            GraphqlReach::Parent => "parent",
            GraphqlReach::Descendants => "descendants",
            GraphqlReach::Everywhere => "everywhere",
        }
    }

    /// Parses a data-file spelling.
    pub fn parse(name: &str) -> Option<GraphqlReach> {
        [GraphqlReach::Same, GraphqlReach::Parent, GraphqlReach::Descendants, GraphqlReach::Everywhere]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// One GraphQL field that returns an object, selected on a type
/// (`Project.issues`): what it returns, where that can be, and what reading it
/// needs. Root queries are listed on `Query` (their permission is their
/// [`GraphqlField`]'s); every mutation's payload is `Mutation.*`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphqlTypeField {
    /// The type the field is selected on (`Project`, `Query`, `Payload`).
    pub parent: String,
    /// The field's name (`*` on `Mutation`: every mutation).
    pub field: String,
    /// The returned type's name (`Issue`), the element type for a list.
    pub returns: String,
    /// Whether it returns a list or a connection (`[Issue]` in the data).
    pub list: bool,
    /// Where the returned objects can be.
    pub reach: GraphqlReach,
    /// The raw permission needed where it reaches; none when the object is
    /// read as part of its parent.
    pub permission: Option<String>,
    /// Where the mapping comes from.
    pub origin: Origin,
}

/// A custom-role ability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ability {
    pub name: String,
    pub group_ability: bool,
    pub project_ability: bool,
    /// Abilities a role must also hold to hold this one.
    pub requirements: Vec<String>,
    /// Base access levels that hold it without a custom role, in groups.
    pub default_group_levels: Vec<u8>,
    /// Base access levels that hold it without a custom role, in projects.
    pub default_project_levels: Vec<u8>,
}

/// Which HTTP methods a legacy scope allows on the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Methods {
    Any,
    Only(Vec<String>),
}

/// Which API paths a legacy scope covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PathPrefixes {
    Any,
    /// Template prefixes matched on whole segments.
    Only(Vec<String>),
}

/// A legacy (broad) token scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegacyScope {
    pub name: String,
    /// `Methods::Only(vec![])` means no API access.
    pub api_methods: Methods,
    pub api_paths: PathPrefixes,
    pub git_fetch: bool,
    pub git_push: bool,
}

impl LegacyScope {
    /// Whether the scope covers an API endpoint.
    /// Whether the scope lets a token use GraphQL: scopes that reach every API
    /// path do, read-only ones (`read_api`) for queries only.
    pub fn covers_graphql(&self, mutation: bool) -> bool {
        let method = if mutation { "POST" } else { "GET" };
        let method_ok = match &self.api_methods {
            Methods::Any => true,
            Methods::Only(list) => list.iter().any(|m| m == method),
        };
        method_ok && matches!(self.api_paths, PathPrefixes::Any)
    }

    pub fn covers_endpoint(&self, endpoint: &Endpoint) -> bool {
        let method = match endpoint.method.as_str() {
            "HEAD" => "GET",
            m => m,
        };
        let method_ok = match &self.api_methods {
            Methods::Any => true,
            Methods::Only(list) => list.iter().any(|m| m == method || m == &endpoint.method),
        };
        let path_ok = match &self.api_paths {
            PathPrefixes::Any => true,
            PathPrefixes::Only(prefixes) => prefixes.iter().any(|p| segment_prefix(&endpoint.path, p)),
        };
        method_ok && path_ok
    }
}

/// `prefix` is a whole-segment prefix of `path`.
fn segment_prefix(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The whole catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub permissions: Vec<Permission>,
    pub assignable: Vec<Assignable>,
    pub endpoints: Vec<Endpoint>,
    pub abilities: Vec<Ability>,
    /// Alternative spellings of ability names: `(alias, canonical)`.
    pub ability_aliases: Vec<(String, String)>,
    pub legacy_scopes: Vec<LegacyScope>,
    /// GraphQL root fields the engine can decide.
    pub graphql: Vec<GraphqlField>,
    /// GraphQL object fields below the root the engine can decide.
    pub graphql_types: Vec<GraphqlTypeField>,
}

impl Catalog {
    /// The canonical name of an ability, resolving aliases.
    pub fn canonical_ability<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        if self.abilities.iter().any(|a| a.name == name) {
            return Some(name);
        }
        self.ability_aliases.iter().find(|(alias, _)| alias == name).map(|(_, canonical)| canonical.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crud_verbs_nest_as_documented() {
        use CrudVerb::*;
        assert!(Manage.includes(Write) && Manage.includes(Delete) && Manage.includes(View));
        assert!(Write.includes(View) && !Write.includes(Delete) && !Write.includes(Manage));
        assert!(Delete.includes(View) && !Delete.includes(Write));
        assert!(View.includes(View) && !View.includes(Write));
    }

    #[test]
    fn role_names_and_levels_round_trip() {
        for (name, level) in ROLE_LEVELS {
            assert_eq!(role_level(name), Some(level));
            assert_eq!(role_name(level), name);
        }
        assert_eq!(role_level("boss"), None);
    }

    #[test]
    fn path_prefixes_match_whole_segments() {
        assert!(segment_prefix("/user", "/user"));
        assert!(segment_prefix("/user/keys", "/user"));
        assert!(!segment_prefix("/users", "/user"));
    }
}
