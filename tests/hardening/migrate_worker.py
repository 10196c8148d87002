"""A migration run in a process of its own, for the kill and concurrency tests.

Usage: ``python -m tests.hardening.migrate_worker <json>``: ``conninfo`` (no
password: it comes from ``PGPASSWORD``), ``files`` (name -> SQL, Flyway
names) and, optionally, ``hold_after`` (a migration after which the run stops
and waits, between two migrations, to be killed). Prints ``applied <name>``
as each migration commits (in a batch, as its notice arrives), then the
result as JSON.
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

    apply_batch = engine._Runner.apply_batch

    def announcing_batch(runner: Any, ms: Any, into: list[engine.Applied]) -> None:
        names = [m.name for m in ms]
        if hold_after in names:  # the message ends with it, so the run can wait after it
            ms = ms[: names.index(hold_after) + 1]

        def on_notice(diag: psycopg.errors.Diagnostic) -> None:
            message = diag.message_primary or ""
            if message.startswith(engine.COMMITTED + " "):  # one migration of the batch committed
                print(f"applied {ms[int(message.rsplit(' ', 1)[1]) - 1].name}", flush=True)

        runner.conn.add_notice_handler(on_notice)
        try:
            apply_batch(runner, ms, into)
        finally:
            runner.conn.remove_notice_handler(on_notice)
        if hold_after in (a.name for a in into):
            time.sleep(600)  # between two migrations, holding the lock: kill me here

    engine._Runner.apply = announcing  # type: ignore[method-assign,assignment]
    engine._Runner.apply_batch = announcing_batch  # type: ignore[method-assign,assignment]
    files = SourceFiles({k: v.encode() for k, v in spec["files"].items()})
    with psycopg.connect(**spec["conninfo"], autocommit=True) as conn:
        result = engine.migrate(conn, MigrationSet(layouts.load(files)), Options(lock_wait=120))
    print(json.dumps(result.as_json()), flush=True)


if __name__ == "__main__":
    main()
