//! `finegrain`: build policy bundles, check and explain requests, run scenario
//! files and inspect tokens — always through the engine component.
//!
//! Exit status: 0 allow (or success), 1 deny (or failing cases), 2 bad input.

mod bench_cmd;
mod bundle_cli;
mod component_info;
#[cfg(test)]
mod help_check;
mod store_cli;
mod style;
mod test_cmd;
mod world_export;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use finegrain_host::api::*;
use finegrain_host::runtime::{Authorizer, EngineHost};
use finegrain_host::{scenario, time, world_file};

#[derive(Parser)]
#[command(name = "finegrain", version, about = "Authorization engine for fine-grained access tokens and custom roles")]
struct Cli {
    /// Use this engine component instead of the one built in.
    #[arg(long, global = true, value_name = "WASM")]
    component: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Policy bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Decide requests; exit 0 when all are allowed, 1 otherwise.
    Check(CheckArgs),
    /// Decide requests and show every step that led to each decision.
    Explain(CheckArgs),
    /// Run scenario files through the engine component.
    Test(test_cmd::TestArgs),
    /// Time the cases of scenario files, natively and through the component:
    /// median and p99 per decision, load time, peak memory.
    Bench(bench_cmd::BenchArgs),
    /// Check world, scenario or bundle files without running anything: exit 0
    /// when every file is valid, 2 at the first problem.
    Validate {
        /// World or scenario files (YAML) or bundles.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show what a token may do, per namespace (token ∩ user).
    Inspect(InspectArgs),
    /// The token store: import, export, settings.
    #[command(subcommand)]
    Store(store_cli::StoreCommand),
    /// Tokens in the store: create, list, revoke, rotate, inspect, verify-format.
    #[command(subcommand)]
    Token(store_cli::TokenCommand),
    /// Describe the engine component: name, version, licence, source, size, imports and exports.
    Component {
        /// Also write the component's bytes here (for other hosts).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write the permissions reference: DIR/permissions.html, .md and .json.
    Docs {
        /// The directory to write into (created if missing).
        #[arg(short, long, value_name = "DIR", required_unless_present = "json")]
        output: Option<PathBuf>,
        /// Print the reference as JSON on standard output instead.
        #[arg(long, conflicts_with = "output")]
        json: bool,
    },
    /// The permission catalog.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Put the engine in front of a forge: reverse proxy, nginx auth_request, Envoy ext_authz.
    Serve(finegrain_serve::ServeArgs),
    /// Git server hooks.
    #[command(subcommand)]
    Hook(finegrain_serve::hook::HookCommand),
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// How many of GitLab's reference operations the catalog maps (REST overall and
    /// per area, GraphQL).
    Coverage {
        /// The GitLab reference directory (default: $FINEGRAIN_REFERENCE, else
        /// the vendored catalog/reference/gitlab of the checkout it was built from).
        #[arg(long, value_name = "DIR")]
        reference: Option<PathBuf>,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Compile a world file, or a store's world, into a bundle.
    Build {
        /// The world (YAML).
        #[arg(required_unless_present = "store", conflicts_with = "store")]
        world: Option<PathBuf>,
        /// Build from this store instead.
        #[arg(long, value_name = "PATH")]
        store: Option<PathBuf>,
        /// Where to write the bundle.
        #[arg(short, long)]
        output: PathBuf,
    },
    #[command(flatten)]
    Signing(bundle_cli::SigningCommand),
}

#[derive(Args)]
struct TokenArgs {
    /// The token secret; `-` reads it from standard input (keeps it out of `ps`).
    #[arg(long, conflicts_with = "token_name")]
    token: Option<String>,
    /// The token's name in the world.
    #[arg(long)]
    token_name: Option<String>,
}

impl TokenArgs {
    fn token_ref(&self) -> Result<Option<TokenRef>> {
        match (&self.token, &self.token_name) {
            (Some(secret), _) if secret == "-" => {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("cannot read the token from standard input")?;
                Ok(Some(TokenRef::Secret(line.trim().to_owned())))
            }
            (Some(secret), _) => Ok(Some(TokenRef::Secret(secret.clone()))),
            (None, Some(name)) => Ok(Some(TokenRef::Name(name.clone()))),
            (None, None) => Ok(None),
        }
    }
}

/// Where the policy comes from: `--world`, `--store`, or `$FINEGRAIN_STORE`.
#[derive(Args)]
struct PolicyArgs {
    /// The world (YAML) or a bundle.
    #[arg(long, conflicts_with = "store")]
    world: Option<PathBuf>,
    /// A token store (default when neither is given: $FINEGRAIN_STORE).
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
}

/// A policy loaded for a command.
enum Source {
    World(PathBuf),
    Store(PathBuf),
}

impl PolicyArgs {
    fn source(&self) -> Result<Source> {
        match &self.world {
            Some(world) => Ok(Source::World(world.clone())),
            None => store_cli::store_path(self.store.as_deref())
                .map(Source::Store)
                .map_err(|_| anyhow!("give --world FILE or --store PATH")),
        }
    }
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    token: TokenArgs,
    /// `METHOD PATH`, `git-upload-pack PROJECT` or `git-receive-pack PROJECT REF…`
    /// (repeatable: each is decided in turn; with --json several decisions print
    /// as an array).
    #[arg(long, conflicts_with = "permission")]
    request: Vec<String>,
    /// An HTTP header for --request, `Name: value` (repeatable).
    #[arg(long, requires = "request")]
    header: Vec<String>,
    /// A GraphQL document, decided as `POST /api/graphql` with a JSON body.
    #[arg(long, conflicts_with_all = ["request", "permission"])]
    graphql: Option<String>,
    /// The GraphQL variables, as a JSON object.
    #[arg(long, requires = "graphql")]
    variables: Option<String>,
    /// A raw or assignable permission.
    #[arg(long, required_unless_present_any = ["request", "graphql"])]
    permission: Option<String>,
    /// The group or project (full path or id) for --permission.
    #[arg(long, requires = "permission")]
    on: Option<String>,
    /// The ref the permission touches (`refs/heads/main`).
    #[arg(long = "ref", requires = "permission")]
    ref_name: Option<String>,
    /// A forced (non fast-forward) update of --ref.
    #[arg(long, requires = "ref_name")]
    force: bool,
    /// The time of the request (date, RFC 3339 or Unix seconds); default: now.
    #[arg(long)]
    at: Option<String>,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct InspectArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    token: TokenArgs,
    /// The time (date, RFC 3339 or Unix seconds); default: now.
    #[arg(long)]
    at: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// An error that is the user's input: reported on one line, exit status 2.
fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("finegrain: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Rust ignores SIGPIPE, so `finegrain … | head` would panic on the closed pipe;
/// a command-line tool should simply stop, as other Unix tools do.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; resetting a
    // signal to its default action has no other effect on this process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn engine(cli_component: &Option<PathBuf>) -> Result<EngineHost> {
    match cli_component {
        None => EngineHost::new(),
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
            EngineHost::from_component(&bytes).with_context(|| format!("{}", path.display()))
        }
    }
}

fn at_or_now(at: &Option<String>) -> Result<Timestamp> {
    match at {
        None => Ok(time::now()),
        Some(text) => time::parse_timestamp(text).map_err(|e| anyhow!("--at: {e}")),
    }
}

fn load(host: &EngineHost, source: &Source) -> Result<Authorizer> {
    let (bundle, path) = match source {
        Source::World(path) => (finegrain_host::load_policy(path).map_err(|e| anyhow!("{e}"))?.bundle, path),
        Source::Store(path) => (store_cli::store_bundle(path)?, path),
    };
    host.load(&bundle).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Bundle(BundleCommand::Build { world, store, output }) => match (world, store) {
            (Some(world), _) => bundle_build(&world, &output),
            (None, store) => bundle_build_store(&store_cli::store_path(store.as_deref())?, &output),
        },
        Command::Bundle(BundleCommand::Signing(command)) => bundle_cli::run(command),
        Command::Check(args) => check(&cli.component, &args, false),
        Command::Explain(args) => check(&cli.component, &args, true),
        Command::Test(args) => test_cmd::test(&engine(&cli.component)?, &args),
        Command::Bench(args) => {
            let started = std::time::Instant::now();
            let host = engine(&cli.component)?;
            bench_cmd::bench(&host, started.elapsed(), &args)
        }
        Command::Validate { files } => test_cmd::validate(&engine(&cli.component)?, &files),
        Command::Inspect(args) => inspect(&cli.component, &args),
        Command::Component { output } => describe_component(&cli.component, output.as_deref()),
        Command::Store(command) => store_cli::store(command),
        Command::Token(command) => store_cli::token(&cli.component, command),
        Command::Docs { output, json } => docs(output.as_deref(), json),
        Command::Catalog(CatalogCommand::Coverage { reference, json }) => coverage(reference, json),
        Command::Serve(mut args) => {
            args.component = cli.component.clone();
            Ok(finegrain_serve::serve_command(&args))
        }
        Command::Hook(command) => Ok(finegrain_serve::hook::hook_command(&command)),
    }
}

fn builtin_catalog() -> Result<finegrain_catalog::Catalog> {
    finegrain_catalog::Catalog::builtin().map_err(|e| anyhow!("built-in catalog: {e}"))
}

fn docs(dir: Option<&Path>, json: bool) -> Result<ExitCode> {
    let catalog = builtin_catalog()?;
    let data = serde_json::to_string_pretty(&finegrain_catalog::docs::reference(&catalog))? + "\n";
    let Some(dir) = dir.filter(|_| !json) else {
        print!("{data}");
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).map_err(|e| anyhow!("{}: cannot create: {e}", dir.display()))?;
    for (name, text) in [
        ("permissions.html", finegrain_catalog::docs::html(&catalog)),
        ("permissions.md", finegrain_catalog::docs::markdown(&catalog)),
        ("permissions.json", data),
    ] {
        let path = dir.join(name);
        write_atomically(&path, text.as_bytes())?;
        println!("wrote {} ({} bytes)", path.display(), text.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// The vendored GitLab reference of the checkout this binary was built from.
const DEFAULT_REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog/reference/gitlab");

fn coverage(reference: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let dir = reference
        .or_else(|| std::env::var_os("FINEGRAIN_REFERENCE").filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_REFERENCE));
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))
    };
    let (rest, graphql) = (read("rest_endpoints.tsv")?, read("graphql_operations.tsv")?);
    let catalog = builtin_catalog()?;
    let cov =
        finegrain_catalog::docs::coverage(&catalog, &rest, &graphql).map_err(|e| anyhow!("{}/{e}", dir.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&cov)?);
        return Ok(ExitCode::SUCCESS);
    }
    let width = cov.rest_by_area.keys().map(|a| a.chars().count() + 2).max().unwrap_or(0).max(24);
    let line = |label: &str, r: &finegrain_catalog::docs::Ratio| {
        println!("{label:<width$} {:>5} / {:<5} {:>6.1}%", r.mapped, r.total, r.percent());
    };
    line("REST /api/v4 operations", &cov.rest);
    println!("  mappings annotated by GitLab: {}, assigned here: {}", cov.rest_from_gitlab, cov.rest_assigned);
    line("GraphQL operations", &cov.graphql);
    println!("REST by area:");
    for (area, r) in &cov.rest_by_area {
        line(&format!("  {area}"), r);
    }
    Ok(ExitCode::SUCCESS)
}

