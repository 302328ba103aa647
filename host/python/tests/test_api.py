"""The host's API around the engine: errors, updates, inspection, limits."""

from __future__ import annotations

import hashlib

import pytest
import wasmtime

from finegrain_host import (
    AccessEntry,
    AddMembership,
    AddToken,
    ApplyError,
    Authorizer,
    Boundary,
    BundleError,
    ComponentError,
    Decision,
    Effect,
    EngineFailure,
    EngineHost,
    FineGrained,
    FinegrainError,
    GitRequest,
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
    TokenNotFound,
    TokenRef,
    TokenReport,
    Update,
    new_engine,
)

AT = 1795262400  # 2026-11-21T12:00:00Z, the time the Acme cases are decided at
BRANCHES = "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches"


def ci_lists_branches() -> HttpRequest:
    return HttpRequest(method="GET", path=BRANCHES, token=TokenRef.name("alice-ci"), at=AT)


# --- loading ------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [0, 10, 43, 44, 100, -1], ids=lambda k: f"keep{k}")
def test_truncated_bundle_raises_with_engine_message(host: EngineHost, acme_bundle: bytes, keep: int) -> None:
    with pytest.raises(BundleError) as info:
        host.load(acme_bundle[:keep])
    message = info.value.message
    assert isinstance(info.value, FinegrainError)
    assert str(info.value) == message and "\n" not in message
    # The engine's own words (plugin/src/bundle.rs), not a host paraphrase.
    if keep in range(0, 44):
        assert message == f"bundle is truncated: {keep} bytes, the header alone needs 44"
    else:
        assert message == "bundle content digest does not match: the file is corrupt or truncated"


def test_garbage_bundle_is_refused(host: EngineHost) -> None:
    with pytest.raises(BundleError, match="bundle"):
        host.load(b"not a bundle at all, but long enough for a header....")


def test_invalid_component_raises(acme_bundle: bytes) -> None:
    with pytest.raises(ComponentError, match="not valid"):
        Authorizer.from_bytes(b"\0asm\x0d\0\x01\0garbage", acme_bundle)


def test_from_files(acme_bundle: bytes, tmp_path) -> None:
    from conftest import component_path

    bundle = tmp_path / "acme.bundle"
    bundle.write_bytes(acme_bundle)
    with Authorizer.from_files(component_path(), bundle) as authz:
        assert authz.revision() == 0
        assert authz.check_http(ci_lists_branches()).allowed


def test_component_compiled_once_per_engine(component_bytes: bytes, acme_bundle: bytes) -> None:
    a = Authorizer.from_bytes(component_bytes, acme_bundle)
    b = Authorizer.from_bytes(component_bytes, acme_bundle)
    assert a.host is b.host  # same compiled component, separate stores
    assert a._instance.store is not b._instance.store
    engine = new_engine()
    c = Authorizer.from_bytes(component_bytes, acme_bundle, engine=engine)
    d = Authorizer.from_bytes(component_bytes, acme_bundle, engine=engine)
    assert c.host is d.host and c.host is not a.host and c.host.engine is engine
    # Each policy is independent.
    assert a.apply([RevokeToken("alice-ci")]) == 1
    assert b.revision() == 0 and b.check_http(ci_lists_branches()).allowed
    for authz in (a, b, c, d):
        authz.close()


def test_engine_without_component_model_is_refused(component_bytes: bytes) -> None:
    config = wasmtime.Config()
    config.wasm_component_model = False
    with pytest.raises(ComponentError):
        EngineHost(component_bytes, engine=wasmtime.Engine(config))


# --- updates ------------------------------------------------------------------------


def test_revoke_bumps_revision_and_denies(acme: Authorizer) -> None:
    before = acme.check_http(ci_lists_branches())
    assert before.allowed and before.revision == 0
    assert acme.revision() == 0

    assert acme.apply([RevokeToken("alice-ci")]) == 1
    assert acme.revision() == 1

    after = acme.check_http(ci_lists_branches())
    assert after.effect is Effect.DENY
    assert after.codes == ("token_revoked",)
    assert after.revision == 1
    # And through the other request shapes.
    git = acme.check_git(GitRequest(token=TokenRef.name("alice-ci"), project="acme/platform/api", at=AT))
    assert git.has_reason("token_revoked") and not git.allowed
    assert acme.inspect_token(TokenRef.name("alice-ci"), AT).status == "revoked"


