//! Reading the TSV data files and checking that the catalog hangs together.

mod endpoints;

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::model::*;

/// A problem in a catalog data file: which file, which line (1-based; 0 when the
/// problem is the file as a whole), and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl CatalogError {
    pub(crate) fn new(file: impl Into<String>, line: usize, message: impl Into<String>) -> CatalogError {
        CatalogError { file: file.into(), line, message: message.into() }
    }
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for CatalogError {}

/// One data row with its columns looked up by header name.
struct Row<'a> {
    file: &'a str,
    line: usize,
    columns: &'a [&'a str],
    cells: Vec<&'a str>,
}

impl<'a> Row<'a> {
    fn error(&self, message: impl Into<String>) -> CatalogError {
        CatalogError::new(format!("catalog/data/{}", self.file), self.line, message)
    }

    fn get(&self, column: &str) -> &'a str {
        // Columns were checked against the header when the file was opened.
        let index = self.columns.iter().position(|c| *c == column).unwrap_or(usize::MAX);
        self.cells.get(index).copied().unwrap_or("")
    }

    fn required(&self, column: &str) -> Result<String, CatalogError> {
        match self.get(column) {
            "" => Err(self.error(format!("empty `{column}`"))),
            value => Ok(value.to_owned()),
        }
    }

    fn list(&self, column: &str) -> Vec<String> {
        self.get(column).split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    fn origin(&self) -> Result<Origin, CatalogError> {
        let origin = self.get("origin");
        Origin::parse(origin).ok_or_else(|| self.error(format!("origin must be gitlab or assigned, not {origin:?}")))
    }

    fn yes_no(&self, column: &str) -> Result<bool, CatalogError> {
        match self.get(column) {
            "yes" => Ok(true),
            "no" => Ok(false),
            other => Err(self.error(format!("`{column}` must be yes or no, not {other:?}"))),
        }
    }

    fn boundaries(&self, column: &str) -> Result<Vec<Boundary>, CatalogError> {
        self.list(column)
            .iter()
            .map(|name| Boundary::parse(name).ok_or_else(|| self.error(format!("unknown boundary {name:?}"))))
            .collect()
    }

    fn levels(&self, column: &str) -> Result<Vec<u8>, CatalogError> {
        self.list(column)
            .iter()
            .map(|n| n.parse().map_err(|_| self.error(format!("`{column}`: {n:?} is not an access level"))))
            .collect()
    }
}

/// Splits a TSV text into rows, checking that the header has the expected columns.
fn rows<'a>(
    file: &'a str,
    text: &'a str,
    columns: &'a [&'a str],
) -> Result<impl Iterator<Item = Row<'a>> + 'a, CatalogError> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    if header != columns {
        return Err(CatalogError::new(
            format!("catalog/data/{file}"),
            1,
            format!("header must be {:?}, found {:?}", columns.join(" "), header.join(" ")),
        ));
    }
    Ok(lines.enumerate().filter(|(_, l)| !l.is_empty()).map(move |(i, line)| Row {
        file,
        line: i + 2,
        columns,
        cells: line.split('\t').collect(),
    }))
}

impl Catalog {
    /// Builds a catalog from the eight data files, given a way to read each by name.
    pub(crate) fn from_sources(
        mut read: impl FnMut(&str) -> Result<String, CatalogError>,
    ) -> Result<Catalog, CatalogError> {
        let permissions = parse_permissions(&read("permissions.tsv")?)?;
        let assignable = parse_assignable(&read("assignable.tsv")?)?;
        let endpoints = endpoints::parse(&read("endpoints.tsv")?)?;
        let abilities = parse_abilities(&read("abilities.tsv")?)?;
        let ability_aliases = parse_aliases(&read("ability_aliases.tsv")?)?;
        let legacy_scopes = parse_legacy_scopes(&read("legacy_scopes.tsv")?)?;
        let graphql = parse_graphql(&read("graphql.tsv")?)?;
        let graphql_types = parse_graphql_types(&read("graphql_types.tsv")?)?;
        let catalog = Catalog {
            permissions,
            assignable,
            endpoints,
            abilities,
            ability_aliases,
            legacy_scopes,
            graphql,
            graphql_types,
        };
        catalog.validate()?;
        Ok(catalog)
    }

