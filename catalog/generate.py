#!/usr/bin/env python3
"""Generate finegrain's permission catalog (catalog/data/*.tsv).

Pipeline
--------
1. Read the GitLab reference tables (facts, never edited) from
   ``<repo>/../shared/reference/gitlab`` or ``--reference DIR``.
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
     permissions, plus ``rules/assigned_endpoints.tsv``. Paths are normalised
     (``(-/)`` expanded). An operation is skipped and reported when no token
     could satisfy it (permission unreachable, boundary outside the
     permission's boundaries), when its path cannot be routed safely (syntax
     the router does not support, a catch-all clashing with a named
     parameter), or when the project/group it targets is not a path parameter;
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
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "gitlab"

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
PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


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
        }
    return result


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
                     "public_read"), True)
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
        if row["public_read"] not in ("yes", "no"):
            raise CatalogError(f"{where}: public_read must be yes or no")
        rules.append(Rule(
            id=row["id"], where=where,
            resources=parse_selector(resource_cell, resources, "resource", where),
            boundary_set=boundary_set,
            actions=parse_selector(row["action"], actions, "action", where),
            min_role=row["min_role"], abilities=sorted(set(granted)),
            crud=parse_crud(row["crud"], where), public_read=row["public_read"]))
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
                    crud=rule.crud, public_read=rule.public_read, rule=rule.id)
    for rule in rules:
        if not rule.used:
            report.note("rule never used (shadowed or too narrow)", f"{rule.id} ({rule.where})")


# --------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------

class PathRejected(Exception):
    """A reference path the loader cannot match safely; the text is the reason."""


def expand_optional(path: str) -> list:
    """Expand each optional '(-/)' into both variants (with and without)."""
    if "(-/)" not in path:
        return [path]
    head, _, tail = path.partition("(-/)")
    return [v for rest in expand_optional(tail) for v in (head + "-/" + rest, head + rest)]


def check_segments(path: str) -> list:
    """Validate a template path; return its segments or raise PathRejected."""
    if not path.startswith("/"):
        raise PathRejected("path does not start with /")
    segments = path[1:].split("/")
    for index, segment in enumerate(segments):
        if not segment:
            raise PathRejected("empty path segment")
        if any(ch in segment for ch in "(){}\\"):
            raise PathRejected("optional or grouped syntax")
        if segment[0] in ":*":
            if not PARAM_NAME.match(segment[1:]):
                raise PathRejected("parameter with extra characters (e.g. '.:format')")
            if segment[0] == "*" and index != len(segments) - 1:
                raise PathRejected("catch-all parameter not in last position")
        elif ":" in segment or "*" in segment:
            raise PathRejected("parameter inside a literal segment")
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


def build_endpoints(ref: Reference, raw: dict, report: Report) -> list:
    """Turn reference and assigned operations into endpoint rows."""
    endpoints, seen = [], {}
    for cand in reference_candidates(ref) + assigned_candidates(ref, raw):
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
        for path, segments in variants:
            param = ""
            if cand.boundary in ("project", "group"):
                param = namespace_param(segments, cand.boundary)
                if not param:
                    report.skip(f"{cand.boundary} boundary without a {cand.boundary} "
                                "path parameter", label)
                    continue
            key = (cand.method, path)
            if key in seen:
                report.skip("duplicate method and path (first kept)",
                            f"{cand.method} {path} ({cand.where}; kept {seen[key]})")
                continue
            seen[key] = cand.where
            endpoints.append({"method": cand.method, "path": path,
                              "permissions": sorted(set(cand.permissions)),
                              "boundary": cand.boundary, "boundary_param": param,
                              "origin": cand.origin, "where": cand.where})
    endpoints = drop_catch_all_conflicts(endpoints, report)
    report_param_name_clashes(endpoints, report)
    return endpoints


def shape(segments: list) -> str:
    """A path with every parameter reduced to its kind (':' or '*')."""
    return "/".join(s[0] if s[:1] in (":", "*") else s for s in segments)


def drop_catch_all_conflicts(endpoints: list, report: Report) -> list:
    """Drop catch-all routes that sit where another route has a named parameter.

    A radix-tree router keeps one parameter child per node, whatever the HTTP
    method, so '/npm/*name' and '/npm/:name' cannot both be routed. The named
    routes are kept (other routes hang below them); the catch-all goes.
    """
    named = set()
    for ep in endpoints:
        segments = ep["path"].split("/")
        for index, segment in enumerate(segments):
            if segment.startswith(":"):
                named.add(shape(segments[:index]))
    kept = []
    for ep in endpoints:
        segments = ep["path"].split("/")
        if segments[-1].startswith("*") and shape(segments[:-1]) in named:
            report.skip("catch-all where another route has a named parameter",
                        f"{ep['method']} {ep['path']} ({ep['where']})")
            continue
        kept.append(ep)
    return kept


def report_param_name_clashes(endpoints: list, report: Report) -> None:
    """Routes that differ only in parameter names are ambiguous for a matcher."""
    shapes = defaultdict(set)
    for ep in endpoints:
        shapes[(ep["method"], shape(ep["path"].split("/")))].add(ep["path"])
    for (method, _), paths in sorted(shapes.items()):
        if len(paths) > 1:
            report.note("routes differing only in parameter names",
                        f"{method} {' | '.join(sorted(paths))}")


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


def render_all(assignable, raw, endpoints, abilities, aliases, scopes) -> dict:
    files = {}
    files["assignable.tsv"] = render(
        ("name", "category", "resource", "action", "boundaries", "raw_permissions"),
        [dict(name=n, category=a["category"], resource=a["resource"], action=a["action"],
              boundaries=join_list(a["boundaries"]), raw_permissions=join_list(a["raw"]))
         for n, a in assignable.items()])
    files["permissions.tsv"] = render(
        ("name", "resource", "action", "category", "boundaries", "min_role",
         "abilities", "crud", "public_read", "rule"),
        [dict(name=n, resource=p["resource"], action=p["action"], category=p["category"],
              boundaries=join_list(p["boundaries"]), min_role=p["min_role"],
              abilities=join_list(p["abilities"]), crud=p["crud"],
              public_read=p["public_read"], rule=p["rule"])
         for n, p in raw.items()])
    # Sorted by path, then method, so the file reads like an API reference.
    files["endpoints.tsv"] = render(
        ("method", "path", "permissions", "boundary", "boundary_param", "origin"),
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
    abilities = build_abilities(ref)
    aliases = load_aliases(abilities)
    rules = load_rules(raw, abilities)
    apply_rules(raw, rules, report)
    endpoints = build_endpoints(ref, raw, report)
    scopes = load_legacy_scopes(ref)
    files = render_all(assignable, raw, endpoints, abilities, aliases, scopes)
    return files, dict(assignable=assignable, raw=raw, endpoints=endpoints,
                       abilities=abilities, aliases=aliases, scopes=scopes, rules=rules)


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
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help="GitLab reference directory (default: %(default)s)")
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
