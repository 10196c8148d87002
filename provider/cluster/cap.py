"""MaxClusters: how many clusters the provider may own in a region at once.

RDS refuses a 41st cluster in a region (its default quota), whoever made
the other 40, and says so only when the create call fails. The provider
stops earlier, at ``max_clusters`` (``MAX_CLUSTERS``, the template's
``MaxClusters``, default 20: ``provider.cluster.settings``), with a reason
naming the cap, so per-branch databases cannot crowd out everything else in
the account. Clusters still being deleted count: RDS counts them against its
quota until they are gone, and with ``WaitForDeletion: false`` a stack is
deleted long before its cluster is.
"""

from __future__ import annotations

from provider.cluster import settings
from provider.cluster.inventory import Inventory, is_provider_owned
from provider.cluster.plan import ClusterState
from provider.common.errors import ProviderError


def count_owned(states: list[ClusterState]) -> int:
    """Clusters with the provider's ownership tags, those still being deleted included."""
    return sum(1 for s in states if is_provider_owned(s))


def check(owned: int, limit: int, identifier: str) -> None:
    """Raise ``ProviderError`` when one more cluster would make more than ``limit``."""
    if owned + 1 > limit:
        raise ProviderError(
            f"Not creating cluster {identifier}: the provider owns {owned} clusters in this "
            f"region and MaxClusters is {limit}. Delete unused stacks or raise MaxClusters "
            "on the provider stack."
        )


def enforce(inventory: Inventory, identifier: str, limit: int | None = None) -> None:
    """``check`` against the clusters the provider owns now (one listing of the region).

    ``limit`` defaults to the function's ``max_clusters`` setting.
    """
    limit = limit or settings.current().max_clusters
    check(count_owned(inventory.all_clusters()), limit, identifier)
