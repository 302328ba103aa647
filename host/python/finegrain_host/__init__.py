"""Python host for finegrain, the fine-grained access token authorization engine.

Loads the engine WebAssembly component (``finegrain.wasm``, inside the wheel) with
wasmtime-py and a policy bundle into it::

    from finegrain_host import HttpRequest, load_bundle
    authz = load_bundle("acme.bundle")  # or Authorizer.from_files("finegrain.wasm", "acme.bundle")
    request = HttpRequest(method="GET", path="/api/v4/user", headers=[("PRIVATE-TOKEN", secret)])
    decision = authz.check_http(request)
    decision.effect, decision.codes          # codes only: `check` formats no text
    authz.describe(request).reasons[0].text  # the same decision, with a sentence for people

The contract is ``wit/authz.wit``; the types here mirror its records.
"""

from . import errors, types
from .authorizer import INTERFACE, MEMORY_LIMIT, Authorizer, EngineHost, new_engine
from .packaged import COMPONENT_FILE, load_bundle, packaged_component
from .errors import ApplyError, BundleError, ComponentError, EngineFailure, FinegrainError, TokenNotFound
from .types import (
    AccessEntry,
    AddMembership,
    AddToken,
    Boundary,
    Decision,
    Effect,
    Explanation,
    FineGrained,
    GitRequest,
    GitService,
    Grant,
    GrantAccess,
    Header,
    HttpRequest,
    Legacy,
    Membership,
    NewToken,
    PermissionNames,
    PermissionRequest,
    Reason,
    ReasonCode,
    ReceivePack,
    RefUpdate,
    RemoveMembership,
    Request,
    RevokeToken,
    Timestamp,
    TokenKind,
    TokenRef,
    TokenReport,
    Update,
    UploadPack,
    now,
)

__version__ = "0.1.0"

__all__ = [
    "Authorizer",
    "EngineHost",
    "new_engine",
    "INTERFACE",
    "MEMORY_LIMIT",
    "COMPONENT_FILE",
    "load_bundle",
    "packaged_component",
    *errors.__all__,
    *types.__all__,
]
