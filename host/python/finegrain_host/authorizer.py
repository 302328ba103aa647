"""Loading the finegrain engine component with wasmtime-py and calling it.

:class:`EngineHost` compiles the component once per :class:`wasmtime.Engine` (an
explicit engine with the component model on; pass your own to share it) and an
empty component :class:`wasmtime.component.Linker`: the component imports only
two types-only interfaces, which need no definitions.

:class:`Authorizer` is one loaded policy: its own :class:`wasmtime.Store` with
memory, table and instance limits set on purpose, one component instance and the
``authorizer`` resource inside it. It is not thread-safe (a wasmtime store is
not); use one per thread, they share the compiled component.

Decisions carry permission ids; the host reads the bundle's names table
(``permission-names``) once per instance, when it loads the bundle (and again
when it rebuilds the instance), and hands out decisions with names. The
``check`` calls return reasons without details (the engine formats no text on
that path); :meth:`Authorizer.describe` returns the same decision with them.

The host never lets a guest failure look like an answer: if the guest traps, a
check fails closed (deny, reason ``engine_failure``, whose detail says what
failed), other calls raise :class:`EngineFailure`, and the instance is rebuilt
from the bundle and the updates applied since before the next call. A decision
the host cannot map (a permission id outside the names table) is denied the
same way.

Limits: every call runs under an epoch deadline (``call_deadline``, loading under
``load_deadline``); a ticker thread advances the epoch of engines made by
:func:`new_engine` every :data:`TICK` seconds, so a runaway call is interrupted
within its deadline plus one tick and denied with ``engine_failure``. Memory per
instance is capped (by default sized for the bundle, at least
:data:`MEMORY_LIMIT`). Reason details from the guest are held to one line of at
most :data:`MAX_DETAIL` bytes; the full error of a failure goes to the
``finegrain`` logger.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
import time
import weakref
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import wasmtime
from wasmtime import component as wc

from . import _wit
from ._wit import UntrustedAnswer
from ._speedups import accelerate
from .errors import ApplyError, BundleError, ComponentError, EngineFailure, TokenNotFound
from .types import (
    Decision,
    Effect,
    Explanation,
    GitRequest,
    HttpRequest,
    PermissionNames,
    PermissionRequest,
    Reason,
    ReasonCode,
    Request,
    TokenRef,
    TokenReport,
    Timestamp,
    Update,
    now,
)

__all__ = ["EngineHost", "Authorizer", "new_engine", "MEMORY_LIMIT", "INTERFACE"]

_log = logging.getLogger("finegrain")

#: The exported interface the host calls.
INTERFACE = "finegrain:authz/authorize@0.3.0"

#: The smallest default memory limit per instance (as the Rust host: 512 MiB).
MEMORY_LIMIT = 512 << 20
#: The largest memory a 32-bit guest can address: 4 GiB.
MEMORY_CEILING = 4 << 30
#: Default memory per bundle byte (the engine indexes the bundle in memory).
MEMORY_PER_BUNDLE_BYTE = 16
#: How often the epoch of an engine made by :func:`new_engine` advances, in seconds.
TICK = 0.005
#: Default longest guest call, and longest bundle load, in seconds.
CALL_DEADLINE = 1.0
LOAD_DEADLINE = 60.0
#: Longest reason detail passed on, in bytes, and most reasons per decision:
#: far above what the engine writes, so only a broken or hostile component is cut
#: (the same bounds as the Rust host's ``failure`` module).
MAX_DETAIL = 64 << 10
MAX_REASONS = 4096
#: Most explanation steps passed on.
MAX_STEPS = 1024
#: Deepest wasm stack allowed; the engine recurses nowhere deep.
MAX_WASM_STACK = 1 << 20

_FUNCTIONS = {
    "load": "[static]authorizer.load",
    "permission_names": "[method]authorizer.permission-names",
    "check": "[method]authorizer.check",
    "check_http": "[method]authorizer.check-http",
    "check_git": "[method]authorizer.check-git",
    "check_batch": "[method]authorizer.check-batch",
    "describe": "[method]authorizer.describe",
    "explain": "[method]authorizer.explain",
    "inspect_token": "[method]authorizer.inspect-token",
    "apply": "[method]authorizer.apply",
    "revision": "[method]authorizer.revision",
}

PathLike = Union[str, "os.PathLike[str]"]

# wasmtime raises WasmtimeError for a trap inside a component call (Trap for core
# wasm); both mean the guest failed, not that the caller passed a bad value.
_GUEST_ERRORS = (wasmtime.WasmtimeError, wasmtime.Trap)


def new_engine() -> wasmtime.Engine:
    """An engine configured as this host needs: component model on, a bounded
    stack, epoch interruption with a daemon thread advancing the epoch every
    :data:`TICK` seconds for as long as the engine lives."""
    config = wasmtime.Config()
    config.wasm_component_model = True
    config.max_wasm_stack = MAX_WASM_STACK
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    ref = weakref.ref(engine)

    def tick() -> None:
        while True:
            time.sleep(TICK)
            alive = ref()
            if alive is None:
                return
            alive.increment_epoch()
            del alive

    threading.Thread(target=tick, name="finegrain-epoch", daemon=True).start()
    return engine


def _ticks(seconds: float) -> int:
    """A deadline in whole epoch ticks, rounded up, at least one."""
    return max(1, -(-int(seconds * 1_000_000) // int(TICK * 1_000_000)))


def _one_line(text: str) -> str:
    """The first line of `text`, cut to :data:`MAX_DETAIL` bytes."""
    line = text.split("\n", 1)[0]
    raw = line.encode("utf-8")
    if len(raw) <= MAX_DETAIL:
        return line
    return raw[:MAX_DETAIL].decode("utf-8", "ignore") + "…"


def _detail_ok(detail: Optional[str]) -> bool:
    return detail is None or (len(detail) <= MAX_DETAIL and "\n" not in detail)


def _bounded(decision: Decision) -> Decision:
    """A guest's decision held to one-line details and :data:`MAX_REASONS` reasons."""
    reasons = decision.reasons
    if len(reasons) <= MAX_REASONS and all(_detail_ok(r.detail) for r in reasons):
        return decision
    bounded = tuple(
        Reason(r.code, None if r.detail is None else _one_line(r.detail)) for r in reasons[:MAX_REASONS]
    )
    return dataclasses.replace(decision, reasons=bounded)


