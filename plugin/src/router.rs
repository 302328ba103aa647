//! REST routing: method + path template → endpoint, built once per loaded
//! policy on the `matchit` radix tree (linear in the path length).
//!
//! GitLab's templates have two shapes `matchit` cannot hold in one tree:
//! catch-all parameters in mid-path (`/packages/maven/*path/:file_name`) and
//! catch-alls beside a named parameter at the same position (`/npm/*name` and
//! `/npm/:name`). So there are two trees, tried in order:
//!
//! 1. **exact**: templates without a catch-all, matched whole;
//! 2. **tail**: a template with a catch-all is filed under the part before its
//!    first catch-all (`/projects/{s2}/packages/maven/{*tail}`), and the rest of
//!    the path is matched against the template's tail
//!    (`*path/:file_name/authorize`) by a small glob matcher that runs in
//!    time linear in the number of segments. Tails sharing a prefix are tried
//!    most specific first (more literal segments, then more segments).
//!
//! Parameters are renamed by position (`:id` in segment 2 becomes `{s2}`) so
//! that two endpoints naming the same position differently share one route; each
//! endpoint then finds its boundary parameter by position. Two endpoints of one
//! method that would match exactly the same requests are refused when the router
//! is built: one would silently shadow the other.

use rustc_hash::FxHashMap as HashMap;

use finegrain_catalog::{Endpoint, segment_param};

/// Endpoints sharing one route, by method.
#[derive(Default)]
struct Methods {
    by_method: Vec<(String, usize)>,
}

impl Methods {
    /// The endpoint for a method; HEAD falls back to GET.
    fn find(&self, method: &str) -> Option<usize> {
        let find = |m: &str| self.by_method.iter().find(|(method, _)| method == m).map(|(_, e)| *e);
        find(method).or_else(|| if method == "HEAD" { find("GET") } else { None })
    }

    /// Adds an endpoint; fails when the method is already taken.
    fn add(&mut self, method: &str, endpoint: usize) -> Result<(), usize> {
        match self.by_method.iter().find(|(m, _)| m == method) {
            Some((_, other)) => Err(*other),
            None => {
                self.by_method.push((method.to_owned(), endpoint));
                Ok(())
            }
        }
    }
}

/// One segment of a tail pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seg {
    /// Exactly this text.
    Literal(String),
    /// One non-empty segment with this literal prefix and suffix.
    Param { prefix: String, suffix: String },
    /// One or more segments.
    CatchAll,
}

impl Seg {
    fn parse(segment: &str) -> Seg {
        if segment.starts_with('*') {
            return Seg::CatchAll;
        }
        match segment_param(segment) {
            None => Seg::Literal(segment.to_owned()),
            Some(p) => Seg::Param { prefix: p.prefix.to_owned(), suffix: p.suffix.to_owned() },
        }
    }

    /// Whether one path segment matches (for everything but `CatchAll`).
    fn matches_one(&self, segment: &str) -> bool {
        match self {
            Seg::Literal(text) => text == segment,
            Seg::Param { prefix, suffix } => {
                segment.len() > prefix.len() + suffix.len() && segment.starts_with(prefix) && segment.ends_with(suffix)
            }
            Seg::CatchAll => true,
        }
    }
}

/// The part of a template from its first catch-all on.
struct Tail {
    pattern: Vec<Seg>,
    methods: Methods,
}

impl Tail {
    /// Glob matching where a catch-all takes one or more segments: the classic
    /// two-pointer algorithm, remembering only the last catch-all, which is
    /// linear in `segments.len() * pattern.len()`.
    fn matches(&self, segments: &[&str]) -> bool {
        let (pattern, mut p, mut s) = (&self.pattern, 0, 0);
        // (pattern index after the catch-all, segment index it resumes from)
        let mut backtrack: Option<(usize, usize)> = None;
        while s < segments.len() {
            if p < pattern.len() && pattern[p] == Seg::CatchAll {
                // Take one segment now; extra ones are taken on backtracking.
                backtrack = Some((p + 1, s + 1));
                p += 1;
                s += 1;
            } else if p < pattern.len() && pattern[p].matches_one(segments[s]) {
                p += 1;
                s += 1;
            } else if let Some((after, from)) = backtrack {
                backtrack = Some((after, from + 1));
                p = after;
                s = from + 1;
            } else {
                return false;
            }
        }
        p == pattern.len()
    }

