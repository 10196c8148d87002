"""Folder layouts of the migration tools people already use, turned into ordered migrations.

- ``flyway``: ``V<version>__<desc>.sql`` ordered numerically (``1.2.10``
  after ``1.2.9``; ``1.0`` is ``1``), then ``R__<desc>.sql`` repeatables,
  re-applied when their checksum changes, in description order.
- ``drizzle``: ``meta/_journal.json`` and ``<tag>.sql`` (the journal is the
  order), or the newer ``<YYYYMMDDHHMMSS>_<name>/migration.sql`` folders
  (their names are the order); ``--> statement-breakpoint`` separates statements.
- ``dbmate``: ``<digits>_name.sql`` with ``-- migrate:up`` / ``-- migrate:down``
  sections; only up runs; ``-- migrate:up transaction:false`` is honoured.
- ``golang-migrate``: ``<n>_name.up.sql`` (``.down.sql`` ignored).
- ``plain``: every ``*.sql`` in lexical order of its path; an inline list in
  ``auto`` keeps the order it was written in.

Each function is pure: files in, migrations out; problems raise ``LayoutError``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
import re
from collections.abc import Callable
from enum import StrEnum

from provider.common.errors import ProviderError
from provider.migrations.model import DrizzleMeta, Kind, Migration, normalize_newlines
from provider.migrations.sources import SourceFiles
from provider.migrations.statements import has_no_transaction_directive


class Layout(StrEnum):
    AUTO = "auto"
    FLYWAY = "flyway"
    DRIZZLE = "drizzle"
    DBMATE = "dbmate"
    GOLANG_MIGRATE = "golang-migrate"
    GOOSE = "goose"
    PRISMA = "prisma"
    SUPABASE = "supabase"
    LIQUIBASE = "liquibase"
    SQITCH = "sqitch"
    ATLAS = "atlas"
    SQLX = "sqlx"
    PLAIN = "plain"


class LayoutError(ProviderError):
    """The files do not fit the layout (a duplicate version, a broken journal, ...)."""


_FLYWAY_V = re.compile(r"^V(?P<version>\d+(?:[._]\d+)*)__(?P<desc>.+)\.sql$", re.I)
_FLYWAY_R = re.compile(r"^R__(?P<desc>.+)\.sql$", re.I)
_GOLANG = re.compile(r"^(?P<version>\d+)_(?P<desc>.*)\.up\.sql$")
_DBMATE = re.compile(r"^(?P<version>\d+)(?P<desc>.*)\.sql$")
_DRIZZLE_FOLDER = re.compile(r"^(?:(?P<root>.*)/)?(?P<folder>(?P<ts>\d{14})_[^/]+)/migration\.sql$")
_DBMATE_UP = re.compile(r"^--\s*migrate:up\b(?P<options>.*)$", re.M)
_DBMATE_DOWN = re.compile(r"^--\s*migrate:down\b.*$", re.M)
BREAKPOINT = "--> statement-breakpoint"
# Same length as BREAKPOINT, so offsets and lines stay the file's: a ';' then a comment.
_BREAKPOINT_AS_SQL = ";-- statement-breakpoint"


def _text(raw: bytes, name: str) -> str:
    try:
        return normalize_newlines(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise LayoutError(f"{name} is not UTF-8 text.") from exc


def _sql_files(source: SourceFiles) -> list[str]:
    return [p for p in source.paths() if p.lower().endswith(".sql")]


def detect(source: SourceFiles) -> Layout:
    """The layout the files were written for; ``plain`` when nothing more specific fits."""
    paths = source.paths()
    base = [posixpath.basename(p) for p in paths]
    if any(p == "meta/_journal.json" or p.endswith("/meta/_journal.json") for p in paths):
        return Layout.DRIZZLE
    if any(_DRIZZLE_FOLDER.match(p) for p in paths):
        return Layout.DRIZZLE
    if any(_FLYWAY_V.match(b) or _FLYWAY_R.match(b) for b in base):
        return Layout.FLYWAY
    if any(_GOLANG.match(b) for b in base):
        return Layout.GOLANG_MIGRATE
    for path, name in zip(paths, base, strict=True):
        if _DBMATE.match(name) and _DBMATE_UP.search(_text(source.files[path], path)):
            return Layout.DBMATE
    return Layout.PLAIN


def load(source: SourceFiles, layout: Layout | str = Layout.AUTO) -> list[Migration]:
    """The source's migrations in the order they apply (versioned first, then repeatables)."""
    chosen = detect(source) if Layout(layout) is Layout.AUTO else Layout(layout)
    readers: dict[Layout, Callable[[SourceFiles], list[Migration]]] = {
        Layout.FLYWAY: flyway,
        Layout.DRIZZLE: drizzle,
        Layout.DBMATE: dbmate,
        Layout.GOLANG_MIGRATE: golang_migrate,
        Layout.PLAIN: plain,
    }
    if chosen is Layout.PLAIN and source.ordered and Layout(layout) is Layout.AUTO:
        return listed(source)
    found = readers[chosen](source)
    if not found and _sql_files(source):
        # A layout named explicitly that matches nothing is a mistake, not an empty set.
        raise LayoutError(
            f"Layout {chosen.value}: none of the {len(_sql_files(source))} .sql files is named "
            "as that tool names its migrations."
        )
    return found


