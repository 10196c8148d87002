"""MaxClusters: the pure check, the count of owned clusters, and both against moto."""

from __future__ import annotations

import pytest

from provider.cluster import cap, naming
from provider.cluster import rds as cluster_rds
from provider.cluster.plan import ClusterState
from provider.cluster.rds import ClusterApi
from provider.cluster.settings import ClusterSettings
from provider.common.errors import ProviderError
from provider.common.responses import MAX_REASON
from provider.common.settings import SettingsError
from tests.support.aws import REGION
from tests.support.world import World

# The guardrails' moto: clusters appear at once, and take 5 s to go.
pytestmark = pytest.mark.express(create_seconds=0.05, delete_seconds=5)

OWNED = {naming.OWNER_STACK_TAG: "arn:stack", naming.OWNER_LOGICAL_TAG: "Db"}


def state(status: str = "available", tags: dict[str, str] | None = None) -> ClusterState:
    return ClusterState(identifier="c", status=status, tags=OWNED if tags is None else tags)


def test_a_create_below_the_cap_passes() -> None:
    cap.check(owned=19, limit=20, identifier="db")


def test_the_create_that_would_exceed_the_cap_fails_naming_it() -> None:
    with pytest.raises(ProviderError) as failed:
        cap.check(owned=20, limit=20, identifier="db")
    assert "MaxClusters is 20" in failed.value.reason
    assert "owns 20 clusters" in failed.value.reason


def test_the_reason_fits_cloudformation_with_the_longest_identifier() -> None:
    with pytest.raises(ProviderError) as failed:
        cap.check(owned=999, limit=999, identifier="a" * naming.MAX_LENGTH)
    assert len(failed.value.reason) <= MAX_REASON


def test_only_clusters_with_both_ownership_tags_count() -> None:
    foreign = state(tags={"team": "x"})
    half = state(tags={naming.OWNER_STACK_TAG: "arn:stack"})
    assert cap.count_owned([state(), foreign, half]) == 1


def test_clusters_being_deleted_count() -> None:
    """RDS counts them until they are gone; WaitForDeletion: false leaves many deleting."""
    assert cap.count_owned([state(), state(status="deleting")]) == 2


def test_max_clusters_defaults_to_20() -> None:
    assert ClusterSettings.from_env({}).max_clusters == 20
    assert ClusterSettings.from_env({"MAX_CLUSTERS": ""}).max_clusters == 20


def test_max_clusters_comes_from_the_environment() -> None:
    assert ClusterSettings.from_env({"MAX_CLUSTERS": "5"}).max_clusters == 5


@pytest.mark.parametrize("raw", ["many", "0", "-3"])
def test_an_unusable_max_clusters_is_an_error_naming_it(raw: str) -> None:
    with pytest.raises(SettingsError, match="MAX_CLUSTERS must be an integer from 1 to 1000"):
        ClusterSettings.from_env({"MAX_CLUSTERS": raw})


def test_enforce_counts_the_owned_clusters_in_the_region(world: World) -> None:
    stack = world.stack("app")
    world.cluster("one", stack_id=stack)
    world.cluster("two", stack_id=stack, logical_id="Other")
    world.cluster("theirs")
    inventory = ClusterApi(cluster_rds.new_client(REGION))
    cap.enforce(inventory, "three", limit=3)
    with pytest.raises(ProviderError, match="owns 2 clusters"):
        cap.enforce(inventory, "three", limit=2)


def test_enforce_reads_the_limit_from_max_clusters(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.cluster("one", stack_id=world.stack("app"))
    monkeypatch.setenv("MAX_CLUSTERS", "1")
    with pytest.raises(ProviderError, match="MaxClusters is 1"):
        cap.enforce(ClusterApi(cluster_rds.new_client(REGION)), "two")


def test_listing_pages_through_more_than_one_page(world: World) -> None:
    stack = world.stack("app")
    for n in range(105):
        world.cluster(f"c{n}", stack_id=stack, logical_id=f"Db{n}")
    assert len(ClusterApi(cluster_rds.new_client(REGION)).all_clusters()) == 105
