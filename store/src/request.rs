//! What a person asks for when creating a token, before validation: legacy
//! scopes or fine-grained grants, permissions by name or by resource and CRUD
//! verb, an expiry choice. [`parse_grant`] reads the `--grant` syntax.

use std::collections::BTreeSet;

use finegrain_engine::api::{GrantAccess, Timestamp};
use finegrain_engine::catalog::{Catalog, CrudVerb};

use crate::error::StoreError;

/// A token to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// Username of the owner.
    pub owner: String,
    /// The token's name, unique in the store.
    pub name: String,
    pub description: Option<String>,
    /// Legacy scopes; non-empty makes a legacy token.
    pub scopes: Vec<String>,
    /// Fine-grained grants; non-empty makes a fine-grained token.
    pub grants: Vec<GrantRequest>,
    pub expires: Expiry,
}

/// One fine-grained grant as asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRequest {
    pub access: GrantAccess,
    pub permissions: Vec<PermissionChoice>,
}

/// A permission as the user chose it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PermissionChoice {
    /// An assignable permission by name: `read_branch`.
    Name(String),
    /// A resource and CRUD verb, `repository:write`: every assignable permission
    /// the verb grants on that resource (see [`crud_permissions`]).
    Crud(String),
}

impl PermissionChoice {
    /// `RESOURCE:VERB` is a CRUD choice, anything else a permission name.
    pub fn parse(text: &str) -> PermissionChoice {
        let text = text.trim();
        if text.contains(':') {
            PermissionChoice::Crud(text.to_owned())
        } else {
            PermissionChoice::Name(text.to_owned())
        }
    }
}

/// When the token expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// The store's `default_lifetime_days` from today.
    Default,
    /// This many days from today.
    Days(u32),
    /// 00:00 UTC of this date (a timestamp at midnight).
    Date(Timestamp),
    /// Never; only when `max_lifetime_days` is `none`.
    Never,
}

/// Parses a `--grant` value: `ACCESS=PERMISSION,PERMISSION…`.
///
/// `ACCESS` is `personal_projects`, `all_memberships`, `user`, `instance`, or
/// `selected:PATH[,PATH…]` (groups and projects by full path); a permission is an
/// assignable permission name or `RESOURCE:VERB`. For example
/// `selected:acme/platform,opensource=read_branch,push_code` or
/// `all_memberships=repository:view`.
pub fn parse_grant(text: &str) -> Result<GrantRequest, StoreError> {
    let bad = |problem: &str| StoreError::BadGrant { text: text.to_owned(), problem: problem.to_owned() };
    let (access, permissions) =
        text.split_once('=').ok_or_else(|| bad("write ACCESS=PERMISSION,… (for example user=read_user)"))?;
    let access = match access.trim() {
        "personal_projects" => GrantAccess::PersonalProjects,
        "all_memberships" => GrantAccess::AllMemberships,
        "user" => GrantAccess::User,
        "instance" => GrantAccess::Instance,
        other => match other.strip_prefix("selected:") {
            Some(paths) => {
                let paths: Vec<String> =
                    paths.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
                if paths.is_empty() {
                    return Err(bad("selected: needs at least one group or project"));
                }
                GrantAccess::SelectedMemberships(paths)
            }
            None => {
                return Err(bad(
                    "access must be personal_projects, all_memberships, selected:PATH,…, user or instance",
                ));
            }
        },
    };
    let permissions: Vec<PermissionChoice> =
        permissions.split(',').filter(|p| !p.trim().is_empty()).map(PermissionChoice::parse).collect();
    if permissions.is_empty() {
        return Err(bad("no permissions after `=`"));
    }
    Ok(GrantRequest { access, permissions })
}

