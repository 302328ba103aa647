"""The Python types checked against the contract, `wit/authz.wit`.

The types of `finegrain_host.types` are written by hand; this test keeps them in
step with the WIT. A small parser reads the WIT's records, enums, variants, type
aliases and the `authorizer` resource's functions, and every one must have its
Python counterpart:

* a record ``foo-bar`` is the dataclass ``FooBar`` with the same fields, in the
  same order, kebab-case spelt snake_case, each annotated with the Python type
  of its WIT type (``option<T>`` is ``Optional[T]``, ``list<T>`` is
  ``Tuple[T, ...]``, ``list<u8>`` is ``bytes``; permission ids are names on the
  Python side, since the host maps them with the names table);
* an enum ``foo-bar`` is the `str` enum ``FooBar`` whose member values are the
  cases in snake case, in WIT order (plus the host-only codes, declared as such);
* a variant is either a class with ``KINDS`` (the cases) or a base class whose
  subclasses are the cases (by ``TAG`` or by class name);
* each function of ``resource authorizer`` is wired in the host's export table
  and, but for the static ``load``, is a method of :class:`Authorizer`;
* the package version is the one the host asks the component for.

A WIT field, case or function added without its Python side fails here (the
last tests check that the checks do catch such edits). And the compiled
component must export exactly what the WIT file says (wasmtime-py's type
introspection, compared structurally), so a stale artifact fails too.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import pytest
from wasmtime import component as wc

from conftest import REPO
from finegrain_host import Authorizer, EngineHost, types
from finegrain_host.authorizer import _FUNCTIONS, INTERFACE

WIT_FILE = REPO / "wit" / "authz.wit"

# --- a small WIT parser -------------------------------------------------------------


@dataclass
class Function:
    """One function of a resource: its name, whether it is static, its params
    and its result type (WIT text, or None)."""

    name: str
    static: bool
    params: List[Tuple[str, str]]
    result: Optional[str]


@dataclass
class Wit:
    """What the parser reads of a WIT package (every interface merged: the
    names are unique in this package)."""

    package: str = ""
    records: Dict[str, List[Tuple[str, str]]] = field(default_factory=dict)
    enums: Dict[str, List[str]] = field(default_factory=dict)
    variants: Dict[str, List[Tuple[str, Optional[str]]]] = field(default_factory=dict)
    aliases: Dict[str, str] = field(default_factory=dict)
    resources: Dict[str, List[Function]] = field(default_factory=dict)


def _split(text: str, sep: str = ",") -> List[str]:
    """`text` split at `sep` outside <…> and (…), stripped, empty parts dropped."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<(":
            depth += 1
        elif ch == ")" or (ch == ">" and text[i - 1 : i] != "-"):  # not the arrow of `->`
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _named(item: str) -> Tuple[str, str]:
    name, _, ty = item.partition(":")
    return name.strip(), ty.strip()


def parse_wit(text: str) -> Wit:
    """Parses the parts of a WIT file this test compares (no nested packages)."""
    text = re.sub(r"//[^\n]*", "", text)  # `///` doc comments included
    wit = Wit()
    package = re.search(r"\bpackage\s+([^;\s]+)\s*;", text)
    assert package, "no package declaration"
    wit.package = package.group(1)
    for kind, name, body in re.findall(r"\b(record|enum|variant|resource|flags)\s+([a-z][a-z0-9-]*)\s*\{([^{}]*)\}", text):
        if kind == "record":
            wit.records[name] = [_named(f) for f in _split(body)]
        elif kind == "enum":
            wit.enums[name] = _split(body)
        elif kind == "variant":
            cases = []
            for case in _split(body):
                m = re.fullmatch(r"([a-z][a-z0-9-]*)\s*(?:\((.*)\))?", case, re.S)
                assert m, f"cannot read variant case {case!r} of {name}"
                cases.append((m.group(1), None if m.group(2) is None else m.group(2).strip()))
            wit.variants[name] = cases
        elif kind == "resource":
            functions = []
            for item in _split(body, ";"):
                m = re.fullmatch(r"([a-z][a-z0-9-]*)\s*:\s*(static\s+)?func\s*\((.*?)\)\s*(?:->\s*(.+))?", item, re.S)
                assert m, f"cannot read function {item!r} of {name}"
                params = [_named(p) for p in _split(m.group(3))]
                functions.append(Function(m.group(1), bool(m.group(2)), params, m.group(4) and m.group(4).strip()))
            wit.resources[name] = functions
        else:  # pragma: no cover - the contract has no flags; a new one needs a Python side
            raise AssertionError(f"flags {name}: this test does not know how Python spells flags")
    for name, ty in re.findall(r"\btype\s+([a-z][a-z0-9-]*)\s*=\s*([^;]+);", text):
        wit.aliases[name] = ty.strip()
    return wit


