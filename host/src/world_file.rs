//! World and scenario files (docs/world-files.md): YAML in, an engine [`World`] and a
//! list of [`Case`]s out. Unknown keys are errors, so a typo never silently
//! changes a policy. Every error is one line naming the file, the place, and the
//! problem.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use finegrain_engine::api::{Grant, GrantAccess, RefUpdate, TokenKind};
use finegrain_engine::catalog::CrudVerb;
use finegrain_engine::world::{self, PushLevel, Visibility, World};
use serde::Deserialize;

use crate::time::parse_timestamp;

/// A problem in an input file: `FILE[:LINE]: PLACE: PROBLEM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// A timestamp cell: a YAML string or integer.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum When {
    Seconds(i64),
    Text(String),
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    users: Vec<UserDoc>,
    #[serde(default)]
    groups: Vec<GroupDoc>,
    #[serde(default)]
    projects: Vec<ProjectDoc>,
    #[serde(default)]
    custom_roles: Vec<RoleDoc>,
    #[serde(default)]
    members: Vec<MemberDoc>,
    #[serde(default)]
    tokens: Vec<TokenDoc>,
    #[serde(default)]
    cases: Vec<CaseDoc>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct UserDoc {
    username: String,
    id: Option<u64>,
    #[serde(default)]
    admin: bool,
    state: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct GroupDoc {
    path: String,
    id: Option<u64>,
    visibility: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct BranchDoc {
    name: String,
    push: Option<String>,
    merge: Option<String>,
    #[serde(default)]
    allow_force_push: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TagDoc {
    name: String,
    create: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ProjectDoc {
    path: String,
    id: Option<u64>,
    visibility: Option<String>,
    #[serde(default)]
    protected_branches: Vec<BranchDoc>,
    #[serde(default)]
    protected_tags: Vec<TagDoc>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RoleDoc {
    name: String,
    base: String,
    #[serde(default)]
    abilities: Vec<String>,
    /// CRUD verb for the repository resource.
    repository: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct MemberDoc {
    user: String,
    #[serde(rename = "in")]
    namespace: String,
    role: String,
    expires: Option<When>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct GrantDoc {
    access: String,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TokenDoc {
    name: String,
    user: String,
    /// The plain secret (test worlds); the engine keeps its digest.
    secret: Option<String>,
    /// Or the digest itself, `sha256:<64 hex digits>` (what `store export` writes).
    digest: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    grants: Vec<GrantDoc>,
    #[serde(default)]
    scopes: Vec<String>,
    expires: Option<When>,
    #[serde(default)]
    revoked: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ActionDoc {
    permission: String,
    on: Option<String>,
    #[serde(rename = "ref")]
    ref_name: Option<String>,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Reasons {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct CaseDoc {
    name: String,
    token: Option<String>,
    secret: Option<String>,
    request: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    /// The project or group owning the object an object-addressed route names.
    owner: Option<String>,
    graphql: Option<String>,
    variables: Option<yaml_serde::Value>,
    action: Option<ActionDoc>,
    at: Option<When>,
    expect: String,
    reason: Option<Reasons>,
}

/// How a case names its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseToken {
    Name(String),
    Secret(String),
    /// Only what the request's headers carry.
    None,
}

/// What a case asks.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseQuery {
    /// An HTTP request, with the body a client would send (`body:` in a case)
    /// and the owner of the object it names, as a host would tell it (`owner:`).
    Http {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
        owner: Option<String>,
    },
    GitFetch {
        project: String,
    },
    /// A push of these ref updates (`[+]REF[:OLD:NEW]`, see [`parse_ref_update`]).
    GitPush {
        project: String,
        refs: Vec<RefUpdate>,
    },
    GraphQl {
        document: String,
        variables: Option<String>,
    },
    Permission {
        permission: String,
        on: Option<String>,
        ref_name: Option<String>,
        force: bool,
    },
}

/// One scenario case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    pub token: CaseToken,
    pub query: CaseQuery,
    pub at: Option<i64>,
    pub expect_allow: bool,
    pub reasons: Vec<String>,
}

/// A parsed world or scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldFile {
    pub world: World,
    pub cases: Vec<Case>,
}

/// Finds the line of `section[index]` in the YAML text, for error messages: the
/// `index`-th list item under the top-level key `section`.
pub fn locate(text: &str, section: &str, index: usize) -> Option<usize> {
    let mut lines = text.lines().enumerate().skip_while(|(_, l)| !l.starts_with(&format!("{section}:")));
    lines.next()?;
    let mut seen = 0;
    let mut item_indent = None;
    for (number, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.starts_with('-') {
            return None;
        }
        if (trimmed.starts_with("- ") || trimmed == "-") && *item_indent.get_or_insert(indent) == indent {
            if seen == index {
                return Some(number + 1);
            }
            seen += 1;
        }
    }
    None
}

/// Turns an engine message `section[i].field: problem` into an [`InputError`]
/// with the item's line in `text`.
pub fn place_error(file: &str, text: &str, message: &str) -> InputError {
    let line = message.split_once('[').and_then(|(section, rest)| {
        let index: usize = rest.split_once(']')?.0.parse().ok()?;
        if section.contains(' ') {
            return None;
        }
        locate(text, section, index)
    });
    InputError { file: file.to_owned(), line, message: redact_secrets(message) }
}

/// GitLab's token prefixes (`glpat-`, `gloas-`, `gldt-`, `glrt-`, `glcbt-`, …
/// all start with `gl` and a few letters and a dash).
fn has_token_prefix(word: &str) -> bool {
    let Some(rest) = word.strip_prefix("gl") else { return false };
    let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    (2..=8).contains(&letters) && rest.as_bytes().get(letters) == Some(&b'-')
}

/// Whether a word of a message looks like a secret: a GitLab token prefix,
/// or a long run of letters and digits mixed (random material).
fn looks_secret(word: &str) -> bool {
    let has = |f: fn(&u8) -> bool| word.bytes().any(|b| f(&b));
    has_token_prefix(word) || (word.len() >= 20 && has(u8::is_ascii_digit) && has(u8::is_ascii_alphabetic))
}

/// The message with every word that looks like a secret replaced, so that a
/// secret pasted into the wrong field is never echoed by an error.
pub fn redact_secrets(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(if looks_secret(word) { "[redacted]" } else { word });
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '=' | '~') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, place: String, message: String) -> InputError {
        place_error(self.file, self.text, &format!("{place}: {message}"))
    }

    fn when(&self, place: String, when: &Option<When>) -> Result<Option<i64>, InputError> {
        match when {
            None => Ok(None),
            Some(When::Seconds(s)) => Ok(Some(*s)),
            Some(When::Text(t)) => parse_timestamp(t).map(Some).map_err(|e| self.err(place, e)),
        }
    }

    fn visibility(&self, place: String, v: &Option<String>) -> Result<Visibility, InputError> {
        match v.as_deref() {
            None => Ok(Visibility::Private),
            Some(name) => Visibility::parse(name)
                .ok_or_else(|| self.err(place, format!("unknown visibility {name:?} (private, internal or public)"))),
        }
    }

    fn push_level(&self, place: String, v: &Option<String>, default: PushLevel) -> Result<PushLevel, InputError> {
        match v.as_deref() {
            None => Ok(default),
            Some(name) => PushLevel::parse(name).ok_or_else(|| {
                self.err(place, format!("unknown access level {name:?} (no_one, developer, maintainer or admin)"))
            }),
        }
    }
}

/// Reads the document. A text that is a JSON object is read as JSON (every
/// JSON document is also YAML): serde_json reads as it goes, in a fraction of
/// the memory of the YAML reader, which holds every event of the file at once;
/// this is the path for machine-written worlds of a million tokens. A text that
/// starts like JSON but is not (a YAML flow mapping) is read as YAML.
fn document(file: &str, text: &str) -> Result<FileDoc, InputError> {
    if text.trim().is_empty() {
        return Ok(FileDoc::default());
    }
    if text.trim_start().starts_with('{') {
        match serde_json::from_str(text) {
            Ok(doc) => return Ok(doc),
            Err(e) if e.is_data() => {
                return Err(InputError {
                    file: file.to_owned(),
                    line: Some(e.line()),
                    message: redact_secrets(&without_position(&e.to_string())),
                });
            }
            Err(_) => {} // not JSON: YAML says what is wrong, if anything
        }
    }
    yaml_serde::from_str(text).map_err(|e| InputError {
        file: file.to_owned(),
        line: e.location().map(|l| l.line()),
        message: redact_secrets(&without_position(&e.to_string())),
    })
}

/// Parses a world or scenario file's text (YAML, or JSON). `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<WorldFile, InputError> {
    let mut doc = document(file, text)?;
    let cx = Ctx { file, text };
    let mut world = World::default();
    for (i, u) in doc.users.iter().enumerate() {
        let active = match u.state.as_deref() {
            None | Some("active") => true,
            Some("blocked" | "deactivated" | "banned") => false,
            Some(other) => {
                return Err(cx.err(
                    format!("users[{i}].state"),
                    format!("unknown state {other:?} (active, blocked, deactivated or banned)"),
                ));
            }
        };
        world.users.push(world::User { username: u.username.clone(), id: u.id, admin: u.admin, active });
    }
    for (i, g) in doc.groups.iter().enumerate() {
        let visibility = cx.visibility(format!("groups[{i}].visibility"), &g.visibility)?;
        world.groups.push(world::Group { path: g.path.clone(), id: g.id, visibility });
    }
    for (i, p) in doc.projects.iter().enumerate() {
        let place = format!("projects[{i}]");
        let mut protected_branches = Vec::new();
        for (j, b) in p.protected_branches.iter().enumerate() {
            protected_branches.push(world::ProtectedBranch {
                name: b.name.clone(),
                push: cx.push_level(format!("{place}.protected_branches[{j}].push"), &b.push, PushLevel::Maintainer)?,
                merge: cx.push_level(
                    format!("{place}.protected_branches[{j}].merge"),
                    &b.merge,
                    PushLevel::Maintainer,
                )?,
                allow_force_push: b.allow_force_push,
            });
        }
        let mut protected_tags = Vec::new();
        for (j, t) in p.protected_tags.iter().enumerate() {
            protected_tags.push(world::ProtectedTag {
                name: t.name.clone(),
                create: cx.push_level(
                    format!("{place}.protected_tags[{j}].create"),
                    &t.create,
                    PushLevel::Maintainer,
                )?,
            });
        }
        world.projects.push(world::Project {
            path: p.path.clone(),
            id: p.id,
            visibility: cx.visibility(format!("{place}.visibility"), &p.visibility)?,
            protected_branches,
            protected_tags,
        });
    }
    for (i, r) in doc.custom_roles.iter().enumerate() {
        let crud = match &r.repository {
            None => Vec::new(),
            Some(verb) => vec![(
                "repository".to_owned(),
                CrudVerb::parse(verb).ok_or_else(|| {
                    cx.err(
                        format!("custom_roles[{i}].repository"),
                        format!("unknown verb {verb:?} (view, write, delete or manage)"),
                    )
                })?,
            )],
        };
        if r.abilities.is_empty() && crud.is_empty() {
            return Err(cx.err(
                format!("custom_roles[{i}]"),
                format!("role {:?} adds nothing to its base role: give it abilities or a repository verb", r.name),
            ));
        }
        world.custom_roles.push(world::CustomRole {
            name: r.name.clone(),
            base: r.base.clone(),
            abilities: r.abilities.clone(),
            crud,
        });
    }
    for (i, m) in doc.members.iter().enumerate() {
        world.members.push(world::Member {
            user: m.user.clone(),
            namespace: m.namespace.clone(),
            role: m.role.clone(),
            expires: cx.when(format!("members[{i}].expires"), &m.expires)?,
        });
    }
    // Token by token, each one's text freed as it is read: with a million
    // tokens, the file's tokens and the world's are not held twice at once.
    world.tokens.reserve(doc.tokens.len());
    for (i, t) in std::mem::take(&mut doc.tokens).into_iter().enumerate() {
        world.tokens.push(token(&cx, i, t)?);
    }
    let cases = doc.cases.iter().enumerate().map(|(i, c)| case(&cx, i, c)).collect::<Result<_, _>>()?;
    Ok(WorldFile { world, cases })
}

fn token(cx: &Ctx, i: usize, t: TokenDoc) -> Result<world::Token, InputError> {
    let place = format!("tokens[{i}]");
    let digest = match (&t.secret, &t.digest) {
        (Some(secret), None) if secret.trim().is_empty() => {
            return Err(cx.err(format!("{place}.secret"), "empty secret".into()));
        }
        (Some(secret), None) => world::secret_digest(secret),
        (None, Some(digest)) => parse_digest(digest).map_err(|e| cx.err(format!("{place}.digest"), e))?,
        _ => return Err(cx.err(place, "a token needs exactly one of `secret` or `digest`".into())),
    };
    let kind = match t.kind.as_deref() {
        Some("legacy") => "legacy",
        Some("fine_grained") => "fine_grained",
        None if !t.scopes.is_empty() && t.grants.is_empty() => "legacy",
        None if t.scopes.is_empty() => "fine_grained",
        None => {
            return Err(cx.err(place, "a token has either scopes (legacy) or grants (fine_grained), not both".into()));
        }
        Some(other) => {
            return Err(
                cx.err(format!("{place}.type"), format!("unknown token type {other:?} (fine_grained or legacy)"))
            );
        }
    };
    let kind = if kind == "legacy" {
        if !t.grants.is_empty() {
            return Err(cx.err(format!("{place}.grants"), "a legacy token has scopes, not grants".into()));
        }
        TokenKind::Legacy(t.scopes)
    } else {
        if !t.scopes.is_empty() {
            return Err(cx.err(format!("{place}.scopes"), "a fine-grained token has grants, not scopes".into()));
        }
        let mut grants = Vec::new();
        for (j, mut g) in t.grants.into_iter().enumerate() {
            let access = match g.access.as_str() {
                "personal_projects" => GrantAccess::PersonalProjects,
                "all_memberships" => GrantAccess::AllMemberships,
                "selected_memberships" => GrantAccess::SelectedMemberships(std::mem::take(&mut g.namespaces)),
                "user" => GrantAccess::User,
                "instance" => GrantAccess::Instance,
                other => {
                    return Err(cx.err(
                        format!("{place}.grants[{j}].access"),
                        format!("unknown access {other:?} (personal_projects, all_memberships, selected_memberships, user or instance)"),
                    ));
                }
            };
            if !g.namespaces.is_empty() && !matches!(access, GrantAccess::SelectedMemberships(_)) {
                return Err(cx.err(
                    format!("{place}.grants[{j}].namespaces"),
                    format!("only selected_memberships names namespaces, not {}", g.access),
                ));
            }
            grants.push(Grant { access, permissions: g.permissions });
        }
        TokenKind::FineGrained(grants)
    };
    Ok(world::Token {
        expires: cx.when(format!("{place}.expires"), &t.expires)?,
        name: t.name,
        user: t.user,
        digest,
        kind,
        revoked: t.revoked,
    })
}

/// Parses `sha256:<64 hex digits>` into a digest.
pub fn parse_digest(text: &str) -> Result<[u8; 32], String> {
    let bad = || format!("{text:?} is not `sha256:` followed by 64 hex digits");
    let hex = text.strip_prefix("sha256:").ok_or_else(bad)?;
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(digest)
}

/// An object id in a ref update: `0` stands for Git's all-zero id (create or
/// delete), anything else must be 40 or 64 hex digits.
fn parse_object_id(text: &str) -> Result<String, String> {
    if text == "0" {
        return Ok("0".repeat(40));
    }
    if matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(text.to_ascii_lowercase());
    }
    Err(format!("object id {text:?} is not 0 or 40 or 64 hex digits"))
}

/// One ref update of a push, as `[+]REF[:OLD:NEW]`: `+` marks a forced (non
/// fast-forward) update; `OLD` and `NEW` are object ids, `0` for none, so
/// `refs/tags/v1:0:<id>` creates a tag and `refs/heads/x:<id>:0` deletes a
/// branch. Without ids the old and new ids are unknown (empty).
pub fn parse_ref_update(word: &str) -> Result<RefUpdate, String> {
    let (force, rest) = match word.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let mut parts = rest.split(':');
    let name = parts.next().unwrap_or_default().to_owned();
    let (old_id, new_id) = match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => (String::new(), String::new()),
        (Some(old), Some(new), None) => (parse_object_id(old)?, parse_object_id(new)?),
        _ => return Err(format!("write a ref update as [+]REF or [+]REF:OLD:NEW, not {word:?}")),
    };
    if name.is_empty() {
        return Err(format!("ref update {word:?} names no ref"));
    }
    Ok(RefUpdate { old_id, new_id, name, force })
}

/// Parses `METHOD PATH`, `git-upload-pack PROJECT` or `git-receive-pack PROJECT REF…`.
pub fn parse_request_line(line: &str, headers: Vec<(String, String)>) -> Result<CaseQuery, String> {
    let mut words = line.split_whitespace();
    let first = words.next().ok_or("empty request")?;
    let rest: Vec<&str> = words.collect();
    match first {
        "git-upload-pack" => match rest.as_slice() {
            [project] => Ok(CaseQuery::GitFetch { project: (*project).to_owned() }),
            _ => Err("write `git-upload-pack PROJECT`".into()),
        },
        "git-receive-pack" => match rest.split_first() {
            Some((project, refs)) if !refs.is_empty() => Ok(CaseQuery::GitPush {
                project: (*project).to_owned(),
                refs: refs.iter().map(|r| parse_ref_update(r)).collect::<Result<_, _>>()?,
            }),
            _ => Err("write `git-receive-pack PROJECT REF…` with at least one ref".into()),
        },
        method => match rest.as_slice() {
            [path] => Ok(CaseQuery::Http {
                method: method.to_owned(),
                path: (*path).to_owned(),
                headers,
                body: None,
                owner: None,
            }),
            _ => Err(redact_secrets(&format!("write `METHOD PATH`, not {line:?}"))),
        },
    }
}

fn case(cx: &Ctx, i: usize, c: &CaseDoc) -> Result<Case, InputError> {
    let place = format!("cases[{i}]");
    let token = match (&c.token, &c.secret) {
        (Some(_), Some(_)) => return Err(cx.err(place, "give `token` or `secret`, not both".into())),
        (Some(name), None) => CaseToken::Name(name.clone()),
        (None, Some(secret)) => CaseToken::Secret(secret.clone()),
        (None, None) => CaseToken::None,
    };
    let headers: Vec<(String, String)> = c.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if !headers.is_empty() && c.request.as_deref().is_some_and(|r| r.starts_with("git-")) {
        return Err(cx.err(format!("{place}.headers"), "headers go with HTTP requests only".into()));
    }
    let query = match (&c.request, &c.graphql, &c.action) {
        (Some(line), None, None) => {
            match parse_request_line(line, headers).map_err(|e| cx.err(format!("{place}.request"), e))? {
                CaseQuery::Http { method, path, headers, body: None, owner: None } => {
                    CaseQuery::Http { method, path, headers, body: c.body.clone(), owner: c.owner.clone() }
                }
                _ if c.body.is_some() => {
                    return Err(cx.err(format!("{place}.body"), "a body goes with HTTP requests only".into()));
                }
                _ if c.owner.is_some() => {
                    return Err(cx.err(format!("{place}.owner"), "an owner goes with HTTP requests only".into()));
                }
                other => other,
            }
        }
        _ if c.owner.is_some() => {
            return Err(cx.err(format!("{place}.owner"), "an owner goes with HTTP requests only".into()));
        }
        (None, Some(document), None) => {
            let variables = c.variables.as_ref().map(|v| serde_json::to_string(v).unwrap_or_default());
            CaseQuery::GraphQl { document: document.clone(), variables }
        }
        (None, None, Some(a)) => CaseQuery::Permission {
            permission: a.permission.clone(),
            on: a.on.clone(),
            ref_name: a.ref_name.clone(),
            force: a.force,
        },
        _ => return Err(cx.err(place, "a case needs exactly one of `request`, `graphql` or `action`".into())),
    };
    let expect_allow = match c.expect.as_str() {
        "allow" => true,
        "deny" => false,
        other => return Err(cx.err(format!("{place}.expect"), format!("expect must be allow or deny, not {other:?}"))),
    };
    let reasons = match &c.reason {
        None => Vec::new(),
        Some(Reasons::One(r)) => vec![r.clone()],
        Some(Reasons::Many(rs)) => rs.clone(),
    };
    Ok(Case { name: c.name.clone(), token, query, at: cx.when(format!("{place}.at"), &c.at)?, expect_allow, reasons })
}

/// A parser's message without its trailing position (the line is reported
/// separately), with the path it gives kept.
fn without_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// Reads and parses a file.
pub fn read(path: &Path) -> Result<(WorldFile, String), InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        file: file.clone(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    let parsed = parse(&file, &text)?;
    Ok((parsed, text))
}

#[cfg(test)]
mod tests;
