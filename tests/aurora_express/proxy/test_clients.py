"""Real clients through the proxy: psycopg, psql and node's pg, as a developer's tools would.

Each connects to the proxy on loopback without TLS or a password; the proxy
logs in to the TLS-only server with a token it signs itself.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
import time
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from tests.support.node import node_pg
from tests.support.proxy import ProxyThread, TokenLog


@pytest.fixture
def db(pg: EmbeddedPostgres) -> str:
    return pg.create_database()


# -- psycopg -------------------------------------------------------------------


def test_psycopg_queries_through_the_proxy_reach_the_server_over_tls(
    proxy: ProxyThread, db: str
) -> None:
    with psycopg.connect(**proxy.conninfo(db)) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), ssl FROM pg_stat_ssl"
            " WHERE pid = pg_backend_pid()"
        ).fetchone()
        assert row == ("postgres", db, True)
        assert conn.info.backend_pid == conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_psycopg_transactions_commit_and_roll_back(proxy: ProxyThread, db: str) -> None:
    with psycopg.connect(**proxy.conninfo(db)) as conn:
        conn.execute("CREATE TABLE t (n int)")
        conn.commit()
        with conn.transaction():
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ZeroDivisionError), conn.transaction():
            conn.execute("INSERT INTO t VALUES (2)")
            raise ZeroDivisionError
    with psycopg.connect(**proxy.conninfo(db)) as other:
        assert other.execute("SELECT array_agg(n) FROM t").fetchone() == ([1],)


def test_psycopg_copy_in_and_out(proxy: ProxyThread, db: str) -> None:
    rows = [(i, f"row {i}") for i in range(5000)]
    with psycopg.connect(**proxy.conninfo(db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (n int, s text)")
        with conn.cursor() as cur, cur.copy("COPY t FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with conn.cursor() as cur, cur.copy("COPY t TO STDOUT") as copy:
            back = [(int(n), s) for n, s in copy.rows()]
    assert back == rows


def test_psycopg_large_result_arrives_whole(proxy: ProxyThread, db: str) -> None:
    query = "SELECT n, md5(n::text) FROM generate_series(1, 300000) n"
    with psycopg.connect(**proxy.conninfo(db)) as conn:
        got = conn.execute(query).fetchall()
        expected = conn.execute(f"SELECT count(*), md5(string_agg(md5, '')) FROM ({query}) q")
        count, digest = expected.fetchone()
    assert len(got) == count == 300000
    assert hashlib.md5("".join(m for _, m in got).encode()).hexdigest() == digest


def _wait_running(pg: EmbeddedPostgres, pattern: str, count: int = 1) -> list[int]:
    """The server pids running a query like ``pattern`` (polled until ``count`` are)."""
    for _ in range(500):
        with pg.admin() as conn:
            pids = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE query LIKE %s AND state = 'active'"
                    " AND pid <> pg_backend_pid()",
                    (pattern,),
                ).fetchall()
            ]
        if len(pids) >= count:
            return pids
        time.sleep(0.02)
    raise AssertionError(f"no query like {pattern!r} started")


def test_psycopg_cancel_reaches_the_session_it_names_and_no_other(
    proxy: ProxyThread, pg: EmbeddedPostgres, db: str
) -> None:
    outcome: dict[str, Any] = {}

    def sleep(name: str, conn: psycopg.Connection[Any], seconds: int) -> None:
        try:
            conn.execute(f"SELECT pg_sleep({seconds}) /* {name} */")
            outcome[name] = "done"
        except psycopg.errors.QueryCanceled as exc:
            outcome[name] = f"canceled: {exc}"

    victim = psycopg.connect(**proxy.conninfo(db))
    bystander = psycopg.connect(**proxy.conninfo(db))
    try:
        threads = [
            threading.Thread(target=sleep, args=("victim", victim, 60)),
            threading.Thread(target=sleep, args=("bystander", bystander, 3)),
        ]
        for thread in threads:
            thread.start()
        _wait_running(pg, "SELECT pg_sleep(%", count=2)
        victim.cancel_safe()
        for thread in threads:
            thread.join(30)
    finally:
        victim.close()
        bystander.close()
    assert outcome["victim"].startswith("canceled: canceling statement due to user request")
    assert outcome["bystander"] == "done"


# -- psql ----------------------------------------------------------------------


def _psql(pg: EmbeddedPostgres, proxy: ProxyThread, db: str, *args: str, **kw: Any) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {
        "PGCONNECT_TIMEOUT": "30"
    }
    argv = [str(pg.psql()), "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
    argv += ["-p", str(proxy.port), "-U", "postgres", "-d", db, *args]
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=60, check=False, **kw
    )


def test_psql_runs_queries_and_a_transaction_through_the_proxy(
    proxy: ProxyThread, pg: EmbeddedPostgres, db: str
) -> None:
    script = (
        "CREATE TABLE t (n int);\n"
        "BEGIN; INSERT INTO t VALUES (1); COMMIT;\n"
        "BEGIN; INSERT INTO t VALUES (2); ROLLBACK;\n"
        "SELECT current_user, string_agg(n::text, ',') FROM t;\n"
    )
    done = _psql(pg, proxy, db, "-At", input=script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "postgres|1"


def test_psql_copies_from_stdin_and_to_stdout(
    proxy: ProxyThread, pg: EmbeddedPostgres, db: str
) -> None:
    lines = "".join(f"{i}\tline {i}\n" for i in range(1000))
    setup = _psql(pg, proxy, db, "-c", "CREATE TABLE t (n int, s text)")
    assert setup.returncode == 0, setup.stderr
    loaded = _psql(pg, proxy, db, "-c", "\\copy t FROM STDIN", input=lines)
    assert loaded.returncode == 0, loaded.stderr
    out = _psql(pg, proxy, db, "-c", "COPY (SELECT * FROM t ORDER BY n) TO STDOUT")
    assert out.stdout == lines


def test_psql_ctrl_c_cancels_the_running_query(
    proxy: ProxyThread, pg: EmbeddedPostgres, db: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    argv = [str(pg.psql()), "-X", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "postgres"]
    child = subprocess.Popen(
        [*argv, "-d", db, "-c", "SELECT pg_sleep(60) /* psql */"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_running(pg, "SELECT pg_sleep(60) /* psql */")
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert "canceling statement due to user request" in err


# -- node's pg -----------------------------------------------------------------


def test_node_pg_queries_transactions_and_a_large_result_through_the_proxy(
    proxy: ProxyThread, db: str
) -> None:
    node, script = node_pg()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env |= {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{proxy.port}/{db}",
    }
    done = subprocess.run(
        [str(node), str(script)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["user=postgres", "ssl=true", "kept=1", "rows=200000", "ok"]


def test_every_upstream_connection_gets_a_token_of_its_own_making(
    proxy: ProxyThread, tokens: TokenLog, db: str
) -> None:
    for _ in range(3):
        with psycopg.connect(**proxy.conninfo(db)) as conn:
            conn.execute("SELECT 1")
    assert len(tokens.made) == 3
