//! Everything that can go wrong in the store, one variant per problem. Messages
//! are lower-case, quote what the user typed, and never contain a secret.

use std::fmt;

/// A store error.
#[derive(Debug)]
pub enum StoreError {
    /// SQLite failed (I/O, a locked database after the busy timeout, corruption).
    Sqlite { doing: &'static str, source: rusqlite::Error },
    /// `open_existing` on a path with no store.
    NoStore { path: String },
    /// The store was written by a newer finegrain.
    SchemaTooNew { found: i64, known: i64 },
    /// A stored value does not parse (hand-edited or corrupt store).
    Corrupt { what: String },
    /// The built-in permission catalog failed to load.
    Catalog(String),
    /// The engine rejects the store's world (not the token being created).
    InvalidWorld(String),
    /// A setting name that does not exist.
    UnknownSetting { key: String },
    /// A setting value that does not parse or is out of range.
    BadSetting { key: String, value: String, problem: String },

    /// No user by that name.
    UnknownUser { user: String },
    /// The owner is blocked, deactivated or banned.
    UserBlocked { user: String },
    /// A token name already in use.
    NameTaken { name: String, id: i64 },
    /// A token name that cannot be used.
    BadName { name: String, problem: &'static str },
    /// An assignable permission the catalog does not know.
    UnknownPermission { name: String, suggestions: Vec<String> },
    /// A legacy scope the catalog does not know.
    UnknownScope { name: String, suggestions: Vec<String> },
    /// `RESOURCE:VERB` that names no resource or verb the catalog knows.
    UnknownCrud { text: String, problem: String },
    /// A `--grant` text that does not parse.
    BadGrant { text: String, problem: String },
    /// Both legacy scopes and fine-grained grants.
    MixedKinds,
    /// Neither scopes nor grants.
    NoRights,
    /// A token asked for by another token would give more than that token has.
    ExceedsCreator { creator: String },
    /// A grant without permissions.
    EmptyGrant { grant: usize },
    /// A selected group or project that does not exist.
    UnknownNamespace { namespace: String },
    /// A selected project in a personal namespace.
    PersonalNamespace { namespace: String },
    /// A selected group or project the owner cannot access.
    NamespaceInaccessible { user: String, namespace: String },
    /// The engine rejects the token: `grant N: problem`.
    TokenRejected(String),
    /// An `--expires` text that does not parse.
    BadExpiry { text: String },
    /// An expiry today or earlier.
    ExpiryNotInFuture { date: String },
    /// An expiry after the maximum lifetime.
    ExpiryBeyondMaximum { date: String, max_days: u32, latest: String },
    /// `never` while the maximum lifetime is limited.
    NeverNotAllowed { max_days: u32 },
    /// No token by that id, or no active token by that user and name.
    UnknownToken { what: String },
    /// A token that is already revoked.
    AlreadyRevoked { id: i64 },
    /// An import would delete the store's tokens and was not asked to.
    WouldDropTokens { count: i64 },
    /// The random source failed, or the prefix setting is unusable.
    Secret(String),
}

fn suggest(list: &[String]) -> String {
    match list {
        [] => String::new(),
        [one] => format!(" (did you mean {one:?}?)"),
        many => {
            let quoted: Vec<String> = many.iter().map(|s| format!("{s:?}")).collect();
            format!(" (did you mean one of {}?)", quoted.join(", "))
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StoreError::*;
        match self {
            Sqlite { doing, source } => write!(f, "store: {doing}: {source}"),
            NoStore { path } => {
                write!(f, "no store at {path:?} (create one with `finegrain store init` or `finegrain store import`)")
            }
            SchemaTooNew { found, known } => {
                write!(f, "the store has schema version {found}, newer than this finegrain knows ({known})")
            }
            Corrupt { what } => write!(f, "the store is damaged: {what}"),
            Catalog(e) => write!(f, "built-in catalog: {e}"),
            InvalidWorld(e) => write!(f, "the store's world is invalid: {e}"),
            UnknownSetting { key } => {
                write!(f, "unknown setting {key:?} (token_prefix, default_lifetime_days or max_lifetime_days)")
            }
            BadSetting { key, value, problem } => write!(f, "setting {key:?}: {value:?}: {problem}"),
            UnknownUser { user } => write!(f, "unknown user {user:?}"),
            UserBlocked { user } => write!(f, "user {user:?} is blocked; a blocked user cannot get new tokens"),
            NameTaken { name, id } => {
                write!(f, "token name {name:?} is already used by token {id}; choose another --name")
            }
            BadName { name, problem } => write!(f, "token name {name:?} {problem}"),
            UnknownPermission { name, suggestions } => {
                write!(f, "unknown permission {name:?}{}", suggest(suggestions))
            }
            UnknownScope { name, suggestions } => write!(f, "unknown legacy scope {name:?}{}", suggest(suggestions)),
            UnknownCrud { text, problem } => write!(f, "{text:?}: {problem}"),
            BadGrant { text, problem } => write!(f, "grant {text:?}: {problem}"),
            MixedKinds => f.write_str(
                "a token is either legacy (--scope) or fine-grained (--permission, --resource, --grant), not both",
            ),
            ExceedsCreator { creator } => write!(
                f,
                "the new token would give more than the token {creator:?} creating it: a token creates only tokens \
                 within its own scopes or grants"
            ),
            NoRights => f.write_str(
                "give legacy scopes (--scope) or fine-grained permissions (--permission, --resource or --grant)",
            ),
            EmptyGrant { grant } => write!(f, "grant {grant}: no permissions (add --permission or --resource)"),
            UnknownNamespace { namespace } => write!(f, "no group or project {namespace:?}"),
            PersonalNamespace { namespace } => write!(
                f,
                "{namespace:?} is in a personal namespace; use --personal-projects for the owner's own projects"
            ),
            NamespaceInaccessible { user, namespace } => {
                write!(f, "user {user:?} cannot access {namespace:?}: not a member and it is private")
            }
            TokenRejected(e) => f.write_str(e),
            BadExpiry { text } => {
                write!(f, "expiry {text:?} is not a date (2027-01-01), a number of days (30d) or `never`")
            }
            ExpiryNotInFuture { date } => write!(f, "expiry {date} is not in the future"),
            ExpiryBeyondMaximum { date, max_days, latest } => {
                write!(f, "expiry {date} is beyond the maximum lifetime of {max_days} days (latest allowed: {latest})")
            }
            NeverNotAllowed { max_days } => {
                write!(f, "tokens must expire: the maximum lifetime is {max_days} days (setting max_lifetime_days)")
            }
            UnknownToken { what } => write!(f, "no {what}"),
            AlreadyRevoked { id } => write!(f, "token {id} is already revoked"),
            WouldDropTokens { count } => write!(
                f,
                "the store holds {count} token(s) that importing a world would delete; nothing was changed \
                 (export them first with `finegrain store export`, or pass --replace)"
            ),
            Secret(e) => write!(f, "cannot make a secret: {e}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Attaches what the store was doing to a SQLite error.
pub(crate) trait Doing<T> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError>;
}

impl<T> Doing<T> for Result<T, rusqlite::Error> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite { doing, source })
    }
}
