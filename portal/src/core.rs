//! What the pages and the API share: the open store, the engine that decides
//! whether a token may use an endpoint, and the token operations.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use finegrain_engine::api::{Decision, HttpRequest, Timestamp, TokenRef};
use finegrain_engine::{Authorizer, Bundle};
use finegrain_store::{Created, EventSink, Store, StoreError, TokenInfo, TokenRequest, TokenSelector};

use crate::session::Sessions;

/// How a portal is set up.
#[derive(Clone, Debug)]
pub struct PortalConfig {
    /// The token store.
    pub store: PathBuf,
    /// Where the pages are mounted, without a trailing slash (`/-/tokens`), or
    /// empty for the root.
    pub base: String,
    /// Where creation events go; `None` writes none.
    pub events: Option<EventSink>,
    /// How long a signed-in session lasts.
    pub session_lifetime: Duration,
    /// Most sessions kept at once; the oldest go first.
    pub max_sessions: usize,
    /// Mark the session cookie `Secure` (serve over HTTPS).
    pub secure_cookie: bool,
}

impl PortalConfig {
    /// Defaults for a store: pages at `/-/tokens`, 8-hour sessions, no events.
    pub fn new(store: PathBuf) -> PortalConfig {
        PortalConfig {
            store,
            base: "/-/tokens".to_owned(),
            events: None,
            session_lifetime: Duration::from_secs(8 * 3600),
            max_sessions: 10_000,
            secure_cookie: false,
        }
    }
}

/// Why the portal cannot start.
#[derive(Debug)]
pub enum PortalError {
    /// The base is not `/word/…` without a trailing slash.
    BadBase(String),
    /// The store does not open.
    Store(StoreError),
}

impl std::fmt::Display for PortalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortalError::BadBase(base) => {
                write!(f, "base {base:?} must start with '/' and not end with one (for example /-/tokens)")
            }
            PortalError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PortalError {}

/// The token behind a request: who calls, with which token.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The owner's username.
    pub user: String,
    /// The store's id of the calling token.
    pub token_id: i64,
    /// The engine's name of the calling token.
    pub token_name: String,
}

/// A refusal: the HTTP status and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    /// 400, 401, 403, 404, 409, 415, 422 or 500.
    pub status: u16,
    /// One sentence; quotes user input, never a secret.
    pub message: String,
    /// The engine's reason codes, when the engine refused.
    pub reasons: Vec<String>,
}

impl Denied {
    /// A refusal without engine reasons.
    pub fn new(status: u16, message: impl Into<String>) -> Denied {
        Denied { status, message: message.into(), reasons: Vec::new() }
    }

    fn from_decision(decision: &Decision) -> Denied {
        let token_problem = ["token_missing", "token_unknown", "token_revoked", "token_expired", "user_inactive"];
        let status = if decision.reasons.iter().any(|r| token_problem.contains(&r.code.as_str())) { 401 } else { 403 };
        let message = decision.reasons.first().map_or_else(|| "denied".to_owned(), |r| r.text().to_owned());
        Denied { status, message, reasons: decision.reasons.iter().map(|r| r.code.clone()).collect() }
    }
}

impl From<StoreError> for Denied {
    fn from(e: StoreError) -> Denied {
        use StoreError::*;
        let status = match &e {
            Sqlite { .. }
            | NoStore { .. }
            | SchemaTooNew { .. }
            | Corrupt { .. }
            | Catalog(_)
            | InvalidWorld(_)
            | Secret(_) => 500,
            UnknownToken { .. } => 404,
            NameTaken { .. } | AlreadyRevoked { .. } => 409,
            ExceedsCreator { .. } => 403,
            _ => 422,
        };
        Denied::new(status, e.to_string())
    }
}

/// A running portal: the store, the sessions and a cached engine.
pub struct Portal {
    store: Mutex<Store>,
    engine: Mutex<Option<Arc<Authorizer>>>,
    pub(crate) sessions: Mutex<Sessions>,
    config: PortalConfig,
}

impl Portal {
    /// Opens the store named in `config`.
    pub fn open(config: PortalConfig) -> Result<Arc<Portal>, PortalError> {
        let base_ok = config.base.is_empty()
            || (config.base.starts_with('/') && !config.base.ends_with('/') && !config.base.contains(['"', '<', '>']));
        if !base_ok {
            return Err(PortalError::BadBase(config.base.clone()));
        }
        let store = Store::open_existing(&config.store).map_err(PortalError::Store)?;
        let sessions = Sessions::new(config.session_lifetime, config.max_sessions);
        Ok(Arc::new(Portal {
            store: Mutex::new(store),
            engine: Mutex::new(None),
            sessions: Mutex::new(sessions),
            config,
        }))
    }

