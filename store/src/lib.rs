//! The finegrain store: the policy world and the life of its tokens in an
//! embedded SQLite database.
//!
//! - [`Store::open`] creates or opens a store: WAL journal (readers never wait
//!   for the writer), a busy timeout (concurrent writers queue instead of
//!   failing), foreign keys on, `synchronous = FULL`, and the schema migrated to
//!   the current version ([`schema`]).
//! - [`Store::import`] / [`Store::world`] move the whole world in and out; the
//!   host turns it into YAML (docs/world-files.md) or a bundle.
//! - [`Store::create_token`], [`Store::revoke`], [`Store::rotate`]: every write
//!   is one `BEGIN IMMEDIATE` transaction, so a crash or a concurrent writer
//!   never leaves half a token. Each returns the engine [`Update`]s that bring a
//!   running host up to date without rebuilding its bundle.
//!
//! A token is validated before it is written: the owner exists and is active,
//! the name is free, permissions and scopes exist (with the closest names
//! suggested), selected namespaces exist and the owner can access them, the
//! expiry fits the store's lifetime settings — and then the engine itself loads
//! the world with the new token in it, so the rules the engine enforces (a
//! permission must apply at its grant's boundary, …) are written once, there.
//!
//! Secrets ([`secret`]) are shown once and kept only as SHA-256 digests. Each
//! creation yields an instrumentation [`events::Event`] with no secret,
//! namespace or user text in it.
//!
//! Test hook: when the environment variable [`TEST_DELAY_ENV`] holds a number
//! of milliseconds, token creation and rotation print a line to standard error
//! and sleep that long inside their transaction, before it commits. The kill
//! test uses it to stop a process mid-creation. It changes nothing else.

mod date;
pub mod error;
pub mod events;
pub mod request;
pub mod schema;
pub mod secret;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use finegrain_engine::api::{Grant, GrantAccess, NewToken, Timestamp, TokenKind, Update};
use finegrain_engine::bundle::Bundle;
use finegrain_engine::catalog::{Catalog, CrudVerb};
use finegrain_engine::world::{self, Visibility, World};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};

pub use date::{format_date, parse_date};
use error::Doing;
pub use error::StoreError;
pub use events::{Event, EventSink};
pub use request::{Expiry, GrantRequest, PermissionChoice, TokenRequest, parse_grant};
pub use secret::Secret;

/// The environment variable naming a store when `--store` is not given.
pub const STORE_ENV: &str = "FINEGRAIN_STORE";
/// Test only: milliseconds to sleep inside the creation transaction.
pub const TEST_DELAY_ENV: &str = "FINEGRAIN_TEST_CREATE_DELAY_MS";
/// How long a writer waits for another writer's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest token name.
pub const MAX_NAME_LEN: usize = 100;

/// The store's settings (table `settings`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Prefix of new secrets (`glpat-`).
    pub token_prefix: String,
    /// Lifetime of a token created without `--expires`, in days.
    pub default_lifetime_days: u32,
    /// Longest lifetime allowed, in days; `None` allows tokens that never expire.
    pub max_lifetime_days: Option<u32>,
}

/// The names of the settings a user may change.
pub const SETTING_KEYS: [&str; 3] = ["token_prefix", "default_lifetime_days", "max_lifetime_days"];

/// A token as the store knows it. Never holds the secret.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenInfo {
    pub id: i64,
    /// The engine's name for the token (unique; `NAME~2` after a rotation).
    pub name: String,
    /// The name given at creation, kept through rotations.
    pub label: String,
    pub user: String,
    /// Whether the owner is active (not blocked).
    pub user_active: bool,
    pub description: Option<String>,
    pub kind: TokenKind,
    pub created_at: Timestamp,
    pub expires: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// The token this one replaced by rotation.
    pub rotated_from: Option<i64>,
}

impl TokenInfo {
    /// `legacy` or `fine_grained`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            TokenKind::Legacy(_) => "legacy",
            TokenKind::FineGrained(_) => "fine_grained",
        }
    }

    /// `active`, `revoked`, `expired` or `user_inactive` at time `now`, as the
    /// engine would decide (revocation first).
    pub fn status(&self, now: Timestamp) -> &'static str {
        finegrain_engine::api::token_status(self.revoked_at.is_some(), self.expires, self.user_active, now)
    }
}

/// A new token: its secret (show it once), where it went, and what to tell a
/// running host and the instrumentation sink.
#[derive(Debug)]
pub struct Created {
    pub id: i64,
    /// The token's name as its owner gave it; a rotation keeps it.
    pub name: String,
    /// The engine's unique name for this token (`NAME~N` after a rotation): what
    /// `--token-name` and the updates use.
    pub engine_name: String,
    pub secret: Secret,
    pub expires: Option<Timestamp>,
    /// Apply these to a loaded policy to know the token without a rebuild.
    pub updates: Vec<Update>,
    pub event: Event,
}

/// A group or project a token may be limited to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceChoice {
    /// Full path.
    pub path: String,
    /// A project (else a group).
    pub is_project: bool,
}

/// How a command names an existing token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSelector {
    /// By store id.
    Id(i64),
    /// The active token of this user with this name (as given at creation).
    Owned { user: String, name: String },
}

/// What [`Store::import`] may do with the tokens already in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExistingTokens {
    /// Refuse the import when the store holds any token.
    Refuse,
    /// Delete them; the file's tokens take their place.
    Replace,
}

/// What [`Store::import`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    pub users: usize,
    pub groups: usize,
    pub projects: usize,
    pub custom_roles: usize,
    pub members: usize,
    pub tokens: usize,
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    catalog: Catalog,
}

