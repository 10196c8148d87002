"""One subject's Create and Delete timings against emulated AWS, in a process of its own.

``python -m bench.lifecycle_run SUBJECT SECONDS RUNS SCALE OUT [WAIT]`` runs RUNS
Create + Delete cycles of ``Custom::AuroraExpress`` under ``moto.mock_aws``
with express semantics (``aurora_express.local.moto_express``: the cluster stays
``creating`` SECONDS x SCALE, deletion takes as long), through
``aurora_express.local.simulator`` (CloudFormation + EventBridge, polls at SCALE times the
rule's rate), and writes JSON to OUT. SUBJECT is ``provider`` (the real
handler; SCALE must be 1) or ``crhelper`` (``bench.crhelper_baseline``). WAIT
(``true``, the default, or ``false``) is the resource's ``WaitForDeletion``.

A process of its own: the handlers configure logging, crhelper keeps state in
module globals, and moto patches botocore; none of it should leak into the
bench. Logs go to this process's stdout, which the bench discards.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import Any

CRHELPER_RATE_SECONDS = 120.0


def _handler(subject: str, scale: float) -> tuple[Any, list[float]]:
    if subject == "provider":
        from provider.cluster.handler import handler

        return handler, []
    from bench import crhelper_baseline

    helper, handler = crhelper_baseline.build(scale)
    return handler, helper.nominal_sleeps


def _one(result: Any, nominal_sleeps: list[float], scale: float, rate: float) -> dict[str, Any]:
    """Wall seconds, and seconds scaled back: scaled waits replaced by their nominal length."""
    if result.seconds is None or result.status != "SUCCESS":
        raise RuntimeError(f"no SUCCESS: {result.status} {result.reason}")
    nominal = result.polls * rate + sum(nominal_sleeps)
    waited = nominal * scale
    return {
        "wall": result.seconds,
        "seconds": result.seconds - waited + nominal,
        "polls": result.polls,
        "invocations": len(result.invocations),
        "nominal_waits": nominal,
    }


def main(argv: list[str]) -> int:
    subject, seconds, runs, scale, out = (
        argv[0],
        float(argv[1]),
        int(argv[2]),
        float(argv[3]),
        argv[4],
    )
    wait = (argv[5] if len(argv) > 5 else "true").lower() != "false"
    from aurora_express.local.cfn_local import OFFLINE_AWS_ENV, ResponseCollector

    os.environ.update(OFFLINE_AWS_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from aurora_express.local.moto_express import express_semantics
    from aurora_express.local.simulator import LifecycleSimulator

    emulated = seconds * scale
    cycles: list[dict[str, Any]] = []
    with mock_aws(), express_semantics(create_seconds=emulated, delete_seconds=emulated):
        handler, nominal_sleeps = _handler(subject, scale)
        rate = CRHELPER_RATE_SECONDS if subject == "crhelper" else 60.0
        with ResponseCollector() as cfn:
            for n in range(runs):
                sim = LifecycleSimulator(
                    handler,
                    cfn,
                    stack_name=f"bench{n}",
                    logical_id="Db",
                    poll_scale=scale,
                    max_seconds=max(600.0, seconds * 20),
                    max_invocations=1000,
                )
                props = {"ClusterIdentifier": f"bench-{subject}-{uuid.uuid4().hex[:8]}"}
                if not wait:
                    props["WaitForDeletion"] = "false"
                nominal_sleeps.clear()
                created = _one(sim.create(props), nominal_sleeps, scale, rate)
                nominal_sleeps.clear()
                deleted = _one(sim.delete(props), nominal_sleeps, scale, rate)
                cycles.append({"create": created, "delete": deleted})
    with open(out, "w") as fh:
        result = {"subject": subject, "seconds": seconds, "scale": scale, "wait": wait}
        json.dump({**result, "cycles": cycles}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