def seeds(source: SourceFiles) -> list[Migration]:
    """Seed files: an inline list in its order, otherwise ``*.sql`` in lexical order."""
    paths = source.paths() if source.ordered else sorted(_sql_files(source))
    return [_migration(path, None, Kind.SEED, _text(source.files[path], path)) for path in paths]


def _migration(
    name: str,
    version: str | None,
    kind: Kind,
    sql: str,
    *,
    line_offset: int = 0,
    no_transaction: bool = False,
    drizzle_meta: DrizzleMeta | None = None,
) -> Migration:
    return Migration(
        name=name,
        version=version,
        kind=kind,
        sql=sql,
        line_offset=line_offset,
        declared_no_transaction=no_transaction or has_no_transaction_directive(sql),
        drizzle=drizzle_meta,
    )


def _check_unique(migrations: list[Migration]) -> list[Migration]:
    seen: dict[str, str] = {}
    for m in migrations:
        if m.kind is Kind.VERSIONED and m.version is not None:
            if m.version in seen:
                raise LayoutError(
                    f"{m.name} and {seen[m.version]} have the same version {m.version}."
                )
            seen[m.version] = m.name
    return migrations


# -- flyway ---------------------------------------------------------------


def flyway_version(raw: str) -> tuple[int, ...]:
    """``1.2.10`` -> (1, 2, 10); ``1_1`` is ``1.1``; trailing zeros dropped, so ``1.0`` == ``1``."""
    parts = [int(p) for p in re.split(r"[._]", raw)]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def flyway(source: SourceFiles) -> list[Migration]:
    versioned: list[tuple[tuple[int, ...], Migration]] = []
    repeatable: list[tuple[str, Migration]] = []
    for path in _sql_files(source):
        name = posixpath.basename(path)
        if match := _FLYWAY_V.match(name):
            key = flyway_version(match["version"])
            version = ".".join(map(str, key))
            sql = _text(source.files[path], path)
            versioned.append((key, _migration(path, version, Kind.VERSIONED, sql)))
        elif match := _FLYWAY_R.match(name):
            sql = _text(source.files[path], path)
            repeatable.append((match["desc"], _migration(path, None, Kind.REPEATABLE, sql)))
        # Anything else (callbacks, undo scripts, notes) is not a migration, as in Flyway.
    versioned.sort(key=lambda pair: pair[0])
    repeatable.sort(key=lambda pair: pair[0])
    return _check_unique([m for _, m in versioned] + [m for _, m in repeatable])


# -- drizzle --------------------------------------------------------------


def _drizzle_sql(raw: bytes, path: str) -> str:
    return _text(raw, path).replace(BREAKPOINT, _BREAKPOINT_AS_SQL)


def drizzle(source: SourceFiles) -> list[Migration]:
    journals = [
        p for p in source.paths() if p == "meta/_journal.json" or p.endswith("/meta/_journal.json")
    ]
    if len(journals) > 1:
        raise LayoutError(f"More than one drizzle journal: {', '.join(sorted(journals))}.")
    if journals:
        return _drizzle_journal(source, journals[0])
    return _drizzle_folders(source)


