"""Conversions between this package's dataclasses and wasmtime-py component values.

How wasmtime-py 50.0.1 maps WIT values (see `wasmtime/component/_types.py`):

* record   -> any object read with ``getattr(value, "<wit-field-name>")``; the names
              stay kebab-case (``ref-name``), so lowering builds a
              :class:`wasmtime.component.Record` and fills its ``__dict__``; lifted
              records are ``Record`` objects with kebab-case attributes.
* enum     -> the case name as ``str`` (``"allow"``, ``"project"``).
* option   -> ``None`` or the payload itself (no wrapper).
* variant  -> *tagged* (:class:`wasmtime.component.Variant` ``(tag, payload)``) only when
              two cases' payloads map to the same Python class; otherwise *untagged*:
              the bare payload, and ``None`` for a case without payload. So
              ``git-service`` (``upload-pack`` | ``receive-pack(list)``) is ``None`` or a
              list, while ``token-ref``, ``request``, ``update``, ``grant-access`` and
              ``token-kind`` are tagged.
* result   -> the same rule: ``result<T, string>`` lifts to the bare ok value or the
              bare error *string* (nothing is raised), so an error is told apart by
              its type.
* list<u8> -> ``bytes`` (exactly ``bytes``: ``bytearray`` is refused).
* tuple    -> ``tuple``.
* resource -> :class:`wasmtime.component.ResourceAny` (own and borrow alike).

Decisions carry permission *ids* (``u16`` indexes into the bundle's
``permission-names``); :func:`decision` maps them to names with the table the
host read at load, and refuses (:class:`UntrustedAnswer`) an id outside it or a
reason code this package does not know, so that the host fails closed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from wasmtime.component import Record, Variant

from . import types as t


class UntrustedAnswer(ValueError):
    """The engine answered something the host cannot map to its types: a
    permission id outside the names table, an unknown reason code. The host
    treats it as an engine failure (a deny with ``engine_failure``)."""


#: WIT `reason-code` case (kebab-case, as wasmtime-py lifts an enum) -> ReasonCode.
_REASON_CODES: Dict[str, t.ReasonCode] = {
    code.value.replace("_", "-"): code for code in t.ReasonCode if code not in t.HOST_REASON_CODES
}


def _record(fields: dict) -> Record:
    rec = Record()
    rec.__dict__.update(fields)
    return rec


# --- lowering (Python -> component) -------------------------------------------------


def token_ref(ref: t.TokenRef) -> Variant:
    return Variant(ref.kind, ref.value)


def permission_request(r: t.PermissionRequest) -> Record:
    return _record(
        {
            "token": token_ref(r.token),
            "permission": r.permission,
            "namespace": r.namespace,
            "ref-name": r.ref_name,
            "force": bool(r.force),
            "at": r.at,
        }
    )


def http_request(r: t.HttpRequest) -> Record:
    return _record(
        {
            "token": None if r.token is None else token_ref(r.token),
            "method": r.method,
            "path": r.path,
            "headers": [_record({"name": h.name, "value": h.value}) for h in r.headers],
            "body": r.body,
            "owner": r.owner,
            "at": r.at,
        }
    )


def _git_service(s: t.GitService) -> Any:
    # Untagged variant: upload-pack has no payload (None), receive-pack is its list.
    if isinstance(s, t.UploadPack):
        return None
    if isinstance(s, t.ReceivePack):
        return [
            _record({"old-id": u.old_id, "new-id": u.new_id, "name": u.name, "force": bool(u.force)})
            for u in s.updates
        ]
    raise TypeError(f"expected UploadPack or ReceivePack, got {type(s).__name__}")


def git_request(r: t.GitRequest) -> Record:
    return _record(
        {"token": token_ref(r.token), "project": r.project, "service": _git_service(r.service), "at": r.at}
    )


def request(r: t.Request) -> Variant:
    if isinstance(r, t.PermissionRequest):
        return Variant("permission", permission_request(r))
    if isinstance(r, t.HttpRequest):
        return Variant("http", http_request(r))
    if isinstance(r, t.GitRequest):
        return Variant("git", git_request(r))
    raise TypeError(f"expected a PermissionRequest, HttpRequest or GitRequest, got {type(r).__name__}")


def _grant(g: t.Grant) -> Record:
    a = g.access
    access = (
        Variant("selected-memberships", list(a.namespaces))
        if a.kind == "selected_memberships"
        else Variant(a.kind.replace("_", "-"))
    )
    return _record({"access": access, "permissions": list(g.permissions)})


def _token_kind(k: t.TokenKind) -> Variant:
    if isinstance(k, t.Legacy):
        return Variant("legacy", list(k.scopes))
    if isinstance(k, t.FineGrained):
        return Variant("fine-grained", [_grant(g) for g in k.grants])
    raise TypeError(f"expected Legacy or FineGrained, got {type(k).__name__}")


def update(u: t.Update) -> Variant:
    if isinstance(u, t.AddToken):
        nt = u.token
        return Variant(
            "add-token",
            _record(
                {
                    "name": nt.name,
                    "user": nt.user,
                    "digest": bytes(nt.digest),
                    "kind": _token_kind(nt.kind),
                    "expires": nt.expires,
                }
            ),
        )
    if isinstance(u, t.RevokeToken):
        return Variant("revoke-token", u.name)
    if isinstance(u, t.AddMembership):
        m = u.membership
        return Variant(
            "add-membership",
            _record({"user": m.user, "namespace": m.namespace, "role": m.role, "expires": m.expires}),
        )
    if isinstance(u, t.RemoveMembership):
        return Variant("remove-membership", (u.user, u.namespace))
    raise TypeError(f"expected an Update, got {type(u).__name__}")


# --- lifting (component -> Python) ---------------------------------------------------


def permission_names(v: Any) -> t.PermissionNames:
    """The `permission-names` record."""
    return t.PermissionNames(tuple(v.raw), tuple(v.assignable))


def _names(ids: Sequence[int], table: Tuple[str, ...], what: str) -> Tuple[str, ...]:
    """The names of `ids` in `table`; :class:`UntrustedAnswer` for an id outside it."""
    if not ids:
        return ()
    low, high = min(ids), max(ids)
    if low < 0 or high >= len(table):
        bad = low if low < 0 else high
        raise UntrustedAnswer(f"the engine answered {what} id {bad}, outside its names table of {len(table)}")
    return tuple([table[i] for i in ids])


def _reason(r: Any) -> t.Reason:
    code = _REASON_CODES.get(r.code)
    if code is None:
        raise UntrustedAnswer("the engine answered a reason code this host does not know")
    return t.Reason(code, r.detail)


def decision(v: Any, names: t.PermissionNames) -> t.Decision:
    """A lifted `decision`, its permission ids mapped to names with `names`."""
    f = v.__dict__
    boundary = f["boundary"]
    return t.Decision(
        effect=t.Effect(f["effect"]),
        reasons=tuple([_reason(r) for r in f["reasons"]]),
        required_permissions=_names(f["required-permissions"], names.raw, "a raw permission"),
        accepted_permissions=_names(f["accepted-permissions"], names.assignable, "an assignable permission"),
        boundary=None if boundary is None else t.Boundary(boundary),
        namespace=f["namespace"],
        revision=f["revision"],
    )


def decisions(vs: List[Any], names: t.PermissionNames) -> List[t.Decision]:
    """Lifted decisions of `check-batch`."""
    return [decision(v, names) for v in vs]


def explanation(v: Any, names: t.PermissionNames) -> t.Explanation:
    """A lifted `explanation`."""
    return t.Explanation(decision(v.decision, names), tuple(v.steps))


def token_report(v: Any) -> t.TokenReport:
    return t.TokenReport(
        name=v.name,
        user=v.user,
        kind=v.kind,
        status=v.status,
        expires=v.expires,
        scopes=tuple(v.scopes),
        access=tuple(
            t.AccessEntry(boundary=t.Boundary(a.boundary), namespace=a.namespace, permissions=tuple(a.permissions))
            for a in v.access
        ),
    )
