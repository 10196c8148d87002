"""When the engine creates and writes the folder's tool's table, and when it leaves it alone."""

from __future__ import annotations

import pytest

from aurora_express.cli.main import build_parser
from provider.common.errors import ProviderError
from provider.migrations import engine, layouts, properties
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.history import TableName
from provider.migrations.sources import SourceFiles, from_directory
from tests.provider.migrations.tools import Conn, history, tables
from tests.support.migrations import EXAMPLES

DBMATE = EXAMPLES / "dbmate"


def dbmate_set(count: int = 3) -> MigrationSet:
    found = layouts.load(from_directory(DBMATE), "dbmate")[:count]
    return MigrationSet(found, layout="dbmate")


def dbmate_versions(conn: Conn) -> list[str]:
    rows = conn.execute("SELECT version FROM public.schema_migrations ORDER BY version")
    return [r[0] for r in rows.fetchall()]


def test_with_keep_tool_history_off_the_tools_table_is_neither_created_nor_written(
    conn: Conn,
) -> None:
    engine.migrate(conn, dbmate_set(), Options(keep_tool_history=False))
    assert "schema_migrations" not in tables(conn)


def test_with_keep_tool_history_off_what_the_tool_applied_is_still_adopted(conn: Conn) -> None:
    engine.migrate(conn, dbmate_set(1), Options())
    conn.execute("DELETE FROM aurora_express.schema_migrations")
    result = engine.migrate(conn, dbmate_set(), Options(keep_tool_history=False))
    assert result.adopted == ["20250301093000_create_users.sql"]
    assert dbmate_versions(conn) == ["20250301093000"]  # the two applied are not recorded


def test_turning_it_on_records_there_what_the_history_already_has(conn: Conn) -> None:
    engine.migrate(conn, dbmate_set(2), Options(keep_tool_history=False))
    result = engine.migrate(conn, dbmate_set(), Options())
    assert [a.name for a in result.applied] == ["20250303080000_index_posts.sql"]
    assert dbmate_versions(conn) == ["20250301093000", "20250302101500", "20250303080000"]


def test_the_tool_table_is_created_before_anything_runs_even_with_nothing_to_run(
    conn: Conn,
) -> None:
    engine.migrate(conn, MigrationSet([], layout="dbmate"), Options())
    assert "schema_migrations" in tables(conn)


def test_a_plain_folder_has_no_tool_table(conn: Conn) -> None:
    files = SourceFiles({"001_users.sql": b"CREATE TABLE users (id int);\n"})
    engine.migrate(conn, MigrationSet(layouts.load(files, "plain"), layout="plain"), Options())
    assert tables(conn) == {"users"}


def test_a_history_table_named_as_the_tools_own_is_refused_before_anything_runs(
    conn: Conn,
) -> None:
    options = Options(history_table=TableName("public", "schema_migrations"))
    with pytest.raises(
        ProviderError, match=r"HistoryTable public.schema_migrations is where dbmate"
    ):
        engine.migrate(conn, dbmate_set(), options)
    assert tables(conn) == set()


def test_the_plan_names_what_would_be_adopted_and_from_which_tool(conn: Conn) -> None:
    engine.migrate(conn, dbmate_set(1), Options())
    conn.execute("DELETE FROM aurora_express.schema_migrations")
    plan = engine.plan(conn, dbmate_set(), Options()).as_json()
    assert plan["adopt"] == ["20250301093000_create_users.sql"]
    assert plan["adoptFrom"] == "dbmate"
    assert [p["name"] for p in plan["pending"]] == [
        "20250302101500_create_posts.sql",
        "20250303080000_index_posts.sql",
    ]


def test_status_names_the_tools_table(conn: Conn) -> None:
    status = engine.status(conn, dbmate_set(), Options())
    assert status["toolHistoryTable"] == "public.schema_migrations"


def test_the_tools_table_follows_the_current_schema(conn: Conn) -> None:
    conn.execute("CREATE SCHEMA app; SET search_path = app")
    engine.migrate(conn, dbmate_set(1), Options())
    assert tables(conn, "app") == {"users", "schema_migrations"}


def test_a_failed_non_transactional_migration_is_not_recorded_for_the_tool(conn: Conn) -> None:
    engine.migrate(conn, dbmate_set(2), Options())
    conn.execute("CREATE TABLE posts_author_idx_blocker ()")
    conn.execute("CREATE INDEX posts_author_idx ON users (id)")  # the name is taken
    with pytest.raises(ProviderError):
        engine.migrate(conn, dbmate_set(), Options())
    assert dbmate_versions(conn) == ["20250301093000", "20250302101500"]
    assert history(conn)[-1][2] is False


# -- the property and the flag --------------------------------------------------------


def test_keep_tool_history_defaults_to_true_and_reads_cloudformations_strings() -> None:
    base = {"ServiceToken": "arn", "Endpoint": "db.example.com"}
    assert properties.parse(base).keep_tool_history is True
    assert properties.parse({**base, "KeepToolHistory": "false"}).keep_tool_history is False


def test_a_keep_tool_history_that_is_not_a_boolean_is_named() -> None:
    base = {"ServiceToken": "arn", "Endpoint": "db.example.com", "KeepToolHistory": "maybe"}
    with pytest.raises(ProviderError, match=r"KeepToolHistory: must be true or false"):
        properties.parse(base)


@pytest.mark.parametrize(("flag", "kept"), [([], True), (["--no-keep-tool-history"], False)])
def test_the_cli_flag_sets_keep_tool_history(flag: list[str], kept: bool) -> None:
    args = build_parser().parse_args(["plan", "db/migrations", *flag])
    assert args.keep_tool_history is kept
