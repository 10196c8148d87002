"""Layout discovery and parsing, on in-memory files and on the sample folders."""

from __future__ import annotations

import hashlib
import json

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import Layout, LayoutError
from provider.migrations.model import Kind, checksum
from provider.migrations.sources import SourceFiles, from_directory
from tests.support.migrations import EXAMPLES, source


def names(files: dict[str, str], layout: str = "auto") -> list[str]:
    return [m.name for m in layouts.load(source(files), layout)]


@pytest.mark.parametrize(
    ("folder", "layout"),
    [
        ("flyway", Layout.FLYWAY),
        ("drizzle", Layout.DRIZZLE),
        ("drizzle-folders", Layout.DRIZZLE),
        ("dbmate", Layout.DBMATE),
        ("golang-migrate", Layout.GOLANG_MIGRATE),
        ("plain", Layout.PLAIN),
    ],
)
def test_auto_detects_each_sample_folder(folder: str, layout: Layout) -> None:
    assert layouts.detect(from_directory(EXAMPLES / folder)) is layout


def test_flyway_versions_order_numerically() -> None:
    files = {f"V{v}__m.sql": "SELECT 1;" for v in ("1.2.10", "1.2.9", "10", "2", "1")}
    assert names(files) == [
        "V1__m.sql",
        "V1.2.9__m.sql",
        "V1.2.10__m.sql",
        "V2__m.sql",
        "V10__m.sql",
    ]


def test_flyway_versions_1_0_and_1_are_the_same_version() -> None:
    with pytest.raises(LayoutError, match="same version 1"):
        names({"V1__a.sql": "", "V1.0__b.sql": ""})


def test_flyway_underscore_separates_version_parts() -> None:
    (m,) = layouts.load(source({"V1_1__a.sql": ""}))
    assert m.version == "1.1"


def test_flyway_repeatables_come_after_versioned_in_description_order() -> None:
    files = {"R__b.sql": "", "V2__x.sql": "", "R__a.sql": "", "V1__y.sql": ""}
    loaded = layouts.load(source(files))
    assert [m.name for m in loaded] == ["V1__y.sql", "V2__x.sql", "R__a.sql", "R__b.sql"]
    assert [m.kind for m in loaded] == [Kind.VERSIONED] * 2 + [Kind.REPEATABLE] * 2
    assert loaded[2].version is None


def test_flyway_ignores_files_that_are_not_migrations() -> None:
    assert names(
        {"V1__a.sql": "", "README.md": "", "U1__undo.sql": "", "beforeMigrate.sql": ""}
    ) == ["V1__a.sql"]


def test_flyway_files_in_subfolders_are_found() -> None:
    assert names({"sql/core/V1__a.sql": "", "sql/V2__b.sql": ""}) == [
        "sql/core/V1__a.sql",
        "sql/V2__b.sql",
    ]


def journal(*entries: tuple[str, int]) -> str:
    return json.dumps(
        {
            "version": "7",
            "dialect": "postgresql",
            "entries": [
                {"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": True}
                for i, (tag, when) in enumerate(entries)
            ],
        }
    )


def test_drizzle_journal_is_the_order_and_carries_hash_and_when() -> None:
    raw = 'CREATE TABLE "a" ("id" serial);\n--> statement-breakpoint\nCREATE TABLE "b" (x int);\n'
    files = {
        "drizzle/meta/_journal.json": journal(("0001_zeta", 200), ("0000_alpha", 100)),
        "drizzle/0000_alpha.sql": raw,
        "drizzle/0001_zeta.sql": "SELECT 1;",
    }
    loaded = layouts.load(source(files))
    assert [m.name for m in loaded] == ["drizzle/0001_zeta.sql", "drizzle/0000_alpha.sql"]
    alpha = loaded[1]
    assert alpha.version == "0000"
    assert alpha.drizzle is not None
    assert alpha.drizzle.created_at == 100
    assert alpha.drizzle.hash == hashlib.sha256(raw.encode()).hexdigest()


def test_drizzle_statement_breakpoints_separate_statements() -> None:
    raw = "SELECT 1\n--> statement-breakpoint\nSELECT 2"  # no ';' before the breakpoint
    files = {"meta/_journal.json": journal(("0000_a", 1)), "0000_a.sql": raw}
    (m,) = layouts.load(source(files))
    assert [s.text for s in m.script.statements] == ["SELECT 1", "SELECT 2"]
    assert len(m.sql) == len(raw)  # lines and offsets are the file's


def test_drizzle_journal_naming_a_missing_file_is_an_error() -> None:
    with pytest.raises(LayoutError, match="0001_b"):
        layouts.load(source({"meta/_journal.json": journal(("0001_b", 1))}))


