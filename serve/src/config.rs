//! The gateway's configuration: a TOML file (see `examples/gateway/serve.toml`) with
//! command-line flags on top. A bad file gives one error naming the file, the
//! line and the key; `finegrain serve` then exits with status 2.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::time::Duration;

use finegrain_host::poller::PollConfig;
use finegrain_host::signing::TrustedKeys;
use serde::Deserialize;

/// Everything `finegrain serve` is told.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the HTTP gateway listens.
    pub listen: SocketAddr,
    /// Where Envoy's ext_authz gRPC server listens; none when absent.
    pub grpc_listen: Option<SocketAddr>,
    /// The forge: `http://host:port`. Without it, only `/-/auth`, the
    /// operations endpoints and gRPC are served.
    pub upstream: Option<String>,
    /// A token store, reloaded live.
    pub store: Option<PathBuf>,
    /// A world (YAML) or bundle file, read once.
    pub world: Option<PathBuf>,
    /// A signed bundle polled from an HTTP store.
    pub bundle: BundleSource,
    /// The engine component, its canary and the admin listener.
    pub engine: EngineConfig,
    /// Where the token pages (`/-/tokens/`, served with a store) write one
    /// event per token creation: a file, or `-` for standard error.
    pub events: Option<String>,
    /// `false` forwards everything undecided (to measure the proxy alone).
    pub authorization: bool,
    /// Engine instances (default: the number of CPUs).
    pub workers: usize,
    /// How often the store is checked for changes, in milliseconds.
    pub reload_interval_ms: u64,
    pub upstream_auth: UpstreamAuth,
    pub limits: Limits,
    pub log: Log,
}

/// How requests authenticate to the upstream.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamAuth {
    pub mode: AuthMode,
    /// Sudo mode: a file holding the administrator token.
    pub admin_token_file: Option<PathBuf>,
    /// Sudo mode: an environment variable holding the administrator token.
    pub admin_token_env: Option<String>,
}

/// Pass-through (the forge knows finegrain's tokens) or sudo (GitLab with an
/// administrator token and `Sudo: <username>`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    #[default]
    PassThrough,
    Sudo,
}

/// A bundle polled from any HTTP store (`[bundle]` in the file).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BundleSource {
    /// `http://host[:port]/path` of the bundle; its signature is at `URL.sig`.
    pub url: Option<String>,
    /// Public key files (`finegrain bundle keygen`); a bundle must be signed by
    /// one of them. Empty accepts unsigned bundles.
    pub trusted_keys: Vec<PathBuf>,
    /// Time between polls, in milliseconds (jittered ±10%, backed off after failures).
    pub interval_ms: u64,
}

impl Default for BundleSource {
    fn default() -> BundleSource {
        BundleSource { url: None, trusted_keys: Vec::new(), interval_ms: 10_000 }
    }
}

/// The engine (`[engine]` in the file).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// An engine component (`.wasm`) to decide with instead of the built-in
    /// one; `POST /-/admin/engine` re-reads it. Signed (`FILE.sig`) by one of
    /// `bundle.trusted_keys` when keys are given.
    pub component: Option<PathBuf>,
    /// A scenario file (the format of `finegrain test`) whose cases every
    /// policy or engine must pass, against the policy about to serve, before it serves.
    pub canary: Option<PathBuf>,
    /// A loopback address for the admin endpoints (engine swap, rollback); off when absent.
    pub admin_listen: Option<SocketAddr>,
}

/// Bounds on what one client can make the gateway do.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The most bytes of request line and headers.
    pub max_header_bytes: usize,
    /// The largest request body forwarded.
    pub max_body_bytes: u64,
    /// A client must send its headers within this many milliseconds.
    pub header_timeout_ms: u64,
    /// Concurrent client connections; more wait to be accepted.
    pub max_connections: usize,
    pub upstream_connect_timeout_ms: u64,
    /// Until the upstream's response headers arrive.
    pub upstream_response_timeout_ms: u64,
    /// How long in-flight requests may run after SIGTERM.
    pub shutdown_grace_ms: u64,
}

/// The decision log.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// One JSON line per decision on standard error.
    pub decisions: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            grpc_listen: None,
            upstream: None,
            store: None,
            world: None,
            bundle: BundleSource::default(),
            engine: EngineConfig::default(),
            events: None,
            authorization: true,
            workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            reload_interval_ms: 200,
            upstream_auth: UpstreamAuth::default(),
            limits: Limits::default(),
            log: Log::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_bytes: 64 * 1024,
            max_body_bytes: 1 << 30,
            header_timeout_ms: 10_000,
            max_connections: 1024,
            upstream_connect_timeout_ms: 5_000,
            upstream_response_timeout_ms: 60_000,
            shutdown_grace_ms: 30_000,
        }
    }
}

impl Default for Log {
    fn default() -> Log {
        Log { decisions: true }
    }
}

