//! The policy a running gateway decides with: a pool of engine instances over
//! one snapshot, swapped whole when the policy or the engine changes.
//!
//! [`PoolDecider`] implements the filter's [`Decider`] seam. A snapshot holds
//! one [`Authorizer`] per worker, each behind its own mutex (a request locks
//! one instance for one guest call, never across another request's call), and
//! the digest → (token, user) index of the same world. A change builds a whole
//! new snapshot off to the side, runs the canary on it, and swaps one `Arc`:
//! every decision comes from one revision, old or new, never a mix, and a
//! check in flight finishes on the snapshot it started with.
//!
//! The policy comes from a world or bundle file (read once), a token store
//! (reloaded when its revision moves) or a bundle URL polled with
//! [`Poller`]: a bundle that fails its signature check, does not load or fails
//! the canary is refused, logged, and the running revision keeps serving.
//! The engine component itself is swapped with [`PoolDecider::swap_engine`]
//! (validated by [`crate::swap`]); [`PoolDecider::rollback`] puts the
//! previous snapshot back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use finegrain_engine::api::{Decision, Effect, Request, TokenRef};
use finegrain_engine::catalog::Catalog;
use finegrain_engine::http::{GRAPHQL_PATH, HttpTarget, parse_target};
use finegrain_engine::reading;
use finegrain_engine::router::Router;
use finegrain_engine::world::World;
use finegrain_filter::{Decider, TokenIdentity, Verdict, token_digest};
use finegrain_host::poller::{PollConfig, Polled, Poller};
use finegrain_host::runtime::Authorizer;
use finegrain_host::signing::TrustedKeys;
use serde::Serialize;

use crate::swap::{self, Canary, Engine};

/// Where the policy comes from.
#[derive(Clone, Debug)]
pub enum PolicySource {
    /// A world (YAML) or bundle file, read once at start.
    File(PathBuf),
    /// A token store, watched for changes.
    Store(PathBuf),
    /// A bundle in an HTTP store, polled; its signature checked against the configured keys.
    Url(PollConfig),
}

/// Who the world's tokens belong to, by secret digest and by name, and the
/// catalog's router for the route templates of the decision log.
struct Index {
    tokens: HashMap<[u8; 32], TokenIdentity>,
    names: HashMap<String, TokenIdentity>,
    router: Router,
    /// Each endpoint's template, `/api/v4` included, by endpoint index.
    templates: Vec<String>,
}

impl Index {
    fn of(world: &World, catalog: &Catalog) -> Result<Index> {
        let identity =
            |t: &finegrain_engine::world::Token| TokenIdentity { name: t.name.clone(), user: t.user.clone() };
        let tokens = world.tokens.iter().map(|t| (t.digest, identity(t))).collect();
        let names = world.tokens.iter().map(|t| (t.name.clone(), identity(t))).collect();
        let router = Router::new(&catalog.endpoints).map_err(|e| anyhow!("the catalog's routes: {e}"))?;
        let templates = catalog.endpoints.iter().map(|e| format!("/api/v4{}", e.path)).collect();
        Ok(Index { tokens, names, router, templates })
    }

    /// The template of the REST route an HTTP request takes, read and routed
    /// as the engine does; GraphQL is its one endpoint; Git has none.
    fn route(&self, request: &Request) -> Option<String> {
        let Request::Http(http) = request else { return None };
        let read = reading::read(&http.method, &http.path, &http.headers, http.body.as_deref()).ok()?;
        match parse_target(&read.method, &read.path, &read.pairs).ok()? {
            HttpTarget::Api { api_path } => {
                let routed = self.router.route_grape(&read.method, api_path).ok()??;
                self.templates.get(routed.endpoint).cloned()
            }
            HttpTarget::Graphql => Some(GRAPHQL_PATH.to_owned()),
            HttpTarget::Git { .. } => None,
        }
    }
}

/// One loaded revision: the engine, its instances over one bundle, the token index.
struct Snapshot {
    engine: Arc<Engine>,
    bundle: Arc<Vec<u8>>,
    index: Arc<Index>,
    instances: Vec<Mutex<Authorizer>>,
    /// The engine's revision.
    revision: u64,
    /// The world's revision as its source (the store) counts it.
    source_revision: u64,
}

