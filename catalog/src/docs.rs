//! The documentation renderer: the single-page permissions reference (Markdown
//! and a self-contained HTML page) and the coverage of GitLab's reference.
//!
//! Everything here is a pure function of its inputs, returning a `String` or a
//! value: the CLI decides where the text goes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::{Auth, Boundary, Catalog, Endpoint, GraphqlField, GraphqlTypeField, Origin};

/// One endpoint as the reference lists it.
struct Row<'a> {
    endpoint: &'a Endpoint,
    /// `(raw permission, assignable permissions granting it)`, in the endpoint's order.
    grants: Vec<(&'a str, Vec<&'a str>)>,
}

/// Endpoints of one boundary, by the category of their raw permissions.
struct Section<'a> {
    boundary: Boundary,
    categories: BTreeMap<&'a str, Vec<Row<'a>>>,
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Gitlab => "GitLab",
        Origin::Assigned => "assigned here",
    }
}

/// Groups the catalog's endpoints by boundary (in `Boundary::ORDER`) and, within
/// that, by the category of each raw permission they require. An endpoint whose
/// permissions span several categories is listed under each of them.
/// For every raw permission, the assignable permissions that grant it (sorted).
fn granted_by(catalog: &Catalog) -> HashMap<&str, Vec<&str>> {
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
    granted_by
}

/// `(raw permission, assignable permissions granting it)` pairs.
type Grants<'a> = Vec<(&'a str, Vec<&'a str>)>;

/// The GraphQL root fields with, for each raw permission, what grants it.
fn graphql_rows(catalog: &Catalog) -> Vec<(&GraphqlField, Grants<'_>)> {
    let granted_by = granted_by(catalog);
    let mut fields: Vec<&GraphqlField> = catalog.graphql.iter().collect();
    fields.sort_by(|a, b| (a.kind.name(), &a.name).cmp(&(b.kind.name(), &b.name)));
    fields
        .into_iter()
        .map(|f| {
            let grants = f
                .permissions
                .iter()
                .map(|p| (p.as_str(), granted_by.get(p.as_str()).cloned().unwrap_or_default()))
                .collect();
            (f, grants)
        })
        .collect()
}

/// How a GraphQL field finds its namespace: `project (input.projectPath)`.
fn graphql_target(field: &GraphqlField) -> String {
    let boundary = if field.group_path { "project or group" } else { field.boundary.name() };
    let mut target = match &field.argument {
        Some(argument) => format!("{boundary} ({argument})"),
        None => boundary.to_owned(),
    };
    if let Some(level) = field.role {
        target.push_str(&format!("; {} role", crate::role_name(level)));
    }
    if !field.abilities.is_empty() {
        target.push_str(&format!("; or custom ability {}", field.abilities.join(", ")));
        if !field.ability_arguments.is_empty() {
            target.push_str(&format!(" when setting only {}", field.ability_arguments.join(", ")));
        }
    }
    target
}

const GRAPHQL_INTRO: &str = "Root fields of `POST /api/graphql`. Every root field of the executed \
operation is decided like an endpoint, at the project or group its argument names, and the \
object fields below it as the next table says; a document is allowed only if all of its fields \
are, and an unmapped field is denied.";

const GRAPHQL_TYPES_INTRO: &str = "Fields below the root. Every field with a selection set (an object, or a \
list of them) needs the permission listed for its type and name where it reaches: the same namespace, \
the parent group, the group and everything below it (covered by a grant on that group or above), or \
everywhere the user can see (covered only by an all-memberships grant). An object field not listed is \
denied; fields without a selection set are read with their object.";

/// The cells of one GraphQL object-field row: field, returns, reach, permission, origin.
fn graphql_type_cells(field: &GraphqlTypeField) -> [String; 5] {
    let returns = if field.list { format!("[{}]", field.returns) } else { field.returns.clone() };
    [
        format!("{}.{}", field.parent, field.field),
        returns,
        field.reach.name().to_owned(),
        field.permission.clone().unwrap_or_else(|| "-".to_owned()),
        field.origin.name().to_owned(),
    ]
}

