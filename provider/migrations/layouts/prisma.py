"""Prisma Migrate: every subfolder of the migrations folder holds ``migration.sql``.

As Prisma lists them (``listMigrations.ts``): the migrations folder is the one
holding ``migration_lock.toml`` (or, without it, the folder whose subfolders
hold ``migration.sql``); each of its subfolders is one migration, named by the
folder, in folder-name order (``localeCompare``: case and punctuation weigh
less than letters and digits). A subfolder without ``migration.sql`` fails
the run, as it fails Prisma. The lock file's ``provider`` must be
``postgresql``. The file runs whole, as the one script Prisma sends, in a
transaction; a file that PostgreSQL refuses to run in one (``CREATE INDEX
CONCURRENTLY``) runs outside it when that statement is alone in the file
(Prisma sends one statement outside any transaction block), and fails the
run when other statements share the file (PostgreSQL refuses that script
from Prisma too).
"""

from __future__ import annotations

import posixpath
import unicodedata

from provider.migrations.layouts.common import Layout, LayoutError, check_unique, migration, text_of
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

LOCK_FILE = "migration_lock.toml"
SCRIPT = "migration.sql"


def lock_files(source: SourceFiles) -> list[str]:
    return [p for p in source.paths() if posixpath.basename(p) == LOCK_FILE]


def provider_of(lock_text: str) -> str:
    """The provider as Prisma reads it: the first line starting with ``provider``, unquoted."""
    for line in lock_text.splitlines():
        if line.startswith("provider"):
            return line.removeprefix("provider = ").strip('"')
    return "<PROVIDER NOT FOUND>"


def collation_key(name: str) -> tuple[tuple[tuple[int, str], ...], str]:
    """An approximation of ``String.localeCompare`` (ICU root collation) for folder names.

    Punctuation before digits before letters, letters compared without case
    first; Prisma's own names (``<14 digits>_<name>``) sort as their bytes do.
    """

    def weight(char: str) -> tuple[int, str]:
        folded = unicodedata.normalize("NFKD", char.casefold())
        if char.isdigit():
            return (1, folded)
        if char.isalpha():
            return (2, folded)
        return (0, folded)

    return tuple(weight(c) for c in name), name.swapcase()


def _root(source: SourceFiles) -> str:
    locks = lock_files(source)
    if len(locks) > 1:
        raise LayoutError(
            f"More than one {LOCK_FILE}: {', '.join(sorted(locks))}; give one folder."
        )
    if locks:
        root = posixpath.dirname(locks[0])
        provider = provider_of(text_of(source.files[locks[0]], locks[0]))
        if provider != "postgresql":
            raise LayoutError(
                f'{locks[0]} says provider = "{provider}": these migrations are for another '
                "database; give the folder made for PostgreSQL."
            )
        return root
    parents = {
        posixpath.dirname(posixpath.dirname(p))
        for p in source.paths()
        if posixpath.basename(p) == SCRIPT and "/" in p
    }
    if len(parents) > 1:
        raise LayoutError(
            f"Prisma migration folders under more than one folder ({', '.join(sorted(parents))}); "
            "give the one that holds migration_lock.toml."
        )
    return parents.pop() if parents else ""


def read(source: SourceFiles) -> list[Migration]:
    root = _root(source)
    prefix = f"{root}/" if root else ""
    folders = sorted(
        {p[len(prefix) :].split("/", 1)[0] for p in source.paths() if p.startswith(prefix)}
        - {LOCK_FILE},
        key=collation_key,
    )
    found = []
    for folder in folders:
        if f"{prefix}{folder}" in source.files:
            continue  # a file beside the migration folders (a README): Prisma lists folders only
        path = f"{prefix}{folder}/{SCRIPT}"
        if path not in source.files:
            raise LayoutError(
                f"{prefix}{folder}/ has no {SCRIPT} (Prisma fails on it too): add it or remove "
                "the folder."
            )
        raw = source.files[path]
        tool = ToolMeta(Layout.PRISMA.value, version=folder, script=folder, raw=raw)
        m = migration(path, folder, Kind.VERSIONED, text_of(raw, path), tool=tool)
        why = next((s.non_transactional for s in m.script.statements if s.non_transactional), "")
        if why and len(m.script.statements) > 1 and not m.declared_no_transaction:
            raise LayoutError(
                f"{path}: Prisma sends the file as one script, in which PostgreSQL refuses {why}: "
                "move that statement to a migration of its own."
            )
        found.append(m)
    return check_unique(found)
