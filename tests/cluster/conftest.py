"""Fixtures for Custom::AuroraExpress: moto with express semantics, a ResponseURL, a simulator.

Every test drives the real handler with CloudFormation events whose scalar
properties are strings and reads the response crhelper PUTs. Clusters are
``creating`` for a fraction of a second and the handler looks every 20 ms, so
the whole lifecycle runs in well under a second per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.moto_express import ExpressSemantics, express_semantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler as cluster_handler

CREATE_SECONDS = 0.3
DELETE_SECONDS = 0.3


@pytest.fixture(autouse=True)
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.02")
    monkeypatch.setenv("AURORA_EXPRESS_SAFETY_SECONDS", "0.5")
    monkeypatch.setenv("AURORA_EXPRESS_RETRY_SECONDS", "0.1")


@pytest.fixture
def express() -> Iterator[ExpressSemantics]:
    """moto (in-process) whose RDS behaves like express configuration."""
    with (
        moto.mock_aws(),
        express_semantics(create_seconds=CREATE_SECONDS, delete_seconds=DELETE_SECONDS) as live,
    ):
        yield live


@pytest.fixture
def rds(express: ExpressSemantics) -> Any:
    return boto3.client("rds", region_name="us-east-1")


@pytest.fixture
def cfn() -> Iterator[ResponseCollector]:
    with ResponseCollector() as collector:
        yield collector


@pytest.fixture
def sim(express: ExpressSemantics, cfn: ResponseCollector) -> LifecycleSimulator:
    """CloudFormation and EventBridge for stack ``app``, resource ``Db``, a 900 s Lambda."""
    return LifecycleSimulator(cluster_handler.handler, cfn, stack_name="app", logical_id="Db")


@pytest.fixture
def rds_calls(express: ExpressSemantics) -> Iterator[list[str]]:
    """The names of the RDS operations the handler calls, in order."""
    calls: list[str] = []
    client = cluster_handler.api().client

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.rds", record)
    yield calls
    client.meta.events.unregister("before-call.rds", record)


def clusters(rds: Any) -> dict[str, dict[str, Any]]:
    """Every cluster moto holds, by identifier."""
    return {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}


def tags(cluster: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in cluster.get("TagList", [])}