@pytest.fixture(scope="module")
def wit() -> Wit:
    return parse_wit(WIT_FILE.read_text(encoding="utf-8"))


# --- the checks ---------------------------------------------------------------------


def snake(name: str) -> str:
    return name.replace("-", "_")


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


#: Aliases the Python side spells by their own name.
PY_ALIASES = {"timestamp": "Timestamp"}
#: Aliases whose values the host maps before a Python user sees them: permission
#: ids are names in a `Decision` (the names table read at load).
HOST_MAPPED = {"permission-id": "str", "assignable-id": "str"}
PRIMITIVES = {"string": "str", "bool": "bool", "u8": "int", "u16": "int", "u32": "int", "u64": "int",
              "s8": "int", "s16": "int", "s32": "int", "s64": "int"}


def python_annotation(ty: str, wit: Wit) -> str:
    """The annotation a dataclass field of WIT type `ty` has in `types.py`."""
    ty = ty.strip()
    m = re.fullmatch(r"(option|list|tuple)<(.*)>", ty, re.S)
    if m:
        kind, inner = m.groups()
        if kind == "option":
            return f"Optional[{python_annotation(inner, wit)}]"
        if kind == "list":
            return "bytes" if inner.strip() == "u8" else f"Tuple[{python_annotation(inner, wit)}, ...]"
        return "Tuple[" + ", ".join(python_annotation(t, wit) for t in _split(inner)) + "]"
    if ty in PRIMITIVES:
        return PRIMITIVES[ty]
    if ty in HOST_MAPPED:
        return HOST_MAPPED[ty]
    if ty in PY_ALIASES:
        return PY_ALIASES[ty]
    if ty in wit.aliases:
        return python_annotation(wit.aliases[ty], wit)
    if ty in wit.records or ty in wit.enums or ty in wit.variants:
        return camel(ty)
    raise AssertionError(f"WIT type {ty!r}: no Python spelling known to this test")


def record_mismatches(wit: Wit) -> List[str]:
    """What differs between the WIT records and the dataclasses of `types.py`."""
    problems = []
    for name, fields in wit.records.items():
        cls = getattr(types, camel(name), None)
        if cls is None or not dataclasses.is_dataclass(cls):
            problems.append(f"record {name}: no dataclass types.{camel(name)}")
            continue
        py = [(f.name, f.type) for f in dataclasses.fields(cls)]
        expected = [(snake(n), python_annotation(t, wit)) for n, t in fields]
        if [n for n, _ in py] != [n for n, _ in expected]:
            problems.append(f"record {name}: WIT fields {[n for n, _ in expected]}, {cls.__name__} has {[n for n, _ in py]}")
            continue
        for (field_name, annotation), (_, want) in zip(py, expected):
            if annotation != want:
                problems.append(f"record {name}: {cls.__name__}.{field_name} is {annotation}, the WIT says {want}")
    return problems


def enum_mismatches(wit: Wit) -> List[str]:
    """What differs between the WIT enums and the `str` enums of `types.py`."""
    problems = []
    host_only = {code.value for code in types.HOST_REASON_CODES}
    for name, cases in wit.enums.items():
        cls = getattr(types, camel(name), None)
        if cls is None or not issubclass(cls, str):
            problems.append(f"enum {name}: no str enum types.{camel(name)}")
            continue
        members = [m.value for m in cls if m.value not in host_only]
        if members != [snake(c) for c in cases]:
            problems.append(f"enum {name}: WIT cases {[snake(c) for c in cases]}, {cls.__name__} has {members}")
    return problems


