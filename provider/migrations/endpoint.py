"""Where a cluster is: its writer endpoint, port, master user and region (DescribeDBClusters).

The one look-up of a cluster's endpoint, for the migrations function (a
``ClusterIdentifier`` without ``Endpoint``) and the CLI (``--cluster``). Its
errors carry what a caller needs to word them its own way: the Lambda uses
their reasons as they are, the CLI rewords them (``CliError``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provider.common import ownership
from provider.common.errors import ProviderError

NOT_FOUND = "DBClusterNotFoundFault"
DEFAULT_PORT = 5432
DEFAULT_USER = "postgres"

_ENDPOINT_REGION = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com\.?$")


@dataclass(frozen=True)
class ClusterEndpoint:
    """A cluster as RDS describes it; ``host`` is None until its writer endpoint exists."""

    identifier: str
    host: str | None
    port: int
    master_username: str
    region: str
    status: str
    reader_host: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def owner(self) -> tuple[str, str] | None:
        """(stack id, logical id) when the provider created the cluster, else None."""
        return ownership.owner(self.tags)

    def serves(self, host: str) -> bool:
        """Whether ``host`` is this cluster's writer or reader endpoint."""
        wanted = host.rstrip(".").lower()
        return wanted in {(h or "").rstrip(".").lower() for h in (self.host, self.reader_host)}

    def require_host(self) -> str:
        """The writer endpoint, or ``NoEndpoint`` while the cluster has none."""
        if not self.host:
            raise NoEndpoint(self)
        return self.host


class LookupFailed(ProviderError):
    """DescribeDBClusters failed; ``code`` is the AWS error code, the exception's type otherwise.

    The original exception is chained (``__cause__``) for callers that word
    it themselves.
    """

    def __init__(self, cluster_identifier: str, code: str) -> None:
        super().__init__(f"Could not look up cluster {cluster_identifier} ({code}).")
        self.cluster_identifier = cluster_identifier
        self.code = code

    @property
    def not_found(self) -> bool:
        return self.code == NOT_FOUND


class NoEndpoint(ProviderError):
    """The cluster exists but has no writer endpoint yet (it is being created)."""

    def __init__(self, cluster: ClusterEndpoint) -> None:
        super().__init__(f"Cluster {cluster.identifier} has no endpoint yet.")
        self.cluster = cluster


def lookup(rds: Any, cluster_identifier: str) -> ClusterEndpoint:
    """``cluster_identifier`` as the RDS client ``rds`` sees it, in that client's region."""
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=cluster_identifier)["DBClusters"]
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise LookupFailed(cluster_identifier, str(code)) from exc
    if not found:
        raise LookupFailed(cluster_identifier, NOT_FOUND)
    return _described(found[0], str(rds.meta.region_name), cluster_identifier)


def find_serving(rds: Any, host: str) -> ClusterEndpoint | None:
    """The cluster whose writer or reader endpoint is ``host``, among the region's, or None."""
    try:
        pages = rds.get_paginator("describe_db_clusters").paginate()
        for page in pages:
            for cluster in page.get("DBClusters", []):
                found = _described(cluster, str(rds.meta.region_name), "")
                if found.serves(host):
                    return found
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise LookupFailed(host, str(code)) from exc
    return None


def _described(cluster: Mapping[str, Any], region: str, asked: str) -> ClusterEndpoint:
    return ClusterEndpoint(
        identifier=str(cluster.get("DBClusterIdentifier") or asked),
        host=str(cluster["Endpoint"]) if cluster.get("Endpoint") else None,
        port=int(cluster.get("Port") or DEFAULT_PORT),
        master_username=str(cluster.get("MasterUsername") or DEFAULT_USER),
        region=region,
        status=str(cluster.get("Status") or "unknown"),
        reader_host=str(cluster["ReaderEndpoint"]) if cluster.get("ReaderEndpoint") else None,
        tags=ownership.tag_map(cluster.get("TagList")),
    )


def region_for(host: str, default: str) -> str:
    """The region in an RDS endpoint's name (what its token is signed for), else ``default``."""
    if match := _ENDPOINT_REGION.search(host):
        return match.group(1)
    return default