fn sections(catalog: &Catalog) -> Vec<Section<'_>> {
    let category: HashMap<&str, &str> =
        catalog.permissions.iter().map(|p| (p.name.as_str(), p.category.as_str())).collect();
    let granted_by = granted_by(catalog);
    let mut endpoints: Vec<&Endpoint> = catalog.endpoints.iter().collect();
    endpoints.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    Boundary::ORDER
        .into_iter()
        .map(|boundary| {
            let mut categories: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
            for endpoint in endpoints.iter().copied().filter(|e| e.boundary == boundary) {
                let grants: Vec<(&str, Vec<&str>)> = endpoint
                    .permissions
                    .iter()
                    .map(|p| (p.as_str(), granted_by.get(p.as_str()).cloned().unwrap_or_default()))
                    .collect();
                let cats: BTreeSet<&str> = match endpoint.auth {
                    Auth::Token => endpoint
                        .permissions
                        .iter()
                        .map(|p| category.get(p.as_str()).copied().unwrap_or("uncategorised"))
                        .collect(),
                    // Listed on their own, so nobody mistakes them for token routes.
                    Auth::Anonymous => BTreeSet::from([ANONYMOUS_CATEGORY]),
                    Auth::Service => BTreeSet::from([SERVICE_CATEGORY]),
                };
                for cat in cats {
                    categories.entry(cat).or_default().push(Row { endpoint, grants: grants.clone() });
                }
            }
            Section { boundary, categories }
        })
        .collect()
}

/// The pseudo-category of endpoints GitLab serves without authentication.
const ANONYMOUS_CATEGORY: &str = "served without authentication";
/// The pseudo-category of endpoints that never accept an access token.
const SERVICE_CATEGORY: &str = "not for access tokens (GitLab services, runners, CI jobs)";

fn title(boundary: Boundary) -> &'static str {
    match boundary {
        Boundary::Project => "Project",
        Boundary::Group => "Group",
        Boundary::User => "User",
        Boundary::Instance => "Instance",
    }
}

const INTRO: &str = "Every REST endpoint (under `/api/v4`) that finegrain authorizes, with the raw \
permissions it requires and the assignable permissions a fine-grained token may select to \
grant each of them. A token needs every raw permission listed for an endpoint. Endpoints are \
grouped by boundary and, within a boundary, by the category of their raw permissions.";

/// Escapes a Markdown table cell (inside a code span: only `|` and backticks matter).
fn md_code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'").replace('|', "\\|"))
}

