"""Logging in: an IAM token per attempt, TLS verify-full, bounded retry, database creation."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import certifi
import psycopg
import pytest
from moto import mock_aws

from aurora_express.local.embedded_pg import EmbeddedPostgres
from provider.migrations import connect, endpoint, migrator
from provider.migrations.connect import ConnectFailed, DatabaseMissing, Target
from provider.migrations.settings import Tls
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


@contextmanager
def listener(reply: bytes | None) -> Iterator[int]:
    """A port that accepts connections, then sends ``reply`` (or nothing) and hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            with client:
                client.recv(64)  # the SSLRequest
                if reply is not None:
                    client.sendall(reply)
                    client.recv(64)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed once the block ends: nobody listens


def counting(calls: list[float]) -> connect.TokenSource:
    def tokens(host: str, port: int, user: str, region: str) -> str:
        calls.append(time.monotonic())
        return "token"

    return tokens


def test_a_dropped_connection_is_retried_with_a_fresh_token_within_the_bound() -> None:
    calls: list[float] = []
    with (
        listener(None) as port,
        pytest.raises(
            ConnectFailed, match=r"Could not connect to 127.0.0.1:\d+ as app after \d+ attempts"
        ),
    ):
        connect.connect(
            Target("127.0.0.1", port, "app", "db", "us-east-1"),
            counting(calls),
            timeout=1.5,
            tls=Tls("require"),
        )
    assert len(calls) >= 2


def test_refusals_are_retried_for_seconds_not_for_the_whole_bound() -> None:
    refused = psycopg.OperationalError(
        'connection to server at "10.0.0.5" failed: Connection refused'
    )
    cluster = connect._RetryPolicy("app.cluster-x.us-east-1.rds.amazonaws.com")
    assert cluster(refused) and cluster(refused)  # a server coming back, for a while
    assert not connect._RetryPolicy("db.example.com", grace=0)(refused)
    assert (connect.LOOPBACK_REFUSED_GRACE, connect.REFUSED_GRACE) == (5.0, 30.0)


def test_a_closed_port_fails_within_the_grace_naming_endpoint_and_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connect, "LOOPBACK_REFUSED_GRACE", 1.0)
    calls: list[float] = []
    with pytest.raises(ConnectFailed) as caught:
        connect.connect(
            Target("127.0.0.1", closed_port(), "app", "db", "us-east-1"),
            counting(calls),
            timeout=300,
        )
    assert 1 <= len(calls) <= 4  # a few quick tries within a second, not 300 s of them
    assert "attempts (check Endpoint and Port: nothing accepts connections there)" in (
        caught.value.reason
    )


@pytest.mark.parametrize(
    "text",
    [
        'could not translate host name "app.cluster-x" to address',
        "connection timeout expired",
        "server closed the connection unexpectedly",
        "the database system is starting up",
    ],
)
def test_resolution_timeouts_and_restarts_are_transient(text: str) -> None:
    assert connect.classify(text) is connect.Failure.TRANSIENT


def test_a_missing_db_sslrootcert_fails_before_any_attempt_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_SSLROOTCERT", "/nonexistent/ca.pem")
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    calls: list[float] = []
    with pytest.raises(ConnectFailed) as caught:
        connect.connect(
            Target("127.0.0.1", closed_port(), "app", "db", "us-east-1"), counting(calls)
        )
    assert calls == []
    assert caught.value.reason.startswith("DB_SSLROOTCERT names /nonexistent/ca.pem, which is not")


def test_a_db_sslmode_the_server_cannot_meet_fails_at_once_naming_it() -> None:
    calls: list[float] = []
    with listener(b"N") as port, pytest.raises(ConnectFailed) as caught:
        connect.connect(
            Target("127.0.0.1", port, "app", "db", "us-east-1"),
            counting(calls),
            timeout=60,
            tls=Tls("verify-full", certifi.where()),
        )
    assert len(calls) == 1
    assert "(check DB_SSLMODE: it asks for TLS, which the server does not offer)" in (
        caught.value.reason
    )


def test_an_sslmode_libpq_does_not_know_fails_naming_db_sslmode() -> None:
    with pytest.raises(ConnectFailed, match=r"^DB_SSLMODE must be one of disable, "):
        connect.connect(
            Target("127.0.0.1", 1, "app", "db", "us-east-1"), counting([]), tls=Tls("verify_full")
        )


def test_creating_the_database_gives_up_as_soon_and_is_not_followed_by_a_second_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connect, "LOOPBACK_REFUSED_GRACE", 0.0)
    calls: list[float] = []
    target = migrator.ClusterTarget(
        Target("localhost", closed_port(), "app", "db", "us-east-1"), counting(calls), timeout=300
    )
    with pytest.raises(ConnectFailed), target.connection(create=True):
        pass
    assert len(calls) == 1


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