    /// Literal segments first, then length: the order tails are tried in.
    fn specificity(&self) -> (usize, usize) {
        (self.pattern.iter().filter(|s| matches!(s, Seg::Literal(_))).count(), self.pattern.len())
    }
}

/// A set of routing trees: for every endpoint, or for the endpoints of one
/// method.
#[derive(Default)]
struct Trees {
    exact: matchit::Router<usize>,
    exact_routes: Vec<Methods>,
    exact_keys: HashMap<String, usize>,
    tail: matchit::Router<usize>,
    tail_routes: Vec<Vec<Tail>>,
    tail_keys: HashMap<String, usize>,
}

/// What a lookup in a set of trees found.
enum Lookup<'t, 'p> {
    Found(usize, matchit::Params<'t, 'p>),
    /// A route matched the path but has no endpoint for the method: a route of
    /// other methods may hide one of this method.
    Hidden,
    Missing,
}

/// Why a template could not be added.
enum AddError {
    /// `matchit` refused it (the message says why).
    Tree(String),
    /// This endpoint matches exactly the requests of that one.
    Shadows(usize),
}

impl Trees {
    /// Adds an endpoint's template.
    fn add(&mut self, index: usize, method: &str, segments: &[&str], label: &str) -> Result<(), AddError> {
        match segments.iter().position(|s| s.starts_with('*')) {
            None => {
                let key = route_key(segments);
                let route = intern(&mut self.exact, &mut self.exact_routes, &mut self.exact_keys, key, label)
                    .map_err(AddError::Tree)?;
                self.exact_routes[route].add(method, index).map_err(AddError::Shadows)
            }
            Some(star) => {
                let key = format!("{}/{{*{TAIL_KEY}}}", route_key(&segments[..star]));
                let route = intern(&mut self.tail, &mut self.tail_routes, &mut self.tail_keys, key, label)
                    .map_err(AddError::Tree)?;
                let pattern: Vec<Seg> = segments[star..].iter().map(|s| Seg::parse(s)).collect();
                let tails = &mut self.tail_routes[route];
                let i = tails.iter().position(|t| t.pattern == pattern).unwrap_or_else(|| {
                    tails.push(Tail { pattern, methods: Methods::default() });
                    tails.len() - 1
                });
                tails[i].methods.add(method, index).map_err(AddError::Shadows)
            }
        }
    }

    /// Sorts tails most specific first, once every template is in.
    fn finish(mut self) -> Trees {
        for tails in &mut self.tail_routes {
            tails.sort_by_key(|t| std::cmp::Reverse(t.specificity()));
        }
        self
    }

    /// The endpoint of `method` for a path in these trees.
    fn route<'t, 'p>(&'t self, method: &str, path: &'p str) -> Lookup<'t, 'p> {
        if let Ok(matched) = self.exact.at(path) {
            return match self.exact_routes[*matched.value].find(method) {
                Some(endpoint) => Lookup::Found(endpoint, matched.params),
                None => Lookup::Hidden,
            };
        }
        let Ok(matched) = self.tail.at(path) else { return Lookup::Missing };
        let Some(rest) = matched.params.get(TAIL_KEY) else { return Lookup::Missing };
        let rest: Vec<&str> = rest.split('/').collect();
        let endpoint = self.tail_routes[*matched.value]
            .iter()
            .filter(|tail| tail.matches(&rest))
            .find_map(|tail| tail.methods.find(method));
        match endpoint {
            Some(endpoint) => Lookup::Found(endpoint, matched.params),
            None => Lookup::Hidden,
        }
    }
}

