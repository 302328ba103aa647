"""Typed requests, decisions and updates, mirroring the records of `wit/authz.wit`.

Written by hand and checked against the WIT by ``tests/test_wit_types.py``: each
record is the dataclass of the same name (``http-request`` is
:class:`HttpRequest`) with the same fields in the same order, each enum a `str`
enum of its cases in snake case, each variant a class per case.

Every type converts to and from the JSON shapes the Rust host uses (serde,
externally tagged, snake_case): ``to_json()`` returns plain dicts/lists/strings
ready for :func:`json.dumps`, ``from_json()`` accepts the parsed value (or a JSON
string). A ``cases.json`` request loads with :meth:`Request.from_json`, and a
decision compares equal to ``Decision.from_json(case["decision"])``.

Sequences are stored as tuples so that the frozen dataclasses are hashable;
constructors accept any iterable.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Iterable, Optional, Tuple, Type, TypeVar, Union

__all__ = [
    "Timestamp",
    "now",
    "TokenRef",
    "Request",
    "PermissionRequest",
    "Header",
    "HttpRequest",
    "RefUpdate",
    "GitService",
    "UploadPack",
    "ReceivePack",
    "GitRequest",
    "Effect",
    "Boundary",
    "ReasonCode",
    "Reason",
    "PermissionNames",
    "Decision",
    "Explanation",
    "AccessEntry",
    "TokenReport",
    "GrantAccess",
    "Grant",
    "TokenKind",
    "Legacy",
    "FineGrained",
    "NewToken",
    "Membership",
    "Update",
    "AddToken",
    "RevokeToken",
    "AddMembership",
    "RemoveMembership",
]

#: Seconds since 1970-01-01T00:00:00Z.
Timestamp = int

T = TypeVar("T")


def now() -> Timestamp:
    """The current time as a WIT `timestamp` (the engine has no clock of its own)."""
    return int(time.time())


def _parse(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes, bytearray)) else value


def _tagged(value: Any, what: str, *, units: bool = False) -> Tuple[str, Any]:
    """Splits serde's externally tagged form: ``{"tag": payload}``, or ``"tag"`` for a
    case without payload when the type has such cases (`units`). Where a bare string
    cannot be a value, a string is parsed as JSON text."""
    if not units:
        value = _parse(value)
    elif isinstance(value, (bytes, bytearray)):
        value = json.loads(value)
    if isinstance(value, str) and units:
        return value, None
    if isinstance(value, dict) and len(value) == 1:
        ((tag, payload),) = value.items()
        return tag, payload
    raise ValueError(f"not a {what}: {value!r}")


def _freeze(obj: Any, name: str, items: Iterable[Any], convert: Any = None) -> None:
    values = tuple(items if convert is None else (convert(i) for i in items))
    object.__setattr__(obj, name, values)


# --- token references -----------------------------------------------------------


@dataclass(frozen=True)
class TokenRef:
    """How a request names its token: by its secret (gateways) or by its name (tools, tests).

    Build one with ``TokenRef.secret("glpat-…")`` or ``TokenRef.name("alice-ci")``.
    """

    kind: str  # "secret" or "name"
    value: str

    KINDS: ClassVar[Tuple[str, str]] = ("secret", "name")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"token-ref kind must be 'secret' or 'name', not {self.kind!r}")

    @classmethod
    def secret(cls, secret: str) -> "TokenRef":
        return cls("secret", secret)

    @classmethod
    def name(cls, name: str) -> "TokenRef":  # noqa: D102 (mirrors the WIT case)
        return cls("name", name)

    def __repr__(self) -> str:
        # Never print a secret.
        shown = "…" if self.kind == "secret" else repr(self.value)
        return f"TokenRef.{self.kind}({shown})"

    def to_json(self) -> Dict[str, str]:
        return {self.kind: self.value}

    @classmethod
    def from_json(cls, value: Any) -> "TokenRef":
        tag, payload = _tagged(value, "token-ref")
        if tag not in cls.KINDS or not isinstance(payload, str):
            raise ValueError(f"not a token-ref: {value!r}")
        return cls(tag, payload)


def _opt_token(value: Any) -> Optional[TokenRef]:
    return None if value is None else TokenRef.from_json(value)


# --- requests ---------------------------------------------------------------------


class Request:
    """Any check: a :class:`PermissionRequest`, :class:`HttpRequest` or :class:`GitRequest`.

    ``to_json()`` of a request is the externally tagged form ``{"http": {...}}``.
    """

    TAG: ClassVar[str] = ""

    def to_json(self) -> Dict[str, Any]:
        return {self.TAG: self._body_json()}

    def _body_json(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _from_body(cls: Type[T], body: Dict[str, Any]) -> T:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_json(cls, value: Any) -> "Request":
        tag, body = _tagged(value, "request")
        kinds: Dict[str, Type[Request]] = {
            "permission": PermissionRequest,
            "http": HttpRequest,
            "git": GitRequest,
        }
        kind = kinds.get(tag)
        if kind is None or not isinstance(body, dict):
            raise ValueError(f"not a request: {value!r}")
        if cls is not Request and kind is not cls:
            raise ValueError(f"expected a {cls.TAG} request, got {tag!r}")
        return kind._from_body(body)


@dataclass(frozen=True, kw_only=True)
class PermissionRequest(Request):
    """"May this token use permission P on namespace NS [on ref R, forced]?" """

    token: TokenRef
    permission: str
    namespace: Optional[str] = None
    ref_name: Optional[str] = None
    force: bool = False
    at: Timestamp = field(default_factory=now)

    TAG: ClassVar[str] = "permission"

    def _body_json(self) -> Dict[str, Any]:
        return {
            "token": self.token.to_json(),
            "permission": self.permission,
            "namespace": self.namespace,
            "ref_name": self.ref_name,
            "force": self.force,
            "at": self.at,
        }

    @classmethod
    def _from_body(cls, body: Dict[str, Any]) -> "PermissionRequest":
        return cls(
            token=TokenRef.from_json(body["token"]),
            permission=body["permission"],
            namespace=body.get("namespace"),
            ref_name=body.get("ref_name"),
            force=bool(body.get("force", False)),
            at=body["at"],
        )


@dataclass(frozen=True)
class Header:
    """One HTTP header as received. Names compare case-insensitively in the engine."""

    name: str
    value: str

    def __repr__(self) -> str:
        sensitive = self.name.lower() in ("private-token", "authorization", "job-token")
        return f"Header({self.name!r}, {'…' if sensitive else repr(self.value)})"


def _header(value: Union[Header, Tuple[str, str], list]) -> Header:
    if isinstance(value, Header):
        return value
    name, val = value
    return Header(name, val)


@dataclass(frozen=True, kw_only=True)
class HttpRequest(Request):
    """An HTTP request as a gateway sees it; `path` includes the query.

    With ``token=None`` the engine reads the token from the headers and query.
    ``headers`` accepts :class:`Header` objects or ``(name, value)`` pairs.
    ``body`` is read for GraphQL and for POSTs with a form content type (or
    none); ``None`` reads as an empty body. ``owner`` is the full path or id of
    the project or group owning the object an object-addressed route names
    (``/runners/:id``), when the host has looked it up: the route is then decided
    at that namespace instead of at the instance boundary.

    The fields are in the order of the WIT record (all are keyword-only).
    """

    token: Optional[TokenRef] = None
    method: str
    path: str
    headers: Tuple[Header, ...] = ()
    body: Optional[str] = None
    owner: Optional[str] = None
    at: Timestamp = field(default_factory=now)

    TAG: ClassVar[str] = "http"

    def __post_init__(self) -> None:
        _freeze(self, "headers", self.headers, _header)

    def _body_json(self) -> Dict[str, Any]:
        # As the Rust host's serde: `body` and `owner` are left out when `None`.
        body: Dict[str, Any] = {
            "token": None if self.token is None else self.token.to_json(),
            "method": self.method,
            "path": self.path,
            "headers": [[h.name, h.value] for h in self.headers],
            "at": self.at,
        }
        if self.body is not None:
            body["body"] = self.body
        if self.owner is not None:
            body["owner"] = self.owner
        return body

    @classmethod
    def _from_body(cls, body: Dict[str, Any]) -> "HttpRequest":
        return cls(
            token=_opt_token(body.get("token")),
            method=body["method"],
            path=body["path"],
            headers=body.get("headers", ()),
            body=body.get("body"),
            owner=body.get("owner"),
            at=body["at"],
        )


@dataclass(frozen=True, kw_only=True)
class RefUpdate:
    """One ref a push updates. ``force`` says the update is not a fast-forward.

    The fields are in the order of the WIT record (all are keyword-only).
    """

    old_id: str = ""
    new_id: str = ""
    name: str
    force: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"old_id": self.old_id, "new_id": self.new_id, "name": self.name, "force": self.force}

    @classmethod
    def from_json(cls, value: Any) -> "RefUpdate":
        value = _parse(value)
        return cls(
            name=value["name"],
            old_id=value.get("old_id", ""),
            new_id=value.get("new_id", ""),
            force=bool(value.get("force", False)),
        )


class GitService:
    """The Git service a client asks for: :class:`UploadPack` or :class:`ReceivePack`."""

    def to_json(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def from_json(value: Any) -> "GitService":
        tag, payload = _tagged(value, "git-service", units=True)
        if tag == "upload_pack" and payload is None:
            return UploadPack()
        if tag == "receive_pack" and isinstance(payload, list):
            return ReceivePack(tuple(payload))
        raise ValueError(f"not a git-service: {value!r}")


@dataclass(frozen=True)
class UploadPack(GitService):
    """Clone or fetch."""

    def to_json(self) -> str:
        return "upload_pack"


@dataclass(frozen=True)
class ReceivePack(GitService):
    """Push of these ref updates (:class:`RefUpdate` objects or their JSON dicts)."""

    updates: Tuple[RefUpdate, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "updates", self.updates, lambda u: u if isinstance(u, RefUpdate) else RefUpdate.from_json(u))

    def to_json(self) -> Dict[str, Any]:
        return {"receive_pack": [u.to_json() for u in self.updates]}


@dataclass(frozen=True, kw_only=True)
class GitRequest(Request):
    """"May this token fetch from / push to this project?" """

    token: TokenRef
    project: str
    service: GitService = field(default_factory=UploadPack)
    at: Timestamp = field(default_factory=now)

    TAG: ClassVar[str] = "git"

    def _body_json(self) -> Dict[str, Any]:
        return {"token": self.token.to_json(), "project": self.project, "service": self.service.to_json(), "at": self.at}

    @classmethod
    def _from_body(cls, body: Dict[str, Any]) -> "GitRequest":
        return cls(
            token=TokenRef.from_json(body["token"]),
            project=body["project"],
            service=GitService.from_json(body["service"]),
            at=body["at"],
        )


# --- decisions --------------------------------------------------------------------


class Effect(str, enum.Enum):
    """Allow or deny. A `str`, so ``decision.effect == "allow"`` works."""

    ALLOW = "allow"
    DENY = "deny"

    def __str__(self) -> str:
        return self.value


class Boundary(str, enum.Enum):
    """Where a token's access applies (tried in this order)."""

    PROJECT = "project"
    GROUP = "group"
    USER = "user"
    INSTANCE = "instance"

    def __str__(self) -> str:
        return self.value


