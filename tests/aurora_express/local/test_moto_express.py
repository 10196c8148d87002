"""The moto extension: express configuration semantics, in-process and in moto's server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.rds import models
from moto.server import ThreadedMotoServer

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.moto_express import ExpressSemantics, express_semantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler
from tests.support.aws import ManualClock

# The handler runs against moto's server here too, looking every 20 ms.
pytestmark = pytest.mark.usefixtures("fast_timing")


def _create(rds: Any, identifier: str = "db", **kwargs: Any) -> dict[str, Any]:
    return rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        WithExpressConfiguration=True,
        **kwargs,
    )["DBCluster"]


def _status(rds: Any, identifier: str = "db") -> str:
    return str(rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]["Status"])


def test_the_master_username_defaults_to_postgres(rds: Any) -> None:
    assert _create(rds)["MasterUsername"] == "postgres"


def test_the_writer_instance_is_created_with_the_cluster(rds: Any, clock: ManualClock) -> None:
    _create(rds)
    instance = rds.describe_db_instances(DBInstanceIdentifier="db-instance-1")["DBInstances"][0]
    assert instance["DBClusterIdentifier"] == "db"
    assert instance["DBInstanceStatus"] == "creating"


@pytest.mark.parametrize(
    "refused", [{"EngineVersion": "16.4"}, {"EnableHttpEndpoint": True}, {"DatabaseName": "app"}]
)
def test_settings_express_refuses_at_creation_are_refused(
    rds: Any, refused: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as caught:
        _create(rds, **refused)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_a_taken_identifier_is_refused(rds: Any) -> None:
    _create(rds)
    with pytest.raises(ClientError) as caught:
        _create(rds)
    assert caught.value.response["Error"]["Code"] == "DBClusterAlreadyExistsFault"


def test_a_cluster_is_creating_for_the_configured_time_then_available(
    rds: Any, express: ExpressSemantics, clock: ManualClock
) -> None:
    express.set_timings(create_seconds=3)
    _create(rds)
    assert _status(rds) == "creating"
    clock.advance(2.5)
    assert _status(rds) == "creating"
    clock.advance(0.5)
    assert _status(rds) == "available"


def test_a_deleted_cluster_is_deleting_then_gone(
    rds: Any, express: ExpressSemantics, clock: ManualClock
) -> None:
    express.set_timings(create_seconds=0, delete_seconds=3)
    _create(rds)
    rds.delete_db_instance(DBInstanceIdentifier="db-instance-1")
    rds.delete_db_cluster(DBClusterIdentifier="db", SkipFinalSnapshot=True)
    assert _status(rds) == "deleting"
    clock.advance(2.5)
    assert _status(rds) == "deleting"
    clock.advance(0.5)
    with pytest.raises(ClientError) as caught:
        _status(rds)
    assert caught.value.response["Error"]["Code"] == "DBClusterNotFoundFault"


def test_a_cluster_with_instances_cannot_be_deleted(rds: Any, express: ExpressSemantics) -> None:
    express.set_timings(create_seconds=0)
    _create(rds)
    with pytest.raises(ClientError) as caught:
        rds.delete_db_cluster(DBClusterIdentifier="db", SkipFinalSnapshot=True)
    assert caught.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"


def test_a_creating_cluster_cannot_be_modified(rds: Any, express: ExpressSemantics) -> None:
    express.set_timings(create_seconds=5)
    _create(rds)
    with pytest.raises(ClientError) as caught:
        rds.modify_db_cluster(DBClusterIdentifier="db", EnableHttpEndpoint=True)
    assert caught.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"


def test_the_data_api_is_enabled_by_modification(rds: Any, express: ExpressSemantics) -> None:
    express.set_timings(create_seconds=0)
    _create(rds)
    modified = rds.modify_db_cluster(DBClusterIdentifier="db", EnableHttpEndpoint=True)
    assert modified["DBCluster"]["HttpEndpointEnabled"] is True


def test_a_major_upgrade_needs_allow_major_version_upgrade(
    rds: Any, express: ExpressSemantics
) -> None:
    express.set_timings(create_seconds=0)
    _create(rds)
    with pytest.raises(ClientError):
        rds.modify_db_cluster(DBClusterIdentifier="db", EngineVersion="18.0")


def test_a_failed_creation_ends_in_the_given_status(rds: Any, express: ExpressSemantics) -> None:
    express.set_timings(create_seconds=0)
    express.fail_creation("db", status="failed")
    _create(rds)
    assert _status(rds) == "failed"


def test_clusters_without_express_configuration_keep_motos_behaviour(rds: Any) -> None:
    created = rds.create_db_cluster(
        DBClusterIdentifier="plain",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-one",
    )
    assert created["DBCluster"]["DBClusterMembers"] == []


def test_the_patches_are_removed_when_the_block_ends() -> None:
    before = models.RDSBackend.create_db_cluster
    with express_semantics():
        assert models.RDSBackend.create_db_cluster is not before
    assert models.RDSBackend.create_db_cluster is before
    assert "status" not in models.DBInstance.__dict__


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.stop()


def test_the_handler_runs_a_lifecycle_against_moto_server(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo and the benchmarks run this way: the server, the handler and the patches
    share one process."""
    with express_semantics(create_seconds=0.3, delete_seconds=0.3), ResponseCollector() as cfn:
        sim = LifecycleSimulator(handler.handler, cfn, endpoint_url=moto_server)
        created = sim.create({"MaxCapacity": 4}, timeout_seconds=3.0)
        assert created.status == "SUCCESS", created.reason
        rds = boto3.client("rds", region_name="us-east-1", endpoint_url=moto_server)
        assert rds.describe_db_clusters()["DBClusters"][0]["Status"] == "available"
        deleted = sim.delete({})
        assert deleted.status == "SUCCESS", deleted.reason
        assert rds.describe_db_clusters()["DBClusters"] == []


def test_polling_works_against_moto_server(moto_server: str) -> None:
    with express_semantics(create_seconds=2.0), ResponseCollector() as cfn:
        sim = LifecycleSimulator(handler.handler, cfn, endpoint_url=moto_server)
        created = sim.create({}, timeout_seconds=3.0)
        assert created.status == "SUCCESS", created.reason
        assert created.polls >= 1
