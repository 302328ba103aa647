//! The finegrain engine: decides whether an access token may do something.
//!
//! [`Authorizer`] is the whole public surface: load a policy bundle, then ask
//! permission-shaped, HTTP-shaped and Git-shaped questions, in batches if you
//! like, explain a decision, list what a token can do, and apply incremental
//! updates. The same code runs natively (tests, benchmarks, the host's bundle
//! builder) and inside the WebAssembly component (`component.rs`, wasm32 only).
//!
//! The engine fails closed: every question gets a [`Decision`], and anything it
//! cannot decide is a deny with a reason.

pub mod api;
pub mod bundle;
mod eval;
pub mod graphql;
pub mod http;
mod inspect;
pub mod params;
mod permset;
mod policy;
pub mod reading;
mod refname;
pub mod router;
mod strict_json;
mod tokens;
pub mod world;

#[cfg(target_arch = "wasm32")]
mod component;

pub use api::*;
pub use bundle::Bundle;
pub use finegrain_catalog as catalog;

use eval::Trace;
use policy::Policy;

/// A loaded policy, ready to answer.
pub struct Authorizer {
    policy: Policy,
}

impl Authorizer {
    /// Decodes, validates and compiles a bundle.
    pub fn load(bundle: &[u8]) -> Result<Authorizer, String> {
        Ok(Authorizer { policy: Policy::from_bytes(bundle)? })
    }

    /// Compiles a bundle already in memory. Errors name the offending item as
    /// `section[index].field: problem`.
    pub fn from_bundle(bundle: Bundle) -> Result<Authorizer, String> {
        Ok(Authorizer { policy: Policy::new(bundle.catalog, bundle.world)? })
    }

