"""The database test bed: a real PostgreSQL (TLS, scram) per session, a fresh database per test.

The roles ``migrator`` and ``postgres`` log in with the IAM token boto3 makes
for them at ``FROZEN_AT``: tests that go through ``provider.migrations.connect``
or the CLI run with time frozen there (``frozen``), so only that token, over
TLS, gets in. Under pytest-xdist each worker starts its own server, on a port
of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import time_machine

from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from provider.migrations import connect as migrations_connect

USER = "migrator"
ADMIN = "postgres"  # the CLI's default user, as on a new cluster


def start_server(*, durable: bool = False) -> EmbeddedPostgres:
    """A server with the ``migrator`` role; ``durable`` keeps commits through a crash."""
    server = EmbeddedPostgres(durable=durable)
    server.start()
    server.create_role(USER, server.iam_token(USER))
    return server


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    server = start_server()
    try:
        server.create_role(ADMIN, server.iam_token(ADMIN))
        yield server
    finally:
        server.stop()


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
def target(pg: EmbeddedPostgres, db: str) -> migrations_connect.Target:
    return migrations_connect.Target(pg.host, pg.port, USER, db, "us-east-1")


def connect(pg: EmbeddedPostgres, db: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A TLS connection as ``migrator`` with its IAM-token password (autocommit)."""
    return psycopg.connect(
        **pg.tls_conninfo(USER, pg.iam_token(USER), db), autocommit=True, **kwargs
    )


@pytest.fixture
def open_conn(pg: EmbeddedPostgres, db: str) -> Iterator[Callable[[], psycopg.Connection[Any]]]:
    """Opens TLS connections to the test database as ``migrator`` (closed after the test)."""
    opened: list[psycopg.Connection[Any]] = []

    def _open() -> psycopg.Connection[Any]:
        conn = connect(pg, db)
        opened.append(conn)
        return conn

    yield _open
    for conn in opened:
        conn.close()


@pytest.fixture
def conn(open_conn: Callable[[], psycopg.Connection[Any]]) -> psycopg.Connection[Any]:
    return open_conn()


@pytest.fixture
def admin(pg: EmbeddedPostgres, db: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection to the test's database (Unix socket)."""
    with pg.admin(db) as conn:
        yield conn
