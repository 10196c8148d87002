"""dbmate: ``<digits>_name.sql`` with ``-- migrate:up`` / ``-- migrate:down`` sections.

Only the up section runs; ``-- migrate:up transaction:false`` runs it
outside a transaction. Versions order numerically.
"""

from __future__ import annotations

import posixpath
import re

from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    check_unique,
    migration,
    sql_files,
    text_of,
)
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

NAME = re.compile(r"^(?P<version>\d+)(?P<desc>.*)\.sql$")
UP = re.compile(r"^--\s*migrate:up\b(?P<options>.*)$", re.M)
DOWN = re.compile(r"^--\s*migrate:down\b.*$", re.M)


def up_section(text: str, name: str) -> tuple[str, int, bool]:
    """The up section, the lines before it, and whether it may run in a transaction."""
    up = UP.search(text)
    if up is None:
        raise LayoutError(f"{name} has no '-- migrate:up' line (dbmate layout): add one.")
    body_start = up.end() + 1 if up.end() < len(text) else up.end()
    down = DOWN.search(text, body_start)
    body = text[body_start : down.start() if down else len(text)]
    transactional = "transaction:false" not in up["options"].replace(" ", "").lower()
    return body, text.count("\n", 0, body_start), transactional


def read(source: SourceFiles) -> list[Migration]:
    found = []
    for path in sql_files(source):
        if match := NAME.match(posixpath.basename(path)):
            raw = source.files[path]
            body, offset, transactional = up_section(text_of(raw, path), path)
            tool = ToolMeta(Layout.DBMATE.value, version=match["version"], script=path, raw=raw)
            found.append(
                (
                    int(match["version"]),
                    migration(
                        path,
                        str(int(match["version"])),
                        Kind.VERSIONED,
                        body,
                        line_offset=offset,
                        no_transaction=not transactional,
                        tool=tool,
                    ),
                )
            )
    found.sort(key=lambda pair: pair[0])
    return check_unique([m for _, m in found])
