"""Which database a migrations request may run SQL on: only the provider's own clusters.

The function's role may log in to any cluster of the account (``rds-db:connect``
cannot be scoped by tags), and anyone who may deploy a stack may invoke the
function directly. So, before it connects:

- ``ClusterIdentifier`` must name a cluster that carries the provider's
  ownership tags; an ``Endpoint`` given beside it must be that cluster's
  writer or reader endpoint;
- an ``Endpoint`` alone must be the endpoint of such a cluster;
- a direct invocation must also name the stack that owns the cluster
  (``StackName``: its name or id).

In the offline emulation a loopback ``Endpoint`` stands in for a cluster's
and is taken as it is.
"""

from __future__ import annotations

from provider.common import ownership
from provider.common.errors import InvalidProperty, ProviderError
from provider.migrations.endpoint import ClusterEndpoint

NOT_OURS = (
    "cluster {cluster} was not created by aurora-express (it lacks the aurora-express ownership "
    "tags); the migrations function runs SQL only on the provider's clusters."
)


def stands_in(endpoint: str | None, *, offline: bool) -> bool:
    """A loopback endpoint in the offline emulation: no cluster to check."""
    return offline and endpoint is not None and endpoint.rstrip(".").lower() in ownership.LOOPBACK


def check(
    found: ClusterEndpoint | None,
    *,
    cluster_identifier: str | None,
    endpoint: str | None,
    stack: str | None,
    direct: bool,
    offline: bool = False,
) -> None:
    """Raise, naming the property, unless ``found`` may be migrated as asked."""
    prop = "ClusterIdentifier" if cluster_identifier else "Endpoint"
    if found is None:
        raise InvalidProperty(
            "Endpoint",
            f"{endpoint} is the endpoint of no cluster in this region; give ClusterIdentifier.",
        )
    if found.owner is None:
        raise InvalidProperty(prop, NOT_OURS.format(cluster=found.identifier))
    overridden = endpoint and not stands_in(endpoint, offline=offline)
    if cluster_identifier and overridden and not found.serves(endpoint or ""):
        raise InvalidProperty(
            "Endpoint", f"{endpoint} is not an endpoint of cluster {found.identifier}."
        )
    if direct:
        owner_stack = found.owner[0]
        if not stack:
            raise ProviderError(
                "A direct invocation must name the stack that owns the cluster: add "
                "StackName (its name or id)."
            )
        if not ownership.same_stack(stack, owner_stack):
            raise ProviderError(
                f"StackName {stack} does not own cluster {found.identifier}; nothing was run."
            )