def test_apply_is_all_or_nothing(acme: Authorizer) -> None:
    with pytest.raises(ApplyError) as info:
        acme.apply([RevokeToken("alice-ci"), RevokeToken("no-such-token")])
    assert info.value.message == 'update 1: no token "no-such-token"'
    assert acme.revision() == 0
    assert acme.check_http(ci_lists_branches()).allowed


def test_add_token_by_secret_and_memberships(acme: Authorizer) -> None:
    secret = "glpat-python-host-test"
    token = NewToken.from_secret(
        name="erin-py",
        user="erin",
        secret=secret,
        kind=FineGrained([Grant(GrantAccess.selected_memberships(["acme/platform"]), ["download_code"])]),
    )
    assert token.digest == hashlib.sha256(secret.encode()).digest()
    assert "glpat" not in repr(token)
    fetch = HttpRequest(
        method="GET",
        path="/acme/platform/api.git/info/refs?service=git-upload-pack",
        headers=[("PRIVATE-TOKEN", secret)],
        at=AT,
    )
    assert acme.check_http(fetch).codes == ("token_unknown",)

    assert acme.apply([AddToken(token)]) == 1
    # erin is no member of the private project: the token alone is not enough.
    assert acme.check_http(fetch).has_reason("user_lacks_ability")

    membership = Membership(user="erin", namespace="acme/platform/api", role="reporter")
    assert acme.apply([AddMembership(membership)]) == 2
    allowed = acme.check_http(fetch)
    assert allowed.allowed and allowed.revision == 2
    assert allowed.boundary is Boundary.GROUP and allowed.namespace == "acme/platform/api"

    assert acme.apply([RemoveMembership("erin", "acme/platform/api")]) == 3
    assert not acme.check_http(fetch).allowed

    with pytest.raises(ApplyError, match="membership"):
        acme.apply([RemoveMembership("erin", "acme/platform/api")])
    assert acme.revision() == 3


def test_add_legacy_token_with_expiry(acme: Authorizer) -> None:
    expires = AT + 86400 * 2
    token = NewToken.from_secret(name="dave-ro", user="dave", secret="glpat-dave-ro", kind=Legacy(["read_api"]), expires=expires)
    acme.apply([AddToken(token)])
    read = HttpRequest(method="GET", path=BRANCHES, headers=[Header("Authorization", "Bearer glpat-dave-ro")], at=AT)
    assert acme.check_http(read).allowed
    assert acme.check_http(HttpRequest(method="GET", path=BRANCHES, headers=read.headers, at=expires)).has_reason(
        "token_expired"
    )
    write = HttpRequest(method="POST", path=BRANCHES, headers=read.headers, at=AT)
    assert acme.check_http(write).has_reason("token_lacks_permission")
    report = acme.inspect_token(TokenRef.secret("glpat-dave-ro"), AT)
    assert (report.name, report.kind, report.scopes, report.expires) == ("dave-ro", "legacy", ("read_api",), expires)


@pytest.mark.parametrize(
    "update",
    [
        AddToken(
            NewToken(
                name="t",
                user="alice",
                digest=bytes(range(32)),
                kind=FineGrained(
                    [
                        Grant(GrantAccess.personal_projects(), ["read_repository"]),
                        Grant(GrantAccess.all_memberships(), ["read_project"]),
                        Grant(GrantAccess.selected_memberships(["acme", "acme/platform/api"]), ["read_branch"]),
                        Grant(GrantAccess.user(), ["read_user"]),
                        Grant(GrantAccess.instance(), ["cancel_bulk_import"]),
                    ]
                ),
                expires=AT,
            )
        ),
        AddToken(NewToken(name="t", user="bob", digest=b"\xff" * 32, kind=Legacy(["api", "read_user"]))),
        RevokeToken("alice-ci"),
        AddMembership(Membership(user="erin", namespace="acme", role="mr-viewer", expires=AT)),
        AddMembership(Membership(user="erin", namespace="200", role="developer")),
        RemoveMembership("alice", "acme"),
    ],
    ids=["fine-grained", "legacy", "revoke", "membership-expiring", "membership-by-id", "remove"],
)
def test_every_update_shape_crosses_the_boundary(acme: Authorizer, update: Update) -> None:
    # Each variant and option lowers as the WIT expects and the engine accepts it.
    assert acme.apply([update]) == 1
    assert Update.from_json(update.to_json()) == update


