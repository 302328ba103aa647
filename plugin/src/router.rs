//! REST routing: method + path template → endpoint, built once per loaded
//! policy on the `matchit` radix tree (linear in the path length).
//!
//! Parameters are renamed by position (`:id` in segment 2 becomes `{s2}`) so that
//! two endpoints naming the same position differently share one route; each
//! endpoint then finds its boundary parameter by position.

use std::collections::HashMap;

use finegrain_catalog::Endpoint;

/// Endpoints sharing one path template, by method.
#[derive(Default)]
struct Methods {
    by_method: Vec<(String, usize)>,
}

/// The router over a catalog's endpoints.
pub struct Router {
    tree: matchit::Router<usize>,
    routes: Vec<Methods>,
    /// For each endpoint, the route key of its boundary parameter.
    boundary_keys: Vec<Option<String>>,
    /// For each endpoint, the route key of a `:branch` or `:tag_name` parameter
    /// and the ref prefix it stands for.
    ref_keys: Vec<Option<(String, &'static str)>>,
}

/// Path parameters that name a ref, and the ref prefix each stands for.
pub const REF_PARAMS: [(&str, &str); 2] = [("branch", "refs/heads/"), ("tag_name", "refs/tags/")];

/// A routed request: the endpoint and the raw values of its boundary and ref
/// parameters.
pub struct Routed<'p> {
    pub endpoint: usize,
    pub boundary_value: Option<&'p str>,
    /// `(ref prefix, raw value)`, e.g. `("refs/heads/", "main")`.
    pub ref_value: Option<(&'static str, &'p str)>,
}

/// The route key of the parameter called `name` in a template.
fn param_key(template: &str, name: &str) -> Option<String> {
    template.split('/').position(|s| s.strip_prefix(':') == Some(name)).map(|i| format!("s{i}"))
}

/// Rewrites `/projects/:id/x/*rest` as `/projects/{s2}/x/{*s4}`.
fn route_key(template: &str) -> String {
    template
        .split('/')
        .enumerate()
        .map(|(i, segment)| {
            if segment.starts_with(':') {
                format!("{{s{i}}}")
            } else if segment.starts_with('*') {
                format!("{{*s{i}}}")
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Router {
    /// Builds the router; fails when two templates collide.
    pub fn new(endpoints: &[Endpoint]) -> Result<Router, String> {
        let mut tree = matchit::Router::new();
        let mut routes: Vec<Methods> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut boundary_keys = Vec::with_capacity(endpoints.len());
        let mut ref_keys = Vec::with_capacity(endpoints.len());
        for (index, endpoint) in endpoints.iter().enumerate() {
            let key = route_key(&endpoint.path);
            let route = match by_key.get(&key) {
                Some(route) => *route,
                None => {
                    let route = routes.len();
                    tree.insert(key.clone(), route).map_err(|err| {
                        format!("catalog route {} {} cannot be added: {err}", endpoint.method, endpoint.path)
                    })?;
                    routes.push(Methods::default());
                    by_key.insert(key, route);
                    route
                }
            };
            routes[route].by_method.push((endpoint.method.clone(), index));
            boundary_keys.push(endpoint.boundary_param.as_ref().and_then(|param| param_key(&endpoint.path, param)));
            ref_keys
                .push(REF_PARAMS.iter().find_map(|(name, prefix)| Some((param_key(&endpoint.path, name)?, *prefix))));
        }
        Ok(Router { tree, routes, boundary_keys, ref_keys })
    }

    /// Finds the endpoint for a method and an API path (after `/api/v4`, still
    /// percent-encoded). HEAD falls back to GET.
    pub fn route<'p>(&self, method: &str, path: &'p str) -> Option<Routed<'p>> {
        let matched = self.tree.at(path).ok()?;
        let methods = &self.routes[*matched.value].by_method;
        let find = |m: &str| methods.iter().find(|(method, _)| method == m).map(|(_, e)| *e);
        let endpoint = find(method).or_else(|| if method == "HEAD" { find("GET") } else { None })?;
        let boundary_value = self.boundary_keys[endpoint].as_deref().and_then(|key| matched.params.get(key));
        let ref_value = self.ref_keys[endpoint]
            .as_ref()
            .and_then(|(key, prefix)| Some((*prefix, matched.params.get(key.as_str())?)));
        Some(Routed { endpoint, boundary_value, ref_value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use finegrain_catalog::{Boundary, Origin};

    fn endpoint(method: &str, path: &str, param: Option<&str>) -> Endpoint {
        Endpoint {
            method: method.into(),
            path: path.into(),
            permissions: vec!["read_branch".into()],
            boundary: Boundary::Project,
            boundary_param: param.map(Into::into),
            origin: Origin::Gitlab,
        }
    }

    #[test]
    fn literal_segments_win_over_parameters_and_params_are_positional() {
        let router = Router::new(&[
            endpoint("GET", "/projects/:id/repository/branches/:branch", Some("id")),
            endpoint("GET", "/projects/:project_id/repository/branches/default", Some("project_id")),
            endpoint("DELETE", "/projects/:id/repository/branches/:name", Some("id")),
        ])
        .unwrap();
        let hit = router.route("GET", "/projects/acme%2Fapi/repository/branches/main").unwrap();
        assert_eq!((hit.endpoint, hit.boundary_value), (0, Some("acme%2Fapi")));
        let hit = router.route("GET", "/projects/7/repository/branches/default").unwrap();
        assert_eq!((hit.endpoint, hit.boundary_value), (1, Some("7")));
        assert_eq!(router.route("DELETE", "/projects/7/repository/branches/x").unwrap().endpoint, 2);
        assert!(router.route("PUT", "/projects/7/repository/branches/x").is_none());
        assert_eq!(router.route("HEAD", "/projects/7/repository/branches/x").unwrap().endpoint, 0);
    }
}
