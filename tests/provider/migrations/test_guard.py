"""The migrations function runs SQL only on the provider's own clusters."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from aurora_express.local.cfn_local import LambdaContext
from provider.common.errors import ProviderError
from provider.migrations import guard, handler
from provider.migrations.endpoint import ClusterEndpoint
from provider.migrations.migrator import Clients

STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1a2b"
OWNED = {"aurora-express:stack-id": STACK, "aurora-express:logical-id": "Db"}
WRITER = "app-db.cluster-abc.us-east-1.rds.amazonaws.com"
READER = "app-db.cluster-ro-abc.us-east-1.rds.amazonaws.com"


def cluster(tags: dict[str, str]) -> ClusterEndpoint:
    return ClusterEndpoint(
        "app-db", WRITER, 5432, "postgres", "us-east-1", "available", READER, tags
    )


def check(found: ClusterEndpoint | None, **kwargs: Any) -> None:
    args: dict[str, Any] = {
        "cluster_identifier": "app-db",
        "endpoint": None,
        "stack": None,
        "direct": False,
        **kwargs,
    }
    guard.check(found, **args)


def test_a_cluster_the_provider_created_may_be_migrated() -> None:
    check(cluster(OWNED))
    check(cluster(OWNED), cluster_identifier=None, endpoint=READER)


@pytest.mark.parametrize(
    "tags", [{}, {"aurora-express:stack-id": STACK}, {"aurora-express:logical-id": "Db"}]
)
def test_a_cluster_without_both_ownership_tags_is_refused_naming_the_property(
    tags: dict[str, str],
) -> None:
    with pytest.raises(ProviderError, match=r"^Property ClusterIdentifier: cluster app-db was not"):
        check(cluster(tags))


def test_an_endpoint_of_no_cluster_is_refused() -> None:
    with pytest.raises(
        ProviderError, match=r"^Property Endpoint: db\.example\.com is the endpoint"
    ):
        check(None, cluster_identifier=None, endpoint="db.example.com")


def test_an_endpoint_beside_a_cluster_must_be_that_clusters() -> None:
    with pytest.raises(ProviderError, match="is not an endpoint of cluster app-db"):
        check(cluster(OWNED), endpoint="victim.cluster-xyz.us-east-1.rds.amazonaws.com")


def test_loopback_stands_in_for_the_endpoint_only_offline() -> None:
    check(cluster(OWNED), endpoint="localhost", offline=True)
    with pytest.raises(ProviderError):
        check(cluster(OWNED), endpoint="localhost", offline=False)


def test_a_direct_invocation_must_name_the_owning_stack() -> None:
    with pytest.raises(ProviderError, match="must name the stack that owns the cluster"):
        check(cluster(OWNED), direct=True)
    with pytest.raises(ProviderError, match="does not own cluster app-db"):
        check(cluster(OWNED), direct=True, stack="other-app")
    check(cluster(OWNED), direct=True, stack="app")
    check(cluster(OWNED), direct=True, stack=STACK)


def test_a_direct_invocation_naming_an_untagged_cluster_runs_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The probe: a direct invocation naming a cluster the provider did not create."""
    with mock_aws():
        rds = boto3.client("rds")
        rds.create_db_cluster(
            DBClusterIdentifier="payroll",
            Engine="aurora-postgresql",
            MasterUsername="postgres",
            MasterUserPassword="unused-with-iam",
        )
        monkeypatch.setattr(handler, "clients", Clients(rds=rds))
        connected: list[object] = []
        monkeypatch.setattr(
            "provider.migrations.connect.connect", lambda *a, **k: connected.append(a)
        )
        answer = handler.handler(
            {
                "Action": "migrate",
                "ClusterIdentifier": "payroll",
                "StackName": "app",
                "Migrations": [{"Name": "V1__drop.sql", "Sql": "DROP TABLE salaries"}],
            },
            LambdaContext(function_name="aurora-express-migrations"),
        )
    assert answer is not None
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "Property ClusterIdentifier: cluster payroll was not created"
    )
    assert connected == []
