#!/usr/bin/env python3
"""Turns GitLab's role x action matrix into a scenario file.

    python3 tests/role_matrix/generate.py          # writes tests/scenarios/role_matrix.yaml
    python3 tests/role_matrix/generate.py --check  # exit 1 if the committed file is stale

Reads the matrix (catalog/reference/gitlab/role_permission_matrix.tsv, or
$FINEGRAIN_REFERENCE/role_permission_matrix.tsv), the hand-kept mapping tests/role_matrix/rows.tsv and the
catalog (catalog/data/endpoints.tsv, graphql.tsv, assignable.tsv). Every matrix row must be mapped to one
request or skipped with a note; a problem is reported as one `file:line: problem` line.

The world: a private group `matrix` with a private project `matrix/app` (branch `main`
protected with GitLab's default levels), one member per base role in the group, and one
fine-grained token per member whose single `all_memberships` grant holds every assignable
permission that expands to a raw permission some mapped request needs, so the token never
decides a case: each case checks the role requirement alone. Six cases per mapped row, one
per role, expecting what the matrix says (after the row's override, if any).

Request forms in rows.tsv (column `request`):
    METHOD /api/v4/PATH            a REST call; {project} / {group} become the URL-encoded path
    git-upload-pack {project}      a Git fetch
    git-receive-pack {project} REF...  a Git push
    action PERMISSION {project} REF [force]   a ref-level permission check
    graphql DOCUMENT               a GraphQL request (a `graphql:` case): DOCUMENT is one
                                   operation whose first root field is looked up in
                                   catalog/data/graphql.tsv, e.g.
                                   graphql mutation { updateIssue(input: {projectPath: "{project}", iid: "1"}) { errors } }
                                   {project} / {group} become the plain full path; the field's
                                   boundary must be project or group, and the document must name
                                   that namespace.
    skip                           not mapped (the note says why)

Python 3.11 standard library only.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ROWS = HERE / "rows.tsv"
OUTPUT = ROOT / "tests" / "scenarios" / "role_matrix.yaml"
CATALOG = ROOT / "catalog" / "data"
REFERENCE = Path(os.environ.get("FINEGRAIN_REFERENCE") or ROOT / "catalog" / "reference" / "gitlab")
MATRIX = REFERENCE / "role_permission_matrix.tsv"

ROLES = ["Guest", "Planner", "Reporter", "Developer", "Maintainer", "Owner"]
GROUP = "matrix"
PROJECT = "matrix/app"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
ROWS_HEADER = ["section", "subsection", "action", "request", "override", "note"]


class Problem(Exception):
    """One input problem, already phrased as `file:line: problem`."""


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


@dataclass
class MatrixRow:
    line: int
    section: str
    subsection: str
    action: str
    cells: dict[str, bool]


@dataclass
class Mapping:
    line: int
    section: str
    subsection: str
    action: str
    request: str
    overrides: dict[str, bool]
    note: str
    matrix: MatrixRow | None = None
    required: list[str] = field(default_factory=list)


@dataclass
class Endpoint:
    method: str
    segments: list[str]
    permissions: list[str]
    boundary: str


def read_tsv(path: Path) -> list[tuple[int, list[str]]]:
    """Non-empty, non-comment lines with their 1-based line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise Problem(f"{rel(path)}: cannot read: {e.strerror}") from e
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        out.append((n, line.split("\t")))
    return out


def read_matrix() -> list[MatrixRow]:
    lines = read_tsv(MATRIX)
    if not lines or lines[0][1][:3] != ["section", "subsection", "action"]:
        raise Problem(f"{rel(MATRIX)}:1: expected the header section, subsection, action, roles")
    rows = []
    for n, cols in lines[1:]:
        if len(cols) != 3 + len(ROLES):
            raise Problem(f"{rel(MATRIX)}:{n}: expected {3 + len(ROLES)} columns, found {len(cols)}")
        cells = {}
        for role, cell in zip(ROLES, cols[3:]):
            if cell not in ("", "yes"):
                raise Problem(f"{rel(MATRIX)}:{n}: cell {role} is {cell!r}, not yes or empty")
            cells[role] = cell == "yes"
        rows.append(MatrixRow(n, cols[0], cols[1], cols[2], cells))
    return rows


def read_endpoints() -> list[Endpoint]:
    path = CATALOG / "endpoints.tsv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        return [
            Endpoint(
                r["method"],
                [s for s in r["path"].split("/") if s],
                [p for p in r["permissions"].split(",") if p],
                r["boundary"],
            )
            for r in reader
        ]


