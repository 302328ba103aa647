//! `finegrain serve`: the engine in the request path in front of a forge.
//!
//! - a reverse proxy that decides every request with the
//!   [`finegrain_filter`] layer and forwards the allowed ones ([`proxy`]),
//!   pass-through or in GitLab sudo mode;
//! - nginx `auth_request` at `GET /-/auth` and Envoy ext_authz over gRPC ([`envoy`]);
//! - `/-/health`, `/-/ready`, `/-/metrics` and a JSON decision log ([`metrics`]);
//! - live policy updates from a token store ([`decider`]);
//! - `finegrain hook pre-receive` for the Git server behind it ([`hook`]).
//!
//! The CLI only parses [`ServeArgs`] and calls [`serve_command`].

pub mod admin;
pub mod config;
pub mod decider;
pub mod envoy;
pub mod hook;
pub mod metrics;
pub mod pages;
pub mod proxy;
pub mod server;
pub mod swap;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use config::Config;
use decider::{PolicySource, PoolDecider};
use finegrain_filter::Decider;
use finegrain_host::signing::TrustedKeys;
use tokio::sync::watch;

pub use server::{PAGES_PREFIX, Pages};

/// The flags of `finegrain serve`; each overrides the configuration file.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// A TOML configuration file (see examples/gateway/serve.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to listen for HTTP: proxy, /-/auth and operations endpoints.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The forge to forward allowed requests to: http://host:port.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Also serve Envoy's ext_authz gRPC API here.
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<SocketAddr>,
    /// A token store; tokens created, revoked or rotated in it apply within a second.
    #[arg(long, value_name = "PATH", conflicts_with = "world")]
    pub store: Option<PathBuf>,
    /// A world (YAML) or bundle, read once.
    #[arg(long, value_name = "FILE", conflicts_with = "bundle_url")]
    pub world: Option<PathBuf>,
    /// A bundle polled from an HTTP store (`URL.sig` holds its signature).
    #[arg(long, value_name = "URL", conflicts_with = "store")]
    pub bundle_url: Option<String>,
    /// A public key bundles must be signed by (repeatable; `[bundle] trusted_keys`).
    #[arg(long = "trust", value_name = "KEY.pub")]
    pub trust: Vec<PathBuf>,
    /// Milliseconds between polls of the bundle URL.
    #[arg(long, value_name = "MS")]
    pub bundle_interval_ms: Option<u64>,
    /// A scenario file whose cases every new policy or engine must pass before it serves.
    #[arg(long, value_name = "FILE")]
    pub canary: Option<PathBuf>,
    /// A loopback address for the admin endpoints: engine swap and rollback.
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    /// The engine component to decide with (the global `--component` flag).
    #[arg(skip)]
    pub component: Option<PathBuf>,
    /// Forward every request undecided (to measure the proxy alone).
    #[arg(long)]
    pub no_authorization: bool,
}

