"""drizzle-kit: ``meta/_journal.json`` and ``<tag>.sql``, or ``<timestamp>_<name>/migration.sql``.

The journal is the order (drizzle-orm before 1.0); the folder layout of
drizzle-kit 1.0 orders by folder name, each folder holding ``migration.sql``
and the ``snapshot.json`` drizzle-kit writes beside it. ``--> statement-breakpoint``
separates statements. ``DrizzleMeta`` carries what drizzle's own table
records: sha256 of the file's bytes and the journal's ``when`` (or the
folder's timestamp).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
import re

from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    check_unique,
    migration,
    text_of,
)
from provider.migrations.model import DrizzleMeta, Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

FOLDER = re.compile(r"^(?:(?P<root>.*)/)?(?P<folder>(?P<ts>\d{14})_[^/]+)/migration\.sql$")
BREAKPOINT = "--> statement-breakpoint"
# Same length as BREAKPOINT, so offsets and lines stay the file's: a ';' then a comment.
_BREAKPOINT_AS_SQL = ";-- statement-breakpoint"


def journals(source: SourceFiles) -> list[str]:
    return [
        p for p in source.paths() if p == "meta/_journal.json" or p.endswith("/meta/_journal.json")
    ]


def _sql(raw: bytes, path: str) -> str:
    return text_of(raw, path).replace(BREAKPOINT, _BREAKPOINT_AS_SQL)


def read(source: SourceFiles) -> list[Migration]:
    found = journals(source)
    if len(found) > 1:
        raise LayoutError(
            f"More than one drizzle journal: {', '.join(sorted(found))}: give one folder."
        )
    if found:
        return _journal(source, found[0])
    return _folders(source)


def _journal(source: SourceFiles, journal_path: str) -> list[Migration]:
    root = posixpath.dirname(posixpath.dirname(journal_path))
    try:
        journal = json.loads(source.files[journal_path])
        entries = sorted(journal["entries"], key=lambda e: int(e["idx"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise LayoutError(
            f"{journal_path} is not a drizzle journal: regenerate it with drizzle-kit."
        ) from exc
    migrations = []
    for entry in entries:
        tag = str(entry["tag"])
        path = posixpath.join(root, f"{tag}.sql") if root else f"{tag}.sql"
        if path not in source.files:
            raise LayoutError(
                f"{journal_path} lists {tag} but {path} is missing: restore the file."
            )
        raw = source.files[path]
        version = tag.split("_", 1)[0]
        meta = DrizzleMeta(hashlib.sha256(raw).hexdigest(), int(entry["when"]))
        tool = ToolMeta(Layout.DRIZZLE.value, version=version, script=tag, raw=raw)
        sql = _sql(raw, path)
        migrations.append(
            migration(path, version, Kind.VERSIONED, sql, drizzle_meta=meta, tool=tool)
        )
    return check_unique(migrations)


def _folders(source: SourceFiles) -> list[Migration]:
    found = sorted(
        (m["folder"], path, m["ts"]) for path in source.paths() if (m := FOLDER.match(path))
    )
    migrations = []
    for folder, path, ts in found:
        raw = source.files[path]
        when = dt.datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        meta = DrizzleMeta(hashlib.sha256(raw).hexdigest(), int(when.timestamp() * 1000))
        tool = ToolMeta(Layout.DRIZZLE.value, version=ts, script=folder, raw=raw)
        sql = _sql(raw, path)
        migrations.append(migration(path, ts, Kind.VERSIONED, sql, drizzle_meta=meta, tool=tool))
    return check_unique(migrations)
