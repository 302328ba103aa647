//! `finegrain-portal`: serves the token pages and the token API alone, over a
//! store. `finegrain serve` mounts the same routers; this binary is for trying
//! them and for the tests.
//!
//! ```text
//! finegrain-portal --store PATH [--listen 127.0.0.1:8080] [--base /-/tokens] [--events PATH|-]
//! ```
//! It prints `listening on http://ADDR` once it accepts connections, and stops
//! on Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use finegrain_portal::{Portal, PortalConfig, app};
use finegrain_store::EventSink;

const USAGE: &str = "usage: finegrain-portal --store PATH [--listen ADDR] [--base PATH] [--events PATH|-]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("finegrain-portal: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut store = None;
    let mut listen = "127.0.0.1:8080".to_owned();
    let mut config_base = None;
    let mut events = None;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--store" => store = Some(PathBuf::from(value()?)),
            "--listen" => listen = value()?,
            "--base" => config_base = Some(value()?),
            "--events" => events = Some(EventSink::parse(&value()?)),
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let store = store
        .or_else(|| std::env::var_os(finegrain_store::STORE_ENV).map(PathBuf::from))
        .ok_or_else(|| format!("give --store PATH (or set {})\n{USAGE}", finegrain_store::STORE_ENV))?;
    let mut config = PortalConfig::new(store);
    if let Some(base) = config_base {
        config.base = base;
    }
    config.events = events
        .or_else(|| std::env::var("FINEGRAIN_EVENTS").ok().filter(|v| !v.is_empty()).map(|v| EventSink::parse(&v)));
    let portal = Portal::open(config).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen:?}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on http://{addr}");
        axum::serve(listener, app(portal))
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| format!("server error: {e}"))
    })
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