/// The assignable permissions a resource's CRUD verb grants: those whose every
/// raw permission carries a `crud` entry on that resource that the verb
/// includes (manage ⊇ write ⊇ view, manage ⊇ delete ⊇ view).
///
/// The mapping is data: the catalog's `crud` column on raw permissions
/// (`catalog/data/permissions.tsv`), the same data the engine uses for custom
/// roles written with CRUD verbs.
pub fn crud_permissions(catalog: &Catalog, text: &str) -> Result<Vec<String>, StoreError> {
    let bad = |problem: String| StoreError::UnknownCrud { text: text.to_owned(), problem };
    let (resource, verb) = text.split_once(':').ok_or_else(|| bad("write RESOURCE:VERB".into()))?;
    let resources: BTreeSet<&str> =
        catalog.permissions.iter().filter_map(|p| p.crud.as_ref().map(|(r, _)| r.as_str())).collect();
    if !resources.contains(resource) {
        let known: Vec<&str> = resources.into_iter().collect();
        return Err(bad(format!("unknown resource {resource:?} (known: {})", known.join(", "))));
    }
    let verb =
        CrudVerb::parse(verb).ok_or_else(|| bad(format!("unknown verb {verb:?} (view, write, delete or manage)")))?;
    let granted = |raw: &str| {
        catalog
            .permissions
            .iter()
            .find(|p| p.name == raw)
            .and_then(|p| p.crud.as_ref())
            .is_some_and(|(r, v)| r == resource && verb.includes(*v))
    };
    Ok(catalog
        .assignable
        .iter()
        .filter(|a| !a.raw_permissions.is_empty() && a.raw_permissions.iter().all(|raw| granted(raw)))
        .map(|a| a.name.clone())
        .collect())
}

/// Up to three known names closest to `name` (Levenshtein distance at most a
/// third of its length, at least 2), closest first.
pub fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Vec<String> {
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> =
        known.map(|k| (edit_distance(name, k), k)).filter(|(d, _)| *d <= limit).collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, k)| k.to_owned()).collect()
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse() {
        assert_eq!(
            parse_grant("selected:acme/platform, opensource=read_branch,repository:view").unwrap(),
            GrantRequest {
                access: GrantAccess::SelectedMemberships(vec!["acme/platform".into(), "opensource".into()]),
                permissions: vec![
                    PermissionChoice::Name("read_branch".into()),
                    PermissionChoice::Crud("repository:view".into())
                ],
            }
        );
        assert_eq!(parse_grant("user=read_user").unwrap().access, GrantAccess::User);
        for (text, problem) in [
            ("user", "write ACCESS=PERMISSION"),
            ("everything=read_user", "access must be"),
            ("selected:=read_branch", "selected: needs at least one"),
            ("user=", "no permissions"),
        ] {
            let message = parse_grant(text).unwrap_err().to_string();
            assert!(message.starts_with(&format!("grant {text:?}: {problem}")), "{message}");
        }
    }

    #[test]
    fn crud_verbs_expand_through_the_catalog() {
        let catalog = Catalog::builtin().unwrap();
        let view = crud_permissions(&catalog, "repository:view").unwrap();
        let write = crud_permissions(&catalog, "repository:write").unwrap();
        let manage = crud_permissions(&catalog, "repository:manage").unwrap();
        for p in ["read_branch", "download_code", "read_commit"] {
            assert!(view.contains(&p.to_owned()), "view lacks {p}: {view:?}");
        }
        assert!(!view.contains(&"push_code".to_owned()));
        assert!(write.contains(&"push_code".to_owned()) && !write.contains(&"delete_branch".to_owned()));
        assert!(view.iter().all(|p| write.contains(p)) && write.iter().all(|p| manage.contains(p)));
        assert!(manage.contains(&"delete_branch".to_owned()) && manage.contains(&"protect_branch".to_owned()));
        assert_eq!(
            crud_permissions(&catalog, "repository:rwx").unwrap_err().to_string(),
            "\"repository:rwx\": unknown verb \"rwx\" (view, write, delete or manage)"
        );
        assert!(crud_permissions(&catalog, "wiki:view").unwrap_err().to_string().contains("unknown resource \"wiki\""));
    }

    #[test]
    fn suggestions_are_the_nearest_names() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let known = ["read_branch", "read_repository", "push_code", "create_branch"];
        assert_eq!(closest("read_brnch", known.into_iter()), ["read_branch"]);
        assert!(closest("zzzzzz", known.into_iter()).is_empty());
    }
}