impl Store {
    /// Opens the store at `path`, creating it if there is none.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::connect(path, true)
    }

    /// Opens the store at `path`; an error if there is none.
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::NoStore { path: path.display().to_string() });
        }
        Store::connect(path, false)
    }

    fn connect(path: &Path, create: bool) -> Result<Store, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut conn = Connection::open_with_flags(path, flags).doing("opening")?;
        conn.busy_timeout(BUSY_TIMEOUT).doing("setting the busy timeout")?;
        let mode: String =
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).doing("switching to the WAL journal")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt { what: format!("the journal mode is {mode:?}, not WAL") });
        }
        conn.pragma_update(None, "foreign_keys", "ON").doing("enabling foreign keys")?;
        conn.pragma_update(None, "synchronous", "FULL").doing("setting synchronous")?;
        schema::migrate(&mut conn)?;
        let catalog = Catalog::builtin().map_err(|e| StoreError::Catalog(e.to_string()))?;
        Ok(Store { conn, path: path.to_owned(), catalog })
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The permission catalog tokens are checked against.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).doing("reading the schema version")
    }

    /// The current settings.
    pub fn settings(&self) -> Result<Settings, StoreError> {
        read_settings(&self.conn)
    }

    /// Changes one setting (`token_prefix`, `default_lifetime_days`,
    /// `max_lifetime_days`; the latter takes `none` for no limit). The default
    /// lifetime may not exceed the maximum.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<Settings, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).doing("starting a transaction")?;
        let mut settings = read_settings(&tx)?;
        let bad = |problem: &str| StoreError::BadSetting {
            key: key.to_owned(),
            value: value.to_owned(),
            problem: problem.to_owned(),
        };
        let days = |text: &str| text.parse::<u32>().ok().filter(|d| (1..=36_500).contains(d));
        match key {
            "token_prefix" => {
                secret::check_prefix(value).map_err(|e| bad(&e.to_string()))?;
                settings.token_prefix = value.to_owned();
            }
            "default_lifetime_days" => {
                settings.default_lifetime_days = days(value).ok_or_else(|| bad("give a number of days, 1 to 36500"))?;
            }
            "max_lifetime_days" => {
                settings.max_lifetime_days = match value {
                    "none" => None,
                    _ => Some(days(value).ok_or_else(|| bad("give a number of days, 1 to 36500, or none"))?),
                };
            }
            _ => return Err(StoreError::UnknownSetting { key: key.to_owned() }),
        }
        if settings.max_lifetime_days.is_some_and(|max| settings.default_lifetime_days > max) {
            return Err(bad("the default lifetime would exceed the maximum lifetime"));
        }
        tx.execute("UPDATE settings SET value = ?1 WHERE key = ?2", params![value, key]).doing("writing a setting")?;
        tx.commit().doing("committing a setting")?;
        Ok(settings)
    }

    /// SQLite's own consistency check: `Ok` when the database is sound.
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        let report: String =
            self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).doing("checking integrity")?;
        if report == "ok" { Ok(()) } else { Err(StoreError::Corrupt { what: report }) }
    }

    /// The policy revision: bumped by every write.
    pub fn revision(&self) -> Result<u64, StoreError> {
        read_revision(&self.conn)
    }

    /// The whole world: users, groups, projects, roles, members and tokens
    /// (as digests), with the store's revision.
    pub fn world(&self) -> Result<World, StoreError> {
        read_world(&self.conn)
    }

    /// Replaces the world with `world` in one transaction; settings stay. The
    /// engine checks the world first, so a bad one changes nothing. The
    /// store's tokens (created, rotated, revoked here) are replaced by the
    /// file's only with [`ExistingTokens::Replace`]; otherwise a store that
    /// holds any is left unchanged with [`StoreError::WouldDropTokens`].
    pub fn import(
        &mut self,
        world: &World,
        now: Timestamp,
        existing: ExistingTokens,
    ) -> Result<ImportSummary, StoreError> {
        finegrain_engine::Authorizer::from_bundle(Bundle { catalog: self.catalog.clone(), world: world.clone() })
            .map_err(StoreError::InvalidWorld)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).doing("starting the import")?;
        if existing == ExistingTokens::Refuse {
            let count: i64 =
                tx.query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0)).doing("counting the tokens")?;
            if count > 0 {
                return Err(StoreError::WouldDropTokens { count });
            }
        }
        tx.execute_batch(
            "DELETE FROM token_scopes; DELETE FROM token_grants; DELETE FROM tokens; DELETE FROM members;
             DELETE FROM custom_roles; DELETE FROM projects; DELETE FROM groups; DELETE FROM users;",
        )
        .doing("clearing the old world")?;
        write_world(&tx, world, now)?;
        bump_revision(&tx)?;
        tx.commit().doing("committing the import")?;
        Ok(ImportSummary {
            users: world.users.len(),
            groups: world.groups.len(),
            projects: world.projects.len(),
            custom_roles: world.custom_roles.len(),
            members: world.members.len(),
            tokens: world.tokens.len(),
        })
    }

    /// Validates and creates a token at time `now`. On any error the store is
    /// unchanged.
    pub fn create_token(&mut self, request: &TokenRequest, now: Timestamp) -> Result<Created, StoreError> {
        self.create_token_within(request, now, None)
    }

    /// As [`Store::create_token`], for a token asked for by another token
    /// (`creator`, by id): the new token may give nothing the creator does not
    /// ([`within`]), else [`StoreError::ExceedsCreator`] and nothing changes.
    pub fn create_token_within(
        &mut self,
        request: &TokenRequest,
        now: Timestamp,
        creator: Option<i64>,
    ) -> Result<Created, StoreError> {
        let creator = creator.map(|id| self.token(id)).transpose()?;
        let Store { conn, catalog, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).doing("starting the creation")?;
        let settings = read_settings(&tx)?;
        let world = read_world(&tx)?;
        check_owner(&world, &request.owner)?;
        check_name(&tx, &request.name)?;
        let (kind, crud_resources) = resolve_kind(catalog, &world, request, now)?;
        if let Some(creator) = creator.filter(|c| !within(catalog, &kind, &c.kind)) {
            return Err(StoreError::ExceedsCreator { creator: creator.name });
        }
        let expires = resolve_expiry(request.expires, &settings, now)?;
        let secret = secret::generate(&settings.token_prefix).map_err(StoreError::Secret)?;
        let token = world::Token {
            name: request.name.clone(),
            user: request.owner.clone(),
            digest: secret.digest(),
            kind,
            expires,
            revoked: false,
        };
        engine_check(catalog, world, &token)?;
        let id = insert_token(&tx, &token, &request.name, request.description.as_deref(), now, None)?;
        bump_revision(&tx)?;
        test_delay();
        tx.commit().doing("committing the new token")?;
        let event = Event::new("token_created", &token.kind, &crud_resources, catalog);
        Ok(Created {
            id,
            name: request.name.clone(),
            engine_name: token.name.clone(),
            secret,
            expires,
            updates: vec![Update::AddToken(new_token(&token))],
            event,
        })
    }

    /// The groups and projects `owner` may select for a token at `now`, by full
    /// path, groups first: exactly those [`Store::create_token`] accepts in a
    /// `selected_memberships` grant.
    pub fn selectable_namespaces(&self, owner: &str, now: Timestamp) -> Result<Vec<NamespaceChoice>, StoreError> {
        let world = read_world(&self.conn)?;
        let groups = world.groups.iter().map(|g| (g.path.as_str(), false));
        let projects = world.projects.iter().map(|p| (p.path.as_str(), true));
        Ok(groups
            .chain(projects)
            .filter(|(path, _)| selected_namespace(&world, owner, path, now).is_ok())
            .map(|(path, is_project)| NamespaceChoice { path: path.to_owned(), is_project })
            .collect())
    }

    /// Every token (of `user`, when given), oldest first.
    pub fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        Ok(read_tokens(&self.conn, Which::OfUser(user))?.into_iter().map(|(info, _)| info).collect())
    }

    /// One token by id.
    pub fn token(&self, id: i64) -> Result<TokenInfo, StoreError> {
        find_token(&self.conn, id)
    }

    /// The token with this secret, if any. The lookup goes through the digest
    /// index; the digest found is compared again in constant time.
    pub fn find_by_secret(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        let digest = world::secret_digest(secret);
        let found: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row("SELECT id, digest FROM tokens WHERE digest = ?1", [&digest[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .doing("looking a token up")?;
        match found {
            Some((id, stored)) if secret::digests_equal(&stored, &digest) => Ok(Some(read_token(&self.conn, id)?)),
            _ => Ok(None),
        }
    }

    /// Records that the token with this digest was used at `now`.
    pub fn touch(&mut self, digest: &[u8; 32], now: Timestamp) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE tokens SET last_used_at = ?1 WHERE digest = ?2", params![now, &digest[..]])
            .doing("recording the last use")?;
        Ok(())
    }

    /// Revokes a token: by id, or the active token of a user with a name.
    /// Returns the update for a running host.
    pub fn revoke(&mut self, selector: &TokenSelector, now: Timestamp) -> Result<Vec<Update>, StoreError> {
        let tx =
            self.conn.transaction_with_behavior(TransactionBehavior::Immediate).doing("starting the revocation")?;
        let token = find_unrevoked(&tx, selector)?;
        tx.execute("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2", params![now, token.id]).doing("revoking")?;
        bump_revision(&tx)?;
        tx.commit().doing("committing the revocation")?;
        Ok(vec![Update::RevokeToken(token.name)])
    }

    /// Replaces a token by a new one: a new secret, the same grants or scopes,
    /// a fresh expiry (the default lifetime), the same name and description;
    /// the old token is revoked in the same transaction. As in GitLab, the name
    /// is kept; the engine, which needs one name per token, knows the new one
    /// as `NAME~N` ([`Created::engine_name`]).
    pub fn rotate(&mut self, selector: &TokenSelector, now: Timestamp) -> Result<Created, StoreError> {
        let Store { conn, catalog, .. } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).doing("starting the rotation")?;
        let old = find_unrevoked(&tx, selector)?;
        let settings = read_settings(&tx)?;
        let mut world = read_world(&tx)?;
        check_owner(&world, &old.user)?;
        let expires = resolve_expiry(Expiry::Default, &settings, now)?;
        let name = next_name(&tx, &old.label)?;
        let secret = secret::generate(&settings.token_prefix).map_err(StoreError::Secret)?;
        let token = world::Token {
            name: name.clone(),
            user: old.user.clone(),
            digest: secret.digest(),
            kind: old.kind.clone(),
            expires,
            revoked: false,
        };
        for t in world.tokens.iter_mut().filter(|t| t.name == old.name) {
            t.revoked = true;
        }
        engine_check(catalog, world, &token)?;
        tx.execute("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2", params![now, old.id]).doing("revoking")?;
        let id = insert_token(&tx, &token, &old.label, old.description.as_deref(), now, Some(old.id))?;
        bump_revision(&tx)?;
        test_delay();
        tx.commit().doing("committing the rotation")?;
        Ok(Created {
            id,
            name: old.label.clone(),
            engine_name: name,
            secret,
            expires,
            updates: vec![Update::RevokeToken(old.name.clone()), Update::AddToken(new_token(&token))],
            event: Event::new("token_rotated", &token.kind, &[], catalog),
        })
    }
}

