//! `finegrain docs` and `finegrain catalog coverage`: the permissions reference
//! pages and the coverage figures, checked against counts made here from the
//! reference and catalog TSV files.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn finegrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_finegrain"))
        .args(args)
        .env_remove("FINEGRAIN_REFERENCE")
        .output()
        .expect("run finegrain")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("finegrain-docs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/reference/gitlab")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes the pages once per test and returns (markdown, html).
fn pages(name: &str) -> (String, String) {
    let dir = scratch(name);
    let out = finegrain(&["docs", "-o", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = std::fs::read_to_string(dir.join("permissions.md")).unwrap();
    let html = std::fs::read_to_string(dir.join("permissions.html")).unwrap();
    (md, html)
}

/// The readable title of read_branch's category, as the pages show it.
fn read_branch_category() -> String {
    let catalog = finegrain_catalog::Catalog::builtin().unwrap();
    let category = &catalog.permissions.iter().find(|p| p.name == "read_branch").unwrap().category;
    finegrain_catalog::docs::category_title(category)
}

/// The text of a file from the heading containing `heading` up to the next
/// heading of the same level `marker`.
fn under<'a>(text: &'a str, heading: &str, marker: &str) -> &'a str {
    let start = text.find(heading).unwrap_or_else(|| panic!("no heading {heading:?}"));
    let rest = &text[start + heading.len()..];
    &rest[..rest.find(marker).unwrap_or(rest.len())]
}

#[test]
fn markdown_lists_an_endpoint_under_its_boundary_and_category() {
    let (md, _) = pages("md");
    let project = under(&md, "## Project boundary", "\n## ");
    let line = project
        .lines()
        .find(|l| l.contains("| `GET` | `/projects/:id/repository/branches` |"))
        .expect("branches endpoint under the project boundary");
    // The minimum role, the raw permission with its role, and the assignable
    // permission of the same name that grants it.
    assert!(line.contains("| planner | `read_branch` (planner) | `read_branch`"), "{line}");
    // Under the heading of read_branch's category, listed there only.
    let heading = format!("### Project / {}", read_branch_category());
    assert!(under(project, &heading, "\n### ").contains(line));
    assert_eq!(md.matches(line).count(), 1);
    assert!(!under(&md, "## Group boundary", "\n## ").contains("`/projects/:id/repository/branches`"));
    for heading in ["## Project boundary", "## Group boundary", "## User boundary", "## Instance boundary"] {
        assert!(md.contains(heading), "{heading}");
    }
}

#[test]
fn html_is_self_contained_escaped_and_filterable() {
    let (_, html) = pages("html");
    let project = under(&html, "<h2>Project boundary</h2>", "<h2>");
    let row = project
        .lines()
        .find(|l| {
            l.contains("<code>/<wbr>projects/<wbr>:id/<wbr>repository/<wbr>branches</code>")
                && l.contains("<code>GET</code>")
        })
        .expect("branches row under the project boundary");
    assert!(row.matches("<code>read_branch</code>").count() >= 2, "{row}");
    assert!(row.contains("<td class=\"role\">planner</td>"), "{row}");
    assert!(under(project, &format!("<h3>Project / {}</h3>", read_branch_category()), "<h3>").contains(row));
    for forbidden in ["http://", "https://", "<script src", "<link", "@import", "url("] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    assert!(html.contains("<input id=\"filter\"") && html.contains("<script>") && html.contains("<style>"));
    // No raw `<` inside the data: every table cell's text is escaped.
    for cell in html.split("<code>").skip(1) {
        let text = cell[..cell.find("</code>").unwrap()].replace("<wbr>", "");
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
    }
    assert_eq!(finegrain_catalog::docs::escape_html("<x>"), "&lt;x&gt;");
}

#[test]
fn html_escapes_data_from_the_catalog() {
    let mut catalog = finegrain_catalog::Catalog::builtin().unwrap();
    catalog.endpoints[0].path = "/evil/<script>alert(1)</script>".to_owned();
    let html = finegrain_catalog::docs::html(&catalog);
    assert!(!html.contains("<script>alert"));
    assert!(html.replace("<wbr>", "").contains("/evil/&lt;script&gt;alert(1)&lt;/script&gt;"));
    let md = finegrain_catalog::docs::markdown(&catalog);
    assert!(md.contains("`/evil/<script>alert(1)</script>`"));
}