def test_update_json_shapes() -> None:
    assert RevokeToken("x").to_json() == {"revoke_token": "x"}
    assert RemoveMembership("u", "ns").to_json() == {"remove_membership": ["u", "ns"]}
    grant = Grant(GrantAccess.selected_memberships(["acme"]), ["read_branch"])
    assert grant.to_json() == {"access": {"selected_memberships": ["acme"]}, "permissions": ["read_branch"]}
    assert Grant(GrantAccess.user(), ["read_user"]).to_json() == {"access": "user", "permissions": ["read_user"]}
    token = NewToken(name="n", user="u", digest=bytes(32), kind=Legacy(["api"]))
    assert token.to_json() == {"name": "n", "user": "u", "digest": [0] * 32, "kind": {"legacy": ["api"]}, "expires": None}


# --- inspection ---------------------------------------------------------------------


def test_inspect_token_returns_typed_entries(acme: Authorizer) -> None:
    report = acme.inspect_token(TokenRef.name("alice-ci"), AT)
    assert isinstance(report, TokenReport)
    assert (report.name, report.user, report.kind, report.status) == ("alice-ci", "alice", "fine_grained", "active")
    assert report.expires == 1814313600  # 2027-06-30
    assert report.scopes == ()
    assert report.access and all(isinstance(a, AccessEntry) for a in report.access)
    for entry in report.access:
        assert isinstance(entry.boundary, Boundary)
        assert isinstance(entry.permissions, tuple) and all(isinstance(p, str) for p in entry.permissions)
    by_namespace = {a.namespace: a for a in report.access}
    assert "read_branch" in by_namespace["acme/platform/api"].permissions
    assert TokenReport.from_json(report.to_json()) == report
    # The same token by its secret.
    assert acme.inspect_token(TokenRef.secret("glpat-alice-ci-secret"), AT) == report


def test_inspect_legacy_and_expired(acme: Authorizer) -> None:
    report = acme.inspect_token(TokenRef.name("alice-old"), AT)
    assert (report.kind, report.status, report.scopes) == ("legacy", "expired", ("api",))
    assert acme.inspect_token(TokenRef.name("alice-old"), 1767139199).status == "active"


def test_inspect_unknown_token_raises(acme: Authorizer) -> None:
    with pytest.raises(TokenNotFound) as info:
        acme.inspect_token(TokenRef.name("nobody"), AT)
    assert info.value.message == "no such token"
    with pytest.raises(TokenNotFound):
        acme.inspect_token(TokenRef.secret("glpat-made-up"))


# --- requests and decisions ---------------------------------------------------------


def test_each_call_shape(acme: Authorizer) -> None:
    push = PermissionRequest(
        token=TokenRef.name("dave-api"), permission="push_code", namespace="acme/platform/api",
        ref_name="refs/heads/main", force=True, at=AT,
    )
    assert acme.check(push).codes == ("force_push_forbidden",)
    receive = GitRequest(
        token=TokenRef.name("frank-write"),
        project="100",
        service=ReceivePack([RefUpdate(name="refs/heads/feature"), RefUpdate(name="refs/heads/main", force=True)]),
        at=AT,
    )
    decision = acme.check_git(receive)
    assert not decision.allowed and decision.has_reason("branch_protected")
    user = HttpRequest(method="GET", path="/api/v4/user", headers=[("private-token", "glpat-alice-profile")], at=AT)
    requests = [push, receive, user]
    assert acme.check_batch(requests) == [acme.check_request(r) for r in requests]
    assert acme.check_batch([]) == []
    assert acme.explain(user).decision == acme.describe(user)
    assert acme.describe(user).without_details() == acme.check_http(user)


def test_check_has_no_details_and_describe_has_them(acme: Authorizer) -> None:
    requests = [
        ci_lists_branches(),  # allowed
        HttpRequest(method="POST", path=BRANCHES, token=TokenRef.name("alice-ci"), at=AT),  # token lacks it
        PermissionRequest(
            token=TokenRef.name("dave-api"), permission="push_code", namespace="acme/platform/api",
            ref_name="refs/heads/main", force=True, at=AT,
        ),
        GitRequest(token=TokenRef.name("alice-gone"), project="acme/platform/api", at=AT),
        HttpRequest(method="GET", path="/api/v4/user", headers=[("PRIVATE-TOKEN", "glpat-made-up")], at=AT),
    ]
    checked = acme.check_batch(requests)
    for request, decision in zip(requests, checked, strict=True):
        # The check path formats no text: codes and ids only.
        assert decision == acme.check_request(request)
        assert all(r.detail is None for r in decision.reasons), decision
        assert decision.to_json()["reasons"] == [{"code": r.code.value} for r in decision.reasons]
        # describe: the same decision, with a sentence for every reason.
        described = acme.describe(request)
        assert (described.effect, described.codes) == (decision.effect, decision.codes)
        assert described.required_permissions == decision.required_permissions
        assert described.accepted_permissions == decision.accepted_permissions
        assert (described.boundary, described.namespace, described.revision) == (
            decision.boundary, decision.namespace, decision.revision,
        )
        assert described.without_details() == decision
        assert all(isinstance(r.detail, str) and r.detail and "\n" not in r.detail for r in described.reasons)
        assert all(r.text == r.detail for r in described.reasons)
        assert all(r.text == r.code for r in decision.reasons)
    assert [d.allowed for d in checked] == [True, False, False, False, False]
    # A detail never carries the secret it was asked with.
    assert "glpat-made-up" not in acme.describe(requests[-1]).reasons[0].detail