    /// Decides any request in the engine's own terms: codes and permission
    /// ids, no text. This is the hot path; [`Authorizer::resolve`] names what
    /// it decided.
    pub fn decide(&self, request: &Request) -> Verdict<'_> {
        self.policy.decide(request, &mut Trace::off())
    }

    /// Decides any request with the reasons' details (sentences for people),
    /// without the steps of [`Authorizer::explain`].
    pub fn decide_described(&self, request: &Request) -> Verdict<'_> {
        self.policy.decide(request, &mut Trace::details())
    }

    /// A verdict with names: permission names, accepted permissions, codes as
    /// text. Details are those the verdict carries.
    pub fn resolve(&self, verdict: Verdict<'_>) -> Decision {
        Decision {
            effect: verdict.effect,
            reasons: verdict
                .causes
                .into_iter()
                .map(|c| Reason { code: c.code.as_str().to_owned(), detail: c.detail })
                .collect(),
            required_permissions: verdict.required.iter().map(|p| self.policy.perm_name(*p).to_owned()).collect(),
            accepted_permissions: self.policy.accepted(&verdict.required).into_iter().map(str::to_owned).collect(),
            boundary: verdict.boundary,
            namespace: verdict.namespace.map(str::to_owned),
            revision: verdict.revision,
        }
    }

    /// The name of a raw permission id, as a [`Verdict`] carries it.
    pub fn permission_name(&self, id: PermissionId) -> Option<&str> {
        self.policy.catalog.permissions.get(usize::from(id)).map(|p| p.name.as_str())
    }

    /// Every raw permission name, in id order: the names table of
    /// [`Verdict::required`].
    pub fn permission_names(&self) -> impl Iterator<Item = &str> {
        self.policy.catalog.permissions.iter().map(|p| p.name.as_str())
    }

    /// Every assignable permission name, in id order: the names table of
    /// [`Authorizer::accepted_ids`].
    pub fn assignable_names(&self) -> impl Iterator<Item = &str> {
        self.policy.catalog.assignable.iter().map(|a| a.name.as_str())
    }

    /// The ids of [`Authorizer::accepted_permissions`], in the same order.
    pub fn accepted_ids(&self, required: &[PermissionId]) -> smallvec::SmallVec<[u16; 8]> {
        self.policy.accepted_ids(required)
    }

    /// The assignable permissions that contain any of `required`, sorted by name:
    /// what a user would select on a token to make such a request.
    pub fn accepted_permissions(&self, required: &[PermissionId]) -> Vec<&str> {
        self.policy.accepted(required)
    }

    /// Decides a permission-shaped request, with names, without details.
    pub fn check(&self, request: &PermissionRequest) -> Decision {
        self.resolve(self.policy.decide_permission(request, &mut Trace::off()))
    }

    /// Decides an HTTP request, with names, without details.
    pub fn check_http(&self, request: &HttpRequest) -> Decision {
        self.resolve(self.policy.decide_http(request, &mut Trace::off()))
    }

    /// Decides a Git request, with names, without details.
    pub fn check_git(&self, request: &GitRequest) -> Decision {
        self.resolve(self.policy.decide_git(request, &mut Trace::off()))
    }

    /// Decides any request, with names, without details: what the
    /// component's `check` functions answer.
    pub fn check_request(&self, request: &Request) -> Decision {
        self.resolve(self.decide(request))
    }

    /// Decides many requests, in order.
    pub fn check_batch(&self, requests: &[Request]) -> Vec<Decision> {
        requests.iter().map(|r| self.check_request(r)).collect()
    }

    /// Decides any request with every reason's detail: what a host shows
    /// people (a 403 body, the CLI), the component's `describe`.
    pub fn describe(&self, request: &Request) -> Decision {
        self.resolve(self.decide_described(request))
    }

    /// Decides a request and tells how: the described decision and its steps.
    pub fn explain(&self, request: &Request) -> Explanation {
        let (verdict, steps) = self.explain_verdict(request);
        Explanation { decision: self.resolve(verdict), steps }
    }

    /// [`Authorizer::explain`] in the engine's own terms.
    pub fn explain_verdict(&self, request: &Request) -> (Verdict<'_>, Vec<String>) {
        let mut trace = Trace::on();
        let verdict = self.policy.decide(request, &mut trace);
        (verdict, trace.into_steps())
    }

    /// What a token may do at time `at`, per namespace (token ∩ user).
    pub fn inspect_token(&self, token: &TokenRef, at: Timestamp) -> Result<TokenReport, String> {
        self.policy.inspect(token, at)
    }

    /// Applies updates all together or not at all; returns the new revision.
    ///
    /// The world is rebuilt and revalidated from scratch, so an update can never
    /// leave the policy in a state a bundle could not describe; the compiled
    /// catalog (router, permission ids, GraphQL tables) is shared, not rebuilt.
    pub fn apply(&mut self, updates: &[Update]) -> Result<u64, String> {
        let mut world = self.policy.world();
        for (i, update) in updates.iter().enumerate() {
            apply_one(&mut world, update).map_err(|e| format!("update {i}: {e}"))?;
        }
        world.revision += 1;
        let policy = Policy::with_vocabulary(self.policy.vocabulary.clone(), world)
            .map_err(|e| format!("update rejected: {e}"))?;
        self.policy = policy;
        Ok(self.policy.world.revision)
    }

    /// The policy revision.
    pub fn revision(&self) -> u64 {
        self.policy.world.revision
    }

    /// The world as currently loaded (after updates), rebuilt from the loaded
    /// policy (the engine keeps no second copy of it).
    pub fn world(&self) -> world::World {
        self.policy.world()
    }

    /// The catalog the policy was built with.
    pub fn catalog(&self) -> &catalog::Catalog {
        &self.policy.catalog
    }
}

fn apply_one(world: &mut world::World, update: &Update) -> Result<(), String> {
    match update {
        Update::AddToken(token) => {
            let digest: [u8; 32] = token
                .digest
                .as_slice()
                .try_into()
                .map_err(|_| "a token digest must be 32 bytes (SHA-256)".to_owned())?;
            world.tokens.push(world::Token {
                name: token.name.clone(),
                user: token.user.clone(),
                digest,
                kind: token.kind.clone(),
                expires: token.expires,
                revoked: false,
            });
        }
        Update::RevokeToken(name) => {
            let token =
                world.tokens.iter_mut().find(|t| &t.name == name).ok_or_else(|| format!("no token {name:?}"))?;
            token.revoked = true;
        }
        Update::AddMembership(m) => {
            world.members.retain(|x| !(x.user == m.user && x.namespace == m.namespace));
            world.members.push(world::Member {
                user: m.user.clone(),
                namespace: m.namespace.clone(),
                role: m.role.clone(),
                expires: m.expires,
            });
        }
        Update::RemoveMembership(user, namespace) => {
            let before = world.members.len();
            world.members.retain(|x| !(&x.user == user && &x.namespace == namespace));
            if world.members.len() == before {
                return Err(format!("{user:?} has no membership in {namespace:?}"));
            }
        }
    }
    Ok(())
}
