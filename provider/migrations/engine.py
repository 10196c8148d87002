"""The migration engine: plan -> lock -> apply -> record, on one psycopg connection.

Public API, shared by the Lambda handler and the CLI:

- ``plan(conn, migration_set, options)``: what would run (reads only, no lock);
- ``status(conn, migration_set, options)``: the plan plus the history rows;
- ``migrate(conn, migration_set, options)``: apply what is pending.

``conn`` must be an autocommit connection: the engine opens its own
transactions. How each migration runs, and why:

- Transactional (the default): ``BEGIN``, the timeouts (``SET LOCAL``), the
  migration's start time, the file's text, its history row (and the folder's
  tool's row), ``COMMIT``. The pending ones go together in one simple-query
  message (``batches``; ``_batchable`` says which may): PostgreSQL skips the
  rest of a message at its first error, so a failed migration leaves no trace,
  those before it stay applied and none after it runs, in one round trip. After
  each, in a transaction of its own, the session is restored, the lock checked
  and a notice counts the commits (so a failure, even a lost connection, names
  the right migration). A message is cut before a non-transactional migration,
  at 16 MB of SQL and where the estimated time would pass half the time left;
  the server also checks the deadline before each migration after the first.
  A lock timeout re-sends from the migration that waited.
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
  failure) and are never recorded in the history. With per-migration ones,
  each migration goes in a message of its own (they run in transactions of
  their own, and their failures name the callback's file).
- The first message sets the session, tries the lock, and reads the current
  schema and the history rows: a no-op run is two or three round trips.
- A failure names the file, the SQLSTATE, the message and the file's line:
  from the server's error position when it gives one (an offset into the whole
  message, mapped back through each migration's start), otherwise by replaying
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
from provider.migrations import batches, callbacks, copy_data, history, tool_history
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
    conn: psycopg.Connection[Any],
    migration_set: MigrationSet,
    options: Options,
    schema: str | None = None,
) -> _Tool | None:
    """The folder's tool's table; ``schema``: the connection's current schema, if known."""
    layout = migration_set.tool_layout
    if not tool_history.has_history(layout):
        return None
    if schema is None:
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
    conn: psycopg.Connection[Any],
    migration_set: MigrationSet,
    options: Options,
    tool: _Tool | None,
    *,
    rows: list[history.Row] | None = None,
) -> Plan:
    """The plan from the history's ``rows`` (read now when not given)."""
    if rows is None:
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
        start: _Start | None = None
        held = True  # maybe: the first message's lock try keeps the lock whatever follows it
        try:
            start = _start(conn, key, options, restore)
            return _migrate_locked(conn, migration_set, options, start)
        except LockNotAcquired:
            held = False
            raise
        except ProviderError:
            if start is not None:
                _after_error(conn, migration_set.callbacks)
            raise
        finally:
            if held:
                _release(conn, key)
    except psycopg.Error as exc:
        # Outside a migration (the history table, the lock, a lost connection).
        message = " ".join((exc.diag.message_primary or str(exc)).split())
        raise ProviderError(
            shorten(f"Database error on {options.history_table}: {exc.sqlstate or ''} {message}")
        ) from exc


CHECK_INTERVAL = "SET client_connection_check_interval = 2000"


def _session_setup(conn: psycopg.Connection[Any]) -> str:
    """The engine's own session settings, as SQL sent first and after each migration.

    If this process dies mid-migration, the server notices within seconds and
    rolls back, releasing the advisory lock (PostgreSQL 14+; left out elsewhere).
    The server's version is known from the connection, so this costs no round trip.
    """
    return CHECK_INTERVAL + ";\n" if conn.info.server_version >= 140000 else ""


@dataclass(frozen=True)
class _Start:
    """What the run's first message learned, with the lock held."""

    schema: str
    rows: list[history.Row] | None  # the history's rows; None: no table yet
    restore: str  # the session settings, as SQL
    key: int  # the advisory lock's