class ReasonCode(str, enum.Enum):
    """Why a decision came out as it did: the cases of the WIT ``reason-code`` enum,
    spelt in snake case as decisions, JSON and scenario files spell them
    (``token-revoked`` is ``token_revoked``). A `str`, so
    ``reason.code == "token_revoked"`` works.

    :attr:`ENGINE_FAILURE` is the host's own: no engine returns it; the host
    denies with it when the engine fails (a trap, a deadline, an answer it cannot
    trust).
    """

    ALLOWED = "allowed"
    TOKEN_MISSING = "token_missing"
    TOKEN_UNKNOWN = "token_unknown"
    TOKEN_REVOKED = "token_revoked"
    TOKEN_EXPIRED = "token_expired"
    USER_INACTIVE = "user_inactive"
    MALFORMED_REQUEST = "malformed_request"
    AMBIGUOUS_REQUEST = "ambiguous_request"
    ENDPOINT_UNKNOWN = "endpoint_unknown"
    ENDPOINT_NOT_FOR_TOKENS = "endpoint_not_for_tokens"
    PERMISSION_UNKNOWN = "permission_unknown"
    NAMESPACE_UNKNOWN = "namespace_unknown"
    SCOPE_EXCLUDES_NAMESPACE = "scope_excludes_namespace"
    TOKEN_LACKS_PERMISSION = "token_lacks_permission"
    USER_LACKS_ABILITY = "user_lacks_ability"
    BRANCH_PROTECTED = "branch_protected"
    TAG_PROTECTED = "tag_protected"
    FORCE_PUSH_FORBIDDEN = "force_push_forbidden"
    #: Host only (not a WIT case): the engine failed, so the host denied.
    ENGINE_FAILURE = "engine_failure"

    def __str__(self) -> str:
        return self.value


