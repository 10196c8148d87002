"""What ``aurora-express diff`` reads of a database: its user-made objects, from the catalogs.

One query per kind of object (row-level security policies included), each row a plain dict for
``catalog_text.objects`` to normalize. Left out, everywhere: the system
schemas, temporary and TOAST schemas, objects that belong to an extension
(the extension itself is listed, with its version), and the migration
history's own schemas (``aurora_express``, drizzle-kit's ``drizzle``), whose
rows differ between any two databases while their schema says nothing of
the application's.

Definitions come from PostgreSQL's own deparsers (``pg_get_viewdef``,
``pg_get_constraintdef``, ``pg_get_indexdef``, ``pg_get_functiondef``,
``format_type``), so two databases made by different statements that mean
the same thing read the same. Grants are read as the difference from
PostgreSQL's default privileges (``acldefault``): what was granted beyond
them, and what was revoked; the owner's own privileges and grantors are
left out, as they follow whoever ran the migrations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

SKIPPED_SCHEMAS = ["pg_catalog", "information_schema", "aurora_express", "drizzle"]

Row = dict[str, Any]

_USER_SCHEMA = (
    "n.nspname <> ALL(%(skip)s) AND n.nspname NOT LIKE 'pg\\_temp\\_%%'"
    " AND n.nspname NOT LIKE 'pg\\_toast%%'"
)


def _not_extension_member(catalog: str, oid: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '{catalog}'::regclass"
        f" AND dep.objid = {oid} AND dep.deptype = 'e')"
    )


EXTENSIONS = """
SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
ORDER BY e.extname
"""

SCHEMAS = f"""
SELECT n.oid, n.nspname AS name FROM pg_namespace n
WHERE {_USER_SCHEMA} AND {_not_extension_member("pg_namespace", "n.oid")}
ORDER BY n.nspname
"""

RELATIONS = f"""
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       c.relpersistence::text AS persistence, c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       (SELECT i.inhparent::regclass::text FROM pg_inherits i
        WHERE i.inhrelid = c.oid AND c.relispartition) AS partition_of,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_SCHEMA}
  AND {_not_extension_member("pg_class", "c.oid")}
"""

COLUMNS = f"""
SELECT a.attrelid AS oid, a.attnum AS num, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity,
       a.attgenerated::text AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND {_USER_SCHEMA}
"""

# 'n' (NOT NULL, a constraint of its own since PostgreSQL 18) is the column's not_null.
CONSTRAINTS = f"""
SELECT co.conrelid AS oid, co.conname AS name, pg_get_constraintdef(co.oid) AS definition
FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE co.contype IN ('p', 'u', 'f', 'c', 'x') AND {_USER_SCHEMA}
"""

INDEXES = f"""
SELECT x.indrelid AS oid, i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE {_USER_SCHEMA}
  AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = x.indexrelid
                  AND co.conrelid = x.indrelid AND co.contype IN ('p', 'u', 'x'))
"""

TRIGGERS = f"""
SELECT tg.tgrelid AS oid, tg.tgname AS name, pg_get_triggerdef(tg.oid) AS definition
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT tg.tgisinternal AND {_USER_SCHEMA}
"""

POLICIES = f"""
SELECT p.polrelid AS oid, p.polname AS name, p.polpermissive AS permissive,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END
             FROM unnest(p.polroles) r ORDER BY 1) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using,
       pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_SCHEMA}
