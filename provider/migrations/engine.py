"""The migration engine: plan -> lock -> apply -> record, on one psycopg connection.

Public API, shared by the Lambda handler and the CLI:

- ``plan(conn, migration_set, options)``: what would run (reads only, no lock);
- ``status(conn, migration_set, options)``: the plan plus the history rows;
- ``migrate(conn, migration_set, options)``: apply what is pending.

``conn`` must be an autocommit connection: the engine opens its own
transactions. How each migration runs, and why:

- Transactional (the default): ``BEGIN``, the timeouts (``SET LOCAL``), the
  file's text, its history row (and the folder's tool's row), ``COMMIT``:
  one simple-query message, one round trip. A failure rolls all of it back, so a
  failed migration leaves no trace and those before it stay applied.
- Non-transactional (declared, or a statement PostgreSQL refuses in a
  transaction block): one statement per message in autocommit, then the
  history row. A failure records a row with ``success = false`` (retried next
  run) and stops.
- A migration carrying ``COPY ... FROM stdin`` rows (pg_dump's data blocks)
  runs one statement per message, each COPY through ``cursor.copy()``
  (``copy_data``), in its transaction or, non-transactional, in autocommit.
  What cannot run (a psql meta-command, a COPY without its rows) is refused,
  naming the file and line, before any migration runs.
- Two runs never interleave: a session advisory lock keyed by the history
  table, taken by polling ``pg_try_advisory_lock`` so a waiting run holds no
  transaction (a blocking wait would deadlock with ``CREATE INDEX CONCURRENTLY``).
- A lock timeout (SQLSTATE 55P03) is retried a few times with backoff.
- The folder's own tool's history (``tool_history``) is read first: what the
  tool applied is adopted (recorded in the history, never run again); unless
  ``keep_tool_history`` is off, its table is created as the tool would before
  anything runs, what the history has and the tool's table lacks is written
  there, and each migration applied writes the tool's row too.
- Flyway's SQL callbacks (``MigrationSet.callbacks``) run at their events
  (``callbacks``: before and after the run, around each migration, on
  failure) and are never recorded in the history.
- A failure names the file, the SQLSTATE, the message and the file's line:
  from the server's error position when it gives one, otherwise by replaying
  the migration statement by statement in a transaction that is rolled back.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from provider.common.deadline import Deadline
from provider.common.errors import ProviderError
from provider.common.responses import shorten
from provider.migrations import callbacks, copy_data, history, tool_history
from provider.migrations.callbacks import Callback, Event
from provider.migrations.history import TableName
from provider.migrations.model import Kind, Migration
from provider.migrations.plan import Plan, SeedMode, make_plan
from provider.migrations.statements import CopyData
from provider.migrations.tool_history import Snapshot, ToolHistory

logger = logging.getLogger(__name__)

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
REPLAY_LIMIT_SECONDS = 30.0  # locate a failing line by replay only when that is cheap
_POLL_MIN, _POLL_MAX = 0.05, 1.0


class LockNotAcquired(ProviderError):
    """Another run held the migration lock for longer than the bound."""


class MigrationFailed(ProviderError):
    """A migration or seed failed; ``reason`` names the file, SQLSTATE, message and line."""

    def __init__(
        self, migration: Migration, sqlstate: str | None, message: str, line: int | None
    ) -> None:
        where = f"{migration.name} line {line}" if line else migration.name
        reason = shorten(f"{where}: {sqlstate or 'error'} {' '.join(message.split())}")
        super().__init__(reason)
        self.migration = migration
        self.sqlstate = sqlstate
        self.line = line


@dataclass(frozen=True)
class MigrationSet:
    """The migrations (in order) and seeds of one source, and the layout they were read in.

    ``layout`` (a ``Layout`` value) names the tool whose history table goes
    with the folder; without it, the layout the reader recorded on the
    migrations is used.

    ``callbacks`` run at their events and are never recorded (Flyway's SQL
    callbacks, see ``callbacks``); ``warnings`` (files the layout skipped)
    are passed on in the result.
    """

    migrations: Sequence[Migration]
    seeds: Sequence[Migration] = ()
    layout: str | None = None
    callbacks: Sequence[Callback] = ()
    warnings: Sequence[str] = ()

    @property
    def drizzle(self) -> bool:
        return any(m.drizzle is not None for m in self.migrations)

    @property
    def tool_layout(self) -> str | None:
        return self.layout or tool_history.layout_of(self.migrations)


@dataclass(frozen=True)
class Options:
    history_table: TableName = field(default_factory=lambda: TableName.parse(history.DEFAULT_TABLE))
    allow_out_of_order: bool = False
    seed_mode: SeedMode = SeedMode.ON_CHANGE
    lock_timeout: float | None = None  # seconds, per statement, in each migration
    statement_timeout: float | None = None
    lock_wait: float = 300.0  # seconds to wait for another run's advisory lock
    lock_retries: int = 3  # extra attempts after a lock timeout
    lock_retry_pause: float = 1.0  # first pause before one; doubles, at most 8 s
    applied_by: str = "aurora-express"
    deadline: Deadline | None = None  # no migration starts past it
    keep_tool_history: bool = True  # also keep the folder's tool's history table (KeepToolHistory)


@dataclass
class Applied:
    name: str
    version: str | None
    kind: Kind
    milliseconds: int


@dataclass
class Result:
    applied: list[Applied] = field(default_factory=list)
    seeds_applied: list[Applied] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    adopted_from: str | None = None
    warnings: list[str] = field(default_factory=list)
    latest_version: str | None = None
    complete: bool = True

    @property
    def applied_count(self) -> int:
        return len(self.applied)

    def as_json(self) -> dict[str, Any]:
        def rows(items: list[Applied]) -> list[dict[str, Any]]:
            return [
                {"name": a.name, "version": a.version, "kind": a.kind.value, "ms": a.milliseconds}
                for a in items
            ]

        return {
            "applied": rows(self.applied),
            "seedsApplied": rows(self.seeds_applied),
            "adopted": self.adopted,
            "adoptedFrom": self.adopted_from,
            "warnings": self.warnings,
            "latestVersion": self.latest_version,
            "complete": self.complete,
        }


def lock_key(table: TableName) -> int:
    """A signed 64-bit advisory lock key derived from the history table's name."""
    digest = hashlib.sha256(f"aurora-express-migrations:{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# -- read-only ---------------------------------------------------------------


def plan(conn: psycopg.Connection[Any], migration_set: MigrationSet, options: Options) -> Plan:
    """What ``migrate`` would do now; reads the histories, writes nothing, takes no lock."""
    return _plan(conn, migration_set, options, _tool(conn, migration_set, options))


@dataclass
class _Tool:
    """The folder's tool's history adapter and its table as last read."""

    adapter: ToolHistory
    snapshot: Snapshot


def _tool(
    conn: psycopg.Connection[Any], migration_set: MigrationSet, options: Options
) -> _Tool | None:
    layout = migration_set.tool_layout
    if not tool_history.has_history(layout):
        return None
    # Where the tool would keep its table: the connection's current schema.
    found = conn.execute("SELECT current_schema()").fetchone()
    schema = found[0] if found and found[0] else "public"
    adapter = tool_history.for_layout(layout, schema, migration_set.migrations)
    if adapter is None:
        return None
    if adapter.table == options.history_table:
        raise ProviderError(
            f"HistoryTable {options.history_table} is where {adapter.tool} keeps its own "
            "history: name another table."
        )
    return _Tool(adapter, adapter.read(conn))


def _plan(
    conn: psycopg.Connection[Any], migration_set: MigrationSet, options: Options, tool: _Tool | None
) -> Plan:
    rows = history.read(conn, options.history_table)
    return make_plan(
        migration_set.migrations,
        migration_set.seeds,
        rows,
        seed_mode=options.seed_mode,
        tool=tool.snapshot.verdict(migration_set.migrations) if tool else None,
    )


def status(
    conn: psycopg.Connection[Any], migration_set: MigrationSet, options: Options
) -> dict[str, Any]:
    """The plan, its blocking problem if any, and every history row."""
    tool = _tool(conn, migration_set, options)
    current = _plan(conn, migration_set, options, tool)
    return {
        **current.as_json(),
        "problem": current.blocking_problem(allow_out_of_order=options.allow_out_of_order),
        "historyTable": str(options.history_table),
        "toolHistoryTable": str(tool.adapter.table) if tool else None,
        "history": [r.as_json() for r in history.read(conn, options.history_table)],
    }


# -- migrate -----------------------------------------------------------------


def migrate(conn: psycopg.Connection[Any], migration_set: MigrationSet, options: Options) -> Result:
    """Apply what is pending under the advisory lock; raise ``ProviderError`` to stop the run."""
    if not conn.autocommit:
        raise ValueError("the engine needs an autocommit connection")
    try:
        restore = _session_setup(conn)
        key = lock_key(options.history_table)
        _acquire(conn, key, options)
        try:
            return _migrate_locked(conn, migration_set, options, restore + _lock_held_sql(key))
        except ProviderError:
            _after_error(conn, migration_set.callbacks)
            raise
        finally:
            _release(conn, key)
    except psycopg.Error as exc:
        # Outside a migration (the history table, the lock, a lost connection).
        message = " ".join((exc.diag.message_primary or str(exc)).split())
        raise ProviderError(
            shorten(f"Database error on {options.history_table}: {exc.sqlstate or ''} {message}")
        ) from exc


CHECK_INTERVAL = "SET client_connection_check_interval = 2000"


def _session_setup(conn: psycopg.Connection[Any]) -> str:
    """The engine's own session settings; the SQL that restores them after each migration.

    If this process dies mid-migration, the server notices within seconds and
    rolls back, releasing the advisory lock (PostgreSQL 14+; ignored elsewhere).
    """
    try:
        conn.execute(CHECK_INTERVAL)
    except psycopg.Error:
        return ""
    return CHECK_INTERVAL + ";\n"


def _lock_held_sql(key: int) -> str:
    """A query that is true while this session holds the run's advisory lock on ``key``."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    high, low = unsigned >> 32, unsigned & 0xFFFFFFFF
    return (
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
        f"AND pid = pg_backend_pid() AND classid = {high} AND objid = {low} AND objsubid = 1)"
    )


def _acquire(conn: psycopg.Connection[Any], key: int, options: Options) -> None:
    bound = Deadline.after(options.lock_wait)
    if options.deadline is not None:
        bound = bound.sooner(options.deadline)
    wait = _POLL_MIN
    while True:
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if got and got[0]:
            return
        if bound.remaining() < wait:
            raise LockNotAcquired(
                f"Another run is migrating this database (advisory lock on "
                f"{options.history_table}); gave up after {options.lock_wait:.0f} s."
            )
        time.sleep(wait)
        wait = min(wait * 2, _POLL_MAX)


def _release(conn: psycopg.Connection[Any], key: int) -> None:
    if conn.closed or conn.broken:
        return  # the server released it with the session
    try:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    except psycopg.Error:
        logger.warning("Could not release the advisory lock; it goes with the session")


def _migrate_locked(
    conn: psycopg.Connection[Any], migration_set: MigrationSet, options: Options, after: str
) -> Result:
    tool = _tool(conn, migration_set, options)
    history.ensure(conn, options.history_table)
    current = _plan(conn, migration_set, options, tool)
    problem = current.blocking_problem(allow_out_of_order=options.allow_out_of_order)
    if problem:
        raise ProviderError(problem)
    copy_data.refuse_unrunnable(
        [*current.pending, *current.seeds], [c.script for c in migration_set.callbacks]
    )

    result = Result(latest_version=current.latest_version, warnings=list(migration_set.warnings))
    for warning in current.warnings:
        logger.warning(warning)
        result.warnings.append(warning)
    for row in current.missing:
        warning = f"{row.name} was applied but is not in the source (an older revision?)."
        logger.warning(warning)
        result.warnings.append(warning)
    if current.out_of_order:
        names = ", ".join(m.name for m in current.out_of_order)
        result.warnings.append(f"Applied out of order: {names}.")
    kept = _keep(conn, tool, current, migration_set, options)
    if current.adopt and tool is not None:
        _adopt(conn, current.adopt, options, tool.adapter.tool)
        result.adopted = [m.name for m in current.adopt]
        result.adopted_from = tool.adapter.tool

    runner = _Runner(conn, options, kept, after=after)
    position = {id(m): i for i, m in enumerate(migration_set.migrations)}
    newest = max((position[id(m)] for m in current.applied if m.version), default=-1)
    hooks = migration_set.callbacks
    callbacks.run(conn, hooks, Event.BEFORE_MIGRATE)
    for batch, target in ((current.pending, result.applied), (current.seeds, result.seeds_applied)):
        if batch is current.seeds:
            callbacks.run(conn, hooks, Event.AFTER_MIGRATE)
        for m in batch:
            if options.deadline is not None and options.deadline.expired():
                result.complete = False
                return result
            each = hooks if batch is current.pending else ()
            callbacks.run(conn, each, Event.BEFORE_EACH_MIGRATE)
            target.append(runner.apply(m))
            callbacks.run(conn, each, Event.AFTER_EACH_MIGRATE)
            logger.info(
                "Applied %s", m.name, extra={"kind": m.kind.value, "ms": target[-1].milliseconds}
            )
            if m.kind is Kind.VERSIONED and position[id(m)] > newest:
                newest, result.latest_version = position[id(m)], m.version
    return result


def _after_error(conn: psycopg.Connection[Any], hooks: Sequence[Callback]) -> None:
    """Flyway's afterMigrateError: run, but never hide the failure that fired it."""
    if not hooks or conn.broken:
        return
    try:
        callbacks.run(conn, hooks, Event.AFTER_MIGRATE_ERROR)
    except (ProviderError, psycopg.Error):
        logger.exception("The afterMigrateError callback failed too")


def _keep(
    conn: psycopg.Connection[Any],
    tool: _Tool | None,
    current: Plan,
    migration_set: MigrationSet,
    options: Options,
) -> _Tool | None:
    """Ready the tool's table for writing (None when it is not kept): create it as the tool
    would, before any migration runs (a migration may GRANT on it), and write there what the
    history has applied and the tool's table lacks, so the tool would not run it again."""
    if tool is None or not options.keep_tool_history:
        return None
    if not tool.adapter.records or not tool.snapshot.usable:
        return None
    tool.snapshot = tool.adapter.ensure(conn, tool.snapshot)
    known = tool.snapshot.verdict(migration_set.migrations).applied
    adopted = {id(m) for m in current.adopt}
    missing = [
        m for m in current.applied if id(m) not in adopted and tool_history.key(m) not in known
    ]
    rows = [r for m in missing if (r := tool.adapter.record_sql(m, tool.snapshot)) is not None]
    if rows:
        conn.execute(sql.SQL(";\n").join(rows))
        logger.info(
            "Recorded %d applied migrations in %s's %s",
            len(rows),
            tool.adapter.tool,
            tool.adapter.table,
        )
    return tool


def _adopt(
    conn: psycopg.Connection[Any], migrations: list[Migration], options: Options, by: str
) -> None:
    """Record in the history what the folder's tool already applied, so it is not run again."""
    rows = [history.insert_sql(options.history_table, m, by, execution_ms=0) for m in migrations]
    conn.execute(sql.SQL(";\n").join(rows))
    logger.info("Adopted %d migrations applied by %s", len(migrations), by)


def _last_value(cursor: psycopg.Cursor[Any]) -> bool:
    """The one value of the last result of a multi-statement message."""
    while cursor.nextset():
        pass
    row = cursor.fetchone()
    return bool(row and row[0])


class _Runner:
    """Runs one migration at a time on ``conn`` with the options' timeouts and retries."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        options: Options,
        tool: _Tool | None = None,
        *,
        after: str = "SELECT true",
    ) -> None:
        self.conn = conn
        self.options = options
        self.tool = tool  # the folder's tool's table, written with each migration
        # Run after each migration: the session as the engine set it (a file's SET ROLE,
        # set_config(..., false) or SET statement_timeout = 0 must not reach the next), then
        # whether the run still holds its lock (a file may call pg_advisory_unlock_all()).
        self.after = "RESET ALL;\nRESET ROLE;\n" + after

    def _settings(self, scope: str) -> str:
        parts = []
        for name, seconds in (
            ("lock_timeout", self.options.lock_timeout),
            ("statement_timeout", self.options.statement_timeout),
        ):
            if seconds is not None:
                parts.append(f"SET {scope}{name} = '{max(1, int(seconds * 1000))}ms';\n")
        return "".join(parts)

    def _backoff(self, attempt: int) -> bool:
        """Sleep before retry ``attempt`` after a lock timeout; False when out of tries or time."""
        if attempt > self.options.lock_retries:
            return False
        pause = min(self.options.lock_retry_pause * 2.0 ** (attempt - 1), 8.0)
        deadline = self.options.deadline
        if deadline is not None and deadline.remaining() < pause + 1:
            return False
        logger.warning("Lock timeout; retrying in %.0f s (attempt %d)", pause, attempt + 1)
        time.sleep(pause)
        return True

    def apply(self, m: Migration) -> Applied:
        started = time.monotonic()
        if m.transactional:
            held = self._with_copy_data(m) if m.has_copy_data else self._transactional(m)
        else:
            self._one_by_one(m)
            held = self._after()
        if not held:
            raise ProviderError(
                f"{m.name} released the run's advisory lock (pg_advisory_unlock_all?); it is "
                "applied, and the run stopped so that no other run interleaves. Run again."
            )
        return Applied(m.name, m.version, m.kind, int((time.monotonic() - started) * 1000))

    def _after(self) -> bool:
        return _last_value(self.conn.execute(self.after.encode()))

    # -- one message --------------------------------------------------------

    def _records(self, m: Migration, **kwargs: Any) -> str:
        table = self.options.history_table
        parts: list[sql.Composable] = [
            history.insert_sql(table, m, self.options.applied_by, **kwargs)
        ]
        if self.tool is not None and kwargs.get("success", True):
            row = self.tool.adapter.record_sql(m, self.tool.snapshot)
            if row is not None:
                parts.append(row)
        return ";\n".join(p.as_string(self.conn) for p in parts)

    def _transactional(self, m: Migration) -> bool:
        prefix = "BEGIN;\n" + self._settings("LOCAL ")
        # A newline first: the file may end in a line comment.
        message = f"{prefix}{m.script.text}\n;\n{self._records(m)};\nCOMMIT;\n{self.after}"
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                return _last_value(self.conn.execute(message.encode()))
            except psycopg.Error as exc:
                self._rollback()
                if exc.sqlstate == LOCK_NOT_AVAILABLE and self._backoff(attempt):
                    continue
                line = self._line_from_position(m, exc, len(prefix))
                if line is None and time.monotonic() - started < REPLAY_LIMIT_SECONDS:
                    line = self._locate_by_replay(m, exc.sqlstate)
                raise self._failed(m, exc, line) from exc

    def _with_copy_data(self, m: Migration) -> bool:
        """As ``_transactional``, one statement per message (``copy_data``)."""
        begin = "BEGIN;\n" + self._settings("LOCAL ")
        attempt = 0
        while True:
            attempt += 1
            try:
                return copy_data.run_in_transaction(
                    self.conn, m, begin=begin, records=self._records(m), after=self.after
                )
            except copy_data.StepFailed as failed:
                self._rollback()
                if failed.error.sqlstate == LOCK_NOT_AVAILABLE and self._backoff(attempt):
                    continue
                raise self._failed(m, failed.error, failed.line) from failed.error

    def _rollback(self) -> None:
        if self.conn.broken:
            return
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")

    @staticmethod
    def _line_from_position(m: Migration, exc: psycopg.Error, prefix_len: int) -> int | None:
        position = exc.diag.statement_position
        if not position:
            return None
        offset = int(position) - 1 - prefix_len
        if 0 <= offset < len(m.script.text):
            return m.file_line(offset)
        return None

    def _locate_by_replay(self, m: Migration, sqlstate: str | None) -> int | None:
        """Run the statements one by one in a transaction rolled back, to find the failing one."""
        if sqlstate in (LOCK_NOT_AVAILABLE, QUERY_CANCELED) or self.conn.broken:
            return None
        try:
            self.conn.execute("BEGIN")
            settings = self._settings("LOCAL ")
            if settings:
                self.conn.execute(settings)
            for statement in m.script.statements:
                try:
                    self.conn.execute(statement.text.encode())
                except psycopg.Error as exc:
                    inner = exc.diag.statement_position
                    offset = statement.start + (int(inner) - 1 if inner else 0)
                    return m.file_line(offset)
        except psycopg.Error:
            return None
        finally:
            self._rollback()
        return None

    def _failed(self, m: Migration, exc: psycopg.Error, line: int | None) -> MigrationFailed:
        diag = exc.diag
        logger.error(
            "Migration %s failed",
            m.name,
            extra={
                "sqlstate": exc.sqlstate,
                "error": str(exc),
                "detail": diag.message_detail,
                "hint": diag.message_hint,
                "context": diag.context,
                "line": line,
            },
        )
        message = diag.message_primary or str(exc)
        return MigrationFailed(m, exc.sqlstate, message, line)

    # -- statement by statement ----------------------------------------------

    def _one_by_one(self, m: Migration) -> None:
        started = time.monotonic()
        settings = self._settings("")
        if settings:
            self.conn.execute(settings)
        try:
            for statement in m.script.statements:
                self._statement(m, statement.text, statement.start, statement.copy_data)
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self._rollback()
                self.conn.execute(self._records(m, success=False, execution_ms=0).encode())
                raise ProviderError(
                    f"{m.name} leaves a transaction open (a BEGIN without COMMIT): what followed "
                    "the BEGIN was rolled back. End it with COMMIT, or let the engine wrap the "
                    "file in its own transaction."
                )
            elapsed = int((time.monotonic() - started) * 1000)
            self.conn.execute(self._records(m, execution_ms=elapsed).encode())
        finally:
            if settings and not self.conn.broken:
                self._rollback()
                self.conn.execute("RESET lock_timeout; RESET statement_timeout")

    def _statement(self, m: Migration, text: str, start: int, data: CopyData | None = None) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                if data is None:
                    self.conn.execute(text.encode())
                else:
                    copy_data.copy_in(self.conn, text, data)
                return
            except psycopg.Error as exc:
                self._rollback()
                if exc.sqlstate == LOCK_NOT_AVAILABLE and self._backoff(attempt):
                    continue
                line = copy_data.data_line(m, data, exc) or copy_data.statement_line(m, start, exc)
                if not self.conn.broken:
                    self.conn.execute(self._records(m, success=False, execution_ms=0).encode())
                raise self._failed(m, exc, line) from exc