#: The reason codes only a host writes, never the engine (not cases of the WIT enum).
HOST_REASON_CODES = frozenset({ReasonCode.ENGINE_FAILURE})


@dataclass(frozen=True)
class Reason:
    """A stable machine-readable `code` and, when the decision was described, a
    `detail` sentence for people.

    The ``check`` calls return reasons without a detail (``None``: the engine
    formats no text on that path); :meth:`Authorizer.describe` and ``explain``
    fill it in. ``code`` accepts a :class:`ReasonCode` or its snake-case string.
    """

    code: ReasonCode
    detail: Optional[str] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", ReasonCode(self.code))

    @property
    def text(self) -> str:
        """The detail for people, or the code when the reason carries none."""
        return self.code.value if self.detail is None else self.detail

    def to_json(self) -> Dict[str, str]:
        """``{"code": …, "detail": …}``, without ``detail`` when there is none (as the Rust host)."""
        out = {"code": self.code.value}
        if self.detail is not None:
            out["detail"] = self.detail
        return out

    @classmethod
    def from_json(cls, value: Any) -> "Reason":
        value = _parse(value)
        return cls(value["code"], value.get("detail"))


@dataclass(frozen=True)
class PermissionNames:
    """The names of the permission ids the engine puts in decisions (WIT
    ``permission-names``): ``raw[i]`` names raw permission id ``i`` and
    ``assignable[i]`` assignable permission id ``i``.

    They are those of the bundle's catalog and do not change with ``apply``;
    :class:`Authorizer` reads them once per load and maps the ids of every
    decision to names, so a :class:`Decision` carries names.
    """

    raw: Tuple[str, ...]
    assignable: Tuple[str, ...]

    def __post_init__(self) -> None:
        _freeze(self, "raw", self.raw)
        _freeze(self, "assignable", self.assignable)

    def to_json(self) -> Dict[str, Any]:
        return {"raw": list(self.raw), "assignable": list(self.assignable)}

    @classmethod
    def from_json(cls, value: Any) -> "PermissionNames":
        value = _parse(value)
        return cls(value["raw"], value["assignable"])


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The answer to one check.

    ``required_permissions`` and ``accepted_permissions`` are names: the engine
    sends ids (WIT ``permission-id`` and ``assignable-id``) and the host maps
    them with the bundle's :class:`PermissionNames`.
    """

    effect: Effect
    reasons: Tuple[Reason, ...]
    required_permissions: Tuple[str, ...] = ()
    accepted_permissions: Tuple[str, ...] = ()
    boundary: Optional[Boundary] = None
    namespace: Optional[str] = None
    revision: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "effect", Effect(self.effect))
        if self.boundary is not None:
            object.__setattr__(self, "boundary", Boundary(self.boundary))
        _freeze(self, "reasons", self.reasons, lambda r: r if isinstance(r, Reason) else Reason.from_json(r))
        _freeze(self, "required_permissions", self.required_permissions)
        _freeze(self, "accepted_permissions", self.accepted_permissions)

    @property
    def allowed(self) -> bool:
        """Whether the effect is allow."""
        return self.effect is Effect.ALLOW

    @property
    def codes(self) -> Tuple[ReasonCode, ...]:
        """The reason codes, in order (each a `str` too)."""
        return tuple(r.code for r in self.reasons)

    def has_reason(self, code: Union[ReasonCode, str]) -> bool:
        """Whether any reason has this code."""
        return any(r.code == code for r in self.reasons)

    def without_details(self) -> "Decision":
        """The same decision with no reason detail: what a ``check`` call returns
        for a request :meth:`Authorizer.describe` described."""
        if all(r.detail is None for r in self.reasons):
            return self
        return dataclasses.replace(self, reasons=tuple(Reason(r.code) for r in self.reasons))

    def to_json(self) -> Dict[str, Any]:
        return {
            "effect": self.effect.value,
            "reasons": [r.to_json() for r in self.reasons],
            "required_permissions": list(self.required_permissions),
            "accepted_permissions": list(self.accepted_permissions),
            "boundary": None if self.boundary is None else self.boundary.value,
            "namespace": self.namespace,
            "revision": self.revision,
        }

    @classmethod
    def from_json(cls, value: Any) -> "Decision":
        value = _parse(value)
        return cls(
            effect=Effect(value["effect"]),
            reasons=value["reasons"],
            required_permissions=value.get("required_permissions", ()),
            accepted_permissions=value.get("accepted_permissions", ()),
            boundary=value.get("boundary"),
            namespace=value.get("namespace"),
            revision=value.get("revision", 0),
        )


@dataclass(frozen=True)
class Explanation:
    """A decision with the engine's account of every step that led to it."""

    decision: Decision
    steps: Tuple[str, ...]

    def __post_init__(self) -> None:
        _freeze(self, "steps", self.steps)

    def to_json(self) -> Dict[str, Any]:
        return {"decision": self.decision.to_json(), "steps": list(self.steps)}

    @classmethod
    def from_json(cls, value: Any) -> "Explanation":
        value = _parse(value)
        return cls(Decision.from_json(value["decision"]), value["steps"])