fn new_token(token: &world::Token) -> NewToken {
    NewToken {
        name: token.name.clone(),
        user: token.user.clone(),
        digest: token.digest.to_vec(),
        kind: token.kind.clone(),
        expires: token.expires,
    }
}

/// Sleeps inside a transaction when the test hook asks for it.
fn test_delay() {
    if let Some(ms) = std::env::var(TEST_DELAY_ENV).ok().and_then(|v| v.parse::<u64>().ok()) {
        eprintln!("finegrain-store: test delay of {ms} ms inside the transaction");
        std::thread::sleep(Duration::from_millis(ms));
    }
}

fn read_settings(conn: &Connection) -> Result<Settings, StoreError> {
    let get = |key: &str| -> Result<String, StoreError> {
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .doing("reading the settings")?
            .ok_or_else(|| StoreError::Corrupt { what: format!("setting {key:?} is missing") })
    };
    let days = |key: &str, text: String| {
        text.parse::<u32>().map_err(|_| StoreError::Corrupt { what: format!("setting {key:?} is {text:?}") })
    };
    let max = get("max_lifetime_days")?;
    Ok(Settings {
        token_prefix: get("token_prefix")?,
        default_lifetime_days: days("default_lifetime_days", get("default_lifetime_days")?)?,
        max_lifetime_days: if max == "none" { None } else { Some(days("max_lifetime_days", max)?) },
    })
}