def variant_mismatches(wit: Wit) -> List[str]:
    """What differs between the WIT variants and their Python classes: ``KINDS``,
    or subclasses named after the cases (or tagged with them)."""
    problems = []
    for name, cases in wit.variants.items():
        want = [snake(c) for c, _ in cases]
        cls = getattr(types, camel(name), None)
        if cls is None:
            problems.append(f"variant {name}: no class types.{camel(name)}")
            continue
        kinds = getattr(cls, "KINDS", None)
        if kinds is not None:
            have = list(kinds)
        else:
            subclasses = [
                c for c in vars(types).values()
                if inspect.isclass(c) and issubclass(c, cls) and c is not cls and c.__module__ == types.__name__
            ]
            have = [getattr(c, "TAG", "") or re.sub(r"(?<!^)(?=[A-Z])", "_", c.__name__).lower() for c in subclasses]
        if sorted(have) != sorted(want):
            problems.append(f"variant {name}: WIT cases {want}, {cls.__name__} has {sorted(have)}")
    return problems


def function_mismatches(wit: Wit) -> List[str]:
    """What differs between the `authorizer` resource and the host's export table
    and :class:`Authorizer` methods."""
    problems = []
    functions = wit.resources.get("authorizer", [])
    expected = {snake(f.name): f"[{'static' if f.static else 'method'}]authorizer.{f.name}" for f in functions}
    if expected != _FUNCTIONS:
        problems.append(f"resource authorizer: the WIT functions are {expected}, the host calls {_FUNCTIONS}")
    for f in functions:
        if not f.static and not callable(getattr(Authorizer, snake(f.name), None)):
            problems.append(f"resource authorizer: {f.name} has no method Authorizer.{snake(f.name)}")
    return problems


def package_mismatches(wit: Wit) -> List[str]:
    """The host must ask for the interface of this package version."""
    namespace_name, _, version = wit.package.partition("@")
    want = f"{namespace_name}/authorize@{version}"
    return [] if INTERFACE == want else [f"the host asks for {INTERFACE}, the WIT is {want}"]


CHECKS = [record_mismatches, enum_mismatches, variant_mismatches, function_mismatches, package_mismatches]

# --- the tests ----------------------------------------------------------------------


def test_the_parser_reads_the_contract(wit: Wit) -> None:
    # Guards against a parser that reads nothing and so checks nothing.
    assert wit.package.startswith("finegrain:authz@")
    assert {"http-request", "decision", "reason", "permission-names", "token-report", "new-token"} <= set(wit.records)
    assert wit.records["http-request"][0] == ("token", "option<token-ref>")
    assert {"effect", "boundary", "reason-code"} <= set(wit.enums)
    assert {"token-ref", "request", "git-service", "update", "grant-access", "token-kind"} <= set(wit.variants)
    assert wit.variants["update"][-1] == ("remove-membership", "tuple<string, string>")
    assert wit.aliases["permission-id"] == "u16"
    load = wit.resources["authorizer"][0]
    assert (load.name, load.static, load.params, load.result) == ("load", True, [("bundle", "list<u8>")], "result<authorizer, string>")


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_python_side_follows_the_wit(check: Any, wit: Wit) -> None:
    assert check(wit) == []


