"""dbmate (its npm package's binary) and the engine on one database, each way round.

Whichever ran first, the other applies only what it has not: dbmate's
``schema_migrations`` and the engine's history agree after every step.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.sources import from_directory
from tests.provider.migrations.tools import Conn, Socket, bench_peers, history, run_tool, socket_for
from tests.support.migrations import EXAMPLES

FOLDER = EXAMPLES / "dbmate"
FILES = sorted(p.name for p in FOLDER.glob("*.sql"))


@pytest.fixture
def dbmate() -> Path:
    return bench_peers().dbmate


@pytest.fixture
def socket(pg: EmbeddedPostgres, db: str) -> Socket:
    return socket_for(pg, db)


def folder(tmp_path: Path, count: int, source: Path = FOLDER) -> Path:
    """The first ``count`` migrations of ``source``, as a team's checkout at some commit."""
    target = tmp_path / f"migrations-{count}"
    target.mkdir()
    for name in sorted(p.name for p in source.glob("*.sql"))[:count]:
        shutil.copy(source / name, target / name)
    return target


def dbmate_up(dbmate: Path, socket: Socket, path: Path) -> str:
    argv = [str(dbmate), "--url", socket.dbmate_url(), "--migrations-dir", str(path)]
    return run_tool([*argv, "--no-dump-schema", "up"]).stdout


def engine_run(conn: Conn, path: Path) -> engine.Result:
    the_set = MigrationSet(layouts.load(from_directory(path), "dbmate"), layout="dbmate")
    return engine.migrate(conn, the_set, Options())


def dbmate_versions(conn: Conn) -> list[str]:
    rows = conn.execute("SELECT version FROM public.schema_migrations ORDER BY version")
    return [r[0] for r in rows.fetchall()]


def test_the_engine_adopts_what_dbmate_applied_then_dbmate_finds_nothing_to_do(
    conn: Conn, dbmate: Path, socket: Socket, tmp_path: Path
) -> None:
    dbmate_up(dbmate, socket, folder(tmp_path, 2))

    result = engine_run(conn, FOLDER)
    assert result.adopted == FILES[:2]
    assert result.adopted_from == "dbmate"
    assert [a.name for a in result.applied] == FILES[2:]
    assert dbmate_versions(conn) == [f.split("_")[0] for f in FILES]

    again = dbmate_up(dbmate, socket, FOLDER)
    assert "Applying" not in again
    assert [r[1] for r in history(conn)] == ["dbmate", "dbmate", "aurora-express"]


def test_dbmate_applies_only_what_the_engine_did_not_then_the_engine_adopts_it(
    conn: Conn, dbmate: Path, socket: Socket, tmp_path: Path
) -> None:
    first = engine_run(conn, folder(tmp_path, 2))
    assert [a.name for a in first.applied] == FILES[:2]

    output = dbmate_up(dbmate, socket, FOLDER)
    assert output.count("Applying:") == 1
    assert f"Applying: {FILES[2]}" in output

    last = engine_run(conn, FOLDER)
    assert last.applied == []
    assert last.adopted == FILES[2:]
    assert dbmate_versions(conn) == [f.split("_")[0] for f in FILES]


GRANTING = {
    "20250301093000_reporting.sql": (
        "-- migrate:up\n"
        "CREATE ROLE reporting_th NOLOGIN;\n"
        "GRANT SELECT ON schema_migrations TO reporting_th;\n\n"
        "-- migrate:down\n"
        "REVOKE SELECT ON schema_migrations FROM reporting_th;\n"
        "DROP ROLE reporting_th;\n"
    ),
}


def test_a_first_migration_that_grants_on_dbmates_table_runs_as_under_dbmate(
    conn: Conn, dbmate: Path, socket: Socket, tmp_path: Path
) -> None:
    path = tmp_path / "granting"
    path.mkdir()
    for name, text in GRANTING.items():
        (path / name).write_text(text)
    try:
        result = engine_run(conn, path)
        assert [a.name for a in result.applied] == list(GRANTING)
        grantees = conn.execute(
            "SELECT grantee FROM information_schema.table_privileges"
            " WHERE table_name = 'schema_migrations' AND table_schema = 'public'"
        ).fetchall()
        assert ("reporting_th",) in grantees
        assert "Applying" not in dbmate_up(dbmate, socket, path)
    finally:
        conn.execute("DROP OWNED BY reporting_th; DROP ROLE IF EXISTS reporting_th")