fn read_revision(conn: &Connection) -> Result<u64, StoreError> {
    let text: String = conn
        .query_row("SELECT value FROM settings WHERE key = 'revision'", [], |r| r.get(0))
        .doing("reading the revision")?;
    text.parse().map_err(|_| StoreError::Corrupt { what: format!("revision {text:?}") })
}

fn bump_revision(tx: &Transaction) -> Result<(), StoreError> {
    tx.execute("UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'", [])
        .doing("bumping the revision")?;
    Ok(())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt { what: format!("{what}: {e}") })
}

fn visibility(text: &str) -> Result<Visibility, StoreError> {
    Visibility::parse(text).ok_or_else(|| StoreError::Corrupt { what: format!("visibility {text:?}") })
}

fn id_column(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok())
}

/// Reads a whole table with `read` for each row.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    read: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(sql).doing("reading the world")?;
    let rows = stmt.query_map([], read).doing("reading the world")?;
    rows.collect::<Result<_, _>>().doing("reading the world")
}

fn read_world(conn: &Connection) -> Result<World, StoreError> {
    let users = rows(conn, "SELECT username, external_id, admin, active FROM users ORDER BY rowid", |r| {
        Ok(world::User { username: r.get(0)?, id: id_column(r.get(1)?), admin: r.get(2)?, active: r.get(3)? })
    })?;
    let groups = rows(conn, "SELECT path, external_id, visibility FROM groups ORDER BY rowid", |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, String>(2)?))
    })?
    .into_iter()
    .map(|(path, id, vis)| Ok(world::Group { path, id: id_column(id), visibility: visibility(&vis)? }))
    .collect::<Result<_, StoreError>>()?;
    let projects = rows(
        conn,
        "SELECT path, external_id, visibility, protected_branches, protected_tags FROM projects ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        },
    )?
    .into_iter()
    .map(|(path, id, vis, branches, tags)| {
        Ok(world::Project {
            id: id_column(id),
            visibility: visibility(&vis)?,
            protected_branches: from_json(&format!("protected branches of {path:?}"), &branches)?,
            protected_tags: from_json(&format!("protected tags of {path:?}"), &tags)?,
            path,
        })
    })
    .collect::<Result<_, StoreError>>()?;
    let custom_roles = rows(conn, "SELECT name, base, abilities, crud FROM custom_roles ORDER BY rowid", |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?
    .into_iter()
    .map(|(name, base, abilities, crud)| {
        Ok(world::CustomRole {
            abilities: from_json(&format!("abilities of role {name:?}"), &abilities)?,
            crud: from_json::<Vec<(String, CrudVerb)>>(&format!("verbs of role {name:?}"), &crud)?,
            name,
            base,
        })
    })
    .collect::<Result<_, StoreError>>()?;
    let members = rows(conn, "SELECT username, namespace, role, expires FROM members ORDER BY rowid", |r| {
        Ok(world::Member { user: r.get(0)?, namespace: r.get(1)?, role: r.get(2)?, expires: r.get(3)? })
    })?;
    let tokens = read_tokens(conn, Which::All)?
        .into_iter()
        .map(|(info, digest)| world::Token {
            name: info.name,
            user: info.user,
            digest,
            kind: info.kind,
            expires: info.expires,
            revoked: info.revoked_at.is_some(),
        })
        .collect();
    Ok(World { revision: read_revision(conn)?, users, groups, projects, custom_roles, members, tokens })
}

