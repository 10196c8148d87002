"""Many stacks at once against one moto server: every event answered, every cluster gone after."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.moto_express import express_semantics
from aurora_express.local.simulator import (
    LifecycleSimulator,
    SimulationResult,
    ensure_placeholder_function,
)
from tests.support.aws import REGION
from tests.support.cfn import lambda_environment

STACKS = 50
FUNCTION = "aurora-express-cluster"


def _reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """One moto server in this process (express semantics apply), emptied before and after."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    serialize(server)
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.25")  # 50 waiters share 2 cores
    monkeypatch.setenv("AURORA_EXPRESS_SAFETY_SECONDS", "0.5")
    monkeypatch.setenv("AURORA_EXPRESS_RETRY_SECONDS", "0.5")
    monkeypatch.setenv("MAX_CLUSTERS", str(STACKS))
    _reset(url)
    yield url
    _reset(url)
    server.stop()


def serialize(server: ThreadedMotoServer) -> None:
    """One request at a time inside moto: its backends are not thread-safe (a describe racing a
    create fails with "OrderedDict mutated during iteration", sent back as garbled XML). The
    handlers still run concurrently; only moto's own work is serialized, as RDS would be
    consistent."""
    wsgi = server._server
    assert wsgi is not None
    app, lock = wsgi.app, threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))

    wsgi.app = serialized


def all_at_once(
    sims: list[LifecycleSimulator], request: Callable[[LifecycleSimulator], SimulationResult]
) -> list[SimulationResult | None]:
    """``request`` for every stack, each in its own thread, released together."""
    results: list[SimulationResult | None] = [None] * len(sims)
    start = threading.Barrier(len(sims))

    def run(i: int) -> None:
        start.wait()
        results[i] = request(sims[i])

    threads = [threading.Thread(target=run, args=(i,), name=f"stack-{i}") for i in range(len(sims))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return results


@pytest.mark.slow
def test_fifty_stacks_created_and_deleted_at_once_get_every_answer_and_leave_nothing(
    moto_server: str,
) -> None:
    rds = boto3.client("rds", region_name=REGION, endpoint_url=moto_server)
    with express_semantics(create_seconds=1.0, delete_seconds=1.0), ResponseCollector() as cfn:
        ensure_placeholder_function(FUNCTION)
        sims = []
        for i in range(STACKS):  # one Lambda environment per stack, as Lambda scales out
            environment = lambda_environment()
            environment.api()  # its client, made here: boto3 makes clients unsafely in threads
            sims.append(
                LifecycleSimulator(
                    environment.handler,
                    cfn,
                    stack_name=f"load-{i:02d}",
                    logical_id=f"Db{i:02d}",
                    function_name=FUNCTION,
                    endpoint_url=moto_server,
                    max_seconds=150,
                )
            )

        started = time.monotonic()
        created = all_at_once(sims, lambda sim: sim.create({"MaxCapacity": 2}))
        create_seconds = time.monotonic() - started
        statuses = Counter(r.status if r else "unanswered" for r in created)
        assert statuses == {"SUCCESS": STACKS}, {r.reason for r in created if r and r.reason}
        listed = rds.describe_db_clusters()["DBClusters"]
        assert len(listed) == STACKS
        assert {c["Status"] for c in listed} == {"available"}
        assert {r.physical_id for r in created if r} == {c["DBClusterIdentifier"] for c in listed}

        started = time.monotonic()
        deleted = all_at_once(sims, lambda sim: sim.delete({"MaxCapacity": 2}))
        delete_seconds = time.monotonic() - started
        statuses = Counter(r.status if r else "unanswered" for r in deleted)
        assert statuses == {"SUCCESS": STACKS}, {r.reason for r in deleted if r and r.reason}
        assert rds.describe_db_clusters()["DBClusters"] == []
        assert rds.describe_db_instances()["DBInstances"] == []
        assert sum(len(cfn.responses(_key(r))) for r in [*created, *deleted] if r) == 2 * STACKS
    print(
        f"load: {STACKS} stacks, created in {create_seconds:.1f} s, "
        f"deleted in {delete_seconds:.1f} s, {2 * STACKS} events answered"
    )


def _key(result: SimulationResult) -> str:
    return str(result.event["ResponseURL"]).split("?", 1)[0].rsplit("/", 1)[-1]
