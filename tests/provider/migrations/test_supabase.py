"""Supabase CLI folders, read as the CLI reads supabase/migrations."""

from __future__ import annotations

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import Layout, LayoutError
from tests.support.layouts import files, sample


def test_files_run_in_name_order_and_the_version_is_the_digits_as_written() -> None:
    source = files({"20250302_b.sql": "SELECT 2;", "0001_a.sql": "SELECT 1;"})
    loaded = layouts.load(source, "supabase")
    assert [m.version for m in loaded] == ["0001", "20250302"]


def test_files_that_do_not_match_are_skipped_with_a_warning() -> None:
    reading = layouts.read(
        files({"20250301093000_a.sql": "SELECT 1;", "notes.sql": "SELECT 2;"}), "supabase"
    )
    assert [m.name for m in reading.migrations] == ["20250301093000_a.sql"]
    assert reading.warnings == [
        "notes.sql is skipped: Supabase migrations are named <timestamp>_name.sql."
    ]


def test_an_old_first_init_migration_is_skipped_as_the_cli_skips_it() -> None:
    reading = layouts.read(
        files({"20211208000000_init.sql": "SELECT 0;", "20220101000000_a.sql": "SELECT 1;"}),
        "supabase",
    )
    assert [m.version for m in reading.migrations] == ["20220101000000"]
    assert "20211208000000_init.sql is skipped" in reading.warnings[0]


def test_a_project_folder_is_detected_and_its_seed_is_no_migration() -> None:
    reading = layouts.read(sample("supabase"))
    assert reading.layout is Layout.SUPABASE
    assert [m.name for m in reading.migrations] == [
        "migrations/20250301093000_create_users.sql",
        "migrations/20250302101500_create_posts.sql",
    ]


def test_a_statement_refused_in_a_transaction_fails_the_run() -> None:
    source = files({"20250301093000_i.sql": "CREATE INDEX CONCURRENTLY i ON t (x);"})
    with pytest.raises(
        LayoutError, match=r"20250301093000_i\.sql: .*one transaction.*no-transaction"
    ):
        layouts.load(source, "supabase")
