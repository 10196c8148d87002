"""The proxy's test bed: a real PostgreSQL that asks for the token in cleartext over TLS.

As the express gateway does, this folder's server (``pg``, overriding the
suite's) has the network rule ``hostssl ... password``: the client sends its
password (the IAM token) in cleartext, inside TLS. The ``postgres`` role's
password is the token boto3 makes for this host, port and user at
``FROZEN_AT``; the proxy makes its tokens with the real signer, with time
frozen there (``frozen``), so only what it signs itself gets in. Helpers
are in ``tests.support.proxy``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.local.moto_express import express_semantics
from aurora_express.proxy import server, upstream
from tests.support.cli import CLUSTER
from tests.support.paths import ROOT
from tests.support.proxy import REGION, USER, CliProcess, ProxyThread, TokenLog
from tests.support.secret_scan import record_output


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(auth_method="password") as server_:
        server_.create_role(USER, server_.iam_token(USER))
        yield server_


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
def proxy(start_proxy: Callable[..., ProxyThread], frozen: None) -> ProxyThread:
    return start_proxy()


# -- the CLI as a process ------------------------------------------------------


@pytest.fixture
def cluster(aws: str) -> Iterator[dict[str, Any]]:
    """An express cluster in a freshly reset moto server, as RDS describes it."""
    rds = boto3.client("rds", region_name=REGION)
    with express_semantics(create_seconds=0, delete_seconds=0):
        rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", WithExpressConfiguration=True
        )
        yield dict(rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0])


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
