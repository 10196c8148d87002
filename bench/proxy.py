"""What ``aurora-express proxy`` costs: per query, per connection, and under 100 clients.

Against the bench's embedded PostgreSQL (TLS verify-full, the token as a
cleartext password, as the gateway asks), on loopback, both ways in the same
run:

- **per query**: ``SELECT 1`` x N on one psycopg connection, direct over TLS
  against through the proxy (plain on loopback, the proxy's own TLS
  upstream), runs alternating;
- **connection setup**: connect, ``SELECT 1``, close, N times, direct against
  through the proxy (which signs a token and does the TLS handshake and the
  login for each);
- **load**: C clients (threads) through the proxy for S seconds, each running
  a 100-row query in a loop and reconnecting every 100 queries; every error
  is counted (the goal is none).

The proxy runs in a process of its own (``bench.proxy_run``), as it does
for a developer, so the client and the proxy do not share an interpreter.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from aurora_express.local.embedded_pg import EmbeddedPostgres
from bench.stats import Row

SECTION_QUERY = "Proxy: SELECT 1, per query"
SECTION_CONNECT = "Proxy: connection setup"
SECTION_LOAD = "Proxy: concurrent clients"
ROOT = Path(__file__).resolve().parents[1]
USER = "postgres"


@dataclass(frozen=True)
class Sizes:
    queries: int = 10_000
    connections: int = 50
    clients: int = 100
    seconds: float = 60.0
    runs: int = 5

    @classmethod
    def quick(cls) -> Sizes:
        return cls(queries=500, connections=5, clients=10, seconds=3.0, runs=1)


class ProxyProcess:
    """``bench.proxy_run`` in front of ``pg``; a context manager with ``port``."""

    def __init__(self, pg: EmbeddedPostgres) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "bench.proxy_run",
            pg.host,
            str(pg.port),
            str(pg.ca_path),
            USER,
        ]
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ProxyProcess:
        self._process = subprocess.Popen(
            self._argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            err = self._process.stderr.read() if self._process.stderr else ""
            raise RuntimeError(f"the proxy did not start: {line} {err[-500:]}")
        self.port = int(line)
        return self

    def cpu_seconds(self) -> float | None:
        """CPU time the proxy process used so far (Linux ``/proc``; None elsewhere)."""
        if self._process is None:
            return None
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(30)


def _direct(pg: EmbeddedPostgres) -> dict[str, Any]:
    return pg.tls_conninfo(USER, pg.iam_token(USER))


def _proxied(port: int) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "user": USER, "dbname": "postgres"}


def per_query(conninfo: dict[str, Any], queries: int) -> float:
    """Seconds per ``SELECT 1`` on one connection (after a warm-up)."""
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        for _ in range(100):
            conn.execute("SELECT 1")
        started = time.perf_counter()
        for _ in range(queries):
            conn.execute("SELECT 1").fetchone()
        return (time.perf_counter() - started) / queries


def per_connection(conninfo: dict[str, Any], connections: int) -> float:
    """Median seconds for connect + ``SELECT 1`` + close."""
    times = []
    for _ in range(connections):
        started = time.perf_counter()
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute("SELECT 1").fetchone()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass
class Load:
    queries: int = 0
    connections: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def load(conninfo: dict[str, Any], clients: int, seconds: float) -> tuple[Load, float]:
    """``clients`` threads querying for ``seconds``; the counts and the wall time."""
    found = Load()
    start_together = threading.Barrier(clients)
    deadline: list[float] = []

    def client() -> None:
        done = made = 0
        start_together.wait()
        if not deadline:
            deadline.append(time.monotonic() + seconds)
        end = deadline[0]
        while time.monotonic() < end:
            try:
                with psycopg.connect(**conninfo, autocommit=True, connect_timeout=30) as conn:
                    made += 1
                    for _ in range(100):
                        rows = conn.execute("SELECT n FROM generate_series(1, 100) n").fetchall()
                        if len(rows) != 100:
                            raise RuntimeError(f"{len(rows)} rows")
                        done += 1
                        if time.monotonic() >= end:
                            break
            except Exception as exc:  # every failure counts, whatever it is
                with found.lock:
                    found.errors[f"{type(exc).__name__}: {str(exc).strip()[:120]}"] += 1
        with found.lock:
            found.queries += done
            found.connections += made

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found, time.monotonic() - started


def measure(sizes: Sizes) -> tuple[list[Row], list[str]]:
    """Every proxy figure, direct and proxied in the same run."""
    notes: list[str] = []
    with EmbeddedPostgres(auth_method="password", settings={"max_connections": "300"}) as pg:
        pg.create_role(USER, pg.iam_token(USER))
        with ProxyProcess(pg) as proxy:
            direct, proxied = _direct(pg), _proxied(proxy.port)
            query = {"direct": [], "proxy": []}  # type: dict[str, list[float]]
            cpu: list[float] = []
            connect = {"direct": [], "proxy": []}  # type: dict[str, list[float]]
            for run in range(sizes.runs):
                order = ("direct", "proxy") if run % 2 == 0 else ("proxy", "direct")
                for name in order:
                    info = direct if name == "direct" else proxied
                    before = proxy.cpu_seconds()
                    query[name].append(per_query(info, sizes.queries))
                    after = proxy.cpu_seconds()
                    if name == "proxy" and before is not None and after is not None:
                        cpu.append((after - before) / (sizes.queries + 100))
                    connect[name].append(per_connection(info, sizes.connections))
            found, wall = load(proxied, sizes.clients, sizes.seconds)
    added = [p - d for p, d in zip(query["proxy"], query["direct"], strict=True)]
    added_connect = [p - d for p, d in zip(connect["proxy"], connect["direct"], strict=True)]
    how_q = f"SELECT 1 x {sizes.queries:,} on one psycopg connection, loopback"
    how_c = f"median of {sizes.connections} x (connect, SELECT 1, close)"
    us = 1e6
    rows = [
        Row(SECTION_QUERY, "direct TLS verify-full", [v * us for v in query["direct"]], "µs",
            how=how_q, baseline=True),
        Row(SECTION_QUERY, "through aurora-express proxy", [v * us for v in query["proxy"]], "µs",
            how=how_q + "; client to proxy plain, proxy to server TLS"),
        Row(SECTION_QUERY, "added by the proxy", [v * us for v in added], "µs",
            how="proxy minus direct, paired per run"),
        Row(SECTION_QUERY, "proxy process CPU per query", [v * us for v in cpu], "µs",
            how="the proxy's user + system time over the run, per query (its login included)"),
        Row(SECTION_CONNECT, "direct TLS verify-full", connect["direct"], how=how_c,
            baseline=True),
        Row(SECTION_CONNECT, "through aurora-express proxy", connect["proxy"],
            how=how_c + "; a token signed and a TLS login upstream per connection"),
        Row(SECTION_CONNECT, "added by the proxy", added_connect,
            how="proxy minus direct, paired per run"),
        Row(SECTION_LOAD, f"{sizes.clients} clients x {sizes.seconds:g} s: queries/s",
            [found.queries / wall], "queries/s",
            how="100-row query in a loop, reconnecting every 100 queries"),
        Row(SECTION_LOAD, f"{sizes.clients} clients x {sizes.seconds:g} s: errors",
            [float(sum(found.errors.values()))], "errors",
            how=f"{found.queries:,} queries on {found.connections:,} connections"),
    ]  # fmt: skip
    for row in rows:
        row.values = [round(v, 1) if row.unit in ("µs", "queries/s") else v for v in row.values]
    if found.errors:
        notes.append(
            "Proxy load errors: "
            + "; ".join(f"{n} x {what}" for what, n in found.errors.most_common(5))
        )
    else:
        notes.append(
            f"Proxy load: {sizes.clients} clients for {sizes.seconds:g} s, "
            f"{found.queries:,} queries on {found.connections:,} connections, no error."
        )
    return rows, notes