@dataclass(frozen=True, kw_only=True)
class AccessEntry:
    """What a token may do in one place (token ∩ user)."""

    boundary: Boundary
    namespace: Optional[str]
    permissions: Tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "boundary", Boundary(self.boundary))
        _freeze(self, "permissions", self.permissions)

    def to_json(self) -> Dict[str, Any]:
        return {"boundary": self.boundary.value, "namespace": self.namespace, "permissions": list(self.permissions)}

    @classmethod
    def from_json(cls, value: Any) -> "AccessEntry":
        value = _parse(value)
        return cls(boundary=value["boundary"], namespace=value.get("namespace"), permissions=value["permissions"])


@dataclass(frozen=True, kw_only=True)
class TokenReport:
    """The "what can this token do" view."""

    name: str
    user: str
    kind: str  # "legacy" or "fine_grained"
    status: str  # "active", "revoked", "expired" or "user_inactive"
    expires: Optional[Timestamp]
    scopes: Tuple[str, ...]
    access: Tuple[AccessEntry, ...]

    def __post_init__(self) -> None:
        _freeze(self, "scopes", self.scopes)
        _freeze(self, "access", self.access, lambda a: a if isinstance(a, AccessEntry) else AccessEntry.from_json(a))

    def to_json(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "user": self.user,
            "kind": self.kind,
            "status": self.status,
            "expires": self.expires,
            "scopes": list(self.scopes),
            "access": [a.to_json() for a in self.access],
        }

    @classmethod
    def from_json(cls, value: Any) -> "TokenReport":
        value = _parse(value)
        return cls(
            name=value["name"],
            user=value["user"],
            kind=value["kind"],
            status=value["status"],
            expires=value.get("expires"),
            scopes=value.get("scopes", ()),
            access=value.get("access", ()),
        )


