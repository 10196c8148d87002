"""Folder layouts of the migration tools people already use, read as each tool itself reads them.

One module per tool (its docstring says what it reads, from the tool's own
source): ``flyway``, ``drizzle``, ``dbmate``, ``golang_migrate``, ``goose``,
``prisma``, ``supabase``, ``liquibase``, ``sqitch``, ``atlas``, ``sqlx``,
``plain``. Only what the tool itself runs as an "up" migration is ever
returned to run (goose's Down, dbmate's down, Liquibase's ``--rollback``,
sqitch's revert and verify never). What a reader does not support fails the
run before anything runs, naming the file (or changeset) and what to change.
Each reader is pure: files in, migrations out; problems raise ``LayoutError``.

Every file is read as written: a leading BOM dropped, CR/LF kept in the text
that runs (only checksums ignore line endings), a NUL byte refused.

``Layout: auto`` (``detect``) decides with certainty or not at all. It looks,
in this order, for:

1. a file only one tool writes: ``sqitch.plan`` (sqitch), ``atlas.sum``
   (Atlas), ``migration_lock.toml`` (Prisma), ``meta/_journal.json`` or a
   ``<timestamp>_<name>/snapshot.json`` (drizzle-kit), a ``config.toml``
   with ``project_id`` beside ``migrations/`` (a Supabase project folder);
2. annotations in the ``.sql`` files: ``--liquibase formatted sql``
   (Liquibase), ``-- +goose`` (goose), ``-- migrate:up``/``down`` (dbmate),
   ``-- Up Migration``/``-- Down Migration`` (node-pg-migrate: not
   supported, refused), an ``atlas:`` directive (Atlas), sqlx's
   ``-- no-transaction`` first line or the text ``sqlx migrate add`` writes;
3. names: a goose ``.go`` migration, Flyway's ``V<version>__``/``R__``,
   golang-migrate's ``<n>_<name>.up.sql`` (sqlx's when sqlx's marks are
   there), a ``supabase/migrations/`` folder.

Exactly one tool found: that layout. More than one: refused, naming each
with what showed it. None: plain SQL (an inline list: in the order written),
except ``<timestamp>_<name>/migration.sql`` folders (Prisma's or drizzle's:
refused) and a folder whose every file is ``<digits>_<name>.sql`` (Supabase's,
sqlx's or plain: refused). Whatever the layout, a file the reading would run
that carries another tool's annotations, or a folder holding another tool's
own file, is refused (``detect.refuse_foreign``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from provider.migrations.layouts import (
    atlas,
    dbmate,
    drizzle,
    flyway,
    golang_migrate,
    goose,
    liquibase,
    plain,
    prisma,
    sqitch,
    sqlx,
    supabase,
)
from provider.migrations.layouts import (
    detect as detection,
)
from provider.migrations.layouts.common import Layout, LayoutError, Reading, sql_files
from provider.migrations.layouts.flyway import placeholders_for
from provider.migrations.model import Migration
from provider.migrations.sources import SourceFiles

__all__ = [
    "Layout",
    "LayoutError",
    "Reading",
    "detect",
    "load",
    "placeholders_for",
    "read",
    "seeds",
]

Reader = Callable[[SourceFiles, Mapping[str, str]], Reading]


def _simple(layout: Layout, reader: Callable[[SourceFiles], list[Migration]]) -> Reader:
    return lambda source, _placeholders: Reading(layout, reader(source))


_READERS: dict[Layout, Reader] = {
    Layout.FLYWAY: flyway.read,
    Layout.DRIZZLE: _simple(Layout.DRIZZLE, drizzle.read),
    Layout.DBMATE: _simple(Layout.DBMATE, dbmate.read),
    Layout.GOLANG_MIGRATE: _simple(Layout.GOLANG_MIGRATE, golang_migrate.read),
    Layout.GOOSE: lambda source, _p: goose.read(source),
    Layout.PRISMA: _simple(Layout.PRISMA, prisma.read),
    Layout.SUPABASE: lambda source, _p: supabase.read(source),
    Layout.LIQUIBASE: lambda source, _p: liquibase.read(source),
    Layout.SQITCH: _simple(Layout.SQITCH, sqitch.read),
    Layout.ATLAS: _simple(Layout.ATLAS, atlas.read),
    Layout.SQLX: _simple(Layout.SQLX, sqlx.read),
    Layout.PLAIN: _simple(Layout.PLAIN, plain.read),
}
# Layouts whose files are known by their names: none matching is a mistake, not an empty set.
_NAMED = frozenset(_READERS) - {Layout.PLAIN, Layout.LIQUIBASE, Layout.SQITCH}


def detect(source: SourceFiles) -> Layout:
    """The layout the files were written for, with certainty (else ``LayoutError``)."""
    return detection.detect(source)


def read(
    source: SourceFiles,
    layout: Layout | str = Layout.AUTO,
    *,
    placeholders: Mapping[str, str] | None = None,
) -> Reading:
    """The source read in ``layout`` (detected when ``auto``): migrations, callbacks, warnings."""
    requested = Layout(layout)
    chosen = detect(source) if requested is Layout.AUTO else requested
    if chosen is Layout.PLAIN and source.ordered and requested is Layout.AUTO:
        reading = Reading(Layout.PLAIN, plain.listed(source))
    else:
        reading = _READERS[chosen](source, placeholders or {})
    detection.refuse_foreign(source, reading)
    count = len(sql_files(source))
    if chosen in _NAMED and count and not reading.migrations and not reading.callbacks:
        raise LayoutError(
            f"Layout {chosen.value}: none of the {count} .sql files is named as that tool "
            "names its migrations: check Layout, or the file names."
        )
    return reading


def load(
    source: SourceFiles,
    layout: Layout | str = Layout.AUTO,
    *,
    placeholders: Mapping[str, str] | None = None,
) -> list[Migration]:
    """The source's migrations in the order they apply (callbacks and warnings: ``read``)."""
    return read(source, layout, placeholders=placeholders).migrations


def seeds(source: SourceFiles) -> list[Migration]:
    """Seed files: an inline list in its order, otherwise ``*.sql`` in lexical order."""
    return plain.seeds(source)