def _drizzle_journal(source: SourceFiles, journal_path: str) -> list[Migration]:
    root = posixpath.dirname(posixpath.dirname(journal_path))
    try:
        journal = json.loads(source.files[journal_path])
        entries = sorted(journal["entries"], key=lambda e: int(e["idx"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise LayoutError(f"{journal_path} is not a drizzle journal.") from exc
    migrations = []
    for entry in entries:
        tag = str(entry["tag"])
        path = posixpath.join(root, f"{tag}.sql") if root else f"{tag}.sql"
        if path not in source.files:
            raise LayoutError(f"{journal_path} lists {tag} but {path} is missing.")
        raw = source.files[path]
        version = tag.split("_", 1)[0]
        meta = DrizzleMeta(hashlib.sha256(raw).hexdigest(), int(entry["when"]))
        sql = _drizzle_sql(raw, path)
        migrations.append(_migration(path, version, Kind.VERSIONED, sql, drizzle_meta=meta))
    return _check_unique(migrations)


def _drizzle_folders(source: SourceFiles) -> list[Migration]:
    found = sorted(
        (
            (m["folder"], path, m["ts"])
            for path in source.paths()
            if (m := _DRIZZLE_FOLDER.match(path))
        ),
    )
    migrations = []
    for _folder, path, ts in found:
        raw = source.files[path]
        when = dt.datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        meta = DrizzleMeta(hashlib.sha256(raw).hexdigest(), int(when.timestamp() * 1000))
        sql = _drizzle_sql(raw, path)
        migrations.append(_migration(path, ts, Kind.VERSIONED, sql, drizzle_meta=meta))
    return _check_unique(migrations)


# -- dbmate ---------------------------------------------------------------


def dbmate_up(text: str, name: str) -> tuple[str, int, bool]:
    """The up section, the lines before it, and whether it may run in a transaction."""
    up = _DBMATE_UP.search(text)
    if up is None:
        raise LayoutError(f"{name} has no '-- migrate:up' line (dbmate layout).")
    body_start = up.end() + 1 if up.end() < len(text) else up.end()
    down = _DBMATE_DOWN.search(text, body_start)
    body = text[body_start : down.start() if down else len(text)]
    transactional = "transaction:false" not in up["options"].replace(" ", "").lower()
    return body, text.count("\n", 0, body_start), transactional


def dbmate(source: SourceFiles) -> list[Migration]:
    found = []
    for path in _sql_files(source):
        if match := _DBMATE.match(posixpath.basename(path)):
            body, offset, transactional = dbmate_up(_text(source.files[path], path), path)
            version = str(int(match["version"]))
            found.append(
                (
                    int(match["version"]),
                    _migration(
                        path,
                        version,
                        Kind.VERSIONED,
                        body,
                        line_offset=offset,
                        no_transaction=not transactional,
                    ),
                )
            )
    found.sort(key=lambda pair: pair[0])
    return _check_unique([m for _, m in found])


# -- golang-migrate -------------------------------------------------------


def golang_migrate(source: SourceFiles) -> list[Migration]:
    found = []
    for path in _sql_files(source):
        if match := _GOLANG.match(posixpath.basename(path)):
            sql = _text(source.files[path], path)
            version = str(int(match["version"]))
            found.append((int(match["version"]), _migration(path, version, Kind.VERSIONED, sql)))
    found.sort(key=lambda pair: pair[0])
    return _check_unique([m for _, m in found])


# -- plain ----------------------------------------------------------------


def plain(source: SourceFiles) -> list[Migration]:
    """Every ``*.sql`` in lexical order of its path; the path is the version."""
    return [
        _migration(path, path, Kind.VERSIONED, _text(source.files[path], path))
        for path in sorted(_sql_files(source))
    ]


def listed(source: SourceFiles) -> list[Migration]:
    """An inline list that fits no tool's naming: the order written; the name is the version."""
    return _check_unique(
        [
            _migration(path, path, Kind.VERSIONED, _text(source.files[path], path))
            for path in source.paths()
        ]
    )
