"""Where a cluster is: its writer endpoint, port, master user and region (DescribeDBClusters).

The one look-up of a cluster's endpoint, for the migrations function (a
``ClusterIdentifier`` without ``Endpoint``) and the CLI (``--cluster``). Its
errors carry what a caller needs to word them its own way: the Lambda uses
their reasons as they are, the CLI rewords them (``CliError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
    cluster = found[0]
    return ClusterEndpoint(
        identifier=str(cluster.get("DBClusterIdentifier") or cluster_identifier),
        host=str(cluster["Endpoint"]) if cluster.get("Endpoint") else None,
        port=int(cluster.get("Port") or DEFAULT_PORT),
        master_username=str(cluster.get("MasterUsername") or DEFAULT_USER),
        region=str(rds.meta.region_name),
        status=str(cluster.get("Status") or "unknown"),
    )


def region_for(host: str, default: str) -> str:
    """The region in an RDS endpoint's name (what its token is signed for), else ``default``."""
    if match := _ENDPOINT_REGION.search(host):
        return match.group(1)
    return default