/// What is serving, for the admin endpoint and the logs.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Serving {
    /// The policy revision.
    pub revision: u64,
    /// `sha256:HEX` of the engine component.
    pub engine: String,
}

/// The outcome of a swap or a rollback.
#[derive(Clone, Debug, Serialize)]
pub struct Swapped {
    pub serving: Serving,
    pub replaced: Serving,
    /// From the start of validation to the pointer swap, in microseconds.
    pub took_us: u128,
}

/// A [`Decider`] over a pool of engine instances, replaced as a whole.
pub struct PoolDecider {
    source: PolicySource,
    workers: usize,
    canary: Option<Canary>,
    current: RwLock<Arc<Snapshot>>,
    /// What a rollback returns to.
    previous: Mutex<Option<Arc<Snapshot>>>,
    /// Held by whoever changes the snapshot: one change at a time.
    changes: Mutex<()>,
    /// Engines compiled so far, by digest (the last few), so swapping back
    /// and forth compiles each component once.
    engines: Mutex<Vec<Arc<Engine>>>,
    next: AtomicUsize,
    /// The poller of a [`PolicySource::Url`].
    poller: Mutex<Option<Poller>>,
}

/// How many compiled engines are kept for swapping back.
const KEPT_ENGINES: usize = 4;

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere; the value inside is whole.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl PoolDecider {
    /// Loads the policy into `workers` instances of the built-in engine.
    pub fn load(source: PolicySource, workers: usize) -> Result<PoolDecider> {
        let builtin = Engine::builtin(swap::slots(workers))?;
        PoolDecider::load_with(source, workers, builtin.clone(), builtin, None)
    }

    /// Loads the policy into `workers` instances of `engine`; every snapshot,
    /// the first included, must pass `canary` when one is given. Engines
    /// swapped in later must export the interfaces `reference` exports.
    pub fn load_with(
        source: PolicySource,
        workers: usize,
        engine: Arc<Engine>,
        reference: Arc<Engine>,
        canary: Option<Canary>,
    ) -> Result<PoolDecider> {
        let workers = workers.max(1);
        let (world, catalog, bundle, poller) = match &source {
            PolicySource::Url(config) => {
                let mut poller = Poller::new(config.clone()).map_err(|e| anyhow!("{e}"))?;
                let Polled::Updated { bundle, etag } = poller.poll().map_err(|e| anyhow!("{e}"))? else {
                    return Err(anyhow!("{}: the store has no bundle", config.url));
                };
                poller.activated(etag);
                let (world, catalog) = bundle_parts(&config.url, &bundle)?;
                (world, catalog, bundle, Some(poller))
            }
            _ => {
                let (world, catalog, bundle) = read_policy(&source)?;
                (world, catalog, bundle, None)
            }
        };
        let index = Arc::new(Index::of(&world, &catalog)?);
        let snapshot = build(&engine, index, Arc::new(bundle), world.revision, workers)?;
        if let Some(canary) = &canary {
            check_canary(canary, &snapshot)?;
        }
        Ok(PoolDecider {
            source,
            workers,
            canary,
            current: RwLock::new(Arc::new(snapshot)),
            previous: Mutex::new(None),
            changes: Mutex::new(()),
            engines: Mutex::new(if reference.digest == engine.digest { vec![engine] } else { vec![reference, engine] }),
            next: AtomicUsize::new(0),
            poller: Mutex::new(poller),
        })
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a panic elsewhere; the Arc inside is whole.
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What serves now.
    pub fn serving(&self) -> Serving {
        serving(&self.snapshot())
    }

    /// What a rollback would return to.
    pub fn previous(&self) -> Option<Serving> {
        locked(&self.previous).as_deref().map(serving)
    }

    /// Builds a snapshot with `engine` over `bundle`, checks the canary.
    fn prepare(&self, engine: &Arc<Engine>, index: Arc<Index>, bundle: Arc<Vec<u8>>, source: u64) -> Result<Snapshot> {
        let snapshot = build(engine, index, bundle, source, self.workers)?;
        if let Some(canary) = &self.canary {
            check_canary(canary, &snapshot)?;
        }
        Ok(snapshot)
    }

    /// Puts a validated snapshot in service: one pointer swap. The one it
    /// replaces becomes what a rollback returns to.
    fn activate(&self, snapshot: Snapshot) -> Arc<Snapshot> {
        let replaced =
            std::mem::replace(&mut *self.current.write().unwrap_or_else(|e| e.into_inner()), Arc::new(snapshot));
        *locked(&self.previous) = Some(replaced.clone());
        replaced
    }

    /// The store's revision now, when the policy comes from a store.
    fn source_revision(&self) -> Result<Option<u64>> {
        match &self.source {
            PolicySource::File(_) | PolicySource::Url(_) => Ok(None),
            PolicySource::Store(path) => {
                let store =
                    finegrain_store::Store::open_existing(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
                Ok(Some(store.revision().map_err(|e| anyhow!("{}: {e}", path.display()))?))
            }
        }
    }

    /// Reloads when the store's revision moved, or when the bundle URL has a
    /// new bundle; returns the new revision if it did. On an error the
    /// running policy stays.
    pub fn refresh(&self) -> Result<Option<u64>> {
        if let PolicySource::Url(config) = &self.source {
            return self.poll_bundle(&config.url);
        }
        let _change = locked(&self.changes);
        let Some(revision) = self.source_revision()? else { return Ok(None) };
        let current = self.snapshot();
        if revision == current.source_revision {
            return Ok(None);
        }
        let (world, catalog, bundle) = read_policy(&self.source)?;
        let index = Arc::new(Index::of(&world, &catalog)?);
        let snapshot = self.prepare(&current.engine, index, Arc::new(bundle), world.revision)?;
        let revision = snapshot.revision;
        self.activate(snapshot);
        Ok(Some(revision))
    }

    /// Asks the bundle store once; a new bundle that verifies, loads and
    /// passes the canary is activated.
    fn poll_bundle(&self, url: &str) -> Result<Option<u64>> {
        let mut guard = locked(&self.poller);
        let Some(poller) = guard.as_mut() else { return Ok(None) };
        let (bundle, etag) = match poller.poll().map_err(|e| anyhow!("{e}"))? {
            Polled::Unchanged => return Ok(None),
            Polled::Updated { bundle, etag } => (bundle, etag),
        };
        let _change = locked(&self.changes);
        let engine = self.snapshot().engine.clone();
        let built = bundle_parts(url, &bundle).and_then(|(world, catalog)| {
            let index = Arc::new(Index::of(&world, &catalog)?);
            self.prepare(&engine, index, Arc::new(bundle), world.revision)
        });
        match built {
            Ok(snapshot) => {
                let revision = snapshot.revision;
                self.activate(snapshot);
                poller.activated(etag);
                Ok(Some(revision))
            }
            Err(error) => {
                poller.rejected();
                Err(error.context(format!("{url}: the new bundle was refused")))
            }
        }
    }

    /// Validates the engine component `bytes` (signed by `signature` when
    /// `trusted` has keys), loads the running policy into it, runs the canary
    /// and swaps it in. On any failure the running engine stays.
    pub fn swap_engine(
        &self,
        name: &str,
        bytes: &[u8],
        signature: Option<&str>,
        trusted: &TrustedKeys,
    ) -> Result<Swapped> {
        let started = Instant::now();
        let _change = locked(&self.changes);
        let engine = self.engine_for(name, bytes, signature, trusted)?;
        let current = self.snapshot();
        let snapshot = self.prepare(&engine, current.index.clone(), current.bundle.clone(), current.source_revision)?;
        let serving = serving(&snapshot);
        let replaced = self.activate(snapshot);
        Ok(Swapped { serving, replaced: self::serving(&replaced), took_us: started.elapsed().as_micros() })
    }

    /// A compiled engine for these bytes: a kept one with the same digest (its
    /// signature still checked), else a newly validated one.
    fn engine_for(
        &self,
        name: &str,
        bytes: &[u8],
        signature: Option<&str>,
        trusted: &TrustedKeys,
    ) -> Result<Arc<Engine>> {
        let digest = swap::digest(bytes);
        let kept = locked(&self.engines).iter().find(|e| e.digest == digest).cloned();
        if let Some(engine) = kept {
            if !trusted.is_empty() {
                trusted.verify(&format!("{name}.sig"), bytes, signature).map_err(|e| anyhow!("{name}: {e}"))?;
            }
            return Ok(engine);
        }
        let reference = locked(&self.engines).first().cloned().ok_or_else(|| anyhow!("no engine is loaded"))?;
        let slots = swap::slots(self.workers);
        let engine = Arc::new(swap::validate_engine(name, bytes, signature, trusted, &reference.host, slots)?);
        let mut engines = locked(&self.engines);
        if engines.len() >= KEPT_ENGINES {
            engines.remove(1); // the first is the reference for interface versions
        }
        engines.push(engine.clone());
        Ok(engine)
    }

    /// Puts the previous snapshot (engine and policy) back in service; the
    /// one replaced becomes the previous, so a second rollback undoes the first.
    pub fn rollback(&self) -> Result<Swapped> {
        let started = Instant::now();
        let _change = locked(&self.changes);
        let previous = locked(&self.previous).take().ok_or_else(|| anyhow!("there is no previous revision"))?;
        let serving = serving(&previous);
        let replaced = {
            let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *current, previous)
        };
        *locked(&self.previous) = Some(replaced.clone());
        Ok(Swapped { serving, replaced: self::serving(&replaced), took_us: started.elapsed().as_micros() })
    }

    /// Polls the store (every `interval`) or the bundle URL (at the poller's
    /// pace) on a thread until the decider is dropped. A failed reload keeps
    /// the running policy and is reported on standard error.
    pub fn watch(self: &Arc<Self>, interval: Duration) {
        if matches!(self.source, PolicySource::File(_)) {
            return;
        }
        let decider = Arc::downgrade(self);
        std::thread::spawn(move || {
            while let Some(decider) = decider.upgrade() {
                match decider.refresh() {
                    Ok(Some(revision)) if matches!(decider.source, PolicySource::Url(_)) => {
                        eprintln!("finegrain serve: policy revision {revision} activated from the bundle store");
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!(
                        "finegrain serve: the policy was not reloaded, revision {} keeps serving: {e:#}",
                        decider.revision()
                    ),
                }
                let delay = locked(&decider.poller).as_ref().map_or(interval, Poller::next_delay);
                drop(decider);
                std::thread::sleep(delay);
            }
        });
    }

    /// Whom a token name belongs to (for the Git hook, which knows names only).
    pub fn identify_name(&self, name: &str) -> Option<TokenIdentity> {
        self.snapshot().index.names.get(name).cloned()
    }
}

impl Decider for PoolDecider {
    fn decide(&self, request: &Request) -> Verdict {
        let snapshot = self.snapshot();
        let token = request_token(request).and_then(|token| match token {
            TokenRef::Secret(secret) => snapshot.index.tokens.get(&token_digest(secret)).cloned(),
            TokenRef::Name(name) => snapshot.index.names.get(name).cloned(),
        });
        let decision = decide_with(&snapshot, &self.next, request);
        Verdict { decision, token, route: snapshot.index.route(request) }
    }

    fn revision(&self) -> u64 {
        self.snapshot().revision
    }
}

fn serving(snapshot: &Snapshot) -> Serving {
    Serving { revision: snapshot.revision, engine: snapshot.engine.digest.clone() }
}

fn request_token(request: &Request) -> Option<&TokenRef> {
    match request {
        Request::Permission(r) => Some(&r.token),
        Request::Http(r) => r.token.as_ref(),
        Request::Git(r) => Some(&r.token),
    }
}

/// One guest call on a free instance: the first one not busy, from a rotating
/// start, else wait for the one at the start.
fn decide_with(snapshot: &Snapshot, next: &AtomicUsize, request: &Request) -> Decision {
    let count = snapshot.instances.len();
    let start = next.fetch_add(1, Ordering::Relaxed) % count;
    for offset in 0..count {
        if let Ok(mut instance) = snapshot.instances[(start + offset) % count].try_lock() {
            return decide_on(&mut instance, request);
        }
    }
    decide_on(&mut locked(&snapshot.instances[start]), request)
}

/// A check, and for a deny the reasons written out for people (the 403 body,
/// the log): a second call, only on the rarer path.
fn decide_on(instance: &mut Authorizer, request: &Request) -> Decision {
    let decision = instance.check_request(request);
    match decision.effect {
        Effect::Allow => decision,
        Effect::Deny => instance.describe(request),
    }
}

fn check_canary(canary: &Canary, snapshot: &Snapshot) -> Result<()> {
    canary.check(&mut locked(&snapshot.instances[0]), finegrain_filter::now())
}

/// The world, the catalog and the bundle built from them.
fn read_policy(source: &PolicySource) -> Result<(World, Catalog, Vec<u8>)> {
    match source {
        PolicySource::File(path) => {
            let policy = finegrain_host::load_policy(path).map_err(|e| anyhow!("{e}"))?;
            let bundle =
                finegrain_engine::Bundle::decode(&policy.bundle).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            Ok((bundle.world, bundle.catalog, policy.bundle))
        }
        PolicySource::Store(path) => store_policy(path),
        PolicySource::Url(config) => Err(anyhow!("{}: a bundle URL is polled, not read", config.url)),
    }
}

/// The world and catalog inside bundle bytes fetched from `url`.
fn bundle_parts(url: &str, bundle: &[u8]) -> Result<(World, Catalog)> {
    let bundle = finegrain_engine::Bundle::decode(bundle).map_err(|e| anyhow!("{url}: {e}"))?;
    Ok((bundle.world, bundle.catalog))
}

/// A store's world, compiled against the built-in catalog as `build_bundle` does.
fn store_policy(path: &Path) -> Result<(World, Catalog, Vec<u8>)> {
    let store = finegrain_store::Store::open_existing(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let world = store.world().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let catalog = Catalog::builtin().map_err(|e| anyhow!("the built-in catalog: {e}"))?;
    let bundle = finegrain_host::build_bundle(world.clone()).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok((world, catalog, bundle))
}

/// Instances of `engine` over `bundle`, `workers` of them.
fn build(
    engine: &Arc<Engine>,
    index: Arc<Index>,
    bundle: Arc<Vec<u8>>,
    source: u64,
    workers: usize,
) -> Result<Snapshot> {
    let instances = (0..workers).map(|_| engine.host.load(&bundle).map(Mutex::new)).collect::<Result<Vec<_>>>()?;
    let revision = locked(&instances[0]).revision()?;
    Ok(Snapshot { engine: engine.clone(), bundle, index, instances, revision, source_revision: source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use finegrain_engine::api::HttpRequest;

    fn acme_index() -> Index {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml");
        let (world, catalog, _) = read_policy(&PolicySource::File(path)).unwrap();
        Index::of(&world, &catalog).unwrap()
    }

    fn get(method: &str, path: &str) -> Request {
        let headers = vec![("PRIVATE-TOKEN".to_owned(), "glpat-x".to_owned())];
        Request::Http(HttpRequest {
            token: None,
            method: method.into(),
            path: path.into(),
            headers,
            body: None,
            owner: None,
            at: 0,
        })
    }

    #[test]
    fn the_route_template_is_the_one_the_engine_routes_to() {
        let index = acme_index();
        let branches = get("GET", "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches?per_page=2");
        assert_eq!(index.route(&branches).as_deref(), Some("/api/v4/projects/:id/repository/branches"));
        let graphql = get("POST", "/api/graphql");
        assert_eq!(index.route(&graphql).as_deref(), Some("/api/graphql"));
        assert_eq!(index.route(&get("GET", "/api/v4/no/such/route")), None);
        assert_eq!(index.route(&get("GET", "/acme/platform/api.git/info/refs?service=git-upload-pack")), None);
    }
}
