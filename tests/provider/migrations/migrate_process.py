"""A separate process that migrates, for the concurrency and kill tests.

Usage: ``python -m tests.provider.migrations.migrate_process <json>`` where the JSON
holds ``conninfo`` (no password: it comes from ``PGPASSWORD``) and
``files`` (name -> SQL, Flyway names). Prints the result as JSON.
"""

from __future__ import annotations

import json
import sys

import psycopg

from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import SourceFiles


def main() -> None:
    spec = json.loads(sys.argv[1])
    files = SourceFiles({k: v.encode() for k, v in spec["files"].items()})
    with psycopg.connect(**spec["conninfo"], autocommit=True) as conn:
        result = engine.migrate(
            conn, MigrationSet(layouts.load(files)), Options(lock_wait=60, keep_tool_history=False)
        )
    print(json.dumps(result.as_json()))


if __name__ == "__main__":
    main()
