//! The creation form: its fields as posted ([`Draft`], also used to show the
//! form again after an error) and the token request they make.
//!
//! A fine-grained token made on the page has up to three grants: the chosen
//! scope (personal projects, all memberships or selected groups and projects)
//! for permissions that apply to groups or projects, plus `user` and
//! `instance` grants for the permissions that apply only there. Which
//! permission goes where is the engine's rule ([`GrantAccess::boundaries`]);
//! CRUD verbs are expanded by the store ([`finegrain_store::request::crud_permissions`]).

use finegrain_engine::api::GrantAccess;
use finegrain_engine::catalog::{Boundary, Catalog};
use finegrain_store::request::crud_permissions;
use finegrain_store::{Expiry, GrantRequest, PermissionChoice, TokenRequest};

/// Longest form body read.
pub const MAX_FORM: usize = 256 * 1024;

/// The fields of a posted form, in order, repeated names kept.
pub fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of a field.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The creation form as filled in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Draft {
    pub name: String,
    pub description: String,
    /// `fine_grained` (the default) or `legacy`.
    pub kind: String,
    /// Legacy scopes ticked.
    pub scopes: Vec<String>,
    /// `personal_projects`, `all_memberships` or `selected`.
    pub access: String,
    /// Selected groups and projects.
    pub namespaces: Vec<String>,
    /// `(resource, verb)` picked in the CRUD table.
    pub crud: Vec<(String, String)>,
    /// Named permissions ticked.
    pub permissions: Vec<String>,
    /// `YYYY-MM-DD`, or empty for the default lifetime.
    pub expires: String,
    /// "No expiry" ticked.
    pub never: bool,
}

impl Draft {
    /// Reads the posted fields.
    pub fn from_fields(fields: &[(String, String)]) -> Draft {
        let all = |name: &str| -> Vec<String> {
            fields.iter().filter(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone()).collect()
        };
        let one = |name: &str| field(fields, name).unwrap_or("").trim().to_owned();
        Draft {
            name: one("name"),
            description: one("description"),
            kind: if one("kind") == "legacy" { "legacy".into() } else { "fine_grained".into() },
            scopes: all("scope"),
            access: match one("access").as_str() {
                a @ ("personal_projects" | "selected") => a.to_owned(),
                _ => "all_memberships".to_owned(),
            },
            namespaces: all("namespace"),
            crud: fields
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("crud:")?.to_owned(), v.clone())))
                .filter(|(_, verb)| !verb.is_empty())
                .collect(),
            permissions: all("permission"),
            expires: one("expires"),
            never: field(fields, "never").is_some(),
        }
    }

    /// The token request for `owner`; an error names the field to fix.
    pub fn request(&self, owner: &str, catalog: &Catalog) -> Result<TokenRequest, String> {
        let expires = if self.never {
            Expiry::Never
        } else if self.expires.is_empty() {
            Expiry::Default
        } else {
            Expiry::Date(
                finegrain_store::parse_date(&self.expires)
                    .ok_or_else(|| format!("expiry date {:?} is not a date (YYYY-MM-DD)", self.expires))?,
            )
        };
        let mut request = TokenRequest {
            owner: owner.to_owned(),
            name: self.name.clone(),
            description: Some(self.description.clone()).filter(|d| !d.is_empty()),
            scopes: Vec::new(),
            grants: Vec::new(),
            expires,
        };
        if self.kind == "legacy" {
            request.scopes = self.scopes.clone();
        } else {
            request.grants = self.grants(catalog)?;
        }
        Ok(request)
    }

    /// The chosen scope's grant plus `user` and `instance` grants, each with
    /// the permissions that apply there; grants left empty are dropped.
    fn grants(&self, catalog: &Catalog) -> Result<Vec<GrantRequest>, String> {
        let scope = match self.access.as_str() {
            "personal_projects" => GrantAccess::PersonalProjects,
            "selected" if self.namespaces.is_empty() => {
                return Err("choose at least one group or project, or another scope".to_owned());
            }
            "selected" => GrantAccess::SelectedMemberships(self.namespaces.clone()),
            _ => GrantAccess::AllMemberships,
        };
        let accesses = [scope.boundaries(), GrantAccess::User.boundaries(), GrantAccess::Instance.boundaries()];
        let home = |boundaries: &[Boundary]| grants_index(&accesses, boundaries);
        let mut grants = [scope, GrantAccess::User, GrantAccess::Instance]
            .map(|access| GrantRequest { access, permissions: Vec::new() });
        for (resource, verb) in &self.crud {
            let text = format!("{resource}:{verb}");
            let names = crud_permissions(catalog, &text).map_err(|e| e.to_string())?;
            let homes: Vec<usize> = names.iter().map(|n| home(boundaries_of(catalog, n))).collect();
            match homes.first() {
                Some(first) if homes.iter().all(|h| h == first) => {
                    grants[*first].permissions.push(PermissionChoice::Crud(text));
                }
                _ => {
                    for (name, h) in names.into_iter().zip(homes) {
                        grants[h].permissions.push(PermissionChoice::Name(name));
                    }
                }
            }
        }
        for name in &self.permissions {
            let h = home(boundaries_of(catalog, name));
            grants[h].permissions.push(PermissionChoice::Name(name.clone()));
        }
        let grants: Vec<GrantRequest> = grants.into_iter().filter(|g| !g.permissions.is_empty()).collect();
        if grants.is_empty() {
            return Err("choose at least one permission: a resource's access level or a named permission".to_owned());
        }
        Ok(grants)
    }
}

