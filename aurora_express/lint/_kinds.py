"""The two resource types the rules know, described by the providers' own code.

Each ``ResourceKind`` points at the very function the handler validates its
properties with and at the attribute names the handler answers with, so the
lint rules and the deployed provider cannot disagree: there is no second copy
of a range, an enum or a property name here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from provider.cluster import plan
from provider.cluster import properties as cluster
from provider.migrations import properties as migrations

# The contract's Fn::GetAtt names of Custom::AuroraExpressMigrations. The
# handler builds them inline (provider/migrations/handler.py, ``apply``);
# importing it here would start its clients, so they are listed once here.
MIGRATIONS_ATTRIBUTES = frozenset({"AppliedCount", "LatestVersion", "SeedsApplied", "HistoryTable"})


@dataclass(frozen=True)
class ResourceKind:
    """What the rules need to know of one custom resource type."""

    type_name: str
    parse: Callable[[dict[str, Any]], object]  # the handler's validation; raises InvalidProperty
    properties: frozenset[str]
    attributes: frozenset[str]
    service_token_output: str  # the provider stack's output holding the ServiceToken


@cache
def kinds() -> Mapping[str, ResourceKind]:
    """Every known type by name."""
    cluster_kind = ResourceKind(
        type_name=cluster.RESOURCE_TYPE,
        parse=cluster.parse,
        properties=frozenset(cluster.ClusterProperties.model_fields),
        # The handler's own attribute builder, applied to an empty cluster.
        attributes=frozenset(plan.attributes(plan.ClusterState(identifier="x", status=""))),
        service_token_output="ClusterServiceToken",  # noqa: S106 (an output name)
    )
    fields = migrations.MigrationsProperties.model_fields
    migrations_kind = ResourceKind(
        type_name="Custom::AuroraExpressMigrations",
        parse=migrations.parse,
        properties=frozenset(f.alias or name for name, f in fields.items()),
        attributes=MIGRATIONS_ATTRIBUTES,
        service_token_output="MigrationsServiceToken",  # noqa: S106 (an output name)
    )
    return {k.type_name: k for k in (cluster_kind, migrations_kind)}
