"""A migration run in a process of its own, for the kill and concurrency tests.

Usage: ``python -m tests.hardening.migrate_worker <json>``: ``conninfo`` (no
password: it comes from ``PGPASSWORD``), ``files`` (name -> SQL, Flyway
names) and, optionally, ``hold_after`` (a migration after which the run stops
and waits, between two migrations, to be killed). Prints ``applied <name>``
as each migration commits, then the result as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import psycopg

from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.model import Migration
from provider.migrations.sources import SourceFiles


def main() -> None:
    spec = json.loads(sys.argv[1])
    hold_after = spec.get("hold_after")
    apply = engine._Runner.apply

    def announcing(runner: Any, migration: Migration) -> engine.Applied:
        applied = apply(runner, migration)
        print(f"applied {migration.name}", flush=True)
        if migration.name == hold_after:
            time.sleep(600)  # between two migrations, holding the lock: kill me here
        return applied

    engine._Runner.apply = announcing  # type: ignore[method-assign,assignment]
    files = SourceFiles({k: v.encode() for k, v in spec["files"].items()})
    with psycopg.connect(**spec["conninfo"], autocommit=True) as conn:
        result = engine.migrate(conn, MigrationSet(layouts.load(files)), Options(lock_wait=120))
    print(json.dumps(result.as_json()), flush=True)


if __name__ == "__main__":
    main()