/// The boundaries of an assignable permission; none for an unknown name (the
/// store then reports it, with suggestions).
fn boundaries_of<'a>(catalog: &'a Catalog, name: &str) -> &'a [Boundary] {
    catalog.assignable.iter().find(|a| a.name == name).map_or(&[], |a| a.boundaries.as_slice())
}

/// The first grant whose access reaches one of `boundaries`; the scope's grant
/// (index 0) when none does, so the store explains the problem.
fn grants_index(accesses: &[&[Boundary]; 3], boundaries: &[Boundary]) -> usize {
    accesses.iter().position(|allowed| boundaries.iter().any(|b| allowed.contains(b))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str) -> Vec<(String, String)> {
        fields(text.as_bytes())
    }

    #[test]
    fn permissions_go_to_the_grant_where_they_apply() {
        let catalog = Catalog::builtin().unwrap();
        let draft = Draft::from_fields(&post(
            "name=ci&kind=fine_grained&access=selected&namespace=acme&namespace=acme%2Fapi\
             &crud%3Arepository=view&permission=read_user&permission=read_job&expires=2027-01-31",
        ));
        assert_eq!(draft.namespaces, ["acme", "acme/api"]);
        let request = draft.request("alice", &catalog).unwrap();
        assert_eq!(request.expires, Expiry::Date(finegrain_store::parse_date("2027-01-31").unwrap()));
        assert_eq!(request.grants.len(), 2, "{:?}", request.grants);
        assert_eq!(request.grants[0].access, GrantAccess::SelectedMemberships(vec!["acme".into(), "acme/api".into()]));
        assert_eq!(
            request.grants[0].permissions,
            [PermissionChoice::Crud("repository:view".into()), PermissionChoice::Name("read_job".into())]
        );
        assert_eq!(request.grants[1].access, GrantAccess::User);
        assert_eq!(request.grants[1].permissions, [PermissionChoice::Name("read_user".into())]);
    }

    #[test]
    fn legacy_and_mistakes() {
        let catalog = Catalog::builtin().unwrap();
        let legacy = Draft::from_fields(&post("name=old&kind=legacy&scope=read_api&permission=read_user&never=on"));
        let request = legacy.request("bob", &catalog).unwrap();
        assert_eq!((request.scopes.as_slice(), request.grants.len()), (&["read_api".to_owned()][..], 0));
        assert_eq!(request.expires, Expiry::Never);
        let none = Draft::from_fields(&post("name=x&access=all_memberships"));
        assert!(none.request("bob", &catalog).unwrap_err().contains("choose at least one permission"));
        let unselected = Draft::from_fields(&post("name=x&access=selected&permission=read_job"));
        assert!(unselected.request("bob", &catalog).unwrap_err().contains("at least one group or project"));
        let bad_date = Draft::from_fields(&post("name=x&permission=read_job&expires=31.01.2027"));
        assert!(bad_date.request("bob", &catalog).unwrap_err().contains("\"31.01.2027\" is not a date"));
    }
}
