"""What every reader shares: the layout names, the error, decoding a file, building a migration."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from provider.common.errors import ProviderError
from provider.migrations.callbacks import Callback
from provider.migrations.model import DrizzleMeta, Kind, Migration, ToolMeta
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


@dataclass(frozen=True)
class Reading:
    """What a folder holds, read in its layout: the migrations in order, Flyway's callbacks,
    and warnings (files the tool itself would skip)."""

    layout: Layout
    migrations: list[Migration]
    callbacks: list[Callback] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def text_of(raw: bytes, name: str) -> str:
    """The file's text as written (a leading BOM dropped, CR/LF kept); NUL bytes refused.

    A NUL byte would truncate the migration at libpq, so the rest of it, its
    history row and its COMMIT would silently go missing.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LayoutError(f"{name} is not UTF-8 text: save it as UTF-8.") from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise LayoutError(
            f"{name} line {line} holds a NUL byte (\\x00), which PostgreSQL cannot take: remove it."
        )
    return text


def lines_of(text: str) -> list[str]:
    """Lines as Go's and Java's line readers yield them: split at LF, a trailing CR dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def sql_files(source: SourceFiles) -> list[str]:
    return [p for p in source.paths() if p.lower().endswith(".sql")]


def folder_of(path: str) -> str:
    return posixpath.dirname(path)


def one_folder(paths: Iterable[str], layout: Layout) -> list[str]:
    """``paths`` when they share one folder; the tool reads one folder, so more is a mistake."""
    chosen = list(paths)
    folders = sorted({folder_of(p) for p in chosen})
    if len(folders) > 1:
        shown = ", ".join(f"{f or '.'}/" for f in folders[:3])
        raise LayoutError(
            f"Layout {layout.value}: migrations in more than one folder ({shown}); "
            f"{layout.value} reads a single folder: give it that folder."
        )
    return chosen


def migration(
    name: str,
    version: str | None,
    kind: Kind,
    sql: str,
    *,
    line_offset: int = 0,
    no_transaction: bool = False,
    drizzle_meta: DrizzleMeta | None = None,
    tool: ToolMeta | None = None,
    checksum_text: str | None = None,
    run_always: bool = False,
) -> Migration:
    return Migration(
        name=name,
        version=version,
        kind=kind,
        sql=sql,
        line_offset=line_offset,
        declared_no_transaction=no_transaction or has_no_transaction_directive(sql),
        drizzle=drizzle_meta,
        tool=tool,
        checksum_text=checksum_text,
        run_always=run_always,
    )


def check_unique(migrations: list[Migration]) -> list[Migration]:
    """Two versioned migrations with one version (or name) cannot both be tracked."""
    seen: dict[str, str] = {}
    for m in migrations:
        if m.kind is Kind.VERSIONED:
            if m.identity in seen:
                raise LayoutError(
                    f"{m.name} and {seen[m.identity]} have the same version {m.identity}: "
                    "renumber one of them."
                )
            seen[m.identity] = m.name
    return migrations
