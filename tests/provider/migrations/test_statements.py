"""Splitting and classifying statements with pglast, on in-memory scripts."""

from __future__ import annotations

import pytest

from provider.migrations import statements


def texts(sql: str) -> list[str]:
    return [s.text for s in statements.split(sql).statements]


def test_dollar_quotes_comments_and_strings_survive_splitting() -> None:
    sql = (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;\n"
        "-- a comment; with a semicolon\n"
        "/* block; comment */ INSERT INTO t VALUES ('a;b', E'c\\';d');\n"
        "SELECT $$;$$;"
    )
    assert texts(sql) == [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$",
        "INSERT INTO t VALUES ('a;b', E'c\\';d')",
        "SELECT $$;$$",
    ]


def test_statement_offsets_point_into_the_script() -> None:
    sql = "SELECT 1;\n\n  SELECT 'é';\nSELECT 3"
    script = statements.split(sql)
    for statement in script.statements:
        assert sql[statement.start : statement.start + len(statement.text)] == statement.text
    assert [statements.line_of(sql, s.start) for s in script.statements] == [1, 3, 4]


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"),
        ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", "CREATE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"),
        ("REINDEX TABLE CONCURRENTLY t", "REINDEX CONCURRENTLY"),
        ("REINDEX (CONCURRENTLY) INDEX i", "REINDEX CONCURRENTLY"),
        ("REINDEX DATABASE d", "REINDEX DATABASE/SCHEMA/SYSTEM"),
        ("REINDEX SCHEMA s", "REINDEX DATABASE/SCHEMA/SYSTEM"),
        ("REINDEX SYSTEM d", "REINDEX DATABASE/SCHEMA/SYSTEM"),
        ("VACUUM t", "VACUUM"),
        ("VACUUM (ANALYZE) t", "VACUUM"),
        ("CLUSTER", "CLUSTER"),
        ("CREATE DATABASE d", "CREATE DATABASE"),
        ("DROP DATABASE d", "DROP DATABASE"),
        ("ALTER DATABASE d SET TABLESPACE x", "ALTER DATABASE SET TABLESPACE"),
        ("ALTER SYSTEM SET work_mem = '8MB'", "ALTER SYSTEM"),
        ("CREATE TABLESPACE x LOCATION '/x'", "CREATE TABLESPACE"),
        ("DROP TABLESPACE x", "DROP TABLESPACE"),
        ("CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", "CREATE SUBSCRIPTION"),
        ("DROP SUBSCRIPTION s", "DROP SUBSCRIPTION"),
        ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "DETACH PARTITION CONCURRENTLY"),
    ],
)
def test_statements_refused_in_a_transaction_block_are_detected(sql: str, why: str) -> None:
    script = statements.split(f"SELECT 1;\n{sql};")
    assert script.non_transactional == why


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX i ON t (a)",
        "DROP INDEX i",
        "REINDEX TABLE t",
        "ANALYZE t",
        "CLUSTER t USING i",
        "ALTER DATABASE d SET work_mem = '8MB'",
        "ALTER TABLE p DETACH PARTITION c",
        "ALTER TYPE mood ADD VALUE 'meh'",
    ],
)
def test_ordinary_statements_stay_transactional(sql: str) -> None:
    assert statements.split(sql).non_transactional is None


def test_an_outer_begin_commit_is_blanked_out_keeping_offsets() -> None:
    sql = "BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n"
    script = statements.split(sql)
    assert [s.text for s in script.statements] == ["CREATE TABLE t (a int)"]
    assert script.non_transactional is None
    assert len(script.text) == len(sql)
    assert script.text.strip() == "CREATE TABLE t (a int);"
    assert statements.line_of(script.text, script.statements[0].start) == 2


def test_transaction_control_inside_a_file_makes_it_non_transactional() -> None:
    script = statements.split("CREATE TABLE a (x int);\nCOMMIT;\nCREATE TABLE b (x int);")
    assert script.non_transactional is not None
    assert "COMMIT" in script.non_transactional


def test_a_script_the_parser_rejects_is_split_by_the_scanner() -> None:
    assert texts("SELECT 1;\nSELEC oops;\nSELECT 'x;y'") == [
        "SELECT 1",
        "SELEC oops",
        "SELECT 'x;y'",
    ]


def test_a_script_the_scanner_rejects_is_kept_whole() -> None:
    assert texts("SELECT 'unterminated; SELECT 2") == ["SELECT 'unterminated; SELECT 2"]


def test_an_empty_script_has_no_statements() -> None:
    assert texts("-- nothing but a comment\n") == []


def test_the_no_transaction_directive_is_read_from_the_first_line_only() -> None:
    assert statements.has_no_transaction_directive("-- aurora-express:no-transaction\nVACUUM;")
    assert statements.has_no_transaction_directive("--  AURORA-EXPRESS:NO-TRANSACTION  \n")
    assert not statements.has_no_transaction_directive(
        "SELECT 1;\n-- aurora-express:no-transaction\n"
    )


PIECES = [
    "CREATE TABLE a (x int);\n-- one; two\nINSERT INTO a VALUES (1);\n/* c; */ SELECT 'x;y';",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
    "SELECT f();\nCREATE RULE r AS ON INSERT TO a DO ALSO (NOTIFY a; NOTIFY b);\nSELECT 3",
    "SELECT 1;\nSELEC oops;\n(SELECT 2);\nSELECT $$;$$",
    "BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n",
]


@pytest.mark.parametrize("sql", PIECES)
def test_splitting_in_pieces_gives_the_statements_of_the_whole_script(
    sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = statements.split(sql)
    monkeypatch.setattr(statements, "CHUNK_CHARS", 1)  # a piece per statement
    assert statements.split(sql) == whole


def test_a_function_body_cut_between_pieces_stays_one_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(statements, "CHUNK_CHARS", 1)
    assert texts(PIECES[1])[0].endswith("SELECT 2; END")


def test_whitespace_alone_is_no_statement() -> None:
    assert texts(" \n\t" * 1000) == []


def test_a_word_in_a_string_costs_a_parse_not_a_classification() -> None:
    script = statements.split("INSERT INTO t VALUES ('VACUUM; BEGIN');")
    assert script.non_transactional is None


def test_a_scripts_statements_are_made_only_when_asked_for() -> None:
    script = statements.split("CREATE TABLE a (x int);\nVACUUM a;\n" * 3)
    assert script.non_transactional == "VACUUM"
    assert "statements" not in vars(script)  # the engine sends it whole: no objects made
    assert len(script.statements) == 6
