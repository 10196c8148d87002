"""Every cluster in the region, for the MaxClusters cap and the reaper.

``InventoryApi`` is ``rds.ClusterApi`` plus one listing call, made through
``ClusterApi``'s own error handling and state conversion: the RDS calls still
go through ``rds.py``. (It can fold into ``ClusterApi`` as is.)
"""

from __future__ import annotations

from typing import Protocol

from provider.cluster import naming, rds
from provider.cluster.plan import ClusterState


class Inventory(Protocol):
    """What the cap and the reaper need: a listing of the region's clusters."""

    def all_clusters(self) -> list[ClusterState]: ...


class InventoryApi(rds.ClusterApi):
    def all_clusters(self) -> list[ClusterState]:
        """Every cluster in the region with its tags (not its instances), page by page."""
        states: list[ClusterState] = []
        marker: str | None = None
        while True:
            page = self._call(
                "DescribeDBClusters",
                "(all)",
                "describe_db_clusters",
                MaxRecords=100,
                **({"Marker": marker} if marker else {}),
            )
            states += [rds._state(c, []) for c in page.get("DBClusters") or []]
            marker = page.get("Marker")
            if not marker:
                return states


def is_provider_owned(state: ClusterState) -> bool:
    """Whether the cluster carries both of the provider's ownership tags (any stack)."""
    return bool(state.tags.get(naming.OWNER_STACK_TAG)) and bool(
        state.tags.get(naming.OWNER_LOGICAL_TAG)
    )
