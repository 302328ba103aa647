#!/usr/bin/env python3
"""Generate finegrain's permission catalog (catalog/data/*.tsv).

Pipeline
--------
1. Read the GitLab reference tables (facts, never edited) from
   ``catalog/reference/gitlab`` (vendored, see its README.md), or
   ``--reference DIR`` / ``$FINEGRAIN_REFERENCE``.
2. Read the hand-written rule files in ``catalog/rules/`` (TSV with a header
   row; lines starting with ``#`` and blank lines are comments). Every name a
   rule file uses is checked against the reference; an unknown name stops the
   run with one ``file:line: problem`` message.
3. Build the catalog in memory:
   - assignable permissions, straight from the reference;
   - raw permissions = everything an assignable permission expands to, with a
     category, boundaries and the role requirement computed by the first
     matching row of ``rules/requirements.tsv``;
   - REST endpoints = reference operations GitLab annotated with raw
     permissions (boundary corrected from the path where GitLab's cannot be
     enforced), plus ``rules/assigned_endpoints.tsv``, plus every other
     operation mapped by the first matching row of ``rules/conventions.tsv``
     (which may create raw and assignable permissions, origin ``assigned``, or
     mark the route anonymous or service-only); object-addressed endpoints
     at the instance boundary take, from ``rules/object_owners.tsv``, the
     permission that applies when the host names the project or group that
     owns the object (columns ``owner_permissions``, ``owner_boundaries``).
     Optional groups in paths are expanded; an operation is kept with all its
     variants or skipped and reported (unroutable syntax, a boundary no token
     could satisfy, two routes matching the same requests);
   - GraphQL root fields from ``rules/graphql_fields.tsv``;
   - GraphQL object fields below the root from ``rules/graphql_types.tsv``;
   - custom abilities, ability aliases and legacy token scopes.
4. Render every table as sorted, tab-separated UTF-8 text with LF endings and
   either write it to ``catalog/data/`` or, with ``--check``, compare it with
   the committed files (exit status 1 when they differ).

A short summary (counts, skipped rows and why) goes to stderr.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent
REPO_ROOT = CATALOG_DIR.parent
RULES_DIR = CATALOG_DIR / "rules"
DATA_DIR = CATALOG_DIR / "data"
DEFAULT_REFERENCE = CATALOG_DIR / "reference" / "gitlab"

API_PREFIX = "/api/v4"
BOUNDARIES = ("project", "group", "user", "instance")
# Lowest to highest; the position is what "lower base role" means.
ROLES = ("authenticated", "guest", "planner", "reporter", "developer",
         "maintainer", "owner", "admin")
CRUD_RESOURCES = ("repository",)
CRUD_VERBS = ("view", "write", "delete", "manage")
HTTP_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
GIT_OPERATIONS = ("fetch", "push")
# Legacy scopes that are not token scopes a finegrain user can hold.
SKIPPED_SCOPES = ("granular", "openid / profile / email", "user:*")
# Literal segments after which the next parameter names the namespace.
NAMESPACE_LITERALS = {"projects": "project", "project": "project",
                      "groups": "group", "group": "group"}


class CatalogError(Exception):
    """A problem in an input file; the message names file, line and problem."""


# --------------------------------------------------------------------------
# Reading TSV files
# --------------------------------------------------------------------------

@dataclass
class Row:
    """One data row of a TSV file, remembering where it came from."""
    source: str
    line: int
    cells: dict

    def __getitem__(self, key):
        return self.cells[key]

    def where(self) -> str:
        return f"{self.source}:{self.line}"


def display_path(path: Path) -> str:
    """A path relative to the repository root (shorter messages), if possible."""
    try:
        return os.path.relpath(path.resolve(), REPO_ROOT)
    except ValueError:  # e.g. another drive on Windows
        return str(path)


def read_tsv(path: Path, required: tuple, comments: bool) -> list:
    """Read a TSV file into Rows.

    Cells are split on tabs only (no quoting: the reference has quotes inside
    cells). ``comments`` enables ``#`` comment lines and blank lines, which
    only the hand-written rule files may contain.
    """
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{name}: cannot read: {exc.strerror}") from None
    header, rows = None, []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if comments and (not line.strip() or line.startswith("#")):
            continue
        if not comments and not line:
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            missing = [c for c in required if c not in header]
            if missing:
                raise CatalogError(
                    f"{name}:{number}: header lacks column(s) {', '.join(missing)}")
            continue
        if len(cells) != len(header):
            raise CatalogError(
                f"{name}:{number}: expected {len(header)} tab-separated cells, "
                f"found {len(cells)}")
        rows.append(Row(name, number, dict(zip(header, (c.strip() for c in cells)))))
    if header is None:
        raise CatalogError(f"{name}: file has no header row")
    return rows


def split_list(cell: str) -> list:
    """A comma-separated cell as a list (the reference sometimes adds spaces)."""
    return [item.strip() for item in cell.split(",") if item.strip()]


def join_list(items) -> str:
    return ",".join(sorted(set(items)))


# --------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------

@dataclass
class Reference:
    raw: dict            # raw permission name -> Row (granular_permissions.tsv)
    assignable: list     # Rows of granular_assignable_permissions.tsv
    endpoints: list      # Rows of rest_endpoints.tsv
    abilities: list      # Rows of custom_abilities.tsv
    scopes: list         # Rows of legacy_scopes.tsv
    graphql: list        # Rows of graphql_operations.tsv


def load_reference(directory: Path) -> Reference:
    if not directory.is_dir():
        raise CatalogError(f"{directory}: reference directory not found "
                           "(use --reference DIR)")
    raw_rows = read_tsv(directory / "granular_permissions.tsv",
                        ("permission", "resource", "action", "boundaries"), False)
    return Reference(
        raw={row["permission"]: row for row in raw_rows},
        assignable=read_tsv(directory / "granular_assignable_permissions.tsv",
                            ("assignable_permission", "category", "resource",
                             "action", "boundaries", "raw_permissions"), False),
        endpoints=read_tsv(directory / "rest_endpoints.tsv",
                           ("method", "prefix", "path", "granular_permissions",
                            "boundary"), False),
        abilities=read_tsv(directory / "custom_abilities.tsv",
                           ("name", "in_snapshot_2026_02", "group_ability",
                            "project_ability", "requirements",
                            "enabled_for_group_access_levels",
                            "enabled_for_project_access_levels"), False),
        scopes=read_tsv(directory / "legacy_scopes.tsv", ("scope",), False),
        graphql=read_tsv(directory / "graphql_operations.tsv", ("kind", "name"), False),
    )


# --------------------------------------------------------------------------
# Summary collected for stderr
# --------------------------------------------------------------------------

@dataclass
class Report:
    skipped: list = field(default_factory=list)    # (reason, detail)
    notes: list = field(default_factory=list)      # (topic, detail)

    def skip(self, reason: str, detail: str) -> None:
        self.skipped.append((reason, detail))

    def note(self, topic: str, detail: str) -> None:
        self.notes.append((topic, detail))


# --------------------------------------------------------------------------
# Assignable and raw permissions
# --------------------------------------------------------------------------

def check_boundaries(values: list, where: str) -> list:
    unknown = [b for b in values if b not in BOUNDARIES]
    if unknown:
        raise CatalogError(f"{where}: unknown boundary {', '.join(unknown)}")
    return values


def build_assignable(ref: Reference) -> dict:
    """name -> dict(category, resource, action, boundaries, raw) from the reference."""
    result = {}
    for row in ref.assignable:
        name = row["assignable_permission"]
        raw = split_list(row["raw_permissions"])
        unknown = [r for r in raw if r not in ref.raw]
        if unknown:
            raise CatalogError(f"{row.where()}: {name} expands to unknown raw "
                               f"permission(s) {', '.join(unknown)}")
        result[name] = {
            "category": row["category"],
            "resource": row["resource"],
            "action": row["action"],
            "boundaries": check_boundaries(split_list(row["boundaries"]), row.where()),
            "raw": raw,
            "origin": "gitlab",
        }
    return result


def build_raw(ref: Reference, assignable: dict) -> dict:
    """Raw permissions reachable from at least one assignable permission.

    Only these can ever be granted to a fine-grained token, so only these are
    catalogued; an endpoint needing anything else is unusable and skipped.
    """
    included_by = defaultdict(list)
    for name, perm in assignable.items():
        for raw in perm["raw"]:
            included_by[raw].append(name)
    result = {}
    for raw, owners in included_by.items():
        row = ref.raw[raw]
        owners.sort()
        boundaries = check_boundaries(split_list(row["boundaries"]), row.where())
        if not boundaries:
            # GitLab left the raw permission without boundaries: it is usable
            # wherever an assignable permission carrying it is.
            boundaries = [b for owner in owners for b in assignable[owner]["boundaries"]]
        result[raw] = {
            "resource": row["resource"],
            "action": row["action"],
            "category": assignable[owners[0]]["category"],
            "boundaries": sorted(set(boundaries)),
            "origin": "gitlab",
        }
    return result


def add_boundaries(assignable: dict, raw: dict) -> None:
    """Boundaries GitLab checks a permission at that its permission table
    omits (rules/boundaries.tsv): added to the raw permission and to every
    assignable permission carrying it."""
    rows = read_tsv(RULES_DIR / "boundaries.tsv", ("permission", "boundary"), True)
    for row in rows:
        name, boundary = row["permission"], row["boundary"]
        if name not in raw:
            raise CatalogError(f"{row.where()}: unknown raw permission {name!r}")
        check_boundaries([boundary], row.where())
        raw[name]["boundaries"] = sorted(set(raw[name]["boundaries"]) | {boundary})
        for perm in assignable.values():
            if name in perm["raw"]:
                perm["boundaries"] = sorted(set(perm["boundaries"]) | {boundary})


# --------------------------------------------------------------------------
# Custom abilities and aliases
# --------------------------------------------------------------------------

def yes_no(value: str) -> str:
    return "yes" if value.strip().lower() in ("true", "yes") else "no"


def levels(cell: str, where: str) -> str:
    values = split_list(cell)
    if not all(v.isdigit() for v in values):
        raise CatalogError(f"{where}: access levels must be integers: {cell!r}")
    return ",".join(str(v) for v in sorted({int(v) for v in values}))


def build_abilities(ref: Reference) -> dict:
    """Abilities present in the 2026-02 snapshot (rows marked 'yes ...')."""
    result = {}
    for row in ref.abilities:
        if not row["in_snapshot_2026_02"].startswith("yes"):
            continue
        where = row.where()
        result[row["name"]] = {
            "group_ability": yes_no(row["group_ability"]),
            "project_ability": yes_no(row["project_ability"]),
            "requirements": split_list(row["requirements"]),
            "default_group_levels": levels(row["enabled_for_group_access_levels"], where),
            "default_project_levels": levels(row["enabled_for_project_access_levels"], where),
        }
    for name, ability in result.items():
        missing = [r for r in ability["requirements"] if r not in result]
        if missing:
            raise CatalogError(f"custom_abilities.tsv: {name} requires unknown "
                               f"ability {', '.join(missing)}")
    return result


def load_aliases(abilities: dict) -> dict:
    rows = read_tsv(RULES_DIR / "ability_aliases.tsv", ("alias", "canonical"), True)
    result = {}
    for row in rows:
        alias, canonical = row["alias"], row["canonical"]
        if canonical not in abilities:
            raise CatalogError(f"{row.where()}: unknown ability {canonical!r}")
        if alias in abilities:
            raise CatalogError(f"{row.where()}: alias {alias!r} is already a real ability")
        if alias in result:
            raise CatalogError(f"{row.where()}: alias {alias!r} listed twice")
        result[alias] = canonical
    return result


# --------------------------------------------------------------------------
# Requirement rules
# --------------------------------------------------------------------------

@dataclass
class Rule:
    id: str
    where: str
    resources: list      # fnmatch patterns
    boundary_set: tuple  # exact boundary set required, or () for any
    actions: list        # fnmatch patterns
    min_role: str
    abilities: list
    crud: str
    public_read: str
    group_min_role: str = ""
    used: int = 0

    def matches(self, perm: dict) -> bool:
        if self.boundary_set and tuple(perm["boundaries"]) != self.boundary_set:
            return False
        return (any(fnmatch.fnmatchcase(perm["resource"], p) for p in self.resources)
                and any(fnmatch.fnmatchcase(perm["action"], p) for p in self.actions))


def parse_selector(cell: str, known: set, kind: str, where: str) -> list:
    """A comma list of names or glob patterns; each must hit a known name."""
    patterns = split_list(cell)
    if not patterns:
        raise CatalogError(f"{where}: empty {kind} (use * for any)")
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in known):
            raise CatalogError(f"{where}: unknown {kind} {pattern!r}")
    return patterns


def parse_crud(cell: str, where: str) -> str:
    if not cell:
        return ""
    resource, _, verb = cell.partition(":")
    if resource not in CRUD_RESOURCES or verb not in CRUD_VERBS:
        raise CatalogError(f"{where}: crud must be <resource>:<verb> with resource in "
                           f"{'|'.join(CRUD_RESOURCES)} and verb in "
                           f"{'|'.join(CRUD_VERBS)}, not {cell!r}")
    return cell


def load_rules(raw: dict, abilities: dict) -> list:
    rows = read_tsv(RULES_DIR / "requirements.tsv",
                    ("id", "resource", "action", "min_role", "abilities", "crud",
                     "public_read", "group_min_role"), True)
    resources = {p["resource"] for p in raw.values()}
    actions = {p["action"] for p in raw.values()}
    rules, seen = [], set()
    for row in rows:
        where = row.where()
        if not row["id"] or row["id"] in seen:
            raise CatalogError(f"{where}: rule id {row['id']!r} is empty or repeated")
        seen.add(row["id"])
        # "glob@b1+b2" limits a row to permissions whose boundaries are exactly b1,b2.
        resource_cell, _, boundary_cell = row["resource"].partition("@")
        boundary_set = tuple(sorted(boundary_cell.split("+"))) if boundary_cell else ()
        check_boundaries(list(boundary_set), where)
        if row["min_role"] not in ROLES:
            raise CatalogError(f"{where}: unknown min_role {row['min_role']!r} "
                               f"(expected one of {', '.join(ROLES)})")
        granted = split_list(row["abilities"])
        unknown = [a for a in granted if a not in abilities]
        if unknown:
            raise CatalogError(f"{where}: unknown ability {', '.join(unknown)}")
        if row["group_min_role"] and row["group_min_role"] not in ROLES:
            raise CatalogError(f"{where}: unknown group_min_role {row['group_min_role']!r}")
        if row["group_min_role"] and ROLES.index(row["group_min_role"]) <= ROLES.index(row["min_role"]):
            raise CatalogError(f"{where}: group_min_role must be above min_role (or empty)")
        if row["public_read"] not in ("yes", "no"):
            raise CatalogError(f"{where}: public_read must be yes or no")
        rules.append(Rule(
            id=row["id"], where=where,
            resources=parse_selector(resource_cell, resources, "resource", where),
            boundary_set=boundary_set,
            actions=parse_selector(row["action"], actions, "action", where),
            min_role=row["min_role"], abilities=sorted(set(granted)),
            crud=parse_crud(row["crud"], where), public_read=row["public_read"],
            group_min_role=row["group_min_role"]))
    return rules


def apply_rules(raw: dict, rules: list, report: Report) -> None:
    """Give every raw permission the requirement of its first matching rule."""
    for name in sorted(raw):
        perm = raw[name]
        rule = next((r for r in rules if r.matches(perm)), None)
        if rule is None:
            raise CatalogError(f"{display_path(RULES_DIR / 'requirements.tsv')}: no rule "
                               f"matches {name} (resource {perm['resource']}, action "
                               f"{perm['action']}); add a row or a catch-all")
        rule.used += 1
        perm.update(min_role=rule.min_role, abilities=rule.abilities,
                    crud=rule.crud, public_read=rule.public_read, rule=rule.id,
                    group_min_role=rule.group_min_role)
    for rule in rules:
        if not rule.used:
            report.note("rule never used (shadowed or too narrow)", f"{rule.id} ({rule.where})")


# --------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------

class PathRejected(Exception):
    """A reference path the loader cannot match safely; the text is the reason."""


def expand_optional(path: str) -> list:
    """Expand each optional group ``(...)`` into both variants (with and without).

    Grape writes optional parts as ``(-/)``, ``(/:hash)`` or ``(*path/)``; an
    escaped ``\\(`` or ``\\)`` is a literal parenthesis (NuGet's OData routes).
    """
    depth, start = 0, None
    for index, ch in enumerate(path):
        if ch == "\\":
            continue
        if ch == "(" and (index == 0 or path[index - 1] != "\\"):
            if depth == 0:
                start = index
            depth += 1
        elif ch == ")" and (index == 0 or path[index - 1] != "\\") and depth:
            depth -= 1
            if depth == 0:
                head, inner, tail = path[:start], path[start + 1:index], path[index + 1:]
                rests = expand_optional(tail)
                return ([v for inner_v in expand_optional(inner) for r in rests
                         for v in [head + inner_v + r]] + [head + r for r in rests])
    return [path.replace("\\(", "(").replace("\\)", ")")]


# A parameter segment, optionally with a literal prefix or suffix inside the
# segment (`binary-:architecture`, `:module_version.info`): the router supports
# one parameter per segment.
PARAM_SEGMENT = re.compile(r"([^:*]*)([:*])([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z0-9.]+)?\Z")


def check_segments(path: str) -> list:
    """Validate a template path; return its segments or raise PathRejected."""
    if not path.startswith("/"):
        raise PathRejected("path does not start with /")
    segments = path[1:].split("/")
    for segment in segments:
        if not segment:
            raise PathRejected("empty path segment")
        if any(ch in segment for ch in "{}\\"):
            raise PathRejected("braces or backslashes in a segment")
        if ":" in segment or "*" in segment:
            match = PARAM_SEGMENT.match(segment)
            if not match:
                raise PathRejected("parameter mixed with other text in a segment")
            if match.group(2) == "*" and (match.group(1) or match.group(4)):
                raise PathRejected("catch-all parameter with a prefix or suffix")
    return segments


def normalise_paths(path: str) -> list:
    """All concrete template paths for a reference path (may raise PathRejected)."""
    return [(variant, check_segments(variant)) for variant in expand_optional(path)]


def namespace_param(segments: list, boundary: str) -> str:
    """The parameter naming the namespace of a project/group endpoint, or ''.

    It is the parameter right after the first 'projects'/'project' (project
    boundary) or 'groups'/'group' (group boundary) literal that is followed by
    a parameter. Taking a parameter
    after a literal of the other kind would resolve, say, a project id as a
    group id, so such endpoints get '' and are skipped.
    """
    for literal, following in zip(segments, segments[1:]):
        if NAMESPACE_LITERALS.get(literal) == boundary and following.startswith(":"):
            return following[1:]
    return ""


def boundary_fits(endpoint_boundary: str, permission_boundaries: list) -> bool:
    """Whether a permission declared at these boundaries can serve the endpoint.

    Project and group are both namespace boundaries, resolved the same way by
    the engine, so either satisfies the other (same rule as the Rust loader).
    """
    if endpoint_boundary in permission_boundaries:
        return True
    namespaces = {"project", "group"}
    return endpoint_boundary in namespaces and bool(namespaces & set(permission_boundaries))


def reference_v4_paths(ref: Reference) -> set:
    """Every usable /api/v4 template path in the reference, annotated or not."""
    paths = set()
    for row in ref.endpoints:
        if row["prefix"] != API_PREFIX:
            continue
        try:
            paths.update(p for p, _ in normalise_paths(row["path"]))
        except PathRejected:
            pass
    return paths


@dataclass
class Candidate:
    method: str
    path: str          # reference form (before normalisation)
    permissions: list
    boundary: str
    origin: str
    where: str
    auth: str = "token"  # token | anonymous | service (see rules/conventions.tsv)


def reference_candidates(ref: Reference) -> list:
    return [Candidate(row["method"], row["path"], split_list(row["granular_permissions"]),
                      row["boundary"].replace("(inferred)", "").strip(), "gitlab", row.where())
            for row in ref.endpoints
            if row["prefix"] == API_PREFIX and row["granular_permissions"]]


def assigned_candidates(ref: Reference, raw: dict) -> list:
    """Rows of rules/assigned_endpoints.tsv, checked against the reference."""
    rows = read_tsv(RULES_DIR / "assigned_endpoints.tsv",
                    ("method", "path", "permissions", "boundary"), True)
    reference_rows = {(r["method"], r["path"]): r for r in ref.endpoints
                      if r["prefix"] == API_PREFIX}
    result = []
    for row in rows:
        where, key = row.where(), (row["method"], row["path"])
        if key not in reference_rows:
            raise CatalogError(f"{where}: unknown operation {row['method']} {row['path']} "
                               f"(not an {API_PREFIX} row of rest_endpoints.tsv)")
        if reference_rows[key]["granular_permissions"]:
            raise CatalogError(f"{where}: {row['method']} {row['path']} is already annotated "
                               f"by GitLab with {reference_rows[key]['granular_permissions']}")
        permissions = split_list(row["permissions"])
        unknown = [p for p in permissions if p not in raw]
        if not permissions or unknown:
            raise CatalogError(f"{where}: unknown or unreachable raw permission "
                               f"{', '.join(unknown) or '(none given)'}")
        if row["boundary"] not in BOUNDARIES:
            raise CatalogError(f"{where}: unknown boundary {row['boundary']!r}")
        result.append(Candidate(row["method"], row["path"], permissions, row["boundary"],
                                "assigned", where))
    return result



# --------------------------------------------------------------------------
# Conventions for operations GitLab has not annotated
# --------------------------------------------------------------------------

AUTH_KINDS = ("token", "anonymous", "service")
METHOD_ACTIONS = {"GET": "read", "HEAD": "read", "POST": "create", "PUT": "update",
                  "PATCH": "update", "DELETE": "delete"}
ACTION_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass
class Convention:
    where: str
    pattern: str
    methods: list        # ["*"] or HTTP methods
    auth: str
    resource: str
    action: str          # "" = by method, "{last}" = last literal segment, or a verb
    boundary: str        # "" = from the path
    category: str
    used: int = 0

    def matches(self, method: str, path: str) -> bool:
        return ((self.methods == ["*"] or method in self.methods)
                and fnmatch.fnmatchcase(path, self.pattern))


def rule_methods(row, where: str) -> list:
    """A rule row's `methods` column: `*` or a list of HTTP methods."""
    methods = split_list(row["methods"])
    if methods != ["*"] and any(m not in HTTP_METHODS for m in methods):
        raise CatalogError(f"{where}: methods must be * or HTTP methods, not {row['methods']!r}")
    return methods


def load_conventions(categories: set) -> list:
    rows = read_tsv(RULES_DIR / "conventions.tsv",
                    ("path", "methods", "auth", "resource", "action", "boundary", "category"),
                    True)
    result = []
    for row in rows:
        where = row.where()
        methods = rule_methods(row, where)
        if row["auth"] not in AUTH_KINDS:
            raise CatalogError(f"{where}: auth must be one of {', '.join(AUTH_KINDS)}, "
                               f"not {row['auth']!r}")
        token = row["auth"] == "token"
        if token != bool(row["resource"]):
            raise CatalogError(f"{where}: a resource is required for auth token and "
                               "forbidden otherwise")
        if token and not ACTION_NAME.match(row["resource"]):
            raise CatalogError(f"{where}: resource {row['resource']!r} is not snake_case")
        action = row["action"]
        if action and action != "{last}" and not ACTION_NAME.match(action):
            raise CatalogError(f"{where}: action {action!r} is not snake_case or {{last}}")
        if row["boundary"] and row["boundary"] not in BOUNDARIES:
            raise CatalogError(f"{where}: unknown boundary {row['boundary']!r}")
        if row["category"] and row["category"] not in categories:
            raise CatalogError(f"{where}: unknown category {row['category']!r} (use one of "
                               "granular_assignable_permissions.tsv)")
        result.append(Convention(where, row["path"], methods, row["auth"], row["resource"],
                                 action, row["boundary"], row["category"]))
    return result


def path_boundary(path: str) -> str:
    """GitLab's convention: /projects/:id... project, /groups/:id... group,
    /user... user, anything else instance."""
    segments = path.strip("/").split("/")
    if len(segments) > 1 and segments[1].startswith(":"):
        kind = {"projects": "project", "groups": "group"}.get(segments[0])
        if kind:
            return kind
    return "user" if segments[0] == "user" else "instance"


def convention_action(rule: Convention, method: str, path: str, where: str) -> str:
    if rule.action == "{last}":
        literals = [s for s in expand_optional(path)[-1].split("/") if s and s[0] not in ":*"]
        verb = literals[-1].lower().replace("-", "_") if literals else ""
        if not ACTION_NAME.match(verb):
            raise CatalogError(f"{where}: {{last}} gives no usable verb for {method} {path}")
        return verb
    return rule.action or METHOD_ACTIONS[method]


def boundary_problem(cand: Candidate, raw: dict) -> str:
    """Why the candidate's boundary cannot be enforced, or '' when it can."""
    outside = [p for p in cand.permissions
               if p in raw and not boundary_fits(cand.boundary, raw[p]["boundaries"])]
    if outside:
        return f"boundary {cand.boundary} is not among the boundaries of {', '.join(outside)}"
    if cand.boundary in ("project", "group"):
        try:
            variants = normalise_paths(cand.path)
        except PathRejected:
            return ""
        if any(not namespace_param(segments, cand.boundary) for _, segments in variants):
            return f"the path names no {cand.boundary}"
    return ""


def correct_boundaries(candidates: list, raw: dict, report: Report) -> list:
    """Annotated operations whose boundary cannot be enforced as GitLab wrote it.

    When the path gives a boundary the permissions allow (GitLab's own path
    convention), that boundary is used and the mapping becomes ``assigned``;
    otherwise the operation is left to rules/conventions.tsv (it is dropped
    here, so the conventions see it as unannotated).
    """
    result = []
    for cand in candidates:
        problem = boundary_problem(cand, raw)
        if not problem:
            result.append(cand)
            continue
        label = f"{cand.method} {cand.path} ({cand.where})"
        corrected = Candidate(cand.method, cand.path, cand.permissions,
                              path_boundary(cand.path), "assigned", cand.where)
        if not boundary_problem(corrected, raw) and all(p in raw for p in cand.permissions):
            report.note("GitLab boundary corrected from the path",
                        f"{label}: {cand.boundary} -> {corrected.boundary} ({problem})")
            result.append(corrected)
        else:
            report.note("GitLab annotation not enforceable; conventions decide",
                        f"{label}: {problem}")
    return result


def convention_candidates(ref: Reference, raw: dict, assignable: dict, taken: set,
                          report: Report) -> list:
    """Candidates for the unannotated operations, by the first matching convention.

    A token-authenticated operation needs ``<action>_<resource>``. When GitLab
    already has that raw permission it is reused (and made assignable if no
    assignable permission carried it); otherwise it is created here, with an
    assignable permission of the same name, in the style of GitLab's
    single-permission assignables. New names are recorded as origin
    ``assigned``.
    """
    categories = {a["category"] for a in assignable.values()}
    rules = load_conventions(categories)
    category_of = {a["resource"]: a["category"] for a in assignable.values()}
    result, created = [], {}
    for row in ref.endpoints:
        key = (row["method"], row["path"])
        if row["prefix"] != API_PREFIX or key in taken:
            continue
        label = f"{row['method']} {row['path']} ({row.where()})"
        rule = next((r for r in rules if r.matches(*key)), None)
        if rule is None:
            report.skip("no convention matches (unmapped)", label)
            continue
        rule.used += 1
        boundary = rule.boundary or path_boundary(row["path"])
        if rule.auth != "token":
            result.append(Candidate(row["method"], row["path"], [], boundary, "assigned",
                                    row.where(), rule.auth))
            continue
        name = f"{convention_action(rule, *key, rule.where)}_{rule.resource}"
        if name not in raw:
            action = name[: -len(rule.resource) - 1]
            category = rule.category or category_of.get(rule.resource, "")
            if not category:
                raise CatalogError(f"{rule.where}: resource {rule.resource!r} is new; give it a "
                                   "category")
            gitlab_row = ref.raw.get(name)
            raw[name] = {"resource": rule.resource, "action": action, "category": category,
                         "boundaries": [], "origin": "assigned" if gitlab_row is None else "gitlab"}
            assignable[name] = {"category": category, "resource": rule.resource,
                                "action": action, "boundaries": [], "raw": [name],
                                "origin": "assigned"}
            created[name] = rule.where
        if name in created:
            for perm in (raw[name], assignable[name]):
                perm["boundaries"] = sorted(set(perm["boundaries"]) | {boundary})
        result.append(Candidate(row["method"], row["path"], [name], boundary, "assigned",
                                f"{row.where()} via {rule.where}"))
    for rule in rules:
        if not rule.used:
            report.note("convention never used (shadowed or too narrow)",
                        f"{rule.pattern} ({rule.where})")
    for name in sorted(created):
        report.note("permissions created or made assignable by conventions", name)
    return result


def build_endpoints(candidates: list, ref: Reference, raw: dict, report: Report) -> list:
    """Turn candidate operations into endpoint rows.

    An operation is kept whole or not at all: every path its optional groups
    expand to must be routable, or the operation is skipped and reported.
    """
    endpoints, seen = [], {}
    for cand in candidates:
        label = f"{cand.method} {cand.path} ({cand.where})"
        missing = [p for p in cand.permissions if p not in raw]
        if missing:
            known = [p for p in missing if p in ref.raw]
            reason = ("permission not reachable from any assignable permission" if known
                      else "unknown permission")
            report.skip(reason, f"{label}: {', '.join(missing)}")
            continue
        if cand.boundary not in BOUNDARIES:
            report.skip("unknown or missing boundary", f"{label}: {cand.boundary!r}")
            continue
        outside = [p for p in cand.permissions
                   if not boundary_fits(cand.boundary, raw[p]["boundaries"])]
        if outside:
            # No token grant could ever satisfy it; the Rust loader rejects it too.
            report.skip("endpoint boundary not among the permission's boundaries",
                        f"{label}: {cand.boundary} vs "
                        + ", ".join(f"{p} ({','.join(raw[p]['boundaries'])})" for p in outside))
            continue
        try:
            variants = normalise_paths(cand.path)
        except PathRejected as exc:
            report.skip(f"path syntax: {exc}", label)
            continue
        rows, problem = [], None
        for path, segments in variants:
            param = ""
            if cand.boundary in ("project", "group"):
                param = namespace_param(segments, cand.boundary)
                if not param:
                    problem = (f"{cand.boundary} boundary without a {cand.boundary} path "
                               "parameter", label)
                    break
                if "*" in path.split("/:" + param)[0]:
                    problem = ("namespace parameter after a catch-all", label)
                    break
            key = (cand.method, path)
            if key in seen:
                problem = ("duplicate method and path (first kept)",
                           f"{cand.method} {path} ({cand.where}; kept {seen[key]})")
                break
            rows.append({"method": cand.method, "path": path,
                         "permissions": sorted(set(cand.permissions)),
                         "boundary": cand.boundary, "boundary_param": param,
                         "origin": cand.origin, "auth": cand.auth, "reference": cand.path,
                         "where": cand.where})
        if problem:
            report.skip(*problem)
            continue
        for row in rows:
            seen[(row["method"], row["path"])] = cand.where
        endpoints.extend(rows)
    return drop_shadowed(endpoints, report)


def shape(segments: list) -> str:
    """A path with every parameter reduced to its kind (':' or '*')."""
    return "/".join(PARAM_SEGMENT.sub(lambda m: m.group(1) + m.group(2) + (m.group(4) or ""), s)
                    for s in segments)


def route_shape(path: str) -> tuple:
    """How the router files a template: routes without a catch-all are matched
    whole; a route with one is filed under the part before its first catch-all
    and matched there by the rest (the tail)."""
    segments = path.split("/")
    star = next((i for i, s in enumerate(segments) if s.startswith("*")), None)
    if star is None:
        return ("exact", shape(segments), "")
    return ("tail", shape(segments[:star]), shape(segments[star:]))


def drop_shadowed(endpoints: list, report: Report) -> list:
    """Drop an operation whose route another one would always win.

    Two templates of the same method that differ only in parameter names (or,
    for catch-all routes, have the same prefix and the same tail shape) match
    exactly the same requests; the router would always pick the first, so the
    second operation is reported and left out. The Rust router refuses such a
    catalog too.
    """
    first, dropped = {}, set()
    for ep in endpoints:
        key = (ep["method"],) + route_shape(ep["path"])
        if key in first and first[key]["reference"] != ep["reference"]:
            report.skip("route shadowed by another with the same shape",
                        f"{ep['method']} {ep['path']} ({ep['where']}; shadowed by "
                        f"{first[key]['path']}, {first[key]['where']})")
            dropped.add((ep["method"], ep["reference"]))
        first.setdefault(key, ep)
    return [ep for ep in endpoints if (ep["method"], ep["reference"]) not in dropped]


# --------------------------------------------------------------------------
# Owners of object-addressed routes
# --------------------------------------------------------------------------

OWNER_BOUNDARIES = ("project", "group")
OWNER_ANNOTATION = "annotation"


@dataclass
class OwnerRule:
    where: str
    pattern: str
    methods: list        # ["*"] or HTTP methods
    permissions: list    # [] = GitLab's annotation of the operation
    owners: list         # boundaries the owner may be: project, group
    source: str
    used: int = 0

    def matches(self, method: str, path: str) -> bool:
        return ((self.methods == ["*"] or method in self.methods)
                and fnmatch.fnmatchcase(path, self.pattern))


def load_owner_rules(ref: Reference, raw: dict) -> list:
    """Rows of rules/object_owners.tsv, checked against the reference."""
    rows = read_tsv(RULES_DIR / "object_owners.tsv",
                    ("path", "methods", "permissions", "owners", "source"), True)
    result = []
    for row in rows:
        where = row.where()
        methods = rule_methods(row, where)
        owners = split_list(row["owners"])
        if not owners or any(o not in OWNER_BOUNDARIES for o in owners):
            raise CatalogError(f"{where}: owners must be a list of project, group, "
                               f"not {row['owners']!r}")
        permissions, source = split_list(row["permissions"]), row["source"]
        if (source == OWNER_ANNOTATION) == bool(permissions):
            raise CatalogError(f"{where}: give permissions with a GitLab permission file as "
                               f"source, or no permissions with source {OWNER_ANNOTATION}")
        for name in permissions:
            if name not in raw:
                raise CatalogError(f"{where}: unknown or unreachable raw permission {name}")
            if ref.raw[name]["source_path"] != source:
                raise CatalogError(f"{where}: {name} is defined in "
                                   f"{ref.raw[name]['source_path']}, not {source}")
            outside = [o for o in owners if not boundary_fits(o, raw[name]["boundaries"])]
            if outside:
                raise CatalogError(f"{where}: {name} does not apply at {', '.join(outside)}")
        result.append(OwnerRule(where, row["path"], methods, permissions, owners, source))
    return result


def annotated_owner_permissions(rule: OwnerRule, ep: dict, ref: Reference, raw: dict,
                                report: Report) -> list:
    """GitLab's own annotation of the operation, when it can serve the owners."""
    label = f"{ep['method']} {ep['reference']} ({rule.where})"
    row = next((r for r in ref.endpoints if r["prefix"] == API_PREFIX
                and (r["method"], r["path"]) == (ep["method"], ep["reference"])), None)
    permissions = split_list(row["granular_permissions"]) if row else []
    declared = row["boundary"].replace("(inferred)", "").strip() if row else ""
    if not permissions or declared not in rule.owners:
        raise CatalogError(f"{label}: GitLab annotates no permission at "
                           f"{'/'.join(rule.owners)} (annotation {permissions} at {declared!r})")
    unfit = [p for p in permissions if p not in raw
             or not all(boundary_fits(o, raw[p]["boundaries"]) for o in rule.owners)]
    if unfit:
        report.note("owner rule not enforceable (permission table disagrees); instance only",
                    f"{label}: {', '.join(unfit)}")
        return []
    return permissions


def apply_owner_rules(endpoints: list, ref: Reference, raw: dict, report: Report) -> None:
    """Give object-addressed endpoints the permission that applies at their owner.

    Only token endpoints at the instance boundary (the engine cannot see which
    namespace their object belongs to) take an owner rule; the FIRST rule whose
    path pattern and method match the operation decides.
    """
    rules = load_owner_rules(ref, raw)
    for ep in endpoints:
        ep["owner_permissions"], ep["owner_boundaries"] = "", ""
        if ep["boundary"] != "instance" or ep["auth"] != "token":
            continue
        rule = next((r for r in rules if r.matches(ep["method"], ep["reference"])), None)
        if rule is None:
            continue
        rule.used += 1
        permissions = rule.permissions or annotated_owner_permissions(rule, ep, ref, raw, report)
        if permissions:
            ep["owner_permissions"] = join_list(permissions)
            ep["owner_boundaries"] = join_list(rule.owners)
    unused = [f"{r.pattern} ({r.where})" for r in rules if not r.used]
    if unused:
        raise CatalogError("owner rule matches no instance token endpoint: " + "; ".join(unused))


# --------------------------------------------------------------------------
# Legacy scopes
# --------------------------------------------------------------------------

def prefix_matches(prefix: str, path: str) -> bool:
    """Whole-segment prefix match: /user matches /user/keys, not /users."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def load_legacy_scopes(ref: Reference) -> dict:
    rows = read_tsv(RULES_DIR / "legacy_scopes.tsv",
                    ("scope", "api_methods", "api_paths", "git"), True)
    known = {r["scope"] for r in ref.scopes} - set(SKIPPED_SCOPES)
    v4_paths = reference_v4_paths(ref)
    result = {}
    for row in rows:
        where, scope = row.where(), row["scope"]
        if scope not in known:
            raise CatalogError(f"{where}: unknown legacy scope {scope!r}")
        if scope in result:
            raise CatalogError(f"{where}: scope {scope!r} listed twice")
        methods, paths = split_list(row["api_methods"]), split_list(row["api_paths"])
        if methods != ["*"]:
            bad = [m for m in methods if m not in HTTP_METHODS]
            if bad:
                raise CatalogError(f"{where}: unknown HTTP method {', '.join(bad)}")
        if paths != ["*"]:
            for prefix in paths:
                if not prefix.startswith("/") or not any(prefix_matches(prefix, p)
                                                         for p in v4_paths):
                    raise CatalogError(f"{where}: path prefix {prefix!r} matches no "
                                       f"{API_PREFIX} path of the reference")
        if bool(methods) != bool(paths):
            raise CatalogError(f"{where}: api_methods and api_paths must be both "
                               "empty or both set")
        git = split_list(row["git"])
        bad = [g for g in git if g not in GIT_OPERATIONS]
        if bad:
            raise CatalogError(f"{where}: unknown git operation {', '.join(bad)}")
        result[scope] = {
            "api_methods": "*" if methods == ["*"] else join_list(methods),
            "api_paths": "*" if paths == ["*"] else join_list(paths),
            "git": join_list(git),
        }
    missing = sorted(known - set(result))
    if missing:
        raise CatalogError(f"{display_path(RULES_DIR / 'legacy_scopes.tsv')}: reference "
                           f"scope(s) not described: {', '.join(missing)}")
    return result


# --------------------------------------------------------------------------
# GraphQL root fields
# --------------------------------------------------------------------------

GRAPHQL_KINDS = ("query", "mutation")
ARGUMENT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def graphql_user_rule(row, label: str, abilities: dict) -> dict:
    """The user-side columns of a graphql_fields.tsv row, checked."""
    where = row.where()
    if row["group_path"] not in ("", "yes"):
        raise CatalogError(f"{where}: {label}: group_path must be yes or empty")
    if row["group_path"] and row["boundary"] != "project":
        raise CatalogError(f"{where}: {label}: group_path is for project fields")
    if row["role"] and row["role"] not in ROLES:
        raise CatalogError(f"{where}: {label}: unknown role {row['role']!r}")
    names = split_list(row["abilities"])
    unknown = [a for a in names if a not in abilities]
    if unknown:
        raise CatalogError(f"{where}: {label}: unknown custom ability {', '.join(unknown)}")
    arguments = split_list(row["ability_arguments"])
    if arguments and not names:
        raise CatalogError(f"{where}: {label}: ability_arguments without abilities")
    bad = [a for a in arguments if not ARGUMENT_PATH.match(a)]
    if bad:
        raise CatalogError(f"{where}: argument {bad[0]!r} is not a dotted name")
    return {"group_path": row["group_path"], "role": row["role"],
            "abilities": join_list(names), "ability_arguments": join_list(arguments)}


def load_graphql(ref: Reference, raw: dict, abilities: dict) -> list:
    """rules/graphql_fields.tsv, checked against the reference and the catalog."""
    rows = read_tsv(RULES_DIR / "graphql_fields.tsv",
                    ("kind", "field", "permissions", "boundary", "argument", "group_path", "role",
                     "abilities", "ability_arguments"), True)
    known = {(r["kind"], r["name"]) for r in ref.graphql}
    result, seen = [], set()
    for row in rows:
        where, key = row.where(), (row["kind"], row["field"])
        label = f"{row['kind']} {row['field']}"
        if row["kind"] not in GRAPHQL_KINDS:
            raise CatalogError(f"{where}: kind must be query or mutation, not {row['kind']!r}")
        if key not in known:
            raise CatalogError(f"{where}: {label} is not in graphql_operations.tsv")
        if key in seen:
            raise CatalogError(f"{where}: {label} is listed twice")
        seen.add(key)
        permissions = split_list(row["permissions"])
        unknown = [p for p in permissions if p not in raw]
        if not permissions or unknown:
            raise CatalogError(f"{where}: {label}: unknown or unreachable raw permission "
                               f"{', '.join(unknown) or '(none given)'}")
        boundary = row["boundary"]
        if boundary not in BOUNDARIES:
            raise CatalogError(f"{where}: unknown boundary {boundary!r}")
        outside = [p for p in permissions if not boundary_fits(boundary, raw[p]["boundaries"])]
        if outside:
            raise CatalogError(f"{where}: {label} is a {boundary} field but "
                               + ", ".join(f"{p} applies at {','.join(raw[p]['boundaries'])}"
                                           for p in outside))
        argument = row["argument"]
        if (boundary in ("project", "group")) != bool(argument):
            raise CatalogError(f"{where}: {label}: project and group fields need an argument, "
                               "user and instance fields must not have one")
        if argument and not ARGUMENT_PATH.match(argument):
            raise CatalogError(f"{where}: argument {argument!r} is not a dotted name")
        result.append({"kind": row["kind"], "field": row["field"],
                       "permissions": join_list(permissions), "boundary": boundary,
                       "argument": argument, **graphql_user_rule(row, label, abilities)})
    return result


GRAPHQL_REACHES = ("same", "parent", "descendants", "everywhere")
GRAPHQL_TYPE = re.compile(r"\[?[A-Z][A-Za-z0-9_]*\]?\Z")


def reference_return_type(declared: str) -> str:
    """``returns:ProjectConnection`` -> ``[Project]``; ``returns:[X!]!`` -> ``[X]``."""
    name = declared.removeprefix("returns:").replace("!", "")
    if name.startswith("["):
        return name
    if name.endswith("Connection"):
        return f"[{name.removesuffix('Connection')}]"
    return name


def load_graphql_types(ref: Reference, raw: dict, graphql: list) -> list:
    """rules/graphql_types.tsv: the object fields below the root, checked against
    the reference (root return types) and the catalog (permissions)."""
    rows = read_tsv(RULES_DIR / "graphql_types.tsv",
                    ("type", "field", "returns", "reach", "permission", "origin"), True)
    returns = {r["name"]: reference_return_type(r["type"]) for r in ref.graphql if r["kind"] == "query"}
    roots = {f["field"] for f in graphql if f["kind"] == "query"}
    result, seen = [], set()
    for row in rows:
        where, key = row.where(), (row["type"], row["field"])
        label = f"{row['type']}.{row['field']}"
        if key in seen:
            raise CatalogError(f"{where}: {label} is listed twice")
        seen.add(key)
        if not GRAPHQL_TYPE.match(row["returns"]):
            raise CatalogError(f"{where}: {label}: returns {row['returns']!r} is not a type or [type]")
        if row["reach"] not in GRAPHQL_REACHES:
            raise CatalogError(f"{where}: {label}: reach must be one of {', '.join(GRAPHQL_REACHES)}")
        if row["origin"] not in ("gitlab", "assigned"):
            raise CatalogError(f"{where}: {label}: origin must be gitlab or assigned")
        permission = row["permission"]
        if row["type"] in ("Query", "Mutation"):
            if permission != "-":
                raise CatalogError(f"{where}: {label}: a root field's permission is in graphql_fields.tsv; "
                                   "write -")
            if row["type"] == "Query" and row["field"] not in roots:
                raise CatalogError(f"{where}: {label} is not a mapped query of graphql_fields.tsv")
            if row["type"] == "Query" and returns.get(row["field"]) != row["returns"]:
                raise CatalogError(f"{where}: {label} returns {returns.get(row['field'])} in "
                                   f"graphql_operations.tsv, not {row['returns']}")
            if row["type"] == "Mutation" and row["field"] != "*":
                raise CatalogError(f"{where}: mutations are listed once, as Mutation *")
        elif permission != "-" and permission not in raw:
            raise CatalogError(f"{where}: {label}: unknown raw permission {permission!r}")
        result.append({"type": row["type"], "field": row["field"], "returns": row["returns"],
                       "reach": row["reach"], "permission": "" if permission == "-" else permission,
                       "origin": row["origin"]})
    return result


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

def render(columns: tuple, rows: list, key=None) -> str:
    """TSV text: header row, then the rows sorted by ``key`` (default: all cells)."""
    lines = ["\t".join(columns)]
    body = []
    for row in rows:
        cells = [row[c] for c in columns]
        for cell in cells:
            if any(ch in cell for ch in "\t\r\n"):
                raise CatalogError(f"generated cell contains a tab or newline: {cell!r}")
        body.append(cells)
    body.sort(key=key)
    lines.extend("\t".join(cells) for cells in body)
    return "\n".join(lines) + "\n"


def render_all(assignable, raw, endpoints, abilities, aliases, scopes, graphql, graphql_types) -> dict:
    files = {}
    files["assignable.tsv"] = render(
        ("name", "category", "resource", "action", "boundaries", "raw_permissions", "origin"),
        [dict(name=n, category=a["category"], resource=a["resource"], action=a["action"],
              boundaries=join_list(a["boundaries"]), raw_permissions=join_list(a["raw"]),
              origin=a["origin"])
         for n, a in assignable.items()])
    files["permissions.tsv"] = render(
        ("name", "resource", "action", "category", "boundaries", "min_role",
         "group_min_role", "abilities", "crud", "public_read", "rule", "origin"),
        [dict(name=n, resource=p["resource"], action=p["action"], category=p["category"],
              boundaries=join_list(p["boundaries"]), min_role=p["min_role"],
              group_min_role=p["group_min_role"],
              abilities=join_list(p["abilities"]), crud=p["crud"],
              public_read=p["public_read"], rule=p["rule"], origin=p["origin"])
         for n, p in raw.items()])
    # Sorted by path, then method, so the file reads like an API reference.
    files["endpoints.tsv"] = render(
        ("method", "path", "permissions", "boundary", "boundary_param", "origin", "auth",
         "reference", "owner_permissions", "owner_boundaries"),
        [dict(e, permissions=join_list(e["permissions"])) for e in endpoints],
        key=lambda cells: (cells[1], cells[0]))
    files["abilities.tsv"] = render(
        ("name", "group_ability", "project_ability", "requirements",
         "default_group_levels", "default_project_levels"),
        [dict(a, name=n, requirements=join_list(a["requirements"]))
         for n, a in abilities.items()])
    files["ability_aliases.tsv"] = render(
        ("alias", "canonical"),
        [dict(alias=a, canonical=c) for a, c in aliases.items()])
    files["graphql.tsv"] = render(("kind", "field", "permissions", "boundary", "argument", "group_path",
                                   "role", "abilities", "ability_arguments"), graphql)
    files["graphql_types.tsv"] = render(
        ("type", "field", "returns", "reach", "permission", "origin"), graphql_types)
    files["legacy_scopes.tsv"] = render(
        ("scope", "api_methods", "api_paths", "git"),
        [dict(s, scope=n) for n, s in scopes.items()])
    return files


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def build(reference_dir: Path, report: Report) -> tuple:
    ref = load_reference(reference_dir)
    assignable = build_assignable(ref)
    raw = build_raw(ref, assignable)
    add_boundaries(assignable, raw)
    abilities = build_abilities(ref)
    aliases = load_aliases(abilities)
    candidates = correct_boundaries(reference_candidates(ref), raw, report)
    candidates += assigned_candidates(ref, raw)
    taken = {(c.method, c.path) for c in candidates}
    candidates += convention_candidates(ref, raw, assignable, taken, report)
    rules = load_rules(raw, abilities)
    apply_rules(raw, rules, report)
    endpoints = build_endpoints(candidates, ref, raw, report)
    apply_owner_rules(endpoints, ref, raw, report)
    scopes = load_legacy_scopes(ref)
    graphql = load_graphql(ref, raw, abilities)
    graphql_types = load_graphql_types(ref, raw, graphql)
    files = render_all(assignable, raw, endpoints, abilities, aliases, scopes, graphql, graphql_types)
    return files, dict(assignable=assignable, raw=raw, endpoints=endpoints,
                       abilities=abilities, aliases=aliases, scopes=scopes, rules=rules,
                       graphql=graphql, reference=ref)


def print_summary(model: dict, report: Report) -> None:
    out = sys.stderr
    endpoints = model["endpoints"]
    print(f"permissions: {len(model['raw'])} raw, {len(model['assignable'])} assignable, "
          f"{len(model['abilities'])} abilities, {len(model['aliases'])} aliases, "
          f"{len(model['scopes'])} legacy scopes", file=out)
    origin = Counter(e["origin"] for e in endpoints)
    boundary = Counter(e["boundary"] for e in endpoints)
    print(f"endpoints: {len(endpoints)} ("
          + ", ".join(f"{k} {v}" for k, v in sorted(origin.items())) + "; "
          + ", ".join(f"{k} {v}" for k, v in sorted(boundary.items())) + ")", file=out)
    auth = Counter(e["auth"] for e in endpoints)
    print("endpoint auth: " + ", ".join(f"{k} {v}" for k, v in sorted(auth.items())), file=out)
    operations = {(r["method"], r["path"]) for r in model["reference"].endpoints
                  if r["prefix"] == API_PREFIX}
    mapped = {(e["method"], e["reference"]) for e in endpoints} & operations
    print(f"REST operations mapped: {len(mapped)} of {len(operations)} "
          f"({100 * len(mapped) / len(operations):.1f}%)", file=out)
    print(f"GraphQL fields mapped: {len(model['graphql'])} of {len(model['reference'].graphql)}",
          file=out)
    roles = Counter(p["min_role"] for p in model["raw"].values())
    print("min_role: " + ", ".join(f"{r} {roles[r]}" for r in ROLES if roles[r]), file=out)
    by_reason = defaultdict(list)
    for reason, detail in report.skipped:
        by_reason[reason].append(detail)
    print(f"skipped endpoints: {len(report.skipped)}", file=out)
    for reason in sorted(by_reason):
        print(f"  {reason}: {len(by_reason[reason])}", file=out)
        for detail in by_reason[reason]:
            print(f"    {detail}", file=out)
    by_topic = defaultdict(list)
    for topic, detail in report.notes:
        by_topic[topic].append(detail)
    for topic in sorted(by_topic):
        print(f"note: {topic}: {len(by_topic[topic])}", file=out)
        for detail in by_topic[topic]:
            print(f"    {detail}", file=out)


def write_files(files: dict) -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (DATA_DIR / name).write_bytes(text.encode("utf-8"))


def check_files(files: dict) -> list:
    """One message per committed data file that differs from the generated text."""
    problems = []
    for name, text in sorted(files.items()):
        path = DATA_DIR / name
        shown = display_path(path)
        if not path.is_file():
            problems.append(f"{shown}: missing (run python3 catalog/generate.py)")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"{shown}: differs from generated output "
                            "(run python3 catalog/generate.py)")
    for path in sorted(DATA_DIR.glob("*.tsv")):
        if path.name not in files:
            problems.append(f"{display_path(path)}: not produced by the generator")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path,
                        default=Path(os.environ.get("FINEGRAIN_REFERENCE") or DEFAULT_REFERENCE),
                        help="GitLab reference directory (default: $FINEGRAIN_REFERENCE, "
                             "else catalog/reference/gitlab)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if catalog/data differs")
    args = parser.parse_args(argv)
    report = Report()
    try:
        files, model = build(args.reference, report)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_summary(model, report)
    if args.check:
        problems = check_files(files)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    write_files(files)
    print(f"wrote {len(files)} files to {display_path(DATA_DIR)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
