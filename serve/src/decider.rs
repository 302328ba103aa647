//! The policy a running gateway decides with: a pool of engine instances over
//! one snapshot, swapped whole when the store changes.
//!
//! [`PoolDecider`] implements the filter's [`Decider`] seam. A snapshot holds
//! one [`Authorizer`] per worker, each behind its own mutex (a request locks
//! one instance for one guest call, never across another request's call), and
//! the digest → (token, user) index of the same world. A reload builds a whole
//! new snapshot off to the side and swaps one `Arc`: every decision comes from
//! one revision, old or new, never a mix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use finegrain_engine::api::{Decision, Request, TokenRef};
use finegrain_engine::world::World;
use finegrain_filter::{Decider, TokenIdentity, Verdict, token_digest};
use finegrain_host::runtime::{Authorizer, EngineHost};

/// Where the policy comes from.
#[derive(Clone, Debug)]
pub enum PolicySource {
    /// A world (YAML) or bundle file, read once at start.
    File(PathBuf),
    /// A token store, watched for changes.
    Store(PathBuf),
}

/// One loaded revision: engine instances and the token index.
struct Snapshot {
    instances: Vec<Mutex<Authorizer>>,
    tokens: HashMap<[u8; 32], TokenIdentity>,
    names: HashMap<String, TokenIdentity>,
    /// The engine's revision.
    revision: u64,
    /// The world's revision as its source (the store) counts it.
    source_revision: u64,
}

/// A [`Decider`] over a pool of engine instances, reloadable as a whole.
pub struct PoolDecider {
    host: EngineHost,
    source: PolicySource,
    workers: usize,
    current: RwLock<Arc<Snapshot>>,
    next: AtomicUsize,
}

impl PoolDecider {
    /// Loads the policy into `workers` instances.
    pub fn load(source: PolicySource, workers: usize) -> Result<PoolDecider> {
        let host = EngineHost::new().context("cannot compile the engine component")?;
        let (world, bundle) = read_policy(&source)?;
        let snapshot = build(&host, &world, &bundle, workers.max(1))?;
        Ok(PoolDecider {
            host,
            source,
            workers: workers.max(1),
            current: RwLock::new(Arc::new(snapshot)),
            next: AtomicUsize::new(0),
        })
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a panic elsewhere; the Arc inside is whole.
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The store's revision now, when the policy comes from a store.
    fn source_revision(&self) -> Result<Option<u64>> {
        match &self.source {
            PolicySource::File(_) => Ok(None),
            PolicySource::Store(path) => {
                let store =
                    finegrain_store::Store::open_existing(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
                Ok(Some(store.revision().map_err(|e| anyhow!("{}: {e}", path.display()))?))
            }
        }
    }

    /// Reloads when the store's revision moved; returns the new revision if it did.
    pub fn refresh(&self) -> Result<Option<u64>> {
        let Some(revision) = self.source_revision()? else { return Ok(None) };
        if revision == self.snapshot().source_revision {
            return Ok(None);
        }
        let (world, bundle) = read_policy(&self.source)?;
        let snapshot = build(&self.host, &world, &bundle, self.workers)?;
        let revision = snapshot.revision;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
        Ok(Some(revision))
    }

    /// Polls the store every `interval` on a blocking thread until the process ends.
    /// A failed reload keeps the running policy and is reported on standard error.
    pub fn watch(self: &Arc<Self>, interval: Duration) {
        if matches!(self.source, PolicySource::File(_)) {
            return;
        }
        let decider = Arc::downgrade(self);
        std::thread::spawn(move || {
            while let Some(decider) = decider.upgrade() {
                if let Err(e) = decider.refresh() {
                    eprintln!("finegrain serve: the policy was not reloaded: {e:#}");
                }
                drop(decider);
                std::thread::sleep(interval);
            }
        });
    }

    /// Whom a token name belongs to (for the Git hook, which knows names only).
    pub fn identify_name(&self, name: &str) -> Option<TokenIdentity> {
        self.snapshot().names.get(name).cloned()
    }
}

impl Decider for PoolDecider {
    fn decide(&self, request: &Request) -> Verdict {
        let snapshot = self.snapshot();
        let token = request_token(request).and_then(|token| match token {
            TokenRef::Secret(secret) => snapshot.tokens.get(&token_digest(secret)).cloned(),
            TokenRef::Name(name) => snapshot.names.get(name).cloned(),
        });
        let decision = decide_with(&snapshot, &self.next, request);
        Verdict { decision, token }
    }

    fn revision(&self) -> u64 {
        self.snapshot().revision
    }
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
            return instance.check_request(request);
        }
    }
    let mut instance = snapshot.instances[start].lock().unwrap_or_else(|e| e.into_inner());
    instance.check_request(request)
}

/// The world and the bundle built from it.
fn read_policy(source: &PolicySource) -> Result<(World, Vec<u8>)> {
    match source {
        PolicySource::File(path) => {
            let policy = finegrain_host::load_policy(path).map_err(|e| anyhow!("{e}"))?;
            let bundle =
                finegrain_engine::Bundle::decode(&policy.bundle).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            Ok((bundle.world, policy.bundle))
        }
        PolicySource::Store(path) => store_policy(path),
    }
}

fn store_policy(path: &Path) -> Result<(World, Vec<u8>)> {
    let store = finegrain_store::Store::open_existing(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let world = store.world().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let bundle = finegrain_host::build_bundle(world.clone()).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok((world, bundle))
}

fn build(host: &EngineHost, world: &World, bundle: &[u8], workers: usize) -> Result<Snapshot> {
    let instances = (0..workers).map(|_| host.load(bundle).map(Mutex::new)).collect::<Result<Vec<_>>>()?;
    let identity = |t: &finegrain_engine::world::Token| TokenIdentity { name: t.name.clone(), user: t.user.clone() };
    let tokens = world.tokens.iter().map(|t| (t.digest, identity(t))).collect();
    let names = world.tokens.iter().map(|t| (t.name.clone(), identity(t))).collect();
    let revision = instances[0].lock().map_err(|_| anyhow!("a fresh instance is poisoned"))?.revision()?;
    Ok(Snapshot { instances, tokens, names, revision, source_revision: world.revision })
}
