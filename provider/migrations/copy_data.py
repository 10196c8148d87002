"""Run migrations that carry ``COPY ... FROM stdin`` rows (pg_dump's data blocks).

A COPY FROM STDIN cannot ride in a simple-query message with other
statements: the server would wait for rows the message does not hold, with
the run's lock and the migration's transaction open. So such a migration
runs statement by statement, each COPY through psycopg's ``cursor.copy()``
writing its rows:

- transactional: ``BEGIN`` (and the timeouts), each statement, the history
  rows, ``COMMIT``: all of it or none of it, as for any migration;
- non-transactional: each statement in autocommit (the engine's
  statement-by-statement path calls ``copy_in`` for a COPY).

A bad row fails naming the file's line: the server's context says which row
of the block (``COPY t, line 3, column b: ...``).

What cannot run at all (a psql meta-command, a COPY without its rows, COPY
TO STDOUT) is refused by ``refuse_unrunnable`` before anything runs, and is
the plan's problem (``first_refusal``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import psycopg

from provider.common.errors import ProviderError
from provider.common.responses import shorten
from provider.migrations import statements
from provider.migrations.model import Migration
from provider.migrations.statements import CopyData

_ROW = re.compile(r"\bCOPY [^\n]*?, line (\d+)")


class StepFailed(Exception):
    """A statement of the migration failed; ``line`` is the file's line when known."""

    def __init__(self, error: psycopg.Error, line: int | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.line = line


def first_refusal(
    migrations: Iterable[Migration], callbacks: Iterable[Migration] = ()
) -> str | None:
    """What the first thing that cannot run is, naming its file and line; None when all can."""
    for m in migrations:
        if not statements.might_be_unrunnable(m.sql):
            continue
        refusal = m.script.refusal
        if refusal is not None:
            return shorten(f"{m.name} line {m.file_line(refusal.offset)}: {refusal.problem}.")
    for c in callbacks:
        if not statements.might_be_unrunnable(c.sql):
            continue
        refusal = c.script.refusal
        if refusal is not None:
            return shorten(f"{c.name} line {c.file_line(refusal.offset)}: {refusal.problem}.")
        data = next((s.copy_data for s in c.script.statements if s.copy_data is not None), None)
        if data is not None:
            return (
                f"{c.name} line {c.file_line(data.start)}: a callback cannot carry COPY data; "
                "move the rows into a migration."
            )
    return None


def refuse_unrunnable(migrations: Iterable[Migration], callbacks: Iterable[Migration] = ()) -> None:
    """``ProviderError`` naming the file and line of the first thing that cannot run."""
    problem = first_refusal(migrations, callbacks)
    if problem is not None:
        raise ProviderError(problem)


def copy_in(conn: psycopg.Connection[Any], statement: str, data: CopyData) -> None:
    """Run ``statement`` (a COPY ... FROM STDIN) with ``data`` as its rows."""
    with conn.cursor() as cursor, cursor.copy(statement.encode()) as copy:
        copy.write(data.text)


def data_line(m: Migration, data: CopyData | None, error: psycopg.Error) -> int | None:
    """The file's line of the row a COPY error names, or None."""
    found = _ROW.search(error.diag.context or "") if data is not None else None
    if data is None or found is None:
        return None
    return m.file_line(data.start) + int(found.group(1)) - 1


def statement_line(m: Migration, start: int, error: psycopg.Error) -> int:
    """The file's line of the server's error position in the statement at ``start``."""
    position = error.diag.statement_position
    return m.file_line(start + (int(position) - 1 if position else 0))


def run_in_transaction(
    conn: psycopg.Connection[Any], m: Migration, *, begin: str, records: str, after: str
) -> bool:
    """``begin``, each statement (a COPY with its rows), ``records`` and ``COMMIT``, then
    ``after``: its last value (True while the run's lock is held). ``StepFailed`` on an
    error, the transaction left for the caller to roll back."""
    try:
        conn.execute(begin.encode())
    except psycopg.Error as exc:
        raise StepFailed(exc, None) from exc
    for statement in m.script.statements:
        try:
            if statement.copy_data is not None:
                copy_in(conn, statement.text, statement.copy_data)
            else:
                conn.execute(statement.text.encode())
        except psycopg.Error as exc:
            line = data_line(m, statement.copy_data, exc)
            raise StepFailed(exc, line or statement_line(m, statement.start, exc)) from exc
    try:
        conn.execute(f"{records};\nCOMMIT".encode())
    except psycopg.Error as exc:
        raise StepFailed(exc, None) from exc
    cursor = conn.execute(after.encode())
    while cursor.nextset():
        pass
    row = cursor.fetchone()
    return bool(row and row[0])