# --- updates ----------------------------------------------------------------------


@dataclass(frozen=True)
class GrantAccess:
    """Which namespaces a fine-grained grant covers.

    ``GrantAccess.selected_memberships(["acme/platform"])``, ``GrantAccess.all_memberships()``,
    ``GrantAccess.personal_projects()``, ``GrantAccess.user()``, ``GrantAccess.instance()``.
    """

    kind: str
    namespaces: Tuple[str, ...] = ()

    KINDS: ClassVar[Tuple[str, ...]] = (
        "personal_projects",
        "all_memberships",
        "selected_memberships",
        "user",
        "instance",
    )

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown grant access {self.kind!r}")
        _freeze(self, "namespaces", self.namespaces)
        if self.namespaces and self.kind != "selected_memberships":
            raise ValueError(f"{self.kind} takes no namespaces")

    @classmethod
    def personal_projects(cls) -> "GrantAccess":
        return cls("personal_projects")

    @classmethod
    def all_memberships(cls) -> "GrantAccess":
        return cls("all_memberships")

    @classmethod
    def selected_memberships(cls, namespaces: Iterable[str]) -> "GrantAccess":
        return cls("selected_memberships", tuple(namespaces))

    @classmethod
    def user(cls) -> "GrantAccess":
        return cls("user")

    @classmethod
    def instance(cls) -> "GrantAccess":
        return cls("instance")

    def to_json(self) -> Any:
        if self.kind == "selected_memberships":
            return {"selected_memberships": list(self.namespaces)}
        return self.kind

    @classmethod
    def from_json(cls, value: Any) -> "GrantAccess":
        tag, payload = _tagged(value, "grant-access", units=True)
        if tag == "selected_memberships":
            if not isinstance(payload, list):
                raise ValueError(f"not a grant-access: {value!r}")
            return cls(tag, tuple(payload))
        if payload is not None:
            raise ValueError(f"not a grant-access: {value!r}")
        return cls(tag)