/// The configuration: the file if given, then the flags.
pub fn configuration(args: &ServeArgs) -> Result<(Config, String), config::ConfigError> {
    let (mut config, file) = match &args.config {
        Some(path) => (Config::read(path)?, path.display().to_string()),
        None => (Config::default(), "command line".to_owned()),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if args.upstream.is_some() {
        config.upstream = args.upstream.clone();
    }
    if args.grpc_listen.is_some() {
        config.grpc_listen = args.grpc_listen;
    }
    // A policy source given as a flag replaces the file's.
    if args.store.is_some() || args.world.is_some() || args.bundle_url.is_some() {
        config.store = args.store.clone();
        config.world = args.world.clone();
        config.bundle.url = args.bundle_url.clone();
    }
    if !args.trust.is_empty() {
        config.bundle.trusted_keys = args.trust.clone();
    }
    if args.component.is_some() {
        config.engine.component = args.component.clone();
    }
    if args.canary.is_some() {
        config.engine.canary = args.canary.clone();
    }
    if args.admin_listen.is_some() {
        config.engine.admin_listen = args.admin_listen;
    }
    if let Some(interval) = args.bundle_interval_ms {
        config.bundle.interval_ms = interval;
    }
    if args.no_authorization {
        config.authorization = false;
    }
    config.validate(&file)?;
    config.trusted_keys().map_err(|e| config::ConfigError(format!("{file}: {e}")))?;
    Ok((config, file))
}

/// `finegrain serve`: 0 after a clean shutdown, 2 for a bad configuration, 1 otherwise.
pub fn serve_command(args: &ServeArgs) -> ExitCode {
    let config = match configuration(args) {
        Ok((config, _)) => config,
        Err(error) => {
            eprintln!("finegrain serve: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("finegrain serve: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    // On a live store, people manage their tokens at /-/tokens/ (finegrain-portal).
    let pages =
        match config.store.as_deref().map(|store| pages::token_pages(store, config.events.as_deref())).transpose() {
            Ok(pages) => pages,
            Err(error) => {
                eprintln!("finegrain serve: {error:#}");
                return ExitCode::from(2);
            }
        };
    match runtime.block_on(run(config, pages)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("finegrain serve: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs the gateway until SIGTERM; `pages`, when given, are served under [`PAGES_PREFIX`].
pub async fn run(config: Config, pages: Option<Pages>) -> Result<()> {
    let running = start(config, pages).await?;
    eprintln!(
        "finegrain serve: listening on {} (policy revision {})",
        running.http_address,
        running.decider.revision()
    );
    if let Some(address) = running.admin_address {
        eprintln!("finegrain serve: admin endpoints (engine swap, rollback) on {address}");
    }
    if let Some(address) = running.grpc_address {
        eprintln!("finegrain serve: gRPC ext_authz listening on {address}");
    }
    server::termination().await;
    eprintln!("finegrain serve: shutting down, letting requests in flight finish");
    running.shutdown().await
}

/// A started gateway: its addresses, and the handle that stops it.
pub struct Running {
    /// Where HTTP is served (the real port when the configuration said 0).
    pub http_address: SocketAddr,
    /// Where gRPC is served, when it is.
    pub grpc_address: Option<SocketAddr>,
    /// Where the admin endpoints are served, when they are.
    pub admin_address: Option<SocketAddr>,
    /// The policy it decides with.
    pub decider: Arc<PoolDecider>,
    app: Arc<server::App>,
    stop: watch::Sender<bool>,
    http: tokio::task::JoinHandle<()>,
    grpc: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to the grace
    /// period), and returns when both servers have stopped.
    pub async fn shutdown(self) -> Result<()> {
        self.app.ready.store(false, std::sync::atomic::Ordering::Relaxed);
        let _ = self.stop.send(true);
        self.http.await.map_err(|e| anyhow!("{e}"))?;
        if let Some(grpc) = self.grpc {
            grpc.await.map_err(|e| anyhow!("{e}"))??;
        }
        Ok(())
    }
}

/// Loads the policy, binds the listeners and starts serving. This is the
/// mount point for the token self-service pages: pass them as `pages`.
pub async fn start(config: Config, pages: Option<Pages>) -> Result<Running> {
    let trusted = config.trusted_keys().map_err(|e| anyhow!("{e}"))?;
    let source = match (&config.store, &config.world, &config.bundle.url) {
        (Some(store), _, _) => PolicySource::Store(store.clone()),
        (None, Some(world), _) => PolicySource::File(world.clone()),
        (None, None, Some(url)) => PolicySource::Url(config.poll_config(url, trusted.clone())),
        (None, None, None) => return Err(anyhow!("no policy: give --store, --world or --bundle-url")),
    };
    let decider = Arc::new(load_decider(&config, source, &trusted)?);
    decider.watch(std::time::Duration::from_millis(config.reload_interval_ms));
    let metrics = Arc::new(metrics::Metrics::new(config.log.decisions));
    let proxy = match &config.upstream {
        Some(upstream) => Some(proxy::Proxy::new(
            upstream.parse().context("the upstream URL")?,
            config.admin_token().map_err(|e| anyhow!("{e}"))?,
            &config.limits,
            metrics.clone(),
        )?),
        None => None,
    };
    let shared: Arc<dyn Decider> = decider.clone();
    let mut app = server::App::new(shared.clone(), metrics.clone(), proxy, config.authorization);
    app.pages = pages;
    let app = Arc::new(app);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let http_address = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let (grpc, grpc_address) = match config.grpc_listen {
        Some(address) => {
            let incoming = tonic::transport::server::TcpIncoming::bind(address)
                .map_err(|e| anyhow!("cannot listen on {address} for gRPC: {e}"))?
                .with_nodelay(Some(true));
            let bound = incoming.local_addr()?;
            let service = envoy::EnvoyAuthz { decider: shared, metrics };
            let mut stopped = stopped.clone();
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            (Some(tokio::spawn(envoy::serve(incoming, service, shutdown))), Some(bound))
        }
        None => (None, None),
    };
    let admin = match config.engine.admin_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for the admin endpoints"))?;
            let bound = listener.local_addr()?;
            let component = config.engine.component.clone();
            let admin = Arc::new(admin::Admin { decider: decider.clone(), component, trusted });
            tokio::spawn(admin::serve(listener, admin, stopped.clone()));
            Some(bound)
        }
        None => None,
    };
    let http = tokio::spawn(server::serve_http(
        listener,
        app.clone(),
        server::ConnectionLimits::from(&config.limits),
        stopped,
    ));
    Ok(Running { http_address, grpc_address, admin_address: admin, decider, app, stop, http, grpc })
}

/// The decider over the configured engine (validated like a swapped-in one)
/// and canary.
fn load_decider(config: &Config, source: PolicySource, trusted: &TrustedKeys) -> Result<PoolDecider> {
    let slots = swap::slots(config.workers);
    let builtin = swap::Engine::builtin(slots)?;
    let engine = match &config.engine.component {
        None => builtin.clone(),
        Some(path) => {
            let (bytes, signature) = swap::read_component(path)?;
            let name = path.display().to_string();
            Arc::new(swap::validate_engine(&name, &bytes, signature.as_deref(), trusted, &builtin.host, slots)?)
        }
    };
    let canary = config.engine.canary.as_deref().map(swap::Canary::read).transpose()?;
    PoolDecider::load_with(source, config.workers, engine, builtin, canary)
}
