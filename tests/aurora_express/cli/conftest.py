"""The CLI's test bed: moto's server on loopback and a real PostgreSQL (TLS) as the endpoint.

A cluster is created in moto (``aws``, from ``tests.support.aws``); the CLI
looks it up with ``DescribeDBClusters`` as it would in AWS, and
``--endpoint``/``--port`` point it at the embedded server (``pg``), whose
``postgres`` role has for password the IAM token boto3 makes at
``FROZEN_AT``. Tests that log in run the CLI with time frozen there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from aurora_express.local.moto_express import express_semantics
from tests.support.cli import CLUSTER


@pytest.fixture
def cluster(aws: str) -> Iterator[dict[str, Any]]:
    """An express cluster in moto (created as the provider creates it), as RDS describes it."""
    rds = boto3.client("rds")
    with express_semantics(create_seconds=0, delete_seconds=0):
        rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", WithExpressConfiguration=True
        )
        yield dict(rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0])
