"""Migrations: N migrations of 10 statements, the engine against its peers, then a no-op re-run.

Every run of every tool gets a fresh database on one local PostgreSQL 18
(TLS verify-full, IAM-token password). Within a repetition every tool runs
once, in an order reversed on every other repetition, so drift in the
machine's load falls on all tools alike. After each apply the same tool runs
again on the now-migrated database (the no-op re-run), and the resulting
schema (history tables aside) is fingerprinted: every tool must leave the same.

Loopback hides what a network costs; a second round sends every tool through
``bench.latency.LatencyProxy`` (10 ms round trip by default), where the number
of round trips a tool makes per migration shows.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import npm_peers, tools, workload
from bench.latency import LatencyProxy
from bench.pgserver import BenchPostgres
from bench.stats import Row

APPLY = "Migrations: apply"
NOOP = "Migrations: no-op re-run"


def _tools(pg: BenchPostgres, npm_cache: Path, pycache: Path, notes: list[str]) -> list[tools.Tool]:
    found = [
        tools.engine(pycache),
        tools.cli_dsn(pycache),
        tools.engine_in_process(),
        tools.psql_single(pg.psql),
        tools.psql_per_file(pg.psql),
    ]
    try:
        npm = npm_peers.install(npm_cache)
    except npm_peers.NpmUnavailable as exc:
        notes.append(f"npm peers (dbmate, drizzle-orm, node-pg-migrate) skipped: {exc}")
        return found
    return [*found, tools.dbmate(npm), tools.drizzle(npm), tools.node_pg_migrate(npm)]


@dataclass
class _Round:
    """The timings of one round: every tool, ``runs`` times, in alternating order."""

    apply: dict[str, list[float]] = field(default_factory=dict)
    noop: dict[str, list[float]] = field(default_factory=dict)
    prints: dict[str, set[tuple[str, int]]] = field(default_factory=dict)


def _round(
    pg: BenchPostgres, chosen: list[tools.Tool], files: dict[str, Path], runs: int
) -> _Round:
    found = _Round(
        {t.name: [] for t in chosen}, {t.name: [] for t in chosen}, {t.name: set() for t in chosen}
    )
    for rep in range(runs):
        for tool in chosen if rep % 2 == 0 else list(reversed(chosen)):
            target = pg.fresh()
            try:
                found.apply[tool.name].append(tool.run(files[tool.name], target))
                if tool.history:
                    found.noop[tool.name].append(tool.run(files[tool.name], target))
                found.prints[tool.name].add(pg.fingerprint(target))
            finally:
                pg.drop(target)
    return found


def _rows(
    found: _Round, chosen: list[tools.Tool], sections: tuple[str, str], size: str, count: int
) -> list[Row]:
    apply_section, noop_section = sections
    rows: list[Row] = []
    for tool in chosen:
        rows.append(
            Row(
                apply_section,
                tool.name,
                found.apply[tool.name],
                how=f"{size}; {tool.how}",
                baseline=not tool.engine,
                goal="faster than every peer" if tool.engine else "",
            )
        )
    for tool in chosen:
        if tool.history:
            rows.append(
                Row(
                    noop_section,
                    tool.name,
                    found.noop[tool.name],
                    how=f"all {count} applied; {tool.how}",
                    baseline=not tool.engine,
                    goal=tool.noop_goal or ("at or under dbmate's" if tool.engine else ""),
                )
            )
    return rows


def measure(
    count: int, runs: int, npm_cache: Path, *, rtt_ms: float = 0.0, rtt_runs: int = 1
) -> tuple[list[Row], list[str]]:
    """Rows for the apply and the no-op re-run of every tool, and notes (skips, schema check).

    With ``rtt_ms``, a second round goes through a ``LatencyProxy`` adding that
    round-trip time (``psql -f`` per file left out: hundreds of connections).
    """
    notes: list[str] = []
    migrations = workload.workload(count)
    size = f"{count} x {workload.STATEMENTS_PER_MIGRATION}"
    rows: list[Row] = []
    prints: dict[str, set[tuple[str, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="aurora-express-bench-") as tmp, BenchPostgres() as pg:
        chosen = _tools(pg, npm_cache, Path(tmp) / "pycache", notes)
        files = {t.name: t.render(migrations, Path(tmp) / "full") for t in chosen}
        warm = {t.name: t.render(migrations[:2], Path(tmp) / "warm") for t in chosen}
        # One untimed warm-up each: binaries, modules and bytecode into their caches.
        for tool in chosen:
            target = pg.fresh()
            tool.run(warm[tool.name], target)
            pg.drop(target)
        found = _round(pg, chosen, files, runs)
        rows += _rows(found, chosen, (APPLY, NOOP), size, count)
        prints = found.prints
        if rtt_ms > 0:
            over = [t for t in chosen if t.name != "psql -f per file"]
            with LatencyProxy(pg.pg.port, rtt_ms / 2000) as proxy:
                pg.connect_via(proxy.port)
                slow = _round(pg, over, files, rtt_runs)
            label = f"Migrations over {rtt_ms:g} ms RTT"
            rows += _rows(slow, over, (f"{label}: apply", f"{label}: no-op re-run"), size, count)
            for name, seen in slow.prints.items():
                prints[name] = prints.get(name, set()) | seen
    notes.append(_schema_note(prints))
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