/// The router over a catalog's endpoints.
///
/// Grape routes by method first: a literal route of one method
/// (`PUT …/integrations/asana`) does not hide a parameter route of another
/// (`GET …/integrations/:slug`). One set of trees over every endpoint answers
/// most lookups; when a route of other methods hides the one asked for, the
/// trees of that method alone answer. Those are built on first use, so that
/// loading a policy costs one set of trees.
pub struct Router {
    all: Trees,
    /// Each endpoint's method and template, for the per-method trees.
    templates: Vec<(String, String)>,
    by_method: HashMap<String, std::sync::OnceLock<Trees>>,
    /// For each endpoint, the route key of its boundary parameter.
    boundary_keys: Vec<Option<String>>,
    /// For each endpoint, the route key of a `:branch` or `:tag_name` parameter
    /// and the ref prefix it stands for.
    ref_keys: Vec<Option<(String, &'static str)>>,
    /// For each endpoint, whether its template ends in a literal segment.
    ends_in_literal: Vec<bool>,
}

/// Path parameters that name a ref, and the ref prefix each stands for.
pub const REF_PARAMS: [(&str, &str); 2] = [("branch", "refs/heads/"), ("tag_name", "refs/tags/")];

/// The route parameter holding the rest of the path in the tail tree.
const TAIL_KEY: &str = "tail";

/// A routed request: the endpoint and the raw values of its boundary and ref
/// parameters.
pub struct Routed<'p> {
    pub endpoint: usize,
    pub boundary_value: Option<&'p str>,
    /// `(ref prefix, raw value)`, e.g. `("refs/heads/", "main")`.
    pub ref_value: Option<(&'static str, &'p str)>,
}

/// The format suffixes Grape strips from the last segment (its built-in
/// content types).
pub const GRAPE_FORMATS: [&str; 6] = ["json", "jsonapi", "xml", "txt", "binary", "serializable_hash"];

/// The path without a Grape format suffix on its last segment, if it has one.
fn strip_format(path: &str) -> Option<&str> {
    let (stem, ext) = path.rsplit_once('.')?;
    let stem_ok = !stem.ends_with('/') && !ext.contains('/');
    (stem_ok && GRAPE_FORMATS.contains(&ext)).then_some(stem)
}

/// The position of the parameter called `name` in a template.
fn param_position(template: &str, name: &str) -> Option<usize> {
    template.split('/').position(|s| segment_param(s).is_some_and(|p| p.name == name))
}