"""

# Identity columns' sequences belong to their column ('i'): the column says it.
SEQUENCES = f"""
SELECT c.oid, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
       s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max,
       s.seqcache AS cache, s.seqcycle AS cycle,
       (SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname)
        FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'
          AND d.refclassid = 'pg_class'::regclass) AS owned_by
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member("pg_class", "c.oid")}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'i')
"""

FUNCTIONS = f"""
SELECT p.oid, n.nspname AS schema, p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS args, p.prokind::text AS kind,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
       CASE WHEN p.prokind = 'a' THEN pg_get_function_result(p.oid) END AS result
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member("pg_proc", "p.oid")}
"""

TYPES = f"""
SELECT t.oid, n.nspname AS schema, t.typname AS name, t.typtype::text AS kind,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder) AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
       t.typnotnull AS not_null, t.typdefault AS default,
       ARRAY(SELECT co.conname || ' ' || pg_get_constraintdef(co.oid) FROM pg_constraint co
             WHERE co.contypid = t.oid AND co.contype <> 'n' ORDER BY co.conname) AS constraints,
       ARRAY(SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
             FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
               AND NOT a.attisdropped ORDER BY a.attnum) AS attributes,
       (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
         AS subtype
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member("pg_type", "t.oid")}
  AND (t.typtype IN ('e', 'd', 'r')
       OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c
                                       WHERE c.oid = t.typrelid AND c.relkind = 'c')))
"""

# Grants beyond the defaults (and defaults revoked), per object, grantee and privilege.
GRANTS = f"""
WITH objects AS (
  SELECT 'relation' AS target, c.oid, c.relowner AS owner,
         CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char" AS kind, c.relacl AS acl
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {_USER_SCHEMA}
  UNION ALL
  SELECT 'schema', n.oid, n.nspowner, 'n'::"char", n.nspacl
  FROM pg_namespace n WHERE {_USER_SCHEMA}
  UNION ALL
  SELECT 'function', p.oid, p.proowner, 'f'::"char", p.proacl
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_USER_SCHEMA}
), actual AS (
  SELECT o.target, o.oid, o.owner, a.grantee, a.privilege_type, a.is_grantable
  FROM objects o, aclexplode(coalesce(o.acl, acldefault(o.kind, o.owner))) a
), defaults AS (
  SELECT o.target, o.oid, o.owner, a.grantee, a.privilege_type, a.is_grantable
  FROM objects o, aclexplode(acldefault(o.kind, o.owner)) a
), changed AS (
  (SELECT *, false AS revoked FROM actual EXCEPT SELECT *, false FROM defaults)
  UNION ALL
  (SELECT *, true FROM defaults EXCEPT SELECT *, true FROM actual)
)
SELECT target, oid, CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(grantee) END
         AS grantee,
       privilege_type AS privilege, is_grantable AS grantable, revoked
FROM changed WHERE grantee <> owner
"""


@dataclass
class Snapshot:
    """A database's catalog rows, by kind (what ``catalog_text.objects`` reads)."""

    extensions: list[Row] = field(default_factory=list)
    schemas: list[Row] = field(default_factory=list)
    relations: list[Row] = field(default_factory=list)
    columns: list[Row] = field(default_factory=list)
    constraints: list[Row] = field(default_factory=list)
    indexes: list[Row] = field(default_factory=list)
    triggers: list[Row] = field(default_factory=list)
    policies: list[Row] = field(default_factory=list)
    sequences: list[Row] = field(default_factory=list)
    functions: list[Row] = field(default_factory=list)
    types: list[Row] = field(default_factory=list)
    grants: list[Row] = field(default_factory=list)


_QUERIES = {
    "extensions": EXTENSIONS,
    "schemas": SCHEMAS,
    "relations": RELATIONS,
    "columns": COLUMNS,
    "constraints": CONSTRAINTS,
    "indexes": INDEXES,
    "triggers": TRIGGERS,
    "policies": POLICIES,
    "sequences": SEQUENCES,
    "functions": FUNCTIONS,
    "types": TYPES,
    "grants": GRANTS,
}


def read(conn: psycopg.Connection[Any]) -> Snapshot:
    """Every kind of object, read in one read-only snapshot of the database."""
    snapshot = Snapshot()
    params = {"skip": SKIPPED_SCHEMAS}
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # Every name the deparsers print schema-qualified, whatever the session's path.
        cur.execute("SELECT set_config('search_path', 'pg_catalog', true)")
        for name, query in _QUERIES.items():
            cur.execute(query, params)
            setattr(snapshot, name, list(cur.fetchall()))
    return snapshot
