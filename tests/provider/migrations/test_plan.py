"""The pure planning rules, on in-memory migrations and history rows."""

from __future__ import annotations

import datetime as dt
import hashlib

from provider.migrations.history import Row
from provider.migrations.model import DrizzleMeta, Kind, Migration
from provider.migrations.plan import SeedMode, make_plan
from provider.migrations.tool_history.base import Verdict
from provider.migrations.tool_history.drizzle import DrizzleRow, DrizzleSnapshot

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def mig(
    version: str, sql: str = "SELECT 1;", kind: Kind = Kind.VERSIONED, **kw: object
) -> Migration:
    name = f"V{version}__m.sql" if kind is Kind.VERSIONED else f"R__{version}.sql"
    return Migration(name, version if kind is Kind.VERSIONED else None, kind, sql, **kw)  # type: ignore[arg-type]


def seed(name: str, sql: str = "SELECT 1;") -> Migration:
    return Migration(name, None, Kind.SEED, sql)


def row(m: Migration, *, checksum: str | None = None, success: bool = True, rank: int = 1) -> Row:
    return Row(rank, m.version, m.name, m.kind, checksum or m.checksum, NOW, 1, "test", success)


def test_nothing_applied_means_everything_pending_in_order() -> None:
    ms = [mig("1"), mig("2")]
    plan = make_plan(ms, [], [])
    assert plan.pending == ms
    assert plan.blocking_problem(allow_out_of_order=False) is None


def test_applied_migrations_are_not_pending() -> None:
    ms = [mig("1"), mig("2")]
    plan = make_plan(ms, [], [row(ms[0])])
    assert plan.pending == [ms[1]]
    assert plan.latest_version == "1"


def test_a_changed_applied_migration_blocks_the_run_naming_the_file() -> None:
    ms = [mig("1", "SELECT 2;"), mig("2")]
    plan = make_plan(ms, [], [row(ms[0], checksum="0" * 64)])
    assert plan.changed == [ms[0]]
    assert "V1__m.sql" in (plan.blocking_problem(allow_out_of_order=False) or "")


def test_an_applied_migration_missing_from_the_source_is_only_a_warning() -> None:
    gone = mig("3")
    plan = make_plan([mig("1")], [], [row(gone, rank=1)])
    assert [r.name for r in plan.missing] == [gone.name]
    assert plan.blocking_problem(allow_out_of_order=False) is None


def test_a_pending_migration_older_than_an_applied_one_is_out_of_order() -> None:
    ms = [mig("1"), mig("2"), mig("3")]
    plan = make_plan(ms, [], [row(ms[0]), row(ms[2])])
    assert plan.out_of_order == [ms[1]]
    assert "V2__m.sql" in (plan.blocking_problem(allow_out_of_order=False) or "")
    assert plan.blocking_problem(allow_out_of_order=True) is None
    assert plan.pending == [ms[1]]


def test_a_failed_non_transactional_migration_is_pending_again() -> None:
    ms = [mig("1")]
    plan = make_plan(ms, [], [row(ms[0], success=False)])
    assert plan.pending == ms


def test_a_repeatable_runs_when_new_or_changed_only() -> None:
    view = mig("view", "CREATE VIEW v AS SELECT 1;", Kind.REPEATABLE)
    assert make_plan([view], [], []).pending == [view]
    assert make_plan([view], [], [row(view)]).pending == []
    assert make_plan([view], [], [row(view, checksum="x")]).pending == [view]


def test_seed_mode_on_change_runs_new_and_changed_seeds() -> None:
    a, b = seed("a.sql"), seed("b.sql")
    rows = [row(a), row(b, checksum="old")]
    assert make_plan([], [a, b], rows, seed_mode=SeedMode.ON_CHANGE).seeds == [b]


def test_seed_mode_always_runs_every_seed() -> None:
    a = seed("a.sql")
    assert make_plan([], [a], [row(a)], seed_mode=SeedMode.ALWAYS).seeds == [a]


def test_seed_mode_once_never_reruns_even_when_changed() -> None:
    a, b = seed("a.sql"), seed("b.sql")
    plan = make_plan([], [a, b], [row(a, checksum="old")], seed_mode=SeedMode.ONCE)
    assert plan.seeds == [b]


def drizzled(version: str, when: int, sql: str = "SELECT 1;") -> Migration:
    meta = DrizzleMeta(hashlib.sha256(sql.encode()).hexdigest(), when)
    return Migration(f"{version}_x.sql", version, Kind.VERSIONED, sql, drizzle=meta)


def drizzle_verdict(ms: list[Migration], rows: list[DrizzleRow]) -> Verdict:
    return DrizzleSnapshot("drizzle-kit", exists=True, rows=tuple(rows)).verdict(ms)


def test_drizzle_applied_migrations_are_adopted_not_rerun() -> None:
    ms = [drizzled("0000", 100), drizzled("0001", 200), drizzled("0002", 300)]
    drizzle_rows = [DrizzleRow(ms[0].drizzle.hash, 100), DrizzleRow(ms[1].drizzle.hash, 200)]  # type: ignore[union-attr]
    plan = make_plan(ms, [], [], tool=drizzle_verdict(ms, drizzle_rows))
    assert plan.adopt == ms[:2]
    assert plan.pending == [ms[2]]


def test_drizzle_row_with_another_hash_is_a_changed_file() -> None:
    ms = [drizzled("0000", 100)]
    plan = make_plan(ms, [], [], tool=drizzle_verdict(ms, [DrizzleRow("f" * 64, 100)]))
    assert plan.changed == ms


def test_drizzle_migrations_already_in_our_history_are_not_adopted_again() -> None:
    ms = [drizzled("0000", 100)]
    drizzle_rows = [DrizzleRow(ms[0].drizzle.hash, 100)]  # type: ignore[union-attr]
    plan = make_plan(ms, [], [row(ms[0])], tool=drizzle_verdict(ms, drizzle_rows))
    assert plan.adopt == []
    assert plan.pending == []
