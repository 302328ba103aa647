//! Loading the engine component with wasmtime and calling it.
//!
//! [`EngineHost`] compiles the component once per process (explicit `Engine`,
//! an empty `Linker`: the component imports nothing, and an `InstancePre` so each
//! policy gets a fresh instance cheaply). [`Authorizer`] is one loaded policy in
//! its own `Store`, with memory and table limits set on purpose.
//!
//! The host never lets the guest crash it: if the guest traps, the check is
//! denied with the reason `engine_failure` and the instance is rebuilt from the
//! bundle and the updates applied since.

use anyhow::{Context, Result, anyhow};
use finegrain_engine::api as native;
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};

use crate::convert;

mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "engine" });
}

pub(crate) use bindings::finegrain::authz::types as wit;
pub(crate) use bindings::finegrain::authz::updates as wit_updates;

/// The engine component built with this host.
pub const COMPONENT: &[u8] = include_bytes!(env!("FINEGRAIN_COMPONENT_PATH"));

/// Largest linear memory one policy instance may use. A world of 100,000 users
/// and tokens fits in well under this; a hostile bundle cannot take the host's memory.
pub const MEMORY_LIMIT: usize = 512 << 20;
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

    /// Compiles another engine component (a new engine swapped in at run time).
    pub fn from_component(bytes: &[u8]) -> Result<EngineHost> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        let engine = Engine::new(&config).map_err(|e| anyhow!("{e}"))?;
        let component =
            Component::new(&engine, bytes).map_err(|e| anyhow!("{e}")).context("the engine component is not valid")?;
        // The component imports nothing, so the linker stays empty.
        let linker = Linker::<State>::new(&engine);
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("{e}"))
            .context("the engine component needs imports this host does not provide")?;
        let pre = bindings::EnginePre::new(instance_pre).map_err(|e| anyhow!("{e}"))?;
        Ok(EngineHost { engine, component, pre })
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
        let (store, instance, resource) = self.instantiate(bundle)?;
        Ok(Authorizer {
            host: EngineHostRef { engine: self.engine.clone(), pre: self.pre.clone() },
            store,
            instance,
            resource,
            bundle: bundle.to_vec(),
            applied: Vec::new(),
            poisoned: false,
        })
    }

    fn instantiate(&self, bundle: &[u8]) -> Result<(Store<State>, bindings::Engine, ResourceAny)> {
        instantiate(&self.engine, &self.pre, bundle)
    }
}

fn instantiate(
    engine: &Engine,
    pre: &bindings::EnginePre<State>,
    bundle: &[u8],
) -> Result<(Store<State>, bindings::Engine, ResourceAny)> {
    let limits = StoreLimitsBuilder::new()
        .memory_size(MEMORY_LIMIT)
        .table_elements(100_000)
        .instances(8)
        .tables(8)
        .memories(2)
        .build();
    let mut store = Store::new(engine, State { limits });
    store.limiter(|state| &mut state.limits);
    let instance = pre.instantiate(&mut store).map_err(|e| anyhow!("{e}"))?;
    let resource = instance
        .finegrain_authz_authorize()
        .authorizer()
        .call_load(&mut store, bundle)
        .map_err(|e| anyhow!("the engine failed while loading the bundle: {e}"))?
        .map_err(|message| anyhow!("{message}"))?;
    Ok((store, instance, resource))
}

/// What an `Authorizer` needs to rebuild itself.
struct EngineHostRef {
    engine: Engine,
    pre: bindings::EnginePre<State>,
}

/// One loaded policy inside the component.
pub struct Authorizer {
    host: EngineHostRef,
    store: Store<State>,
    instance: bindings::Engine,
    resource: ResourceAny,
    bundle: Vec<u8>,
    applied: Vec<Vec<native::Update>>,
    poisoned: bool,
}

/// The decision returned when the guest itself failed: deny, fail closed.
fn engine_failure(error: &wasmtime::Error) -> native::Decision {
    native::Decision {
        effect: native::Effect::Deny,
        reasons: vec![native::Reason { code: "engine_failure".into(), detail: format!("the engine failed: {error}") }],
        required_permissions: Vec::new(),
        accepted_permissions: Vec::new(),
        boundary: None,
        namespace: None,
        revision: 0,
    }
}

