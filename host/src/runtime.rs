//! Loading the engine component with wasmtime and calling it.
//!
//! [`EngineHost`] compiles the component once per process (explicit `Engine`,
//! an empty `Linker`: the component imports nothing, and an `InstancePre` so each
//! policy gets a fresh instance cheaply). [`Authorizer`] is one loaded policy in
//! its own `Store`, within the [`Limits`] of its host: a deadline per call,
//! memory, tables and instances.
//!
//! The host never lets the guest crash it: if the guest traps, the check is
//! denied with the reason `engine_failure` and the instance is rebuilt from the
//! bundle and the updates applied since.

use anyhow::{Context, Result, anyhow};
use finegrain_engine::api as native;
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store, StoreLimits};

use crate::convert;
use crate::failure::{self, bounded};
use crate::limits::{self, Limits};

mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "engine" });
}

pub(crate) use bindings::finegrain::authz::types as wit;
pub(crate) use bindings::finegrain::authz::updates as wit_updates;

/// The engine component built with this host.
pub const COMPONENT: &[u8] = include_bytes!(env!("FINEGRAIN_COMPONENT_PATH"));

/// Deepest wasm stack allowed; the engine recurses nowhere deep.
const MAX_WASM_STACK: usize = 1 << 20;

/// What each store carries: its resource limits.
struct State {
    limits: StoreLimits,
}

/// A compiled engine component, ready to load policies.
pub struct EngineHost {
    engine: Engine,
    component: Component,
    pre: bindings::EnginePre<State>,
    limits: Limits,
}

/// One import or export of the component: its name and, for an instance, the
/// functions it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub functions: Vec<String>,
}

/// What a component needs from its host and offers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInfo {
    pub imports: Vec<Item>,
    pub exports: Vec<Item>,
}

fn describe_item(engine: &Engine, name: &str, ty: &wasmtime::component::types::ComponentItem) -> Item {
    use wasmtime::component::types::ComponentItem;
    let functions = match ty {
        ComponentItem::ComponentInstance(instance) => instance
            .exports(engine)
            .filter(|(_, e)| matches!(e.ty, ComponentItem::ComponentFunc(_)))
            .map(|(n, _)| n.to_owned())
            .collect(),
        _ => Vec::new(),
    };
    Item { name: name.to_owned(), functions }
}

impl EngineHost {
    /// Compiles the component built with this host.
    pub fn new() -> Result<EngineHost> {
        EngineHost::from_component(COMPONENT)
    }

    /// Compiles another engine component (a new engine swapped in at run time),
    /// with the default [`Limits`].
    pub fn from_component(bytes: &[u8]) -> Result<EngineHost> {
        EngineHost::with_limits(bytes, Limits::default())
    }

    /// Compiles an engine component whose instances run within `limits`.
    pub fn with_limits(bytes: &[u8], limits: Limits) -> Result<EngineHost> {
        EngineHost::with_config(bytes, limits, Config::new())
    }

    /// Compiles an engine component with a wasmtime `Config` the caller has
    /// started (an allocation strategy, see [`crate::pool`]); the settings this
    /// host relies on are added to it.
    pub fn with_config(bytes: &[u8], limits: Limits, mut config: Config) -> Result<EngineHost> {
        config.wasm_component_model(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| anyhow!("{e}"))?;
        limits::start_ticker(&engine).context("cannot start the engine's deadline thread")?;
        let component = crate::cache::component(&engine, bytes, crate::cache::default_dir().as_deref())
            .context("the engine component is not valid")?;
        // The component imports nothing, so the linker stays empty.
        let linker = Linker::<State>::new(&engine);
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("{e}"))
            .context("the engine component needs imports this host does not provide")?;
        let pre = bindings::EnginePre::new(instance_pre).map_err(|e| anyhow!("{e}"))?;
        Ok(EngineHost { engine, component, pre, limits })
    }

    /// The limits every instance of this host runs within.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The component's imports and exports, with the functions of each instance.
    pub fn describe(&self) -> ComponentInfo {
        let ty = self.component.component_type();
        ComponentInfo {
            imports: ty.imports(&self.engine).map(|(name, e)| describe_item(&self.engine, name, &e.ty)).collect(),
            exports: ty.exports(&self.engine).map(|(name, e)| describe_item(&self.engine, name, &e.ty)).collect(),
        }
    }

    /// Loads a policy bundle into a fresh instance. The error is the engine's
    /// one-line account of what is wrong with the bundle.
    pub fn load(&self, bundle: &[u8]) -> Result<Authorizer> {
        let host = EngineHostRef { engine: self.engine.clone(), pre: self.pre.clone(), limits: self.limits.clone() };
        // The digest is checked here, natively, once; the guest is told so.
        let bundle =
            finegrain_engine::Bundle::host_checked(bundle).map_err(|e| anyhow!("{}", failure::one_line(&e)))?;
        let loaded = host.instantiate(&bundle)?;
        let mut authorizer = Authorizer {
            host,
            store: loaded.0,
            instance: loaded.1,
            resource: loaded.2,
            names: loaded.3,
            bundle,
            applied: Vec::new(),
            poisoned: false,
            revision: 0,
        };
        authorizer.revision = authorizer.revision()?;
        Ok(authorizer)
    }
}