def test_permission_ids_are_mapped_to_names(acme: Authorizer) -> None:
    names = acme.permission_names()
    assert isinstance(names, PermissionNames)
    assert "read_branch" in names.raw and "read_repository" in names.assignable
    assert len(set(names.raw)) == len(names.raw) and len(set(names.assignable)) == len(names.assignable)
    decision = acme.check_http(ci_lists_branches())
    assert decision.required_permissions == ("read_branch",)
    assert decision.accepted_permissions == ("read_branch",)
    push = acme.check(
        PermissionRequest(token=TokenRef.name("dave-api"), permission="push_code", namespace="acme/platform/api", at=AT)
    )
    assert push.required_permissions == ("push_code",) and "push_code" in push.accepted_permissions
    # Assignable permissions come in name order, as the WIT says.
    assert list(push.accepted_permissions) == sorted(push.accepted_permissions)
    # The table is the bundle's catalog: an update does not change it.
    acme.apply([RevokeToken("alice-gone")])
    assert acme.permission_names() == names
    assert acme.check_http(ci_lists_branches()).required_permissions == ("read_branch",)


def test_an_id_outside_the_names_table_fails_closed(acme: Authorizer) -> None:
    # As if the engine's names table were shorter than the ids it answers with.
    acme._instance.names = PermissionNames(("only",), ())
    for decision in (acme.check_http(ci_lists_branches()), acme.describe(ci_lists_branches())):
        assert decision.effect is Effect.DENY and decision.codes == (ReasonCode.ENGINE_FAILURE,)
        assert decision.required_permissions == () and decision.accepted_permissions == ()
        assert "outside its names table" in decision.reasons[0].detail
    explanation = acme.explain(ci_lists_branches())
    assert explanation.decision.codes == ("engine_failure",)
    # In a batch only the entries with ids outside the table are denied so; a
    # decision without permissions is still answered.
    unknown = HttpRequest(method="GET", path="/api/v4/user", headers=[("PRIVATE-TOKEN", "glpat-made-up")], at=AT)
    batch = acme.check_batch([ci_lists_branches(), unknown])
    assert [d.codes for d in batch] == [("engine_failure",), ("token_unknown",)]
    # The engine itself did not fail: no rebuild, and the real table maps again.
    assert not acme._poisoned
    acme._instance.names = acme.host._instantiate(acme._bundle).names
    assert acme.check_http(ci_lists_branches()).allowed


def test_http_request_owner_crosses_the_boundary_and_round_trips_in_json(acme: Authorizer) -> None:
    runner = HttpRequest(method="GET", path="/api/v4/runners/5", token=TokenRef.name("dave-api"), owner="acme", at=AT)
    assert runner.owner == "acme"
    # Lowered with the request (the engine takes the field); decided, not refused.
    decision = acme.check_http(runner)
    assert decision.codes and "engine_failure" not in decision.codes
    assert acme.check_batch([runner]) == [decision]
    # JSON: the Rust host's serde shape, `owner` left out when there is none.
    body = runner.to_json()["http"]
    assert body["owner"] == "acme"
    assert Request.from_json(runner.to_json()) == runner == HttpRequest.from_json(runner.to_json())
    without = HttpRequest(method="GET", path="/api/v4/runners/5", at=AT)
    assert without.owner is None and "owner" not in without.to_json()["http"]
    assert Request.from_json(without.to_json()) == without
    assert Request.from_json({"http": {"method": "GET", "path": "/", "headers": [], "token": None, "owner": "7", "at": 1}}).owner == "7"