fn token_exists(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    conn.query_row("SELECT 1 FROM tokens WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .doing("looking a token up")
        .map(|found| found.is_some())
}

/// Which tokens [`read_tokens`] reads.
#[derive(Clone, Copy)]
enum Which<'a> {
    All,
    OfUser(Option<&'a str>),
    Id(i64),
}

impl<'a> Which<'a> {
    /// The `(id, username)` parameters of [`TOKEN_FILTER`].
    fn params(self) -> (Option<i64>, Option<&'a str>) {
        match self {
            Which::All => (None, None),
            Which::OfUser(user) => (None, user),
            Which::Id(id) => (Some(id), None),
        }
    }
}

/// Selects the tokens `t` that [`Which::params`] names (`?1` id, `?2` user).
const TOKEN_FILTER: &str = "(?1 IS NULL OR t.id = ?1) AND (?2 IS NULL OR t.username = ?2)";

/// Reads tokens with their scopes, grants and digests in three queries, oldest first.
fn read_tokens(conn: &Connection, which: Which) -> Result<Vec<(TokenInfo, [u8; 32])>, StoreError> {
    let (id, user) = which.params();
    let query = |sql: &str| -> Result<rusqlite::Statement<'_>, StoreError> {
        conn.prepare(&sql.replace("FILTER", TOKEN_FILTER)).doing("reading tokens")
    };
    let mut tokens: Vec<(TokenInfo, [u8; 32])> = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    {
        let mut stmt = query(
            "SELECT t.id, t.name, t.label, t.username, coalesce(u.active, 0), t.description, t.kind, t.created_at,
                    t.expires, t.revoked_at, t.last_used_at, t.rotated_from, t.digest
             FROM tokens t LEFT JOIN users u ON u.username = t.username WHERE FILTER ORDER BY t.id",
        )?;
        let mut rows = stmt.query(params![id, user]).doing("reading tokens")?;
        while let Some(r) = rows.next().doing("reading tokens")? {
            let token_id: i64 = r.get(0).doing("reading tokens")?;
            let digest: Vec<u8> = r.get(12).doing("reading tokens")?;
            let digest: [u8; 32] =
                digest.try_into().map_err(|_| StoreError::Corrupt { what: format!("digest of token {token_id}") })?;
            let info = (|| {
                Ok(TokenInfo {
                    id: token_id,
                    name: r.get(1)?,
                    label: r.get(2)?,
                    user: r.get(3)?,
                    user_active: r.get(4)?,
                    description: r.get(5)?,
                    kind: TokenKind::Legacy(Vec::new()),
                    created_at: r.get(7)?,
                    expires: r.get(8)?,
                    revoked_at: r.get(9)?,
                    last_used_at: r.get(10)?,
                    rotated_from: r.get(11)?,
                })
            })()
            .doing("reading tokens")?;
            kinds.push(r.get(6).doing("reading tokens")?);
            tokens.push((info, digest));
        }
    }
    let mut scopes: HashMap<i64, Vec<String>> = HashMap::new();
    {
        let mut stmt = query(
            "SELECT s.token_id, s.scope FROM token_scopes s JOIN tokens t ON t.id = s.token_id
             WHERE FILTER ORDER BY s.token_id, s.position",
        )?;
        let rows = stmt
            .query_map(params![id, user], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .doing("reading scopes")?;
        for row in rows {
            let (token_id, scope) = row.doing("reading scopes")?;
            scopes.entry(token_id).or_default().push(scope);
        }
    }
    let mut grants: HashMap<i64, Vec<Grant>> = HashMap::new();
    {
        let mut stmt = query(
            "SELECT g.token_id, g.access, g.namespaces, g.permissions FROM token_grants g JOIN tokens t ON t.id = g.token_id
             WHERE FILTER ORDER BY g.token_id, g.position",
        )?;
        let rows = stmt
            .query_map(params![id, user], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })
            .doing("reading grants")?;
        for row in rows {
            let (token_id, access, namespaces, permissions) = row.doing("reading grants")?;
            grants.entry(token_id).or_default().push(grant(token_id, &access, &namespaces, &permissions)?);
        }
    }
    for ((info, _), kind) in tokens.iter_mut().zip(kinds) {
        info.kind = match kind.as_str() {
            "legacy" => TokenKind::Legacy(scopes.remove(&info.id).unwrap_or_default()),
            _ => TokenKind::FineGrained(grants.remove(&info.id).unwrap_or_default()),
        };
    }
    Ok(tokens)
}

/// One stored grant.
fn grant(id: i64, access: &str, namespaces: &str, permissions: &str) -> Result<Grant, StoreError> {
    let access = match access {
        "personal_projects" => GrantAccess::PersonalProjects,
        "all_memberships" => GrantAccess::AllMemberships,
        "selected_memberships" => {
            GrantAccess::SelectedMemberships(from_json(&format!("namespaces of token {id}"), namespaces)?)
        }
        "user" => GrantAccess::User,
        "instance" => GrantAccess::Instance,
        other => return Err(StoreError::Corrupt { what: format!("access {other:?} of token {id}") }),
    };
    Ok(Grant { access, permissions: from_json(&format!("permissions of token {id}"), permissions)? })
}

/// One token by id (which must exist).
fn read_token(conn: &Connection, id: i64) -> Result<TokenInfo, StoreError> {
    read_tokens(conn, Which::Id(id))?
        .pop()
        .map(|(info, _)| info)
        .ok_or_else(|| StoreError::UnknownToken { what: format!("token {id}") })
}

fn write_world(tx: &Transaction, world: &World, now: Timestamp) -> Result<(), StoreError> {
    let id = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
    for u in &world.users {
        tx.execute(
            "INSERT INTO users (username, external_id, admin, active) VALUES (?1, ?2, ?3, ?4)",
            params![u.username, id(u.id), u.admin, u.active],
        )
        .doing("writing users")?;
    }
    for g in &world.groups {
        tx.execute(
            "INSERT INTO groups (path, external_id, visibility) VALUES (?1, ?2, ?3)",
            params![g.path, id(g.id), g.visibility.name()],
        )
        .doing("writing groups")?;
    }
    for p in &world.projects {
        tx.execute(
            "INSERT INTO projects (path, external_id, visibility, protected_branches, protected_tags)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![p.path, id(p.id), p.visibility.name(), json(&p.protected_branches), json(&p.protected_tags)],
        )
        .doing("writing projects")?;
    }
    for r in &world.custom_roles {
        tx.execute(
            "INSERT INTO custom_roles (name, base, abilities, crud) VALUES (?1, ?2, ?3, ?4)",
            params![r.name, r.base, json(&r.abilities), json(&r.crud)],
        )
        .doing("writing custom roles")?;
    }
    for m in &world.members {
        tx.execute(
            "INSERT INTO members (username, namespace, role, expires) VALUES (?1, ?2, ?3, ?4)",
            params![m.user, m.namespace, m.role, m.expires],
        )
        .doing("writing members")?;
    }
    for t in &world.tokens {
        let id = insert_token(tx, t, &t.name, None, now, None)?;
        if t.revoked {
            tx.execute("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2", params![now, id]).doing("writing tokens")?;
        }
    }
    Ok(())
}

