//! `finegrain hook pre-receive`: the same push rules inside the Git server.
//!
//! Git runs the hook with one line per ref on standard input
//! (`<old-id> <new-id> <refname>`). The hook asks git whether each update is a
//! fast-forward (`git merge-base --is-ancestor`), which only the server can
//! know, and decides the push with the engine. The token and project come
//! from the gateway, which sets `X-Finegrain-Token` and `X-Finegrain-Project`
//! on the requests it forwards; `git http-backend` under fcgiwrap sees them as
//! `HTTP_X_FINEGRAIN_TOKEN` and `HTTP_X_FINEGRAIN_PROJECT`. (Only the gateway
//! may reach the Git server: it removes those headers from clients.)
//!
//! A refused push exits 1 and prints why on standard error, which git shows on
//! the pusher's terminal as `remote: finegrain: …`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Result, anyhow, bail};
use finegrain_engine::api::{Effect, GitRequest, GitService, RefUpdate, Request, TokenRef};
use finegrain_filter::{Decider, now};

use crate::decider::{PolicySource, PoolDecider};

/// Environment variables the token name is read from, in order.
pub const TOKEN_VARIABLES: [&str; 2] = ["FINEGRAIN_TOKEN_NAME", "HTTP_X_FINEGRAIN_TOKEN"];
/// Environment variables the project path is read from, in order.
pub const PROJECT_VARIABLES: [&str; 2] = ["FINEGRAIN_PROJECT", "HTTP_X_FINEGRAIN_PROJECT"];

/// Git hooks finegrain provides.
#[derive(clap::Subcommand, Debug)]
pub enum HookCommand {
    /// Decide a push inside the Git server (install as hooks/pre-receive).
    PreReceive(PreReceiveArgs),
}

/// Where the policy and the project come from.
#[derive(clap::Args, Debug)]
pub struct PreReceiveArgs {
    /// A token store.
    #[arg(long, value_name = "PATH", conflicts_with = "world")]
    pub store: Option<PathBuf>,
    /// A world (YAML) or bundle.
    #[arg(long, value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// The project's full path (default: from the gateway's header).
    #[arg(long)]
    pub project: Option<String>,
}

/// Runs a hook: 0 allows the push, 1 refuses it, 2 is bad input.
pub fn hook_command(command: &HookCommand) -> ExitCode {
    let HookCommand::PreReceive(args) = command;
    match pre_receive(args, std::io::stdin().lock()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("finegrain: push refused: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn from_environment(names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// Decides the push read from `input`; `Ok(false)` when refused (already explained on stderr).
pub fn pre_receive(args: &PreReceiveArgs, input: impl BufRead) -> Result<bool> {
    let source = match (&args.store, &args.world) {
        (Some(store), _) => PolicySource::Store(store.clone()),
        (None, Some(world)) => PolicySource::File(world.clone()),
        (None, None) => bail!("the hook needs --store PATH or --world FILE"),
    };
    let token = from_environment(&TOKEN_VARIABLES)
        .ok_or_else(|| anyhow!("no token name from the gateway (set {})", TOKEN_VARIABLES.join(" or ")))?;
    let project = args
        .project
        .clone()
        .or_else(|| from_environment(&PROJECT_VARIABLES))
        .ok_or_else(|| anyhow!("no project (give --project or set {})", PROJECT_VARIABLES.join(" or ")))?;
    let updates = read_updates(input)?;
    let decider = PoolDecider::load(source, 1)?;
    let request = GitRequest {
        token: TokenRef::Name(token),
        project: project.clone(),
        service: GitService::ReceivePack(updates),
        at: now(),
    };
    let decision = decider.decide(&Request::Git(request)).decision;
    if decision.effect == Effect::Allow {
        return Ok(true);
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "finegrain: push to {project} refused (policy revision {}):", decision.revision);
    for reason in &decision.reasons {
        let _ = writeln!(err, "finegrain:   {}: {}", reason.code, reason.text());
    }
    Ok(false)
}

/// The ref lines, each with its fast-forward status from git.
fn read_updates(input: impl BufRead) -> Result<Vec<RefUpdate>> {
    let mut updates = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line.map_err(|e| anyhow!("cannot read the ref updates: {e}"))?;
        let parts: Vec<&str> = line.split(' ').collect();
        let [old, new, name] = parts[..] else {
            bail!("ref update line {} is not `<old-id> <new-id> <refname>`: {line:?}", index + 1);
        };
        for id in [old, new] {
            if !matches!(id.len(), 40 | 64) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("ref update line {}: {id:?} is not an object id", index + 1);
            }
        }
        let force = is_forced(old, new)?;
        updates.push(RefUpdate { old_id: old.into(), new_id: new.into(), name: name.into(), force });
    }
    Ok(updates)
}

/// An update is forced when it moves an existing ref to a commit that does not
/// descend from the old one. Creations and deletions are not forced.
fn is_forced(old: &str, new: &str) -> Result<bool> {
    let zero = |id: &str| id.bytes().all(|b| b == b'0');
    if zero(old) || zero(new) {
        return Ok(false);
    }
    let status = Command::new("git")
        .args(["merge-base", "--is-ancestor", old, new])
        .status()
        .map_err(|e| anyhow!("cannot run git merge-base: {e}"))?;
    match status.code() {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => bail!("git merge-base could not compare {old} and {new}"),
    }
}