/// Rewrites the segments `/projects/:id/x/binary-:arch` as the `matchit` route
/// `/projects/{s2}/x/binary-{s4}` (parameters named by position).
fn route_key(segments: &[&str]) -> String {
    segments
        .iter()
        .enumerate()
        .map(|(i, segment)| match segment_param(segment) {
            Some(p) => format!("{}{{s{i}}}{}", p.prefix, p.suffix),
            None => segment.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The route index of `key` in a tree, inserting it (with an empty slot in
/// `routes`) the first time it is seen.
fn intern<T: Default>(
    tree: &mut matchit::Router<usize>,
    routes: &mut Vec<T>,
    keys: &mut HashMap<String, usize>,
    key: String,
    label: &str,
) -> Result<usize, String> {
    if let Some(route) = keys.get(&key) {
        return Ok(*route);
    }
    let route = routes.len();
    tree.insert(key.clone(), route).map_err(|err| format!("catalog route {label} cannot be added: {err}"))?;
    routes.push(T::default());
    keys.insert(key, route);
    Ok(route)
}

impl Router {
    /// Builds the router; fails when two templates collide or shadow each other.
    pub fn new(endpoints: &[Endpoint]) -> Result<Router, String> {
        let mut all = Trees::default();
        let mut router = Router {
            all: Trees::default(),
            templates: Vec::with_capacity(endpoints.len()),
            by_method: HashMap::default(),
            boundary_keys: Vec::with_capacity(endpoints.len()),
            ref_keys: Vec::with_capacity(endpoints.len()),
            ends_in_literal: Vec::with_capacity(endpoints.len()),
        };
        for (index, endpoint) in endpoints.iter().enumerate() {
            let label = format!("{} {}", endpoint.method, endpoint.path);
            let segments: Vec<&str> = endpoint.path.split('/').collect();
            let star = segments.iter().position(|s| s.starts_with('*'));
            let params_end = star.unwrap_or(segments.len());
            let position = |name: &str| param_position(&endpoint.path, name).filter(|p| *p < params_end);
            let boundary_key = match &endpoint.boundary_param {
                Some(param) => Some(position(param).map(|p| format!("s{p}")).ok_or_else(|| {
                    format!("catalog route {label}: boundary parameter {param:?} must come before any catch-all")
                })?),
                None => None,
            };
            router.boundary_keys.push(boundary_key);
            let last = segments.last().copied().unwrap_or("");
            router.ends_in_literal.push(!last.starts_with('*') && segment_param(last).is_none());
            router
                .ref_keys
                .push(REF_PARAMS.iter().find_map(|(name, prefix)| Some((format!("s{}", position(name)?), *prefix))));
            let shadowed = |other: usize| {
                format!(
                    "catalog routes {label} and {} {} match the same requests",
                    endpoints[other].method, endpoints[other].path
                )
            };
            all.add(index, &endpoint.method, &segments, &label).map_err(|e| match e {
                AddError::Tree(why) => why,
                AddError::Shadows(other) => shadowed(other),
            })?;
            router.templates.push((endpoint.method.clone(), endpoint.path.clone()));
            router.by_method.entry(endpoint.method.clone()).or_default();
        }
        router.all = all.finish();
        Ok(router)
    }

    /// Finds the endpoint for a method and an API path (after `/api/v4`, still
    /// percent-encoded). HEAD falls back to GET.
    pub fn route<'p>(&self, method: &str, path: &'p str) -> Option<Routed<'p>> {
        match self.all.route(method, path) {
            Lookup::Found(endpoint, params) => return Some(self.routed(endpoint, &params)),
            Lookup::Missing => return None,
            Lookup::Hidden => {}
        }
        // HEAD is served by GET routes when it has none of its own.
        let methods: &[&str] = if method == "HEAD" { &["HEAD", "GET"] } else { &[method] };
        methods.iter().find_map(|m| match self.method_trees(m)?.route(method, path) {
            Lookup::Found(endpoint, params) => Some(self.routed(endpoint, &params)),
            _ => None,
        })
    }

    /// The trees of one method's endpoints, built on first use. They cannot
    /// fail to build: they hold a subset of the templates `all` holds.
    fn method_trees(&self, method: &str) -> Option<&Trees> {
        let cell = self.by_method.get(method)?;
        Some(cell.get_or_init(|| {
            let mut trees = Trees::default();
            for (index, (m, path)) in self.templates.iter().enumerate().filter(|(_, (m, _))| m == method) {
                let segments: Vec<&str> = path.split('/').collect();
                // A subset of templates that built together builds again.
                let _ = trees.add(index, m, &segments, path);
            }
            trees.finish()
        }))
    }

    /// Routes as Grape does with its format suffix: `…/promote.json` also
    /// matches `…/promote` with format `json`. When the path with and without
    /// a format suffix reach different endpoints (or the same endpoint with
    /// different boundary or ref values), which one GitLab runs depends on
    /// parameter requirements the catalog does not hold: that is refused.
    pub fn route_grape<'p>(&self, method: &str, path: &'p str) -> Result<Option<Routed<'p>>, String> {
        let full = self.route(method, path);
        let Some(stem) = strip_format(path) else { return Ok(full) };
        match (full, self.route(method, stem)) {
            // `labels/promote.json`: the literal route, as GitLab defines literal routes first.
            (Some(a), Some(b)) if a.endpoint != b.endpoint && self.ends_in_literal[b.endpoint] => Ok(Some(b)),
            (Some(a), Some(b))
                if a.endpoint != b.endpoint || a.boundary_value != b.boundary_value || a.ref_value != b.ref_value =>
            {
                Err(format!(
                    "{method} /api/v4{path} is read differently with and without its format suffix, and which \
                     reading Grape uses depends on parameter requirements the catalog does not hold"
                ))
            }
            (Some(a), _) => Ok(Some(a)),
            (None, b) => Ok(b),
        }
    }

    fn routed<'p>(&self, endpoint: usize, params: &matchit::Params<'_, 'p>) -> Routed<'p> {
        let boundary_value = self.boundary_keys[endpoint].as_deref().and_then(|key| params.get(key));
        let ref_value =
            self.ref_keys[endpoint].as_ref().and_then(|(key, prefix)| Some((*prefix, params.get(key.as_str())?)));
        Routed { endpoint, boundary_value, ref_value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use finegrain_catalog::{Auth, Boundary, Origin};

    fn endpoint(method: &str, path: &str, param: Option<&str>) -> Endpoint {
        Endpoint {
            method: method.into(),
            path: path.into(),
            permissions: vec!["read_branch".into()],
            boundary: Boundary::Project,
            boundary_param: param.map(Into::into),
            origin: Origin::Gitlab,
            auth: Auth::Token,
            reference: path.into(),
            owner: None,
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

    #[test]
    fn mid_path_catch_alls_match_by_tail_most_specific_first() {
        let router = Router::new(&[
            endpoint("PUT", "/projects/:id/packages/maven/*path/:file_name", Some("id")),
            endpoint("PUT", "/projects/:id/packages/maven/*path/:file_name/authorize", Some("id")),
            endpoint("GET", "/projects/:id/packages/maven/*path/:file_name", Some("id")),
            endpoint("GET", "/projects/:id/packages/npm/*package_name/-/*file_name", Some("id")),
            endpoint("GET", "/projects/:id/packages/npm/*package_name", Some("id")),
            endpoint("GET", "/projects/:id/packages/npm/:package_name/dist-tags", Some("id")),
        ])
        .unwrap();
        let at = |m: &str, p: &'static str| router.route(m, p).map(|r| (r.endpoint, r.boundary_value.unwrap_or("")));
        assert_eq!(at("PUT", "/projects/7/packages/maven/com/acme/app/1.0/app.jar"), Some((0, "7")));
        assert_eq!(at("PUT", "/projects/7/packages/maven/com/acme/app/1.0/app.jar/authorize"), Some((1, "7")));
        // A file called "authorize" is still downloadable.
        assert_eq!(at("GET", "/projects/7/packages/maven/com/acme/authorize"), Some((2, "7")));
        // The catch-all needs at least one segment.
        assert_eq!(at("PUT", "/projects/7/packages/maven/app.jar"), None);
        assert_eq!(at("GET", "/projects/a%2Fb/packages/npm/@scope/pkg/-/pkg-1.0.tgz"), Some((3, "a%2Fb")));
        assert_eq!(at("GET", "/projects/7/packages/npm/@scope/pkg"), Some((4, "7")));
        assert_eq!(at("GET", "/projects/7/packages/npm/pkg/dist-tags"), Some((5, "7")));
        assert_eq!(at("DELETE", "/projects/7/packages/npm/pkg"), None);
    }

    #[test]
    fn parameters_with_a_prefix_or_suffix_inside_a_segment() {
        let router = Router::new(&[
            endpoint("GET", "/projects/:id/debian/:component/binary-:architecture/Packages", Some("id")),
            endpoint("GET", "/projects/:id/go/*module_name/@v/:module_version.info", Some("id")),
            endpoint("GET", "/projects/:id/go/*module_name/@v/list", Some("id")),
        ])
        .unwrap();
        let at = |p: &str| router.route("GET", p).map(|r| r.endpoint);
        assert_eq!(at("/projects/7/debian/main/binary-amd64/Packages"), Some(0));
        assert_eq!(at("/projects/7/debian/main/binary-/Packages"), None);
        assert_eq!(at("/projects/7/go/example.com/mod/@v/v1.0.0.info"), Some(1));
        assert_eq!(at("/projects/7/go/example.com/mod/@v/list"), Some(2));
        assert_eq!(at("/projects/7/go/example.com/mod/@v/v1.0.0.zip"), None);
    }

    #[test]
    fn a_literal_route_of_one_method_does_not_hide_a_parameter_route_of_another() {
        let router = Router::new(&[
            endpoint("PUT", "/projects/:id/integrations/asana", Some("id")),
            endpoint("GET", "/projects/:id/integrations/:slug", Some("id")),
            endpoint("DELETE", "/projects/:id/integrations/:slug", Some("id")),
        ])
        .unwrap();
        let at = |m: &str| router.route(m, "/projects/7/integrations/asana").map(|r| r.endpoint);
        assert_eq!(
            (at("PUT"), at("GET"), at("DELETE"), at("HEAD"), at("POST")),
            (Some(0), Some(1), Some(2), Some(1), None)
        );
    }

    #[test]
    fn grape_strips_a_format_suffix_from_the_last_segment() {
        let router = Router::new(&[
            endpoint("PUT", "/projects/:id/labels/promote", Some("id")),
            endpoint("PUT", "/projects/:id/labels/:name", Some("id")),
            endpoint("GET", "/projects/:id/repository/files/:file_path", Some("id")),
        ])
        .unwrap();
        let at = |m: &str, p: &'static str| router.route_grape(m, p).map(|r| r.map(|r| r.endpoint));
        assert_eq!(at("PUT", "/projects/7/labels/promote.json"), Ok(Some(0)));
        assert_eq!(at("PUT", "/projects/7/labels/promote.xml"), Ok(Some(0)));
        assert_eq!(at("PUT", "/projects/7/labels/promote"), Ok(Some(0)));
        // Same endpoint, different label names: the name is not a boundary or ref.
        assert_eq!(at("PUT", "/projects/7/labels/bug.json"), Ok(Some(1)));
        // `7.json` or `7`: which project depends on the id's requirements.
        assert!(at("PUT", "/projects/7.json/labels/bug").is_ok());
        assert!(router.route_grape("GET", "/projects/7/repository/files/a.json").is_ok());
        assert_eq!(at("GET", "/projects/7/repository/files/package.json"), Ok(Some(2)));
        assert_eq!(at("PUT", "/projects/7/labels/promote.pdf"), Ok(Some(1)));
    }

    #[test]
    fn routes_matching_the_same_requests_are_refused() {
        let err = Router::new(&[
            endpoint("GET", "/projects/:id/items/:item", Some("id")),
            endpoint("GET", "/projects/:id/items/:other", Some("id")),
        ])
        .err()
        .unwrap();
        assert!(err.contains("match the same requests"), "{err}");
        let err = Router::new(&[
            endpoint("GET", "/projects/:id/files/*path/raw", Some("id")),
            endpoint("GET", "/projects/:id/files/*file/raw", Some("id")),
        ])
        .err()
        .unwrap();
        assert!(err.contains("match the same requests"), "{err}");
    }

    #[test]
    fn tail_matching_is_linear_even_with_many_catch_alls() {
        let tail = Tail {
            pattern: vec![Seg::CatchAll, Seg::CatchAll, Seg::CatchAll, Seg::Literal("x".into())],
            methods: Methods::default(),
        };
        let long: Vec<&str> = std::iter::repeat_n("a", 2000).collect();
        assert!(!tail.matches(&long));
        let mut hit = long.clone();
        hit.push("x");
        assert!(tail.matches(&hit));
    }
}
