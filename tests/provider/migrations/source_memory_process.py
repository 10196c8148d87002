"""A separate process that reads a zip source and migrates it, reporting its peak memory.

Usage: ``python -m tests.provider.migrations.source_memory_process <json>`` where the
JSON holds ``conninfo`` (no password: it comes from ``PGPASSWORD``) and ``zip`` (a
path). Runs what the function runs for an S3 zip (the bounded reader, the layout,
the splitter, the engine) and prints ``{"baseline_mb", "peak_mb", "applied"}``
or ``{"refused": reason}``, before anything ran.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from provider.common.errors import ProviderError
from provider.migrations import sources
from provider.migrations.engine import Options
from provider.migrations.migrator import Migrator, Source


class Database:
    """The embedded server the tests start, logged in to with the conninfo given."""

    def __init__(self, conninfo: dict[str, Any]) -> None:
        self.conninfo = conninfo

    @contextmanager
    def connection(self, *, create: bool) -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(**self.conninfo, autocommit=True) as conn:
            yield conn


def peak_mb() -> float:
    """This process's peak resident memory: VmHWM (getrusage's ru_maxrss keeps, across
    exec, the peak of the process that forked it, pytest's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    spec = json.loads(sys.argv[1])
    baseline = peak_mb()
    data = Path(spec["zip"]).read_bytes()  # what GetObject's body gives, compressed
    try:
        files = sources.unzip(data, "s3://app/db.zip", where="MigrationsS3Uri: s3://app/db.zip")
    except ProviderError as exc:
        print(json.dumps({"refused": str(exc)}))
        return
    del data
    run = Migrator(
        Source.read(files, layout="flyway"),
        Database(spec["conninfo"]),
        Options(lock_wait=60, keep_tool_history=False),
    )
    del files
    result = run.migrate().as_json()
    applied = [m["name"] for m in result.get("applied", [])]
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(), "applied": applied}))


if __name__ == "__main__":
    main()
