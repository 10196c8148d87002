"""Logging in: an IAM token per attempt, TLS verify-full, bounded retry, database creation."""

from __future__ import annotations

import socket
import time

import boto3
import certifi
import psycopg
import pytest
from moto import mock_aws

from aurora_express.local.embedded_pg import EmbeddedPostgres
from provider.migrations import connect, endpoint
from provider.migrations.connect import ConnectFailed, DatabaseMissing, Target
from tests.support.postgres import USER


def rds_tokens() -> connect.TokenSource:
    return connect.iam_tokens(boto3.client("rds", region_name="us-east-1"))


@pytest.mark.usefixtures("tls", "frozen")
def test_the_iam_token_at_the_frozen_time_logs_in_over_verified_tls(target: Target) -> None:
    with connect.connect(target, rds_tokens(), timeout=5) as conn:
        row = conn.execute(
            "SELECT ssl, current_user FROM pg_stat_ssl, current_user WHERE pid = pg_backend_pid()"
        )
        assert row.fetchone() == (True, USER)
        assert conn.autocommit


@pytest.mark.usefixtures("tls")
def test_a_token_made_at_another_time_is_refused_without_retrying(target: Target) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectFailed, match="password authentication failed") as caught:
        connect.connect(target, rds_tokens(), timeout=30)  # the clock is not frozen
    assert time.monotonic() - started < 5
    assert "after 1 attempts" in caught.value.reason


def test_a_connection_without_tls_is_refused(pg: EmbeddedPostgres, db: str) -> None:
    conninfo = {**pg.tls_conninfo(USER, pg.iam_token(USER), db), "sslmode": "disable"}
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry"):
        psycopg.connect(**conninfo)


@pytest.mark.usefixtures("frozen")
def test_the_default_ca_bundle_does_not_trust_a_test_certificate(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DB_SSLROOTCERT", raising=False)
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    with pytest.raises(ConnectFailed, match="certificate verify failed"):
        connect.connect(target, rds_tokens(), timeout=30)


def test_verify_full_with_certifi_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DB_SSLROOTCERT", raising=False)
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    assert connect.tls_settings() == {"sslmode": "verify-full", "sslrootcert": certifi.where()}


@pytest.mark.usefixtures("frozen")
def test_db_sslmode_and_db_sslrootcert_override_the_defaults(
    target: Target, pg: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_SSLMODE", "require")  # encrypt without verifying
    monkeypatch.setenv("DB_SSLROOTCERT", "/nonexistent.pem")
    assert connect.tls_settings() == {"sslmode": "require", "sslrootcert": "/nonexistent.pem"}
    with connect.connect(target, rds_tokens(), timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_connection_failures_are_retried_with_a_fresh_token_within_the_bound() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nobody listens
    calls: list[float] = []

    def tokens(host: str, port: int, user: str, region: str) -> str:
        calls.append(time.monotonic())
        return "token"

    started = time.monotonic()
    with pytest.raises(
        ConnectFailed, match=r"Could not connect to 127.0.0.1:\d+ as app after \d+ attempts"
    ):
        connect.connect(Target("127.0.0.1", port, "app", "db", "us-east-1"), tokens, timeout=1.5)
    assert len(calls) >= 2
    assert time.monotonic() - started < 6


@pytest.mark.usefixtures("tls", "frozen")
def test_a_missing_database_is_created_then_used(target: Target, pg: EmbeddedPostgres) -> None:
    fresh = Target(target.host, target.port, target.user, "app_created", target.region)
    try:
        assert connect.ensure_database(fresh, rds_tokens(), timeout=5) is True
        assert connect.ensure_database(fresh, rds_tokens(), timeout=5) is False
        with connect.connect(fresh, rds_tokens(), timeout=5) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("app_created",)
    finally:
        pg.drop_database("app_created")


@pytest.mark.usefixtures("tls", "frozen")
def test_a_missing_database_is_told_apart_and_not_retried(target: Target) -> None:
    missing = Target(target.host, target.port, target.user, "nope", target.region)
    with pytest.raises(DatabaseMissing):
        connect.connect(missing, rds_tokens(), timeout=30)


def test_the_endpoint_is_looked_up_from_the_cluster_identifier() -> None:
    with mock_aws():
        rds = boto3.client("rds", region_name="us-east-1")
        rds.create_db_cluster(
            DBClusterIdentifier="app-db",
            Engine="aurora-postgresql",
            MasterUsername="postgres",
            MasterUserPassword="unused-with-iam",
        )
        found = endpoint.lookup(rds, "app-db")
    assert found.require_host().startswith("app-db.cluster-")
    assert found.port == 5432
