"""The hardening test bed: moto with express semantics, faults below the handler, a real PostgreSQL.

Cluster tests drive the real handler through ``LifecycleSimulator`` (as
CloudFormation and EventBridge would) against moto in-process, with RDS
faults injected into the handler's own boto3 client (``faults.RdsFaults``).
Database tests run against an ``EmbeddedPostgres`` of their own (some of them
stop and restart it), through TLS and the IAM-token password.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import moto
import psycopg
import pytest

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.local.moto_express import ExpressSemantics, express_semantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler as cluster_handler
from tests.conftest import record_output
from tests.hardening.faults import RdsFaults

USER = "migrator"
REGION = "us-east-1"
ACCOUNT = "123456789012"


# -- clusters -----------------------------------------------------------------------


@pytest.fixture
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look every 20 ms, keep half a second to answer, retry a refused delete after 0.1 s."""
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.02")
    monkeypatch.setenv("AURORA_EXPRESS_SAFETY_SECONDS", "0.5")
    monkeypatch.setenv("AURORA_EXPRESS_RETRY_SECONDS", "0.1")


@pytest.fixture
def express(fast_timing: None) -> Iterator[ExpressSemantics]:
    """moto (in-process) whose RDS behaves like express configuration: 0.3 s to create or delete."""
    with moto.mock_aws(), express_semantics(create_seconds=0.3, delete_seconds=0.3) as live:
        yield live


@pytest.fixture
def rds(express: ExpressSemantics) -> Any:
    """A client of the test's own, beside the handler's (faults are not injected into it)."""
    return boto3.client("rds", region_name=REGION)


@pytest.fixture
def cfn() -> Iterator[ResponseCollector]:
    with ResponseCollector() as collector:
        yield collector


@pytest.fixture
def sim(express: ExpressSemantics, cfn: ResponseCollector) -> LifecycleSimulator:
    return LifecycleSimulator(cluster_handler.handler, cfn, stack_name="app", logical_id="Db")


@pytest.fixture
def faults(express: ExpressSemantics) -> Iterator[RdsFaults]:
    """Faults injected into the RDS client the handler uses; counts printed at the end."""
    injector = RdsFaults(seed=20261126).attach(cluster_handler.api().client)
    yield injector
    injector.detach()
    print(f"faults injected: {injector.total} {dict(injector.injected)}")


def clusters(rds: Any) -> dict[str, dict[str, Any]]:
    return {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}


def instances(rds: Any) -> list[str]:
    return [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]


def tags(cluster: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in cluster.get("TagList", [])}


_environments = itertools.count()


def lambda_environment() -> ModuleType:
    """A fresh copy of the cluster handler module, as a second Lambda execution environment.

    Lambda never runs two invocations at once in one process: each has its
    own crhelper object and clients. Threads that each call their own copy
    get the same isolation (copies share only the stateless modules below).
    Make copies in one thread: crhelper's constructor patches a module global.
    """
    name = f"cluster_handler_environment_{next(_environments)}"
    spec = importlib.util.spec_from_file_location(name, cluster_handler.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- databases -----------------------------------------------------------------------


def start_server(*, durable: bool = False) -> EmbeddedPostgres:
    """A server with the ``migrator`` role; ``durable`` keeps commits through a crash."""
    server = EmbeddedPostgres(durable=durable)
    server.start()
    server.create_role(USER, server.iam_token(USER))
    return server


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    """One server for a module's tests; a test that restarts a server starts its own."""
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def db(pg: EmbeddedPostgres) -> Iterator[str]:
    name = pg.create_database()
    yield name
    pg.drop_database(name)


def connect(pg: EmbeddedPostgres, db: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A TLS connection as ``migrator`` with its IAM-token password (autocommit)."""
    return psycopg.connect(
        **pg.tls_conninfo(USER, pg.iam_token(USER), db), autocommit=True, **kwargs
    )


@pytest.fixture
def admin(pg: EmbeddedPostgres, db: str) -> Iterator[psycopg.Connection[Any]]:
    with pg.admin(db) as conn:
        yield conn


def keep_output(request: pytest.FixtureRequest, title: str, text: str) -> None:
    """A subprocess's output, added to what the suite's secret scan reads."""
    record_output(request.node.nodeid, title, text)