    /// Checks that every name resolves, nothing is defined twice, every raw
    /// permission an endpoint needs can be granted by some assignable permission,
    /// and endpoints agree with their permissions' boundaries.
    pub fn validate(&self) -> Result<(), CatalogError> {
        let err =
            |file: &str, line: usize, message: String| CatalogError::new(format!("catalog/data/{file}"), line, message);

        let mut permissions: HashMap<&str, &Permission> = HashMap::new();
        for (i, p) in self.permissions.iter().enumerate() {
            if permissions.insert(&p.name, p).is_some() {
                return Err(err("permissions.tsv", i + 2, format!("permission {:?} is defined twice", p.name)));
            }
        }
        let abilities: HashSet<&str> = self.abilities.iter().map(|a| a.name.as_str()).collect();
        for (i, p) in self.permissions.iter().enumerate() {
            if let Some(unknown) = p.abilities.iter().find(|a| !abilities.contains(a.as_str())) {
                return Err(err("permissions.tsv", i + 2, format!("{:?} names unknown ability {unknown:?}", p.name)));
            }
        }
        for (i, a) in self.abilities.iter().enumerate() {
            if let Some(unknown) = a.requirements.iter().find(|r| !abilities.contains(r.as_str())) {
                return Err(err("abilities.tsv", i + 2, format!("{:?} requires unknown ability {unknown:?}", a.name)));
            }
        }
        for (i, (alias, canonical)) in self.ability_aliases.iter().enumerate() {
            if !abilities.contains(canonical.as_str()) {
                return Err(err(
                    "ability_aliases.tsv",
                    i + 2,
                    format!("alias {alias:?} points to unknown ability {canonical:?}"),
                ));
            }
        }

        let mut granted: HashSet<&str> = HashSet::new();
        let mut assignable_names: HashSet<&str> = HashSet::new();
        for (i, a) in self.assignable.iter().enumerate() {
            if !assignable_names.insert(&a.name) {
                return Err(err(
                    "assignable.tsv",
                    i + 2,
                    format!("assignable permission {:?} is defined twice", a.name),
                ));
            }
            for raw in &a.raw_permissions {
                if !permissions.contains_key(raw.as_str()) {
                    return Err(err(
                        "assignable.tsv",
                        i + 2,
                        format!("{:?} expands to unknown permission {raw:?}", a.name),
                    ));
                }
                granted.insert(raw);
            }
        }

        // What an endpoint or a GraphQL field requires: known permissions that
        // some assignable permission grants, declared at a boundary that fits.
        let check_needs = |file: &str, line: usize, label: &str, what: &str, needs: &[String], boundary: Boundary| {
            for name in needs {
                let Some(p) = permissions.get(name.as_str()) else {
                    return Err(err(file, line, format!("{label} requires unknown permission {name:?}")));
                };
                if !granted.contains(name.as_str()) {
                    let message = format!("permission {name:?} is not granted by any assignable permission");
                    return Err(err(file, line, message));
                }
                if !p.boundaries.is_empty()
                    && !p.boundaries.contains(&boundary)
                    && !boundary_nests(boundary, &p.boundaries)
                {
                    let message = format!(
                        "{label} is a {} {what} but {name:?} applies only at {:?}",
                        boundary.name(),
                        p.boundaries
                    );
                    return Err(err(file, line, message));
                }
            }
            Ok(())
        };

        let mut routes: HashSet<(&str, &str)> = HashSet::new();
        for (i, e) in self.endpoints.iter().enumerate() {
            let line = i + 2;
            if !routes.insert((&e.method, &e.path)) {
                return Err(err("endpoints.tsv", line, format!("{} {} is listed twice", e.method, e.path)));
            }
            match (e.auth, e.permissions.is_empty()) {
                (Auth::Token, true) => {
                    return Err(err("endpoints.tsv", line, format!("{} {} requires no permission", e.method, e.path)));
                }
                (Auth::Anonymous | Auth::Service, false) => {
                    return Err(err(
                        "endpoints.tsv",
                        line,
                        format!(
                            "{} {} is a {} endpoint and cannot require permissions",
                            e.method,
                            e.path,
                            e.auth.name()
                        ),
                    ));
                }
                _ => {}
            }
            let label = format!("{} {}", e.method, e.path);
            check_needs("endpoints.tsv", line, &label, "endpoint", &e.permissions, e.boundary)?;
            if let Some(rule) = &e.owner {
                endpoints::check_owner(e, rule).map_err(|message| err("endpoints.tsv", line, message))?;
                for boundary in &rule.boundaries {
                    check_needs("endpoints.tsv", line, &label, "owner", &rule.permissions, *boundary)?;
                }
            }
            let param_needed = matches!(e.boundary, Boundary::Project | Boundary::Group);
            match (&e.boundary_param, param_needed) {
                (None, true) => {
                    return Err(err(
                        "endpoints.tsv",
                        line,
                        format!("{} {} names no {} parameter", e.method, e.path, e.boundary.name()),
                    ));
                }
                (Some(param), _) if !e.path.split('/').any(|s| segment_param(s).is_some_and(|p| p.name == param)) => {
                    return Err(err(
                        "endpoints.tsv",
                        line,
                        format!("boundary parameter {param:?} is not in the path {}", e.path),
                    ));
                }
                _ => {}
            }
        }

        let mut fields: HashSet<(GraphqlKind, &str)> = HashSet::new();
        for (i, f) in self.graphql.iter().enumerate() {
            let line = i + 2;
            let label = format!("{} {}", f.kind.name(), f.name);
            if !fields.insert((f.kind, &f.name)) {
                return Err(err("graphql.tsv", line, format!("{label} is listed twice")));
            }
            if f.permissions.is_empty() {
                return Err(err("graphql.tsv", line, format!("{label} requires no permission")));
            }
            check_needs("graphql.tsv", line, &label, "field", &f.permissions, f.boundary)?;
            if f.group_path {
                check_needs("graphql.tsv", line, &label, "field", &f.permissions, Boundary::Group)?;
            }
            if let Some(unknown) = f.abilities.iter().find(|a| self.canonical_ability(a).is_none()) {
                return Err(err("graphql.tsv", line, format!("{label}: unknown custom ability {unknown:?}")));
            }
            let namespaced = matches!(f.boundary, Boundary::Project | Boundary::Group);
            if namespaced != f.argument.is_some() {
                return Err(err(
                    "graphql.tsv",
                    line,
                    format!("{label}: project and group fields name their argument, others must not"),
                ));
            }
        }

        let mut type_fields: HashSet<(&str, &str)> = HashSet::new();
        for (i, f) in self.graphql_types.iter().enumerate() {
            let line = i + 2;
            let label = format!("{}.{}", f.parent, f.field);
            if !type_fields.insert((&f.parent, &f.field)) {
                return Err(err("graphql_types.tsv", line, format!("{label} is listed twice")));
            }
            if let Some(name) = &f.permission {
                if !permissions.contains_key(name.as_str()) {
                    return Err(err(
                        "graphql_types.tsv",
                        line,
                        format!("{label} requires unknown permission {name:?}"),
                    ));
                }
                if !granted.contains(name.as_str()) {
                    let message = format!("permission {name:?} is not granted by any assignable permission");
                    return Err(err("graphql_types.tsv", line, message));
                }
            }
            let root = f.parent == "Query" || f.parent == "Mutation";
            if root && f.permission.is_some() {
                let message = format!("{label}: a root field's permission belongs in graphql.tsv");
                return Err(err("graphql_types.tsv", line, message));
            }
            if f.parent == "Query" && !fields.contains(&(GraphqlKind::Query, f.field.as_str())) {
                return Err(err("graphql_types.tsv", line, format!("{label} is not a query field of graphql.tsv")));
            }
        }

        let mut scopes: HashSet<&str> = HashSet::new();
        for (i, s) in self.legacy_scopes.iter().enumerate() {
            if !scopes.insert(&s.name) {
                return Err(err("legacy_scopes.tsv", i + 2, format!("scope {:?} is defined twice", s.name)));
            }
        }
        Ok(())
    }
}