def _start(conn: psycopg.Connection[Any], key: int, options: Options, setup: str) -> _Start:
    """Session settings, the lock's first try, the current schema and the history's rows:
    one round trip (each costs one over the network), two on a first run (no table yet)."""
    table = options.history_table
    first = sql.SQL("{setup}SELECT pg_try_advisory_lock({key}), current_schema();\n{rows}").format(
        setup=sql.SQL(setup), key=sql.Literal(key), rows=history.read_sql(table)
    )
    rows: list[history.Row] | None = None
    try:
        lock_and_schema, found = _row_sets(conn.execute(first))
        got, schema = lock_and_schema[0]
        rows = history.rows_of(found)
    except psycopg.errors.UndefinedTable:
        # No history table yet, so the message stopped there (and its SET was undone); a
        # session lock taken in it is kept, whatever becomes of the transaction.
        again = sql.SQL("{setup}SELECT ({held}), current_schema()").format(
            setup=sql.SQL(setup), held=sql.SQL(_lock_held_sql(key))
        )
        cursor = conn.execute(again)
        while cursor.nextset():
            pass
        got, schema = cursor.fetchone() or (False, None)
    if not got:
        _acquire(conn, key, options)
        # Another run held the lock: what it wrote is read again.
        rows = history.read(conn, table) if history.exists(conn, table) else None
    return _Start(schema or "public", rows, setup, key)


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
    conn: psycopg.Connection[Any],
    migration_set: MigrationSet,
    options: Options,
    start: _Start,
) -> Result:
    tool = _tool(conn, migration_set, options, start.schema)
    if start.rows is None:
        history.ensure(conn, options.history_table, known=False)
    current = _plan(conn, migration_set, options, tool, rows=start.rows or [])
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

    runner = _Runner(conn, options, kept, restore=start.restore, held=_lock_held_sql(start.key))
    _apply_all(conn, runner, current, migration_set, result)
    return result


def _apply_all(
    conn: psycopg.Connection[Any],
    runner: _Runner,
    current: Plan,
    migration_set: MigrationSet,
    result: Result,
) -> None:
    """Apply the plan's pending migrations, then its seeds, into ``result``."""
    options = runner.options
    position = {id(m): i for i, m in enumerate(migration_set.migrations)}
    newest = max((position[id(m)] for m in current.applied if m.version), default=-1)

    def applied(ms: Sequence[Migration], items: Sequence[Applied]) -> None:
        nonlocal newest
        for m, item in zip(ms, items, strict=False):
            logger.info("Applied %s", m.name, extra={"kind": m.kind.value, "ms": item.milliseconds})
            if m.kind is Kind.VERSIONED and position[id(m)] > newest:
                newest, result.latest_version = position[id(m)], m.version

    hooks = migration_set.callbacks
    callbacks.run(conn, hooks, Event.BEFORE_MIGRATE)
    for group, target in ((current.pending, result.applied), (current.seeds, result.seeds_applied)):
        if group is current.seeds:
            callbacks.run(conn, hooks, Event.AFTER_MIGRATE)
        each = hooks if group is current.pending else ()
        # Flyway runs the per-migration callbacks around each migration, each in a
        # transaction of its own: with them, every migration goes in a message of its own.
        alone = any(c.event in _EACH_EVENTS for c in each)
        done = 0
        while done < len(group):
            if runner.deadline_reached or (
                options.deadline is not None and options.deadline.expired()
            ):
                result.complete = False
                return
            m = group[done]
            if alone or not _batchable(m):
                callbacks.run(conn, each, Event.BEFORE_EACH_MIGRATE)
                target.append(runner.apply(m))
                callbacks.run(conn, each, Event.AFTER_EACH_MIGRATE)
                applied([m], target[-1:])
                done += 1
                continue
            run = _batchable_run(group, done)
            before = len(target)
            try:
                runner.apply_batch(run, target)
            finally:
                applied(run, target[before:])
            done += len(target) - before


_EACH_EVENTS = (Event.BEFORE_EACH_MIGRATE, Event.AFTER_EACH_MIGRATE)


def _batchable(m: Migration) -> bool:
    """Whether ``m`` may share a simple-query message with others: a transactional script
    without COPY rows (the rest run statement by statement, alone)."""
    return m.transactional and not m.has_copy_data


def _batchable_run(group: Sequence[Migration], start: int) -> Sequence[Migration]:
    """The batchable migrations from ``start`` up to the next one that is not."""
    end = start
    while end < len(group) and _batchable(group[end]):
        end += 1
    return group[start:end]


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


def _row_sets(cursor: psycopg.Cursor[Any]) -> list[list[tuple[Any, ...]]]:
    """The rows of each result of a multi-statement message that returns rows."""
    found = []
    while True:
        if cursor.description is not None:
            found.append(cursor.fetchall())
        if not cursor.nextset():
            return found