fn bundle_build(world: &Path, output: &Path) -> Result<ExitCode> {
    let bundle = finegrain_host::build_bundle_file(world).map_err(|e| anyhow!("{e}"))?;
    write_bundle(output, &bundle)
}

fn bundle_build_store(store: &Path, output: &Path) -> Result<ExitCode> {
    write_bundle(output, &store_cli::store_bundle(store)?)
}

fn write_bundle(output: &Path, bundle: &[u8]) -> Result<ExitCode> {
    write_atomically(output, bundle)?;
    println!(
        "wrote {} ({} bytes, format {}, digest sha256:{})",
        output.display(),
        bundle.len(),
        finegrain_engine::bundle::FORMAT_VERSION,
        finegrain_host::Bundle::digest_hex(bundle)
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes beside the target and renames, so a failure never leaves half a file.
fn write_atomically(output: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = output.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, output));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        bail!("{}: cannot write: {e}", output.display());
    }
    Ok(())
}

fn parse_header(text: &str) -> Result<(String, String)> {
    let (name, value) = text.split_once(':').ok_or_else(|| anyhow!("--header {text:?}: write `Name: value`"))?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

/// The requests of a `check`/`explain` command line, in order.
fn build_requests(args: &CheckArgs) -> Result<Vec<Request>> {
    if args.request.is_empty() {
        return Ok(vec![build_request(args, None)?]);
    }
    args.request.iter().map(|line| build_request(args, Some(line))).collect()
}

fn build_request(args: &CheckArgs, line: Option<&String>) -> Result<Request> {
    let at = at_or_now(&args.at)?;
    let token = args.token.token_ref()?;
    let case_token = match &token {
        Some(TokenRef::Name(n)) => world_file::CaseToken::Name(n.clone()),
        Some(TokenRef::Secret(s)) => world_file::CaseToken::Secret(s.clone()),
        None => world_file::CaseToken::None,
    };
    let query = match (line, &args.permission) {
        _ if args.graphql.is_some() => world_file::CaseQuery::GraphQl {
            document: args.graphql.clone().unwrap_or_default(),
            variables: args.variables.clone(),
        },
        (Some(line), _) => {
            let headers = args.header.iter().map(|h| parse_header(h)).collect::<Result<_>>()?;
            world_file::parse_request_line(line, headers).map_err(|e| anyhow!("--request: {e}"))?
        }
        (None, Some(permission)) => world_file::CaseQuery::Permission {
            permission: permission.clone(),
            on: args.on.clone(),
            ref_name: args.ref_name.clone(),
            force: args.force,
        },
        (None, None) => bail!("give --request, --graphql or --permission"),
    };
    let case = world_file::Case {
        name: String::new(),
        token: case_token,
        query,
        at: Some(at),
        expect_allow: true,
        reasons: Vec::new(),
    };
    Ok(scenario::case_request(&case, at))
}

fn check(component: &Option<PathBuf>, args: &CheckArgs, explain: bool) -> Result<ExitCode> {
    let requests = build_requests(args)?;
    let source = args.policy.source()?;
    let host = engine(component)?;
    let mut authorizer = load(&host, &source)?;
    let (mut all_allowed, mut values) = (true, Vec::new());
    for (index, request) in requests.iter().enumerate() {
        let (decision, steps) = if explain {
            let e = authorizer.explain(request);
            (e.decision, e.steps)
        } else {
            (authorizer.describe(request), Vec::new())
        };
        if let (Source::Store(path), Some(TokenRef::Secret(secret)), Effect::Allow) =
            (&source, request_token(request), decision.effect)
        {
            record_use(path, secret);
        }
        all_allowed &= decision.effect == Effect::Allow;
        if args.json {
            values.push(if explain {
                serde_json::json!({ "decision": decision, "steps": steps })
            } else {
                serde_json::to_value(&decision)?
            });
        } else {
            if requests.len() > 1 {
                let shown = finegrain_engine::reading::redact_target(&args.request[index]);
                println!("{}{shown}", if index > 0 { "\n" } else { "" });
            }
            for (i, step) in steps.iter().enumerate() {
                println!("{:>2}. {step}", i + 1);
            }
            print_decision(&decision);
        }
    }
    if args.json {
        let value = if values.len() == 1 { values.remove(0) } else { serde_json::Value::Array(values) };
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(if all_allowed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_decision(d: &Decision) {
    let style = style::Style::for_stdout();
    println!("{}", if d.effect == Effect::Allow { style.good("ALLOW") } else { style.bad("DENY") });
    for r in &d.reasons {
        println!("  {}: {}", r.code, r.text());
    }
    if !d.required_permissions.is_empty() {
        println!("  requires: {}", d.required_permissions.join(", "));
        println!("  granted by: {}", d.accepted_permissions.join(", "));
    }
    if let Some(b) = d.boundary {
        println!("  boundary: {}{}", b.name(), d.namespace.as_ref().map(|n| format!(" ({n})")).unwrap_or_default());
    }
    println!("  revision: {}", d.revision);
}

fn inspect(component: &Option<PathBuf>, args: &InspectArgs) -> Result<ExitCode> {
    let at = at_or_now(&args.at)?;
    let token = args.token.token_ref()?.ok_or_else(|| anyhow!("give --token or --token-name"))?;
    let host = engine(component)?;
    let mut authorizer = load(&host, &args.policy.source()?)?;
    let report = authorizer.inspect_token(&token, at)?;
    print_report(&report, args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// The token a request names outside its headers.
fn request_token(request: &Request) -> Option<&TokenRef> {
    match request {
        Request::Permission(r) => Some(&r.token),
        Request::Http(r) => r.token.as_ref(),
        Request::Git(r) => Some(&r.token),
    }
}

/// Notes in the store that a token was used now (whatever `--at` said); a
/// failure only warns, the decision stands.
fn record_use(store: &Path, secret: &str) {
    let digest = finegrain_engine::world::secret_digest(secret);
    let result = store_cli::open(store).and_then(|mut s| s.touch(&digest, time::now()).map_err(|e| anyhow!("{e}")));
    if let Err(e) = result {
        eprintln!("finegrain: warning: cannot record the token's use: {e:#}");
    }
}

/// Prints a token report as text or JSON.
fn print_report(report: &TokenReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!("token {:?} of {} ({}, {})", report.name, report.user, report.kind, report.status);
    if let Some(expires) = report.expires {
        println!("  expires {}", time::format_timestamp(expires));
    }
    if !report.scopes.is_empty() {
        println!("  scopes: {}", report.scopes.join(", "));
    }
    for entry in &report.access {
        println!(
            "  {} {}: {}",
            entry.boundary.name(),
            entry.namespace.as_deref().unwrap_or("-"),
            entry.permissions.join(", ")
        );
    }
    Ok(())
}

fn describe_component(component: &Option<PathBuf>, output: Option<&Path>) -> Result<ExitCode> {
    let bytes = match component {
        Some(path) => std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?,
        None => finegrain_host::runtime::COMPONENT.to_vec(),
    };
    let info = EngineHost::from_component(&bytes)?.describe();
    let identity = component_info::identity(&bytes)?;
    if let Some(output) = output {
        write_atomically(output, &bytes)?;
    }
    println!("name: {}", identity.name.as_deref().unwrap_or("(none)"));
    for annotation in component_info::ANNOTATIONS {
        match identity.annotations.iter().find(|(name, _)| *name == annotation) {
            Some((_, value)) => println!("{annotation}: {value}"),
            None => println!("{annotation}: (none)"),
        }
    }
    for producer in &identity.producers {
        println!("producer {producer}");
    }
    println!("size: {} bytes", bytes.len());
    let list = |items: &[finegrain_host::runtime::Item]| {
        for item in items {
            let functions = if item.functions.is_empty() { "types only".to_owned() } else { item.functions.join(", ") };
            println!("  {}: {functions}", item.name);
        }
    };
    println!("imports ({}):", info.imports.len());
    list(&info.imports);
    println!("exports ({}):", info.exports.len());
    list(&info.exports);
    Ok(ExitCode::SUCCESS)
}
