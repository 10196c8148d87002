"""The engine against a real PostgreSQL over TLS: apply, record, refuse, report."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from provider.common.deadline import InvocationDeadline
from provider.common.errors import ProviderError
from provider.migrations import engine
from provider.migrations.engine import MigrationFailed, Options
from provider.migrations.history import TableName
from provider.migrations.plan import SeedMode
from tests.support.migrations import history, mset, run, tables

Conn = psycopg.Connection[Any]


def test_pending_migrations_are_applied_in_order_and_recorded(conn: Conn) -> None:
    result = run(
        conn, mset({"V2__b.sql": "CREATE TABLE b (x int);", "V1__a.sql": "CREATE TABLE a (x int);"})
    )
    assert [a.name for a in result.applied] == ["V1__a.sql", "V2__b.sql"]
    assert result.latest_version == "2"
    assert tables(conn) == {"a", "b"}
    assert history(conn) == [
        ("1", "V1__a.sql", "versioned", True),
        ("2", "V2__b.sql", "versioned", True),
    ]


def test_history_rows_have_checksum_time_and_who_applied(conn: Conn) -> None:
    the_set = mset({"V1__a.sql": "SELECT pg_sleep(0.05);"})
    run(conn, the_set, applied_by="cloudformation:stack/Schema")
    row = conn.execute(
        "SELECT checksum, execution_ms, applied_by, applied_at <= now()"
        " FROM aurora_express.schema_migrations"
    ).fetchone()
    assert row is not None
    assert row[0] == the_set.migrations[0].checksum
    assert row[1] >= 50
    assert row[2] == "cloudformation:stack/Schema"
    assert row[3] is True


def test_a_second_run_applies_nothing(conn: Conn) -> None:
    the_set = mset({"V1__a.sql": "CREATE TABLE a (x int);"})
    run(conn, the_set)
    result = run(conn, the_set)
    assert result.applied == []
    assert result.latest_version == "1"
    assert len(history(conn)) == 1


def test_an_already_migrated_database_is_checked_in_milliseconds(conn: Conn) -> None:
    the_set = mset({f"V{i}__m.sql": f"CREATE TABLE t{i} (x int);" for i in range(1, 101)})
    run(conn, the_set)
    started = time.perf_counter()
    run(conn, the_set)
    assert time.perf_counter() - started < 0.25


def test_a_failing_migration_leaves_no_trace_and_earlier_ones_stay(conn: Conn) -> None:
    the_set = mset(
        {
            "V1__ok.sql": "CREATE TABLE ok (x int);",
            "V2__bad.sql": "CREATE TABLE half (x int);\nINSERT INTO half VALUES (1);\n"
            "SELECT 1/0;\n",
            "V3__later.sql": "CREATE TABLE later (x int);",
        }
    )
    with pytest.raises(MigrationFailed):
        run(conn, the_set)
    assert tables(conn) == {"ok"}
    assert history(conn) == [("1", "V1__ok.sql", "versioned", True)]


def test_a_failure_reason_names_file_sqlstate_message_and_line(conn: Conn) -> None:
    the_set = mset({"V1__bad.sql": "CREATE TABLE a (x int);\n\nINSERT INTO missing VALUES (1);\n"})
    with pytest.raises(MigrationFailed) as caught:
        run(conn, the_set)
    assert caught.value.reason == 'V1__bad.sql line 3: 42P01 relation "missing" does not exist'


def test_a_runtime_error_without_position_is_located_by_replay(conn: Conn) -> None:
    sql = (
        "CREATE TABLE a (x int PRIMARY KEY);\nINSERT INTO a VALUES (1);\n\n\n"
        "INSERT INTO a VALUES (1);\n"
    )
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"V1__dup.sql": sql}))
    assert caught.value.reason.startswith("V1__dup.sql line 5: 23505 duplicate key value")
    assert tables(conn) == set()


def test_a_syntax_error_reports_its_line(conn: Conn) -> None:
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"V1__typo.sql": "SELECT 1;\nSELEC 2;\n"}))
    assert caught.value.reason.startswith("V1__typo.sql line 2: 42601 syntax error")


def test_a_dbmate_error_line_is_the_line_in_the_file(conn: Conn) -> None:
    text = (
        "-- migrate:up\ncreate table a (x int);\nselect * from nope;\n"
        "-- migrate:down\ndrop table a;\n"
    )
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"20250101000000_a.sql": text}))
    assert caught.value.line == 3


def test_a_long_error_reason_is_kept_under_240_characters(conn: Conn) -> None:
    long_name = "x" * 300
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"V1__a.sql": f'SELECT * FROM "{long_name[:60]}", {long_name};'}))
    assert len(caught.value.reason) < 240


def test_non_transactional_statements_run_one_at_a_time(conn: Conn) -> None:
    sql = "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nVACUUM t;\n"
    result = run(conn, mset({"V1__a.sql": sql}))
    assert [a.name for a in result.applied] == ["V1__a.sql"]
    valid = conn.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a'::regclass"
    ).fetchone()
    assert valid == (True,)
    assert history(conn) == [("1", "V1__a.sql", "versioned", True)]


def test_the_no_transaction_directive_runs_statements_one_by_one(conn: Conn) -> None:
    # In one transaction the second statement would see the first's row; one by one, each commits.
    sql = (
        "-- aurora-express:no-transaction\nCREATE TABLE t (a int);\n"
        "INSERT INTO t VALUES (1);\nSELECT 1/0;\n"
    )
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"V1__a.sql": sql}))
    assert caught.value.line == 4
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    assert history(conn) == [("1", "V1__a.sql", "versioned", False)]


def test_a_failed_non_transactional_migration_is_retried_next_run(conn: Conn) -> None:
    failing = (
        "-- aurora-express:no-transaction\nCREATE TABLE IF NOT EXISTS t (a int);\nSELECT 1/0;\n"
    )
    with pytest.raises(MigrationFailed):
        run(conn, mset({"V1__a.sql": failing}))
    fixed = "-- aurora-express:no-transaction\nCREATE TABLE IF NOT EXISTS t (a int);\n"
    result = run(conn, mset({"V1__a.sql": fixed}))
    assert [a.name for a in result.applied] == ["V1__a.sql"]
    assert [r[3] for r in history(conn)] == [False, True]


def test_dbmate_transaction_false_allows_create_index_concurrently(conn: Conn) -> None:
    result = run(
        conn,
        mset(
            {
                "20250101000000_t.sql": "-- migrate:up\ncreate table t (a int);\n-- migrate:down\n",
                "20250102000000_i.sql": "-- migrate:up transaction:false\n"
                "create index concurrently t_a on t (a);\n-- migrate:down\n",
            }
        ),
    )
    assert result.applied_count == 2


def test_a_file_wrapped_in_begin_commit_runs_in_the_engines_transaction(conn: Conn) -> None:
    sql = "BEGIN;\nCREATE TABLE a (x int);\nSELECT 1/0;\nCOMMIT;\n"
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"000001_a.up.sql": sql}))
    assert caught.value.line == 3
    assert tables(conn) == set()


def test_a_changed_applied_migration_fails_before_anything_runs(conn: Conn) -> None:
    run(conn, mset({"V1__a.sql": "CREATE TABLE a (x int);"}))
    changed = mset(
        {"V1__a.sql": "CREATE TABLE a (x bigint);", "V2__b.sql": "CREATE TABLE b (x int);"}
    )
    with pytest.raises(ProviderError, match=r"^V1__a.sql was changed after it was applied"):
        run(conn, changed)
    assert tables(conn) == {"a"}


def test_line_endings_alone_are_not_a_change(conn: Conn) -> None:
    run(conn, mset({"V1__a.sql": "CREATE TABLE a (x int);\nSELECT 1;\n"}))
    result = run(conn, mset({"V1__a.sql": "CREATE TABLE a (x int);\r\nSELECT 1;\r\n"}))
    assert result.applied == []


def test_an_applied_migration_missing_from_the_source_is_a_warning(conn: Conn) -> None:
    run(conn, mset({"V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;"}))
    result = run(conn, mset({"V1__a.sql": "SELECT 1;"}))
    assert result.warnings == [
        "V2__b.sql was applied but is not in the source (an older revision?)."
    ]


def test_an_out_of_order_migration_fails_naming_it(conn: Conn) -> None:
    run(conn, mset({"V1__a.sql": "SELECT 1;", "V3__c.sql": "SELECT 3;"}))
    with pytest.raises(ProviderError, match=r"^V2__b.sql is pending but older"):
        run(
            conn,
            mset({"V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;", "V3__c.sql": "SELECT 3;"}),
        )


def test_allow_out_of_order_applies_it(conn: Conn) -> None:
    run(conn, mset({"V1__a.sql": "SELECT 1;", "V3__c.sql": "SELECT 3;"}))
    full = mset({"V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;", "V3__c.sql": "SELECT 3;"})
    result = run(conn, full, allow_out_of_order=True)
    assert [a.name for a in result.applied] == ["V2__b.sql"]
    assert history(conn)[-1][1] == "V2__b.sql"


def test_a_repeatable_is_reapplied_when_its_text_changes(conn: Conn) -> None:
    base = {"V1__t.sql": "CREATE TABLE t (a int, b int);"}
    run(conn, mset({**base, "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT a FROM t;"}))
    assert (
        run(
            conn, mset({**base, "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT a FROM t;"})
        ).applied
        == []
    )
    result = run(
        conn, mset({**base, "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT a, b FROM t;"})
    )
    assert [a.name for a in result.applied] == ["R__v.sql"]
    assert [r[1] for r in history(conn)] == ["V1__t.sql", "R__v.sql", "R__v.sql"]


SCHEMA = {"V1__t.sql": "CREATE TABLE t (name text);"}


def count(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM t").fetchone()
    return int(row[0]) if row else 0


def test_seeds_on_change_run_once_then_again_when_changed(conn: Conn) -> None:
    seed = {"users.sql": "INSERT INTO t VALUES ('a');"}
    assert len(run(conn, mset(SCHEMA, seeds=seed)).seeds_applied) == 1
    assert run(conn, mset(SCHEMA, seeds=seed)).seeds_applied == []
    run(conn, mset(SCHEMA, seeds={"users.sql": "INSERT INTO t VALUES ('b');"}))
    assert count(conn) == 2


def test_seeds_always_run_every_time(conn: Conn) -> None:
    seed = {"users.sql": "INSERT INTO t VALUES ('a');"}
    for _ in range(3):
        run(conn, mset(SCHEMA, seeds=seed), seed_mode=SeedMode.ALWAYS)
    assert count(conn) == 3


def test_seeds_once_never_run_again_even_when_changed(conn: Conn) -> None:
    run(
        conn,
        mset(SCHEMA, seeds={"users.sql": "INSERT INTO t VALUES ('a');"}),
        seed_mode=SeedMode.ONCE,
    )
    result = run(
        conn,
        mset(SCHEMA, seeds={"users.sql": "INSERT INTO t VALUES ('b');"}),
        seed_mode=SeedMode.ONCE,
    )
    assert result.seeds_applied == []
    assert count(conn) == 1


def test_seeds_run_after_migrations_each_in_a_transaction(conn: Conn) -> None:
    seeds = {
        "1.sql": "INSERT INTO t VALUES ('ok');",
        "2.sql": "INSERT INTO t VALUES ('x');\nSELECT 1/0;",
    }
    with pytest.raises(MigrationFailed, match=r"^2.sql line 2: 22012"):
        run(conn, mset(SCHEMA, seeds=seeds))
    assert conn.execute("SELECT name FROM t").fetchall() == [("ok",)]


def test_a_custom_history_table_is_used(conn: Conn) -> None:
    run(conn, mset({"V1__a.sql": "SELECT 1;"}), history_table=TableName.parse("ops.migrations"))
    assert conn.execute("SELECT count(*) FROM ops.migrations").fetchone() == (1,)
    assert conn.execute("SELECT to_regclass('aurora_express.schema_migrations')").fetchone() == (
        None,
    )


def test_lock_timeout_is_retried_then_succeeds(open_conn: Callable[[], Conn]) -> None:
    conn, blocker = open_conn(), open_conn()
    run(conn, mset({"V1__t.sql": "CREATE TABLE t (a int);"}))
    blocker.execute("BEGIN")
    blocker.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
    threading.Timer(0.4, lambda: blocker.execute("ROLLBACK")).start()
    result = run(
        conn,
        mset(
            {"V1__t.sql": "CREATE TABLE t (a int);", "V2__c.sql": "ALTER TABLE t ADD COLUMN b int;"}
        ),
        lock_timeout=0.2,
        lock_retry_pause=0.2,
    )
    assert [a.name for a in result.applied] == ["V2__c.sql"]


def test_lock_timeout_is_reported_after_the_retries(open_conn: Callable[[], Conn]) -> None:
    conn, blocker = open_conn(), open_conn()
    run(conn, mset({"V1__t.sql": "CREATE TABLE t (a int);"}))
    blocker.execute("BEGIN")
    blocker.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
    with pytest.raises(
        MigrationFailed, match=r"^V2__c.sql: 55P03 canceling statement due to lock timeout"
    ):
        run(
            conn,
            mset(
                {
                    "V1__t.sql": "CREATE TABLE t (a int);",
                    "V2__c.sql": "ALTER TABLE t ADD COLUMN b int;",
                }
            ),
            lock_timeout=0.2,
            lock_retries=1,
            lock_retry_pause=0.1,
        )
    blocker.execute("ROLLBACK")


def test_statement_timeout_stops_a_slow_migration(conn: Conn) -> None:
    with pytest.raises(MigrationFailed, match=r"^V1__slow.sql: 57014"):
        run(conn, mset({"V1__slow.sql": "SELECT pg_sleep(5);"}), statement_timeout=0.2)
    assert history(conn) == []


def test_a_run_waits_for_the_advisory_lock_of_another(open_conn: Callable[[], Conn]) -> None:
    conn, other = open_conn(), open_conn()
    key = engine.lock_key(Options().history_table)
    other.execute("SELECT pg_advisory_lock(%s)", (key,))
    started = time.monotonic()  # before the timer: the unlock is at least 0.3 s after it
    threading.Timer(0.3, lambda: other.execute("SELECT pg_advisory_unlock(%s)", (key,))).start()
    run(conn, mset({"V1__a.sql": "SELECT 1;"}))
    assert time.monotonic() - started >= 0.3
    assert history(conn) == [("1", "V1__a.sql", "versioned", True)]


def test_a_run_gives_up_on_the_advisory_lock_after_the_bound(open_conn: Callable[[], Conn]) -> None:
    conn, other = open_conn(), open_conn()
    other.execute("SELECT pg_advisory_lock(%s)", (engine.lock_key(Options().history_table),))
    with pytest.raises(engine.LockNotAcquired):
        run(conn, mset({"V1__a.sql": "SELECT 1;"}), lock_wait=0.3)
    assert conn.execute("SELECT to_regclass('aurora_express.schema_migrations')").fetchone() == (
        None,
    )


def test_the_advisory_lock_is_released_after_a_failure(open_conn: Callable[[], Conn]) -> None:
    conn, other = open_conn(), open_conn()
    with pytest.raises(MigrationFailed):
        run(conn, mset({"V1__a.sql": "SELECT 1/0;"}))
    got = other.execute(
        "SELECT pg_try_advisory_lock(%s)", (engine.lock_key(Options().history_table),)
    )
    assert got.fetchone() == (True,)


def test_plan_reports_pending_and_writes_nothing(conn: Conn) -> None:
    plan = engine.plan(conn, mset({"V1__a.sql": "SELECT 1;"}), Options())
    assert [m.name for m in plan.pending] == ["V1__a.sql"]
    assert conn.execute("SELECT to_regclass('aurora_express.schema_migrations')").fetchone() == (
        None,
    )


def test_status_lists_the_history_and_what_changed(conn: Conn) -> None:
    run(conn, mset({"V1__a.sql": "SELECT 1;"}))
    report = engine.status(
        conn, mset({"V1__a.sql": "SELECT 2;", "V2__b.sql": "SELECT 3;"}), Options()
    )
    assert [h["name"] for h in report["history"]] == ["V1__a.sql"]
    assert [c["name"] for c in report["changed"]] == ["V1__a.sql"]
    assert [p["name"] for p in report["pending"]] == ["V2__b.sql"]
    assert report["problem"].startswith("V1__a.sql was changed")


def test_the_deadline_stops_between_migrations_and_a_rerun_carries_on(conn: Conn) -> None:
    the_set = mset({"V1__a.sql": "SELECT pg_sleep(0.3);", "V2__b.sql": "SELECT 1;"})
    # An invocation's deadline lets its first migration start however long getting there
    # took (a plain one could pass before V1 on a loaded machine); V1 outlasts it.
    deadline = InvocationDeadline(time.monotonic() + 0.1)
    result = run(conn, the_set, deadline=deadline)
    assert not result.complete
    assert [a.name for a in result.applied] == ["V1__a.sql"]
    assert [a.name for a in run(conn, the_set).applied] == ["V2__b.sql"]


def test_percent_signs_and_placeholders_in_sql_are_sent_verbatim(conn: Conn) -> None:
    run(conn, mset({"V1__p.sql": "CREATE TABLE p AS SELECT '%s %% %(x)s'::text AS v;"}))
    assert conn.execute("SELECT v FROM p").fetchone() == ("%s %% %(x)s",)


def test_a_migration_may_end_in_a_line_comment(conn: Conn) -> None:
    result = run(conn, mset({"V1__c.sql": "CREATE TABLE c (a int); -- trailing comment"}))
    assert result.applied_count == 1


def test_latest_version_stays_the_newest_after_an_out_of_order_apply(conn: Conn) -> None:
    run(conn, mset({"V1__a.sql": "SELECT 1;", "V3__c.sql": "SELECT 3;"}))
    full = mset({"V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;", "V3__c.sql": "SELECT 3;"})
    assert run(conn, full, allow_out_of_order=True).latest_version == "3"


def test_a_history_table_the_role_cannot_create_fails_with_a_reason(
    pg: EmbeddedPostgres, db: str
) -> None:
    pg.create_role("weak", "weak-password-for-test", superuser=False)  # no CREATE on the db
    weak = psycopg.connect(**pg.tls_conninfo("weak", "weak-password-for-test", db), autocommit=True)
    with weak, pytest.raises(ProviderError, match=r"^Database error on aurora_express"):
        run(weak, mset({"V1__a.sql": "SELECT 1;"}))


def test_a_role_without_create_on_the_database_uses_an_existing_schema(
    pg: EmbeddedPostgres, db: str
) -> None:
    pg.create_role("owner_of_ops", "ops-password-for-test", superuser=False)
    with pg.admin(db) as admin:
        admin.execute("CREATE SCHEMA ops AUTHORIZATION owner_of_ops")
    conninfo = pg.tls_conninfo("owner_of_ops", "ops-password-for-test", db)
    with psycopg.connect(**conninfo, autocommit=True) as weak:
        result = run(
            weak,
            mset({"V1__a.sql": "CREATE TABLE ops.a (x int);"}),
            history_table=TableName.parse("ops.history"),
        )
    assert result.applied_count == 1
