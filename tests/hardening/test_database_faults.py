"""The database failing under a run: dropped connections, restarts, killed runs, concurrent runs.

After each fault the database must be consistent (every migration's table
exists exactly when its history row does, each applied once), the history
must match what was applied, and running again must complete.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import psycopg
import pytest
import time_machine
from moto import mock_aws
from psycopg import sql

from aurora_express.local import moto_stacks
from aurora_express.local.cfn_local import LambdaContext, ResponseCollector, request_event
from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from provider.common.errors import ProviderError
from provider.migrations import engine, handler, layouts, migrator
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import SourceFiles
from tests.support.paths import ROOT
from tests.support.postgres import USER, connect, start_server
from tests.support.secret_scan import keep_output

Conn = psycopg.Connection[Any]
SLOW = "SELECT pg_sleep(60) WHERE current_setting('app.slow', true) = 'on';\n"


def migrations(count: int, *, pause: float = 0.0, slow: int | None = None) -> dict[str, str]:
    """``V1__t1.sql``...: each creates its table and puts one row in it."""
    files = {}
    for i in range(1, count + 1):
        text = f"CREATE TABLE t{i} (a int);\nINSERT INTO t{i} VALUES ({i});\n"
        if pause:
            text += f"SELECT pg_sleep({pause});\n"
        if i == slow:
            text += SLOW
        files[f"V{i}__t{i}.sql"] = text
    return files


def migrate(conn: Conn, files: dict[str, str]) -> engine.Result:
    the_set = MigrationSet(layouts.load(SourceFiles({k: v.encode() for k, v in files.items()})))
    return engine.migrate(conn, the_set, Options(lock_wait=30))


def consistent(conn: Conn, files: dict[str, str]) -> int:
    """Check the database against the history; return how many migrations are applied."""
    rows = conn.execute(
        "SELECT name, success FROM aurora_express.schema_migrations ORDER BY installed_rank"
    ).fetchall()
    names = [name for name, _ in rows]
    assert all(success for _, success in rows), rows
    assert names == list(files)[: len(names)], names  # a prefix, in order, each once
    found = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " AND table_name <> 'flyway_schema_history'"  # Flyway's own history, kept too
    ).fetchall()
    assert {t for (t,) in found} == {f"t{i}" for i in range(1, len(names) + 1)}
    if names:  # Flyway's table says the same as the engine's
        flyway = conn.execute(
            "SELECT script FROM public.flyway_schema_history WHERE success ORDER BY installed_rank"
        ).fetchall()
        assert [s for (s,) in flyway] == [n.rsplit("/", 1)[-1] for n in names]
    for i in range(1, len(names) + 1):
        rows_in = conn.execute(sql.SQL("SELECT a FROM {}").format(sql.Identifier(f"t{i}")))
        assert rows_in.fetchall() == [(i,)]  # applied exactly once
    return len(names)


def lock_released(admin: Conn, bound: float = 15.0) -> None:
    """The run's advisory lock goes with its session, once the server notices it is dead."""
    end = time.monotonic() + bound
    while time.monotonic() < end:
        held = admin.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        if held.fetchone() == (0,):
            return
        time.sleep(0.05)
    pytest.fail("the advisory lock of a dead run was never released")


def when_sleeping(admin: Conn, act: Callable[[], None], bound: float = 30.0) -> None:
    """``act`` once a session is inside ``pg_sleep(60)`` (inside the slow migration)."""
    end = time.monotonic() + bound
    while time.monotonic() < end:
        found = admin.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
        ).fetchone()
        if found and found[0]:
            act()
            return
        time.sleep(0.02)
    pytest.fail("no run reached the slow migration")


def slow_database(admin: Conn, db: str, on: bool) -> None:
    """New sessions on ``db`` see ``app.slow`` on (the slow migration then sleeps 60 s)."""
    action = "SET app.slow = 'on'" if on else "RESET app.slow"
    admin.execute(sql.SQL("ALTER DATABASE {} " + action).format(sql.Identifier(db)))


# -- through the Lambda ------------------------------------------------------------------