# The engine's own errors in a batch, raised between two migrations (SQLSTATE class "AX").
LOCK_RELEASED = "AXLCK"
DEADLINE_PASSED = "AXDLN"
_OWN_ERRORS = (LOCK_RELEASED, DEADLINE_PASSED)
COMMITTED = "aurora-express committed"  # a notice: "<this> <message tag> <count>"


def _raise_unless(condition: str, sqlstate: str, message: str, then: str = "") -> str:
    """A DO block raising ``sqlstate`` unless ``condition``, then running ``then``."""
    assert "'" not in message, message  # the engine's own text, put in quotes as it is
    return (
        f"DO $aurora_express$ BEGIN IF NOT ({condition}) THEN RAISE EXCEPTION USING "
        f"ERRCODE = '{sqlstate}', MESSAGE = '{message}'; END IF;{then} END $aurora_express$;\n"
    )


class _Committed:
    """Counts, from the notices of a batch as they arrive, how many of its migrations committed:
    known even when the connection is lost mid-message."""

    def __init__(self, tag: str) -> None:
        self.prefix = f"{COMMITTED} {tag} "
        self.count = 0

    def __call__(self, diag: psycopg.errors.Diagnostic) -> None:
        message = diag.message_primary or ""
        if message.startswith(self.prefix):
            self.count = int(message[len(self.prefix) :])


