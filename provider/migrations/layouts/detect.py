"""Which tool wrote a folder, with certainty; and the other tools' marks a reading must not hold.

``evidence`` collects, for each tool, the first thing in the folder that only
that tool writes (see the package docstring for the order). ``detect`` takes
the one tool that has evidence, refuses a folder with evidence of several
(naming them, and asking for ``Layout``), and otherwise falls back to plain
SQL, unless every file is named ``<digits>_<name>.sql`` in one folder: the
Supabase CLI and sqlx name their migrations so too, and guessing wrong would
miss their history, so that folder is refused as well.

``refuse_foreign`` is the rule above all: a file carrying another tool's
up/down annotations (goose, dbmate, Liquibase, node-pg-migrate), or a folder
holding another tool's own file (``sqitch.plan``, ``atlas.sum``,
``migration_lock.toml``, drizzle's journal or snapshots), is never read as
what it is not, whatever ``Layout`` says: its Down section would run.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from provider.migrations.layouts import (
    atlas,
    dbmate,
    drizzle,
    flyway,
    golang_migrate,
    goose,
    liquibase,
    prisma,
    sqitch,
    sqlx,
)
from provider.migrations.layouts.common import Layout, LayoutError, Reading, sql_files, text_of
from provider.migrations.sources import SourceFiles

NODE_PG_MIGRATE = "node-pg-migrate"
_NODE_PG_UP = re.compile(r"^\s*--[\s-]*up\s+migration", re.I | re.M)
_NODE_PG_DOWN = re.compile(r"^\s*--[\s-]*down\s+migration", re.I | re.M)
_ATLAS_DIRECTIVE = re.compile(r"^--\s*atlas:(?:txmode|sum|delimiter|checkpoint)\b", re.M)
_NUMBERED = re.compile(r"^\d+_.+\.sql$")
_FOLDER_SCRIPT = re.compile(r"^(?:.*/)?\d{14}_[^/]+/migration\.sql$")
_DRIZZLE_SNAPSHOT = re.compile(r"^(?:.*/)?\d{14}_[^/]+/snapshot\.json$")


@dataclass(frozen=True)
class Evidence:
    tool: str  # a Layout value, or a tool that has none (node-pg-migrate)
    why: str


def section_marks(text: str) -> list[tuple[str, str]]:
    """The tools whose up/down annotations ``text`` carries, each with the line that shows it."""
    marks: list[tuple[str, str]] = []
    if liquibase.is_formatted(text):
        marks.append((Layout.LIQUIBASE.value, "--liquibase formatted sql"))
    for line in text.split("\n"):
        if goose.is_annotation(line):
            marks.append((Layout.GOOSE.value, line.strip()))
            break
    if found := dbmate.UP.search(text) or dbmate.DOWN.search(text):
        marks.append((Layout.DBMATE.value, found[0].strip()))
    if found := _NODE_PG_UP.search(text) or _NODE_PG_DOWN.search(text):
        marks.append((NODE_PG_MIGRATE, found[0].strip()))
    return marks


def _supabase_projects(source: SourceFiles) -> list[str]:
    """``config.toml`` files of a Supabase project (``project_id``) beside its ``migrations/``."""
    found = []
    for path in source.paths():
        if posixpath.basename(path) == "config.toml" and b"project_id" in source.files[path]:
            migrations = posixpath.join(posixpath.dirname(path), "migrations") + "/"
            if any(p.startswith(migrations) and p.endswith(".sql") for p in source.paths()):
                found.append(path)
    return found


def _folder_marks(source: SourceFiles) -> list[Evidence]:
    """Files only one tool writes, in the order the package docstring gives."""
    paths = source.paths()
    marks = (
        (Layout.SQITCH, [p for p in paths if posixpath.basename(p) == sqitch.PLAN_FILE]),
        (Layout.ATLAS, atlas.sum_files(source)),
        (Layout.PRISMA, prisma.lock_files(source)),
        (
            Layout.DRIZZLE,
            drizzle.journals(source) + [p for p in paths if _DRIZZLE_SNAPSHOT.match(p)],
        ),
        (Layout.SUPABASE, _supabase_projects(source)),
    )
    return [Evidence(tool.value, sorted(found)[0]) for tool, found in marks if found]


def evidence(source: SourceFiles) -> list[Evidence]:
    """For each tool the folder shows a mark of, the first such mark."""
    found = _folder_marks(source)
    seen = {e.tool for e in found}

    def add(tool: str, why: str) -> None:
        if tool not in seen:
            seen.add(tool)
            found.append(Evidence(tool, why))

    texts = {p: text_of(source.files[p], p) for p in sql_files(source)}
    for path, text in texts.items():
        for tool, line in section_marks(text):
            add(tool, f"{line!r} in {path}")
    for path, text in texts.items():
        if _ATLAS_DIRECTIVE.search(text):
            add(Layout.ATLAS.value, f"an atlas: directive in {path}")
        if sqlx.is_sqlx_text(text):
            add(Layout.SQLX.value, f"sqlx's {text.split(chr(10), 1)[0].strip()!r} in {path}")
    for path in source.paths():
        name = posixpath.basename(path)
        if path.endswith(".go") and goose.version_of(name) and b"goose" in source.files[path]:
            add(Layout.GOOSE.value, f"the Go migration {path}")
        elif flyway.VERSIONED.match(name) or flyway.REPEATABLE.match(name):
            add(Layout.FLYWAY.value, f"the Flyway name {path}")
        elif golang_migrate.UP.match(name) and Layout.SQLX.value not in seen:
            add(Layout.GOLANG_MIGRATE.value, f"the golang-migrate name {path}")
        elif "supabase/migrations/" in f"/{path}" and name.endswith(".sql"):
            add(Layout.SUPABASE.value, f"the Supabase folder of {path}")
    # sqlx's reversible files are named as golang-migrate's: its own marks decide.
    if Layout.SQLX.value in seen:
        found = [e for e in found if e.tool != Layout.GOLANG_MIGRATE.value]
    return found


def _refuse_unsupported(found: list[Evidence]) -> None:
    for e in found:
        if e.tool == NODE_PG_MIGRATE:
            raise LayoutError(
                f"The folder holds node-pg-migrate SQL migrations ({e.why}), which are not "
                "supported (their Down sections would run): convert them to another layout."
            )


def detect(source: SourceFiles) -> Layout:
    """The layout the files were written for, with certainty; else a ``LayoutError`` saying why."""
    found = evidence(source)
    _refuse_unsupported(found)
    if len(found) == 1:
        return Layout(found[0].tool)
    if len(found) > 1:
        shown = "; ".join(f"{e.tool} ({e.why})" for e in found)
        raise LayoutError(
            f"The folder looks like more than one tool's: {shown}. Set Layout to the tool that "
            "wrote it (auto reads only a folder it is certain of)."
        )
    if source.ordered:
        return Layout.PLAIN  # an inline list: the order written
    paths = sql_files(source)
    folder_scripts = [p for p in paths if _FOLDER_SCRIPT.match(p)]
    if folder_scripts:
        raise LayoutError(
            f"The folder looks like Prisma Migrate's or drizzle-kit's ({folder_scripts[0]}), "
            "and holds neither migration_lock.toml (Prisma) nor snapshot.json (drizzle-kit): "
            "set Layout to prisma or drizzle."
        )
    if (
        paths
        and all(_NUMBERED.match(posixpath.basename(p)) for p in paths)
        and len({posixpath.dirname(p) for p in paths}) == 1
    ):
        raise LayoutError(
            f"The folder looks like the Supabase CLI's, sqlx's or plain SQL ({len(paths)} files "
            f"named <digits>_<name>.sql, such as {sorted(paths)[0]}): set Layout to supabase, "
            "sqlx or plain (auto reads only a folder it is certain of)."
        )
    return Layout.PLAIN


_FOREIGN_FILES = (
    (Layout.SQITCH, lambda p: posixpath.basename(p) == sqitch.PLAN_FILE),
    (Layout.ATLAS, lambda p: posixpath.basename(p) == atlas.SUM_FILE),
    (Layout.PRISMA, lambda p: posixpath.basename(p) == prisma.LOCK_FILE),
    (Layout.DRIZZLE, lambda p: p == "meta/_journal.json" or p.endswith("/meta/_journal.json")),
    (Layout.DRIZZLE, lambda p: bool(_DRIZZLE_SNAPSHOT.match(p))),
)


def refuse_foreign(source: SourceFiles, reading: Reading) -> None:
    """Fail when what ``reading`` would run carries another tool's marks."""
    own = reading.layout.value
    for tool, is_mark in _FOREIGN_FILES:
        if tool.value != own and (marks := [p for p in source.paths() if is_mark(p)]):
            raise LayoutError(
                f"{marks[0]} is {tool.value}'s own file, so the folder is not read as "
                f"{own}: set Layout to {tool.value}."
            )
    names = {m.name for m in reading.migrations} | {c.script.name for c in reading.callbacks}
    for path in sorted(names):
        if path not in source.files:
            continue
        for name, line in section_marks(text_of(source.files[path], path)):
            if name != own:
                fix = (
                    "convert it (node-pg-migrate is not supported)"
                    if name == NODE_PG_MIGRATE
                    else f"set Layout to {name}"
                )
                raise LayoutError(
                    f"{path} carries {name}'s annotation {line!r}, so it is not run as "
                    f"{own} (its down part would run too): {fix}."
                )
