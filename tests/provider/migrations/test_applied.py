"""Each new layout's sample folder, and the reading rules that matter, on a real PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from aurora_express.cli.main import main
from aurora_express.local.embedded_pg import EmbeddedPostgres
from provider.migrations import engine, layouts
from provider.migrations.callbacks import CallbackFailed
from provider.migrations.engine import MigrationFailed, MigrationSet, Options
from provider.migrations.history import TableName
from provider.migrations.layouts import LayoutError
from tests.support.layouts import EXAMPLES, files, history, migrate, sample, tables

Conn = psycopg.Connection[Any]


def history_exists(conn: Conn) -> bool:
    found = conn.execute("SELECT to_regclass('aurora_express.schema_migrations')").fetchone()
    return found is not None and found[0] is not None


@pytest.mark.parametrize(
    ("folder", "count"),
    [
        ("goose", 3),
        ("prisma", 3),
        ("supabase", 2),
        ("liquibase", 5),
        ("sqitch", 3),
        ("atlas", 3),
        ("sqlx", 3),
    ],
)
def test_a_sample_folder_applies_then_reruns_as_a_no_op(
    conn: Conn, folder: str, count: int
) -> None:
    reading = layouts.read(sample(folder))
    the_set = MigrationSet(reading.migrations, layouts.seeds(sample("seeds")))
    first = engine.migrate(conn, the_set, Options())
    assert first.applied_count == count
    assert {"users", "posts"} <= tables(conn)
    assert conn.execute("SELECT name FROM users").fetchall() == [("Ada",)]
    again = engine.migrate(conn, the_set, Options())
    assert (again.applied, again.seeds_applied) == ([], [])
    assert len(history(conn)) == count + 1


def test_the_samples_concurrent_indexes_are_built(conn: Conn) -> None:
    for folder in ("goose", "prisma", "sqitch", "atlas", "sqlx"):
        migrate(conn, sample(folder), history_table=TableName("aurora_express", f"h_{folder}"))
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes"
            " WHERE tablename = 'posts' AND indexname <> 'posts_pkey'"
        ).fetchall()
        assert len(indexes) == 1, folder
        conn.execute("DROP TABLE posts, users CASCADE")


def test_goose_down_never_runs(conn: Conn) -> None:
    text = "-- +goose Up\nCREATE TABLE kept (id int);\n\n-- +goose Down\nDROP TABLE kept;\n"
    result = migrate(conn, files({"20250301093000_kept.sql": text}))
    assert result.applied_count == 1
    assert "kept" in tables(conn)


def test_liquibase_run_on_change_reruns_when_changed_and_run_always_every_time(conn: Conn) -> None:
    def changelog(view: str) -> dict[str, str | bytes]:
        return {
            "changelog.sql": "--liquibase formatted sql\n"
            "--changeset ada:log\nCREATE TABLE log (at timestamptz DEFAULT now());\n"
            f"--changeset ada:view runOnChange:true\nCREATE OR REPLACE VIEW v AS {view};\n"
            "--changeset ada:always runAlways:true\nINSERT INTO log DEFAULT VALUES;\n"
        }

    assert migrate(conn, files(changelog("SELECT 1 AS x"))).applied_count == 3
    again = migrate(conn, files(changelog("SELECT 1 AS x")))
    assert [a.version for a in again.applied] == ["changelog.sql::always::ada"]
    changed = migrate(conn, files(changelog("SELECT 1 AS x, 2 AS y")))
    assert [a.version for a in changed.applied] == [
        "changelog.sql::view::ada",
        "changelog.sql::always::ada",
    ]
    assert conn.execute("SELECT count(*) FROM log").fetchone() == (3,)


def test_a_missing_flyway_placeholder_fails_before_anything_runs(conn: Conn) -> None:
    source = files(
        {"V1__a.sql": "CREATE TABLE a (x int);", "V2__b.sql": "CREATE SCHEMA ${tenant};"}
    )
    with pytest.raises(LayoutError, match=r"V2__b\.sql line 1 uses the placeholder \$\{tenant\}"):
        migrate(conn, source)
    assert not history_exists(conn)
    assert "a" not in tables(conn)


def test_a_flyway_placeholder_value_is_applied_and_a_new_value_is_no_change(conn: Conn) -> None:
    source = files({"V1__schema.sql": "CREATE SCHEMA ${tenant};"})
    assert migrate(conn, source, placeholders={"tenant": "acme"}).applied_count == 1
    assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'acme'").fetchone()
    assert migrate(conn, source, placeholders={"tenant": "other"}).applied_count == 0


CALLBACKS: dict[str, str | bytes] = {
    "beforeMigrate.sql": "CREATE TABLE IF NOT EXISTS events (n serial, what text);\n"
    "INSERT INTO events (what) VALUES ('beforeMigrate');",
    "beforeEachMigrate.sql": "INSERT INTO events (what) VALUES ('beforeEachMigrate');",
    "afterEachMigrate.sql": "INSERT INTO events (what) VALUES ('afterEachMigrate');",
    "afterMigrate__done.sql": "INSERT INTO events (what) VALUES ('afterMigrate');",
    "afterMigrateError.sql": "INSERT INTO events (what) VALUES ('afterMigrateError');",
}


def events(conn: Conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT what FROM events ORDER BY n").fetchall()]


def test_flyway_callbacks_run_at_their_events_and_are_not_recorded(conn: Conn) -> None:
    source = files({**CALLBACKS, "V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;"})
    result = migrate(conn, source)
    assert [a.name for a in result.applied] == ["V1__a.sql", "V2__b.sql"]
    assert events(conn) == [
        "beforeMigrate",
        "beforeEachMigrate",
        "afterEachMigrate",
        "beforeEachMigrate",
        "afterEachMigrate",
        "afterMigrate",
    ]
    assert [row[1] for row in history(conn)] == ["V1__a.sql", "V2__b.sql"]


def test_after_migrate_error_runs_when_a_migration_fails(conn: Conn) -> None:
    source = files({**CALLBACKS, "V1__a.sql": "SELECT 1;", "V2__b.sql": "SELEC 2;"})
    with pytest.raises(MigrationFailed, match=r"V2__b\.sql line 1: 42601"):
        migrate(conn, source)
    assert events(conn)[-2:] == ["beforeEachMigrate", "afterMigrateError"]


def test_a_failing_callback_names_its_file_and_line(conn: Conn) -> None:
    source = files(
        {"V1__a.sql": "SELECT 1;", "beforeMigrate.sql": "SELECT 1;\nSELECT * FROM nope;"}
    )
    with pytest.raises(CallbackFailed, match=r"beforeMigrate\.sql line 2: 42P01"):
        migrate(conn, source)
    assert not history(conn)


def test_crlf_inside_a_string_literal_reaches_the_database_as_written(conn: Conn) -> None:
    source = files(
        {"V1__t.sql": b"CREATE TABLE t (v text);\r\nINSERT INTO t VALUES ('a\r\nb');\r\n"}
    )
    migrate(conn, source)
    assert conn.execute("SELECT v FROM t").fetchone() == ("a\r\nb",)


@pytest.fixture
def dsn(pg: EmbeddedPostgres, db: str) -> str:
    return make_conninfo(**pg.admin_conninfo(db))


def test_an_ambiguous_folder_is_refused_before_anything_runs(
    tmp_path: Path, dsn: str, conn: Conn, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(EXAMPLES / "flyway", folder)
    (folder / "00009_goose.sql").write_text(
        "-- +goose Up\nCREATE TABLE g (x int);\n-- +goose Down\nDROP TABLE g;\n"
    )
    assert main(["migrate", str(folder), "--dsn", dsn]) == 1
    err = capsys.readouterr().err
    assert "looks like more than one tool's: goose" in err
    assert "Set Layout to the tool that wrote it" in err
    assert not history_exists(conn)
    assert tables(conn) == set()


def test_the_cli_passes_placeholders(
    tmp_path: Path, dsn: str, conn: Conn, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "V1__schema.sql").write_text("CREATE SCHEMA ${tenant};")
    assert main(["migrate", str(tmp_path), "--dsn", dsn, "--placeholder", "TENANT=acme"]) == 0
    assert "Applied: 1" in capsys.readouterr().out
    assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'acme'").fetchone()