/// A configuration problem, already worded for the user.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads a configuration file.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("{name}: cannot read: {e}")))?;
        toml::from_str(&text).map_err(|e| {
            let place = e.span().map(|span| place(&text, span.start)).unwrap_or_default();
            ConfigError(format!("{name}{place}: {}", e.message()))
        })
    }

    /// Checks what the types cannot: one policy source, a usable upstream, sudo credentials.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let fail = |key: &str, problem: &str| Err(ConfigError(format!("{file}: key `{key}`: {problem}")));
        let sources = [self.store.is_some(), self.world.is_some(), self.bundle.url.is_some()];
        match sources.iter().filter(|given| **given).count() {
            0 => {
                return fail("store", "give a token store (or `world`, or `bundle.url`), in the file or with --store");
            }
            1 => {}
            _ => return fail("world", "give one of `store`, `world` and `bundle.url`, not several"),
        }
        if let Some(url) = &self.bundle.url
            && let Err(error) = finegrain_host::poller::Poller::new(self.poll_config(url, Default::default()))
        {
            return fail("bundle.url", &error.to_string());
        }
        if self.engine.admin_listen.is_some_and(|a| !a.ip().is_loopback()) {
            return fail("engine.admin_listen", "the admin listener must be on a loopback address");
        }
        if self.bundle.interval_ms == 0 {
            return fail("bundle.interval_ms", "must be at least 1");
        }
        if let Some(upstream) = &self.upstream {
            match upstream.parse::<http::Uri>() {
                Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => {}
                _ => return fail("upstream", &format!("{upstream:?} is not an http://host:port URL")),
            }
        }
        if self.workers == 0 {
            return fail("workers", "must be at least 1");
        }
        if self.limits.max_connections == 0 {
            return fail("limits.max_connections", "must be at least 1");
        }
        if self.limits.max_header_bytes < 8192 {
            return fail("limits.max_header_bytes", "must be at least 8192");
        }
        if self.upstream_auth.mode == AuthMode::Sudo && !self.authorization {
            return fail("authorization", "sudo mode acts as each token's user, so it needs authorization on");
        }
        if self.upstream_auth.mode == AuthMode::Sudo
            && self.upstream_auth.admin_token_file.is_none()
            && self.upstream_auth.admin_token_env.is_none()
        {
            return fail("upstream_auth.admin_token_file", "sudo mode needs `admin_token_file` or `admin_token_env`");
        }
        Ok(())
    }

    /// The keys bundles (and engine components) must be signed by.
    pub fn trusted_keys(&self) -> Result<TrustedKeys, ConfigError> {
        TrustedKeys::read(&self.bundle.trusted_keys).map_err(|e| ConfigError(format!("key `bundle.trusted_keys`: {e}")))
    }

    /// How to poll `url`, with the configured interval and `trusted` keys.
    pub fn poll_config(&self, url: &str, trusted: TrustedKeys) -> PollConfig {
        PollConfig::new(url, Duration::from_millis(self.bundle.interval_ms), trusted)
    }

    /// The administrator token for sudo mode, from its file or variable.
    pub fn admin_token(&self) -> Result<Option<String>, ConfigError> {
        let auth = &self.upstream_auth;
        if auth.mode != AuthMode::Sudo {
            return Ok(None);
        }
        let token = match (&auth.admin_token_file, &auth.admin_token_env) {
            (Some(path), _) => std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!("upstream_auth.admin_token_file {}: cannot read: {e}", path.display()))
            })?,
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| ConfigError(format!("upstream_auth.admin_token_env: the variable {var} is not set")))?,
            (None, None) => return Ok(None),
        };
        let token = token.trim().to_owned();
        if token.is_empty() || token.contains(|c: char| c.is_control()) {
            return Err(ConfigError("upstream_auth: the administrator token is empty or not one line".into()));
        }
        Ok(Some(token))
    }
}

/// `:LINE: key `KEY`` for the byte offset of an error.
fn place(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line_number = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_number - 1).unwrap_or("");
    let key = line.split_once('=').map(|(k, _)| k.trim()).filter(|k| !k.is_empty());
    let table = before.lines().rev().find_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')));
    match (table, key) {
        (Some(table), Some(key)) => format!(":{line_number}: key `{table}.{key}`"),
        (None, Some(key)) => format!(":{line_number}: key `{key}`"),
        _ => format!(":{line_number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        toml::from_str::<Config>(text).map_err(|e| {
            let place = e.span().map(|span| place(text, span.start)).unwrap_or_default();
            format!("serve.toml{place}: {}", e.message())
        })
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let error = parse("listen = \"127.0.0.1:1\"\n[limits]\nmax_connections = \"many\"\n").unwrap_err();
        assert!(error.starts_with("serve.toml:3: key `limits.max_connections`: invalid type"), "{error}");
        let error = parse("listen = \"nowhere\"\n").unwrap_err();
        assert!(error.starts_with("serve.toml:1: key `listen`"), "{error}");
        let error = parse("upstreem = \"http://x\"\n").unwrap_err();
        assert!(error.contains("unknown field `upstreem`"), "{error}");
    }

    #[test]
    fn validation_names_the_key() {
        let mut config = parse("store = \"s.db\"\nupstream = \"ftp://x\"\n").unwrap();
        assert_eq!(
            config.validate("serve.toml").unwrap_err().0,
            "serve.toml: key `upstream`: \"ftp://x\" is not an http://host:port URL"
        );
        config.upstream = Some("http://127.0.0.1:9".into());
        config.upstream_auth.mode = AuthMode::Sudo;
        assert!(config.validate("serve.toml").unwrap_err().0.contains("upstream_auth.admin_token_file"));
    }
}
