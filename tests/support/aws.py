"""AWS for tests: moto with express semantics, in-process or as a server, and what it holds.

``express`` is moto (in-process) whose RDS behaves like express configuration:
clusters are ``creating`` and ``deleting`` for 0.3 s unless the module or test
says otherwise with ``@pytest.mark.express(create_seconds=..., delete_seconds=...)``.
``fast_timing`` makes the cluster handler look every 20 ms, so a whole
lifecycle runs in well under a second per request.

``clock`` puts ``express`` on a clock the test moves by hand, for a test of the
states themselves (no handler waiting on them).

``moto_url`` is one moto server per session (per xdist worker), on an
ephemeral loopback port; ``aws`` points boto3 at it, reset before and after.

Every test starts with ``AURORA_EXPRESS_POLL_KEY_ARN`` naming the poll key's
alias in moto's account and region, as the deployed functions' environment
always names it; the key itself is made in moto with the placeholder function
(``ensure_placeholder_function``, the simulator), as a deployment makes it
with the functions.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest
from moto.server import ThreadedMotoServer

from aurora_express.local.moto_express import ExpressSemantics, express_semantics
from aurora_express.local.simulator import POLL_KEY_ARN
from provider.common.seal import KEY_VARIABLE

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
CREATE_SECONDS = 0.3
DELETE_SECONDS = 0.3


@pytest.fixture(autouse=True)
def poll_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, POLL_KEY_ARN)


@pytest.fixture
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look every 20 ms, keep half a second to answer, retry a refused delete after 0.1 s."""
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.02")
    monkeypatch.setenv("AURORA_EXPRESS_SAFETY_SECONDS", "0.5")
    monkeypatch.setenv("AURORA_EXPRESS_RETRY_SECONDS", "0.1")


@pytest.fixture
def express(request: pytest.FixtureRequest) -> Iterator[ExpressSemantics]:
    """moto (in-process) whose RDS behaves like express configuration."""
    marker = request.node.get_closest_marker("express")
    timings = {"create_seconds": CREATE_SECONDS, "delete_seconds": DELETE_SECONDS}
    timings.update(marker.kwargs if marker else {})
    with moto.mock_aws(), express_semantics(**timings) as live:
        yield live


class ManualClock:
    """A clock only the test moves: the emulated states then follow the test's steps,
    however slowly a loaded machine runs them."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(express: ExpressSemantics) -> ManualClock:
    """``express`` on a ``ManualClock`` (before any cluster is made)."""
    manual = ManualClock()
    express.clock = manual
    return manual


@pytest.fixture
def app_bucket() -> Iterator[Any]:
    """moto (in-process) with an empty bucket ``app``; an S3 client."""
    with moto.mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="app")
        yield client


@pytest.fixture
def rds(express: ExpressSemantics) -> Any:
    """A client of the test's own, beside the handler's."""
    return boto3.client("rds", region_name=REGION)


@pytest.fixture
def cloudformation(express: ExpressSemantics) -> Any:
    return boto3.client("cloudformation", region_name=REGION)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server on an ephemeral loopback port, one per session (per xdist worker)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def reset(moto_url: str) -> None:
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=5).close()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """boto3 pointed at a freshly reset moto server; its URL.

    moto's state lives in this process, shared with ``mock_aws`` tests
    elsewhere: it is reset after the test too, so nothing of it leaks.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    reset(moto_url)
    yield moto_url
    reset(moto_url)


def clusters(rds: Any) -> dict[str, dict[str, Any]]:
    """Every cluster moto holds, by identifier."""
    return {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}


def instances(rds: Any) -> list[str]:
    return [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]


def tags(cluster: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in cluster.get("TagList", [])}
