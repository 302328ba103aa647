//! The engine's requests and answers. They mirror the WIT records in
//! `wit/authz.wit` one to one, so the component layer only converts.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

pub use finegrain_catalog::Boundary;

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// How a request names its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRef {
    /// The secret as sent by the client.
    Secret(String),
    /// The token's name in the world (tools and tests).
    Name(String),
}

/// "May this token use permission P on namespace NS?"
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermissionRequest {
    pub token: TokenRef,
    /// A raw or an assignable permission name.
    pub permission: String,
    /// Full path or numeric id; `None` for user- and instance-level permissions.
    pub namespace: Option<String>,
    pub ref_name: Option<String>,
    pub force: bool,
    pub at: Timestamp,
}

/// An HTTP request as a gateway sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// The token, when the host already knows it; `None` reads it from the
    /// headers and query.
    pub token: Option<TokenRef>,
    pub method: String,
    /// Path with query, as sent.
    pub path: String,
    /// `(name, value)` pairs.
    pub headers: Vec<(String, String)>,
    /// The body of a GraphQL request; `None` for everything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The project or group that owns the object an object-addressed route
    /// names (`/runners/:id`), when the host knows it; see the WIT field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub at: Timestamp,
}

/// One ref a push updates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefUpdate {
    pub old_id: String,
    pub new_id: String,
    pub name: String,
    pub force: bool,
}

/// Fetch, or push of some refs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GitService {
    UploadPack,
    ReceivePack(Vec<RefUpdate>),
}

/// "May this token fetch from / push to this project?"
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GitRequest {
    pub token: TokenRef,
    pub project: String,
    pub service: GitService,
    pub at: Timestamp,
}

/// Any check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Permission(PermissionRequest),
    Http(HttpRequest),
    Git(GitRequest),
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Deny,
}

/// The stable reason codes of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Allowed,
    TokenMissing,
    TokenUnknown,
    TokenRevoked,
    TokenExpired,
    UserInactive,
    MalformedRequest,
    AmbiguousRequest,
    EndpointUnknown,
    EndpointNotForTokens,
    PermissionUnknown,
    NamespaceUnknown,
    ScopeExcludesNamespace,
    TokenLacksPermission,
    UserLacksAbility,
    BranchProtected,
    TagProtected,
    ForcePushForbidden,
}

impl Code {
    /// Every code, in the order of the WIT enum `reason-code`.
    pub const ALL: [Code; 18] = [
        Code::Allowed,
        Code::TokenMissing,
        Code::TokenUnknown,
        Code::TokenRevoked,
        Code::TokenExpired,
        Code::UserInactive,
        Code::MalformedRequest,
        Code::AmbiguousRequest,
        Code::EndpointUnknown,
        Code::EndpointNotForTokens,
        Code::PermissionUnknown,
        Code::NamespaceUnknown,
        Code::ScopeExcludesNamespace,
        Code::TokenLacksPermission,
        Code::UserLacksAbility,
        Code::BranchProtected,
        Code::TagProtected,
        Code::ForcePushForbidden,
    ];

    /// The code named `name` (`token_revoked`), if it is one.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The code as it appears in decisions and scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Allowed => "allowed",
            Code::TokenMissing => "token_missing",
            Code::TokenUnknown => "token_unknown",
            Code::TokenRevoked => "token_revoked",
            Code::TokenExpired => "token_expired",
            Code::UserInactive => "user_inactive",
            Code::MalformedRequest => "malformed_request",
            Code::AmbiguousRequest => "ambiguous_request",
            Code::EndpointUnknown => "endpoint_unknown",
            Code::EndpointNotForTokens => "endpoint_not_for_tokens",
            Code::PermissionUnknown => "permission_unknown",
            Code::NamespaceUnknown => "namespace_unknown",
            Code::ScopeExcludesNamespace => "scope_excludes_namespace",
            Code::TokenLacksPermission => "token_lacks_permission",
            Code::UserLacksAbility => "user_lacks_ability",
            Code::BranchProtected => "branch_protected",
            Code::TagProtected => "tag_protected",
            Code::ForcePushForbidden => "force_push_forbidden",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Index of a raw permission in the loaded catalog; its name is
/// [`crate::Authorizer::permission_name`].
pub type PermissionId = u16;

/// One reason of a [`Verdict`]: its code, and a sentence for people only when
/// the caller asked for details ([`crate::Authorizer::decide_described`], `explain`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub code: Code,
    pub detail: Option<String>,
}

/// The reasons of a verdict; one fits without allocating.
pub type Causes = SmallVec<[Cause; 1]>;