impl Authorizer {
    /// Rebuilds the instance after a trap: the bundle plus every update applied.
    fn recover(&mut self) -> Result<()> {
        let (store, instance, resource) = instantiate(&self.host.engine, &self.host.pre, &self.bundle)?;
        self.store = store;
        self.instance = instance;
        self.resource = resource;
        for updates in self.applied.clone() {
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
        let result = f(&self.instance, &mut self.store, self.resource);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// Decides a permission-shaped request.
    pub fn check(&mut self, request: &native::PermissionRequest) -> native::Decision {
        let request = convert::permission_request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_check(s, r, &request)) {
            Ok(d) => convert::decision(d),
            Err(e) => engine_failure(&e),
        }
    }

    /// Decides an HTTP request.
    pub fn check_http(&mut self, request: &native::HttpRequest) -> native::Decision {
        let request = convert::http_request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_check_http(s, r, &request)) {
            Ok(d) => convert::decision(d),
            Err(e) => engine_failure(&e),
        }
    }

    /// Decides a Git request.
    pub fn check_git(&mut self, request: &native::GitRequest) -> native::Decision {
        let request = convert::git_request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_check_git(s, r, &request)) {
            Ok(d) => convert::decision(d),
            Err(e) => engine_failure(&e),
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

    /// Decides many requests in one call.
    pub fn check_batch(&mut self, requests: &[native::Request]) -> Vec<native::Decision> {
        let wit: Vec<_> = requests.iter().map(convert::request).collect();
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_check_batch(s, r, &wit)) {
            Ok(decisions) => decisions.into_iter().map(convert::decision).collect(),
            Err(e) => requests.iter().map(|_| engine_failure(&e)).collect(),
        }
    }

    /// Decides a request and returns the engine's account of it.
    pub fn explain(&mut self, request: &native::Request) -> native::Explanation {
        let wit = convert::request(request);
        match self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_explain(s, r, &wit)) {
            Ok(e) => native::Explanation { decision: convert::decision(e.decision), steps: e.steps },
            Err(e) => {
                native::Explanation { decision: engine_failure(&e), steps: vec![format!("the engine failed: {e}")] }
            }
        }
    }

    /// What a token may do at time `at`.
    pub fn inspect_token(&mut self, token: &native::TokenRef, at: native::Timestamp) -> Result<native::TokenReport> {
        let token = convert::token_ref(token);
        self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_inspect_token(s, r, &token, at))
            .map_err(|e| anyhow!("the engine failed: {e}"))?
            .map(convert::token_report)
            .map_err(|e| anyhow!(e))
    }

    /// Applies incremental updates, all or nothing; returns the new revision.
    pub fn apply(&mut self, updates: &[native::Update]) -> Result<u64> {
        let wit: Vec<_> = updates.iter().map(convert::update).collect();
        let revision = self
            .call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_apply(s, r, &wit))
            .map_err(|e| anyhow!("the engine failed: {e}"))?
            .map_err(|e| anyhow!(e))?;
        self.applied.push(updates.to_vec());
        Ok(revision)
    }

    /// The policy revision.
    pub fn revision(&mut self) -> Result<u64> {
        self.call(|i, s, r| i.finegrain_authz_authorize().authorizer().call_revision(s, r))
            .map_err(|e| anyhow!("the engine failed: {e}"))
    }

    /// Replaces the policy with a new bundle. The new bundle is loaded into a
    /// fresh instance first; if it fails to load, the running policy stays.
    pub fn replace_bundle(&mut self, bundle: &[u8]) -> Result<()> {
        let (store, instance, resource) = instantiate(&self.host.engine, &self.host.pre, bundle)?;
        self.store = store;
        self.instance = instance;
        self.resource = resource;
        self.bundle = bundle.to_vec();
        self.applied.clear();
        self.poisoned = false;
        Ok(())
    }
}
