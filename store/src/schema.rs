//! The store's schema and its migrations.
//!
//! The schema version lives in SQLite's `PRAGMA user_version`. [`MIGRATIONS`]
//! holds one SQL script per version; opening a store applies every script past
//! its version, each in its own `BEGIN IMMEDIATE` transaction together with the
//! version bump, so a store is always at exactly one version. A store newer
//! than this program is refused rather than guessed at.
//!
//! Lists inside a row (a project's protected branches, a role's abilities, a
//! grant's namespaces and permissions) are JSON text: they are read and written
//! whole, never queried by element.

use rusqlite::Connection;

use crate::error::{Doing, StoreError};

/// Migration scripts; script `i` takes the store from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // Version 1: the world, the tokens, the settings.
    r#"
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO settings (key, value) VALUES
        ('token_prefix', 'glpat-'),
        ('default_lifetime_days', '30'),
        ('max_lifetime_days', '365'),
        ('revision', '0');

    CREATE TABLE users (
        username    TEXT PRIMARY KEY,
        external_id INTEGER,
        admin       INTEGER NOT NULL DEFAULT 0,
        active      INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE groups (
        path        TEXT PRIMARY KEY,
        external_id INTEGER,
        visibility  TEXT NOT NULL
    );
    CREATE TABLE projects (
        path               TEXT PRIMARY KEY,
        external_id        INTEGER,
        visibility         TEXT NOT NULL,
        protected_branches TEXT NOT NULL,   -- JSON list
        protected_tags     TEXT NOT NULL    -- JSON list
    );
    CREATE TABLE custom_roles (
        name      TEXT PRIMARY KEY,
        base      TEXT NOT NULL,
        abilities TEXT NOT NULL,            -- JSON list of names
        crud      TEXT NOT NULL             -- JSON list of [resource, verb]
    );
    CREATE TABLE members (
        username  TEXT NOT NULL,
        namespace TEXT NOT NULL,
        role      TEXT NOT NULL,
        expires   INTEGER,
        PRIMARY KEY (username, namespace)
    );

    CREATE TABLE tokens (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        name         TEXT NOT NULL UNIQUE,  -- the engine's name for it
        label        TEXT NOT NULL,         -- the name given at creation; kept by rotation
        username     TEXT NOT NULL,
        digest       BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),
        kind         TEXT NOT NULL CHECK (kind IN ('legacy', 'fine_grained')),
        description  TEXT,
        created_at   INTEGER NOT NULL,
        expires      INTEGER,
        revoked_at   INTEGER,
        last_used_at INTEGER,
        rotated_from INTEGER REFERENCES tokens (id)
    );
    CREATE INDEX tokens_by_owner ON tokens (username, label);
    CREATE TABLE token_scopes (
        token_id INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        scope    TEXT NOT NULL,
        PRIMARY KEY (token_id, position)
    );
    CREATE TABLE token_grants (
        token_id    INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
        position    INTEGER NOT NULL,
        access      TEXT NOT NULL,
        namespaces  TEXT NOT NULL,          -- JSON list of full paths
        permissions TEXT NOT NULL,          -- JSON list of assignable permissions
        PRIMARY KEY (token_id, position)
    );
    "#,
];

/// The schema version this program writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the store up to [`current_version`].
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).doing("starting a migration")?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).doing("reading the schema version")?;
        if version > current_version() {
            return Err(StoreError::SchemaTooNew { found: version, known: current_version() });
        }
        let Some(script) = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v)) else {
            return Ok(());
        };
        tx.execute_batch(script).doing("migrating the schema")?;
        tx.pragma_update(None, "user_version", version + 1).doing("recording the schema version")?;
        tx.commit().doing("committing a migration")?;
    }
}
