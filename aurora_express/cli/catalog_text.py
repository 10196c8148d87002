"""A schema as normalized, ordered text, and the difference of two: pure functions.

``objects`` turns a ``catalog_read.Snapshot`` into ``SchemaObject``s, each a
header line (``table public.users``) and its indented details (columns in
their order, then constraints, indexes, triggers and grants by name), sorted
by kind and name, so the same schema always reads the same whatever order
it was made in. ``compare`` gives the unified diff of two renderings, each
hunk headed by the object it is in (as ``git diff`` names the function),
and the objects added, removed and changed, for ``--json``.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aurora_express.cli.catalog_read import Row, Snapshot

# The order kinds are printed in: what others depend on first; tables of every
# sort together, views together, routines together.
KIND_RANK = {
    "extension": 0,
    "schema": 1,
    "type": 2,
    "sequence": 3,
    "table": 4,
    "partitioned table": 4,
    "foreign table": 4,
    "view": 5,
    "materialized view": 5,
    "function": 6,
    "procedure": 6,
    "aggregate": 6,
}
_RELATION_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "f": "foreign table",
    "v": "view",
    "m": "materialized view",
}
_FUNCTION_KINDS = {"f": "function", "p": "procedure", "a": "aggregate", "w": "function"}
_TYPE_KINDS = {"e": "enum", "d": "domain", "r": "range", "c": "composite"}
_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ (USING .*)$", re.S)
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
INDENT = "  "


@dataclass(frozen=True)
class SchemaObject:
    kind: str
    name: str
    details: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, str, str]:
        return (KIND_RANK[self.kind], self.name, self.kind)

    @property
    def header(self) -> str:
        return f"{self.kind} {self.name}"

    def lines(self) -> list[str]:
        return [self.header, *(INDENT + d for d in self.details)]


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    change: str  # added, removed, changed
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "change": self.change,
            "from": list(self.before),
            "to": list(self.after),
        }


@dataclass(frozen=True)
class Difference:
    from_label: str
    to_label: str
    changes: list[Change] = field(default_factory=list)
    diff: str = ""

    @property
    def equal(self) -> bool:
        return not self.changes

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.from_label,
            "to": self.to_label,
            "equal": self.equal,
            "changes": [c.as_json() for c in self.changes],
            "diff": self.diff,
        }


# -- normalizing -----------------------------------------------------------------


def _qualified(row: Row) -> str:
    return f"{row['schema']}.{row['name']}"


def _multiline(label: str, text: str | None) -> list[str]:
    """A definition over several lines, trailing spaces and blank ends trimmed."""
    body = [line.rstrip() for line in (text or "").strip("\n").splitlines()]
    return [label, *(INDENT + line for line in body if line.strip())]


def column_line(row: Row) -> str:
    parts = [f"column {row['name']} {row['type']}"]
    if row.get("collation"):
        parts.append(f'collate "{row["collation"]}"')
    if row.get("not_null"):
        parts.append("not null")
    identity = row.get("identity") or ""
    generated = row.get("generated") or ""
    if identity:
        parts.append(
            "generated " + ("always" if identity == "a" else "by default") + " as identity"
        )
    elif generated:
        kind = "stored" if generated == "s" else "virtual"
        parts.append(f"generated always as ({row.get('default')}) {kind}")
    elif row.get("default") is not None:
        parts.append(f"default {row['default']}")
    return " ".join(parts)


def index_line(row: Row) -> str:
    """``index NAME [UNIQUE] USING ...``: the definition without its name and table."""
    found = _INDEX.match(row["definition"])
    if not found:
        return f"index {row['name']}: {row['definition']}"
    unique, only, using = found.groups()
    return f"index {row['name']} {unique or ''}{only or ''}{using}".replace("  ", " ")


def trigger_line(row: Row) -> str:
    definition: str = row["definition"]
    prefix = f"TRIGGER {row['name']} "
    where = definition.find(prefix)
    return f"trigger {row['name']} " + (
        definition[where + len(prefix) :] if where >= 0 else definition
    )


def policy_line(row: Row) -> str:
    """``policy NAME FOR SELECT TO app USING (...) WITH CHECK (...)``."""
    parts = [f"policy {row['name']}"]
    if not row.get("permissive", True):
        parts.append("as restrictive")
    parts.append(f"for {row['command']} to {', '.join(row.get('roles') or ['PUBLIC'])}")
    if row.get("using"):
        parts.append(f"using ({row['using']})")
    if row.get("with_check"):
        parts.append(f"with check ({row['with_check']})")
    return " ".join(parts)


def grant_lines(rows: Iterable[Row]) -> list[str]:
    """``grant SELECT, UPDATE to app``, ``revoke EXECUTE from PUBLIC``, one line per grantee."""
    by_grantee: dict[tuple[bool, str], list[str]] = defaultdict(list)
    for row in rows:
        privilege = row["privilege"] + (" with grant option" if row.get("grantable") else "")
        by_grantee[(bool(row.get("revoked")), row["grantee"])].append(privilege)
    lines = []
    for (revoked, grantee), privileges in sorted(by_grantee.items()):
        what = ", ".join(sorted(privileges))
        lines.append(f"revoke {what} from {grantee}" if revoked else f"grant {what} to {grantee}")
    return lines


def _by_oid(rows: Iterable[Row]) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["oid"]].append(row)
    return grouped


def _relation(
    row: Row,
    columns: list[Row],
    named: dict[str, list[Row]],
    grants: list[Row],
) -> SchemaObject:
    kind = _RELATION_KINDS[row["kind"]]
    details: list[str] = []
    if row.get("persistence") == "u":
        details.append("unlogged")
    if row.get("partition_of"):
        details.append(f"partition of {row['partition_of']} {row.get('partition_bound') or ''}")
    if row.get("partition_key"):
        details.append(f"partition by {row['partition_key']}")
    if row.get("row_security"):
        details.append("row level security" + (" forced" if row.get("force_row_security") else ""))
    details += [column_line(c) for c in sorted(columns, key=lambda c: c["num"])]
    details += sorted(f"constraint {c['name']} {c['definition']}" for c in named["constraints"])
    details += sorted(index_line(i) for i in named["indexes"])
    details += sorted(trigger_line(t) for t in named["triggers"])
    details += sorted(policy_line(p) for p in named["policies"])
    if row["kind"] in ("v", "m"):
        details += _multiline("as", row.get("definition"))
    details += grant_lines(grants)
    return SchemaObject(kind, _qualified(row), tuple(d.rstrip() for d in details))


def _sequence(row: Row, grants: list[Row]) -> SchemaObject:
    details = [
        f"as {row['type']} start {row['start']} increment {row['increment']} "
        f"min {row['min']} max {row['max']} cache {row['cache']}"
        + (" cycle" if row.get("cycle") else ""),
    ]
    if row.get("owned_by"):
        details.append(f"owned by {row['owned_by']}")
    return SchemaObject("sequence", _qualified(row), tuple(details + grant_lines(grants)))


def _function(row: Row, grants: list[Row]) -> SchemaObject:
    kind = _FUNCTION_KINDS.get(row["kind"], "function")
    name = f"{_qualified(row)}({row['args']})"
    if kind == "aggregate":
        details = [f"returns {row.get('result')}"]
    else:
        details = _multiline("definition", row.get("definition"))
    return SchemaObject(kind, name, tuple(details + grant_lines(grants)))


def _type(row: Row) -> SchemaObject:
    kind = str(_TYPE_KINDS.get(row["kind"], row["kind"]))
    details: list[str] = [kind]
    if kind == "enum":
        details = ["enum (" + ", ".join(repr(label) for label in row.get("labels") or []) + ")"]
    elif kind == "domain":
        details = [f"domain over {row.get('base')}"]
        if row.get("not_null"):
            details.append("not null")
        if row.get("default") is not None:
            details.append(f"default {row['default']}")
        details += [f"constraint {c}" for c in row.get("constraints") or []]
    elif kind == "composite":
        details = ["composite", *(f"attribute {a}" for a in row.get("attributes") or [])]
    elif kind == "range":
        details = [f"range of {row.get('subtype')}"]
    return SchemaObject("type", _qualified(row), tuple(details))


def objects(snapshot: Snapshot) -> list[SchemaObject]:
    """Every object of the snapshot, normalized, in a stable order."""
    grants: dict[tuple[str, Any], list[Row]] = defaultdict(list)
    for grant in snapshot.grants:
        grants[(grant["target"], grant["oid"])].append(grant)
    columns = _by_oid(snapshot.columns)
    per_relation = {
        "constraints": _by_oid(snapshot.constraints),
        "indexes": _by_oid(snapshot.indexes),
        "triggers": _by_oid(snapshot.triggers),
        "policies": _by_oid(snapshot.policies),
    }
    found = [
        SchemaObject("extension", e["name"], (f"version {e['version']}", f"schema {e['schema']}"))
        for e in snapshot.extensions
    ]
    found += [
        SchemaObject("schema", s["name"], tuple(grant_lines(grants[("schema", s["oid"])])))
        for s in snapshot.schemas
    ]
    found += [_type(t) for t in snapshot.types]
    found += [_sequence(s, grants[("relation", s["oid"])]) for s in snapshot.sequences]
    for rel in snapshot.relations:
        named = {kind: rows.get(rel["oid"], []) for kind, rows in per_relation.items()}
        found.append(
            _relation(rel, columns.get(rel["oid"], []), named, grants[("relation", rel["oid"])])
        )
    found += [_function(f, grants[("function", f["oid"])]) for f in snapshot.functions]
    return sorted(found, key=lambda o: o.key)


def render(items: Sequence[SchemaObject]) -> list[str]:
    """The objects as lines: each header, then its details indented."""
    return [line for item in items for line in item.lines()]


# -- comparing -------------------------------------------------------------------


def _changes(before: Sequence[SchemaObject], after: Sequence[SchemaObject]) -> list[Change]:
    old = {(o.kind, o.name): o for o in before}
    new = {(o.kind, o.name): o for o in after}
    changes = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: (KIND_RANK[k[0]], k[1], k[0])):
        a, b = old.get(key), new.get(key)
        if a is None and b is not None:
            changes.append(Change(key[0], key[1], "added", after=b.details))
        elif b is None and a is not None:
            changes.append(Change(key[0], key[1], "removed", before=a.details))
        elif a is not None and b is not None and a.details != b.details:
            changes.append(Change(key[0], key[1], "changed", a.details, b.details))
    return changes


def _headers(lines: Sequence[str]) -> list[str]:
    """For each line, the header of the object it belongs to."""
    current = ""
    found = []
    for line in lines:
        if not line.startswith(INDENT):
            current = line
        found.append(current)
    return found


def unified(
    before: Sequence[str], after: Sequence[str], from_label: str, to_label: str, context: int = 3
) -> str:
    """A unified diff whose hunk headers name the object each hunk starts in."""
    old_headers, new_headers = _headers(before), _headers(after)
    out = []
    for raw in difflib.unified_diff(
        list(before), list(after), from_label, to_label, n=context, lineterm=""
    ):
        line = raw
        hunk = _HUNK.match(raw)
        if hunk:
            old_at, new_at = int(hunk.group(1)), int(hunk.group(2))
            heading = first = ""
            if 0 < old_at <= len(old_headers):
                heading, first = old_headers[old_at - 1], before[old_at - 1]
            elif 0 < new_at <= len(new_headers):
                heading, first = new_headers[new_at - 1], after[new_at - 1]
            if heading and heading != first:  # a hunk starting at a header needs no name
                line = f"{line} {heading}"
        out.append(line)
    return "\n".join(out) + ("\n" if out else "")


def compare(
    before: Sequence[SchemaObject],
    after: Sequence[SchemaObject],
    from_label: str,
    to_label: str,
) -> Difference:
    """What changed from ``before`` to ``after``: per object, and as a unified diff."""
    return Difference(
        from_label,
        to_label,
        _changes(before, after),
        unified(render(before), render(after), from_label, to_label),
    )