/// A project endpoint may need a permission GitLab declares only at group level
/// (a group's settings read through one of its projects), and vice versa; both
/// are namespace boundaries, which the engine resolves the same way.
fn boundary_nests(endpoint: Boundary, declared: &[Boundary]) -> bool {
    matches!(endpoint, Boundary::Project | Boundary::Group)
        && declared.iter().any(|b| matches!(b, Boundary::Project | Boundary::Group))
}

/// A role column: `authenticated`, a base role name, or empty (`None`).
fn parse_min_role(row: &Row, column: &str) -> Result<Option<MinRole>, CatalogError> {
    match row.get(column) {
        "" => Ok(None),
        "authenticated" => Ok(Some(MinRole::Authenticated)),
        name => role_level(name)
            .map(|level| Some(MinRole::Level(level)))
            .ok_or_else(|| row.error(format!("{column}: unknown role {name:?}"))),
    }
}

fn parse_crud(row: &Row) -> Result<Option<(String, CrudVerb)>, CatalogError> {
    let cell = row.get("crud");
    if cell.is_empty() {
        return Ok(None);
    }
    let (resource, verb) =
        cell.split_once(':').ok_or_else(|| row.error(format!("`crud` must be resource:verb, not {cell:?}")))?;
    let verb = CrudVerb::parse(verb).ok_or_else(|| row.error(format!("unknown CRUD verb {verb:?}")))?;
    Ok(Some((resource.to_owned(), verb)))
}

