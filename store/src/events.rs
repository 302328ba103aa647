//! The instrumentation event written on every token creation (and rotation).
//!
//! One JSON object per line, with exactly the fields of [`Event`] (schema in
//! `store/EVENTS.md`). Every value comes from a fixed vocabulary — the token
//! types, the access kinds, and the catalog's resource, permission and scope
//! names — and is validated before the event is built, so no secret, no
//! namespace, no user name and no text a user typed can reach it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use finegrain_engine::api::TokenKind;
use finegrain_engine::catalog::Catalog;
use serde::Serialize;

/// The version of the event schema; bumped when a field changes meaning or goes.
pub const SCHEMA_VERSION: u32 = 1;

/// One token-creation event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `token_created` or `token_rotated`.
    pub event: &'static str,
    /// `legacy` or `fine_grained`.
    pub token_type: &'static str,
    /// The access kinds of the grants, sorted, without repeats:
    /// `personal_projects`, `all_memberships`, `selected_memberships`, `user`,
    /// `instance`. Empty for legacy tokens.
    pub scope_types: Vec<&'static str>,
    /// Catalog resources of the selected permissions, plus any resource chosen by
    /// CRUD verb (`repository`), sorted. Empty for legacy tokens.
    pub resources: Vec<String>,
    /// Assignable permissions selected (fine-grained) or legacy scopes chosen
    /// (legacy), sorted.
    pub permissions: Vec<String>,
}

impl Event {
    /// The event for a token of this kind. `crud_resources` are the resources the
    /// user picked by CRUD verb; names not in the catalog are dropped, so only
    /// catalog vocabulary is ever written.
    pub fn new(event: &'static str, kind: &TokenKind, crud_resources: &[String], catalog: &Catalog) -> Event {
        match kind {
            TokenKind::Legacy(scopes) => Event {
                schema_version: SCHEMA_VERSION,
                event,
                token_type: "legacy",
                scope_types: Vec::new(),
                resources: Vec::new(),
                permissions: scopes
                    .iter()
                    .filter(|s| catalog.legacy_scopes.iter().any(|l| &l.name == *s))
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            },
            TokenKind::FineGrained(grants) => {
                let scope_types: BTreeSet<&'static str> = grants.iter().map(|g| g.access.name()).collect();
                let mut resources = BTreeSet::new();
                let mut permissions = BTreeSet::new();
                for name in grants.iter().flat_map(|g| &g.permissions) {
                    if let Some(a) = catalog.assignable.iter().find(|a| &a.name == name) {
                        resources.insert(a.resource.clone());
                        permissions.insert(a.name.clone());
                    }
                }
                for r in crud_resources {
                    if catalog.permissions.iter().any(|p| p.crud.as_ref().is_some_and(|(res, _)| res == r)) {
                        resources.insert(r.clone());
                    }
                }
                Event {
                    schema_version: SCHEMA_VERSION,
                    event,
                    token_type: "fine_grained",
                    scope_types: scope_types.into_iter().collect(),
                    resources: resources.into_iter().collect(),
                    permissions: permissions.into_iter().collect(),
                }
            }
        }
    }

    /// The event as one line of JSON, with its newline.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// Where events go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventSink {
    /// Standard output (`-`).
    Stdout,
    /// Appended to this file, created if missing.
    File(PathBuf),
}

impl EventSink {
    /// `-` is standard output; anything else a file path.
    pub fn parse(text: &str) -> EventSink {
        if text == "-" { EventSink::Stdout } else { EventSink::File(PathBuf::from(text)) }
    }

    /// Writes one event as one line. A file is opened for appending and the line
    /// written with a single `write`, so lines from concurrent processes never
    /// interleave.
    pub fn emit(&self, event: &Event) -> std::io::Result<()> {
        let line = event.to_line();
        match self {
            EventSink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes())?;
                out.flush()
            }
            EventSink::File(path) => {
                let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                file.write_all(line.as_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use finegrain_engine::api::{Grant, GrantAccess};

    #[test]
    fn events_hold_only_catalog_vocabulary() {
        let catalog = Catalog::builtin().unwrap();
        let kind = TokenKind::FineGrained(vec![
            Grant {
                access: GrantAccess::SelectedMemberships(vec!["secret-group/project".into()]),
                permissions: vec!["read_branch".into(), "push_code".into()],
            },
            Grant { access: GrantAccess::User, permissions: vec!["read_user".into()] },
        ]);
        let event = Event::new("token_created", &kind, &["repository".into(), "my own words".into()], &catalog);
        let line = event.to_line();
        assert!(!line.contains("secret-group"), "{line}");
        assert!(!line.contains("my own words"), "{line}");
        assert_eq!(event.scope_types, ["selected_memberships", "user"]);
        assert_eq!(event.permissions, ["push_code", "read_branch", "read_user"]);
        assert!(event.resources.contains(&"repository".to_owned()), "{:?}", event.resources);

        let legacy = Event::new("token_created", &TokenKind::Legacy(vec!["read_api".into()]), &[], &catalog);
        assert_eq!(
            legacy.to_line(),
            "{\"schema_version\":1,\"event\":\"token_created\",\"token_type\":\"legacy\",\"scope_types\":[],\"resources\":[],\"permissions\":[\"read_api\"]}\n"
        );
    }
}
