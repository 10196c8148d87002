"""Several processes at once, and a process killed mid-migration: each migration applied once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from tests.support.migrations import history, mset, run, tables
from tests.support.paths import ROOT
from tests.support.postgres import USER

Conn = psycopg.Connection[Any]


def spawn(
    pg: EmbeddedPostgres, db: str, files: dict[str, str], **env: str
) -> subprocess.Popen[str]:
    conninfo = pg.tls_conninfo(USER, "", db)
    del conninfo["password"]  # from the environment, never on a command line
    spec = json.dumps({"conninfo": conninfo, "files": files})
    return subprocess.Popen(
        [sys.executable, "-m", "tests.provider.migrations.migrate_process", spec],
        cwd=ROOT,
        env={**os.environ, "PGPASSWORD": pg.iam_token(USER), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_concurrent_runs_apply_each_migration_once(
    pg: EmbeddedPostgres, db: str, conn: Conn
) -> None:
    files = {
        f"V{i}__t{i}.sql": f"CREATE TABLE t{i} (a int);\nSELECT pg_sleep(0.02);"
        for i in range(1, 16)
    }
    processes = [spawn(pg, db, files) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err for _, err in outputs]
    applied = [len(json.loads(out)["applied"]) for out, _ in outputs]
    assert sum(applied) == 15
    assert [r[0] for r in history(conn)] == [str(i) for i in range(1, 16)]
    assert len(tables(conn)) == 15


SLOW_V2 = (
    "CREATE TABLE second (a int);\n"
    "SELECT pg_sleep(60) WHERE current_setting('app.slow', true) = 'on';\n"
)


@pytest.mark.slow
def test_a_run_killed_mid_migration_leaves_no_trace_and_a_rerun_completes(
    pg: EmbeddedPostgres, db: str, conn: Conn
) -> None:
    files = {"V1__first.sql": "CREATE TABLE first (a int);", "V2__second.sql": SLOW_V2}
    victim = spawn(pg, db, files, PGOPTIONS="-c app.slow=on")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
        ).fetchone()
        if busy and busy[0]:
            break
        time.sleep(0.05)
    else:
        victim.kill()
        pytest.fail(f"the victim never reached V2: {victim.communicate()[1]}")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)

    assert [r[1] for r in history(conn)] == ["V1__first.sql"]
    started = time.monotonic()
    result = run(
        conn, mset({**files, "V3__third.sql": "CREATE TABLE third (a int);"}), lock_wait=30
    )
    assert [a.name for a in result.applied] == ["V2__second.sql", "V3__third.sql"]
    assert time.monotonic() - started < 15  # the server noticed the dead client and let go
    assert tables(conn) == {"first", "second", "third"}
    assert [r[1] for r in history(conn)] == ["V1__first.sql", "V2__second.sql", "V3__third.sql"]