/// Coverage counted independently: reference rows against catalog/data/endpoints.tsv.
struct Expected {
    mapped: usize,
    total: usize,
    gitlab: usize,
    assigned: usize,
    by_area: BTreeMap<String, (usize, usize)>,
    graphql_mapped: usize,
    graphql_total: usize,
}

/// The figures counted straight from the data files: an operation is mapped
/// when some endpoint row names it (method and reference path) in its
/// `reference` column; a GraphQL operation when `graphql.tsv` lists it.
fn expected() -> Expected {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/data");
    let endpoints = std::fs::read_to_string(data.join("endpoints.tsv")).unwrap();
    let mut header = endpoints.lines().next().unwrap().split('\t');
    let (method_col, origin_col, reference_col) = (
        header.clone().position(|h| h == "method").unwrap(),
        header.clone().position(|h| h == "origin").unwrap(),
        header.position(|h| h == "reference").unwrap(),
    );
    let mut catalog: BTreeMap<(String, String), String> = BTreeMap::new();
    for line in endpoints.lines().skip(1).filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        catalog.insert((cells[method_col].to_owned(), cells[reference_col].to_owned()), cells[origin_col].to_owned());
    }
    let rest = std::fs::read_to_string(reference_dir().join("rest_endpoints.tsv")).unwrap();
    let mut lines = rest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (method, prefix, path, area) = (col("method"), col("prefix"), col("path"), col("area"));
    let mut e = Expected {
        mapped: 0,
        total: 0,
        gitlab: 0,
        assigned: 0,
        by_area: BTreeMap::new(),
        graphql_mapped: 0,
        graphql_total: 0,
    };
    let mut seen = HashSet::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        if cells[prefix] != "/api/v4" || !seen.insert((cells[method], cells[path])) {
            continue;
        }
        let area = if cells[area].is_empty() { "(none)" } else { cells[area] };
        let slot = e.by_area.entry(area.to_owned()).or_default();
        e.total += 1;
        slot.1 += 1;
        if let Some(origin) = catalog.get(&(cells[method].to_owned(), cells[path].to_owned())) {
            e.mapped += 1;
            slot.0 += 1;
            if origin == "gitlab" {
                e.gitlab += 1;
            } else {
                e.assigned += 1;
            }
        }
    }
    let graphql = std::fs::read_to_string(reference_dir().join("graphql_operations.tsv")).unwrap();
    let fields = std::fs::read_to_string(data.join("graphql.tsv")).unwrap();
    let mapped: HashSet<(&str, &str)> = fields
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cells = l.split('\t');
            Some((cells.next()?, cells.next()?))
        })
        .collect();
    for line in graphql.lines().skip(1).filter(|l| !l.is_empty()) {
        let mut cells = line.split('\t');
        let (kind, name) = (cells.next().unwrap_or(""), cells.next().unwrap_or(""));
        e.graphql_total += 1;
        e.graphql_mapped += usize::from(mapped.contains(&(kind, name)));
    }
    e
}

