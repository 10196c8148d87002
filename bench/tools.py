"""The migration tools compared: how each gets its files and how each is run.

Every tool is a ``Tool``: a renderer (the same logical migrations in the
tool's own format) and the command lines of one run against a ``Target``.
``history`` says whether the tool keeps a history table, so that a no-op
re-run means something (psql has none).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import engine_run, procs, workload
from bench.npm_peers import NpmPeers
from bench.pgserver import Target

REPO = Path(__file__).resolve().parent.parent

Argvs = Callable[[Path, Target], list[list[str]]]


@dataclass(frozen=True)
class Tool:
    name: str
    how: str
    render: Callable[[list[workload.LogicalMigration], Path], Path]
    argvs: Argvs
    history: bool = True
    engine: bool = False
    pycache: Path | None = None  # a private bytecode cache, written by the untimed warm-up
    call: Callable[[Path, Target], object] | None = None  # in this process, not a child
    noop_goal: str = (
        ""  # the no-op re-run's goal, when it is not the engine's "at or under dbmate's"
    )

    def run(self, files: Path, target: Target) -> float:
        """Run the tool once (every command in turn); the wall time of the whole."""
        if self.call is not None:
            start = time.perf_counter()
            self.call(files, target)
            return time.perf_counter() - start
        env = target.env()
        if self.pycache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        start = time.perf_counter()
        for argv in self.argvs(files, target):
            procs.timed(argv, env=env, cwd=REPO)
        return time.perf_counter() - start


def engine_in_process() -> Tool:
    """The engine in the bench's own (warm) process, as a warm Lambda runs it."""

    def call(files: Path, t: Target) -> object:
        return engine_run.run(files, t.host, t.port, t.database, t.user, str(t.ca_path))

    return Tool(
        "aurora-express engine, warm process",
        "engine_run.run() in the bench process (a warm Lambda: modules and RDS client loaded)",
        workload.render_flyway,
        lambda files, t: [],
        engine=True,
        call=call,
    )


def engine(pycache: Path, python: str = sys.executable) -> Tool:
    """The engine in a fresh interpreter, with bytecode cached as in any checkout."""

    def argvs(files: Path, t: Target) -> list[list[str]]:
        return [
            [
                python,
                "-m",
                "bench.engine_run",
                str(files),
                t.host,
                str(t.port),
                t.database,
                t.user,
                str(t.ca_path),
            ]
        ]

    return Tool(
        "aurora-express engine",
        "fresh Python process: import, IAM token, TLS, ensure database, engine.migrate "
        "(Flyway files)",
        workload.render_flyway,
        argvs,
        engine=True,
        pycache=pycache,
    )


def cli_dsn(pycache: Path, python: str = sys.executable) -> Tool:
    """``aurora-express migrate --dsn``, a fresh process: what a developer's re-run costs."""

    def argvs(files: Path, t: Target) -> list[list[str]]:
        return [
            [
                python,
                "-m",
                "aurora_express.cli",
                "migrate",
                str(files),
                "--dsn",
                t.conninfo(),  # the token from PGPASSWORD, as for psql
                "--layout",
                "flyway",
                "--no-keep-tool-history",
            ]
        ]

    return Tool(
        "aurora-express migrate --dsn",
        "the CLI in a fresh Python process: import, TLS verify-full, engine.migrate "
        "(Flyway files, no boto3: the password from PGPASSWORD)",
        workload.render_flyway,
        argvs,
        engine=True,
        pycache=pycache,
        noop_goal="at most 200 ms",
    )


def psql_single(psql: Path) -> Tool:
    def argvs(files: Path, t: Target) -> list[list[str]]:
        return [
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(files), t.conninfo()]
        ]

    return Tool(
        "psql -1 -f",
        "one psql, the concatenation in one transaction",
        workload.render_psql_concat,
        argvs,
        history=False,
    )


def psql_per_file(psql: Path) -> Tool:
    def argvs(files: Path, t: Target) -> list[list[str]]:
        return [
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(f), t.conninfo()]
            for f in sorted(files.glob("*.sql"))
        ]

    return Tool(
        "psql -f per file",
        "one psql per file, in order (a shell loop)",
        workload.render_psql_files,
        argvs,
        history=False,
    )


def dbmate(npm: NpmPeers) -> Tool:
    def argvs(files: Path, t: Target) -> list[list[str]]:
        return [
            [
                str(npm.dbmate),
                "--url",
                t.url(),
                "--migrations-dir",
                str(files),
                "--no-dump-schema",
                "up",
            ]
        ]

    return Tool(
        "dbmate up", "dbmate's native binary from the npm package", workload.render_dbmate, argvs
    )


def drizzle(npm: NpmPeers) -> Tool:
    def argvs(files: Path, t: Target) -> list[list[str]]:
        return [[str(npm.node), str(npm.drizzle_script), str(files)]]

    return Tool(
        "drizzle-orm migrate()",
        "node: pg Pool, drizzle(), migrate(), pool.end()",
        workload.render_drizzle,
        argvs,
    )


def node_pg_migrate(npm: NpmPeers) -> Tool:
    def argvs(files: Path, t: Target) -> list[list[str]]:
        return [
            [
                str(npm.node),
                str(npm.node_pg_migrate),
                "up",
                "-m",
                str(files),
                "--verbose",
                "false",
                "--reject-unauthorized",
                "true",
            ]
        ]

    return Tool(
        "node-pg-migrate up",
        "its CLI, SQL files, defaults (one transaction)",
        workload.render_node_pg_migrate,
        argvs,
    )
