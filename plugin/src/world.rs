//! The policy world as it travels in a bundle: users, groups, projects, custom
//! roles, memberships and tokens, referring to each other by name. The engine
//! checks every reference when it loads the world (see `policy.rs`), so a bundle
//! built by anything other than `finegrain bundle build` is checked just the same.

use finegrain_catalog::CrudVerb;
use serde::{Deserialize, Serialize};

use crate::api::{Timestamp, TokenKind};

/// Who may read a namespace without being a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Visibility {
    /// Members only.
    Private,
    /// Any signed-in user.
    Internal,
    /// Anyone.
    Public,
}

impl Visibility {
    /// Parses `private`, `internal` or `public`.
    pub fn parse(name: &str) -> Option<Visibility> {
        match name {
            "private" => Some(Visibility::Private),
            "internal" => Some(Visibility::Internal),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub id: Option<u64>,
    /// Instance administrator.
    pub admin: bool,
    /// `false` for blocked or deactivated users: their tokens stop working.
    pub active: bool,
}

/// Who may push to (or create) a protected ref.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PushLevel {
    NoOne,
    Developer,
    Maintainer,
    Admin,
}

impl PushLevel {
    /// Parses `no_one`, `developer`, `maintainer` or `admin` (GitLab's names for
    /// protected-ref access levels; `owner` counts as maintainer-and-up too).
    pub fn parse(name: &str) -> Option<PushLevel> {
        match name {
            "no_one" | "none" => Some(PushLevel::NoOne),
            "developer" => Some(PushLevel::Developer),
            "maintainer" | "owner" => Some(PushLevel::Maintainer),
            "admin" => Some(PushLevel::Admin),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            PushLevel::NoOne => "no_one",
            PushLevel::Developer => "developer",
            PushLevel::Maintainer => "maintainer",
            PushLevel::Admin => "admin",
        }
    }
}

/// A protected branch rule; `name` is exact or a wildcard pattern (`release/*`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtectedBranch {
    pub name: String,
    pub push: PushLevel,
    pub merge: PushLevel,
    pub allow_force_push: bool,
}

/// A protected tag rule: who may create matching tags. Matching tags are never
/// updated or deleted by a push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtectedTag {
    pub name: String,
    pub create: PushLevel,
}

/// A group (its parent is derived from the path).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub path: String,
    pub id: Option<u64>,
    pub visibility: Visibility,
}

/// A project in a group or in a user's personal namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub path: String,
    pub id: Option<u64>,
    pub visibility: Visibility,
    pub protected_branches: Vec<ProtectedBranch>,
    pub protected_tags: Vec<ProtectedTag>,
}

/// A custom role: a base role plus abilities and CRUD verbs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomRole {
    pub name: String,
    /// Base role name (`developer`).
    pub base: String,
    /// Ability names as written (aliases allowed).
    pub abilities: Vec<String>,
    /// `(resource, verb)` pairs, e.g. `("repository", Write)`.
    pub crud: Vec<(String, CrudVerb)>,
}

/// A user's role in a group or project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub user: String,
    /// Full path of the group or project.
    pub namespace: String,
    /// Base role name or custom role name.
    pub role: String,
    pub expires: Option<Timestamp>,
}

/// An access token, stored as the digest of its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub name: String,
    pub user: String,
    pub digest: [u8; 32],
    pub kind: TokenKind,
    pub expires: Option<Timestamp>,
    pub revoked: bool,
}

/// Everything the engine decides over, besides the catalog.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub revision: u64,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub projects: Vec<Project>,
    pub custom_roles: Vec<CustomRole>,
    pub members: Vec<Member>,
    pub tokens: Vec<Token>,
}

/// SHA-256 of a token secret: the only form in which a secret is kept.
pub fn secret_digest(secret: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes()).into()
}
