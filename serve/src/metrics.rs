//! `/-/metrics` (Prometheus text, from `prometheus-client`) and the decision
//! log: one JSON line per decided request on standard error.
//!
//! The log line holds the request id, token name and user (never the
//! secret), method, path without its query (a query can carry a token),
//! the route template the engine's router matched, effect, reason codes, revision, status and latency.

use std::sync::atomic::{AtomicU64, Ordering};

use finegrain_engine::api::Effect;
use finegrain_filter::Decided;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    effect: &'static str,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    kind: &'static str,
}

/// The gateway's counters and the decision log switch.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Histogram,
    upstream_errors: Family<UpstreamLabels, Counter>,
    log: bool,
    next_id: AtomicU64,
    process: u32,
}

/// One decision log line.
#[derive(Serialize)]
struct LogLine<'a> {
    request_id: &'a str,
    token: Option<&'a str>,
    user: Option<&'a str>,
    method: &'a str,
    path: &'a str,
    route: Option<&'a str>,
    effect: &'static str,
    reasons: Vec<&'a str>,
    revision: u64,
    status: u16,
    latency_us: u128,
    source: &'a str,
}

/// What was asked, for the log.
pub struct Asked<'a> {
    pub method: &'a str,
    /// The path, without its query.
    pub path: &'a str,
    /// `proxy`, `auth_request` or `ext_authz`.
    pub source: &'static str,
}

impl Metrics {
    /// Fresh metrics; `log` turns the decision log on.
    pub fn new(log: bool) -> Metrics {
        let mut registry = Registry::with_prefix("finegrain");
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register("decisions", "Decisions by effect and reason code", decisions.clone());
        let latency = Histogram::new(exponential_buckets(0.000_005, 2.0, 16));
        registry.register("decision_latency_seconds", "Time to decide one request", latency.clone());
        let upstream_errors = Family::<UpstreamLabels, Counter>::default();
        registry.register("upstream_errors", "Requests the upstream failed to answer", upstream_errors.clone());
        Metrics {
            registry,
            decisions,
            latency,
            upstream_errors,
            log,
            next_id: AtomicU64::new(1),
            process: std::process::id(),
        }
    }

    /// A new request id, unique in this process.
    pub fn request_id(&self) -> String {
        format!("{:x}-{}", self.process, self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Counts a decision and writes its log line.
    pub fn decided(&self, request_id: &str, asked: &Asked<'_>, decided: &Decided, status: u16) {
        let decision = &decided.verdict.decision;
        let effect = match decision.effect {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        for reason in &decision.reasons {
            self.decisions.get_or_create(&DecisionLabels { effect, reason: reason.code.clone() }).inc();
        }
        self.latency.observe(decided.latency.as_secs_f64());
        if !self.log {
            return;
        }
        let token = decided.verdict.token.as_ref();
        let line = LogLine {
            request_id,
            token: token.map(|t| t.name.as_str()),
            user: token.map(|t| t.user.as_str()),
            method: asked.method,
            path: asked.path,
            route: decided.verdict.route.as_deref(),
            effect,
            reasons: decision.reasons.iter().map(|r| r.code.as_str()).collect(),
            revision: decision.revision,
            status,
            latency_us: decided.latency.as_micros(),
            source: asked.source,
        };
        if let Ok(text) = serde_json::to_string(&line) {
            eprintln!("{text}");
        }
    }

    /// Counts an upstream failure of one kind (`connect`, `request`, `timeout`).
    pub fn upstream_error(&self, kind: &'static str) {
        self.upstream_errors.get_or_create(&UpstreamLabels { kind }).inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
