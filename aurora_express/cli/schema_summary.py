"""A database's schema in a few readable lines: what ``migrate --local`` prints.

Read from the catalogs, not from ``pg_dump``: tables with their columns,
constraints and indexes, views, enum types, functions and triggers, for every
schema a migration made. The migration history's own schema is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

_SKIP = ["pg_catalog", "information_schema", "pg_toast", "aurora_express", "drizzle"]
_USER_SCHEMAS = "n.nspname <> ALL(%(skip)s) AND n.nspname NOT LIKE 'pg\\_temp%%'"

_TABLES = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {_USER_SCHEMAS}
ORDER BY n.nspname, c.relkind <> 'r', c.relname
"""
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_CONSTRAINTS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %s AND contype IN ('p', 'u', 'f', 'c', 'x')
ORDER BY array_position(ARRAY['p', 'u', 'f', 'c', 'x'], contype::text), conname
"""
_INDEXES = """
SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY i.relname
"""
_TRIGGERS = """
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
WHERE tgrelid = %s AND NOT tgisinternal ORDER BY tgname
"""
_ENUMS = f"""
SELECT n.nspname, t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
WHERE {_USER_SCHEMAS} GROUP BY n.nspname, t.typname ORDER BY 1, 2
"""
_FUNCTIONS = f"""
SELECT n.nspname, p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_SCHEMAS} AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""
_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}


def _columns(rows: list[tuple[Any, ...]]) -> Iterator[str]:
    """Columns as aligned ``name  type  modifiers`` lines."""
    name_width = max((len(r[0]) for r in rows), default=0)
    type_width = max((len(r[1]) for r in rows), default=0)
    for name, type_, not_null, default, identity in rows:
        extras = ["not null"] if not_null else []
        if identity:
            extras.append(
                "generated " + ("always" if identity == "a" else "by default") + " as identity"
            )
        elif default:
            extras.append(f"default {default}")
        yield f"{name.ljust(name_width)}  {type_.ljust(type_width)}  {'  '.join(extras)}".rstrip()


def _short(label: str, name: str, definition: str) -> str:
    """An index or trigger definition without the ``CREATE ... name`` it starts with."""
    if label == "index":
        return "USING " + definition.split(" USING ", 1)[-1]
    if label == "trigger":
        return definition.split(f"{name} ", 1)[-1]
    return definition


def summarize(conn: psycopg.Connection[Any]) -> Iterator[str]:
    """The schema as lines, two-space indented per level; nothing when it is empty."""
    skip = {"skip": _SKIP}
    for oid, schema, name, kind in conn.execute(_TABLES, skip).fetchall():
        yield f"{_KINDS[kind]} {schema}.{name}"
        for column in _columns(conn.execute(_COLUMNS, (oid,)).fetchall()):
            yield f"    {column}"
        for label, query in (
            ("constraint", _CONSTRAINTS),
            ("index", _INDEXES),
            ("trigger", _TRIGGERS),
        ):
            for item, definition in conn.execute(query, (oid,)).fetchall():
                yield f"    {label} {item}: {_short(label, item, definition)}"
    for schema, name, labels in conn.execute(_ENUMS, skip).fetchall():
        yield f"type {schema}.{name}: enum ({', '.join(labels)})"
    for schema, name, args, result in conn.execute(_FUNCTIONS, skip).fetchall():
        yield f"function {schema}.{name}({args}) returns {result}"
