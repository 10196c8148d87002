"""The migrations test bed of ``tests/migrations`` (one TLS PostgreSQL, a fresh database per
test), and the real tools that install from a package registry."""

from __future__ import annotations

from tests.migrations.conftest import conn, db, db_pool, open_conn, pg

__all__ = ["conn", "db", "db_pool", "open_conn", "pg"]
