"""Cold start: a fresh interpreter importing a handler and handling one event, against boto3.

Two figures per subject, each the median of several fresh processes, in
alternating order:

- wall time of ``python -m bench.coldstart_run MODULE EVENT`` (import, build
  the handler's objects, handle a Delete that moto's CloudFormation confirms:
  one DescribeStackResource, then the cluster's of a cluster that does not
  exist, one DescribeDBClusters, against a local moto server; the
  migrations' touches nothing else), against ``python -c "import boto3"``, and the
  ratio of the two medians (goal: at most 1.6, issue 12); beside them
  ``aurora-express --help`` (``python -m aurora_express.cli --help``; goal:
  at most 80 ms);
- ``python -X importtime -c "import MODULE"``: the import alone, as the sum
  of the top-level cumulative times the interpreter reports.

Both are taken twice, each from a private bytecode cache filled by one
untimed run of every subject (``PYTHONPYCACHEPREFIX``, nothing written while
timing): with bytecode for everything, and with bytecode for the standard
library only, which is how a function packaged with ``pip --no-compile``
starts on Lambda (``/var/task`` is read-only, so every cold start compiles
boto3, botocore and the rest from source).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import procs
from bench.stats import Row

REPO = Path(__file__).resolve().parent.parent
HANDLERS = {
    "cluster handler": "provider.cluster.handler",
    "migrations handler": "provider.migrations.handler",
}
SECTION = "Cold start"
IMPORT_SECTION = "Cold start: -X importtime"
_MARK = "--bench-mark--"
NO_BYTECODE = ", no bytecode but the stdlib's"
HELP = "aurora-express --help"
_READ_ONLY = {"PYTHONDONTWRITEBYTECODE": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _moto_client(service: str, port: int) -> Any:
    """A client of the bench's moto server, with moto's test credentials."""
    import boto3

    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _poll_key(port: int) -> str:
    """The provider's poll key, made in the moto server as the template makes it."""

    from aurora_express.local.simulator import ensure_poll_key

    kms = _moto_client("kms", port)
    return ensure_poll_key(kms)


def _events(folder: Path, response_url: str, port: int) -> dict[str, Path]:
    """Delete requests CloudFormation confirms (moto's stack shows each resource deleting),
    so that the handler's own Delete runs, as in a stack's deletion."""

    from aurora_express.local import moto_stacks
    from aurora_express.local.cfn_local import request_event

    cloudformation = _moto_client("cloudformation", port)
    stack = moto_stacks.stack_named(cloudformation, "bench")
    common: dict[str, Any] = {
        "response_url": response_url,
        "service_token": "arn:aws:lambda:us-east-1:123456789012:function:aurora-express-bench",
        "stack": stack,
    }
    events = {
        "provider.cluster.handler": request_event(
            "Delete",
            "Custom::AuroraExpress",
            {"ClusterIdentifier": "bench-missing"},
            physical_id="bench-missing",
            logical_id="Db",
            **common,
        ),
        "provider.migrations.handler": request_event(
            "Delete",
            "Custom::AuroraExpressMigrations",
            {
                "ClusterIdentifier": "bench-missing",
                "Migrations": [{"Name": "V1__a.sql", "Sql": "SELECT 1"}],
            },
            physical_id="bench-missing/postgres/aurora_express.schema_migrations",
            logical_id="Schema",
            **common,
        ),
    }
    for event in events.values():
        moto_stacks.declare(
            stack,
            event["LogicalResourceId"],
            event["ResourceType"],
            event["PhysicalResourceId"],
            stack_status="DELETE_IN_PROGRESS",
        )
    paths = {}
    for module, event in events.items():
        path = folder / f"{module}.json"
        path.write_text(json.dumps(event))
        paths[module] = path
    return paths


