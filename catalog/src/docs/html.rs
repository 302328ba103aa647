//! The permissions reference as one self-contained HTML page: inline CSS and
//! JavaScript, no external assets, a contents list with an anchor per boundary
//! and category, and a filter box that hides non-matching rows.

use std::fmt::Write as _;

use super::markdown::{GRAPHQL_INTRO, GRAPHQL_TYPES_INTRO, INTRO, totals};
use super::{EndpointEntry, GraphqlEntry, GraphqlTypeEntry, PermissionUse, Reference, granted_text, reference};
use crate::Catalog;

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

/// Paths may wrap only after a `/` (a `<wbr>`), never inside a segment; the
/// table sizes its columns to the longest segment.
const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;line-height:1.4}\
h1{margin-top:0}h2{border-bottom:2px solid #ccc;padding-bottom:.2rem;margin-top:2.5rem}\
h3{margin-bottom:.4rem}table{border-collapse:collapse;width:100%;margin-bottom:1rem}\
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}\
th{background:#f3f3f3}code{font-family:ui-monospace,monospace;overflow-wrap:normal;word-break:normal}\
td.method,td.role,td.origin{white-space:nowrap}.role-note{color:#555}\
nav.contents{columns:3 18rem;background:#f8f8f8;padding:.5rem 1rem;border:1px solid #e3e3e3}\
nav.contents ul{margin:.2rem 0;padding-left:1.2rem}nav.contents>ul>li{break-inside:avoid;margin-bottom:.5rem}\
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

fn code(text: &str) -> String {
    format!("<code>{}</code>", escape_html(text))
}

/// A path that may wrap after each `/` and nowhere else.
fn path_code(path: &str) -> String {
    format!("<code>{}</code>", escape_html(path).replace('/', "/<wbr>"))
}

fn permission_cell(p: &PermissionUse) -> String {
    match &p.group_min_role {
        Some(group) => format!(
            "{} <span class=\"role-note\">{}; {group} in groups</span>",
            code(&p.name),
            escape_html(&p.min_role)
        ),
        None => format!("{} <span class=\"role-note\">{}</span>", code(&p.name), escape_html(&p.min_role)),
    }
}

fn endpoint_row(e: &EndpointEntry) -> String {
    let raw: Vec<String> = e.permissions.iter().map(permission_cell).collect();
    format!(
        "<tr class=\"endpoint\"><td class=\"method\">{}</td><td>{}</td><td class=\"role\">{}</td><td>{}</td>\
         <td>{}</td><td class=\"origin origin-{}\">{}</td></tr>",
        code(&e.method),
        path_code(&e.path),
        escape_html(&e.min_role),
        raw.join("<br>"),
        granted_text(&e.permissions, code, "<br>"),
        e.origin,
        if e.origin == "gitlab" { "GitLab" } else { "assigned here" }
    )
}

fn graphql_row(f: &GraphqlEntry) -> String {
    let raw: Vec<String> = f.permissions.iter().map(permission_cell).collect();
    format!(
        "<tr class=\"endpoint\"><td>{}</td><td>{}</td><td class=\"role\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        f.kind,
        code(&f.field),
        escape_html(&f.min_role),
        raw.join("<br>"),
        granted_text(&f.permissions, code, "<br>"),
        code(&f.target())
    )
}

fn contents(r: &Reference, out: &mut String) {
    let _ = writeln!(out, "<nav class=\"contents\" aria-label=\"Contents\">\n<ul>");
    for b in &r.boundaries {
        let _ = write!(out, "<li><a href=\"#{}\">{} boundary</a> ({})<ul>", b.boundary.name(), b.title, b.endpoints);
        for c in &b.categories {
            let _ =
                write!(out, "<li><a href=\"#{}\">{}</a> ({})</li>", c.anchor, escape_html(&c.title), c.endpoints.len());
        }
        let _ = writeln!(out, "</ul></li>");
    }
    let _ = writeln!(
        out,
        "<li><a href=\"#graphql\">GraphQL</a> ({} root fields)<ul><li><a href=\"#graphql-types\">GraphQL object \
         fields</a> ({})</li></ul></li>\n</ul>\n</nav>",
        r.graphql.len(),
        r.graphql_types.len()
    );
}

/// A row of the object-field table. Its class is not `endpoint`: the page's
/// counters count endpoints and root fields only.
fn graphql_type_row(t: &GraphqlTypeEntry) -> String {
    format!(
        "<tr class=\"graphql-type\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        code(&t.field),
        code(&t.returns),
        t.reach,
        code(&t.permission),
        t.origin
    )
}

const ENDPOINT_HEAD: &str = "<thead><tr><th>Method</th><th>Path</th><th>Minimum role</th><th>Raw permissions</th>\
<th>Granted by (assignable)</th><th>Origin</th></tr></thead>";

/// The reference as one self-contained HTML page.
pub fn html(catalog: &Catalog) -> String {
    let r = reference(catalog);
    let mut out = String::new();
    let code_spans = |text: &str| {
        escape_html(text)
            .replace("`/api/v4`", "<code>/api/v4</code>")
            .replace("`POST /api/graphql`", "<code>POST /api/graphql</code>")
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>finegrain permissions reference</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <h1>finegrain permissions reference</h1>\n<p>{}</p>\n<p id=\"totals\">{}</p>\n",
        code_spans(INTRO),
        escape_html(&totals(&r))
    );
    contents(&r, &mut out);
    let _ = writeln!(
        out,
        "<p><input id=\"filter\" type=\"search\" placeholder=\"Filter: method, path, permission, role…\" \
         aria-label=\"Filter endpoints\"><span id=\"count\"></span></p>"
    );
    for b in &r.boundaries {
        let name = b.boundary.name();
        let _ = writeln!(out, "<section class=\"boundary\" id=\"{name}\">\n<h2>{} boundary</h2>", b.title);
        for c in &b.categories {
            let _ = writeln!(
                out,
                "<div class=\"category\" id=\"{}\">\n<h3>{} / {}</h3>\n<table>\n{ENDPOINT_HEAD}\n<tbody>",
                c.anchor,
                b.title,
                escape_html(&c.title)
            );
            for e in &c.endpoints {
                let _ = writeln!(out, "{}", endpoint_row(e));
            }
            let _ = writeln!(out, "</tbody>\n</table>\n</div>");
        }
        if b.categories.is_empty() {
            let _ = writeln!(out, "<p>No endpoints.</p>");
        }
        let _ = writeln!(out, "</section>");
    }
    let _ = writeln!(
        out,
        "<section class=\"boundary\" id=\"graphql\">\n<h2>GraphQL</h2>\n<p>{}</p>\n\
         <div class=\"category\" id=\"graphql-fields\">\n<table>\n<thead><tr><th>Kind</th><th>Field</th>\
         <th>Minimum role</th><th>Raw permissions</th><th>Granted by (assignable)</th><th>Boundary (argument)</th>\
         </tr></thead>\n<tbody>",
        code_spans(GRAPHQL_INTRO)
    );
    for f in &r.graphql {
        let _ = writeln!(out, "{}", graphql_row(f));
    }
    let _ = writeln!(
        out,
        "</tbody>\n</table>\n</div>\n<div class=\"types\" id=\"graphql-types\">\n<h3>GraphQL object fields</h3>\n\
         <p>{}</p>\n<table>\n<thead><tr><th>Field</th><th>Returns</th><th>Reach</th><th>Raw permission</th>\
         <th>Origin</th></tr></thead>\n<tbody>",
        escape_html(GRAPHQL_TYPES_INTRO)
    );
    for t in &r.graphql_types {
        let _ = writeln!(out, "{}", graphql_type_row(t));
    }
    let _ = writeln!(out, "</tbody>\n</table>\n</div>\n</section>");
    let _ = write!(out, "<script>{JS}</script>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything() {
        assert_eq!(escape_html("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn paths_wrap_only_after_a_slash() {
        assert_eq!(path_code("/projects/:id/repository"), "<code>/<wbr>projects/<wbr>:id/<wbr>repository</code>");
    }
}
