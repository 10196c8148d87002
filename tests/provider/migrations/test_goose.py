"""goose folders, read as goose's own parser reads them: only the Up section ever runs."""

from __future__ import annotations

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import LayoutError
from tests.support.layouts import files

CREATE_THEN_DROP = """-- +goose Up
CREATE TABLE users (id bigint);

-- +goose Down
DROP TABLE users;
"""


def test_only_the_up_section_is_what_runs() -> None:
    (m,) = layouts.load(files({"00001_users.sql": CREATE_THEN_DROP}), "goose")
    assert "CREATE TABLE users" in m.sql
    assert "DROP TABLE" not in m.sql


def test_the_version_is_the_integer_before_the_first_underscore() -> None:
    loaded = layouts.load(
        files({"20250302_b.sql": CREATE_THEN_DROP, "00010_a_b.sql": CREATE_THEN_DROP}), "goose"
    )
    assert [m.version for m in loaded] == ["10", "20250302"]


def test_auto_detects_a_goose_folder() -> None:
    assert layouts.detect(files({"00001_users.sql": CREATE_THEN_DROP})) is layouts.Layout.GOOSE


def test_errors_point_at_lines_of_the_file() -> None:
    text = "-- a comment\n\n-- +goose Up\nSELECT 1;\nSELEC 2;\n-- +goose Down\nSELECT 3;\n"
    (m,) = layouts.load(files({"1_a.sql": text}), "goose")
    second = m.script.statements[1]
    assert m.file_line(second.start) == 5


def test_annotations_are_case_insensitive() -> None:
    text = "-- +goose up\nSELECT 1;\n-- +goose DOWN\nSELECT 2;\n"
    (m,) = layouts.load(files({"1_a.sql": text}), "goose")
    assert "SELECT 2" not in m.sql


def test_a_statement_block_is_kept_whole() -> None:
    text = (
        "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql"
        " AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\n-- +goose StatementEnd\n\n-- +goose Down\n"
        "DROP FUNCTION f();\n"
    )
    (m,) = layouts.load(files({"1_f.sql": text}), "goose")
    assert len(m.script.statements) == 1
    assert "DROP FUNCTION" not in m.sql


def test_no_transaction_runs_the_file_outside_a_transaction() -> None:
    text = "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (x);\n"
    (m,) = layouts.load(files({"1_i.sql": text}), "goose")
    assert m.declared_no_transaction
    assert not m.transactional


def test_envsub_on_for_the_up_section_is_refused_saying_what_to_do() -> None:
    text = "-- +goose ENVSUB ON\n-- +goose Up\nCREATE ROLE ${APP_ROLE};\n"
    with pytest.raises(LayoutError, match=r"1_r\.sql line 1: .*ENVSUB ON.*write the values"):
        layouts.load(files({"1_r.sql": text}), "goose")


def test_envsub_on_in_the_down_section_only_is_fine() -> None:
    text = "-- +goose Up\nSELECT 1;\n-- +goose Down\n-- +goose ENVSUB ON\nDROP ROLE ${R};\n"
    assert layouts.load(files({"1_r.sql": text}), "goose")


def test_a_go_migration_fails_the_run_naming_it() -> None:
    source = files({"00001_a.sql": CREATE_THEN_DROP, "00002_backfill.go": "package migrations"})
    with pytest.raises(LayoutError, match=r"00002_backfill\.go is a goose Go migration.*\.sql"):
        layouts.load(source, "goose")


def test_go_helpers_and_tests_without_a_version_are_not_migrations() -> None:
    source = files(
        {"00001_a.sql": CREATE_THEN_DROP, "helpers.go": "package m", "00001_a_test.go": "x"}
    )
    assert [m.name for m in layouts.load(source, "goose")] == ["00001_a.sql"]


def test_a_file_without_up_is_refused() -> None:
    with pytest.raises(LayoutError, match=r"1_a\.sql has no '-- \+goose Up'"):
        layouts.load(files({"1_a.sql": "-- only a comment\n"}), "goose")


def test_down_before_up_is_refused() -> None:
    with pytest.raises(LayoutError, match=r"1_a\.sql line 1: '-- \+goose Down' before"):
        layouts.load(files({"1_a.sql": "-- +goose Down\nSELECT 1;\n"}), "goose")


def test_sql_before_up_is_refused() -> None:
    with pytest.raises(LayoutError, match=r"1_a\.sql line 1: SQL before"):
        layouts.load(files({"1_a.sql": "SELECT 0;\n-- +goose Up\nSELECT 1;\n"}), "goose")


def test_an_indented_annotation_is_refused() -> None:
    with pytest.raises(LayoutError, match="column 0"):
        layouts.load(files({"1_a.sql": "  -- +goose Up\nSELECT 1;\n"}), "goose")


def test_an_unknown_annotation_is_refused() -> None:
    with pytest.raises(LayoutError, match="not a goose annotation"):
        layouts.load(files({"1_a.sql": "-- +goose Up\n-- +goose Sideways\nSELECT 1;\n"}), "goose")


def test_an_unfinished_statement_is_refused_as_goose_refuses_it() -> None:
    with pytest.raises(LayoutError, match="no ';'"):
        layouts.load(files({"1_a.sql": "-- +goose Up\nSELECT 1\n-- +goose Down\n"}), "goose")


def test_a_statement_begin_without_end_is_refused() -> None:
    text = "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n"
    with pytest.raises(LayoutError, match="without StatementEnd"):
        layouts.load(files({"1_a.sql": text}), "goose")


def test_two_files_with_one_version_are_refused() -> None:
    source = files({"1_a.sql": CREATE_THEN_DROP, "001_b.sql": CREATE_THEN_DROP})
    with pytest.raises(LayoutError, match="same version 1"):
        layouts.load(source, "goose")


def test_version_zero_is_skipped_with_a_warning_as_goose_skips_it() -> None:
    reading = layouts.read(
        files({"0_init.sql": CREATE_THEN_DROP, "1_a.sql": CREATE_THEN_DROP}), "goose"
    )
    assert [m.name for m in reading.migrations] == ["1_a.sql"]
    assert any("0_init.sql is skipped" in w for w in reading.warnings)


def test_crlf_files_keep_their_line_endings_and_lose_only_the_down_section() -> None:
    text = CREATE_THEN_DROP.replace("\n", "\r\n")
    (m,) = layouts.load(files({"1_a.sql": text}), "goose")
    assert m.sql == "CREATE TABLE users (id bigint);\r\n\r\n"