def test_drizzle_folders_order_by_timestamp_and_when_is_the_folder_time() -> None:
    files = {
        "20250302101500_add_posts/migration.sql": "SELECT 2;",
        "20250302101500_add_posts/snapshot.json": "{}",
        "20250301093000_init/migration.sql": "SELECT 1;",
        "20250301093000_init/snapshot.json": "{}",
    }
    loaded = layouts.load(source(files))
    assert [m.version for m in loaded] == ["20250301093000", "20250302101500"]
    assert loaded[0].drizzle is not None
    assert loaded[0].drizzle.created_at == 1740821400000  # 2025-03-01T09:30:00Z


def test_dbmate_runs_only_the_up_section_with_file_line_numbers() -> None:
    text = "-- migrate:up\ncreate table a (x int);\n\n-- migrate:down\ndrop table a;\n"
    (m,) = layouts.load(source({"20250101000000_a.sql": text}))
    assert m.sql.strip() == "create table a (x int);"
    assert m.file_line(m.script.statements[0].start) == 2
    assert m.transactional


def test_dbmate_transaction_false_is_honoured() -> None:
    text = "-- migrate:up transaction:false\nselect 1;\n-- migrate:down\n"
    (m,) = layouts.load(source({"20250101000000_a.sql": text}), "dbmate")
    assert m.declared_no_transaction
    assert not m.transactional


def test_dbmate_file_without_up_section_is_an_error() -> None:
    with pytest.raises(LayoutError, match="migrate:up"):
        layouts.load(source({"20250101000000_a.sql": "select 1;"}), "dbmate")


def test_golang_migrate_ignores_down_files_and_orders_numerically() -> None:
    files = {
        "10_c.up.sql": "",
        "10_c.down.sql": "",
        "2_b.up.sql": "",
        "2_b.down.sql": "",
        "1_a.up.sql": "",
    }
    assert names(files) == ["1_a.up.sql", "2_b.up.sql", "10_c.up.sql"]
    assert [m.version for m in layouts.load(source(files))] == ["1", "2", "10"]


def test_plain_is_lexical_order_of_sql_files() -> None:
    assert names({"b.sql": "", "a/z.sql": "", "a.sql": "", "notes.txt": ""}) == [
        "a.sql",
        "a/z.sql",
        "b.sql",
    ]


def test_an_inline_list_keeps_its_written_order() -> None:
    inline = SourceFiles({"create": b"", "alter": b""}, ordered=True, names=("create", "alter"))
    assert [m.name for m in layouts.load(inline)] == ["create", "alter"]


def test_an_inline_list_with_flyway_names_orders_by_version() -> None:
    inline = SourceFiles({"V2__b.sql": b"", "V1__a.sql": b""}, ordered=True)
    assert [m.name for m in layouts.load(inline)] == ["V1__a.sql", "V2__b.sql"]


def test_an_explicit_layout_wins_over_detection() -> None:
    assert names({"V1__a.sql": "", "0_z.sql": ""}, "plain") == ["0_z.sql", "V1__a.sql"]


def test_the_no_transaction_directive_marks_a_migration() -> None:
    (m,) = layouts.load(source({"V1__a.sql": "-- aurora-express:no-transaction\nSELECT 1;"}))
    assert not m.transactional


def test_checksum_ignores_line_endings_and_bom() -> None:
    lf = layouts.load(source({"V1__a.sql": "SELECT 1;\nSELECT 2;\n"}))[0]
    crlf = layouts.load(SourceFiles({"V1__a.sql": b"\xef\xbb\xbfSELECT 1;\r\nSELECT 2;\r\n"}))[0]
    assert lf.checksum == crlf.checksum == checksum("SELECT 1;\nSELECT 2;\n")


def test_seeds_keep_inline_order_and_sort_files_lexically() -> None:
    inline = SourceFiles({"b": b"", "a": b""}, ordered=True)
    assert [m.name for m in layouts.seeds(inline)] == ["b", "a"]
    assert [m.name for m in layouts.seeds(source({"2.sql": "", "1.sql": ""}))] == ["1.sql", "2.sql"]
    assert {m.kind for m in layouts.seeds(inline)} == {Kind.SEED}


def test_a_file_that_is_not_utf8_is_an_error_naming_it() -> None:
    with pytest.raises(LayoutError, match=r"V1__a\.sql"):
        layouts.load(SourceFiles({"V1__a.sql": b"\xff\xfe\x00"}))


def test_an_explicit_layout_that_matches_no_file_is_an_error() -> None:
    with pytest.raises(LayoutError, match=r"^Layout drizzle: none of the 2 \.sql files"):
        layouts.load(source({"a.sql": "", "b.sql": ""}), "drizzle")