fn parse_permissions(text: &str) -> Result<Vec<Permission>, CatalogError> {
    const COLUMNS: &[&str] = &[
        "name",
        "resource",
        "action",
        "category",
        "boundaries",
        "min_role",
        "group_min_role",
        "abilities",
        "crud",
        "public_read",
        "rule",
        "origin",
    ];
    rows("permissions.tsv", text, COLUMNS)?
        .map(|row| {
            Ok(Permission {
                name: row.required("name")?,
                resource: row.get("resource").to_owned(),
                action: row.get("action").to_owned(),
                category: row.get("category").to_owned(),
                boundaries: row.boundaries("boundaries")?,
                min_role: parse_min_role(&row, "min_role")?.ok_or_else(|| row.error("min_role is empty"))?,
                group_min_role: parse_min_role(&row, "group_min_role")?,
                abilities: row.list("abilities"),
                crud: parse_crud(&row)?,
                public_read: row.yes_no("public_read")?,
                origin: row.origin()?,
            })
        })
        .collect()
}

fn parse_assignable(text: &str) -> Result<Vec<Assignable>, CatalogError> {
    const COLUMNS: &[&str] = &["name", "category", "resource", "action", "boundaries", "raw_permissions", "origin"];
    rows("assignable.tsv", text, COLUMNS)?
        .map(|row| {
            Ok(Assignable {
                name: row.required("name")?,
                category: row.get("category").to_owned(),
                resource: row.get("resource").to_owned(),
                action: row.get("action").to_owned(),
                boundaries: row.boundaries("boundaries")?,
                raw_permissions: row.list("raw_permissions"),
                origin: row.origin()?,
            })
        })
        .collect()
}

fn parse_graphql(text: &str) -> Result<Vec<GraphqlField>, CatalogError> {
    const COLUMNS: &[&str] = &[
        "kind",
        "field",
        "permissions",
        "boundary",
        "argument",
        "group_path",
        "role",
        "abilities",
        "ability_arguments",
    ];
    rows("graphql.tsv", text, COLUMNS)?
        .map(|row| {
            let (kind, boundary) = (row.get("kind"), row.get("boundary"));
            Ok(GraphqlField {
                kind: GraphqlKind::parse(kind)
                    .ok_or_else(|| row.error(format!("kind must be query or mutation, not {kind:?}")))?,
                name: row.required("field")?,
                permissions: row.list("permissions"),
                boundary: Boundary::parse(boundary)
                    .ok_or_else(|| row.error(format!("unknown boundary {boundary:?}")))?,
                argument: Some(row.get("argument")).filter(|a| !a.is_empty()).map(str::to_owned),
                group_path: match row.get("group_path") {
                    "" => false,
                    "yes" => true,
                    other => return Err(row.error(format!("group_path must be yes or empty, not {other:?}"))),
                },
                role: match row.get("role") {
                    "" => None,
                    name => Some(role_level(name).ok_or_else(|| row.error(format!("unknown role {name:?}")))?),
                },
                abilities: row.list("abilities"),
                ability_arguments: row.list("ability_arguments"),
            })
        })
        .collect()
}

