"""What the MaxClusters cap and the reaper see of a region: its clusters, and which are ours.

``rds.ClusterApi.all_clusters`` is the listing; this module holds the
protocol they depend on and the ownership test.
"""

from __future__ import annotations

from typing import Protocol

from provider.cluster import naming
from provider.cluster.plan import ClusterState


class Inventory(Protocol):
    """What the cap and the reaper need: a listing of the region's clusters."""

    def all_clusters(self) -> list[ClusterState]: ...


def is_provider_owned(state: ClusterState) -> bool:
    """Whether the cluster carries both of the provider's ownership tags (any stack)."""
    return bool(state.tags.get(naming.OWNER_STACK_TAG)) and bool(
        state.tags.get(naming.OWNER_LOGICAL_TAG)
    )