fn insert_token(
    tx: &Transaction,
    token: &world::Token,
    label: &str,
    description: Option<&str>,
    now: Timestamp,
    rotated_from: Option<i64>,
) -> Result<i64, StoreError> {
    let kind = match token.kind {
        TokenKind::Legacy(_) => "legacy",
        TokenKind::FineGrained(_) => "fine_grained",
    };
    tx.execute(
        "INSERT INTO tokens (name, label, username, digest, kind, description, created_at, expires, rotated_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![token.name, label, token.user, &token.digest[..], kind, description, now, token.expires, rotated_from],
    )
    .doing("writing a token")?;
    let id = tx.last_insert_rowid();
    match &token.kind {
        TokenKind::Legacy(scopes) => {
            for (position, scope) in scopes.iter().enumerate() {
                tx.execute(
                    "INSERT INTO token_scopes (token_id, position, scope) VALUES (?1, ?2, ?3)",
                    params![id, position as i64, scope],
                )
                .doing("writing a token's scopes")?;
            }
        }
        TokenKind::FineGrained(grants) => {
            for (position, grant) in grants.iter().enumerate() {
                let namespaces = match &grant.access {
                    GrantAccess::SelectedMemberships(paths) => paths.clone(),
                    _ => Vec::new(),
                };
                tx.execute(
                    "INSERT INTO token_grants (token_id, position, access, namespaces, permissions)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, position as i64, grant.access.name(), json(&namespaces), json(&grant.permissions)],
                )
                .doing("writing a token's grants")?;
            }
        }
    }
    Ok(id)
}

fn find_token(conn: &Connection, id: i64) -> Result<TokenInfo, StoreError> {
    if !token_exists(conn, id)? {
        return Err(StoreError::UnknownToken { what: format!("token {id}") });
    }
    read_token(conn, id)
}

/// The token a selector names, which must not be revoked: by id, or the newest
/// unrevoked token of a user with a label (if only revoked ones remain, the
/// newest is named in the error).
fn find_unrevoked(conn: &Connection, selector: &TokenSelector) -> Result<TokenInfo, StoreError> {
    let (user, name) = match selector {
        TokenSelector::Id(id) => {
            let token = find_token(conn, *id)?;
            if token.revoked_at.is_some() {
                return Err(StoreError::AlreadyRevoked { id: *id });
            }
            return Ok(token);
        }
        TokenSelector::Owned { user, name } => (user, name),
    };
    let newest = |revoked: &str| -> Result<Option<i64>, StoreError> {
        conn.query_row(
            &format!(
                "SELECT id FROM tokens WHERE username = ?1 AND label = ?2 AND revoked_at IS {revoked} ORDER BY id DESC LIMIT 1"
            ),
            params![user, name],
            |r| r.get(0),
        )
        .optional()
        .doing("looking a token up")
    };
    match (newest("NULL")?, newest("NOT NULL")?) {
        (Some(id), _) => read_token(conn, id),
        (None, Some(id)) => Err(StoreError::AlreadyRevoked { id }),
        (None, None) => Err(StoreError::UnknownToken { what: format!("token {name:?} of user {user:?}") }),
    }
}

/// The first free engine name `LABEL~N`, N from 2.
fn next_name(conn: &Connection, label: &str) -> Result<String, StoreError> {
    for n in 2u32.. {
        let name = format!("{label}~{n}");
        let taken = conn
            .query_row("SELECT 1 FROM tokens WHERE name = ?1", [&name], |_| Ok(()))
            .optional()
            .doing("naming the new token")?
            .is_some();
        if !taken {
            return Ok(name);
        }
    }
    unreachable!("the names LABEL~N run out only after u32::MAX rotations")
}

fn check_owner(world: &World, owner: &str) -> Result<(), StoreError> {
    let user = world
        .users
        .iter()
        .find(|u| u.username == owner)
        .ok_or_else(|| StoreError::UnknownUser { user: owner.to_owned() })?;
    if !user.active {
        return Err(StoreError::UserBlocked { user: owner.to_owned() });
    }
    Ok(())
}

fn check_name(conn: &Connection, name: &str) -> Result<(), StoreError> {
    let bad = |problem| Err(StoreError::BadName { name: name.to_owned(), problem });
    if name.trim().is_empty() {
        return bad("is empty");
    }
    if name.chars().count() > MAX_NAME_LEN {
        return bad("is longer than 100 characters");
    }
    if name.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    if name.contains('~') {
        return bad("contains '~', which finegrain keeps for rotated tokens");
    }
    let taken: Option<i64> = conn
        .query_row("SELECT id FROM tokens WHERE name = ?1 OR label = ?1 ORDER BY id LIMIT 1", [name], |r| r.get(0))
        .optional()
        .doing("checking the token name")?;
    match taken {
        Some(id) => Err(StoreError::NameTaken { name: name.to_owned(), id }),
        None => Ok(()),
    }
}