/// What an `Authorizer` needs to rebuild itself.
struct EngineHostRef {
    engine: Engine,
    pre: bindings::EnginePre<State>,
    limits: Limits,
}

impl EngineHostRef {
    /// A fresh instance with `bundle` loaded, within the load deadline.
    /// A fresh store and instance with `bundle` loaded, and the names of the
    /// permission ids its decisions carry.
    fn instantiate(&self, bundle: &[u8]) -> Result<(Store<State>, bindings::Engine, ResourceAny, convert::Names)> {
        let mut store = Store::new(&self.engine, State { limits: self.limits.store_limits(bundle.len()) });
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(limits::ticks(self.limits.load_deadline));
        let instance = self.pre.instantiate(&mut store).map_err(|e| anyhow!("{e}"))?;
        let resource = instance
            .finegrain_authz_authorize()
            .authorizer()
            .call_load(&mut store, bundle)
            .map_err(|e| anyhow!("cannot load the bundle: {}", failure::describe(&e, self.limits.load_deadline)))?
            .map_err(|message| anyhow!("{}", failure::one_line(&message)))?;
        store.set_epoch_deadline(limits::ticks(self.limits.call_deadline));
        let names =
            instance.finegrain_authz_authorize().authorizer().call_permission_names(&mut store, resource).map_err(
                |e| anyhow!("cannot read the permission names: {}", failure::describe(&e, self.limits.call_deadline)),
            )?;
        Ok((store, instance, resource, convert::Names::new(names)))
    }
}

/// One loaded policy inside the component.
pub struct Authorizer {
    host: EngineHostRef,
    store: Store<State>,
    instance: bindings::Engine,
    resource: ResourceAny,
    /// The names of the permission ids in decisions, read once per instance.
    names: convert::Names,
    bundle: Vec<u8>,
    applied: Vec<Vec<native::Update>>,
    poisoned: bool,
    /// The last revision the guest reported, for decisions it could not make.
    revision: u64,
}

impl Authorizer {
    /// Rebuilds the instance after a trap: the bundle plus every update applied.
    fn recover(&mut self) -> Result<()> {
        let (store, instance, resource, names) = self.host.instantiate(&self.bundle)?;
        self.store = store;
        self.instance = instance;
        self.resource = resource;
        self.names = names;
        for updates in self.applied.clone() {
            self.store.set_epoch_deadline(limits::ticks(self.host.limits.call_deadline));
            let wit: Vec<_> = updates.iter().map(convert::update).collect();
            let authz = self.instance.finegrain_authz_authorize();
            authz
                .authorizer()
                .call_apply(&mut self.store, self.resource, &wit)
                .map_err(|e| anyhow!("{e}"))?
                .map_err(|e| anyhow!(e))?;
        }
        self.poisoned = false;
        Ok(())
    }

    /// Runs one guest call, recovering the instance first if an earlier call trapped.
    fn call<T>(
        &mut self,
        f: impl FnOnce(&bindings::Engine, &mut Store<State>, ResourceAny) -> wasmtime::Result<T>,
    ) -> wasmtime::Result<T> {
        if self.poisoned {
            self.recover().map_err(|e| wasmtime::Error::msg(e.to_string()))?;
        }
        self.store.set_epoch_deadline(limits::ticks(self.host.limits.call_deadline));
        let result = f(&self.instance, &mut self.store, self.resource);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// The deny for a call that failed, with one line of detail.
    fn failed(&self, error: &wasmtime::Error) -> native::Decision {
        failure::engine_failure(failure::describe(error, self.host.limits.call_deadline), self.revision)
    }

    /// A decision from the guest, bounded, its revision remembered.
    fn decided(&mut self, decision: wit::Decision) -> native::Decision {
        let Some(decision) = convert::decision(decision, &self.names) else {
            let detail = "the engine named a permission id outside its own names table".to_owned();
            return failure::engine_failure(detail, self.revision);
        };
        let decision = bounded(decision);
        self.revision = decision.revision;
        decision
    }

    /// Decides a permission-shaped request.
    pub fn check(&mut self, request: &native::PermissionRequest) -> native::Decision {
        let request = convert::permission_request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_check(s, r, &request)) {
            Ok(d) => self.decided(d),
            Err(e) => self.failed(&e),
        }
    }

