"""The proxy's upstream side: TLS verify-full, tokens, a resuming cluster, refusals passed on."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine
import trustme

from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from aurora_express.proxy.upstream import Backoff
from tests.support.proxy import USER, ProxyThread, TokenLog

StartProxy = Callable[..., ProxyThread]


@pytest.fixture(scope="module")
def second_pg() -> Iterator[EmbeddedPostgres]:
    """A server of its own (it is restarted), also on 127.0.0.2, which its certificate lacks."""
    settings = {"listen_addresses": "'127.0.0.1,127.0.0.2'"}
    with EmbeddedPostgres(auth_method="password", settings=settings) as server:
        server.create_role(USER, server.iam_token(USER))
        yield server


def _fails(conninfo: dict[str, Any]) -> str:
    with pytest.raises(psycopg.OperationalError) as failed:
        psycopg.connect(**conninfo, connect_timeout=60).close()
    return " ".join(str(failed.value).split())


def _wait(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1500):
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


# -- TLS -------------------------------------------------------------------------


def test_an_upstream_certificate_from_another_ca_is_refused(
    start_proxy: StartProxy, frozen: Any, tmp_path: Path, tokens: TokenLog
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    proxy = start_proxy(rootcert=other_ca)
    reason = _fails(proxy.conninfo())
    assert "the certificate of localhost does not verify" in reason
    assert "unable to get local issuer certificate" in reason
    assert len(tokens.made) == 1  # refused at once: not retried


def test_an_upstream_certificate_for_another_host_name_is_refused(
    start_proxy: StartProxy, second_pg: EmbeddedPostgres, frozen: Any
) -> None:
    proxy = start_proxy(server_pg=second_pg, host="127.0.0.2")
    reason = _fails(proxy.conninfo())
    assert "the certificate of 127.0.0.2 does not verify" in reason
    assert "IP address mismatch" in reason


def test_the_upstream_session_is_tls_1_2_or_later_with_the_ca_bundle_given(
    proxy: ProxyThread,
) -> None:
    with psycopg.connect(**proxy.conninfo()) as conn:
        version = conn.execute(
            "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert version is not None and version[0] in ("TLSv1.2", "TLSv1.3")


# -- tokens ----------------------------------------------------------------------


def test_tokens_differ_per_upstream_connection(
    start_proxy: StartProxy,
    pg: EmbeddedPostgres,
    tokens: TokenLog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A second later the signer makes another token, and the server wants that one."""
    later = FROZEN_AT + dt.timedelta(seconds=1)
    with time_machine.travel(FROZEN_AT, tick=False) as clock:
        proxy = start_proxy()
        first = psycopg.connect(**proxy.conninfo())
        try:
            clock.move_to(later)
            pg.set_password(USER, pg.iam_token(USER, at=later))
            with psycopg.connect(**proxy.conninfo()) as second:
                assert second.execute("SELECT 1").fetchone() == (1,)
            assert first.execute("SELECT 1").fetchone() == (1,)  # the first session lives on
        finally:
            first.close()
            pg.set_password(USER, pg.iam_token(USER))
    assert len(tokens.made) == 2
    assert tokens.made[0] != tokens.made[1]
    assert not any(token in caplog.text for token in tokens.made)


def test_a_token_the_server_does_not_take_is_refused_with_the_servers_reason(
    start_proxy: StartProxy,
) -> None:
    """Not frozen: the token is signed now, and the role's password is the frozen one."""
    proxy = start_proxy()
    reason = _fails(proxy.conninfo())
    assert 'password authentication failed for user "postgres"' in reason
    assert "rds-db:connect" in reason


def test_a_token_that_cannot_be_made_is_the_clients_error_not_a_silent_close(
    start_proxy: StartProxy, frozen: Any, tokens: TokenLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_credentials(target: Any) -> str:
        raise RuntimeError("Unable to locate credentials")

    monkeypatch.setattr(TokenLog, "__call__", lambda self, target: no_credentials(target))
    proxy = start_proxy()
    reason = _fails(proxy.conninfo())
    assert "could not make an IAM auth token: RuntimeError: Unable to locate credentials" in reason


# -- a resuming cluster ------------------------------------------------------------


def test_a_cluster_refusing_logins_with_57P03_is_waited_for(
    start_proxy: StartProxy,
    second_pg: EmbeddedPostgres,
    frozen: Any,
    tokens: TokenLog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    second_pg.refuse_logins()
    try:
        proxy = start_proxy(server_pg=second_pg)
        outcome: dict[str, Any] = {}

        def client() -> None:
            try:
                with psycopg.connect(**proxy.conninfo(), connect_timeout=120) as conn:
                    outcome["row"] = conn.execute("SELECT current_user").fetchone()
            except psycopg.Error as exc:
                outcome["error"] = str(exc)

        thread = threading.Thread(target=client)
        thread.start()
        _wait(lambda: len(tokens.made) >= 3, "three refused attempts")
    finally:
        second_pg.accept_logins()
    thread.join(60)
    assert outcome == {"row": ("postgres",)}
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert retries and all("57P03" in line for line in retries)
    assert "not accepting connections" in retries[0]


def test_an_endpoint_that_never_answers_is_given_up_on_with_the_reason(
    start_proxy: StartProxy, frozen: Any
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy = start_proxy(host="127.0.0.1", upstream_port=port, connect_within=1.5)
    reason = _fails(proxy.conninfo())
    assert f"could not reach 127.0.0.1:{port}: Connect call failed" in reason
    assert "gave up after" in reason


def test_backoff_doubles_up_to_its_bound_plus_jitter() -> None:
    backoff = Backoff(initial=0.5, maximum=8.0, jitter=0.5)
    assert [backoff.delay(n, 0.0) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1, 2, 4, 8, 8]
    assert backoff.delay(1, 0.999) < 1.0


# -- refusals passed on ------------------------------------------------------------


def test_a_missing_database_is_the_servers_own_error(proxy: ProxyThread) -> None:
    reason = _fails(proxy.conninfo("no_such_db"))
    assert 'database "no_such_db" does not exist' in reason


def test_database_option_sends_every_client_to_that_database(
    start_proxy: StartProxy, pg: EmbeddedPostgres, frozen: Any
) -> None:
    db = pg.create_database()
    proxy = start_proxy(database=db)
    with psycopg.connect(**proxy.conninfo("postgres")) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (db,)