/// Whether a token of `kind` gives nothing a token of `creator` does not:
/// legacy scopes each held by the creator or inside one it holds
/// ([`scope_within`]), any fine-grained grants when it holds `api` (the user's
/// whole API), or fine-grained grants each inside one of the creator's: the
/// same access (selected namespaces a subset) and a subset of its permissions.
pub fn within(catalog: &Catalog, kind: &TokenKind, creator: &TokenKind) -> bool {
    match (kind, creator) {
        (TokenKind::Legacy(scopes), TokenKind::Legacy(held)) => {
            scopes.iter().all(|s| held.iter().any(|h| scope_within(catalog, s, h)))
        }
        (TokenKind::FineGrained(_), TokenKind::Legacy(held)) => held.iter().any(|s| s == "api"),
        (TokenKind::FineGrained(grants), TokenKind::FineGrained(held)) => grants.iter().all(|grant| {
            held.iter().any(|h| {
                access_within(&grant.access, &h.access) && grant.permissions.iter().all(|p| h.permissions.contains(p))
            })
        }),
        (TokenKind::Legacy(_), TokenKind::FineGrained(_)) => false,
    }
}

/// Whether legacy scope `scope` allows nothing `held` does not: the same
/// scope, or one with some API or Git access whose every method, path and Git
/// operation `held` allows too (`read_api` inside `api`). Scopes that act
/// outside the API (`sudo`, `admin_mode`, the registries) are inside themselves only.
fn scope_within(catalog: &Catalog, scope: &str, held: &str) -> bool {
    use finegrain_engine::catalog::{Methods, PathPrefixes};
    if scope == held {
        return true;
    }
    let find = |name: &str| catalog.legacy_scopes.iter().find(|s| s.name == name);
    let (Some(scope), Some(held)) = (find(scope), find(held)) else { return false };
    let methods = match (&scope.api_methods, &held.api_methods) {
        (_, Methods::Any) => true,
        (Methods::Any, Methods::Only(_)) => false,
        (Methods::Only(wanted), Methods::Only(have)) => wanted.iter().all(|m| have.contains(m)),
    };
    let paths = match (&scope.api_paths, &held.api_paths) {
        (_, PathPrefixes::Any) => true,
        (PathPrefixes::Any, PathPrefixes::Only(_)) => false,
        (PathPrefixes::Only(wanted), PathPrefixes::Only(have)) => wanted.iter().all(|p| have.contains(p)),
    };
    let reaches = !matches!(&scope.api_methods, Methods::Only(m) if m.is_empty()) || scope.git_fetch || scope.git_push;
    reaches && methods && paths && (!scope.git_fetch || held.git_fetch) && (!scope.git_push || held.git_push)
}

fn access_within(access: &GrantAccess, held: &GrantAccess) -> bool {
    match (access, held) {
        (GrantAccess::SelectedMemberships(wanted), GrantAccess::SelectedMemberships(have)) => {
            wanted.iter().all(|ns| have.contains(ns))
        }
        _ => access == held,
    }
}

/// Turns the request's scopes or grants into a token kind, checking every
/// name against the catalog and every selected namespace against the world.
/// Also returns the resources chosen by CRUD verb (for the event).
fn resolve_kind(
    catalog: &Catalog,
    world: &World,
    request: &TokenRequest,
    now: Timestamp,
) -> Result<(TokenKind, Vec<String>), StoreError> {
    match (request.scopes.is_empty(), request.grants.is_empty()) {
        (false, false) => Err(StoreError::MixedKinds),
        (true, true) => Err(StoreError::NoRights),
        (false, true) => {
            let mut scopes = Vec::new();
            for scope in &request.scopes {
                if !catalog.legacy_scopes.iter().any(|s| &s.name == scope) {
                    let suggestions = request::closest(scope, catalog.legacy_scopes.iter().map(|s| s.name.as_str()));
                    return Err(StoreError::UnknownScope { name: scope.clone(), suggestions });
                }
                if !scopes.contains(scope) {
                    scopes.push(scope.clone());
                }
            }
            Ok((TokenKind::Legacy(scopes), Vec::new()))
        }
        (true, false) => {
            let mut grants = Vec::new();
            let mut crud_resources = Vec::new();
            for (i, grant) in request.grants.iter().enumerate() {
                let mut permissions: Vec<String> = Vec::new();
                for choice in &grant.permissions {
                    let names = match choice {
                        PermissionChoice::Name(name) => {
                            if !catalog.assignable.iter().any(|a| &a.name == name) {
                                let suggestions =
                                    request::closest(name, catalog.assignable.iter().map(|a| a.name.as_str()));
                                return Err(StoreError::UnknownPermission { name: name.clone(), suggestions });
                            }
                            vec![name.clone()]
                        }
                        PermissionChoice::Crud(text) => {
                            let names = request::crud_permissions(catalog, text)?;
                            if let Some((resource, _)) = text.split_once(':') {
                                crud_resources.push(resource.to_owned());
                            }
                            names
                        }
                    };
                    for name in names {
                        if !permissions.contains(&name) {
                            permissions.push(name);
                        }
                    }
                }
                if permissions.is_empty() {
                    return Err(StoreError::EmptyGrant { grant: i + 1 });
                }
                let access = match &grant.access {
                    GrantAccess::SelectedMemberships(paths) => GrantAccess::SelectedMemberships(
                        paths
                            .iter()
                            .map(|p| selected_namespace(world, &request.owner, p, now))
                            .collect::<Result<_, _>>()?,
                    ),
                    other => other.clone(),
                };
                grants.push(Grant { access, permissions });
            }
            Ok((TokenKind::FineGrained(grants), crud_resources))
        }
    }
}