@pytest.mark.parametrize(
    "edit, check",
    [
        # A field added to a record.
        (("        owner: option<string>,\n", "        owner: option<string>,\n        tenant: option<string>,\n"), record_mismatches),
        # A field whose type changes.
        (("        detail: option<string>,\n", "        detail: string,\n"), record_mismatches),
        # A case added to an enum.
        (("        force-push-forbidden,\n", "        force-push-forbidden,\n        quota-exceeded,\n"), enum_mismatches),
        # A case added to a variant.
        (("        git(git-request),\n", "        git(git-request),\n        graphql(http-request),\n"), variant_mismatches),
        # A function added to the resource.
        (("        revision: func() -> u64;\n", "        revision: func() -> u64;\n        digest: func() -> string;\n"), function_mismatches),
        # Another version.
        (("package finegrain:authz@0.3.0;", "package finegrain:authz@0.4.0;"), package_mismatches),
    ],
    ids=["record-field", "field-type", "enum-case", "variant-case", "function", "version"],
)
def test_the_checks_catch_a_wit_change_without_the_python_side(edit: Tuple[str, str], check: Any) -> None:
    text = WIT_FILE.read_text(encoding="utf-8")
    old, new = edit
    assert text.count(old) == 1, f"the WIT no longer has {old!r}: update this test's edit"
    assert check(parse_wit(text.replace(old, new))), f"{check.__name__} missed {new!r}"


# --- the compiled component against the WIT file --------------------------------------


def wit_shape(ty: str, wit: Wit) -> Any:
    """A structural description of WIT type `ty`, comparable with :func:`component_shape`."""
    ty = ty.strip()
    m = re.fullmatch(r"(option|list|tuple|result|borrow|own)<(.*)>", ty, re.S)
    if m:
        kind, inner = m.groups()
        if kind in ("borrow", "own"):
            return "resource"
        args = [wit_shape(t, wit) for t in _split(inner)]
        return (kind, *args)
    if ty in PRIMITIVES:
        return ty
    if ty in wit.aliases:
        return wit_shape(wit.aliases[ty], wit)
    if ty in wit.records:
        return ("record", tuple((n, wit_shape(t, wit)) for n, t in wit.records[ty]))
    if ty in wit.enums:
        return ("enum", tuple(wit.enums[ty]))
    if ty in wit.variants:
        return ("variant", tuple((c, None if p is None else wit_shape(p, wit)) for c, p in wit.variants[ty]))
    if ty in wit.resources:
        return "resource"
    raise AssertionError(f"WIT type {ty!r} is unknown to this test")


def component_shape(ty: Any) -> Any:
    """The same description of a wasmtime-py component value type."""
    if isinstance(ty, wc.RecordType):
        return ("record", tuple((n, component_shape(t)) for n, t in ty.fields))
    if isinstance(ty, wc.EnumType):
        return ("enum", tuple(ty.names))
    if isinstance(ty, wc.VariantType):
        return ("variant", tuple((c, None if p is None else component_shape(p)) for c, p in ty.cases))
    if isinstance(ty, wc.OptionType):
        return ("option", component_shape(ty.payload))
    if isinstance(ty, wc.ListType):
        return ("list", component_shape(ty.element))
    if isinstance(ty, wc.TupleType):
        return ("tuple", *(component_shape(t) for t in ty.elements))
    if isinstance(ty, wc.ResultType):
        return ("result", *(None if t is None else component_shape(t) for t in (ty.ok, ty.err)))
    if isinstance(ty, (wc.OwnType, wc.BorrowType)):
        return "resource"
    return type(ty).__name__.lower()  # String, U16, S64, Bool, …


def test_the_component_exports_what_the_wit_says(wit: Wit, component_bytes: bytes, acme_bundle: bytes) -> None:
    host = EngineHost(component_bytes, fast=False)  # wasmtime-py's own types, not the frozen copies
    instance = host._instantiate(acme_bundle)
    try:
        for f in wit.resources["authorizer"]:
            fty = instance.funcs[snake(f.name)].type(instance.store)
            params = ([] if f.static else [("self", "resource")]) + [(n, wit_shape(t, wit)) for n, t in f.params]
            got = [(n, component_shape(t)) for n, t in fty.params]
            assert got == params, f"{f.name}: the component's parameters differ from the WIT's"
            want = None if f.result is None else wit_shape(f.result, wit)
            assert (None if fty.result is None else component_shape(fty.result)) == want, f"{f.name}: result"
    finally:
        instance.close()
