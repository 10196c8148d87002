"""Flyway's SQL callbacks: scripts run at the events of a migrate run, never recorded as migrations.

``beforeMigrate`` runs once the run has checked the history and holds the
lock, before any migration; ``beforeEachMigrate`` and ``afterEachMigrate``
around each migration (not seeds); ``afterMigrate`` after the last migration,
before the seeds; ``afterMigrateError`` when a migration (or a callback)
fails, before the failure is reported. Several scripts for one event run in
name order. Each runs in a transaction of its own (Flyway runs the per-migration
ones inside the migration's transaction; a session ``SET`` still reaches the
migration, a ``SET LOCAL`` does not), or statement by statement when it cannot
run in a transaction. A run stopped by the deadline (continued in the next
poll) does not run ``afterMigrate`` until the run that completes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg

from provider.common.errors import ProviderError
from provider.common.responses import shorten
from provider.migrations.model import Migration


class Event(StrEnum):
    BEFORE_MIGRATE = "beforeMigrate"
    BEFORE_EACH_MIGRATE = "beforeEachMigrate"
    AFTER_EACH_MIGRATE = "afterEachMigrate"
    AFTER_MIGRATE = "afterMigrate"
    AFTER_MIGRATE_ERROR = "afterMigrateError"


@dataclass(frozen=True)
class Callback:
    event: Event
    script: Migration


class CallbackFailed(ProviderError):
    """A callback script failed; the reason names the file, SQLSTATE, message and line."""


def run(conn: psycopg.Connection[Any], callbacks: Sequence[Callback], event: Event) -> None:
    """Run the callbacks of ``event`` (in the order given) on the autocommit ``conn``."""
    for callback in callbacks:
        if callback.event is event:
            _run_one(conn, callback.script)


def _run_one(conn: psycopg.Connection[Any], script: Migration) -> None:
    if script.transactional:
        parts = [("BEGIN;\n" + script.script.text + "\n;\nCOMMIT;", 7)]
    else:
        parts = [(s.text, s.start) for s in script.script.statements]
    for text, start in parts:
        try:
            conn.execute(text.encode())
        except psycopg.Error as exc:
            if (
                not conn.broken
                and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
            ):
                conn.execute("ROLLBACK")
            raise _failed(script, exc, start, transactional=script.transactional) from exc


def _failed(
    script: Migration, exc: psycopg.Error, start: int, *, transactional: bool
) -> CallbackFailed:
    position = exc.diag.statement_position
    line = None
    if position:
        offset = int(position) - 1 - start if transactional else start + int(position) - 1
        if 0 <= offset <= len(script.sql):
            line = script.file_line(offset)
    where = f"{script.name} line {line}" if line else script.name
    message = " ".join((exc.diag.message_primary or str(exc)).split())
    return CallbackFailed(shorten(f"{where}: {exc.sqlstate or 'error'} {message}"))