    /// Where the pages are mounted.
    pub fn base(&self) -> &str {
        &self.config.base
    }

    pub(crate) fn config(&self) -> &PortalConfig {
        &self.config
    }

    /// The store, locked. A poisoned lock (a panic mid-request) is still
    /// usable: every store write is one transaction.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The engine at the store's current revision, rebuilt when the store
    /// changed (here or through the CLI).
    fn engine(&self) -> Result<Arc<Authorizer>, Denied> {
        let store = self.store();
        let revision = store.revision()?;
        let mut cached = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(engine) = cached.as_ref().filter(|e| e.revision() == revision) {
            return Ok(engine.clone());
        }
        let bundle = Bundle { catalog: store.catalog().clone(), world: store.world()? };
        let engine = Arc::new(
            Authorizer::from_bundle(bundle)
                .map_err(|e| Denied::new(500, format!("the store's world does not load: {e}")))?,
        );
        *cached = Some(engine.clone());
        Ok(engine)
    }

    /// Asks the engine whether `token` may call `method path` (a GitLab API
    /// path such as `/api/v4/personal_access_tokens`), as the gateway would.
    pub(crate) fn authorize(&self, token: TokenRef, method: &str, path: &str) -> Result<(), Denied> {
        let request = HttpRequest {
            token: Some(token),
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
            owner: None,
            at: now(),
        };
        let engine = self.engine()?;
        match engine.check_http(&request).effect {
            finegrain_engine::api::Effect::Allow => Ok(()),
            // Denials are rare: only then are the reasons written out for people.
            finegrain_engine::api::Effect::Deny => {
                Err(Denied::from_decision(&engine.describe(&finegrain_engine::api::Request::Http(request))))
            }
        }
    }

    /// The caller behind a secret, if the engine lets that token call
    /// `method path`; records the token's last use.
    pub(crate) fn caller(&self, secret: &str, method: &str, path: &str) -> Result<Caller, Denied> {
        self.authorize(TokenRef::Secret(secret.to_owned()), method, path)?;
        let mut store = self.store();
        let token = store.find_by_secret(secret)?.ok_or_else(|| Denied::new(401, "unknown token"))?;
        store.touch(&finegrain_engine::world::secret_digest(secret), now())?;
        Ok(Caller { user: token.user, token_id: token.id, token_name: token.name })
    }

    /// The caller's tokens, oldest first.
    pub(crate) fn list(&self, caller: &Caller) -> Result<Vec<TokenInfo>, Denied> {
        Ok(self.store().list_tokens(Some(&caller.user))?)
    }

    /// One of the caller's tokens; another user's token is "not found".
    pub(crate) fn owned(&self, caller: &Caller, id: i64) -> Result<TokenInfo, Denied> {
        let token = self.store().token(id).map_err(Denied::from)?;
        if token.user != caller.user {
            return Err(Denied::new(404, format!("no token {id}")));
        }
        Ok(token)
    }

    /// Creates a token for the caller and emits its event.
    pub(crate) fn create(&self, caller: &Caller, mut request: TokenRequest) -> Result<Created, Denied> {
        request.owner = caller.user.clone();
        // A token signed in or calling the API creates only tokens within its own access.
        let created = self.store().create_token_within(&request, now(), Some(caller.token_id))?;
        self.emit(&created);
        Ok(created)
    }

    /// Revokes one of the caller's tokens.
    pub(crate) fn revoke(&self, caller: &Caller, id: i64) -> Result<(), Denied> {
        self.owned(caller, id)?;
        self.store().revoke(&TokenSelector::Id(id), now())?;
        Ok(())
    }

    /// Rotates one of the caller's tokens and emits the new token's event.
    pub(crate) fn rotate(&self, caller: &Caller, id: i64) -> Result<Created, Denied> {
        self.owned(caller, id)?;
        let created = self.store().rotate(&TokenSelector::Id(id), now())?;
        self.emit(&created);
        Ok(created)
    }

    fn emit(&self, created: &Created) {
        if let Some(sink) = &self.config.events {
            // The token exists; a sink that fails must not hide its secret.
            if let Err(e) = sink.emit(&created.event) {
                eprintln!("finegrain-portal: cannot write the creation event: {e}");
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