def read_graphql() -> dict[tuple[str, str], tuple[list[str], set[str]]]:
    """(kind, field) -> (raw permissions, boundaries its argument may name) of every
    decided GraphQL root field: a project field whose path may name a group
    (`group_path`) is decided at either."""
    path = CATALOG / "graphql.tsv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        return {
            (r["kind"], r["field"]): (
                [p for p in r["permissions"].split(",") if p],
                {r["boundary"], "group"} if r["group_path"] == "yes" else {r["boundary"]},
            )
            for r in reader
        }


GRAPHQL_ROOT = re.compile(r"^(query|mutation)\b[^{]*\{\s*(?:\w+\s*:\s*)?(\w+)")


def read_assignable() -> list[tuple[str, set[str], set[str], bool]]:
    """(name, boundaries, raw permissions, from GitLab) of every assignable permission.
    `from GitLab` is false for the ones the catalog adds by convention (origin column)."""
    path = CATALOG / "assignable.tsv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        return [
            (
                r["name"],
                set(r["boundaries"].split(",")),
                set(r["raw_permissions"].split(",")),
                r.get("origin", "gitlab") in (None, "", "gitlab"),
            )
            for r in reader
        ]


def parse_overrides(where: str, text: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        role, _, value = item.partition("=")
        if role not in ROLES or value not in ("yes", "no"):
            raise Problem(f"{where}: override {item!r} is not Role=yes|no (roles: {', '.join(ROLES)})")
        out[role] = value == "yes"
    return out


def read_rows() -> list[Mapping]:
    lines = read_tsv(ROWS)
    if not lines or lines[0][1] != ROWS_HEADER:
        line = lines[0][0] if lines else 1
        raise Problem(f"{rel(ROWS)}:{line}: expected the header {' '.join(ROWS_HEADER)} (tab-separated)")
    rows = []
    for n, cols in lines[1:]:
        where = f"{rel(ROWS)}:{n}"
        if len(cols) != len(ROWS_HEADER):
            raise Problem(f"{where}: expected {len(ROWS_HEADER)} tab-separated columns, found {len(cols)}")
        section, subsection, action, request, override, note = (c.strip() for c in cols)
        if not request:
            raise Problem(f"{where}: empty request (write a request or `skip`)")
        if request == "skip":
            if not note:
                raise Problem(f"{where}: a skipped row needs a note saying why")
            if override:
                raise Problem(f"{where}: a skipped row takes no override")
        rows.append(Mapping(n, section, subsection, action, request, parse_overrides(where, override), note))
    return rows


def pair(matrix: list[MatrixRow], rows: list[Mapping]) -> None:
    """Matches rows.tsv lines to matrix rows: by section, subsection and action, and among
    repeats of the same three by order. Every matrix row must be matched exactly once."""
    pending: dict[tuple[str, str, str], list[MatrixRow]] = {}
    for m in matrix:
        pending.setdefault((m.section, m.subsection, m.action), []).append(m)
    for r in rows:
        key = (r.section, r.subsection, r.action)
        if key not in pending:
            raise Problem(f"{rel(ROWS)}:{r.line}: no matrix row {' / '.join(key)!r}")
        if not pending[key]:
            raise Problem(f"{rel(ROWS)}:{r.line}: more rows for {' / '.join(key)!r} than the matrix has")
        r.matrix = pending[key].pop(0)
    for key, left in pending.items():
        if left:
            raise Problem(
                f"{rel(MATRIX)}:{left[0].line}: matrix row {' / '.join(key)!r} is neither mapped nor skipped "
                f"in {rel(ROWS)}"
            )


def match_endpoint(endpoints: list[Endpoint], method: str, path: str) -> Endpoint | None:
    """The catalog endpoint a concrete request reaches: `:param` takes one segment, `*param`
    the rest; among several matches the one with the most literal segments."""
    segs = [s for s in path.split("?")[0].split("/") if s]
    if segs[:2] != ["api", "v4"]:
        return None
    segs = segs[2:]
    best, score = None, -1
    for e in endpoints:
        if e.method != method and not (method == "HEAD" and e.method == "GET"):
            continue
        literal, ok, i = 0, True, 0
        for j, pat in enumerate(e.segments):
            if pat.startswith("*"):
                ok = i < len(segs) and j == len(e.segments) - 1
                i = len(segs)
                break
            if i >= len(segs):
                ok = False
                break
            if pat.startswith(":"):
                pass
            elif pat == segs[i]:
                literal += 1
            else:
                ok = False
                break
            i += 1
        if ok and i == len(segs) and literal > score:
            best, score = e, literal
    return best


def encode(path: str) -> str:
    return path.replace("/", "%2F")


def case_query(
    where: str, r: Mapping, endpoints: list[Endpoint], graphql: dict[tuple[str, str], tuple[list[str], set[str]]]
) -> tuple[str, str]:
    """(YAML key, YAML value) of the case's query; fills r.required."""
    words = r.request.split()
    head = words[0]
    if head == "graphql":
        document = r.request[len("graphql"):].strip()
        m = GRAPHQL_ROOT.match(document)
        if not m:
            raise Problem(f"{where}: write `graphql query|mutation {{ FIELD(...) {{ ... }} }}`, not {r.request!r}")
        kind, name = m.group(1), m.group(2)
        if (kind, name) not in graphql:
            raise Problem(f"{where}: {kind} {name} is not in {rel(CATALOG / 'graphql.tsv')}")
        permissions, boundaries = graphql[(kind, name)]
        if not boundaries <= {"project", "group"}:
            raise Problem(f"{where}: {kind} {name} is a {'/'.join(sorted(boundaries))}-boundary field; the world only has a group and a project")
        if not any(f"{{{b}}}" in document for b in boundaries):
            names = " or ".join(f"{{{b}}}" for b in sorted(boundaries))
            raise Problem(f"{where}: {kind} {name} is decided at a {'/'.join(sorted(boundaries))}; the document must name {names}")
        if not permissions:
            raise Problem(f"{where}: {kind} {name} requires no raw permission in the catalog")
        r.required = permissions
        return "graphql", document.replace("{project}", PROJECT).replace("{group}", GROUP)
    if head in METHODS:
        if len(words) != 2 or not words[1].startswith("/api/v4/"):
            raise Problem(f"{where}: write `METHOD /api/v4/PATH`, not {r.request!r}")
        path = words[1]
        if "{project}" in path and "{group}" in path:
            raise Problem(f"{where}: a request names either {{project}} or {{group}}")
        concrete = path.replace("{project}", encode(PROJECT)).replace("{group}", encode(GROUP))
        if "{" in concrete or "}" in concrete:
            raise Problem(f"{where}: unknown placeholder in {path!r} (use {{project}} or {{group}})")
        e = match_endpoint(endpoints, head, concrete)
        if e is None:
            raise Problem(f"{where}: {head} {path} matches no endpoint in {rel(CATALOG / 'endpoints.tsv')}")
        if e.boundary not in ("project", "group"):
            raise Problem(f"{where}: {head} {path} is a {e.boundary}-boundary endpoint; the world only has a group and a project")
        if not e.permissions:
            raise Problem(f"{where}: {head} {path} requires no raw permission in the catalog")
        r.required = e.permissions
        return "request", f"{head} {concrete}"
    if head in ("git-upload-pack", "git-receive-pack"):
        if len(words) < 2 or words[1] != "{project}" or (head == "git-receive-pack") != (len(words) > 2):
            raise Problem(f"{where}: write `git-upload-pack {{project}}` or `git-receive-pack {{project}} REF...`")
        r.required = ["download_code"] if head == "git-upload-pack" else ["push_code"]
        return "request", " ".join([head, PROJECT, *words[2:]])
    if head == "action":
        if len(words) not in (4, 5) or words[2] != "{project}" or (len(words) == 5 and words[4] != "force"):
            raise Problem(f"{where}: write `action PERMISSION {{project}} REF [force]`")
        r.required = [words[1]]
        force = "true" if len(words) == 5 else "false"
        return "action", f"{{ permission: {words[1]}, on: {PROJECT}, ref: {words[3]}, force: {force} }}"
    raise Problem(
        f"{where}: a request starts with an HTTP method, git-upload-pack, git-receive-pack, action, graphql or is `skip`"
    )


def q(text: str) -> str:
    """A double-quoted YAML scalar (JSON string syntax is valid YAML)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def render() -> str:
    matrix = read_matrix()
    rows = read_rows()
    pair(matrix, rows)
    endpoints = read_endpoints()
    graphql = read_graphql()
    assignable = read_assignable()

    mapped = [r for r in rows if r.request != "skip"]
    queries = {}
    for r in mapped:
        queries[r.line] = case_query(f"{rel(ROWS)}:{r.line}", r, endpoints, graphql)

    # Every assignable permission (reachable from an all_memberships grant) that expands
    # to a raw permission some mapped request needs: GitLab's own when one covers it (the
    # names most likely to stay), else those the catalog adds by convention.
    needed = sorted({p for r in mapped for p in r.required})
    grant: set[str] = set()
    for raw in needed:
        hits = [(n, ours) for n, b, perms, ours in assignable if raw in perms and b & {"project", "group"}]
        hits = [n for n, ours in hits if ours] or [n for n, _ in hits]
        if not hits:
            line = next(r.line for r in mapped if raw in r.required)
            raise Problem(f"{rel(ROWS)}:{line}: no assignable permission expands to {raw} at a group or project")
        grant.update(hits)

    skipped = [r for r in rows if r.request == "skip"]
    out = [
        "# GENERATED by tests/role_matrix/generate.py from GitLab's role x action matrix",
        "# (reference/gitlab/role_permission_matrix.tsv) and tests/role_matrix/rows.tsv.",
        "# Do not edit by hand: change rows.tsv and rerun the script (`--check` tells if stale).",
        "#",
        "#   finegrain test tests/scenarios/role_matrix.yaml --at 2026-11-21T12:00:00Z",
        "#",
        f"# {len(matrix)} matrix rows: {len(mapped)} mapped to a request, {len(skipped)} skipped (reasons",
        "# in rows.tsv). Each mapped row gives six cases, one per base role, all members of the",
        "# group `matrix`. Every token holds every assignable permission a case needs, so only",
        "# the user's role decides. Cases have no `at:`; the time comes from the command line.",
        "",
        "users:",
    ]
    for role in ROLES:
        out.append(f"  - {{ username: {role.lower()} }}")
    out += [
        "",
        "groups:",
        f"  - {{ path: {GROUP}, visibility: private }}",
        "",
        "projects:",
        f"  - path: {PROJECT}",
        "    visibility: private",
        "    protected_branches:",
        "      # GitLab's default protection: maintainers push and merge, no force push.",
        "      - { name: main, push: maintainer, merge: maintainer, allow_force_push: false }",
        "",
        "members:",
    ]
    for role in ROLES:
        out.append(f"  - {{ user: {role.lower()}, in: {GROUP}, role: {role.lower()} }}")
    out += ["", "tokens:"]
    for role in ROLES:
        r = role.lower()
        out += [
            f"  - name: {r}-token",
            f"    user: {r}",
            f"    secret: glpat-matrix-{r}",
            "    type: fine_grained",
            "    expires: 2027-06-30",
            "    grants:",
            "      - access: all_memberships",
            "        permissions:",
        ]
        out += [f"          - {name}" for name in sorted(grant)]
    out += ["", "cases:"]
    names: dict[str, int] = {}
    for r in mapped:
        assert r.matrix is not None
        key, value = queries[r.line]
        cells = dict(r.matrix.cells)
        cells.update(r.overrides)
        out.append(f"  # {r.section} / {r.subsection} / {r.action} (rows.tsv line {r.line})")
        if r.note:
            out.append(f"  #   {r.note}")
        if r.overrides:
            fixes = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in r.overrides.items())
            out.append(f"  #   override of the matrix: {fixes}")
        if "[fn" in r.action:
            out.append("  #   footnoted in the matrix; the cell is taken as written")
        for role in ROLES:
            name = f"{r.section} / {r.action} — {role.lower()}"
            if name in names:
                raise Problem(f"{rel(ROWS)}:{r.line}: case name {name!r} repeats line {names[name]}")
            names[name] = r.line
            out += [
                f"  - name: {q(name)}",
                f"    token: {role.lower()}-token",
                f"    {key}: {value if key == 'action' else q(value)}",
                f"    expect: {'allow' if cells[role] else 'deny'}",
            ]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        print(f"usage: {argv[0]} [--check]", file=sys.stderr)
        return 2
    try:
        text = render()
    except Problem as e:
        print(e, file=sys.stderr)
        return 2
    if check:
        try:
            current = OUTPUT.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            print(f"{rel(OUTPUT)}: stale; run python3 {rel(Path(__file__))}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    cases = text.count("\n    expect: ")
    print(f"wrote {rel(OUTPUT)} ({cases} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
