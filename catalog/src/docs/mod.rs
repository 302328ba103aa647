//! The permissions reference: every REST endpoint and GraphQL root field the
//! catalog authorizes, with the raw permissions each requires, the assignable
//! permissions that grant them and the minimum role, grouped by boundary and
//! category. [`reference`] builds it once as plain data (serializable: the CLI
//! writes it as `permissions.json`); [`markdown`] and [`html`] render that same
//! data, so the three never disagree. Also the
//! coverage of GitLab's reference ([`coverage()`]).
//!
//! Everything here is a pure function of its inputs returning a value or a
//! `String`: the CLI decides where the text goes.

mod coverage;
mod html;
mod markdown;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::{Auth, Boundary, Catalog, MinRole, Origin, Permission, role_name};

pub use coverage::{Coverage, Ratio, coverage};
pub use html::{escape_html, html};
pub use markdown::markdown;

/// The whole reference, as the pages and `permissions.json` show it.
#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    pub counts: Counts,
    /// The four boundaries, project first; each endpoint is in exactly one category.
    pub boundaries: Vec<BoundarySection>,
    /// GraphQL root fields, by kind then name.
    pub graphql: Vec<GraphqlEntry>,
    /// GraphQL object fields below the root, as the catalog lists them.
    pub graphql_types: Vec<GraphqlTypeEntry>,
}

/// Totals that add up: the boundaries' endpoint counts sum to `rest_endpoints`,
/// which is `rest_token + rest_anonymous + rest_service`; GraphQL fields are
/// counted apart.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub rest_endpoints: usize,
    pub rest_token: usize,
    pub rest_anonymous: usize,
    pub rest_service: usize,
    pub graphql_fields: usize,
    pub raw_permissions: usize,
    pub assignable_permissions: usize,
}

/// One boundary's endpoints.
#[derive(Clone, Debug, Serialize)]
pub struct BoundarySection {
    /// `project`, `group`, `user` or `instance`; also the HTML anchor.
    pub boundary: Boundary,
    pub title: &'static str,
    /// How many endpoints its categories hold together.
    pub endpoints: usize,
    pub categories: Vec<CategorySection>,
}

/// One category of a boundary.
#[derive(Clone, Debug, Serialize)]
pub struct CategorySection {
    /// The catalog's name (`ci_cd`), or `anonymous` / `service` for routes that
    /// take no token.
    pub key: String,
    /// For people: `CI/CD`.
    pub title: String,
    /// The HTML anchor: `project-ci-cd`.
    pub anchor: String,
    pub endpoints: Vec<EndpointEntry>,
}

/// One REST endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointEntry {
    pub method: String,
    /// The path template under `/api/v4`.
    pub path: String,
    /// `token`, `anonymous` (served without authentication) or `service`
    /// (GitLab's own components; never an access token).
    pub auth: &'static str,
    /// The lowest base role that may call it: the highest minimum among its
    /// permissions (`anyone` without a token; `none` for service routes).
    pub min_role: String,
    /// `gitlab` (GitLab annotates it) or `assigned` (mapped by finegrain).
    pub origin: &'static str,
    pub permissions: Vec<PermissionUse>,
}

/// A raw permission as an endpoint or field requires it.
#[derive(Clone, Debug, Serialize)]
pub struct PermissionUse {
    pub name: String,
    /// The lowest base role holding it (`authenticated`: any signed-in user).
    pub min_role: String,
    /// In groups, when GitLab asks more there (`owner`).
    pub group_min_role: Option<String>,
    /// The assignable permissions a fine-grained token may select for it.
    pub granted_by: Vec<String>,
}

/// One GraphQL root field.
#[derive(Clone, Debug, Serialize)]
pub struct GraphqlEntry {
    /// `query` or `mutation`.
    pub kind: &'static str,
    pub field: String,
    pub boundary: Boundary,
    /// The argument naming the project or group (`input.projectPath`).
    pub argument: Option<String>,
    /// The argument may name a group as well as a project.
    pub group_path: bool,
    /// A base role the field asks for besides its permissions.
    pub role: Option<String>,
    /// Custom abilities that also allow it.
    pub abilities: Vec<String>,
    /// The only arguments a custom ability may set (empty: any).
    pub ability_arguments: Vec<String>,
    pub min_role: String,
    pub permissions: Vec<PermissionUse>,
}

impl GraphqlEntry {
    /// Where and how the field is decided: `project (input.projectPath)`, with
    /// the role and custom abilities that apply.
    pub fn target(&self) -> String {
        let boundary = if self.group_path { "project or group" } else { self.boundary.name() };
        let mut target = match &self.argument {
            Some(argument) => format!("{boundary} ({argument})"),
            None => boundary.to_owned(),
        };
        if let Some(role) = &self.role {
            target.push_str(&format!("; {role} role"));
        }
        if !self.abilities.is_empty() {
            target.push_str(&format!("; or custom ability {}", self.abilities.join(", ")));
            if !self.ability_arguments.is_empty() {
                target.push_str(&format!(" when setting only {}", self.ability_arguments.join(", ")));
            }
        }
        target
    }
}