fn parse_graphql_types(text: &str) -> Result<Vec<GraphqlTypeField>, CatalogError> {
    const COLUMNS: &[&str] = &["type", "field", "returns", "reach", "permission", "origin"];
    rows("graphql_types.tsv", text, COLUMNS)?
        .map(|row| {
            let returns = row.required("returns")?;
            let (returns, list) = match returns.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                Some(element) => (element.to_owned(), true),
                None => (returns, false),
            };
            if returns.is_empty() || !returns.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(row.error(format!("returns must be a type or [type], not {:?}", row.get("returns"))));
            }
            let reach = row.get("reach");
            Ok(GraphqlTypeField {
                parent: row.required("type")?,
                field: row.required("field")?,
                returns,
                list,
                reach: GraphqlReach::parse(reach).ok_or_else(|| {
                    row.error(format!("reach must be same, parent, descendants or everywhere, not {reach:?}"))
                })?,
                permission: Some(row.get("permission")).filter(|p| !p.is_empty()).map(str::to_owned),
                origin: row.origin()?,
            })
        })
        .collect()
}

fn parse_abilities(text: &str) -> Result<Vec<Ability>, CatalogError> {
    const COLUMNS: &[&str] =
        &["name", "group_ability", "project_ability", "requirements", "default_group_levels", "default_project_levels"];
    rows("abilities.tsv", text, COLUMNS)?
        .map(|row| {
            Ok(Ability {
                name: row.required("name")?,
                group_ability: row.yes_no("group_ability")?,
                project_ability: row.yes_no("project_ability")?,
                requirements: row.list("requirements"),
                default_group_levels: row.levels("default_group_levels")?,
                default_project_levels: row.levels("default_project_levels")?,
            })
        })
        .collect()
}

fn parse_aliases(text: &str) -> Result<Vec<(String, String)>, CatalogError> {
    rows("ability_aliases.tsv", text, &["alias", "canonical"])?
        .map(|row| Ok((row.required("alias")?, row.required("canonical")?)))
        .collect()
}

fn parse_legacy_scopes(text: &str) -> Result<Vec<LegacyScope>, CatalogError> {
    rows("legacy_scopes.tsv", text, &["scope", "api_methods", "api_paths", "git"])?
        .map(|row| {
            let api_methods = match row.get("api_methods") {
                "*" => Methods::Any,
                _ => Methods::Only(row.list("api_methods")),
            };
            let api_paths = match row.get("api_paths") {
                "*" => PathPrefixes::Any,
                _ => PathPrefixes::Only(row.list("api_paths")),
            };
            let git = row.list("git");
            if let Some(bad) = git.iter().find(|g| *g != "fetch" && *g != "push") {
                return Err(row.error(format!("`git` may list fetch and push, not {bad:?}")));
            }
            Ok(LegacyScope {
                name: row.required("scope")?,
                api_methods,
                api_paths,
                git_fetch: git.iter().any(|g| g == "fetch"),
                git_push: git.iter().any(|g| g == "push"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_loads_and_validates() {
        let catalog = Catalog::builtin().expect("builtin catalog");
        assert!(catalog.endpoints.len() > 500);
        assert!(catalog.permissions.iter().any(|p| p.name == "push_code"));
        assert_eq!(catalog.canonical_ability("admin_deploy_tokens"), Some("manage_deploy_tokens"));
    }

    #[test]
    fn a_bad_header_names_the_file_and_line() {
        let error = parse_aliases("alias\tother\n").unwrap_err();
        assert_eq!(error.file, "catalog/data/ability_aliases.tsv");
        assert_eq!(error.line, 1);
    }

    #[test]
    fn an_unknown_permission_in_an_endpoint_is_rejected_with_its_line() {
        let mut catalog = Catalog::builtin().unwrap();
        catalog.endpoints[3].permissions = vec!["teleport_repository".into()];
        let error = catalog.validate().unwrap_err();
        assert_eq!(error.line, 5);
        assert!(error.message.contains("unknown permission \"teleport_repository\""), "{error}");
    }

    #[test]
    fn a_duplicate_route_is_rejected() {
        let mut catalog = Catalog::builtin().unwrap();
        let copy = catalog.endpoints[0].clone();
        catalog.endpoints.push(copy);
        let error = catalog.validate().unwrap_err();
        assert!(error.message.contains("is listed twice"), "{error}");
    }
}
