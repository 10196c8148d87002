"""The proxy's test bed: a real PostgreSQL that asks for the token in cleartext over TLS.

As the express gateway does, the server's network rule is ``hostssl ...
password``: the client sends its password (the IAM token) in cleartext,
inside TLS. The ``postgres`` role's password is the token boto3 makes for
this host, port and user at ``FROZEN_AT``; the proxy makes its tokens with
the real signer (``provider.migrations.connect.iam_tokens``), with time
frozen there (``frozen``), so only what it signs itself gets in.

``ProxyThread`` runs ``aurora_express.proxy.server.Proxy`` on its own event
loop in a thread; the process-level tests run the CLI itself
(``frozen_cli.py``: ``aurora-express`` with the clock frozen).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine
from moto.server import ThreadedMotoServer

from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from aurora_express.local.moto_express import express_semantics
from aurora_express.proxy import server, upstream
from provider.migrations import connect
from tests.conftest import record_output

USER = "postgres"
REGION = "us-east-1"
CLUSTER = "app-feature-proxy"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(auth_method="password") as server_:
        server_.create_role(USER, server_.iam_token(USER))
        yield server_


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(FROZEN_AT, tick=False) as traveller:
        yield traveller


class TokenLog:
    """The real IAM signer, remembering every token it made (to compare, never to print)."""

    def __init__(self) -> None:
        self._sign = connect.iam_tokens(boto3.client("rds", region_name=REGION))
        self.made: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, target: upstream.Upstream) -> str:
        token = self._sign(target.host, target.port, target.user, REGION)
        with self.lock:
            self.made.append(token)
        return token


class ProxyThread:
    """A ``Proxy`` on its own event loop in a daemon thread; a context manager."""

    def __init__(
        self,
        settings: server.Settings,
        rootcert: Path,
        tokens: Callable[[upstream.Upstream], str],
    ) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

        async def make_token() -> str:
            return await asyncio.to_thread(tokens, settings.upstream)

        self.proxy = server.Proxy(settings, upstream.tls_context(str(rootcert)), make_token)

    def __enter__(self) -> ProxyThread:
        self._thread.start()
        self.call(self.proxy.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.proxy.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def call(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def port(self) -> int:
        return self.proxy.port

    def conninfo(self, dbname: str = "postgres", **extra: Any) -> dict[str, Any]:
        """What a client gives: loopback, no TLS, no password."""
        return {"host": "127.0.0.1", "port": self.port, "user": USER, "dbname": dbname, **extra}


@pytest.fixture
def tokens() -> TokenLog:
    return TokenLog()


@pytest.fixture
def start_proxy(
    pg: EmbeddedPostgres, tokens: TokenLog, caplog: pytest.LogCaptureFixture
) -> Iterator[Callable[..., ProxyThread]]:
    """Starts proxies in front of ``pg`` (``Settings`` fields as keywords); stops them after."""
    caplog.set_level(logging.DEBUG, logger="aurora_express.proxy")
    started: list[ProxyThread] = []

    def start(
        *,
        rootcert: Path | None = None,
        host: str | None = None,
        upstream_port: int | None = None,
        server_pg: EmbeddedPostgres | None = None,
        **fields: Any,
    ) -> ProxyThread:
        target_pg = server_pg or pg
        settings = server.Settings(
            upstream=upstream.Upstream(
                host or target_pg.host, upstream_port or target_pg.port, USER
            ),
            port=0,
            **fields,
        )
        proxy = ProxyThread(settings, rootcert or target_pg.ca_path, tokens).__enter__()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.__exit__()


@pytest.fixture
def proxy(start_proxy: Callable[..., ProxyThread], frozen: Any) -> ProxyThread:
    return start_proxy()


# -- the CLI as a process ------------------------------------------------------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture
def cluster(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """An express cluster in a freshly reset moto server, as RDS describes it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    reset = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=5).close()
    rds = boto3.client("rds", region_name=REGION)
    with express_semantics(create_seconds=0, delete_seconds=0):
        rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", WithExpressConfiguration=True
        )
        yield dict(rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0])
    urllib.request.urlopen(reset, timeout=5).close()


class CliProcess:
    """``aurora-express`` (clock frozen at FROZEN_AT) as a child process; stderr read live."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "proxy" / "frozen_cli.py"), *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.port = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if line.startswith("aurora-express proxy: listening on") and not self.port:
                where = line.split("listening on ", 1)[1].split(" ", 1)[0]
                self.port = int(where.rsplit(":", 1)[1])
                self._ready.set()
        self._ready.set()

    def wait_listening(self, timeout: float = 60) -> int:
        self._ready.wait(timeout)
        if not self.port:
            raise AssertionError(f"the proxy did not start: {''.join(self.lines)}")
        return self.port

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def stop_output(self) -> str:
        """Everything it printed, once it has ended (stopped if need be)."""
        self.stop()
        return self.output

    @property
    def output(self) -> str:
        if (
            self.process.poll() is not None
            and self.process.stdout
            and not self.process.stdout.closed
        ):
            self._stdout = self.process.stdout.read()
            self.process.stdout.close()
        return "".join(self.lines) + getattr(self, "_stdout", "")


@pytest.fixture
def run_cli(
    pg: EmbeddedPostgres, request: pytest.FixtureRequest
) -> Iterator[Callable[..., CliProcess]]:
    """Starts ``aurora-express ...`` processes against moto and ``pg``; all stopped after.

    Their output goes to the suite's secret scan.
    """
    started: list[CliProcess] = []

    def start(*argv: str, extra_env: dict[str, str] | None = None) -> CliProcess:
        env = {k: v for k, v in os.environ.items() if k != "DB_SSLMODE"}
        env |= {"PYTHONPATH": str(ROOT), "DB_SSLROOTCERT": str(pg.ca_path), **(extra_env or {})}
        child = CliProcess(list(argv), env)
        started.append(child)
        return child

    yield start
    for child in started:
        if child.process.poll() is None:
            child.process.kill()
        child.process.wait(10)
        record_output(request.node.nodeid, "proxy process output", child.output)


def proxy_args(pg: EmbeddedPostgres, *more: str) -> list[str]:
    return [
        "proxy",
        "--cluster",
        CLUSTER,
        "--endpoint",
        pg.host,
        "--endpoint-port",
        str(pg.port),
        "--port",
        "0",
        *more,
    ]
