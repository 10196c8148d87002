"""``aurora-express migrate`` and ``plan`` against real PostgreSQL: --local, --dsn, --cluster."""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine
from psycopg.conninfo import make_conninfo

from aurora_express.cli.main import main
from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from tests.support.cli import CLUSTER, endpoint_args
from tests.support.paths import ROOT
from tests.support.processes import processes_in

EXAMPLES = ROOT / "examples"


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    """A copy of examples/migrations that a test may change."""
    return Path(shutil.copytree(EXAMPLES / "migrations", tmp_path / "migrations"))


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLES / "seeds", tmp_path / "seeds"))


@pytest.fixture
def dsn(pg: EmbeddedPostgres) -> str:
    """A fresh, empty database on the embedded server, as a libpq connection string."""
    return make_conninfo(**pg.admin_conninfo(pg.create_database()))


def rows(dsn: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


# -- migrate --------------------------------------------------------------------


def test_migrate_local_applies_the_examples_and_prints_the_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["migrate", str(EXAMPLES / "migrations"), "--seeds", str(EXAMPLES / "seeds"), "--local"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "flyway layout, 4 migrations, 2 seeds" in out
    assert "Applied: 4" in out
    assert "Seeds applied: 2" in out
    assert "Latest version: 2.1" in out
    assert "table public.orders" in out
    assert "index orders_customer_id_idx: USING btree (customer_id)" in out
    assert "view public.customer_totals" in out
    assert "type public.order_status: enum (pending, paid, shipped, cancelled)" in out
    assert "aurora_express" not in out.split("Schema after the migrations:")[1]


def test_migrate_local_leaves_no_server_or_folder_behind(
    open_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(open_tmp))
    assert main(["migrate", str(EXAMPLES / "migrations"), "--local"]) == 0
    capsys.readouterr()
    # Only the caches embedded_pg keeps for the next run (binaries, initdb template).
    caches = ("aurora-express-pg-postgresql", "aurora-express-pg-template")
    assert [p.name for p in open_tmp.iterdir() if not p.name.startswith(caches)] == []
    assert processes_in(open_tmp) == []


def test_migrate_dsn_applies_once_then_nothing(
    dsn: str, migrations: Path, seeds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", str(migrations), "--seeds", str(seeds), "--dsn", dsn]) == 0
    assert "Applied: 4" in capsys.readouterr().out
    assert main(["migrate", str(migrations), "--seeds", str(seeds), "--dsn", dsn]) == 0
    second = capsys.readouterr().out
    assert "Applied: 0" in second
    assert "Seeds applied: 0" in second
    assert rows(dsn, "SELECT count(*) FROM customers") == [(3,)]
    applied_by = rows(dsn, "SELECT DISTINCT applied_by FROM aurora_express.schema_migrations")
    assert applied_by[0][0].startswith("aurora-express-cli ")


def test_migrate_stops_on_a_changed_migration_naming_it(
    dsn: str, migrations: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", str(migrations), "--dsn", dsn]) == 0
    (migrations / "V1__create_customers.sql").write_text("CREATE TABLE changed (id int);\n")
    (migrations / "V3__later.sql").write_text("CREATE TABLE later (id int);\n")
    capsys.readouterr()
    assert main(["migrate", str(migrations), "--dsn", dsn]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aurora-express: error: V1__create_customers.sql was changed")
    assert rows(dsn, "SELECT to_regclass('later') IS NULL") == [(True,)]


def test_migrate_failure_names_file_sqlstate_and_line(
    dsn: str, migrations: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (migrations / "V3__broken.sql").write_text("-- one\n-- two\nSELECT * FROM no_such_table;\n")
    assert main(["migrate", str(migrations), "--dsn", dsn]) == 1
    err = capsys.readouterr().err
    assert "V3__broken.sql line 3: 42P01" in err
    assert "no_such_table" in err
    assert rows(dsn, "SELECT max(version) FROM aurora_express.schema_migrations") == [("2.1",)]


def test_migrate_cluster_uses_an_iam_token_over_tls_and_creates_the_database(
    cluster: dict[str, Any],
    tls: EmbeddedPostgres,
    migrations: Path,
    seeds: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = "app_cli_cluster"
    tls.drop_database(database)
    argv = ["migrate", str(migrations), "--seeds", str(seeds), "--cluster", CLUSTER]
    with time_machine.travel(FROZEN_AT, tick=False):
        code = main([*argv, "--database", database, *endpoint_args(tls)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Applied: 4" in captured.out
    assert f"Connecting to localhost:{tls.port} as postgres (IAM token, TLS)" in captured.err
    dsn = make_conninfo(**tls.admin_conninfo(database))
    assert rows(dsn, "SELECT count(*) FROM orders") == [(4,)]


def test_migrate_cluster_with_a_wrong_token_fails_with_the_servers_reason(
    cluster: dict[str, Any],
    tls: EmbeddedPostgres,
    migrations: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No frozen clock: the token is not the role's password, and no retry can fix that."""
    code = main(["migrate", str(migrations), "--cluster", CLUSTER, *endpoint_args(tls)])
    err = capsys.readouterr().err
    assert code == 1
    assert "Could not connect to localhost" in err
    assert "password authentication failed" in err


def test_migrate_cluster_that_does_not_exist_exits_1(
    aws: str, migrations: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", str(migrations), "--cluster", "nope"]) == 1
    assert "no cluster 'nope'" in capsys.readouterr().err


LAYOUTS = sorted(p.name for p in (EXAMPLES / "layouts").iterdir() if p.name != "seeds")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_migrate_reads_every_layout_the_provider_reads(
    layout: str, dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(EXAMPLES / "layouts" / layout)
    assert main(["migrate", folder, "--dsn", dsn]) == 0
    assert f"({layout.removesuffix('-folders')} layout" in capsys.readouterr().out
    assert main(["plan", folder, "--dsn", dsn]) == 0
    assert "Would run: 0" in capsys.readouterr().out


# -- plan -----------------------------------------------------------------------


def test_plan_without_target_lists_everything_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", str(EXAMPLES / "migrations"), "--seeds", str(EXAMPLES / "seeds")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Would run: 4" in out
    assert out.index("V2__create_orders.sql") < out.index("V2.1__index_orders_by_customer.sql")
    assert "V2.1__index_orders_by_customer.sql  (version 2.1, outside a transaction)" in out
    assert "Seeds that would run: 2" in out
    assert out.rstrip().endswith("migrate would succeed")


def test_plan_shows_pending_changed_and_out_of_order_without_applying(
    dsn: str, migrations: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", str(migrations), "--dsn", dsn]) == 0
    (migrations / "V1__create_customers.sql").write_text("-- edited\nSELECT 1;\n")
    (migrations / "V1.5__late.sql").write_text("CREATE TABLE late (id int);\n")
    (migrations / "V3__next.sql").write_text("CREATE TABLE next (id int);\n")
    capsys.readouterr()
    assert main(["plan", str(migrations), "--dsn", dsn, "--json"]) == 1
    shown = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in shown["pending"]] == ["V1.5__late.sql", "V3__next.sql"]
    assert [m["name"] for m in shown["changed"]] == ["V1__create_customers.sql"]
    assert shown["outOfOrder"] == ["V1.5__late.sql"]
    assert "V1__create_customers.sql was changed" in shown["problem"]
    assert rows(dsn, "SELECT to_regclass('next') IS NULL") == [(True,)]


def test_plan_out_of_order_passes_when_allowed(
    dsn: str, migrations: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", str(migrations), "--dsn", dsn]) == 0
    (migrations / "V1.5__late.sql").write_text("CREATE TABLE late (id int);\n")
    assert main(["plan", str(migrations), "--dsn", dsn]) == 1
    assert "Out of order (older than applied ones): 1" in capsys.readouterr().out
    assert main(["plan", str(migrations), "--dsn", dsn, "--allow-out-of-order"]) == 0
    assert main(["migrate", str(migrations), "--dsn", dsn, "--allow-out-of-order"]) == 0
    out = capsys.readouterr().out
    assert "Warning: Applied out of order: V1.5__late.sql." in out


def test_plan_reports_migrations_missing_from_the_source(
    dsn: str, migrations: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", str(migrations), "--dsn", dsn]) == 0
    (migrations / "R__customer_totals_view.sql").unlink()
    capsys.readouterr()
    assert main(["plan", str(migrations), "--dsn", dsn]) == 0
    assert "Applied but missing from the source: 1\n    R__customer_totals_view.sql" in (
        capsys.readouterr().out
    )


def test_plan_cluster_reads_the_history_over_tls(
    cluster: dict[str, Any], tls: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tls.create_database()
    argv = ["plan", str(EXAMPLES / "migrations"), "--cluster", CLUSTER, "--database", database]
    with time_machine.travel(FROZEN_AT, tick=False):
        assert main([*argv, *endpoint_args(tls)]) == 0
    assert "Would run: 4" in capsys.readouterr().out


# -- usage ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["migrate", "examples/migrations"],  # no target
        ["migrate", "examples/migrations", "--local", "--dsn", "x"],  # two targets
        ["plan", "examples/migrations", "--local"],  # plan has no --local
        ["migrate", "--local"],  # no path
        ["migrate", "examples/migrations", "--local", "--layout", "alembic"],
        [],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage: aurora-express" in capsys.readouterr().err


def test_a_path_that_is_not_a_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(tmp_path / "missing")]) == 2
    assert "missing: no such folder" in capsys.readouterr().err


def test_connection_options_without_cluster_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", str(EXAMPLES / "migrations"), "--local", "--port", "5433"]) == 2
    assert "--port only apply with --cluster" in capsys.readouterr().err


def test_statement_timeout_stops_a_slow_migration(
    dsn: str, migrations: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (migrations / "V3__slow.sql").write_text("SELECT pg_sleep(5);\n")
    argv = ["migrate", str(migrations), "--dsn", dsn, "--statement-timeout", "1"]
    assert main(argv) == 1
    assert "V3__slow.sql: 57014 canceling statement due to statement timeout" in (
        capsys.readouterr().err
    )


def test_a_bad_history_table_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", str(EXAMPLES / "migrations"), "--history-table", "no-dot"]
    assert main(argv) == 2
    assert "--history-table" in capsys.readouterr().err


def test_a_broken_layout_exits_1_with_the_layouts_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "V1__a.sql").write_text("SELECT 1;")
    (tmp_path / "V1.0__b.sql").write_text("SELECT 2;")
    assert main(["plan", str(tmp_path)]) == 1
    assert "have the same version 1" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["migrate", "plan", "token", "psql", "demo"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: aurora-express {command}" in capsys.readouterr().out


def test_plan_cluster_reads_a_missing_database_as_empty(
    cluster: dict[str, Any], tls: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"missing_{secrets.token_hex(4)}"
    argv = ["plan", str(EXAMPLES / "migrations"), "--cluster", CLUSTER, "--database", database]
    with time_machine.travel(FROZEN_AT, tick=False):
        assert main([*argv, *endpoint_args(tls)]) == 0
    captured = capsys.readouterr()
    assert f"Database {database} does not exist on localhost. migrate would create" in captured.err
    assert "Would run: 4" in captured.out
    with psycopg.connect(make_conninfo(**tls.admin_conninfo())) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        assert found.fetchone() is None  # plan wrote nothing