@pytest.fixture
def lambda_props(
    pg: EmbeddedPostgres, db: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """The migrations function's view: TLS to the test CA, the IAM token at the frozen time."""
    monkeypatch.setenv("DB_SSLROOTCERT", str(pg.ca_path))
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    monkeypatch.setattr(handler, "clients", migrator.Clients(rds=boto3.client("rds")))
    with time_machine.travel(FROZEN_AT, tick=False):
        yield {"Endpoint": pg.host, "Port": pg.port, "Username": USER, "Database": db}


def cloudformation(
    cfn: ResponseCollector, request_type: str, props: dict[str, Any], key: str
) -> dict[str, Any]:
    physical_id = None if request_type == "Create" else "schema"
    with mock_aws():  # CloudFormation, which the request is confirmed with
        stack = moto_stacks.stack_named(boto3.client("cloudformation"), "app")
        moto_stacks.declare(
            stack,
            "Schema",
            "Custom::AuroraExpressMigrations",
            physical_id,
            stack_status=f"{request_type.upper()}_IN_PROGRESS",
        )
        event = request_event(
            request_type,
            "Custom::AuroraExpressMigrations",
            props,
            response_url=cfn.url(key),
            service_token="arn:aws:lambda:us-east-1:123456789012:function:migrations",
            stack=stack,
            logical_id="Schema",
            physical_id=physical_id,
            old_properties=props if request_type == "Update" else None,
        )
        handler.handler(event, LambdaContext(function_name="aurora-express-migrations"))
    answer = cfn.wait(key, timeout=60)
    assert answer is not None, "CloudFormation was never answered"
    return answer.body


def inline(files: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": name, "Sql": text} for name, text in files.items()]


@pytest.mark.slow
def test_a_connection_dropped_mid_migration_fails_naming_it_and_an_update_completes(
    lambda_props: dict[str, Any], cfn: ResponseCollector, admin: Conn, db: str, pg: EmbeddedPostgres
) -> None:
    files = migrations(3, slow=2)
    props = {**lambda_props, "Migrations": inline(files)}
    slow_database(admin, db, on=True)
    killer = threading.Thread(
        target=when_sleeping,
        args=(
            admin,
            lambda: admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
            ),
        ),
    )
    killer.start()
    failed = cloudformation(cfn, "Create", props, "dropped")
    killer.join()
    assert failed["Status"] == "FAILED"
    assert "V2__t2.sql" in failed["Reason"] and "57P01" in failed["Reason"], failed["Reason"]
    with connect(pg, db) as conn:
        assert consistent(conn, files) == 1

    slow_database(admin, db, on=False)
    retried = cloudformation(cfn, "Update", props, "retried")
    assert retried["Status"] == "SUCCESS", retried["Reason"]
    assert retried["Data"]["AppliedCount"] == 2
    with connect(pg, db) as conn:
        assert consistent(conn, files) == 3


@pytest.mark.slow
def test_a_run_started_while_the_server_restarts_connects_when_it_is_back_and_completes(
    cfn: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = start_server()
    try:
        db = own.create_database()
        monkeypatch.setenv("DB_SSLROOTCERT", str(own.ca_path))
        monkeypatch.setattr(handler, "clients", migrator.Clients(rds=boto3.client("rds")))
        files = migrations(3)
        props = {"Endpoint": own.host, "Port": own.port, "Username": USER, "Database": db}
        restart = threading.Thread(target=own.restart, kwargs={"down_seconds": 2.0})
        restart.start()
        time.sleep(0.2)  # down now
        with time_machine.travel(FROZEN_AT, tick=False):
            started = time.monotonic()
            answer = cloudformation(cfn, "Create", {**props, "Migrations": inline(files)}, "back")
        restart.join()
        assert answer["Status"] == "SUCCESS", answer["Reason"]
        assert answer["Data"]["AppliedCount"] == 3
        assert time.monotonic() - started >= 1.5  # it waited for the server
        with connect(own, db) as conn:
            assert consistent(conn, files) == 3
    finally:
        own.stop()


# -- the engine under a restart ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_server_restart_mid_migration_rolls_it_back_and_a_rerun_completes(mode: str) -> None:
    """``fast``: a planned restart ends the sessions; ``immediate``: a crash, then recovery
    (on a server that syncs its commits, as Aurora does)."""
    own = start_server(durable=True)
    try:
        db = own.create_database()
        files = migrations(3, slow=2)
        with own.admin(db) as admin:
            slow_database(admin, db, on=True)
            failures: list[BaseException] = []

            def run() -> None:
                try:
                    with connect(own, db) as conn:
                        migrate(conn, files)
                except BaseException as exc:  # collected: the thread reports to the test
                    failures.append(exc)

            runner = threading.Thread(target=run)
            runner.start()
            when_sleeping(admin, lambda: None)
        own.restart(mode=mode)
        runner.join(30)
        assert len(failures) == 1 and isinstance(failures[0], ProviderError), failures
        assert "V2__t2.sql" in failures[0].reason, failures[0].reason
        with own.admin(db) as admin:
            slow_database(admin, db, on=False)
        with connect(own, db) as conn:
            assert consistent(conn, files) == 1
            assert [a.name for a in migrate(conn, files).applied] == ["V2__t2.sql", "V3__t3.sql"]
            assert consistent(conn, files) == 3
    finally:
        own.stop()


# -- runs in processes of their own: killed, or many at once -----------------------------


def spawn(
    pg: EmbeddedPostgres, db: str, files: dict[str, str], hold_after: str | None = None
) -> subprocess.Popen[str]:
    conninfo = pg.tls_conninfo(USER, "", db)
    del conninfo["password"]  # from the environment, never on a command line
    spec = json.dumps({"conninfo": conninfo, "files": files, "hold_after": hold_after})
    return subprocess.Popen(
        [sys.executable, "-m", "tests.hardening.migrate_worker", spec],
        cwd=ROOT,
        env={**os.environ, "PGPASSWORD": pg.iam_token(USER)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(process: subprocess.Popen[str], line: str, seen: list[str]) -> bool:
    """Read the worker's output until ``line``; False if it ended first."""
    assert process.stdout is not None
    for out in process.stdout:
        seen.append(out)
        if out.strip() == line:
            return True
    return False


def kill(process: subprocess.Popen[str], request: pytest.FixtureRequest, seen: list[str]) -> None:
    process.send_signal(signal.SIGKILL)
    out, err = process.communicate(timeout=30)
    keep_output(request, "worker stdout", "".join(seen) + out)
    keep_output(request, "worker stderr", err)


@pytest.mark.slow
def test_a_run_killed_between_migrations_keeps_what_it_committed_and_a_rerun_completes(
    pg: EmbeddedPostgres, db: str, admin: Conn, request: pytest.FixtureRequest
) -> None:
    files = migrations(5)
    victim = spawn(pg, db, files, hold_after="V2__t2.sql")
    seen: list[str] = []
    assert read_until(victim, "applied V2__t2.sql", seen), seen
    kill(victim, request, seen)
    lock_released(admin)
    with connect(pg, db) as conn:
        assert consistent(conn, files) == 2
        assert [a.name for a in migrate(conn, files).applied] == list(files)[2:]
        assert consistent(conn, files) == 5


@pytest.mark.slow
def test_runs_killed_at_random_points_always_leave_a_consistent_database(
    pg: EmbeddedPostgres, db: str, admin: Conn, request: pytest.FixtureRequest
) -> None:
    """Killed after a random number of migrations, a random moment later: between two
    migrations or inside one. Each rerun carries on from the history."""
    files = migrations(12, pause=0.05)
    rng = random.Random(6)
    kills, applied = 0, 0
    with connect(pg, db) as conn:
        while kills < 6:
            victim = spawn(pg, db, files)
            seen: list[str] = []
            target = min(applied + rng.randint(1, 2), len(files))
            if not read_until(victim, f"applied {list(files)[target - 1]}", seen):
                break  # it finished first
            time.sleep(rng.uniform(0.0, 0.07))  # a 50 ms sleep inside each migration
            kill(victim, request, seen)
            kills += 1
            lock_released(admin)
            applied = consistent(conn, files)
            if applied == len(files):
                break
        migrate(conn, files)
        assert consistent(conn, files) == len(files)
    print(f"runs killed: {kills}")
    assert kills >= 3


@pytest.mark.slow
@pytest.mark.parametrize("runs", [2, 8])
def test_concurrent_runs_apply_each_migration_exactly_once(
    pg: EmbeddedPostgres, db: str, request: pytest.FixtureRequest, runs: int
) -> None:
    files = migrations(16, pause=0.01)
    workers = [spawn(pg, db, files) for _ in range(runs)]
    outputs = [w.communicate(timeout=120) for w in workers]
    for out, err in outputs:
        keep_output(request, "worker stdout", out)
        keep_output(request, "worker stderr", err)
    assert [w.returncode for w in workers] == [0] * runs, [err for _, err in outputs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(len(r["applied"]) for r in results) == len(files)
    with connect(pg, db) as conn:
        assert consistent(conn, files) == len(files)
        assert migrate(conn, files).applied == []  # a rerun finds nothing to do