/// Permission ids; a few fit without allocating.
pub type Perms = SmallVec<[PermissionId; 4]>;

/// A decision in the engine's own terms: codes and permission ids, the
/// namespace borrowed from the policy, no text unless asked for. This is what a
/// check costs ([`crate::Authorizer::decide`]); [`Decision`] is the same answer
/// with names ([`crate::Authorizer::resolve`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict<'p> {
    pub effect: Effect,
    /// At least one; `allowed` alone when the effect is allow.
    pub causes: Causes,
    /// The raw permissions the request needs, as ids.
    pub required: Perms,
    pub boundary: Option<Boundary>,
    /// The full path of the namespace the request targets, when known.
    pub namespace: Option<&'p str>,
    pub revision: u64,
}

impl Verdict<'_> {
    /// Whether the verdict carries this reason code.
    pub fn has(&self, code: Code) -> bool {
        self.causes.iter().any(|c| c.code == code)
    }
}

/// One reason: a stable code and, when the decision was described, a
/// sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    /// Written by `describe` and `explain` only; `None` from the `check`
    /// functions, which format no text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Reason {
    /// The sentence for people, or the code when the decision was not described.
    pub fn text(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.code)
    }
}

/// The answer to one check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub effect: Effect,
    pub reasons: Vec<Reason>,
    pub required_permissions: Vec<String>,
    pub accepted_permissions: Vec<String>,
    pub boundary: Option<Boundary>,
    pub namespace: Option<String>,
    pub revision: u64,
}

impl Decision {
    /// Whether the decision carries this reason code.
    pub fn has_reason(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }
}

/// A decision with the steps that led to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub decision: Decision,
    pub steps: Vec<String>,
}

/// What a token may do in one place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessEntry {
    pub boundary: Boundary,
    pub namespace: Option<String>,
    pub permissions: Vec<String>,
}

/// A token's status at time `at`: `active`, `revoked`, `expired` or
/// `user_inactive`, checked in the order the engine decides them.
pub fn token_status(revoked: bool, expires: Option<Timestamp>, user_active: bool, at: Timestamp) -> &'static str {
    if revoked {
        "revoked"
    } else if expires.is_some_and(|e| e <= at) {
        "expired"
    } else if !user_active {
        "user_inactive"
    } else {
        "active"
    }
}

/// The "what can this token do" view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenReport {
    pub name: String,
    pub user: String,
    pub kind: String,
    pub status: String,
    pub expires: Option<Timestamp>,
    pub scopes: Vec<String>,
    pub access: Vec<AccessEntry>,
}

/// Which namespaces a fine-grained grant covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantAccess {
    PersonalProjects,
    AllMemberships,
    /// Full paths of the selected groups and projects.
    SelectedMemberships(Vec<String>),
    User,
    Instance,
}

impl GrantAccess {
    /// The boundaries at which a permission must apply to be granted with this
    /// access: personal projects are projects; memberships are groups and
    /// projects; `user` and `instance` are themselves.
    pub fn boundaries(&self) -> &'static [Boundary] {
        match self {
            GrantAccess::PersonalProjects => &[Boundary::Project],
            GrantAccess::AllMemberships | GrantAccess::SelectedMemberships(_) => &[Boundary::Project, Boundary::Group],
            GrantAccess::User => &[Boundary::User],
            GrantAccess::Instance => &[Boundary::Instance],
        }
    }

    /// The name used in world files and events.
    pub fn name(&self) -> &'static str {
        match self {
            GrantAccess::PersonalProjects => "personal_projects",
            GrantAccess::AllMemberships => "all_memberships",
            GrantAccess::SelectedMemberships(_) => "selected_memberships",
            GrantAccess::User => "user",
            GrantAccess::Instance => "instance",
        }
    }
}

/// One grant of a fine-grained token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub access: GrantAccess,
    /// Assignable permission names.
    pub permissions: Vec<String>,
}

/// Legacy scopes or fine-grained grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Legacy(Vec<String>),
    FineGrained(Vec<Grant>),
}

/// A token to add.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub name: String,
    pub user: String,
    /// SHA-256 of the secret.
    pub digest: Vec<u8>,
    pub kind: TokenKind,
    pub expires: Option<Timestamp>,
}

/// A membership to add or replace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipUpdate {
    pub user: String,
    pub namespace: String,
    pub role: String,
    pub expires: Option<Timestamp>,
}

/// An incremental change to a loaded policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    AddToken(NewToken),
    RevokeToken(String),
    AddMembership(MembershipUpdate),
    /// `(user, namespace)`.
    RemoveMembership(String, String),
}
