"""The proxy's own rules for client sessions: who gets in, how many, for how long, and the end."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.proxy import protocol as pq
from tests.support.proxy import ProxyThread, TokenLog

StartProxy = Callable[..., ProxyThread]
LOCAL = "local-" + "pw-for-tests"


def _fails(conninfo: dict[str, Any]) -> str:
    with pytest.raises(psycopg.OperationalError) as failed:
        psycopg.connect(**conninfo, connect_timeout=30).close()
    return " ".join(str(failed.value).split())


def _wait(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1500):
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def _sessions_on(pg: EmbeddedPostgres, db: str) -> int:
    with pg.admin() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type ="
            " 'client backend'",
            (db,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_client_asking_for_another_user_is_refused_naming_the_proxys_user(
    proxy: ProxyThread, tokens: TokenLog
) -> None:
    reason = _fails(proxy.conninfo(user="alice"))
    assert 'this proxy logs in as "postgres" only, not "alice"' in reason
    assert "--username alice" in reason
    assert tokens.made == []  # refused before any login upstream


def test_connections_beyond_the_limit_are_refused_and_the_rest_go_on(
    start_proxy: StartProxy, frozen: Any
) -> None:
    proxy = start_proxy(max_connections=2)
    first, second = psycopg.connect(**proxy.conninfo()), psycopg.connect(**proxy.conninfo())
    try:
        reason = _fails(proxy.conninfo())
        assert "too many connections through the proxy (limit 2)" in reason
        assert first.execute("SELECT 1").fetchone() == (1,)
    finally:
        first.close()
    _wait(lambda: proxy.proxy.active == 1, "the first session to end")
    with psycopg.connect(**proxy.conninfo()) as third:
        assert third.execute("SELECT 2").fetchone() == (2,)
    second.close()


def test_with_a_local_password_a_client_must_give_it(start_proxy: StartProxy, frozen: Any) -> None:
    proxy = start_proxy(local_password=LOCAL)
    assert "no password supplied" in _fails(proxy.conninfo())
    assert 'password authentication failed for user "postgres"' in _fails(
        proxy.conninfo(password="not-it")
    )
    with psycopg.connect(**proxy.conninfo(password=LOCAL)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_an_idle_session_is_closed_after_the_idle_timeout_and_told_why(
    start_proxy: StartProxy, pg: EmbeddedPostgres, frozen: Any
) -> None:
    db = pg.create_database()
    proxy = start_proxy(idle_timeout=0.3)
    conn = psycopg.connect(**proxy.conninfo(db))
    try:
        _wait(lambda: proxy.proxy.active == 0, "the idle session to be closed")
        with pytest.raises(psycopg.OperationalError, match=r"idle for 0.3 s"):
            conn.execute("SELECT 1")
    finally:
        conn.close()
    _wait(lambda: _sessions_on(pg, db) == 0, "the upstream session to end")


def test_a_long_query_is_not_idle(start_proxy: StartProxy, frozen: Any) -> None:
    """The server working on a query says nothing for a while: that is not idleness."""
    proxy = start_proxy(idle_timeout=0.3)
    with psycopg.connect(**proxy.conninfo()) as conn:
        assert conn.execute("SELECT pg_sleep(1.5), 'done'").fetchone() == ("", "done")


def test_closing_the_proxy_ends_every_session_upstream_too(
    start_proxy: StartProxy, pg: EmbeddedPostgres, frozen: Any
) -> None:
    db = pg.create_database()
    proxy = start_proxy()
    port = proxy.port
    clients = [psycopg.connect(**proxy.conninfo(db)) for _ in range(3)]
    assert _sessions_on(pg, db) == 3
    proxy.call(proxy.proxy.close())
    try:
        with pytest.raises(psycopg.OperationalError, match="the proxy is shutting down"):
            clients[0].execute("SELECT 1")
    finally:
        for client in clients:
            client.close()
    _wait(lambda: _sessions_on(pg, db) == 0, "every upstream session to end")
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 5):
        pass  # nothing listens any more


def test_a_cancel_request_with_an_unknown_key_is_ignored(proxy: ProxyThread) -> None:
    with psycopg.connect(**proxy.conninfo()) as conn:
        with socket.create_connection(("127.0.0.1", proxy.port), 5) as raw:
            raw.sendall(pq.encode_cancel(pq.CancelRequest(conn.info.backend_pid, b"nope")))
            assert raw.recv(1) == b""  # closed, nothing said, as PostgreSQL does
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_ssl_and_gssenc_requests_are_declined_with_n(proxy: ProxyThread) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), 5) as raw:
        raw.sendall(struct.pack("!ii", 8, pq.GSSENC_REQUEST_CODE))
        assert raw.recv(1) == b"N"
        raw.sendall(pq.encode_ssl_request())
        assert raw.recv(1) == b"N"


def test_garbage_gets_a_protocol_violation_and_a_closed_connection(proxy: ProxyThread) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), 5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\n\r\n")
        answer = raw.recv(1000)
    assert answer[:1] == b"E"
    assert pq.parse_fields(answer[5:])["C"] == pq.PROTOCOL_VIOLATION


def test_one_log_line_per_connection_says_who_where_how_long_and_how_much(
    proxy: ProxyThread, caplog: pytest.LogCaptureFixture, tokens: TokenLog
) -> None:
    with psycopg.connect(**proxy.conninfo(application_name="tool")) as conn:
        conn.execute("SELECT repeat('x', 10000)").fetchone()
        with socket.socket(fileno=os.dup(conn.pgconn.socket)) as mine:
            port = mine.getsockname()[1]
    _wait(lambda: proxy.proxy.active == 0, "the session to end")
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "INFO" and f":{port} " in r.getMessage()
    ]
    assert len(lines) == 1
    line = lines[0]
    assert f"127.0.0.1:{port} user=postgres database=postgres " in line
    assert "client closed" in line
    out = int(line.split("out=")[1].split("B")[0])
    assert out > 10000
    assert not any(token in caplog.text for token in tokens.made)
