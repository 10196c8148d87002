"""Flyway: ``V<version>__<desc>.sql`` by version, ``R__<desc>.sql`` after them, SQL callbacks.

- Versions order numerically (``1.2.10`` after ``1.2.9``; ``_`` separates
  parts like ``.``; trailing zeros dropped, so ``1.0`` is ``1``); repeatables
  follow in description order and re-run when their checksum changes. Files
  are found at any depth, as Flyway scans its locations.
- Placeholders: ``${name}`` (the name case-insensitive) is replaced in
  migrations and callbacks with the value given (``Placeholders``, the CLI's
  ``--placeholder``), ``${flyway:...}`` with Flyway's built-ins
  (``defaultSchema``, ``user``, ``database``, ``timestamp``, ``filename``,
  ``table``). A placeholder without a value fails the run naming it and the
  file. The checksum covers the text before replacement, as Flyway's does.
- Callbacks ``beforeMigrate``, ``beforeEachMigrate``, ``afterEachMigrate``,
  ``afterMigrate``, ``afterMigrateError`` (``<event>.sql`` or
  ``<event>__<desc>.sql``) are returned apart, to run at their events; the
  other events a migrate fires fail the run (not supported), and those of
  other commands (clean, info, undo, ...) are ignored, as migrate ignores them.
- A per-script ``<file>.sql.conf`` may set ``executeInTransaction`` and
  ``encoding=UTF-8``; any other key fails the run, naming it.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Mapping

from provider.migrations.callbacks import Callback, Event
from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    Reading,
    check_unique,
    migration,
    sql_files,
    text_of,
)
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

VERSIONED = re.compile(r"^V(?P<version>\d+(?:[._]\d+)*)__(?P<desc>.+)\.sql$", re.I)
REPEATABLE = re.compile(r"^R__(?P<desc>.+)\.sql$", re.I)
_CALLBACK = re.compile(r"^(?P<event>[a-z][A-Za-z]*)(?:__(?P<desc>.+))?\.sql$")
HISTORY_TABLE = "flyway_schema_history"

# Events a migrate run fires that the engine does not (yet) run: refused, never skipped.
_UNSUPPORTED_EVENTS = frozenset(
    {
        "beforeEachMigrateStatement", "afterEachMigrateStatement", "afterEachMigrateStatementError",
        "afterEachMigrateError", "beforeRepeatables", "afterVersioned", "afterMigrateApplied",
        "afterMigrateOperationFinish", "beforeValidate", "afterValidate", "afterValidateError",
        "createSchema", "beforeConnect", "afterConnect",
    }
)  # fmt: skip


def version_key(raw: str) -> tuple[int, ...]:
    """``1.2.10`` -> (1, 2, 10); ``1_1`` is ``1.1``; trailing zeros dropped, so ``1.0`` == ``1``."""
    parts = [int(p) for p in re.split(r"[._]", raw)]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def placeholders_for(
    given: Mapping[str, str] | None, *, user: str | None, database: str | None
) -> dict[str, str]:
    """The placeholder values for a run: the given ones, and the built-ins the run knows."""
    values = {"flyway:user": user or "", "flyway:database": database or ""}
    values = {k: v for k, v in values.items() if v}
    values.update({k.lower(): v for k, v in (given or {}).items()})
    return values


def _builtins(path: str) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        "flyway:defaultschema": "public",
        "flyway:table": HISTORY_TABLE,
        "flyway:timestamp": now.strftime("%Y-%m-%d %H:%M:%S"),
        "flyway:filename": posixpath.basename(path),
    }


def replace_placeholders(text: str, path: str, values: Mapping[str, str]) -> str:
    """``text`` with every ``${name}`` replaced; a name without a value fails, naming it.

    As Flyway's reader does: ``${`` opens a placeholder wherever it stands
    (comments and strings too), the next ``}`` closes it, and a replacement is
    not scanned again.
    """
    if "${" not in text:
        return text
    known = {**_builtins(path), **{k.lower(): v for k, v in values.items()}}
    out: list[str] = []
    position = 0
    while (start := text.find("${", position)) != -1:
        line = text.count("\n", 0, start) + 1
        end = text.find("}", start + 2)
        if end == -1:
            raise LayoutError(
                f"{path} line {line} opens a placeholder '${{' that no '}}' closes: close it."
            )
        name = text[start + 2 : end]
        if name.lower() not in known:
            how = (
                "Flyway's built-ins are defaultSchema, user, database, timestamp, filename "
                "and table"
                if name.lower().startswith("flyway:")
                else f"give it a value in Placeholders (CLI: --placeholder {name}=...)"
            )
            raise LayoutError(
                f"{path} line {line} uses the placeholder ${{{name}}}, which has no value: {how}."
            )
        out += [text[position:start], known[name.lower()]]
        position = end + 1
    out.append(text[position:])
    return "".join(out)


def _conf(source: SourceFiles, path: str) -> bool:
    """Whether the script's ``.sql.conf`` lets it run in a transaction (the default)."""
    conf_path = path + ".conf"
    if conf_path not in source.files:
        return True
    transactional = True
    for number, line in enumerate(text_of(source.files[conf_path], conf_path).splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, _, value = (part.strip() for part in stripped.partition("="))
        if key == "executeInTransaction" and value.lower() in ("true", "false"):
            transactional = value.lower() == "true"
        elif key == "encoding" and value.replace("-", "").lower() == "utf8":
            continue
        else:
            raise LayoutError(
                f"{conf_path} line {number}: {key} is not supported (only executeInTransaction "
                "and encoding=UTF-8): remove it."
            )
    return transactional


def _read(
    source: SourceFiles, path: str, placeholders: Mapping[str, str]
) -> tuple[str, str | None, bool]:
    raw_text = text_of(source.files[path], path)
    sql = replace_placeholders(raw_text, path, placeholders)
    return sql, (raw_text if sql != raw_text else None), not _conf(source, path)


def _callback(name: str) -> Event | None:
    """The event a callback script is for; None when it is no callback; unsupported ones fail."""
    match = _CALLBACK.match(name)
    if match is None:
        return None
    event = match["event"]
    for known in Event:
        if event == known.value:
            return known
    if event in _UNSUPPORTED_EVENTS:
        raise LayoutError(
            f"{name} is a Flyway {event} callback, which is not supported (only "
            + ", ".join(e.value for e in Event)
            + "): remove it or fold it into a migration."
        )
    return None


def read(source: SourceFiles, placeholders: Mapping[str, str] | None = None) -> Reading:
    values = placeholders or {}
    versioned: list[tuple[tuple[int, ...], Migration]] = []
    repeatable: list[tuple[str, Migration]] = []
    callbacks: list[tuple[str, Callback]] = []
    for path in sql_files(source):
        name = posixpath.basename(path)
        raw = source.files[path]
        if match := VERSIONED.match(name):
            key = version_key(match["version"])
            sql, checksum_text, no_tx = _read(source, path, values)
            meta = ToolMeta(
                Layout.FLYWAY.value,
                version=match["version"].replace("_", "."),
                description=match["desc"].replace("_", " "),
                script=path,
                raw=raw,
            )
            version = ".".join(map(str, key))
            versioned.append(
                (
                    key,
                    migration(
                        path,
                        version,
                        Kind.VERSIONED,
                        sql,
                        no_transaction=no_tx,
                        tool=meta,
                        checksum_text=checksum_text,
                    ),
                )
            )
        elif match := REPEATABLE.match(name):
            sql, checksum_text, no_tx = _read(source, path, values)
            meta = ToolMeta(
                Layout.FLYWAY.value,
                description=match["desc"].replace("_", " "),
                script=path,
                raw=raw,
            )
            found = migration(
                path,
                None,
                Kind.REPEATABLE,
                sql,
                no_transaction=no_tx,
                tool=meta,
                checksum_text=checksum_text,
            )
            repeatable.append((match["desc"], found))
        elif (event := _callback(name)) is not None:
            sql, _, no_tx = _read(source, path, values)
            script = migration(path, None, Kind.VERSIONED, sql, no_transaction=no_tx)
            callbacks.append((name, Callback(event, script)))
        # Anything else (undo scripts, other commands' callbacks, notes) is not a
        # migration, as in Flyway.
    versioned.sort(key=lambda pair: pair[0])
    repeatable.sort(key=lambda pair: pair[0])
    callbacks.sort(key=lambda pair: pair[0])
    return Reading(
        Layout.FLYWAY,
        check_unique([m for _, m in versioned] + [m for _, m in repeatable]),
        [c for _, c in callbacks],
    )


def is_flyway_name(name: str) -> bool:
    return bool(VERSIONED.match(name) or REPEATABLE.match(name))
