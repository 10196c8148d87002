"""Plain SQL: every ``*.sql`` in lexical order of its path (an inline list: as written).

The path is the version. Seeds are read the same way.
"""

from __future__ import annotations

from provider.migrations.layouts.common import check_unique, migration, sql_files, text_of
from provider.migrations.model import Kind, Migration
from provider.migrations.sources import SourceFiles


def read(source: SourceFiles) -> list[Migration]:
    return [
        migration(path, path, Kind.VERSIONED, text_of(source.files[path], path))
        for path in sorted(sql_files(source))
    ]


def listed(source: SourceFiles) -> list[Migration]:
    """An inline list that fits no tool's naming: the order written; the name is the version."""
    return check_unique(
        [
            migration(path, path, Kind.VERSIONED, text_of(source.files[path], path))
            for path in source.paths()
        ]
    )


def seeds(source: SourceFiles) -> list[Migration]:
    """Seed files: an inline list in its order, otherwise ``*.sql`` in lexical order."""
    paths = source.paths() if source.ordered else sorted(sql_files(source))
    return [migration(path, None, Kind.SEED, text_of(source.files[path], path)) for path in paths]
