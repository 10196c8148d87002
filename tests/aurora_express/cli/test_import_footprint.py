"""A command imports only what it uses: ``--help``, ``plan`` and a no-op ``migrate --dsn``.

Each case runs the CLI in a fresh interpreter and looks at ``sys.modules``
after it (``tests.support.imports``): no AWS SDK for ``--dsn``, no SQL
parser (pglast) while no statement needs splitting, no Powertools in the
CLI, and nothing heavy at all for ``--help`` or a flag argparse refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo

from aurora_express.cli.main import main
from aurora_express.local.embedded_pg import EmbeddedPostgres
from tests.support.imports import cli_code, loaded_after

NOT_FOR_DSN = {"boto3", "botocore", "pglast", "pydantic", "aws_lambda_powertools", "moto"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two Flyway migrations whose statements need no classifying."""
    path = tmp_path / "migrations"
    path.mkdir()
    (path / "V1__accounts.sql").write_text("CREATE TABLE accounts (id int PRIMARY KEY);\n")
    (path / "V2__notes.sql").write_text(
        "CREATE TABLE notes (id int PRIMARY KEY, account int REFERENCES accounts (id));\n"
        "INSERT INTO accounts VALUES (1);\n"
    )
    return path


@pytest.fixture
def applied(pg: EmbeddedPostgres, folder: Path) -> str:
    """A database ``folder`` was applied to, as a connection string."""
    dsn = make_conninfo(**pg.admin_conninfo(pg.create_database()))
    assert main(["migrate", str(folder), "--dsn", dsn]) == 0
    return dsn


def test_help_imports_nothing_heavy() -> None:
    assert loaded_after(cli_code(["--help"])) == set()


def test_each_commands_help_imports_nothing_heavy() -> None:
    for command in ("migrate", "plan", "token", "diff", "demo"):
        assert loaded_after(cli_code([command, "--help"])) == set(), command


def test_a_refused_database_flag_loads_no_property_model(folder: Path) -> None:
    argv = ["migrate", str(folder), "--dsn", "host=nowhere", "--database", "template1"]
    assert loaded_after(cli_code(argv, exit_code=2)) == set()


def test_plan_of_an_up_to_date_database_loads_no_sdk_nor_parser(folder: Path, applied: str) -> None:
    loaded = loaded_after(cli_code(["plan", str(folder), "--dsn", applied]))
    assert "psycopg" in loaded
    assert loaded.isdisjoint(NOT_FOR_DSN)


def test_plan_json_of_applied_migrations_loads_no_parser(folder: Path, applied: str) -> None:
    loaded = loaded_after(cli_code(["plan", str(folder), "--dsn", applied, "--json"]))
    assert loaded.isdisjoint(NOT_FOR_DSN)


def test_a_no_op_migrate_loads_no_sdk_nor_parser(folder: Path, applied: str) -> None:
    loaded = loaded_after(cli_code(["migrate", str(folder), "--dsn", applied]))
    assert loaded.isdisjoint(NOT_FOR_DSN)


def test_a_pending_migration_that_may_need_its_own_transaction_is_split(
    folder: Path, applied: str
) -> None:
    """The other side: a statement to classify loads the parser (the check above can fail)."""
    index = "CREATE INDEX CONCURRENTLY notes_account ON notes (account);\n"
    (folder / "V3__index.sql").write_text(index)
    loaded = loaded_after(cli_code(["plan", str(folder), "--dsn", applied]))
    assert "pglast" in loaded
    assert "boto3" not in loaded
