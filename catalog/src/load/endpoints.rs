//! `endpoints.tsv`: the REST endpoints and the owner rules of object-addressed
//! ones (`owner_permissions` and `owner_boundaries`, generated from
//! `catalog/rules/object_owners.tsv`).

use super::{CatalogError, Row, rows};
use crate::model::{Auth, Boundary, Endpoint, OwnerRule};

/// The rows of `endpoints.tsv`.
pub(super) fn parse(text: &str) -> Result<Vec<Endpoint>, CatalogError> {
    const COLUMNS: &[&str] = &[
        "method",
        "path",
        "permissions",
        "boundary",
        "boundary_param",
        "origin",
        "auth",
        "reference",
        "owner_permissions",
        "owner_boundaries",
    ];
    rows("endpoints.tsv", text, COLUMNS)?
        .map(|row| {
            let boundary = row.get("boundary");
            let auth = row.get("auth");
            let path = row.required("path")?;
            if !path.starts_with('/') {
                return Err(row.error(format!("path {path:?} must start with /")));
            }
            Ok(Endpoint {
                method: row.required("method")?,
                path,
                permissions: row.list("permissions"),
                boundary: Boundary::parse(boundary)
                    .ok_or_else(|| row.error(format!("unknown boundary {boundary:?}")))?,
                boundary_param: Some(row.get("boundary_param")).filter(|p| !p.is_empty()).map(str::to_owned),
                origin: row.origin()?,
                auth: Auth::parse(auth)
                    .ok_or_else(|| row.error(format!("auth must be token, anonymous or service, not {auth:?}")))?,
                reference: row.required("reference")?,
                owner: parse_owner(&row)?,
            })
        })
        .collect()
}

/// The owner rule of an endpoint row: both columns empty, or both given.
fn parse_owner(row: &Row) -> Result<Option<OwnerRule>, CatalogError> {
    let permissions = row.list("owner_permissions");
    let boundaries = row.boundaries("owner_boundaries")?;
    match (permissions.is_empty(), boundaries.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some(OwnerRule { permissions, boundaries })),
        _ => Err(row.error("owner_permissions and owner_boundaries are given together or not at all")),
    }
}

/// Checks where an owner rule may stand: on a token endpoint at the instance
/// boundary (one that names no namespace), with project or group owners only.
/// The permissions themselves are checked like the endpoint's.
pub(super) fn check_owner(endpoint: &Endpoint, rule: &OwnerRule) -> Result<(), String> {
    let label = format!("{} {}", endpoint.method, endpoint.path);
    if endpoint.boundary != Boundary::Instance || endpoint.auth != Auth::Token {
        return Err(format!("{label}: only token endpoints at the instance boundary take an owner rule"));
    }
    if rule.permissions.is_empty() {
        return Err(format!("{label}: the owner rule requires no permission"));
    }
    if let Some(other) = rule.boundaries.iter().find(|b| !matches!(b, Boundary::Project | Boundary::Group)) {
        return Err(format!("{label}: an owner is a project or a group, not a {}", other.name()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::model::{Boundary, Catalog, OwnerRule};

    fn with_owner(path: &str, method: &str, rule: OwnerRule) -> Result<(), String> {
        let mut catalog = Catalog::builtin().unwrap();
        let endpoint = catalog.endpoints.iter_mut().find(|e| e.path == path && e.method == method).unwrap();
        endpoint.owner = Some(rule);
        catalog.validate().map_err(|e| e.to_string())
    }

    fn rule(permission: &str, boundaries: &[Boundary]) -> OwnerRule {
        OwnerRule { permissions: vec![permission.into()], boundaries: boundaries.to_vec() }
    }

    #[test]
    fn the_builtin_catalog_has_owner_rules_for_runners_and_virtual_registries() {
        let catalog = Catalog::builtin().unwrap();
        let find = |method: &str, path: &str| {
            catalog.endpoints.iter().find(|e| e.method == method && e.path == path).and_then(|e| e.owner.clone())
        };
        assert_eq!(find("GET", "/runners/:id"), Some(rule("read_runner", &[Boundary::Group, Boundary::Project])));
        assert_eq!(find("DELETE", "/runners/:id"), Some(rule("delete_runner", &[Boundary::Project])));
        assert_eq!(
            find("GET", "/virtual_registries/packages/maven/registries/:id"),
            Some(rule("read_maven_virtual_registry", &[Boundary::Group]))
        );
        assert_eq!(find("PUT", "/runners/:id"), None, "no certain GitLab permission: instance only");
        assert_eq!(find("GET", "/projects/:id/runners"), None, "names its namespace");
    }

    #[test]
    fn an_owner_rule_stands_only_on_an_instance_token_endpoint() {
        let err = with_owner("/projects/:id/runners", "GET", rule("read_runner", &[Boundary::Project])).unwrap_err();
        assert!(err.contains("only token endpoints at the instance boundary"), "{err}");
    }

    #[test]
    fn an_owner_is_a_project_or_a_group() {
        let err = with_owner("/runners/:id", "PUT", rule("read_runner", &[Boundary::User])).unwrap_err();
        assert!(err.contains("not a user"), "{err}");
    }

    #[test]
    fn an_owner_permission_must_apply_at_the_owner_boundary() {
        let err = with_owner("/runners/:id", "PUT", rule("create_project", &[Boundary::Project])).unwrap_err();
        assert!(err.contains("applies only at"), "{err}");
        let err = with_owner("/runners/:id", "PUT", rule("teleport_runner", &[Boundary::Project])).unwrap_err();
        assert!(err.contains("unknown permission"), "{err}");
    }
}
