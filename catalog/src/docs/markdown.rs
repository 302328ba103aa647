//! The permissions reference as GitHub-flavoured Markdown.

use std::fmt::Write as _;

use super::{EndpointEntry, GraphqlEntry, GraphqlTypeEntry, PermissionUse, Reference, granted_text, reference};
use crate::Catalog;

/// The page's opening paragraph (shared with the HTML page).
pub(super) const INTRO: &str = "Every REST endpoint (under `/api/v4`) that finegrain authorizes, with \
the raw permissions it requires, the assignable permissions a fine-grained token may select to \
grant each of them, and the lowest base role that may call it (a custom role's abilities may grant \
a permission below it). A token needs every raw permission listed for an endpoint, and its user \
the role. Endpoints are grouped by boundary and, within a boundary, listed once, under the \
category of their first raw permission.";

/// The GraphQL section's opening paragraph.
pub(super) const GRAPHQL_INTRO: &str = "Root fields of `POST /api/graphql`. Every root field of the \
executed operation is decided like an endpoint, at the project or group its argument names, and the \
object fields below it as the next table says; a document is allowed only if all of its fields are, \
and an unmapped field is denied.";

/// The GraphQL object-field table's opening paragraph.
pub(super) const GRAPHQL_TYPES_INTRO: &str = "Fields below the root. Every field with a selection set \
(an object, or a list of them) needs the raw permission listed for its type and name where it reaches: \
the same namespace, the parent group, the group and everything below it (covered by a grant on that \
group or above), or everywhere the user can see (covered only by an all-memberships grant). An object \
field not listed is denied; fields without a selection set are read with their object.";

/// The sentence of totals (they add up; GraphQL apart).
pub(super) fn totals(r: &Reference) -> String {
    let c = &r.counts;
    format!(
        "{} REST endpoints ({} for tokens, {} served without authentication, {} for GitLab's services only) \
         and {} GraphQL root fields; {} raw permissions, {} assignable permissions.",
        c.rest_endpoints,
        c.rest_token,
        c.rest_anonymous,
        c.rest_service,
        c.graphql_fields,
        c.raw_permissions,
        c.assignable_permissions
    )
}

/// A code span in a table cell (only `|` and backticks matter inside one).
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'").replace('|', "\\|"))
}

/// `read_branch` (guest; owner in groups)
fn permission_cell(p: &PermissionUse) -> String {
    match &p.group_min_role {
        Some(group) => format!("{} ({}; {group} in groups)", code(&p.name), p.min_role),
        None => format!("{} ({})", code(&p.name), p.min_role),
    }
}

fn endpoint_row(e: &EndpointEntry) -> String {
    let raw: Vec<String> = e.permissions.iter().map(permission_cell).collect();
    format!(
        "| {} | {} | {} | {} | {} | {} |",
        code(&e.method),
        code(&e.path),
        e.min_role,
        raw.join(", "),
        granted_text(&e.permissions, code, "; "),
        e.origin
    )
}

fn graphql_row(f: &GraphqlEntry) -> String {
    let raw: Vec<String> = f.permissions.iter().map(permission_cell).collect();
    format!(
        "| {} | {} | {} | {} | {} | {} |",
        f.kind,
        code(&f.field),
        f.min_role,
        raw.join(", "),
        granted_text(&f.permissions, code, "; "),
        code(&f.target())
    )
}

/// The contents: one line per boundary, one indented line per category.
fn contents(r: &Reference, out: &mut String) {
    let _ = writeln!(out, "## Contents\n");
    for b in &r.boundaries {
        let _ = writeln!(out, "- [{} boundary](#{}) ({} endpoints)", b.title, b.boundary.name(), b.endpoints);
        for c in &b.categories {
            let _ = writeln!(out, "  - [{}](#{}) ({})", c.title, c.anchor, c.endpoints.len());
        }
    }
    let _ = writeln!(out, "- [GraphQL](#graphql) ({} root fields)", r.graphql.len());
    let _ = writeln!(out, "  - [GraphQL object fields](#graphql-types) ({})\n", r.graphql_types.len());
}

fn graphql_type_row(t: &GraphqlTypeEntry) -> String {
    format!("| {} | {} | {} | {} | {} |", code(&t.field), code(&t.returns), t.reach, code(&t.permission), t.origin)
}

/// The reference as GitHub-flavoured Markdown. Headings carry explicit anchors
/// (`<a id>`), the same as the HTML page's.
pub fn markdown(catalog: &Catalog) -> String {
    let r = reference(catalog);
    let mut out = String::new();
    let _ = writeln!(out, "# finegrain permissions reference\n\n{INTRO}\n\n{}\n", totals(&r));
    contents(&r, &mut out);
    for b in &r.boundaries {
        let _ = writeln!(out, "<a id=\"{}\"></a>\n## {} boundary\n", b.boundary.name(), b.title);
        if b.categories.is_empty() {
            let _ = writeln!(out, "No endpoints.\n");
        }
        for c in &b.categories {
            let _ = writeln!(out, "<a id=\"{}\"></a>\n### {} / {}\n", c.anchor, b.title, c.title);
            let _ =
                writeln!(out, "| Method | Path | Minimum role | Raw permissions | Granted by (assignable) | Origin |");
            let _ = writeln!(out, "|---|---|---|---|---|---|");
            for e in &c.endpoints {
                let _ = writeln!(out, "{}", endpoint_row(e));
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "<a id=\"graphql\"></a>\n## GraphQL\n\n{GRAPHQL_INTRO}\n");
    let _ = writeln!(
        out,
        "| Kind | Field | Minimum role | Raw permissions | Granted by (assignable) | Boundary (argument) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for f in &r.graphql {
        let _ = writeln!(out, "{}", graphql_row(f));
    }
    let _ = writeln!(out, "\n<a id=\"graphql-types\"></a>\n### GraphQL object fields\n\n{GRAPHQL_TYPES_INTRO}\n");
    let _ = writeln!(out, "| Field | Returns | Reach | Raw permission | Origin |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for t in &r.graphql_types {
        let _ = writeln!(out, "{}", graphql_type_row(t));
    }
    out
}
