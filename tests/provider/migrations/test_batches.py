"""Pending migrations go in one simple-query message, with the guarantees of one at a time:
those before a failure committed with their history rows, the failing one without a trace,
none after it run; the message counted from libpq's own trace, never timed."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from provider.common.deadline import InvocationDeadline
from provider.common.errors import ProviderError
from provider.migrations import batches, engine, layouts
from provider.migrations.callbacks import Callback, Event
from provider.migrations.engine import MigrationFailed, MigrationSet
from provider.migrations.sources import SourceFiles
from tests.provider.migrations.test_concurrency import spawn
from tests.support.migrations import history, mset, run, tables
from tests.support.round_trips import messages, migrations_per_message

Conn = psycopg.Connection[Any]


def creating(count: int, extra: str = "") -> dict[str, str]:
    """``V1__t1.sql``...: each creates its own table ``t<i>``."""
    return {f"V{i}__t{i}.sql": f"CREATE TABLE t{i} (a int);\n{extra}" for i in range(1, count + 1)}


def names(rows: list[tuple[Any, ...]]) -> list[str]:
    return [r[1] for r in rows]


def test_pending_transactional_migrations_go_in_one_message(conn: Conn) -> None:
    with messages(conn) as sent:
        result = run(conn, mset(creating(30)))
    assert result.applied_count == 30
    assert migrations_per_message(sent) == [30]


def test_the_round_trips_of_a_run_do_not_grow_with_the_migrations(
    open_conn: Callable[[], Conn], admin: Conn
) -> None:
    counts = []
    for count in (3, 60):
        conn = open_conn()
        with messages(conn) as sent:
            run(conn, mset(creating(count)))
        counts.append(len(sent))
        conn.execute("DROP SCHEMA aurora_express CASCADE; DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    assert counts[0] == counts[1]


def test_a_no_op_run_takes_two_round_trips_without_a_tool_table(conn: Conn) -> None:
    the_set = mset({"001_a.sql": "CREATE TABLE a ();"}, layout="plain")
    run(conn, the_set)
    with messages(conn) as sent:
        assert run(conn, the_set).applied == []
    assert len(sent) == 2  # the lock, the schema and the history; the unlock


@pytest.mark.parametrize("failing", [1, 3, 5])
def test_a_failure_in_a_batch_leaves_exactly_those_before_it_applied(
    conn: Conn, failing: int
) -> None:
    files = creating(5)
    files[f"V{failing}__t{failing}.sql"] += "INSERT INTO t VALUES (1);\n"  # no such table
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset(files))
    assert caught.value.reason == (
        f'V{failing}__t{failing}.sql line 2: 42P01 relation "t" does not exist'
    )
    assert names(history(conn)) == [f"V{i}__t{i}.sql" for i in range(1, failing)]
    assert tables(conn) == {f"t{i}" for i in range(1, failing)}


def test_a_syntax_error_later_in_a_batch_keeps_those_before_it_applied(conn: Conn) -> None:
    """The server parses a whole message before running any of it: the batch is sent again
    without the migration that does not parse, which then fails on its own."""
    files = creating(4)
    files["V3__t3.sql"] += "SELEC 1;\n"
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset(files))
    assert caught.value.reason.startswith("V3__t3.sql line 2: 42601 syntax error")
    assert names(history(conn)) == ["V1__t1.sql", "V2__t2.sql"]
    assert tables(conn) == {"t1", "t2"}


def test_a_failure_without_a_position_in_a_batch_is_located_by_replay(conn: Conn) -> None:
    files = creating(3)
    files["V2__t2.sql"] = "CREATE TABLE t2 (a int PRIMARY KEY);\nINSERT INTO t2 VALUES (1);\n\n"
    files["V2__t2.sql"] += "INSERT INTO t2 VALUES (1);\n"
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset(files))
    assert caught.value.reason.startswith("V2__t2.sql line 4: 23505 duplicate key value")
    assert names(history(conn)) == ["V1__t1.sql"]


def test_each_migration_of_a_batch_records_its_own_execution_time(conn: Conn) -> None:
    files = creating(3)
    files["V2__t2.sql"] += "SELECT pg_sleep(0.2);\n"
    result = run(conn, mset(files))
    recorded = conn.execute(
        "SELECT execution_ms FROM aurora_express.schema_migrations ORDER BY installed_rank"
    ).fetchall()
    first, slow, last = (ms for (ms,) in recorded)
    assert slow >= 200
    assert first < 200 and last < 200
    assert [a.milliseconds for a in result.applied] == [first, slow, last]


def test_the_tools_rows_are_written_for_each_migration_of_a_batch(conn: Conn) -> None:
    with messages(conn) as sent:
        run(conn, mset(creating(4)), keep_tool_history=True)
    scripts = conn.execute(
        "SELECT script, success, execution_time >= 0 FROM public.flyway_schema_history"
        " WHERE version IS NOT NULL ORDER BY installed_rank"
    ).fetchall()
    assert scripts == [(f"V{i}__t{i}.sql", True, True) for i in range(1, 5)]
    assert migrations_per_message(sent) == [4]


def test_a_migration_releasing_the_lock_stops_the_batch_after_itself(conn: Conn) -> None:
    files = creating(4)
    files["V2__t2.sql"] += "SELECT pg_advisory_unlock_all();\n"
    with pytest.raises(ProviderError, match=r"^V2__t2\.sql released the run's advisory lock"):
        run(conn, mset(files))
    assert names(history(conn)) == ["V1__t1.sql", "V2__t2.sql"]
    assert tables(conn) == {"t1", "t2"}


def test_a_non_transactional_migration_runs_alone_between_two_batches(conn: Conn) -> None:
    files = creating(4)
    files["V3__t3.sql"] = "CREATE INDEX CONCURRENTLY i2 ON t2 (a);\nCREATE TABLE t3 (a int);\n"
    with messages(conn) as sent:
        result = run(conn, mset(files))
    assert result.applied_count == 4
    assert migrations_per_message(sent) == [2, 1]  # V1-V2, then V4 (V3 statement by statement)


def test_per_migration_callbacks_run_around_each_migration_in_messages_of_their_own(
    conn: Conn,
) -> None:
    conn.execute("CREATE TABLE calls (n serial, what text)")
    each = layouts.load(
        SourceFiles({"beforeEachMigrate.sql": b"INSERT INTO calls (what) VALUES ('before');"})
    )
    the_set = mset(creating(3))
    with_hooks = MigrationSet(
        the_set.migrations, callbacks=[Callback(Event.BEFORE_EACH_MIGRATE, each[0])]
    )
    with messages(conn) as sent:
        run(conn, with_hooks)
    assert migrations_per_message(sent) == [1, 1, 1]
    assert conn.execute("SELECT count(*) FROM calls").fetchone() == (3,)


def test_a_message_is_cut_at_the_byte_cap(conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "MAX_MESSAGE_BYTES", 2500)  # about two migrations' SQL
    with messages(conn) as sent:
        result = run(conn, mset(creating(5)))
    assert result.applied_count == 5
    assert len(migrations_per_message(sent)) >= 3
    assert sum(migrations_per_message(sent)) == 5


def test_a_batch_reaching_the_deadline_stops_between_migrations_and_a_rerun_carries_on(
    conn: Conn,
) -> None:
    the_set = mset(creating(6, "SELECT pg_sleep(0.2);\n"))
    # An invocation's deadline: the first migration starts however slowly the run got there.
    result = run(conn, the_set, deadline=InvocationDeadline(time.monotonic() + 0.5))
    assert not result.complete
    done = [a.name for a in result.applied]
    assert 1 <= len(done) < 6
    assert names(history(conn)) == done
    assert tables(conn) == {f"t{i}" for i in range(1, len(done) + 1)}
    rest = run(conn, the_set)
    assert [a.name for a in rest.applied] == list(creating(6))[len(done) :]


def test_a_lock_timeout_in_a_batch_resends_from_the_migration_that_waited(
    open_conn: Callable[[], Conn],
) -> None:
    conn, blocker = open_conn(), open_conn()
    blocker.execute("CREATE TABLE busy (a int)")
    blocker.execute("BEGIN")
    blocker.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
    threading.Timer(0.5, lambda: blocker.execute("ROLLBACK")).start()
    files = creating(3)
    files["V2__t2.sql"] += "ALTER TABLE busy ADD COLUMN b int;\n"
    with messages(conn) as sent:
        result = run(conn, mset(files), lock_timeout=0.2, lock_retry_pause=0.3)
    assert [a.name for a in result.applied] == list(files)
    assert names(history(conn)) == list(files)  # V1 once: the retry starts at V2
    assert migrations_per_message(sent)[0] == 3
    assert migrations_per_message(sent)[-1] == 2


@pytest.mark.slow
def test_a_run_killed_mid_batch_leaves_each_table_exactly_when_its_history_row_is(
    pg: EmbeddedPostgres, db: str, conn: Conn, admin: Conn
) -> None:
    files = creating(12, "SELECT pg_sleep(0.1);\n")
    victim = spawn(pg, db, files)
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and not (
            tables(conn) >= {"t3"} and history_exists(conn) and len(history(conn)) >= 3
        ):
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
    end = time.monotonic() + 15  # the server lets go of the dead run's message
    while time.monotonic() < end:
        found = admin.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        if found.fetchone() == (0,):
            break
        time.sleep(0.05)
    recorded = names(history(conn))
    assert 3 <= len(recorded) < 12
    assert recorded == list(files)[: len(recorded)]
    assert tables(conn) == {f"t{i}" for i in range(1, len(recorded) + 1)}
    rest = run(conn, mset(files), lock_wait=30)
    assert [a.name for a in rest.applied] == list(files)[len(recorded) :]


def history_exists(conn: Conn) -> bool:
    found = conn.execute("SELECT to_regclass('aurora_express.schema_migrations')").fetchone()
    return bool(found and found[0])


def test_migrations_to_run_are_batched_only_when_transactional() -> None:
    files = creating(2)
    files["V2__t2.sql"] = "-- aurora-express:no-transaction\nVACUUM;\n"
    first, second = mset(files).migrations
    assert engine._batchable(first)
    assert not engine._batchable(second)
