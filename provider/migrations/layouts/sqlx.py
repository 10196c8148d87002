"""sqlx (Rust): ``<version>_<description>.sql``, or ``.up.sql``/``.down.sql``, in one folder.

As ``sqlx-core/src/migrate/source.rs`` resolves them: a file name split at
its first ``_`` whose second part ends with ``.sql`` is a migration, and its
first part must be an integer (otherwise the run fails, as sqlx fails); other
files are ignored. ``.down.sql`` never runs. The description is the rest of
the name without its suffix, ``_`` read as a space; a file whose text starts
with ``-- no-transaction`` runs outside a transaction. Versions order
numerically; two files with one version fail.
"""

from __future__ import annotations

import posixpath
import re

from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    check_unique,
    migration,
    one_folder,
    text_of,
)
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

NO_TRANSACTION = "-- no-transaction"
UP, DOWN, SIMPLE = ".up.sql", ".down.sql", ".sql"
_INTEGER = re.compile(r"^[+-]?\d+$")
# What sqlx-cli writes into the files it creates: the marks of a sqlx folder.
TEMPLATES = (
    "-- Add migration script here",
    "-- Add up migration script here",
    "-- Add down migration script here",
)


def parts_of(name: str) -> tuple[str, str] | None:
    """(version text, rest) when sqlx takes the file for a migration."""
    version, sep, rest = name.partition("_")
    if not sep or not rest.endswith(SIMPLE):
        return None
    return version, rest


def is_sqlx_text(text: str) -> bool:
    return text.startswith(NO_TRANSACTION) or text.startswith(TEMPLATES)


def read(source: SourceFiles) -> list[Migration]:
    candidates = [p for p in source.paths() if parts_of(posixpath.basename(p))]
    one_folder(candidates, Layout.SQLX)
    found: list[tuple[int, Migration]] = []
    for path in candidates:
        version_text, rest = parts_of(posixpath.basename(path)) or ("", "")
        if not _INTEGER.match(version_text):
            raise LayoutError(
                f"{path}: sqlx expects an integer version before the first '_' "
                "(e.g. 20250301093000_create_users.sql): rename it or move it out of the folder."
            )
        if rest.endswith(DOWN):
            continue
        suffix = UP if rest.endswith(UP) else SIMPLE
        description = rest.removesuffix(suffix).replace("_", " ")
        raw = source.files[path]
        sql = text_of(raw, path)
        version = int(version_text)
        tool = ToolMeta(
            Layout.SQLX.value, version=str(version), description=description, script=path, raw=raw
        )
        found.append(
            (
                version,
                migration(
                    path,
                    str(version),
                    Kind.VERSIONED,
                    sql,
                    no_transaction=sql.startswith(NO_TRANSACTION),
                    tool=tool,
                ),
            )
        )
    found.sort(key=lambda pair: pair[0])
    return check_unique([m for _, m in found])
