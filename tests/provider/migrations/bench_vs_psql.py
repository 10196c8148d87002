"""Time to apply 200 migrations of 10 statements each: the engine against ``psql -1 -f``.

Same server (embedded PostgreSQL 18, TLS verify-full, scram with the IAM
token as password), same files, a fresh database for every run:

- ``engine``: ``provider.migrations`` end to end: connect with a token, lock,
  read the history, apply each file in its own transaction with its history row;
- ``psql -1 -f`` per file: what a shell loop does (200 connections, 200 transactions);
- ``psql -1 -f ... -f`` (200 files, one connection, one transaction): the floor.

Run: ``python -m tests.provider.migrations.bench_vs_psql [rounds]``; prints a table.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import time_machine

from aurora_express.local.embedded_pg import (
    FROZEN_AT,
    TEST_ACCESS_KEY,
    TEST_SECRET_KEY,
    EmbeddedPostgres,
)
from provider.migrations import connect, engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import from_directory

USER = "bench"
COUNT, STATEMENTS = 200, 10


def migration(i: int) -> str:
    t = f"t{i:03d}"
    return f"""CREATE TABLE {t} (id bigint PRIMARY KEY, a text, b int);
INSERT INTO {t} SELECT g, 'x' || g, g FROM generate_series(1, 10) AS g;
ALTER TABLE {t} ADD COLUMN c timestamptz DEFAULT now();
CREATE INDEX {t}_b ON {t} (b);
UPDATE {t} SET b = b + 1 WHERE id <= 5;
COMMENT ON TABLE {t} IS 'migration {i}; with a semicolon in a string';
CREATE VIEW {t}_v AS SELECT id, a FROM {t};
CREATE FUNCTION {t}_count() RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM {t}; $$;
DELETE FROM {t} WHERE id = 10;
ANALYZE {t};
"""


def write_files(folder: Path) -> list[Path]:
    paths = []
    for i in range(1, COUNT + 1):
        path = folder / f"V{i}__step_{i}.sql"
        path.write_text(migration(i))
        paths.append(path)
    return paths


def timed(pg: EmbeddedPostgres, action: Callable[[str], None]) -> float:
    db = pg.create_database()
    try:
        started = time.perf_counter()
        action(db)
        return time.perf_counter() - started
    finally:
        pg.drop_database(db)


def main(rounds: int = 3) -> None:
    with EmbeddedPostgres() as pg, tempfile.TemporaryDirectory() as tmp:
        token = pg.iam_token(USER)
        pg.create_role(USER, token)
        os.environ["DB_SSLROOTCERT"] = str(pg.ca_path)  # verify-full against the test CA
        paths = write_files(Path(tmp))
        the_set = MigrationSet(layouts.load(from_directory(tmp)))
        psql = str(pg.psql())
        env = {
            **os.environ,
            "PGHOST": pg.host,
            "PGPORT": str(pg.port),
            "PGUSER": USER,
            "PGPASSWORD": token,
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": str(pg.ca_path),
        }
        base = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1"]

        def run_engine(db: str) -> None:
            target = connect.Target(pg.host, pg.port, USER, db, "us-east-1")
            with time_machine.travel(FROZEN_AT, tick=False):
                tokens = connect.iam_tokens(boto3_rds())
                with connect.connect(target, tokens, timeout=10) as conn:
                    result = engine.migrate(conn, the_set, Options())
            assert result.applied_count == COUNT

        def psql_each(db: str) -> None:
            for path in paths:
                subprocess.run([*base, "-d", db, "-1", "-f", str(path)], env=env, check=True)

        def psql_all(db: str) -> None:
            files = [arg for path in paths for arg in ("-f", str(path))]
            subprocess.run([*base, "-d", db, "-1", *files], env=env, check=True)

        def noop(db: str) -> None:
            target = connect.Target(pg.host, pg.port, USER, db, "us-east-1")
            with time_machine.travel(FROZEN_AT, tick=False):
                tokens = connect.iam_tokens(boto3_rds())
                with connect.connect(target, tokens, timeout=10) as conn:
                    engine.migrate(conn, the_set, Options())
                    started = time.perf_counter()
                    engine.migrate(conn, the_set, Options())
                    elapsed_ms = (time.perf_counter() - started) * 1000
                    print(f"  no-op re-run on a migrated database: {elapsed_ms:.1f} ms")

        results = {}
        for name, action in (
            ("engine (provider.migrations)", run_engine),
            ("psql -1 -f, once per file", psql_each),
            ("psql -1 -f x200, one transaction", psql_all),
        ):
            samples = [timed(pg, action) for _ in range(rounds)]
            results[name] = statistics.median(samples)
            each = ", ".join(f"{s:.2f}" for s in samples)
            print(f"{name:36s} median {results[name]:.2f} s  ({each})")
        timed(pg, noop)


def boto3_rds() -> Any:
    """An RDS client signing with the credentials ``iam_token`` assumes."""
    return boto3.client(
        "rds",
        region_name="us-east-1",
        aws_access_key_id=TEST_ACCESS_KEY,
        aws_secret_access_key=TEST_SECRET_KEY,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
