"""Layout: auto decides with certainty or refuses; no reading runs another tool's annotations."""

from __future__ import annotations

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import Layout, LayoutError
from tests.support.layouts import files, sample

GOOSE = "-- +goose Up\nCREATE TABLE t (x int);\n-- +goose Down\nDROP TABLE t;\n"


@pytest.mark.parametrize(
    ("folder", "layout"),
    [
        ("goose", Layout.GOOSE),
        ("prisma", Layout.PRISMA),
        ("supabase", Layout.SUPABASE),
        ("liquibase", Layout.LIQUIBASE),
        ("sqitch", Layout.SQITCH),
        ("atlas", Layout.ATLAS),
        ("sqlx", Layout.SQLX),
        ("drizzle-folders", Layout.DRIZZLE),
    ],
)
def test_auto_detects_each_new_sample_folder(folder: str, layout: Layout) -> None:
    assert layouts.detect(sample(folder)) is layout


def test_a_plain_folder_with_goose_annotations_is_refused_naming_the_fix() -> None:
    with pytest.raises(
        LayoutError,
        match=r"001-t\.sql carries goose's annotation '-- \+goose Up', so it is not run as plain "
        r"\(its down part would run too\): set Layout to goose",
    ):
        layouts.load(files({"001-t.sql": GOOSE}), "plain")


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n", "dbmate"),
        ("--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n", "liquibase"),
        ("-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 2;\n", "node-pg-migrate"),
    ],
)
def test_other_tools_annotations_are_never_read_as_plain_sql(text: str, tool: str) -> None:
    with pytest.raises(LayoutError, match=rf"carries {tool}'s annotation"):
        layouts.load(files({"a.sql": text}), "plain")


def test_another_tools_annotations_are_refused_in_any_layout() -> None:
    with pytest.raises(LayoutError, match=r"V1__t\.sql carries goose's annotation"):
        layouts.load(files({"V1__t.sql": GOOSE}), "flyway")


@pytest.mark.parametrize(
    ("marker", "tool"),
    [
        ("sqitch.plan", "sqitch"),
        ("atlas.sum", "atlas"),
        ("migration_lock.toml", "prisma"),
        ("meta/_journal.json", "drizzle"),
    ],
)
def test_a_folder_with_another_tools_own_file_is_not_read_as_plain(marker: str, tool: str) -> None:
    with pytest.raises(LayoutError, match=rf"is {tool}'s own file.*set Layout to {tool}"):
        layouts.load(files({marker: "", "a.sql": "SELECT 1;"}), "plain")


def test_a_folder_that_looks_like_two_tools_is_refused_naming_both() -> None:
    source = files({"V1__a.sql": "SELECT 1;", "00002_b.sql": GOOSE})
    with pytest.raises(
        LayoutError, match=r"more than one tool's: goose \(.*\); flyway \(.*V1__a\.sql\)"
    ):
        layouts.detect(source)


def test_folder_migrations_without_lock_or_snapshot_are_prisma_or_drizzle_so_refused() -> None:
    source = files({"20250301093000_init/migration.sql": "SELECT 1;"})
    with pytest.raises(LayoutError, match=r"Prisma Migrate's or drizzle-kit's.*prisma or drizzle"):
        layouts.detect(source)


def test_a_prisma_folder_is_not_taken_for_drizzles() -> None:
    source = files(
        {
            "migration_lock.toml": 'provider = "postgresql"\n',
            "20250301093000_init/migration.sql": "SELECT 1;",
        }
    )
    assert layouts.read(source).layout is Layout.PRISMA
    with pytest.raises(LayoutError, match=r"migration_lock\.toml is prisma's own file"):
        layouts.load(source, "drizzle")


def test_numbered_files_alone_are_supabase_sqlx_or_plain_so_refused() -> None:
    source = files({"20250301093000_a.sql": "SELECT 1;", "20250302093000_b.sql": "SELECT 2;"})
    with pytest.raises(LayoutError, match=r"Supabase CLI's, sqlx's or plain SQL.*set Layout"):
        layouts.detect(source)


def test_numbered_files_run_as_plain_when_layout_says_so() -> None:
    source = files({"2_b.sql": "SELECT 2;", "1_a.sql": "SELECT 1;"})
    assert [m.name for m in layouts.load(source, "plain")] == ["1_a.sql", "2_b.sql"]


def test_node_pg_migrate_folders_are_refused_as_not_supported() -> None:
    source = files({"1700000000000_init.sql": "-- Up Migration\nSELECT 1;\n-- Down Migration\n"})
    with pytest.raises(LayoutError, match=r"node-pg-migrate SQL migrations.*not supported"):
        layouts.detect(source)


def test_other_files_with_no_marks_are_plain() -> None:
    assert layouts.detect(files({"schema.sql": "", "more/data.sql": ""})) is Layout.PLAIN
