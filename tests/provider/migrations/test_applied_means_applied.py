"""'Applied' means the migration's effect is committed with its history row, and one
migration's session settings never reach the next."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql

from provider.common.errors import ProviderError
from provider.migrations import engine
from provider.migrations.engine import Options
from provider.migrations.history import TableName
from tests.support.migrations import history, mset, run, tables

Conn = psycopg.Connection[Any]


def test_a_pg_dump_shaped_search_path_does_not_reach_the_next_migration(conn: Conn) -> None:
    """pg_dump starts its files with set_config('search_path', '', false)."""
    the_set = mset(
        {
            "V1__dump.sql": "SELECT pg_catalog.set_config('search_path', '', false);\n"
            "CREATE TABLE public.a (id int);\n",
            "V2__next.sql": "CREATE TABLE b (id int);\n",  # unqualified: needs public
        }
    )
    result = run(conn, the_set)
    assert [a.name for a in result.applied] == ["V1__dump.sql", "V2__next.sql"]
    assert tables(conn) == {"a", "b"}


def test_set_role_and_session_timeouts_end_with_their_migration(conn: Conn) -> None:
    other = f"other_{uuid.uuid4().hex[:8]}"
    me = conn.execute("SELECT session_user::text").fetchone()
    the_set = mset(
        {
            "V1__role.sql": f"CREATE ROLE {other}; GRANT CREATE ON SCHEMA public TO {other};\n"
            # So that this migration's own history row may still be written as that role.
            f"GRANT USAGE ON SCHEMA aurora_express TO {other};\n"
            f"GRANT INSERT ON aurora_express.schema_migrations TO {other};\n"
            f"SET ROLE {other}; SET lock_timeout = '1234ms';\n",
            "V2__check.sql": "CREATE TABLE b AS\n"
            "SELECT current_user::text AS who, current_setting('lock_timeout') AS lt;\n",
        }
    )
    try:
        run(conn, the_set, keep_tool_history=False)
        assert conn.execute("SELECT who, lt FROM b").fetchone() == (me[0] if me else None, "0")
    finally:
        conn.execute("DROP TABLE IF EXISTS b")
        conn.execute(f"DROP OWNED BY {other}")
        conn.execute(f"DROP ROLE IF EXISTS {other}")


def test_a_file_leaving_a_transaction_open_fails_naming_it(conn: Conn) -> None:
    the_set = mset(
        {
            "V1__open.sql": "-- aurora-express:no-transaction\nBEGIN;\nCREATE TABLE a ();\n",
            "V2__after.sql": "CREATE TABLE b ();\n",
        }
    )
    with pytest.raises(ProviderError, match=r"^V1__open\.sql leaves a transaction open"):
        run(conn, the_set)
    assert tables(conn) == set()
    assert [(r[1], r[3]) for r in history(conn)] == [("V1__open.sql", False)]


def test_a_migration_that_drops_the_lock_stops_the_run_after_itself(conn: Conn) -> None:
    the_set = mset(
        {
            "V1__unlock.sql": "CREATE TABLE a (); SELECT pg_advisory_unlock_all();\n",
            "V2__after.sql": "CREATE TABLE b ();\n",
        }
    )
    with pytest.raises(ProviderError, match="released the run's advisory lock"):
        run(conn, the_set)
    assert tables(conn) == {"a"}  # applied, with its row; nothing after it
    assert [r[1] for r in history(conn)] == ["V1__unlock.sql"]


def test_two_history_tables_in_one_new_schema_are_created_at_once_without_a_race(
    open_conn: Callable[[], Conn],
) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def one(table: str) -> None:
        try:
            with open_conn() as own:
                barrier.wait(10)
                options = Options(history_table=TableName.parse(f"shared_schema.{table}"))
                engine.migrate(own, mset({"V1__x.sql": "SELECT 1;\n"}), options)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(f"history_{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with open_conn() as check:
        count = check.execute(
            sql.SQL(
                "SELECT count(*) FROM information_schema.tables"
                " WHERE table_schema = 'shared_schema'"
            )
        ).fetchone()
    assert count == (4,)
