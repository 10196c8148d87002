"""MaxClusters through the real handler: the Create past the cap fails, adoption still works.

The first test is marked xfail until ``lifecycle._ensure`` calls
``cap.enforce`` (the lead wires it after issue 2 lands); the strict mark then
turns green into red, so the mark goes together with the wiring.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.moto_express import ExpressSemantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler as cluster_handler
from tests.support.world import World

# The guardrails' moto: clusters appear at once, and take 5 s to go.
pytestmark = pytest.mark.express(create_seconds=0.05, delete_seconds=5)


@pytest.fixture(autouse=True)
def one_cluster_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_CLUSTERS", "1")
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.02")
    monkeypatch.setenv("AURORA_EXPRESS_SAFETY_SECONDS", "0.5")


@pytest.fixture
def collector(express: ExpressSemantics) -> Iterator[ResponseCollector]:
    with ResponseCollector() as responses:
        yield responses


def test_a_create_past_max_clusters_fails_and_creates_nothing(
    collector: ResponseCollector, world: World
) -> None:
    first = LifecycleSimulator(cluster_handler.handler, collector, logical_id="Db")
    assert first.create({}).status == "SUCCESS"
    second = LifecycleSimulator(cluster_handler.handler, collector, logical_id="Other")
    refused = second.create({})
    assert refused.status == "FAILED"
    assert "MaxClusters is 1" in refused.reason
    assert len(world.clusters()) == 1


def test_a_repeated_create_at_the_cap_still_adopts_its_cluster(
    collector: ResponseCollector,
) -> None:
    sim = LifecycleSimulator(cluster_handler.handler, collector, logical_id="Db")
    created = sim.create({"ClusterIdentifier": "db"})
    again = sim.create({"ClusterIdentifier": "db"}, request_id="another-delivery")
    assert (created.status, again.status) == ("SUCCESS", "SUCCESS")
