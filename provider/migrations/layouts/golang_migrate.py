"""golang-migrate: ``<n>_<name>.up.sql`` by number (``.down.sql`` never runs)."""

from __future__ import annotations

import posixpath
import re

from provider.migrations.layouts.common import Layout, check_unique, migration, sql_files, text_of
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

UP = re.compile(r"^(?P<version>\d+)_(?P<desc>.*)\.up\.sql$")


def read(source: SourceFiles) -> list[Migration]:
    found = []
    for path in sql_files(source):
        if match := UP.match(posixpath.basename(path)):
            raw = source.files[path]
            version = str(int(match["version"]))
            tool = ToolMeta(
                Layout.GOLANG_MIGRATE.value, version=version, description=match["desc"], raw=raw
            )
            sql = text_of(raw, path)
            found.append(
                (int(match["version"]), migration(path, version, Kind.VERSIONED, sql, tool=tool))
            )
    found.sort(key=lambda pair: pair[0])
    return check_unique([m for _, m in found])