@dataclass(frozen=True)
class Grant:
    """One grant of a fine-grained token: where, and which assignable permissions."""

    access: GrantAccess
    permissions: Tuple[str, ...]

    def __post_init__(self) -> None:
        _freeze(self, "permissions", self.permissions)

    def to_json(self) -> Dict[str, Any]:
        return {"access": self.access.to_json(), "permissions": list(self.permissions)}

    @classmethod
    def from_json(cls, value: Any) -> "Grant":
        value = _parse(value)
        return cls(GrantAccess.from_json(value["access"]), value["permissions"])


class TokenKind:
    """:class:`Legacy` scopes or :class:`FineGrained` grants."""

    def to_json(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def from_json(value: Any) -> "TokenKind":
        tag, payload = _tagged(value, "token-kind")
        if tag == "legacy" and isinstance(payload, list):
            return Legacy(tuple(payload))
        if tag == "fine_grained" and isinstance(payload, list):
            return FineGrained(tuple(payload))
        raise ValueError(f"not a token-kind: {value!r}")


@dataclass(frozen=True)
class Legacy(TokenKind):
    """A legacy token's scopes: ``api``, ``read_api``, ``read_repository``, …"""

    scopes: Tuple[str, ...]

    def __post_init__(self) -> None:
        _freeze(self, "scopes", self.scopes)

    def to_json(self) -> Dict[str, Any]:
        return {"legacy": list(self.scopes)}


@dataclass(frozen=True)
class FineGrained(TokenKind):
    """A fine-grained token's grants."""

    grants: Tuple[Grant, ...]

    def __post_init__(self) -> None:
        _freeze(self, "grants", self.grants, lambda g: g if isinstance(g, Grant) else Grant.from_json(g))

    def to_json(self) -> Dict[str, Any]:
        return {"fine_grained": [g.to_json() for g in self.grants]}


@dataclass(frozen=True, kw_only=True)
class NewToken:
    """A token to add. Only the SHA-256 `digest` of its secret crosses the interface."""

    name: str
    user: str
    digest: bytes
    kind: TokenKind
    expires: Optional[Timestamp] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", bytes(self.digest))
        if len(self.digest) != 32:
            raise ValueError("digest must be the 32-byte SHA-256 of the secret")

    @classmethod
    def from_secret(
        cls, *, name: str, user: str, secret: str, kind: TokenKind, expires: Optional[Timestamp] = None
    ) -> "NewToken":
        """Hashes `secret` here, so the secret itself never reaches the engine."""
        return cls(name=name, user=user, digest=hashlib.sha256(secret.encode()).digest(), kind=kind, expires=expires)

    def __repr__(self) -> str:
        return f"NewToken(name={self.name!r}, user={self.user!r}, kind={self.kind!r}, expires={self.expires!r})"

    def to_json(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "user": self.user,
            "digest": list(self.digest),
            "kind": self.kind.to_json(),
            "expires": self.expires,
        }

    @classmethod
    def from_json(cls, value: Any) -> "NewToken":
        value = _parse(value)
        return cls(
            name=value["name"],
            user=value["user"],
            digest=bytes(value["digest"]),
            kind=TokenKind.from_json(value["kind"]),
            expires=value.get("expires"),
        )


@dataclass(frozen=True, kw_only=True)
class Membership:
    """A membership to add or replace: `role` is a base role or a custom role name."""

    user: str
    namespace: str
    role: str
    expires: Optional[Timestamp] = None

    def to_json(self) -> Dict[str, Any]:
        return {"user": self.user, "namespace": self.namespace, "role": self.role, "expires": self.expires}

    @classmethod
    def from_json(cls, value: Any) -> "Membership":
        value = _parse(value)
        return cls(user=value["user"], namespace=value["namespace"], role=value["role"], expires=value.get("expires"))


class Update:
    """A change to a loaded policy: :class:`AddToken`, :class:`RevokeToken`,
    :class:`AddMembership` or :class:`RemoveMembership`."""

    def to_json(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def from_json(value: Any) -> "Update":
        tag, payload = _tagged(value, "update")
        if tag == "add_token":
            return AddToken(NewToken.from_json(payload))
        if tag == "revoke_token" and isinstance(payload, str):
            return RevokeToken(payload)
        if tag == "add_membership":
            return AddMembership(Membership.from_json(payload))
        if tag == "remove_membership" and isinstance(payload, list) and len(payload) == 2:
            return RemoveMembership(payload[0], payload[1])
        raise ValueError(f"not an update: {value!r}")


@dataclass(frozen=True)
class AddToken(Update):
    token: NewToken

    def to_json(self) -> Dict[str, Any]:
        return {"add_token": self.token.to_json()}


@dataclass(frozen=True)
class RevokeToken(Update):
    """Revokes a token by name."""

    name: str

    def to_json(self) -> Dict[str, Any]:
        return {"revoke_token": self.name}


@dataclass(frozen=True)
class AddMembership(Update):
    """Adds or replaces the user's membership in that namespace."""

    membership: Membership

    def to_json(self) -> Dict[str, Any]:
        return {"add_membership": self.membership.to_json()}


@dataclass(frozen=True)
class RemoveMembership(Update):
    """Removes the user's direct membership in that namespace."""

    user: str
    namespace: str

    def to_json(self) -> Dict[str, Any]:
        return {"remove_membership": [self.user, self.namespace]}
