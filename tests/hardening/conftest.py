"""The hardening test bed: moto with express semantics, faults below the handler, a real PostgreSQL.

Cluster tests drive the real handler through ``LifecycleSimulator`` (as
CloudFormation and EventBridge would) against moto in-process, with RDS
faults injected into the handler's own boto3 client (``faults.RdsFaults``).
Database tests run against an ``EmbeddedPostgres`` of their own (some of them
stop and restart it), through TLS and the IAM-token password. The fixtures
themselves are the suite's (``tests.support``); what differs here is below.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.local.moto_express import ExpressSemantics
from provider.cluster import handler as cluster_handler
from tests.hardening.faults import RdsFaults
from tests.support.postgres import start_server


@pytest.fixture
def express(fast_timing: None, express: ExpressSemantics) -> ExpressSemantics:
    """The suite's moto, with the handler looking every 20 ms (``fast_timing``)."""
    return express


@pytest.fixture
def faults(express: ExpressSemantics) -> Iterator[RdsFaults]:
    """Faults injected into the RDS client the handler uses; counts printed at the end."""
    injector = RdsFaults(seed=20261126).attach(cluster_handler.api().client)
    yield injector
    injector.detach()
    print(f"faults injected: {injector.total} {dict(injector.injected)}")


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    """One server for a module's tests, whose faults stay there; a test that restarts a server
    starts its own."""
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def db(pg: EmbeddedPostgres) -> Iterator[str]:
    """A database of the test's own, dropped after it (a killed run may leave anything)."""
    name = pg.create_database()
    yield name
    pg.drop_database(name)