def _describe(error: BaseException, deadline: float) -> str:
    """One line saying why a guest call failed; the whole error goes to the log."""
    _log.warning("the engine failed: %s", error)
    text = str(error)
    traps = [line.strip() for line in text.splitlines() if "wasm trap:" in line]
    if traps and traps[-1].endswith("wasm trap: interrupt"):
        return f"the engine ran past its deadline of {round(deadline * 1000)} ms and was interrupted"
    if traps:
        return _one_line("the engine trapped: " + traps[-1].split("wasm trap:", 1)[1].strip())
    return _one_line(f"the engine failed: {text.strip()}")


def _read(path: PathLike) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class EngineHost:
    """A compiled engine component, ready to load policy bundles.

    Compiling takes about half a second; do it once per process (or use
    :meth:`shared`, which caches per engine and component digest) and load as many
    bundles as needed with :meth:`load`.
    """

    # Hosts compiled with the process-wide default engine stay for the process; those
    # compiled with an engine the caller passed stay while anything uses them.
    _default_engine: Optional[wasmtime.Engine] = None
    _default_hosts: Dict[str, "EngineHost"] = {}
    _hosts: "weakref.WeakValueDictionary[Tuple[int, str], EngineHost]" = weakref.WeakValueDictionary()
    _lock = threading.Lock()

    def __init__(
        self,
        component: bytes,
        *,
        engine: Optional[wasmtime.Engine] = None,
        memory_limit: Optional[int] = None,
        call_deadline: float = CALL_DEADLINE,
        load_deadline: float = LOAD_DEADLINE,
        fast: bool = True,
    ) -> None:
        """Compiles `component` (its bytes) with `engine` (a new one by default; a
        shared engine must have the component model on, and needs epoch
        interruption and a ticker for the deadlines: use :func:`new_engine`).
        `memory_limit` caps each policy instance's linear memory, in bytes
        (default: ``max(MEMORY_LIMIT, MEMORY_PER_BUNDLE_BYTE × bundle size)``, at
        most 4 GiB). `call_deadline` and `load_deadline` bound each guest call
        and each bundle load, in seconds. `fast=False` uses wasmtime-py's value
        conversions unmodified (see ``_speedups``)."""
        self.engine = engine if engine is not None else new_engine()
        self.memory_limit = memory_limit
        self.call_deadline = call_deadline
        self.load_deadline = load_deadline
        self.fast = fast
        try:
            self.component = wc.Component(self.engine, bytes(component))
        except wasmtime.WasmtimeError as e:
            raise ComponentError(f"the engine component is not valid: {e}") from None
        # The component imports only types-only interfaces, so the linker stays empty.
        self.linker = wc.Linker(self.engine)
        interface = self.component.get_export_index(INTERFACE)
        if interface is None:
            raise ComponentError(f"the component does not export {INTERFACE}")
        indexes = {}
        for attr, name in _FUNCTIONS.items():
            index = self.component.get_export_index(name, interface)
            if index is None:
                raise ComponentError(f"the component's {INTERFACE} has no function {name}")
            indexes[attr] = index
        self._indexes = indexes

    @classmethod
    def shared(cls, component: bytes, *, engine: Optional[wasmtime.Engine] = None) -> "EngineHost":
        """The host for `component` compiled with `engine` (a process-wide default
        engine if none), compiling it only the first time."""
        digest = hashlib.sha256(component).hexdigest()
        with cls._lock:
            if engine is None:
                if cls._default_engine is None:
                    cls._default_engine = new_engine()
                host = cls._default_hosts.get(digest)
                if host is None:
                    host = cls._default_hosts[digest] = cls(component, engine=cls._default_engine)
                return host
            # The host holds its engine, so id(engine) cannot be reused while the entry lives.
            key = (id(engine), digest)
            host = cls._hosts.get(key)
            if host is None:
                host = cls(component, engine=engine)
                cls._hosts[key] = host
            return host

    @classmethod
    def from_file(cls, path: PathLike, **kwargs: Any) -> "EngineHost":
        return cls(_read(path), **kwargs)

    def load(self, bundle: bytes) -> "Authorizer":
        """Loads a policy bundle into a fresh instance. Raises :class:`BundleError`
        with the engine's one-line message if the engine refuses the bundle."""
        return Authorizer(self, bytes(bundle))

    # -- for Authorizer ------------------------------------------------------------

    def memory_for(self, bundle: bytes) -> int:
        """The memory limit of an instance loading `bundle`."""
        if self.memory_limit is not None:
            return self.memory_limit
        return min(MEMORY_CEILING, max(MEMORY_LIMIT, MEMORY_PER_BUNDLE_BYTE * len(bundle)))

    def _instantiate(self, bundle: bytes) -> "_Instance":
        store = wasmtime.Store(self.engine)
        store.set_epoch_deadline(_ticks(self.load_deadline))
        store.set_limits(
            memory_size=self.memory_for(bundle),
            table_elements=100_000,
            instances=8,
            tables=8,
            memories=2,
        )
        try:
            instance = self.linker.instantiate(store, self.component)
        except _GUEST_ERRORS as e:
            raise ComponentError(f"cannot instantiate the engine component: {e}") from None
        funcs = {}
        for attr, index in self._indexes.items():
            func = instance.get_func(store, index)
            if func is None:  # pragma: no cover - checked by the export index
                raise ComponentError(f"{_FUNCTIONS[attr]} is not a function")
            funcs[attr] = accelerate(func, store) if self.fast else func
        try:
            loaded = funcs["load"](store, bundle)
        except _GUEST_ERRORS as e:
            raise EngineFailure(f"cannot load the bundle: {_describe(e, self.load_deadline)}") from None
        if isinstance(loaded, str):  # result<authorizer, string>: the error lifts as a bare str
            raise BundleError(_one_line(loaded))
        instance = _Instance(store, funcs, loaded, _ticks(self.call_deadline))
        # The names of the ids in decisions: read once per instance, as they do not
        # change with `apply`.
        try:
            instance.names = _wit.permission_names(instance.call("permission_names"))
        except _GUEST_ERRORS as e:
            instance.close()
            raise EngineFailure(f"cannot read the permission names: {_describe(e, self.call_deadline)}") from None
        return instance