/// One GraphQL object field below the root: what it returns, where that can
/// be, and the raw permission needed there.
#[derive(Clone, Debug, Serialize)]
pub struct GraphqlTypeEntry {
    /// `Type.field`.
    pub field: String,
    /// The returned type, `[Type]` for a list or connection.
    pub returns: String,
    /// `same`, `parent`, `descendants` or `everywhere`.
    pub reach: &'static str,
    /// `-` when the object is read as part of its parent.
    pub permission: String,
    pub origin: &'static str,
}

/// The assignable permissions granting each raw permission, each name written
/// by `code`, prefixed by the raw permission when there are several, joined by
/// `separator`; `(none)` where nothing grants one.
fn granted_text(uses: &[PermissionUse], code: impl Fn(&str) -> String, separator: &str) -> String {
    let parts: Vec<String> = uses
        .iter()
        .map(|p| {
            let names: Vec<String> = p.granted_by.iter().map(|n| code(n)).collect();
            let names = if names.is_empty() { "(none)".to_owned() } else { names.join(", ") };
            if uses.len() > 1 { format!("{}: {names}", code(&p.name)) } else { names }
        })
        .collect();
    parts.join(separator)
}

/// Readable names of the catalog's categories; others are the key with spaces
/// and a capital (`project_planning` → `Project planning`).
const CATEGORY_TITLES: &[(&str, &str)] = &[
    ("ci_cd", "CI/CD"),
    ("duo", "GitLab Duo"),
    ("note", "Notes"),
    ("category_placeholder", "Not yet categorised by GitLab"),
    ("uncategorised", "Uncategorised"),
    ("anonymous", "Served without authentication"),
    ("service", "Not for access tokens (GitLab services, runners, CI jobs)"),
];

/// The readable name of a category key.
pub fn category_title(key: &str) -> String {
    if let Some((_, title)) = CATEGORY_TITLES.iter().find(|(k, _)| *k == key) {
        return (*title).to_owned();
    }
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `project-ci-cd`: lower-case letters and digits, runs of anything else one `-`.
fn anchor(boundary: Boundary, key: &str) -> String {
    let mut slug = format!("{}-", boundary.name());
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

fn title(boundary: Boundary) -> &'static str {
    match boundary {
        Boundary::Project => "Project",
        Boundary::Group => "Group",
        Boundary::User => "User",
        Boundary::Instance => "Instance",
    }
}

/// Rank and name of a minimum role (`authenticated` ranks below every level).
fn role_text(role: MinRole) -> (u16, String) {
    match role {
        MinRole::Authenticated => (0, "authenticated".to_owned()),
        MinRole::Level(level) => (1 + u16::from(level), role_name(level).to_owned()),
    }
}

/// Looks permissions up and describes their use.
struct Lookup<'a> {
    permissions: HashMap<&'a str, &'a Permission>,
    granted_by: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Lookup<'a> {
    fn new(catalog: &'a Catalog) -> Lookup<'a> {
        let mut granted_by: HashMap<&str, Vec<&str>> = HashMap::new();
        for assignable in &catalog.assignable {
            for raw in &assignable.raw_permissions {
                granted_by.entry(raw.as_str()).or_default().push(assignable.name.as_str());
            }
        }
        for names in granted_by.values_mut() {
            names.sort_unstable();
            names.dedup();
        }
        let permissions = catalog.permissions.iter().map(|p| (p.name.as_str(), p)).collect();
        Lookup { permissions, granted_by }
    }

    /// The uses of `names`, and the highest minimum role among them.
    fn uses(&self, names: &[String]) -> (Vec<PermissionUse>, String) {
        let mut highest = (0, "authenticated".to_owned());
        let uses = names
            .iter()
            .map(|name| {
                let permission = self.permissions.get(name.as_str());
                let role = permission.map_or((u16::MAX, "unknown".to_owned()), |p| role_text(p.min_role));
                if role.0 > highest.0 {
                    highest = role.clone();
                }
                PermissionUse {
                    name: name.clone(),
                    min_role: role.1,
                    group_min_role: permission.and_then(|p| p.group_min_role).map(|r| role_text(r).1),
                    granted_by: self
                        .granted_by
                        .get(name.as_str())
                        .map_or_else(Vec::new, |v| v.iter().map(|s| (*s).to_owned()).collect()),
                }
            })
            .collect();
        (uses, highest.1)
    }

    /// The category an endpoint is listed under: that of its first raw
    /// permission, or a pseudo-category for routes that take no token.
    fn category(&self, auth: Auth, permissions: &[String]) -> &'a str {
        match auth {
            Auth::Anonymous => "anonymous",
            Auth::Service => "service",
            Auth::Token => permissions
                .first()
                .and_then(|p| self.permissions.get(p.as_str()))
                .map_or("uncategorised", |p| p.category.as_str()),
        }
    }
}