def _import_seconds(python: str, module: str, env: dict[str, str]) -> float:
    """The import of ``module`` alone, from ``-X importtime`` (top-level cumulative times)."""
    code = f"import sys; print({_MARK!r}, file=sys.stderr); import {module}"
    done = subprocess.run(
        [python, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    lines = done.stderr.split(_MARK, 1)[1].splitlines()
    total = 0
    for line in lines:
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if name.startswith("   ") or not cumulative.strip().isdigit():
            continue  # nested: already inside a top-level cumulative time
        total += int(cumulative)
    return total / 1_000_000


def _warm(port: int) -> None:
    """One call first: moto's server loads its RDS backend on the first request (seconds)."""

    rds = _moto_client("rds", port)
    with contextlib.suppress(rds.exceptions.DBClusterNotFoundFault):
        rds.describe_db_clusters(DBClusterIdentifier="bench-missing")


def _bytecode_cache(prefix: Path, argvs: Iterable[list[str]], env: dict[str, str]) -> Path:
    """A ``PYTHONPYCACHEPREFIX`` folder with bytecode for all that the subjects import.

    Private to the run, so neither the host's ``__pycache__`` folders nor a
    ``PYTHONDONTWRITEBYTECODE`` in the caller's environment change the figures.
    """
    writable = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for argv in argvs:
        procs.timed(argv, env={**writable, "PYTHONPYCACHEPREFIX": str(prefix)}, cwd=REPO)
    return prefix


def _stdlib_only(full: Path, prefix: Path) -> Path:
    """A copy of ``full`` with the standard library's bytecode only.

    What Lambda's runtime has (its own Python, with bytecode) beside a
    ``--no-compile`` artifact (none, and ``/var/task`` is read-only, so none
    is ever written).
    """
    shutil.copytree(full, prefix)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    keep = prefix / stdlib.relative_to(stdlib.anchor)
    for folder, _dirs, files in os.walk(prefix):
        here = Path(folder)
        inside = here == keep or keep in here.parents
        if not inside or "site-packages" in here.parts:
            for name in files:
                (here / name).unlink()
    return prefix


def measure(runs: int) -> list[Row]:
    """Rows for ``python -c pass``, ``import boto3`` and each handler, with and without bytecode."""
    from moto.server import ThreadedMotoServer

    from aurora_express.local.cfn_local import OFFLINE_AWS_ENV, ResponseCollector

    python = sys.executable
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    _warm(port)
    rows: list[Row] = []
    try:
        with ResponseCollector() as cfn, tempfile.TemporaryDirectory() as tmp:
            events = _events(Path(tmp), cfn.url("coldstart"), port)
            base_env = {
                **os.environ,
                **OFFLINE_AWS_ENV,
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                "PYTHONPATH": str(REPO),
                # As deployed: a request that may poll seals its ResponseURL with this key.
                "AURORA_EXPRESS_POLL_KEY_ARN": _poll_key(port),
            }
            subjects: dict[str, list[str]] = {
                "python -c pass": [python, "-c", "pass"],
                "import boto3": [python, "-c", "import boto3"],
                HELP: [python, "-m", "aurora_express.cli", "--help"],
            }
            for label, module in HANDLERS.items():
                subjects[label] = [python, "-m", "bench.coldstart_run", module, str(events[module])]
            full = _bytecode_cache(Path(tmp) / "pycache", subjects.values(), base_env)
            stdlib_only = _stdlib_only(full, Path(tmp) / "pycache-stdlib")
            answered_before = len(cfn.responses("coldstart"))
            variants = {
                label: {**base_env, "PYTHONPYCACHEPREFIX": str(cache), **_READ_ONLY}
                for label, cache in (("", full), (NO_BYTECODE, stdlib_only))
            }
            for suffix, env in variants.items():
                procs.timed(subjects["import boto3"], env=env, cwd=REPO)  # warm the page cache
                walls: dict[str, list[float]] = {name: [] for name in subjects}
                imports: dict[str, list[float]] = {
                    "boto3": [],
                    **{m: [] for m in HANDLERS.values()},
                }
                for rep in range(runs):
                    names = list(subjects) if rep % 2 == 0 else list(reversed(subjects))
                    for name in names:
                        walls[name].append(procs.timed(subjects[name], env=env, cwd=REPO))
                    for module, values in imports.items():
                        values.append(_import_seconds(python, module, env))
                rows.extend(_rows(walls, imports, suffix))
            answered = len(cfn.responses("coldstart")) - answered_before
            expected = 2 * runs * len(HANDLERS)
            if answered != expected:
                raise RuntimeError(f"cold start: {answered} responses, expected {expected}")
            statuses = {r.body["Status"] for r in cfn.responses("coldstart")}
            if statuses != {"SUCCESS"}:  # a refused request would not be the handler's Delete
                raise RuntimeError(f"cold start: the Deletes were answered {sorted(statuses)}")
    finally:
        server.stop()
    return rows


def _rows(walls: dict[str, list[float]], imports: dict[str, list[float]], suffix: str) -> list[Row]:
    rows = []
    section = SECTION + suffix
    how_event = "fresh interpreter: import, one Delete, response PUT, exit"
    for name, values in walls.items():
        how = {
            "python -c pass": "the interpreter alone (reference)",
            "import boto3": "fresh interpreter: import boto3, exit",
            HELP: "python -m aurora_express.cli --help: parser built, help printed",
        }.get(name, how_event)
        goal = "at most 80 ms" if name == HELP else ""
        rows.append(Row(section, name, values, how=how, baseline=name == "import boto3", goal=goal))
    boto = statistics.median(walls["import boto3"])
    for name in HANDLERS:
        ratio = [v / boto for v in walls[name]]
        rows.append(
            Row(
                section,
                f"{name} / import boto3",
                ratio,
                unit="x",
                how="each run's wall time over the median of import boto3",
                goal="at most 1.6x",
            )
        )
    for module, values in imports.items():
        rows.append(
            Row(
                IMPORT_SECTION + suffix,
                f"import {module}",
                values,
                how="python -X importtime: sum of top-level cumulative times",
                baseline=module == "boto3",
            )
        )
    return rows