class _Instance:
    """A store, its instance's functions, the `authorizer` resource, and the
    names of the permission ids its decisions carry."""

    __slots__ = ("store", "funcs", "resource", "ticks", "names")

    def __init__(
        self, store: wasmtime.Store, funcs: Dict[str, wc.Func], resource: wc.ResourceAny, ticks: int
    ) -> None:
        self.store = store
        self.funcs = funcs
        self.resource = resource
        self.ticks = ticks
        self.names = PermissionNames((), ())

    def call(self, name: str, *args: Any) -> Any:
        self.store.set_epoch_deadline(self.ticks)
        return self.funcs[name](self.store, self.resource, *args)

    def close(self) -> None:
        try:
            self.resource.drop(self.store)
        except _GUEST_ERRORS:  # pragma: no cover - the store goes away regardless
            pass
        self.store.close()


def _engine_failure(error: BaseException, revision: int = 0) -> Decision:
    """The deny for a guest call that failed; `error` is an :class:`EngineFailure`
    whose message is already one line. Its reason carries that message as its
    detail, even from a ``check`` call: the host cannot say it again later."""
    return Decision(
        effect=Effect.DENY,
        reasons=(Reason(ReasonCode.ENGINE_FAILURE, str(error)),),
        revision=revision,
    )


def _untrusted(error: UntrustedAnswer) -> EngineFailure:
    """The engine failure for an answer the host cannot map."""
    _log.warning("the engine gave an answer the host cannot map: %s", error)
    return EngineFailure(_one_line(str(error)))