fn endpoint_entry(lookup: &Lookup, endpoint: &crate::Endpoint) -> EndpointEntry {
    let (permissions, min_role) = lookup.uses(&endpoint.permissions);
    let (auth, min_role) = match endpoint.auth {
        Auth::Token => ("token", min_role),
        Auth::Anonymous => ("anonymous", "anyone".to_owned()),
        Auth::Service => ("service", "none".to_owned()),
    };
    EndpointEntry {
        method: endpoint.method.clone(),
        path: endpoint.path.clone(),
        auth,
        min_role,
        origin: if endpoint.origin == Origin::Gitlab { "gitlab" } else { "assigned" },
        permissions,
    }
}

/// Builds the reference from the catalog. Categories are sorted by title, with
/// the routes that take no token last; endpoints by path then method.
pub fn reference(catalog: &Catalog) -> Reference {
    let lookup = Lookup::new(catalog);
    let mut endpoints: Vec<&crate::Endpoint> = catalog.endpoints.iter().collect();
    endpoints.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    let boundaries = Boundary::ORDER
        .into_iter()
        .map(|boundary| {
            let mut by_category: BTreeMap<(bool, String, &str), Vec<EndpointEntry>> = BTreeMap::new();
            for endpoint in endpoints.iter().filter(|e| e.boundary == boundary) {
                let key = lookup.category(endpoint.auth, &endpoint.permissions);
                let sort = (endpoint.auth != Auth::Token, category_title(key), key);
                by_category.entry(sort).or_default().push(endpoint_entry(&lookup, endpoint));
            }
            let categories: Vec<CategorySection> = by_category
                .into_iter()
                .map(|((_, title, key), endpoints)| CategorySection {
                    key: key.to_owned(),
                    title,
                    anchor: anchor(boundary, key),
                    endpoints,
                })
                .collect();
            let count = categories.iter().map(|c| c.endpoints.len()).sum();
            BoundarySection { boundary, title: title(boundary), endpoints: count, categories }
        })
        .collect();
    let mut graphql: Vec<GraphqlEntry> = catalog
        .graphql
        .iter()
        .map(|f| {
            let (permissions, min_role) = lookup.uses(&f.permissions);
            GraphqlEntry {
                kind: f.kind.name(),
                field: f.name.clone(),
                boundary: f.boundary,
                argument: f.argument.clone(),
                group_path: f.group_path,
                role: f.role.map(|level| role_name(level).to_owned()),
                abilities: f.abilities.clone(),
                ability_arguments: f.ability_arguments.clone(),
                min_role,
                permissions,
            }
        })
        .collect();
    graphql.sort_by(|a, b| (a.kind, &a.field).cmp(&(b.kind, &b.field)));
    let auth_count = |auth: Auth| catalog.endpoints.iter().filter(|e| e.auth == auth).count();
    let counts = Counts {
        rest_endpoints: catalog.endpoints.len(),
        rest_token: auth_count(Auth::Token),
        rest_anonymous: auth_count(Auth::Anonymous),
        rest_service: auth_count(Auth::Service),
        graphql_fields: graphql.len(),
        raw_permissions: catalog.permissions.len(),
        assignable_permissions: catalog.assignable.len(),
    };
    let graphql_types = catalog
        .graphql_types
        .iter()
        .map(|t| GraphqlTypeEntry {
            field: format!("{}.{}", t.parent, t.field),
            returns: if t.list { format!("[{}]", t.returns) } else { t.returns.clone() },
            reach: t.reach.name(),
            permission: t.permission.clone().unwrap_or_else(|| "-".to_owned()),
            origin: t.origin.name(),
        })
        .collect();
    Reference { counts, boundaries, graphql, graphql_types }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_every_endpoint_is_listed_once() {
        let catalog = Catalog::builtin().unwrap();
        let r = reference(&catalog);
        let listed: usize = r.boundaries.iter().map(|b| b.endpoints).sum();
        assert_eq!(listed, r.counts.rest_endpoints);
        assert_eq!(r.counts.rest_token + r.counts.rest_anonymous + r.counts.rest_service, r.counts.rest_endpoints);
        for b in &r.boundaries {
            assert_eq!(b.endpoints, b.categories.iter().map(|c| c.endpoints.len()).sum::<usize>());
        }
        assert_eq!(r.counts.graphql_fields, catalog.graphql.len());
    }

    #[test]
    fn categories_have_readable_titles_and_clean_anchors() {
        assert_eq!(category_title("ci_cd"), "CI/CD");
        assert_eq!(category_title("project_planning"), "Project planning");
        assert_eq!(anchor(Boundary::Project, "ci_cd"), "project-ci-cd");
        let r = reference(&Catalog::builtin().unwrap());
        for c in r.boundaries.iter().flat_map(|b| &b.categories) {
            assert!(!c.title.contains('_') && !c.title.contains("placeholder"), "{}", c.title);
            assert!(c.anchor.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'));
        }
    }
}
