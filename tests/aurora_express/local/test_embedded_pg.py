"""The embedded server itself: TLS only, the exact token as password, clean start and stop."""

from __future__ import annotations

import datetime as dt
import os
import time

import boto3
import psycopg
import pytest
import time_machine

from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from tests.support.postgres import USER


def test_a_server_starts_and_on_exit_is_stopped_and_removed() -> None:
    started = time.monotonic()
    with EmbeddedPostgres() as pg:
        elapsed = time.monotonic() - started
        root = pg.root
        with pg.admin() as conn:
            assert conn.execute("SHOW ssl").fetchone() == ("on",)
            owner = conn.execute("SELECT current_setting('data_directory')").fetchone()
        assert owner is not None
    assert not root.exists()
    assert elapsed < 5  # typically ~0.3 s once the template exists; the margin is for busy CI


def test_the_server_is_stopped_even_when_the_block_raises() -> None:
    server = EmbeddedPostgres()
    with pytest.raises(RuntimeError), server:
        root = server.root
        raise RuntimeError("boom")
    assert not root.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs another user")
def test_as_root_the_server_runs_as_an_unprivileged_user(pg: EmbeddedPostgres) -> None:
    pid = int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0


def test_only_the_exact_token_over_tls_gets_in(pg: EmbeddedPostgres, db: str) -> None:
    token = pg.iam_token(USER)
    with psycopg.connect(**pg.tls_conninfo(USER, token, db)) as conn:
        assert conn.execute(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone() == (True,)
    a_second_later = pg.iam_token(USER, at=FROZEN_AT + dt.timedelta(seconds=1))
    assert a_second_later != token
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**pg.tls_conninfo(USER, a_second_later, db))
    other_region = pg.iam_token(USER, region="eu-west-1")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**pg.tls_conninfo(USER, other_region, db))


def test_the_token_is_what_boto3_gives_at_the_frozen_instant(pg: EmbeddedPostgres) -> None:
    with time_machine.travel(FROZEN_AT, tick=False):
        made = boto3.client("rds", region_name="us-east-1").generate_db_auth_token(
            pg.host, pg.port, USER
        )
    assert made == pg.iam_token(USER)


def test_the_certificate_verifies_for_localhost_and_127_0_0_1(
    pg: EmbeddedPostgres, db: str
) -> None:
    token = pg.iam_token(USER)
    for host in ("localhost", "127.0.0.1"):
        conninfo = {**pg.tls_conninfo(USER, token, db), "host": host}  # verify-full
        psycopg.connect(**conninfo).close()


def test_a_fresh_database_per_test_is_cheap(pg: EmbeddedPostgres) -> None:
    started = time.monotonic()
    name = pg.create_database()
    pg.drop_database(name)
    assert time.monotonic() - started < 3


def test_a_reset_database_is_empty_again(pg: EmbeddedPostgres) -> None:
    name = pg.create_database()
    with pg.admin(name) as conn:
        conn.execute("CREATE SCHEMA ops; CREATE TABLE ops.t (a int); CREATE TABLE public.u (a int)")
    pg.reset_database(name)
    with pg.admin(name) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert rows == []
        assert conn.execute("SELECT has_schema_privilege('public', 'USAGE')").fetchone() == (True,)
