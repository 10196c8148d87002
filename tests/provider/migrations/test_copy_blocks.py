"""Splitting keeps COPY ... FROM stdin rows with their COPY, never as SQL, and finds psql
meta-commands only where the lexer is outside literals and comments (pure)."""

from __future__ import annotations

from provider.migrations import statements
from provider.migrations.statements import Script


def split(text: str) -> Script:
    script = statements.split(text)
    assert len(script.text) == len(text)  # every offset (and line) kept
    assert script.text.count("\n") == text.count("\n")
    return script


def data_of(script: Script) -> list[str]:
    return [s.copy_data.text for s in script.statements if s.copy_data is not None]


def test_a_script_without_backslash_lines_has_no_copy_data() -> None:
    script = split("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n")
    assert not script.has_copy_data and script.refusal is None


def test_the_rows_of_a_copy_go_with_it_and_the_rest_splits_as_sql() -> None:
    text = "COPY t (a) FROM stdin;\nit's\n;DROP TABLE t;\n\\.\nSELECT 1;\n"
    script = split(text)
    assert [s.text for s in script.statements] == ["COPY t (a) FROM stdin", "SELECT 1"]
    assert data_of(script) == ["it's\n;DROP TABLE t;\n"]
    assert script.statements[0].copy_data is not None
    assert text[script.statements[0].copy_data.start :].startswith("it's")
    assert script.refusal is None


def test_a_header_over_several_lines_or_with_a_comment_after_it_is_found() -> None:
    text = (
        'COPY t (a)\n  FROM STDIN\n  WITH (FORMAT csv);\n"x, y"\n\\.\n'
        "COPY u FROM stdin; -- the rows\n1\n\\.\n"
    )
    assert data_of(split(text)) == ['"x, y"\n', "1\n"]


def test_crlf_line_ends_are_kept_in_the_rows() -> None:
    text = "COPY t FROM stdin;\r\n1\tx\r\n\\.\r\nSELECT 1;\r\n"
    script = split(text)
    assert data_of(script) == ["1\tx\r\n"]
    assert script.refusal is None


def test_the_last_block_may_end_the_file_without_a_newline() -> None:
    assert data_of(split("COPY t FROM stdin;\n1\n\\.")) == ["1\n"]


def test_a_header_inside_a_comment_or_a_string_is_not_a_header() -> None:
    text = (
        "-- COPY t FROM stdin;\n"
        "SELECT 'COPY t FROM stdin;\n\\.\n';\n"
        "/* COPY t FROM stdin;\n\\.\n*/\n"
    )
    script = split(text)
    assert not script.has_copy_data
    assert script.refusal is None


def test_backslash_lines_inside_literals_and_comments_are_sql() -> None:
    text = (
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n\\x is text here\n$$;\n"
        "SELECT E'\n\\\\n';\n"
        "/*\n\\connect nothing\n*/\n"
    )
    assert split(text).refusal is None


def test_pg_dumps_restrict_lines_are_blanked_not_refused() -> None:
    key = "0pG2C0sXExFdFwpdwE8HHjghreNZVB1xF"
    text = f"\\restrict {key}\nCOPY t FROM stdin;\n\\restrict-looking row\n\\.\n"
    text += f"\\unrestrict {key}\n"
    script = split(text)
    assert script.refusal is None
    assert data_of(script) == ["\\restrict-looking row\n"]
    assert key not in script.text


def test_a_psql_meta_command_is_refused_at_its_offset() -> None:
    text = "SELECT 1;\n\\set ON_ERROR_STOP on\n"
    refusal = split(text).refusal
    assert refusal is not None
    assert statements.line_of(text, refusal.offset) == 2
    assert refusal.problem.startswith("\\set is a psql meta-command")


def test_copy_from_stdin_without_rows_and_copy_to_stdout_are_refused() -> None:
    no_rows = split("SELECT 1;\nCOPY t FROM stdin;\n").refusal
    assert no_rows is not None and "has no data" in no_rows.problem
    to_client = split("COPY t TO STDOUT;\n").refusal
    assert to_client is not None and "TO STDOUT" in to_client.problem


def test_server_side_copy_from_a_file_is_left_to_the_server() -> None:
    script = split("COPY t FROM '/tmp/x.csv';\nCOPY t TO '/tmp/y.csv';\n")
    assert script.refusal is None and not script.has_copy_data


def test_non_ascii_text_before_a_header_keeps_the_offsets_right() -> None:
    text = "-- données 東京 😀\nSELECT 'ééé';\nCOPY t FROM stdin;\nü\n\\.\n"
    script = split(text)
    assert [s.text for s in script.statements] == ["SELECT 'ééé'", "COPY t FROM stdin"]
    assert data_of(script) == ["ü\n"]