    /// Decides an HTTP request.
    pub fn check_http(&mut self, request: &native::HttpRequest) -> native::Decision {
        let request = convert::http_request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_check_http(s, r, &request)) {
            Ok(d) => self.decided(d),
            Err(e) => self.failed(&e),
        }
    }

    /// Decides a Git request.
    pub fn check_git(&mut self, request: &native::GitRequest) -> native::Decision {
        let request = convert::git_request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_check_git(s, r, &request)) {
            Ok(d) => self.decided(d),
            Err(e) => self.failed(&e),
        }
    }

    /// Decides any request.
    pub fn check_request(&mut self, request: &native::Request) -> native::Decision {
        match request {
            native::Request::Permission(r) => self.check(r),
            native::Request::Http(r) => self.check_http(r),
            native::Request::Git(r) => self.check_git(r),
        }
    }

    /// Decides many requests in one call. If the guest fails on the batch, each
    /// request is decided alone, so a failing entry denies only itself.
    pub fn check_batch(&mut self, requests: &[native::Request]) -> Vec<native::Decision> {
        let wit: Vec<_> = requests.iter().map(convert::request).collect();
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_check_batch(s, r, &wit)) {
            Ok(decisions) if decisions.len() == requests.len() => {
                decisions.into_iter().map(|d| self.decided(d)).collect()
            }
            Ok(_) => requests.iter().map(|r| self.check_request(r)).collect(),
            Err(e) => {
                // Logged once for the batch; each entry is then decided alone.
                failure::describe(&e, self.host.limits.call_deadline);
                requests.iter().map(|r| self.check_request(r)).collect()
            }
        }
    }

    /// Decides a request and returns the engine's account of it.
    /// The decision with every reason's detail, for people (a 403 body, the
    /// CLI): the component's `describe`.
    pub fn describe(&mut self, request: &native::Request) -> native::Decision {
        let wit = convert::request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_describe(s, r, &wit)) {
            Ok(d) => self.decided(d),
            Err(e) => self.failed(&e),
        }
    }

    pub fn explain(&mut self, request: &native::Request) -> native::Explanation {
        let wit = convert::request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_explain(s, r, &wit)) {
            Ok(e) => native::Explanation { decision: self.decided(e.decision), steps: failure::bounded_steps(e.steps) },
            Err(e) => {
                let decision = self.failed(&e);
                let steps = decision.reasons.iter().filter_map(|r| r.detail.clone()).collect();
                native::Explanation { decision, steps }
            }
        }
    }

    /// What a token may do at time `at`.
    pub fn inspect_token(&mut self, token: &native::TokenRef, at: native::Timestamp) -> Result<native::TokenReport> {
        let token = convert::token_ref(token);
        self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_inspect_token(s, r, &token, at))
            .map_err(|e| anyhow!("{}", failure::describe(&e, self.host.limits.call_deadline)))?
            .map(convert::token_report)
            .map_err(|e| anyhow!(e))
    }

    /// Applies incremental updates, all or nothing; returns the new revision.
    pub fn apply(&mut self, updates: &[native::Update]) -> Result<u64> {
        let wit: Vec<_> = updates.iter().map(convert::update).collect();
        let revision = self
            .call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_apply(s, r, &wit))
            .map_err(|e| anyhow!("{}", failure::describe(&e, self.host.limits.call_deadline)))?
            .map_err(|e| anyhow!("{}", failure::one_line(&e)))?;
        self.applied.push(updates.to_vec());
        self.revision = revision;
        Ok(revision)
    }

    /// The policy revision.
    pub fn revision(&mut self) -> Result<u64> {
        let revision = self
            .call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_revision(s, r))
            .map_err(|e| anyhow!("{}", failure::describe(&e, self.host.limits.call_deadline)))?;
        self.revision = revision;
        Ok(revision)
    }

    /// Replaces the policy with a new bundle. The new bundle is loaded into a
    /// fresh instance first; if it fails to load, the running policy stays.
    pub fn replace_bundle(&mut self, bundle: &[u8]) -> Result<()> {
        let bundle =
            finegrain_engine::Bundle::host_checked(bundle).map_err(|e| anyhow!("{}", failure::one_line(&e)))?;
        let (store, instance, resource, names) = self.host.instantiate(&bundle)?;
        self.store = store;
        self.instance = instance;
        self.resource = resource;
        self.names = names;
        self.bundle = bundle;
        self.applied.clear();
        self.poisoned = false;
        self.revision()?;
        Ok(())
    }
}
