"""MaxClusters: how many clusters the provider may own in a region at once.

RDS refuses a 41st cluster in a region (its default quota), whoever made
the other 40, and says so only when the create call fails. The provider
stops earlier, at ``MAX_CLUSTERS`` (the template's ``MaxClusters``,
default 20), with a reason naming the cap, so per-branch databases cannot
crowd out everything else in the account. Clusters still being deleted
count: RDS counts them against its quota until they are gone, and with
``WaitForDeletion: false`` a stack is deleted long before its cluster is.
"""

from __future__ import annotations

import os

from provider.cluster.inventory import Inventory, is_provider_owned
from provider.cluster.plan import ClusterState
from provider.common.errors import ProviderError

DEFAULT_MAX_CLUSTERS = 20
ENV_NAME = "MAX_CLUSTERS"


def max_clusters(environ: dict[str, str] | None = None) -> int:
    """The cap from ``MAX_CLUSTERS``; the default when unset, empty or not a positive integer."""
    raw = (os.environ if environ is None else environ).get(ENV_NAME, "").strip()
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_MAX_CLUSTERS
    return value if value > 0 else DEFAULT_MAX_CLUSTERS


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
    """``check`` against the clusters the provider owns now (one listing of the region)."""
    check(count_owned(inventory.all_clusters()), limit or max_clusters(), identifier)