/// The reference as GitHub-flavoured Markdown.
pub fn markdown(catalog: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# finegrain permissions reference\n\n{INTRO}\n");
    let _ = writeln!(
        out,
        "{} endpoints, {} raw permissions, {} assignable permissions.\n",
        catalog.endpoints.len(),
        catalog.permissions.len(),
        catalog.assignable.len()
    );
    for section in sections(catalog) {
        let count: usize = section.categories.values().map(Vec::len).sum();
        let _ = writeln!(out, "## {} boundary\n", title(section.boundary));
        if count == 0 {
            let _ = writeln!(out, "No endpoints.\n");
            continue;
        }
        for (category, rows) in &section.categories {
            let _ = writeln!(out, "### {} / {}\n", section.boundary.name(), md_code(category));
            let _ = writeln!(out, "| Method | Path | Raw permissions | Granted by (assignable) | Origin |");
            let _ = writeln!(out, "|---|---|---|---|---|");
            for row in rows {
                let raw: Vec<String> = row.grants.iter().map(|(p, _)| md_code(p)).collect();
                let by: Vec<String> = row
                    .grants
                    .iter()
                    .map(|(p, names)| {
                        let names: Vec<String> = names.iter().map(|n| md_code(n)).collect();
                        let names = if names.is_empty() { "(none)".to_owned() } else { names.join(", ") };
                        if row.grants.len() > 1 { format!("{}: {names}", md_code(p)) } else { names }
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    md_code(&row.endpoint.method),
                    md_code(&row.endpoint.path),
                    raw.join(", "),
                    by.join("; "),
                    origin_name(row.endpoint.origin)
                );
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "## GraphQL\n\n{GRAPHQL_INTRO}\n");
    let _ = writeln!(out, "| Kind | Field | Raw permissions | Granted by (assignable) | Boundary (argument) |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for (field, grants) in graphql_rows(catalog) {
        let raw: Vec<String> = grants.iter().map(|(p, _)| md_code(p)).collect();
        let by: Vec<String> = grants.iter().flat_map(|(_, names)| names.iter().map(|n| md_code(n))).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            field.kind.name(),
            md_code(&field.name),
            raw.join(", "),
            by.join(", "),
            md_code(&graphql_target(field))
        );
    }
    let _ = writeln!(out, "\n### GraphQL object fields\n\n{GRAPHQL_TYPES_INTRO}\n");
    let _ = writeln!(out, "| Field | Returns | Reach | Raw permission | Origin |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for field in &catalog.graphql_types {
        let [name, returns, reach, permission, origin] = graphql_type_cells(field);
        let _ = writeln!(
            out,
            "| {} | {} | {reach} | {} | {origin} |",
            md_code(&name),
            md_code(&returns),
            md_code(&permission)
        );
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
h1{margin-top:0}h2{border-bottom:2px solid #ccc;padding-bottom:.2rem;margin-top:2rem}\
h3{margin-bottom:.4rem}table{border-collapse:collapse;width:100%;margin-bottom:1rem;table-layout:fixed}\
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem;\
overflow-wrap:anywhere}th:first-child{width:5rem}th:last-child{width:7rem}\
th{background:#f3f3f3}code{font-family:ui-monospace,monospace}\
#filter{font-size:1rem;padding:.4rem;width:30rem;max-width:100%}\
.hidden{display:none}.origin-assigned{color:#8a4b00}#count{margin-left:1rem;color:#555}";

/// Hides rows whose text does not contain every word typed, then empty tables and sections.
const JS: &str = "(function(){var box=document.getElementById('filter');\
var count=document.getElementById('count');\
function apply(){var words=box.value.toLowerCase().split(/\\s+/).filter(function(w){return w;});\
var shown=0;document.querySelectorAll('tr.endpoint').forEach(function(tr){\
var text=tr.textContent.toLowerCase();var ok=words.every(function(w){return text.indexOf(w)>=0;});\
tr.classList.toggle('hidden',!ok);if(ok){shown++;}});\
document.querySelectorAll('.category,.boundary').forEach(function(el){\
el.classList.toggle('hidden',!el.querySelector('tr.endpoint:not(.hidden)'));});\
count.textContent=shown+' shown';}\
box.addEventListener('input',apply);apply();})();";

/// The reference as one self-contained HTML page (inline CSS and JavaScript, no
/// external assets), with a filter box that hides non-matching rows.
pub fn html(catalog: &Catalog) -> String {
    let mut out = String::new();
    let intro = escape_html(INTRO).replace("`/api/v4`", "<code>/api/v4</code>");
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>finegrain permissions reference</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <h1>finegrain permissions reference</h1>\n<p>{intro}</p>\n<p>{} endpoints, {} raw permissions, \
         {} assignable permissions.</p>\n\
         <p><input id=\"filter\" type=\"search\" placeholder=\"Filter: method, path, permission…\" \
         aria-label=\"Filter endpoints\" autofocus><span id=\"count\"></span></p>\n",
        catalog.endpoints.len(),
        catalog.permissions.len(),
        catalog.assignable.len()
    );
    for section in sections(catalog) {
        let name = section.boundary.name();
        let _ =
            writeln!(out, "<section class=\"boundary\" id=\"{name}\">\n<h2>{} boundary</h2>", title(section.boundary));
        for (category, rows) in &section.categories {
            let category = escape_html(category);
            let _ = writeln!(
                out,
                "<div class=\"category\" id=\"{name}-{category}\">\n<h3>{name} / <code>{category}</code></h3>\n\
                 <table>\n<thead><tr><th>Method</th><th>Path</th><th>Raw permissions</th>\
                 <th>Granted by (assignable)</th><th>Origin</th></tr></thead>\n<tbody>"
            );
            for row in rows {
                let raw: Vec<String> =
                    row.grants.iter().map(|(p, _)| format!("<code>{}</code>", escape_html(p))).collect();
                let by: Vec<String> = row
                    .grants
                    .iter()
                    .map(|(p, names)| {
                        let names: Vec<String> =
                            names.iter().map(|n| format!("<code>{}</code>", escape_html(n))).collect();
                        let names = if names.is_empty() { "(none)".to_owned() } else { names.join(", ") };
                        if row.grants.len() > 1 { format!("<code>{}</code>: {names}", escape_html(p)) } else { names }
                    })
                    .collect();
                let origin = row.endpoint.origin;
                let _ = writeln!(
                    out,
                    "<tr class=\"endpoint\"><td><code>{}</code></td><td><code>{}</code></td><td>{}</td>\
                     <td>{}</td><td class=\"origin-{}\">{}</td></tr>",
                    escape_html(&row.endpoint.method),
                    escape_html(&row.endpoint.path),
                    raw.join(", "),
                    by.join("<br>"),
                    if origin == Origin::Gitlab { "gitlab" } else { "assigned" },
                    origin_name(origin)
                );
            }
            let _ = writeln!(out, "</tbody>\n</table>\n</div>");
        }
        if section.categories.is_empty() {
            let _ = writeln!(out, "<p>No endpoints.</p>");
        }
        let _ = writeln!(out, "</section>");
    }
    let intro = escape_html(GRAPHQL_INTRO).replace("`POST /api/graphql`", "<code>POST /api/graphql</code>");
    let _ = writeln!(
        out,
        "<section class=\"boundary\" id=\"graphql\">\n<h2>GraphQL</h2>\n<p>{intro}</p>\n\
         <div class=\"category\" id=\"graphql-fields\">\n<table>\n<thead><tr><th>Kind</th><th>Field</th>\
         <th>Raw permissions</th><th>Granted by (assignable)</th><th>Boundary (argument)</th></tr></thead>\n<tbody>"
    );
    for (field, grants) in graphql_rows(catalog) {
        let code = |text: &str| format!("<code>{}</code>", escape_html(text));
        let raw: Vec<String> = grants.iter().map(|(p, _)| code(p)).collect();
        let by: Vec<String> = grants.iter().flat_map(|(_, names)| names.iter().map(|n| code(n))).collect();
        let _ = writeln!(
            out,
            "<tr class=\"endpoint\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            field.kind.name(),
            code(&field.name),
            raw.join(", "),
            by.join(", "),
            code(&graphql_target(field))
        );
    }
    let _ = writeln!(out, "</tbody>\n</table>\n</div>");
    let _ = writeln!(
        out,
        "<div class=\"category\" id=\"graphql-types\">\n<h3>GraphQL object fields</h3>\n<p>{}</p>\n<table>\n\
         <thead><tr><th>Field</th><th>Returns</th><th>Reach</th><th>Raw permission</th><th>Origin</th></tr></thead>\n<tbody>",
        escape_html(GRAPHQL_TYPES_INTRO)
    );
    for field in &catalog.graphql_types {
        let cells: Vec<String> = graphql_type_cells(field).iter().map(|c| escape_html(c)).collect();
        let _ = writeln!(out, "<tr class=\"endpoint\"><td>{}</td></tr>", cells.join("</td><td>"));
    }
    let _ = writeln!(out, "</tbody>\n</table>\n</div>\n</section>");
    let _ = write!(out, "<script>{JS}</script>\n</body>\n</html>\n");
    out
}

/// Mapped out of total.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ratio {
    pub mapped: usize,
    pub total: usize,
}

impl Ratio {
    /// The mapped share in percent (0 when there is nothing to map).
    pub fn percent(&self) -> f64 {
        if self.total == 0 { 0.0 } else { 100.0 * self.mapped as f64 / self.total as f64 }
    }
}

/// How much of GitLab's reference the catalog maps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coverage {
    /// `/api/v4` operations of `rest_endpoints.tsv`.
    pub rest: Ratio,
    /// The same, by the reference's `area` column (`(none)` when empty).
    pub rest_by_area: BTreeMap<String, Ratio>,
    /// Mapped operations whose mapping GitLab annotates.
    pub rest_from_gitlab: usize,
    /// Mapped operations whose mapping finegrain assigned.
    pub rest_assigned: usize,
    /// Operations of `graphql_operations.tsv` (the engine maps no GraphQL yet).
    pub graphql: Ratio,
}

/// Rows of a reference TSV (tabs only, no quoting) as maps from header to cell.
fn tsv_rows<'a>(name: &str, text: &'a str, required: &[&str]) -> Result<Vec<HashMap<&'a str, &'a str>>, String> {
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().ok_or_else(|| format!("{name}: empty file"))?.split('\t').collect();
    if let Some(missing) = required.iter().find(|c| !header.contains(c)) {
        return Err(format!("{name}: header lacks column {missing}"));
    }
    Ok(lines.map(|line| header.iter().copied().zip(line.split('\t')).collect()).collect())
}

/// Counts the reference operations the catalog maps. A REST row (prefix
/// `/api/v4`) is mapped when the catalog has an endpoint with its method whose
/// `reference` is the row's path (the generator keeps an operation's optional
/// variants all or none); its origin is that of those endpoints.
pub fn coverage(catalog: &Catalog, rest_tsv: &str, graphql_tsv: &str) -> Result<Coverage, String> {
    let endpoints: HashMap<(&str, &str), Origin> =
        catalog.endpoints.iter().map(|e| ((e.method.as_str(), e.reference.as_str()), e.origin)).collect();
    let mut rest = Ratio::default();
    let mut by_area: BTreeMap<String, Ratio> = BTreeMap::new();
    let (mut from_gitlab, mut assigned) = (0, 0);
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for row in tsv_rows("rest_endpoints.tsv", rest_tsv, &["method", "prefix", "path", "area"])? {
        if row.get("prefix").copied() != Some("/api/v4") {
            continue;
        }
        let (method, path) = (row.get("method").copied().unwrap_or(""), row.get("path").copied().unwrap_or(""));
        if !seen.insert((method, path)) {
            continue;
        }
        let area = match row.get("area").copied().unwrap_or("") {
            "" => "(none)".to_owned(),
            a => a.to_owned(),
        };
        let entry = by_area.entry(area).or_default();
        rest.total += 1;
        entry.total += 1;
        if let Some(origin) = endpoints.get(&(method, path)) {
            rest.mapped += 1;
            entry.mapped += 1;
            match origin {
                Origin::Gitlab => from_gitlab += 1,
                Origin::Assigned => assigned += 1,
            }
        }
    }
    let graphql_rows = tsv_rows("graphql_operations.tsv", graphql_tsv, &["kind", "name"])?;
    let mapped_fields: HashSet<(&str, &str)> =
        catalog.graphql.iter().map(|f| (f.kind.name(), f.name.as_str())).collect();
    let graphql = Ratio {
        mapped: graphql_rows
            .iter()
            .filter(|r| {
                mapped_fields.contains(&(r.get("kind").copied().unwrap_or(""), r.get("name").copied().unwrap_or("")))
            })
            .count(),
        total: graphql_rows.len(),
    };
    Ok(Coverage { rest, rest_by_area: by_area, rest_from_gitlab: from_gitlab, rest_assigned: assigned, graphql })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything() {
        assert_eq!(escape_html("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