class _Runner:
    """Runs migrations on ``conn``, alone or many in one message, with the options' timeouts
    and retries."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        options: Options,
        tool: _Tool | None = None,
        *,
        restore: str = "",
        held: str = "SELECT true",
    ) -> None:
        self.conn = conn
        self.options = options
        self.tool = tool  # the folder's tool's table, written with each migration
        # Run after each migration: the session as the engine set it (a file's SET ROLE,
        # set_config(..., false) or SET statement_timeout = 0 must not reach the next), then
        # whether the run still holds its lock (a file may call pg_advisory_unlock_all()).
        self.restore = "RESET ALL;\nRESET ROLE;\n" + restore
        self.held = held
        self.after = self.restore + held
        self.deadline_reached = False  # a batch stopped at the deadline on the server
        self._attempts: dict[int, int] = {}  # lock-timeout attempts, by migration
        self._messages = 0
        self._cut_before: int | None = None  # id() of a migration a batch must not reach

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
        prefix = "BEGIN;\n" + self._settings("LOCAL ") + history.MARK_STARTED + ";\n"
        # A newline first: the file may end in a line comment.
        message = f"{prefix}{m.text}\n;\n{self._records(m)};\nCOMMIT;\n{self.after}"
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
        begin = "BEGIN;\n" + self._settings("LOCAL ") + history.MARK_STARTED + ";\n"
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

    # -- many in one message ---------------------------------------------------

    def apply_batch(self, ms: Sequence[Migration], into: list[Applied]) -> None:
        """Apply a prefix of ``ms`` (all ``_batchable``) in one simple-query message, appending
        each one applied to ``into``: at least one, then as many as the byte cap and the
        deadline allow. After a lock timeout with a retry left, those before it are applied
        and the caller sends the rest again; any other failure raises.

        Each migration is ``BEGIN``, its timeouts, its start time, its text, its history row
        (and the tool's), ``COMMIT``; then, in a transaction of its own (so that the next
        migration's failure cannot undo it), the session restored, the lock checked (raising
        stops the rest of the message) and a notice counting the migrations committed. From
        the second on, a migration's transaction first checks the deadline on the server. The
        message ends by reading back the history rows' execution times.
        """
        self._messages += 1
        tag = f"{id(self):x}.{self._messages}"  # this message's notices, not another's
        deadline = self.options.deadline
        remaining = deadline.remaining() if deadline is not None else None
        fit = batches.Budget(remaining, batches.MAX_MESSAGE_BYTES)
        message = bytearray()
        layout = batches.Layout()
        batch: list[Migration] = []
        part = b""
        for m in ms:
            if batch and id(m) == self._cut_before:
                break
            before, after = self._around(m, tag, len(batch), remaining)
            text = m.text
            part = f"{before}{text}{after}".encode()
            if not fit.admit(len(part), batches.estimate(m)):
                break
            message += part
            layout.add(len(before), len(text), len(after))
            batch.append(m)
        del part
        table = self.options.history_table.ident.as_string(self.conn)
        message += (
            f"SELECT execution_ms FROM {table} ORDER BY installed_rank DESC LIMIT {len(batch)}"
        ).encode()
        started = time.monotonic()
        committed = _Committed(tag)
        self.conn.add_notice_handler(committed)
        try:
            found = _row_sets(self.conn.execute(bytes(message)))
        except psycopg.Error as exc:
            del message
            self._batch_failed(
                batch,
                layout=layout,
                committed=committed.count,
                exc=exc,
                elapsed=time.monotonic() - started,
                into=into,
            )
            return
        finally:
            self.conn.remove_notice_handler(committed)
        times = reversed(found[-1]) if found else iter(())
        for m, row in zip(batch, times, strict=False):
            into.append(Applied(m.name, m.version, m.kind, int(row[0])))

    def _around(
        self, m: Migration, tag: str, index: int, remaining: float | None
    ) -> tuple[str, str]:
        """The SQL before and after ``m``'s text in a batch, ``index`` its place there."""
        check = ""
        if index and remaining is not None:
            # On the server's clock, from the message's arrival: no clock skew to mind.
            check = _raise_unless(
                "clock_timestamp() < statement_timestamp()"
                f" + make_interval(secs => {remaining:.3f})",
                DEADLINE_PASSED,
                "the invocation has no time left",
            )
        before = f"BEGIN;\n{check}{self._settings('LOCAL ')}{history.MARK_STARTED};\n"
        # A newline first: the file may end in a line comment.
        after = (
            f"\n;\n{self._records(m)};\nCOMMIT;\nBEGIN;\n{self.restore}"
            # The notice must reach the client whatever a role or the database set.
            "SET LOCAL client_min_messages = notice;\n"
            + _raise_unless(
                self.held,
                LOCK_RELEASED,
                "the advisory lock was released",
                then=f" RAISE NOTICE '{COMMITTED} {tag} {index + 1}';",
            )
            + "COMMIT;\n"
        )
        return before, after

    def _batch_failed(
        self,
        batch: list[Migration],
        *,
        layout: batches.Layout,
        committed: int,
        exc: psycopg.Error,
        elapsed: float,
        into: list[Applied],
    ) -> None:
        """Report what a failed batch committed (``committed``: the count its notices gave),
        then raise for the migration that failed, unless it is a lock timeout to retry."""
        position = exc.diag.statement_position
        where = layout.locate(int(position)) if position else None
        if where and where[0] > committed and not self.conn.broken:
            # The server parses the whole message first: a syntax error in a later migration
            # refused it all, before anything ran. Those before it go again, without it.
            self._cut_before = id(batch[where[0]])
            return
        if exc.sqlstate == LOCK_RELEASED:
            committed += 1  # its own check failed after its COMMIT
        if self.conn.broken:
            # Those committed are in the history with their times; the failing one is named.
            into.extend(Applied(m.name, m.version, m.kind, 0) for m in batch[:committed])
            raise self._failed(batch[min(committed, len(batch) - 1)], exc, None) from exc
        rollback = (
            "ROLLBACK;\n"
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
            else ""
        )
        table = self.options.history_table.ident.as_string(self.conn)
        recover = (
            f"{rollback}SELECT execution_ms FROM {table} ORDER BY installed_rank DESC"
            f" LIMIT {max(committed, 1)};\n"
            # The session as the engine set it: a failed transaction took the restore with it.
            f"{self.restore}"
        )
        (times,) = _row_sets(self.conn.execute(recover.encode()))
        for m, row in zip(batch[:committed], reversed(times[:committed]), strict=False):
            into.append(Applied(m.name, m.version, m.kind, int(row[0])))
        if exc.sqlstate == DEADLINE_PASSED:
            self.deadline_reached = True
            return
        if exc.sqlstate == LOCK_RELEASED:
            m = batch[committed - 1]
            raise ProviderError(
                f"{m.name} released the run's advisory lock (pg_advisory_unlock_all?); it is "
                "applied, and the run stopped so that no other run interleaves. Run again."
            ) from exc
        m = batch[min(committed, len(batch) - 1)]
        if exc.sqlstate == LOCK_NOT_AVAILABLE:
            attempt = self._attempts[id(m)] = self._attempts.get(id(m), 0) + 1
            if self._backoff(attempt):
                return
        line = None
        if where:
            index, offset = where
            if index == committed and 0 <= offset < len(m.text):
                line = m.file_line(offset)
        if line is None and elapsed < REPLAY_LIMIT_SECONDS:
            line = self._locate_by_replay(m, exc.sqlstate)
        raise self._failed(m, exc, line) from exc

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
        if 0 <= offset < len(m.text):
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
