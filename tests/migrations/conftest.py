"""The migrations test bed: one real PostgreSQL (TLS, scram) per session, a fresh database per test.

The role ``migrator`` logs in with the IAM token boto3 makes for it at
``FROZEN_AT``: tests that go through ``provider.migrations.connect`` run with
time frozen there (``frozen``), so only that token, over TLS, gets in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine

from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from provider.migrations import connect, engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import SourceFiles

USER = "migrator"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "layouts"


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        server.create_role(USER, server.iam_token(USER))
        yield server


@pytest.fixture(scope="session")
def db_pool() -> list[str]:
    return []


@pytest.fixture
def db(pg: EmbeddedPostgres, db_pool: list[str]) -> Iterator[str]:
    """An empty database: a pooled one reset after use (much cheaper than one per test)."""
    name = db_pool.pop() if db_pool else pg.create_database()
    yield name
    pg.reset_database(name)
    db_pool.append(name)


@pytest.fixture
def tls(pg: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch) -> EmbeddedPostgres:
    """``DB_SSLROOTCERT`` names the test CA, as an operator would set it."""
    monkeypatch.setenv("DB_SSLROOTCERT", str(pg.ca_path))
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    return pg


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(FROZEN_AT, tick=False):
        yield


@pytest.fixture
def target(pg: EmbeddedPostgres, db: str) -> connect.Target:
    return connect.Target(pg.host, pg.port, USER, db, "us-east-1")


@pytest.fixture
def open_conn(pg: EmbeddedPostgres, db: str) -> Iterator[Callable[[], psycopg.Connection[Any]]]:
    """Opens TLS connections to the test database as ``migrator`` (closed after the test)."""
    opened: list[psycopg.Connection[Any]] = []

    def _open() -> psycopg.Connection[Any]:
        conn = psycopg.connect(**pg.tls_conninfo(USER, pg.iam_token(USER), db), autocommit=True)
        opened.append(conn)
        return conn

    yield _open
    for conn in opened:
        conn.close()


@pytest.fixture
def conn(open_conn: Callable[[], psycopg.Connection[Any]]) -> psycopg.Connection[Any]:
    return open_conn()


def source(mapping: dict[str, str], *, ordered: bool = False) -> SourceFiles:
    return SourceFiles({k: v.encode() for k, v in mapping.items()}, ordered=ordered)


def mset(
    mapping: dict[str, str], *, layout: str = "auto", seeds: dict[str, str] | None = None
) -> MigrationSet:
    seed_list = layouts.seeds(source(seeds or {}, ordered=True)) if seeds else []
    return MigrationSet(layouts.load(source(mapping), layout), seed_list)


def run(conn: psycopg.Connection[Any], the_set: MigrationSet, **options: Any) -> engine.Result:
    """The engine with its own history only: the layouts record their tool on each migration,
    and the tools' tables (kept by default) are tests/provider/migrations' subject."""
    options.setdefault("keep_tool_history", False)
    return engine.migrate(conn, the_set, Options(**options))


def history(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT version, name, kind, success FROM aurora_express.schema_migrations"
        " ORDER BY installed_rank"
    ).fetchall()


def tables(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchall()
    return {r[0] for r in rows}
