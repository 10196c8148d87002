"""Running the real migration tools against the test PostgreSQL, and tool-shaped migrations.

The tools connect over the server's Unix socket as the tests' role (trusted
there: no password to leak into their output) to the test's database. npm
packages install once into the bench's cache (``bench.npm_peers``); when
npm or the registry is missing, the test is skipped saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from bench import npm_peers
from provider.migrations.model import Kind, Migration, ToolMeta
from tests.support.postgres import USER
from tests.support.secret_scan import record_output

Conn = psycopg.Connection[Any]

DRIZZLE_1 = {"drizzle-orm": "1.0.0-rc.5", "pg": "8.23.1"}
# Prisma's CLI 6 runs its schema engine compiled to WebAssembly when given a driver
# adapter (engine "js"); adapter-pg 7 reads PostgreSQL 18's catalog types.
PRISMA = {"prisma": "6.19.3", "@prisma/adapter-pg": "7.10.1", "pg": "8.23.1"}


@dataclass(frozen=True)
class Socket:
    """Where a tool connects: the test's database over the server's Unix socket."""

    directory: Path
    port: int
    database: str
    user: str = USER

    def url(self) -> str:
        """For node's pg: the socket folder as ``host``, the port from the authority."""
        return f"postgres://{self.user}@localhost:{self.port}/{self.database}?host={self.directory}"

    def dbmate_url(self) -> str:
        return (
            f"postgres://{self.user}@/{self.database}?socket={self.directory}"
            f"&port={self.port}&sslmode=disable"
        )


def socket_for(pg: EmbeddedPostgres, db: str) -> Socket:
    return Socket(pg.socket_dir, pg.port, db)


def npm_root(pinned: Mapping[str, str], *, ignore_scripts: bool = False) -> Path:
    try:
        return npm_peers.install_packages(dict(pinned), ignore_scripts=ignore_scripts)
    except npm_peers.NpmUnavailable as exc:
        pytest.skip(f"npm packages unavailable: {exc}")


def bench_peers() -> npm_peers.NpmPeers:
    try:
        return npm_peers.install()
    except npm_peers.NpmUnavailable as exc:
        pytest.skip(f"npm packages unavailable: {exc}")


def run_tool(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a tool to completion; its output goes to the suite's secret scan; fail on error
    unless ``check`` is off."""
    done = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    test = os.environ.get("PYTEST_CURRENT_TEST", "?")
    record_output(test, f"{Path(argv[0]).name} output", done.stdout + done.stderr)
    failed = f"{' '.join(argv[:3])} failed:\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0 or not check, failed
    return done


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not on PATH")
    return found


def tool_migration(
    name: str,
    version: str | None,
    sql: str,
    layout: str,
    *,
    kind: Kind = Kind.VERSIONED,
    raw: bytes | None = None,
    tool_version: str | None = None,
    **meta: Any,
) -> Migration:
    """A migration as the layout's reader makes it, with what the tool knows it by
    (``tool_version``: the version as the tool writes it)."""
    return Migration(
        name,
        version,
        kind,
        sql,
        tool=ToolMeta(
            layout, version=tool_version, raw=sql.encode() if raw is None else raw, **meta
        ),
    )


def tables(conn: Conn, schema: str = "public") -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
    ).fetchall()
    return {r[0] for r in rows}


def history(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT name, applied_by, success FROM aurora_express.schema_migrations"
        " ORDER BY installed_rank"
    ).fetchall()