/// A namespace of the world by full path or numeric id: `(path, visibility, is a project)`.
fn namespace<'a>(world: &'a World, name: &str) -> Option<(&'a str, Visibility, bool)> {
    let id: Option<u64> = name.parse().ok();
    let matches = |path: &str, ns_id: Option<u64>| path == name || (id.is_some() && ns_id == id);
    world.projects.iter().find(|p| matches(&p.path, p.id)).map(|p| (p.path.as_str(), p.visibility, true)).or_else(
        || world.groups.iter().find(|g| matches(&g.path, g.id)).map(|g| (g.path.as_str(), g.visibility, false)),
    )
}

/// Checks a selected namespace: it exists, is not in a personal namespace, and
/// the owner can access it — an administrator, a non-private namespace, or a
/// live membership in it, above it (inherited) or below it (a member of a
/// project sees its group). Returns its full path.
fn selected_namespace(world: &World, owner: &str, name: &str, now: Timestamp) -> Result<String, StoreError> {
    let (path, visibility, is_project) =
        namespace(world, name).ok_or_else(|| StoreError::UnknownNamespace { namespace: name.to_owned() })?;
    let top = path.split('/').next().unwrap_or(path);
    if is_project && !world.groups.iter().any(|g| g.path == top) {
        return Err(StoreError::PersonalNamespace { namespace: name.to_owned() });
    }
    let admin = world.users.iter().any(|u| u.username == owner && u.admin);
    let related = |member_path: &str| {
        member_path == path
            || path.strip_prefix(member_path).is_some_and(|rest| rest.starts_with('/'))
            || member_path.strip_prefix(path).is_some_and(|rest| rest.starts_with('/'))
    };
    let member = world.members.iter().any(|m| {
        m.user == owner
            && m.expires.is_none_or(|e| e > now)
            && namespace(world, &m.namespace).is_some_and(|(member_path, _, _)| related(member_path))
    });
    if admin || member || visibility != Visibility::Private {
        Ok(path.to_owned())
    } else {
        Err(StoreError::NamespaceInaccessible { user: owner.to_owned(), namespace: name.to_owned() })
    }
}

/// The expiry timestamp for a choice, checked against the lifetime settings.
fn resolve_expiry(expiry: Expiry, settings: &Settings, now: Timestamp) -> Result<Option<Timestamp>, StoreError> {
    let today = date::day_start(now);
    let at = match expiry {
        Expiry::Default => today + i64::from(settings.default_lifetime_days) * date::DAY,
        Expiry::Days(days) => today + i64::from(days) * date::DAY,
        Expiry::Date(t) => date::day_start(t),
        Expiry::Never => {
            return match settings.max_lifetime_days {
                None => Ok(None),
                Some(max_days) => Err(StoreError::NeverNotAllowed { max_days }),
            };
        }
    };
    if at <= today {
        return Err(StoreError::ExpiryNotInFuture { date: format_date(at) });
    }
    if let Some(max_days) = settings.max_lifetime_days {
        let latest = today + i64::from(max_days) * date::DAY;
        if at > latest {
            return Err(StoreError::ExpiryBeyondMaximum {
                date: format_date(at),
                max_days,
                latest: format_date(latest),
            });
        }
    }
    Ok(Some(at))
}

/// Lets the engine load the world with `token` added; its objections to the
/// token come back as `grant N: problem`.
fn engine_check(catalog: &Catalog, mut world: World, token: &world::Token) -> Result<(), StoreError> {
    let index = world.tokens.len();
    world.tokens.push(token.clone());
    match finegrain_engine::Authorizer::from_bundle(Bundle { catalog: catalog.clone(), world }) {
        Ok(_) => Ok(()),
        Err(message) => Err(token_error(index, message)),
    }
}

/// `tokens[I].grants[J].field: problem` → `grant J+1: problem`; a message about
/// anything but token `index` is about the store's world.
fn token_error(index: usize, message: String) -> StoreError {
    let Some(rest) = message.strip_prefix(&format!("tokens[{index}].")) else {
        return StoreError::InvalidWorld(message);
    };
    let grant = rest.strip_prefix("grants[").and_then(|r| r.split_once(']')).and_then(|(j, after)| {
        let j: usize = j.parse().ok()?;
        let problem = after.split_once(": ").map_or(after, |(_, p)| p);
        Some(format!("grant {}: {problem}", j + 1))
    });
    StoreError::TokenRejected(grant.unwrap_or_else(|| rest.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_messages_become_grant_messages() {
        let e = token_error(
            3,
            "tokens[3].grants[1].permissions: \"read_user\" does not apply to access all_memberships (it applies at user)"
                .into(),
        );
        assert_eq!(
            e.to_string(),
            "grant 2: \"read_user\" does not apply to access all_memberships (it applies at user)"
        );
        assert!(matches!(token_error(3, "users[0].name: x".into()), StoreError::InvalidWorld(_)));
    }

    #[test]
    fn expiry_rules() {
        let now = 1_795_262_400; // 2026-11-21T12:00Z
        let limited =
            Settings { token_prefix: "glpat-".into(), default_lifetime_days: 30, max_lifetime_days: Some(365) };
        assert_eq!(format_date(resolve_expiry(Expiry::Default, &limited, now).unwrap().unwrap()), "2026-12-21");
        assert_eq!(
            resolve_expiry(Expiry::Days(0), &limited, now).unwrap_err().to_string(),
            "expiry 2026-11-21 is not in the future"
        );
        assert_eq!(
            resolve_expiry(Expiry::Days(366), &limited, now).unwrap_err().to_string(),
            "expiry 2027-11-22 is beyond the maximum lifetime of 365 days (latest allowed: 2027-11-21)"
        );
        assert!(matches!(resolve_expiry(Expiry::Never, &limited, now), Err(StoreError::NeverNotAllowed { .. })));
        let unlimited = Settings { max_lifetime_days: None, ..limited };
        assert_eq!(resolve_expiry(Expiry::Never, &unlimited, now).unwrap(), None);
    }
}