def test_reason_codes_and_json() -> None:
    reason = Reason("token_revoked")
    assert reason.code is ReasonCode.TOKEN_REVOKED and reason.code == "token_revoked" and reason.detail is None
    assert reason.to_json() == {"code": "token_revoked"} and Reason.from_json({"code": "token_revoked"}) == reason
    described = Reason(ReasonCode.TOKEN_REVOKED, "token \"x\" was revoked")
    assert described.to_json() == {"code": "token_revoked", "detail": 'token "x" was revoked'}
    assert Reason.from_json(described.to_json()) == described and described.text == described.detail
    assert str(ReasonCode.ALLOWED) == "allowed" and "allowed" in {ReasonCode.ALLOWED}
    with pytest.raises(ValueError):
        Reason("no_such_code")
    d = Decision.from_json({"effect": "deny", "reasons": [{"code": "token_missing"}]})
    assert d.codes == (ReasonCode.TOKEN_MISSING,) and d.has_reason("token_missing")
    assert d.to_json()["reasons"] == [{"code": "token_missing"}]


def test_wrong_request_type_is_a_type_error(acme: Authorizer) -> None:
    with pytest.raises(TypeError):
        acme.check(HttpRequest(method="GET", path="/api/v4/user", at=AT))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        acme.check_batch(["GET /api/v4/user"])  # type: ignore[list-item]


def test_request_defaults_and_json() -> None:
    r = HttpRequest(method="GET", path="/api/v4/user")
    assert r.token is None and r.headers == () and r.at > 1_700_000_000  # now
    assert Request.from_json(r.to_json()) == r
    g = GitRequest(token=TokenRef.name("x"), project="p", at=1)
    assert g.to_json() == {"git": {"token": {"name": "x"}, "project": "p", "service": "upload_pack", "at": 1}}
    p = PermissionRequest(token=TokenRef.secret("s3cret"), permission="read_user", at=1)
    assert p.to_json() == {
        "permission": {"token": {"secret": "s3cret"}, "permission": "read_user", "namespace": None,
                       "ref_name": None, "force": False, "at": 1}
    }
    assert "s3cret" not in repr(p) and "s3cret" not in repr(Header("PRIVATE-TOKEN", "s3cret"))
    with pytest.raises(ValueError):
        PermissionRequest.from_json(g.to_json())
    d = Decision(effect="allow", reasons=[{"code": "allowed", "detail": "ok"}])
    assert d.effect is Effect.ALLOW and d == Decision.from_json(d.to_json()) and hash(d) == hash(Decision.from_json(d.to_json()))


# --- limits and failures ------------------------------------------------------------


def test_closed_authorizer_refuses_calls(host: EngineHost, acme_bundle: bytes) -> None:
    authz = host.load(acme_bundle)
    authz.close()
    authz.close()
    with pytest.raises(ValueError, match="closed"):
        authz.revision()


def test_memory_limit_below_the_component_minimum(component_bytes: bytes, acme_bundle: bytes) -> None:
    with pytest.raises(ComponentError, match="memory"):
        EngineHost(component_bytes, memory_limit=64 << 10).load(acme_bundle)


def test_a_trap_fails_closed_and_the_instance_recovers(component_bytes: bytes, acme_bundle: bytes) -> None:
    # The smallest power-of-two memory limit the Acme policy loads and takes an
    # update in (an update rebuilds the policy, so it needs more than the load).
    for mib in (2, 4, 8, 16, 32, 64):
        host = EngineHost(component_bytes, memory_limit=mib << 20)
        try:
            authz = host.load(acme_bundle)
            assert authz.apply([RevokeToken("alice-gone")]) == 1
            break
        except (EngineFailure, ComponentError):
            continue
    else:
        pytest.fail("the Acme bundle does not load and update in 64 MiB")

    # A batch far larger than the memory limit: the guest's allocator fails and
    # traps; the host then decides each entry alone, each within the limit.
    path = "/api/v4/user?" + "x" * 4096
    huge = [HttpRequest(method="GET", path=path, token=TokenRef.name("alice-profile"), at=AT)] * (mib * 512)
    names = authz._instance.names
    decisions = authz.check_batch(huge)
    assert len(decisions) == len(huge)
    alone = authz.check_http(huge[0])
    assert "engine_failure" not in alone.codes
    assert all(d == alone for d in decisions)

    # The calls after the trap ran in a rebuilt instance with the updates
    # replayed, which read the names table again.
    assert authz.revision() == 1
    assert authz._instance.names is not names and authz.permission_names() == names
    allowed = authz.check_http(HttpRequest(method="GET", path="/api/v4/user", token=TokenRef.name("alice-profile"), at=AT))
    assert allowed.allowed and allowed.required_permissions == alone.required_permissions
    authz.close()