#[test]
fn coverage_json_matches_an_independent_count() {
    let out = finegrain(&["catalog", "coverage", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("coverage JSON");
    let e = expected();
    assert!(e.total > 1000 && e.mapped > 0);
    assert_eq!(json["rest"]["mapped"], e.mapped);
    assert_eq!(json["rest"]["total"], e.total);
    assert_eq!(json["rest_from_gitlab"], e.gitlab);
    assert_eq!(json["rest_assigned"], e.assigned);
    assert_eq!(json["graphql"]["mapped"], e.graphql_mapped);
    assert_eq!(json["graphql"]["total"], e.graphql_total);
    let areas = json["rest_by_area"].as_object().unwrap();
    assert_eq!(areas.len(), e.by_area.len());
    for (area, (mapped, total)) in &e.by_area {
        assert_eq!(areas[area]["mapped"], *mapped, "{area}");
        assert_eq!(areas[area]["total"], *total, "{area}");
    }
}

#[test]
fn coverage_text_shows_the_same_figures() {
    let reference = reference_dir();
    let out = finegrain(&["catalog", "coverage", "--reference", reference.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let e = expected();
    let rest = text.lines().find(|l| l.starts_with("REST /api/v4 operations")).unwrap();
    let figures: Vec<&str> = rest.split_whitespace().collect();
    assert!(
        figures.windows(3).any(|w| w == [e.mapped.to_string().as_str(), "/", e.total.to_string().as_str()]),
        "{rest}"
    );
    assert!(text.contains(&format!("annotated by GitLab: {}, assigned here: {}", e.gitlab, e.assigned)), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("GraphQL operations")
            && l.contains(&format!("{} / {}", e.graphql_mapped, e.graphql_total)))
    );
}

#[test]
fn missing_reference_is_one_line_and_exit_two() {
    let dir = scratch("noref");
    let out = finegrain(&["catalog", "coverage", "--reference", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("rest_endpoints.tsv"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_finegrain"))
        .args(["catalog", "coverage", "--json"])
        .env("FINEGRAIN_REFERENCE", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn contents_link_every_boundary_and_category_and_the_counters_add_up() {
    let (md, html) = pages("contents");
    let dir = scratch("json");
    let out = finegrain(&["docs", "-o", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("permissions.json")).unwrap()).unwrap();
    let stdout_json: serde_json::Value = serde_json::from_str(&stdout(&finegrain(&["docs", "--json"]))).unwrap();
    assert_eq!(json, stdout_json);

    let counts = &json["counts"];
    let catalog = finegrain_catalog::Catalog::builtin().unwrap();
    assert_eq!(counts["rest_endpoints"], catalog.endpoints.len());
    assert_eq!(counts["graphql_fields"], catalog.graphql.len());
    let mut listed = 0;
    for boundary in json["boundaries"].as_array().unwrap() {
        let name = boundary["boundary"].as_str().unwrap();
        assert!(html.contains(&format!("<section class=\"boundary\" id=\"{name}\">")), "{name}");
        assert!(html.contains(&format!("<a href=\"#{name}\">")) && md.contains(&format!("](#{name})")), "{name}");
        let mut in_boundary = 0;
        for category in boundary["categories"].as_array().unwrap() {
            let (anchor, title) = (category["anchor"].as_str().unwrap(), category["title"].as_str().unwrap());
            assert!(html.contains(&format!("<div class=\"category\" id=\"{anchor}\">")), "{anchor}");
            assert!(html.contains(&format!("<a href=\"#{anchor}\">")), "{anchor}");
            assert!(
                md.contains(&format!("<a id=\"{anchor}\"></a>")) && md.contains(&format!("](#{anchor})")),
                "{anchor}"
            );
            assert!(!title.contains('_') && !title.to_lowercase().contains("placeholder"), "{title}");
            in_boundary += category["endpoints"].as_array().unwrap().len();
        }
        assert_eq!(boundary["endpoints"], in_boundary, "{name}");
        listed += in_boundary;
    }
    assert_eq!(counts["rest_endpoints"], listed);
    let by_auth =
        ["rest_token", "rest_anonymous", "rest_service"].iter().map(|k| counts[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(counts["rest_endpoints"], by_auth);
    // The HTML rows are the JSON's: one per endpoint and GraphQL field.
    assert_eq!(html.matches("<tr class=\"endpoint\">").count(), listed + catalog.graphql.len());
    let totals = format!("{listed} REST endpoints");
    assert!(md.contains(&totals) && html.contains(&totals), "{totals}");
    assert!(html.contains(&format!("and {} GraphQL root fields", catalog.graphql.len())));
}

#[test]
fn every_permission_shows_its_minimum_role() {
    let out = finegrain(&["docs", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let roles = [
        "authenticated",
        "guest",
        "planner",
        "reporter",
        "security_manager",
        "developer",
        "maintainer",
        "owner",
        "admin",
    ];
    let endpoints = json["boundaries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["categories"].as_array().unwrap())
        .flat_map(|c| c["endpoints"].as_array().unwrap());
    for endpoint in endpoints {
        for permission in endpoint["permissions"].as_array().unwrap() {
            assert!(roles.contains(&permission["min_role"].as_str().unwrap()), "{permission}");
        }
        if endpoint["auth"] == "token" {
            assert!(roles.contains(&endpoint["min_role"].as_str().unwrap()), "{endpoint}");
        }
    }
    // GitLab's documented roles: deleting a branch needs developer; group CI/CD
    // variables need owner although project ones need maintainer.
    let find = |method: &str, path: &str| {
        json["boundaries"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["categories"].as_array().unwrap())
            .flat_map(|c| c["endpoints"].as_array().unwrap())
            .find(|e| e["method"] == method && e["path"] == path)
            .unwrap()
            .clone()
    };
    assert_eq!(find("DELETE", "/projects/:id/repository/branches/:branch")["min_role"], "developer");
    let variables = find("GET", "/groups/:id/variables");
    assert_eq!(
        (variables["min_role"].as_str(), variables["permissions"][0]["group_min_role"].as_str()),
        (Some("maintainer"), Some("owner"))
    );
}
