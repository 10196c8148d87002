"""Liquibase formatted SQL, read as AbstractFormattedChangeLogParser reads it."""

from __future__ import annotations

import pytest

from provider.migrations import layouts
from provider.migrations.layouts import Layout, LayoutError
from provider.migrations.model import Kind
from tests.support.layouts import files

HEADER = "--liquibase formatted sql\n\n"


def changelog(body: str, name: str = "changelog.sql") -> dict[str, str | bytes]:
    return {name: HEADER + body}


def test_each_changeset_is_a_migration_identified_by_file_id_and_author() -> None:
    body = (
        "--changeset ada:1\nCREATE TABLE a (x int);\n\n--changeset bob:1\nCREATE TABLE b (x int);\n"
    )
    loaded = layouts.load(files(changelog(body)))
    assert [m.version for m in loaded] == ["changelog.sql::1::ada", "changelog.sql::1::bob"]
    assert {m.name for m in loaded} == {"changelog.sql"}
    assert loaded[1].tool is not None
    assert loaded[1].tool.extra == {"id": "1", "author": "bob", "filename": "changelog.sql"}


def test_rollback_lines_never_run() -> None:
    body = (
        "--changeset ada:1\nCREATE TABLE a (x int);\n--rollback DROP TABLE a;\n"
        "/* liquibase rollback\nDROP TABLE a;\n*/\n"
    )
    (m,) = layouts.load(files(changelog(body)))
    assert "DROP" not in m.sql
    assert m.tool is not None and m.tool.text == "CREATE TABLE a (x int);"


def test_a_failing_line_is_the_files_line() -> None:
    body = "--changeset ada:1\n--comment: first\nSELECT 1;\nSELEC 2;\n"
    (m,) = layouts.load(files(changelog(body)))
    assert m.file_line(m.script.statements[1].start) == 6


def test_run_in_transaction_false_runs_outside_a_transaction() -> None:
    body = "--changeset ada:1 runInTransaction:false\nCREATE INDEX CONCURRENTLY i ON t (x);\n"
    (m,) = layouts.load(files(changelog(body)))
    assert not m.transactional


def test_an_end_delimiter_ends_statements() -> None:
    body = "--changeset ada:1 endDelimiter:/\nSELECT 1\n/\nSELECT 2\n/\n"
    (m,) = layouts.load(files(changelog(body)))
    assert [s.text.strip() for s in m.script.statements] == ["SELECT 1", "SELECT 2"]


def test_run_on_change_and_run_always_are_repeatables() -> None:
    body = (
        "--changeset ada:v runOnChange:true\nCREATE OR REPLACE VIEW v AS SELECT 1;\n"
        "--changeset ada:g runAlways:true\nGRANT SELECT ON v TO PUBLIC;\n"
    )
    view, grant = layouts.load(files(changelog(body)))
    assert (view.kind, view.run_always) == (Kind.REPEATABLE, False)
    assert (grant.kind, grant.run_always) == (Kind.REPEATABLE, True)


def test_a_changeset_for_another_database_or_ignored_is_skipped() -> None:
    body = (
        "--changeset ada:1 dbms:oracle\nCREATE TABLE dual2 (x int);\n"
        "--changeset ada:2 dbms:postgresql,h2\nCREATE TABLE a (x int);\n"
        "--changeset ada:3 ignore:true\nCREATE TABLE b (x int);\n"
        "--changeset ada:4 dbms:!oracle\nCREATE TABLE c (x int);\n"
    )
    assert [m.version for m in layouts.load(files(changelog(body)))] == [
        "changelog.sql::2::ada",
        "changelog.sql::4::ada",
    ]


@pytest.mark.parametrize(
    ("attribute", "named"),
    [
        ("context:dev", "context:dev"),
        ("labels:v1", "labels:v1"),
        ("failOnError:false", "failOnError"),
    ],
)
def test_unsupported_attributes_fail_naming_the_changeset(attribute: str, named: str) -> None:
    body = f"--changeset ada:7 {attribute}\nSELECT 1;\n"
    with pytest.raises(LayoutError, match=rf"changelog\.sql line 3 \(changeset ada:7\): {named}"):
        layouts.load(files(changelog(body)))


def test_a_precondition_fails_naming_the_changeset() -> None:
    body = "--changeset ada:7\n--precondition-sql-check expectedResult:0 SELECT 1\nSELECT 1;\n"
    with pytest.raises(LayoutError, match=r"\(changeset ada:7\): a precondition is not supported"):
        layouts.load(files(changelog(body)))


def test_a_changeset_without_sql_is_refused() -> None:
    with pytest.raises(LayoutError, match="has no SQL"):
        layouts.load(files(changelog("--changeset ada:1\n--rollback DROP TABLE a;\n")))


def test_ignored_lines_never_run() -> None:
    body = "--changeset ada:1\n--ignoreLines:start\nDROP TABLE a;\n--ignoreLines:end\nSELECT 1;\n"
    (m,) = layouts.load(files(changelog(body)))
    assert "DROP" not in m.sql


def test_sql_before_the_first_changeset_is_not_run_and_a_warning_says_so() -> None:
    reading = layouts.read(files(changelog("DROP TABLE a;\n--changeset ada:1\nSELECT 1;\n")))
    assert "DROP" not in reading.migrations[0].sql
    assert "changelog.sql line 3: SQL before the first --changeset" in reading.warnings[0]


def test_files_run_in_path_order() -> None:
    source = files(
        {
            "b.sql": HEADER + "--changeset ada:1\nSELECT 2;\n",
            "a.sql": HEADER + "--changeset ada:1\nSELECT 1;\n",
        }
    )
    assert [m.name for m in layouts.load(source)] == ["a.sql", "b.sql"]


def test_a_sql_file_without_the_header_is_refused_in_a_liquibase_folder() -> None:
    source = files({**changelog("--changeset ada:1\nSELECT 1;\n"), "extra.sql": "SELECT 2;"})
    with pytest.raises(LayoutError, match=r"extra\.sql is not Liquibase formatted SQL"):
        layouts.load(source, "liquibase")


def test_an_xml_changelog_is_refused() -> None:
    source = files({"db.changelog-master.xml": "<databaseChangeLog/>", "a.sql": HEADER})
    with pytest.raises(LayoutError, match=r"db\.changelog-master\.xml is a Liquibase XML"):
        layouts.load(source, "liquibase")


def test_a_repeated_changeset_is_refused() -> None:
    body = "--changeset ada:1\nSELECT 1;\n--changeset ada:1\nSELECT 2;\n"
    with pytest.raises(LayoutError, match="repeats the changeset"):
        layouts.load(files(changelog(body)))


def test_auto_detects_formatted_sql() -> None:
    assert layouts.detect(files(changelog("--changeset a:1\nSELECT 1;\n"))) is Layout.LIQUIBASE
