"""``aurora-express proxy`` as a process: the cluster from DescribeDBClusters, loopback, signals."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from tests.support.cli import CLUSTER
from tests.support.proxy import USER, CliProcess, proxy_args

RunCli = Callable[..., CliProcess]


def _address(hex_address: str) -> str:
    """An address of /proc/net/tcp{,6}: little-endian 32-bit words in hex, then the port."""
    host, _ = hex_address.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening(pid: int) -> list[str]:
    """The addresses every listening TCP socket of process ``pid`` is bound to."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(_address(fields[1]))
    return found


def _sessions_on(pg: EmbeddedPostgres, db: str) -> int:
    with pg.admin() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
            " AND backend_type = 'client backend'",
            (db,),
        ).fetchone()
    return int(row[0]) if row else 0


def _client(port: int, db: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1", port=port, user=USER, dbname=db, connect_timeout=30, autocommit=True
    )


def test_the_proxy_finds_the_cluster_and_listens_on_loopback_only(
    cluster: dict[str, Any], pg: EmbeddedPostgres, run_cli: RunCli
) -> None:
    child = run_cli(*proxy_args(pg))
    port = child.wait_listening()
    assert listening(child.process.pid) == ["127.0.0.1"]
    db = pg.create_database()
    with _client(port, db) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (USER, db)
    assert child.stop() == 0
    assert f"for cluster {CLUSTER} ({pg.host}:{pg.port} as postgres, TLS verify-full)" in (
        child.output
    )


def test_without_an_endpoint_the_proxy_uses_the_clusters_own(
    cluster: dict[str, Any], run_cli: RunCli
) -> None:
    child = run_cli("proxy", "--cluster", CLUSTER, "--port", "0")
    child.wait_listening()
    assert child.stop() == 0
    assert f"({cluster['Endpoint']}:{cluster['Port']} as {cluster['MasterUsername']}," in (
        child.output
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_every_session_and_exits_0(
    signum: int, cluster: dict[str, Any], pg: EmbeddedPostgres, run_cli: RunCli
) -> None:
    child = run_cli(*proxy_args(pg))
    port = child.wait_listening()
    db = pg.create_database()
    idle, busy = _client(port, db), _client(port, db)
    busy.pgconn.send_query(b"SELECT pg_sleep(60)")
    try:
        assert _sessions_on(pg, db) == 2
        child.process.send_signal(signum)
        assert child.process.wait(30) == 0
        with pytest.raises(psycopg.OperationalError):
            idle.execute("SELECT 1")
    finally:
        idle.close()
        busy.close()
    for _ in range(500):
        if _sessions_on(pg, db) == 0:
            break
        time.sleep(0.02)
    assert _sessions_on(pg, db) == 0
    child.stop()
    assert "shutting down: closing 2 sessions" in child.output
    assert pg.iam_token(USER) not in child.output
    assert "X-Amz-Signature" not in child.output


def test_listening_beyond_loopback_is_warned_about(
    cluster: dict[str, Any], pg: EmbeddedPostgres, run_cli: RunCli
) -> None:
    child = run_cli(
        *proxy_args(pg, "--address", "0.0.0.0"),
        extra_env={"AURORA_EXPRESS_PROXY_PASSWORD": "for-this-test-only"},
    )
    child.wait_listening()
    assert child.stop() == 0
    assert "warning: listening on 0.0.0.0, not loopback" in child.output


def test_a_weaker_sslmode_is_refused_before_anything_listens(
    pg: EmbeddedPostgres, run_cli: RunCli
) -> None:
    child = run_cli(*proxy_args(pg), extra_env={"DB_SSLMODE": "require"})
    assert child.process.wait(60) == 2
    assert (
        "the proxy always verifies the cluster's certificate (verify-full)" in child.stop_output()
    )


def test_a_port_in_use_fails_with_exit_1_saying_so(
    cluster: dict[str, Any], pg: EmbeddedPostgres, run_cli: RunCli
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = proxy_args(pg)
        args[args.index("--port") + 1] = str(port)
        child = run_cli(*args)
        assert child.process.wait(60) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in child.stop_output()


def test_listening_addresses_are_read_from_proc() -> None:
    assert _address("0100007F:1F90") == "127.0.0.1"
    assert _address("00000000000000000000000001000000:1F90") == "::1"
    assert struct.calcsize("!i") == 4
