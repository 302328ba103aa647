//! How much of GitLab's reference (`rest_endpoints.tsv`, `graphql_operations.tsv`)
//! the catalog maps: the figures of `finegrain catalog coverage`.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::{Catalog, Origin};

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
