"""Supabase CLI: ``<digits>_<name>.sql`` in one folder (``supabase/migrations``), by file name.

As the CLI reads them (``pkg/migration/list.go``, ``file.go``): the folder's
entries in name order; a name that does not match ``<digits>_<name>.sql`` is
skipped with a warning, as is a first ``<timestamp>_init.sql`` older than
2021-12-09 (the old CLI's baseline). The version is the digits as written.
Each file runs whole in one transaction with its history row, as the CLI's
batch does, so a statement PostgreSQL refuses in a transaction (``CREATE
INDEX CONCURRENTLY``) fails the run, as it fails ``supabase db push``, unless
the file declares ``-- aurora-express:no-transaction``.
"""

from __future__ import annotations

import posixpath
import re

from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    Reading,
    check_unique,
    migration,
    one_folder,
    text_of,
)
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

NAME = re.compile(r"^([0-9]+)_(.*)\.sql$")
_OLD_INIT = re.compile(r"([0-9]{14})_init\.sql")
_INIT_CUTOFF = 20211209000000


def _folder(source: SourceFiles) -> list[str]:
    """The files of the migrations folder: the folder the matching names are in."""
    matching = [p for p in source.paths() if NAME.match(posixpath.basename(p))]
    one_folder(matching, Layout.SUPABASE)
    folder = posixpath.dirname(matching[0]) if matching else ""
    return sorted(p for p in source.paths() if posixpath.dirname(p) == folder)


def read(source: SourceFiles) -> Reading:
    found: list[Migration] = []
    warnings: list[str] = []
    for index, path in enumerate(_folder(source)):
        name = posixpath.basename(path)
        old = _OLD_INIT.search(name)
        if index == 0 and old and int(old[1]) < _INIT_CUTOFF:
            warnings.append(f"{path} is skipped, as the Supabase CLI skips an old init migration.")
            continue
        match = NAME.match(name)
        if match is None:
            warnings.append(
                f"{path} is skipped: Supabase migrations are named <timestamp>_name.sql."
            )
            continue
        raw = source.files[path]
        tool = ToolMeta(
            Layout.SUPABASE.value, version=match[1], description=match[2], script=path, raw=raw
        )
        m = migration(path, match[1], Kind.VERSIONED, text_of(raw, path), tool=tool)
        why = next((s.non_transactional for s in m.script.statements if s.non_transactional), "")
        if why and not m.declared_no_transaction:
            raise LayoutError(
                f"{path}: the Supabase CLI runs each file in one transaction, where PostgreSQL "
                f"refuses {why}: declare '-- aurora-express:no-transaction' as its first line, "
                "or move it out of the migration."
            )
        found.append(m)
    return Reading(Layout.SUPABASE, check_unique(found), warnings=warnings)
