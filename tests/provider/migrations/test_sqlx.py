"""sqlx folders, resolved as sqlx-core resolves them."""

from __future__ import annotations

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import Layout, LayoutError
from tests.support.layouts import files


def test_simple_and_reversible_files_order_by_integer_version_and_down_never_runs() -> None:
    source = files(
        {
            "10_c.sql": "SELECT 10;",
            "2_b.up.sql": "SELECT 2;",
            "2_b.down.sql": "DROP TABLE everything;",
            "1_a.sql": "SELECT 1;",
        }
    )
    loaded = layouts.load(source, "sqlx")
    assert [m.name for m in loaded] == ["1_a.sql", "2_b.up.sql", "10_c.sql"]
    assert loaded[1].tool is not None and loaded[1].tool.description == "b"


def test_the_description_reads_underscores_as_spaces() -> None:
    (m,) = layouts.load(files({"20250301093000_create_users.sql": "SELECT 1;"}), "sqlx")
    assert m.tool is not None and m.tool.description == "create users"


def test_a_first_line_no_transaction_runs_outside_a_transaction() -> None:
    (m,) = layouts.load(files({"1_i.sql": "-- no-transaction\nSELECT 1;"}), "sqlx")
    assert not m.transactional


def test_a_name_without_an_integer_version_fails_as_sqlx_fails() -> None:
    with pytest.raises(LayoutError, match=r"create_users\.sql: sqlx expects an integer version"):
        layouts.load(files({"1_a.sql": "", "create_users.sql": ""}), "sqlx")


def test_sqlx_marks_tell_its_reversible_files_from_golang_migrates() -> None:
    source = files(
        {
            "20250301093000_a.up.sql": "-- Add up migration script here\nSELECT 1;",
            "20250301093000_a.down.sql": "-- Add down migration script here\n",
        }
    )
    assert layouts.detect(source) is Layout.SQLX
    plain_names = files({"1_a.up.sql": "SELECT 1;", "1_a.down.sql": ""})
    assert layouts.detect(plain_names) is Layout.GOLANG_MIGRATE
