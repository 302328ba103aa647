//! finegrain in front of any HTTP service: a tower [`Layer`](tower::Layer).
//!
//! ```ignore
//! let app = axum::Router::new().route(...).layer(finegrain_filter::FinegrainLayer::new(decider));
//! ```
//!
//! The layer reads each request the way the engine needs it (method, target,
//! headers; the body only for GraphQL, up to the engine's limit; the ref
//! commands at the start of a Git push without buffering the pack), asks a
//! [`Decider`], and either forwards the request or answers it itself
//! ([`answer`]): 401 for a missing, unknown, expired or revoked token, 403 for
//! any other deny, with a JSON body and the accepted permissions in a header.
//!
//! The [`Decider`] trait is the seam between the layer and whatever holds the
//! loaded policy: `finegrain-serve` implements it with a pool of component
//! instances; a test can implement it with the native engine.

pub mod answer;
pub mod git;
mod layer;
mod request;

use std::time::Duration;

pub use finegrain_engine::api::{Decision, Request};
pub use layer::{BodyError, FilterBody, FinegrainLayer, FinegrainService, Outcome, authorize, unreadable_body};
pub use request::{now, token_digest};

/// Whom a token belongs to: for the decision log and for sudo mode. Never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenIdentity {
    /// The token's name in the world.
    pub name: String,
    /// The username of its owner.
    pub user: String,
}

/// One decision and the token it was about, taken from one policy revision.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub decision: Decision,
    /// The owner of the token named by the request, when the policy knows it.
    pub token: Option<TokenIdentity>,
    /// The route template the engine's router matched
    /// (`/api/v4/projects/:id/repository/branches`), for the decision log;
    /// `None` for Git requests and for requests that match no route.
    pub route: Option<String>,
}

/// Decides requests against a loaded policy.
///
/// Implementations must be cheap to call from many tasks at once and must
/// answer from one consistent policy revision per call: the decision, the
/// identity and [`Decision::revision`] all come from the same snapshot.
pub trait Decider: Send + Sync + 'static {
    /// Decides an HTTP or Git request. The request names its token as
    /// `TokenRef::Secret` when the filter found exactly one.
    fn decide(&self, request: &Request) -> Verdict;

    /// The policy revision requests are decided against now.
    fn revision(&self) -> u64;
}

/// What the layer attaches to the request it forwards and to the response it
/// returns (as an extension), so the wrapped service and outer layers (logs,
/// metrics, sudo mode) can see the decision without deciding again.
#[derive(Clone, Debug)]
pub struct Decided {
    pub verdict: Verdict,
    /// How long the decision took (reading a GraphQL body or push commands included).
    pub latency: Duration,
}
