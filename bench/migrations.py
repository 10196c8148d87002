"""Migrations: N migrations of 10 statements, the engine against its peers, then a no-op re-run.

Every run of every tool gets a fresh database on one local PostgreSQL 18
(TLS verify-full, IAM-token password). Within a repetition every tool runs
once, in an order reversed on every other repetition, so drift in the
machine's load falls on all tools alike. After each apply the same tool runs
again on the now-migrated database (the no-op re-run), and the resulting
schema (history tables aside) is fingerprinted: every tool must leave the same.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench import engine_run, npm_peers, tools, workload
from bench.pgserver import BenchPostgres
from bench.stats import Row

APPLY = "Migrations: apply"
NOOP = "Migrations: no-op re-run"


def _tools(pg: BenchPostgres, npm_cache: Path, notes: list[str]) -> list[tools.Tool]:
    found = [tools.engine(), tools.psql_single(pg.psql), tools.psql_per_file(pg.psql)]
    try:
        npm = npm_peers.install(npm_cache)
    except npm_peers.NpmUnavailable as exc:
        notes.append(f"npm peers (dbmate, drizzle-orm, node-pg-migrate) skipped: {exc}")
        return found
    return [*found, tools.dbmate(npm), tools.drizzle(npm), tools.node_pg_migrate(npm)]


def _in_process(pg: BenchPostgres, files: Path) -> tuple[float, float]:
    """The engine in this (warm) process, as a warm Lambda runs it: apply, then no-op."""
    target = pg.fresh()
    try:
        args = (files, target.host, target.port, target.database, target.user, str(target.ca_path))
        start = time.perf_counter()
        engine_run.run(*args)
        apply = time.perf_counter() - start
        start = time.perf_counter()
        engine_run.run(*args)
        return apply, time.perf_counter() - start
    finally:
        pg.drop(target)


def measure(count: int, runs: int, npm_cache: Path) -> tuple[list[Row], list[str]]:
    """Rows for the apply and the no-op re-run of every tool, and notes (skips, schema check)."""
    notes: list[str] = []
    migrations = workload.workload(count)
    size = f"{count} x {workload.STATEMENTS_PER_MIGRATION}"
    with tempfile.TemporaryDirectory(prefix="aurora-express-bench-") as tmp, BenchPostgres() as pg:
        chosen = _tools(pg, npm_cache, notes)
        files = {t.name: t.render(migrations, Path(tmp) / "full") for t in chosen}
        warm = {t.name: t.render(migrations[:2], Path(tmp) / "warm") for t in chosen}
        apply: dict[str, list[float]] = {t.name: [] for t in chosen}
        noop: dict[str, list[float]] = {t.name: [] for t in chosen}
        prints: dict[str, set[tuple[str, int]]] = {t.name: set() for t in chosen}
        # One untimed warm-up each: binaries and modules into the page cache.
        for tool in chosen:
            target = pg.fresh()
            tool.run(warm[tool.name], target)
            pg.drop(target)
        for rep in range(runs):
            for tool in chosen if rep % 2 == 0 else list(reversed(chosen)):
                target = pg.fresh()
                try:
                    apply[tool.name].append(tool.run(files[tool.name], target))
                    if tool.history:
                        noop[tool.name].append(tool.run(files[tool.name], target))
                    prints[tool.name].add(pg.fingerprint(target))
                finally:
                    pg.drop(target)
        in_apply, in_noop = [], []
        engine_files = next((files[t.name] for t in chosen if t.engine), None)
        if engine_files is not None:
            for _ in range(runs):
                a, n = _in_process(pg, engine_files)
                in_apply.append(a)
                in_noop.append(n)
    notes.append(_schema_note(prints))
    rows: list[Row] = []
    for tool in chosen:
        rows.append(
            Row(
                APPLY,
                tool.name,
                apply[tool.name],
                how=f"{size}; {tool.how}",
                baseline=not tool.engine,
                goal="faster than every peer" if tool.engine else "",
            )
        )
    if in_apply:
        rows.append(
            Row(
                APPLY,
                "aurora-express engine, warm process",
                in_apply,
                how=f"{size}; engine_run.run() in the bench process (a warm Lambda)",
            )
        )
    for tool in chosen:
        if tool.history:
            rows.append(
                Row(
                    NOOP,
                    tool.name,
                    noop[tool.name],
                    how=f"all {count} applied; {tool.how}",
                    baseline=not tool.engine,
                    goal="at or under dbmate's" if tool.engine else "",
                )
            )
    if in_noop:
        rows.append(
            Row(
                NOOP,
                "aurora-express engine, warm process",
                in_noop,
                how=f"all {count} applied; engine_run.run() in the bench process",
            )
        )
    return rows, notes


def _schema_note(prints: dict[str, set[tuple[str, int]]]) -> str:
    distinct = {p for ps in prints.values() for p in ps}
    if len(distinct) == 1:
        digest, lines = next(iter(distinct))
        return (
            f"Schema check: every tool left the same schema ({lines} catalog lines, "
            f"sha256 {digest})."
        )
    detail = "; ".join(f"{name}: {sorted(ps)}" for name, ps in prints.items())
    return f"Schema check FAILED: the tools left different schemas ({detail})."
