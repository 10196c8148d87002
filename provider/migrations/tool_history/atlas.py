"""Atlas's ``atlas_schema_revisions.atlas_schema_revisions``: adopted from, never written.

Atlas runs the files whose version is above its newest revision's; when
that revision is partially applied (``applied < total``) Atlas resumes it
statement by statement, which the engine cannot do: the run stops, saying
so. ``hash`` is the file's entry in ``atlas.sum`` (a running sha256 over
the names and contents of the files up to it, base64): one that differs
from the folder's is drift.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from provider.migrations.history import TableName
from provider.migrations.model import Kind, Migration
from provider.migrations.tool_history.base import Snapshot, ToolHistory, Verdict, key, raw

SCHEMA = "atlas_schema_revisions"
_SUM_IGNORE = re.compile(rb"^--\s*atlas:sum\s+ignore\s*$", re.M)


def file_name(m: Migration) -> str:
    return m.tool.script if m.tool is not None and m.tool.script else posixpath.basename(m.name)


def file_version(m: Migration) -> str:
    if m.tool is not None and m.tool.version is not None:
        return m.tool.version
    return file_name(m).removesuffix(".sql").partition("_")[0]


def _header(data: bytes) -> bytes:
    """The file's leading comment block, where Atlas reads its directives."""
    return data.split(b"\n\n", 1)[0].replace(b"\r", b"")


def running_hashes(migrations: Sequence[Migration]) -> dict[str, str]:
    """Each file's ``atlas.sum`` entry, as Atlas's ``NewHashFile`` computes it."""
    digest = hashlib.sha256()
    sums: dict[str, str] = {}
    for m in migrations:
        data = raw(m)
        digest.update(file_name(m).encode())
        if _SUM_IGNORE.search(_header(data)):
            continue
        digest.update(data)
        sums[file_name(m)] = base64.b64encode(digest.copy().digest()).decode()
    return sums


@dataclass(frozen=True)
class Revision:
    version: str
    applied: int
    total: int
    hash: str


@dataclass(frozen=True)
class AtlasSnapshot(Snapshot):
    rows: tuple[Revision, ...] = ()

    def judge(self, migrations: Sequence[Migration]) -> Verdict:
        if not self.rows:
            return Verdict(self.tool)
        revisions = {r.version: r for r in self.rows}
        last = max(self.rows, key=lambda r: r.version)
        partial = last.applied != last.total
        problem = None
        if partial:
            problem = (
                f"Atlas revision {last.version} is partially applied ({last.applied} of "
                f"{last.total} statements): finish it with 'atlas migrate apply', or fix the "
                "database and resolve it with 'atlas migrate set'."
            )
        versioned = [m for m in migrations if m.kind is Kind.VERSIONED]
        sums = running_hashes(versioned)
        applied: set[tuple[Kind, str]] = set()
        changed: list[Migration] = []
        for m in versioned:
            version = file_version(m)
            if version > last.version or (partial and version == last.version):
                continue
            applied.add(key(m))
            row = revisions.get(version)
            expected = sums.get(file_name(m))
            if row is not None and row.hash and expected and row.hash != expected:
                changed.append(m)
        # Every entry after a changed file differs too (the hash runs on): name the first.
        return Verdict(self.tool, frozenset(applied), tuple(changed[:1]), problem)


class Atlas(ToolHistory):
    tool = "atlas"
    records = False
    columns = frozenset({"version", "applied", "total", "hash"})

    @property
    def table(self) -> TableName:
        return TableName(SCHEMA, "atlas_schema_revisions")

    def load(self, conn: psycopg.Connection[Any], found: dict[str, str]) -> Snapshot:
        rows = conn.execute(
            sql.SQL("SELECT version, applied, total, hash FROM {} ORDER BY version").format(
                self.table.ident
            )
        ).fetchall()
        return AtlasSnapshot(
            self.tool,
            exists=True,
            rows=tuple(Revision(r[0], int(r[1]), int(r[2]), r[3] or "") for r in rows),
        )
