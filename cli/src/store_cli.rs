//! `finegrain store …` and `finegrain token …`: the token store from the
//! command line. The store is `--store PATH` or, without it, the path in
//! `FINEGRAIN_STORE`.
//!
//! Secrets are printed once, by `token create` and `token rotate`, on standard
//! output and nowhere else; every other output names tokens by id and name.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use finegrain_host::api::{GrantAccess, TokenKind, TokenRef, Update};
use finegrain_host::time;
use finegrain_store::{
    Created, EventSink, ExistingTokens, Expiry, GrantRequest, PermissionChoice, Store, StoreError, TokenInfo,
    TokenRequest, TokenSelector,
};

use crate::world_export;

/// Where the store is.
#[derive(Args, Clone)]
pub struct StoreArg {
    /// The store (SQLite file); default: $FINEGRAIN_STORE.
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

impl StoreArg {
    /// `--store`, or `FINEGRAIN_STORE`.
    pub fn path(&self) -> Result<PathBuf> {
        store_path(self.store.as_deref())
    }
}

/// `--store PATH` if given, else `$FINEGRAIN_STORE`.
pub fn store_path(given: Option<&Path>) -> Result<PathBuf> {
    match given {
        Some(path) => Ok(path.to_owned()),
        None => std::env::var_os(finegrain_store::STORE_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| anyhow!("give --store PATH or set {}", finegrain_store::STORE_ENV)),
    }
}

/// Opens an existing store.
pub fn open(path: &Path) -> Result<Store> {
    Store::open_existing(path).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// The bundle of a store's world.
pub fn store_bundle(path: &Path) -> Result<Vec<u8>> {
    let world = open(path)?.world().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    finegrain_host::build_bundle(world).map_err(|e| anyhow!("{}: {e}", path.display()))
}

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Create an empty store (schema at the current version, default settings).
    Init(StoreArg),
    /// Replace the store's world with a world file (YAML; docs/world-files.md).
    ///
    /// Refused, with nothing changed, when the store holds tokens, unless
    /// --replace: the file's tokens then take the place of the store's.
    Import {
        #[command(flatten)]
        store: StoreArg,
        /// The world file.
        world: PathBuf,
        /// Delete the store's tokens (created, rotated, revoked here) too.
        #[arg(long)]
        replace: bool,
    },
    /// Write the store's world as YAML (tokens as digests).
    Export {
        #[command(flatten)]
        store: StoreArg,
        /// Write here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Show the settings and schema version.
    Settings(StoreArg),
    /// Change a setting: token_prefix, default_lifetime_days, max_lifetime_days (days or `none`).
    Set {
        #[command(flatten)]
        store: StoreArg,
        /// The setting: token_prefix, default_lifetime_days or max_lifetime_days.
        key: String,
        /// Its new value (a prefix, a number of days, or `none` for max_lifetime_days).
        value: String,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret, once.
    ///
    /// Legacy: --scope NAME…. Fine-grained: one grant from an access flag
    /// (--personal-projects, --all-memberships, --namespace PATH…, --user or
    /// --instance) with --permission NAME… and --resource RESOURCE:VERB…; each
    /// --grant ACCESS=PERMISSION,… adds another grant. Nothing is written unless
    /// every check passes; the secret is printed once, on standard output.
    Create(CreateArgs),
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArg,
        /// Only the tokens of this user.
        #[arg(long, value_name = "USER")]
        owner: Option<String>,
        /// Print the tokens as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: by id, or by --owner and --name.
    Revoke {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Replace a token by a new secret with the same name and rights; the old one is revoked.
    Rotate {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        out: OutputArgs,
        /// Print the new token as JSON (id, name, engine_name, secret, expires).
        #[arg(long)]
        json: bool,
    },
    /// What a token may do, per namespace, through the engine component.
    Inspect {
        #[command(flatten)]
        store: StoreArg,
        /// The token's id, its secret, or `-` to read the secret from standard input.
        token: String,
        /// The time (date, RFC 3339 or Unix seconds); default: now.
        #[arg(long)]
        at: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check offline that a secret is a well-formed finegrain token (prefix, length, checksum).
    VerifyFormat {
        /// The secret, or `-` to read it from standard input.
        secret: String,
        /// The expected prefix.
        #[arg(long, default_value = finegrain_store::secret::DEFAULT_PREFIX)]
        prefix: String,
    },
}

/// Where the events and updates of a write go.
#[derive(Args)]
pub struct OutputArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Append the instrumentation event here (`-`: standard output); default: $FINEGRAIN_EVENTS.
    #[arg(long, value_name = "PATH")]
    events: Option<String>,
    /// Append the engine updates for running hosts here, one JSON list per line.
    #[arg(long, value_name = "PATH")]
    updates: Option<PathBuf>,
}

/// Names an existing token.
#[derive(Args)]
pub struct SelectArgs {
    /// The token's id (see `token list`).
    #[arg(required_unless_present = "name", conflicts_with_all = ["owner", "name"])]
    id: Option<i64>,
    /// The user the token belongs to, with --name.
    #[arg(long, value_name = "USER", requires = "name")]
    owner: Option<String>,
    /// The token's name, with --owner.
    #[arg(long, requires = "owner")]
    name: Option<String>,
}

impl SelectArgs {
    fn selector(&self) -> TokenSelector {
        match (self.id, &self.owner, &self.name) {
            (Some(id), _, _) => TokenSelector::Id(id),
            (None, user, name) => {
                TokenSelector::Owned { user: user.clone().unwrap_or_default(), name: name.clone().unwrap_or_default() }
            }
        }
    }
}

/// `token create`'s arguments.
#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    out: OutputArgs,
    /// The user the token belongs to.
    #[arg(long, value_name = "USER")]
    owner: String,
    /// The token's name (unique in the store).
    #[arg(long)]
    name: String,
    /// Free text for people (kept in the store, never in events).
    #[arg(long)]
    description: Option<String>,
    /// A date (2027-01-31), a number of days (30d), or `never`; default: the store's default lifetime.
    #[arg(long)]
    expires: Option<String>,
    /// Legacy token: a scope (repeatable or comma-separated: read_api,read_repository).
    #[arg(long, value_delimiter = ',')]
    scope: Vec<String>,
    /// Access: the owner's personal projects.
    #[arg(long)]
    personal_projects: bool,
    /// Access: every group and project the owner can access.
    #[arg(long)]
    all_memberships: bool,
    /// Access: these groups and projects (full paths; repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "PATH")]
    namespace: Vec<String>,
    /// Access: user-level endpoints.
    #[arg(long)]
    user: bool,
    /// Access: instance-level endpoints.
    #[arg(long)]
    instance: bool,
    /// An assignable permission for the grant (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    permission: Vec<String>,
    /// RESOURCE:VERB (repository:write): every permission the CRUD verb grants on the resource.
    #[arg(long, value_name = "RESOURCE:VERB")]
    resource: Vec<String>,
    /// A further grant: ACCESS=PERMISSION,… with ACCESS personal_projects, all_memberships,
    /// selected:PATH[,PATH…], user or instance, e.g. 'selected:acme/platform=read_branch,push_code'.
    #[arg(long, value_name = "ACCESS=PERMISSIONS")]
    grant: Vec<String>,
    /// Print the new token as JSON (id, name, secret, expires).
    #[arg(long)]
    json: bool,
}

impl CreateArgs {
    /// The grant the access flags describe, if any.
    fn flag_grant(&self) -> Result<Option<GrantRequest>> {
        let mut access = Vec::new();
        if self.personal_projects {
            access.push(GrantAccess::PersonalProjects);
        }
        if self.all_memberships {
            access.push(GrantAccess::AllMemberships);
        }
        if !self.namespace.is_empty() {
            access.push(GrantAccess::SelectedMemberships(self.namespace.clone()));
        }
        if self.user {
            access.push(GrantAccess::User);
        }
        if self.instance {
            access.push(GrantAccess::Instance);
        }
        let permissions: Vec<PermissionChoice> = self
            .permission
            .iter()
            .map(|p| PermissionChoice::Name(p.trim().to_owned()))
            .chain(self.resource.iter().map(|r| PermissionChoice::Crud(r.trim().to_owned())))
            .collect();
        match access.len() {
            0 if permissions.is_empty() => Ok(None),
            0 => bail!(
                "--permission and --resource need an access kind: --personal-projects, --all-memberships, --namespace PATH, --user or --instance"
            ),
            1 => Ok(Some(GrantRequest { access: access.remove(0), permissions })),
            _ => bail!("give one access kind per grant; for several grants use --grant ACCESS=PERMISSION,…"),
        }
    }

    fn request(&self) -> Result<TokenRequest> {
        let mut grants: Vec<GrantRequest> = self.flag_grant()?.into_iter().collect();
        for text in &self.grant {
            grants.push(finegrain_store::parse_grant(text)?);
        }
        Ok(TokenRequest {
            owner: self.owner.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            scopes: self.scope.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
            grants,
            expires: parse_expiry(self.expires.as_deref())?,
        })
    }
}

/// `--expires`: a date, `N` days (`30d`), or `never`.
fn parse_expiry(text: Option<&str>) -> Result<Expiry, StoreError> {
    let Some(text) = text.map(str::trim) else {
        return Ok(Expiry::Default);
    };
    let bad = || StoreError::BadExpiry { text: text.to_owned() };
    if text == "never" {
        return Ok(Expiry::Never);
    }
    if let Some(days) = text.strip_suffix('d') {
        return days.parse().map(Expiry::Days).map_err(|_| bad());
    }
    if text.len() != 10 {
        return Err(bad());
    }
    time::parse_timestamp(text).map(Expiry::Date).map_err(|_| bad())
}

/// Reads a secret argument; `-` reads it from standard input.
fn secret_arg(text: &str) -> Result<String> {
    if text != "-" {
        return Ok(text.to_owned());
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the token from standard input")?;
    Ok(line.trim().to_owned())
}

fn events_sink(given: &Option<String>) -> Option<EventSink> {
    given
        .clone()
        .or_else(|| std::env::var("FINEGRAIN_EVENTS").ok().filter(|v| !v.is_empty()))
        .map(|text| EventSink::parse(&text))
}

fn write_updates(path: &Option<PathBuf>, updates: &[Update]) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut line = serde_json::to_string(updates)?;
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .with_context(|| format!("{}: cannot write the updates", path.display()))
}

/// After a creation or rotation has committed: the event, the updates, and the
/// secret, once.
fn report_created(out: &OutputArgs, created: &Created, json: bool, what: &str) -> Result<ExitCode> {
    if json {
        let value = serde_json::json!({
            "id": created.id,
            "name": created.name,
            "engine_name": created.engine_name,
            "secret": created.secret.expose(),
            "expires": created.expires.map(finegrain_store::format_date),
        });
        println!("{value}");
    } else {
        println!("{}", created.secret.expose());
        let expires = created.expires.map_or("never".to_owned(), finegrain_store::format_date);
        eprintln!(
            "{what} token {} {:?}, expires {expires}; the secret above is shown only this once",
            created.id, created.name
        );
    }
    let mut failed = false;
    if let Some(sink) = events_sink(&out.events)
        && let Err(e) = sink.emit(&created.event)
    {
        eprintln!("finegrain: warning: the token exists, but its event could not be written: {e}");
        failed = true;
    }
    write_updates(&out.updates, &created.updates)?;
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Runs `finegrain store …`.
pub fn store(command: StoreCommand) -> Result<ExitCode> {
    match command {
        StoreCommand::Init(arg) => {
            let path = arg.path()?;
            let store = Store::open(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            println!("store {} at schema version {}", path.display(), store.schema_version()?);
        }
        StoreCommand::Import { store, world, replace } => {
            let path = store.path()?;
            // The file's own checks place errors on its lines before the store is touched.
            let policy = finegrain_host::load_policy(&world).map_err(|e| anyhow!("{e}"))?;
            let parsed = policy
                .file
                .ok_or_else(|| anyhow!("{}: is a bundle; store import takes a world file (YAML)", world.display()))?;
            let mut db = Store::open(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            let existing = if replace { ExistingTokens::Replace } else { ExistingTokens::Refuse };
            let summary =
                db.import(&parsed.world, time::now(), existing).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            println!(
                "imported {} users, {} groups, {} projects, {} custom roles, {} members, {} tokens into {}",
                summary.users,
                summary.groups,
                summary.projects,
                summary.custom_roles,
                summary.members,
                summary.tokens,
                path.display()
            );
        }
        StoreCommand::Export { store, output } => {
            let path = store.path()?;
            let world = open(&path)?.world()?;
            let yaml = world_export::to_yaml(&world)?;
            match output {
                Some(file) => crate::write_atomically(&file, yaml.as_bytes())?,
                None => print!("{yaml}"),
            }
        }
        StoreCommand::Settings(arg) => {
            let db = open(&arg.path()?)?;
            print_settings(&db.settings()?, db.schema_version()?);
        }
        StoreCommand::Set { store, key, value } => {
            let mut db = open(&store.path()?)?;
            let settings = db.set_setting(&key, &value)?;
            print_settings(&settings, db.schema_version()?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_settings(settings: &finegrain_store::Settings, version: i64) {
    println!("schema_version: {version}");
    println!("token_prefix: {}", settings.token_prefix);
    println!("default_lifetime_days: {}", settings.default_lifetime_days);
    println!("max_lifetime_days: {}", settings.max_lifetime_days.map_or("none".to_owned(), |d| d.to_string()));
}

/// Runs `finegrain token …`.
pub fn token(component: &Option<PathBuf>, command: TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::Create(args) => {
            let request = args.request()?;
            let mut db = open(&args.out.store.path()?)?;
            let created = db.create_token(&request, time::now())?;
            report_created(&args.out, &created, args.json, "created")
        }
        TokenCommand::Rotate { select, out, json } => {
            let mut db = open(&out.store.path()?)?;
            let created = db.rotate(&select.selector(), time::now())?;
            report_created(&out, &created, json, "rotated into")
        }
        TokenCommand::Revoke { select, out } => {
            let mut db = open(&out.store.path()?)?;
            let updates = db.revoke(&select.selector(), time::now())?;
            for update in &updates {
                if let Update::RevokeToken(name) = update {
                    println!("revoked {name:?}");
                }
            }
            write_updates(&out.updates, &updates)?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { store, owner, json } => {
            let db = open(&store.path()?)?;
            let tokens = db.list_tokens(owner.as_deref())?;
            print_list(&tokens, json)?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Inspect { store, token, at, json } => {
            let at = match at {
                None => time::now(),
                Some(text) => time::parse_timestamp(&text).map_err(|e| anyhow!("--at: {e}"))?,
            };
            let path = store.path()?;
            let db = open(&path)?;
            let (token_ref, label) = match token.parse::<i64>() {
                Ok(id) => {
                    let info = db.token(id)?;
                    (TokenRef::Name(info.name), info.label)
                }
                Err(_) => {
                    let secret = secret_arg(&token)?;
                    let info =
                        db.find_by_secret(&secret)?.ok_or_else(|| anyhow!("no token in the store has this secret"))?;
                    (TokenRef::Secret(secret), info.label)
                }
            };
            let bundle = finegrain_host::build_bundle(db.world()?).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            let host = crate::engine(component)?;
            let mut authorizer = host.load(&bundle).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            let mut report = authorizer.inspect_token(&token_ref, at)?;
            report.name = label; // the owner's name for it, kept through rotations
            crate::print_report(&report, json)?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::VerifyFormat { secret, prefix } => {
            let secret = secret_arg(&secret)?;
            match finegrain_store::secret::verify_format(&secret, &prefix) {
                Ok(()) => {
                    println!("well-formed");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("not a well-formed finegrain token: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn print_list(tokens: &[TokenInfo], json: bool) -> Result<()> {
    let now = time::now();
    let date = |t: Option<i64>| t.map_or("-".to_owned(), finegrain_store::format_date);
    if json {
        let rows: Vec<serde_json::Value> = tokens
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "name": t.label,
                    "engine_name": t.name,
                    "user": t.user,
                    "type": t.kind_name(),
                    "status": t.status(now),
                    "expires": t.expires.map(finegrain_store::format_date),
                    "last_used": t.last_used_at.map(time::format_timestamp),
                    "created": time::format_timestamp(t.created_at),
                    "description": t.description,
                    "rotated_from": t.rotated_from,
                    "scopes": match &t.kind { TokenKind::Legacy(s) => s.clone(), _ => Vec::new() },
                    "grants": match &t.kind { TokenKind::FineGrained(g) => g.clone(), _ => Vec::new() },
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:>5}  {:<24} {:<10} {:<12} {:<13} {:<10} last used", "id", "name", "user", "type", "status", "expires");
    for t in tokens {
        println!(
            "{:>5}  {:<24} {:<10} {:<12} {:<13} {:<10} {}",
            t.id,
            t.label,
            t.user,
            t.kind_name(),
            t.status(now),
            date(t.expires),
            t.last_used_at.map_or("-".to_owned(), time::format_timestamp)
        );
    }
    Ok(())
}