class Authorizer:
    """One loaded policy. Each check is independent; the policy changes only
    through :meth:`apply`.

    >>> authz = Authorizer.from_files("finegrain.wasm", "acme.bundle")
    >>> authz.check_http(HttpRequest(method="GET", path="/api/v4/user",
    ...                              headers=[("PRIVATE-TOKEN", "glpat-…")])).effect
    """

    def __init__(self, host: EngineHost, bundle: bytes) -> None:
        """Use :meth:`from_files`, :meth:`from_bytes` or :meth:`EngineHost.load`."""
        self.host = host
        self._bundle = bundle
        self._applied: List[List[Any]] = []
        self._instance: Optional[_Instance] = host._instantiate(bundle)
        self._poisoned = False
        self._revision = 0
        self._revision = self.revision()

    @classmethod
    def from_bytes(
        cls, component: bytes, bundle: bytes, *, engine: Optional[wasmtime.Engine] = None
    ) -> "Authorizer":
        """Loads `bundle` into the engine `component` (both as bytes). The component
        is compiled once per engine and reused (see :meth:`EngineHost.shared`)."""
        return EngineHost.shared(bytes(component), engine=engine).load(bundle)

    @classmethod
    def from_files(
        cls, component_path: PathLike, bundle_path: PathLike, *, engine: Optional[wasmtime.Engine] = None
    ) -> "Authorizer":
        """:meth:`from_bytes` with the two files read."""
        return cls.from_bytes(_read(component_path), _read(bundle_path), engine=engine)

    # -- the engine's calls ----------------------------------------------------------

    def permission_names(self) -> PermissionNames:
        """The bundle's names of the permission ids (read from the engine at load;
        decisions already carry names, mapped with this table)."""
        if self._instance is None:
            raise ValueError("the authorizer is closed")
        return self._instance.names

    def check(self, request: PermissionRequest) -> Decision:
        """"May this token use permission P on namespace NS?" Its reasons carry
        no detail (see :meth:`describe`)."""
        if not isinstance(request, PermissionRequest):
            raise TypeError(f"check takes a PermissionRequest, not {type(request).__name__}")
        return self._decide("check", _wit.permission_request(request))

    def check_http(self, request: HttpRequest) -> Decision:
        """Decides an HTTP request as a gateway sees it."""
        if not isinstance(request, HttpRequest):
            raise TypeError(f"check_http takes an HttpRequest, not {type(request).__name__}")
        return self._decide("check_http", _wit.http_request(request))

    def check_git(self, request: GitRequest) -> Decision:
        """Decides a Git fetch or push."""
        if not isinstance(request, GitRequest):
            raise TypeError(f"check_git takes a GitRequest, not {type(request).__name__}")
        return self._decide("check_git", _wit.git_request(request))

    def check_request(self, request: Request) -> Decision:
        """Decides any request with the matching single call."""
        if isinstance(request, PermissionRequest):
            return self.check(request)
        if isinstance(request, HttpRequest):
            return self.check_http(request)
        if isinstance(request, GitRequest):
            return self.check_git(request)
        raise TypeError(f"expected a request, not {type(request).__name__}")

    def check_batch(self, requests: Iterable[Request]) -> List[Decision]:
        """Many checks in one call; decisions come back in request order, their
        reasons without details. The fast path: one guest call and one conversion
        of the whole list. If the guest fails on the batch (or answers something
        the host cannot map), each request is decided alone, so a failing entry
        denies only itself."""
        requests = list(requests)
        wit = [_wit.request(r) for r in requests]
        if not wit:
            return []
        try:
            decisions = [_bounded(d) for d in self._lift(_wit.decisions, self._call("check_batch", wit))]
        except EngineFailure:
            return [self.check_request(r) for r in requests]
        if len(decisions) != len(requests):
            return [self.check_request(r) for r in requests]
        self._revision = decisions[-1].revision
        return decisions

    def describe(self, request: Request) -> Decision:
        """The decision :meth:`check_request` gives, with every reason's detail: a
        sentence for people (a 403 body, a CLI). Typically called after a check
        denied; the details never contain a secret."""
        return self._decide("describe", _wit.request(request))

    def explain(self, request: Request) -> Explanation:
        """The described decision with the engine's step-by-step account."""
        wit = _wit.request(request)
        try:
            explanation = self._lift(_wit.explanation, self._call("explain", wit))
        except EngineFailure as e:
            return Explanation(_engine_failure(e, self._revision), (str(e),))
        steps = tuple(_one_line(step) for step in explanation.steps[:MAX_STEPS])
        return Explanation(_bounded(explanation.decision), steps)

    def inspect_token(self, token: TokenRef, at: Optional[Timestamp] = None) -> TokenReport:
        """What the token may do, per namespace, at `at` (now by default). Raises
        :class:`TokenNotFound` with the engine's message for an unknown token."""
        if not isinstance(token, TokenRef):
            raise TypeError(f"inspect_token takes a TokenRef, not {type(token).__name__}")
        result = self._call("inspect_token", _wit.token_ref(token), now() if at is None else at)
        if isinstance(result, str):
            raise TokenNotFound(result)
        return _wit.token_report(result)

    def apply(self, updates: Sequence[Update]) -> int:
        """Applies the updates all together or not at all; returns the new revision.
        Raises :class:`ApplyError` with the engine's message (nothing changed)."""
        wit = [_wit.update(u) for u in updates]
        result = self._call("apply", wit)
        if isinstance(result, str):
            raise ApplyError(_one_line(result))
        self._applied.append(list(updates))
        self._revision = int(result)
        return self._revision

    def revision(self) -> int:
        """The policy revision: the bundle's, plus one per successful :meth:`apply`."""
        self._revision = int(self._call("revision"))
        return self._revision

    # -- life cycle ------------------------------------------------------------------

    def close(self) -> None:
        """Drops the authorizer resource and the store. Further calls raise."""
        if self._instance is not None:
            self._instance.close()
            self._instance = None

    def __enter__(self) -> "Authorizer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------

    def _decide(self, name: str, wit_request: Any) -> Decision:
        try:
            decision = _bounded(self._lift(_wit.decision, self._call(name, wit_request)))
        except EngineFailure as e:
            return _engine_failure(e, self._revision)
        self._revision = decision.revision
        return decision

    def _lift(self, lift: Any, value: Any) -> Any:
        """`lift(value, names)` with the names of the instance that answered (a
        call rebuilds a failed instance before it runs, so it is the current one);
        an answer the host cannot map raises :class:`EngineFailure`."""
        assert self._instance is not None
        try:
            return lift(value, self._instance.names)
        except UntrustedAnswer as e:
            raise _untrusted(e) from None

    def _call(self, name: str, *args: Any) -> Any:
        if self._instance is None:
            raise ValueError("the authorizer is closed")
        if self._poisoned:
            self._recover()
        try:
            return self._instance.call(name, *args)
        except _GUEST_ERRORS as e:
            self._poisoned = True
            raise EngineFailure(_describe(e, self.host.call_deadline)) from None

    def _recover(self) -> None:
        """Rebuilds the instance after a trap: the bundle plus every update applied."""
        try:
            instance = self.host._instantiate(self._bundle)
            for updates in self._applied:
                result = instance.call("apply", [_wit.update(u) for u in updates])
                if isinstance(result, str):
                    raise EngineFailure(f"replaying updates after a failure: {result}")
        except (BundleError, ComponentError) as e:
            raise EngineFailure(f"cannot rebuild the engine instance: {e}") from None
        except _GUEST_ERRORS as e:
            raise EngineFailure(f"cannot rebuild the engine instance: {e}") from None
        old, self._instance = self._instance, instance
        self._poisoned = False
        if old is not None:
            try:
                old.store.close()
            except Exception:  # pragma: no cover
                pass
