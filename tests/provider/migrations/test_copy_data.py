"""COPY ... FROM stdin data blocks (pg_dump's) apply through cursor.copy(); what cannot run
(psql meta-commands, COPY without rows, COPY TO STDOUT) is refused before anything runs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres, binaries
from provider.common.errors import ProviderError
from provider.migrations import engine
from provider.migrations.engine import MigrationFailed, Options
from provider.migrations.model import checksum
from tests.support.migrations import history, mset, run, tables

Conn = psycopg.Connection[Any]
DIRECTIVE = "-- aurora-express:no-transaction\n"
ROWS = [
    (1, "tab\there", "1.5"),
    (2, "back\\slash \\N not null", None),
    (3, None, "2"),
    (4, "üñí東京 😀 ünïcödé", "3"),
    (5, "cr\rlf\nend", "4"),
    (6, "", "5"),
]


@pytest.fixture(scope="module")
def dump(pg: EmbeddedPostgres) -> Iterator[str]:
    """A real pg_dump of a table whose rows hold tabs, backslashes, NULLs, unicode, CR/LF."""
    source = pg.create_database()
    with pg.admin(source) as admin:
        admin.autocommit = True
        admin.execute("CREATE TABLE t (id int PRIMARY KEY, note text, n numeric)")
        with admin.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s, %s, %s)", ROWS)
    info = pg.admin_conninfo(source)
    done = subprocess.run(
        [
            str(binaries() / "pg_dump"),
            *("--no-owner", "--no-privileges", "-h", str(info["host"])),
            *("-p", str(info["port"]), "-U", str(info["user"]), "-d", source),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    yield done.stdout


def rows(conn: Conn) -> list[tuple[Any, ...]]:
    found = conn.execute("SELECT id, note, n::text FROM public.t ORDER BY id").fetchall()
    return [tuple(r) for r in found]


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def test_the_dump_holds_a_data_block_and_pg_dump_guard_lines(dump: str) -> None:
    assert "COPY public.t (id, note, n) FROM stdin;\n" in dump
    assert "\n\\.\n" in dump and "\\N" in dump and "\\restrict " in dump


def test_a_pg_dump_file_applies_its_rows_in_one_transaction(conn: Conn, dump: str) -> None:
    the_set = mset({"V1__dump.sql": dump})
    assert the_set.migrations[0].transactional and the_set.migrations[0].has_copy_data
    result = run(conn, the_set)
    assert [a.name for a in result.applied] == ["V1__dump.sql"]
    assert rows(conn) == ROWS
    assert history(conn) == [("1", "V1__dump.sql", "versioned", True)]


def test_a_pg_dump_file_applies_in_autocommit_when_non_transactional(conn: Conn, dump: str) -> None:
    the_set = mset({"V1__dump.sql": DIRECTIVE + dump})
    assert not the_set.migrations[0].transactional
    run(conn, the_set)
    assert rows(conn) == ROWS


@pytest.mark.parametrize("directive", ["", DIRECTIVE])
def test_a_dump_with_crlf_line_ends_applies_the_same_rows(
    conn: Conn, dump: str, directive: str
) -> None:
    run(conn, mset({"V1__dump.sql": crlf(directive + dump)}))
    assert rows(conn) == ROWS


def test_the_checksum_covers_the_file_as_written_and_a_rerun_applies_nothing(
    conn: Conn, dump: str
) -> None:
    migration = mset({"V1__dump.sql": dump}).migrations[0]
    assert migration.checksum == checksum(dump)
    assert mset({"V1__dump.sql": crlf(dump)}).migrations[0].checksum == migration.checksum
    run(conn, mset({"V1__dump.sql": dump}))
    stored = conn.execute("SELECT checksum FROM aurora_express.schema_migrations").fetchone()
    assert stored is not None and stored[0] == migration.checksum
    assert run(conn, mset({"V1__dump.sql": dump})).applied == []


def test_plan_and_status_of_a_file_with_copy_data_run_nothing(conn: Conn, dump: str) -> None:
    the_set = mset({"V1__dump.sql": dump})
    planned = engine.plan(conn, the_set, Options(keep_tool_history=False))
    assert [m.name for m in planned.pending] == ["V1__dump.sql"]
    status = engine.status(conn, the_set, Options(keep_tool_history=False))
    assert status["problem"] is None and status["history"] == []
    assert tables(conn) == set()


BAD_ROW = (
    "CREATE TABLE t (id int, note text);\n"  # line 1
    "COPY t (id, note) FROM stdin;\n"  # line 2
    "1\tone\n"  # line 3
    "2\ttwo\n"  # line 4
    "x\tthree\n"  # line 5: not an integer
    "\\.\n"
    "CREATE TABLE after_copy (id int);\n"
)


def test_a_bad_row_names_the_file_and_its_line_and_nothing_is_applied(conn: Conn) -> None:
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"V1__seed.sql": BAD_ROW}))
    assert caught.value.reason.startswith("V1__seed.sql line 5: 22P02 ")
    assert tables(conn) == set()
    assert history(conn) == []


def test_a_bad_row_of_a_non_transactional_file_is_named_and_recorded_failed(
    conn: Conn,
) -> None:
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"V1__seed.sql": DIRECTIVE + BAD_ROW}))
    assert caught.value.reason.startswith("V1__seed.sql line 6: 22P02 ")
    assert tables(conn) == {"t"}  # autocommit: what ran before the COPY stays
    assert history(conn) == [("1", "V1__seed.sql", "versioned", False)]


def test_the_connection_is_usable_and_the_lock_released_after_a_bad_row(conn: Conn) -> None:
    with pytest.raises(MigrationFailed):
        run(conn, mset({"V1__seed.sql": DIRECTIVE + BAD_ROW}))
    held = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    ).fetchone()
    assert held == (0,)
    fixed = DIRECTIVE + BAD_ROW.replace("x\tthree", "3\tthree").replace(
        "CREATE TABLE t", "CREATE TABLE IF NOT EXISTS t"
    )
    run(conn, mset({"V1__seed.sql": fixed}))
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (3,)


def test_a_constraint_error_after_the_copy_names_its_statement_line(conn: Conn) -> None:
    text = BAD_ROW.replace("x\tthree", "3\tthree").replace(
        "CREATE TABLE after_copy (id int);",
        "ALTER TABLE t ADD PRIMARY KEY (note);\nINSERT INTO t VALUES (9, 'one');",
    )
    with pytest.raises(MigrationFailed) as caught:
        run(conn, mset({"V1__seed.sql": text}))
    assert caught.value.reason.startswith("V1__seed.sql line 8: 23505 ")


def test_several_blocks_and_rows_with_quotes_or_semicolons_apply(conn: Conn) -> None:
    text = (
        "CREATE TABLE a (v text);\nCREATE TABLE b (v text);\n"
        "COPY a (v) FROM STDIN;\nit's; DROP TABLE a;\n$$ open\n\\.\n"
        'COPY b (v) FROM stdin WITH (FORMAT csv);\n"quoted, with comma"\n/* not a comment\n\\.\n'
        "INSERT INTO a VALUES ('after');\n"
    )
    run(conn, mset({"V1__two.sql": text}))
    assert conn.execute("SELECT v FROM a ORDER BY v").fetchall() == [
        ("$$ open",),
        ("after",),
        ("it's; DROP TABLE a;",),
    ]
    assert conn.execute("SELECT v FROM b ORDER BY v").fetchall() == [
        ("/* not a comment",),
        ("quoted, with comma",),
    ]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("CREATE TABLE x (id int);\nCOPY x FROM stdin;\n", 2, "has no data"),
        ("COPY (SELECT 1) TO STDOUT;\n", 1, "TO STDOUT"),
        ("CREATE TABLE x (id int);\n\\copy x from 'x.csv'\n", 2, "\\copy is a psql command"),
        ("\\connect other\nCREATE TABLE x (id int);\n", 1, "\\connect is a psql meta-command"),
        ("SELECT 1;\n1\t2\n\\.\n", 3, "no COPY ... FROM stdin"),
    ],
)
def test_what_cannot_run_is_refused_naming_file_and_line_before_anything_runs(
    conn: Conn, text: str, line: int, says: str
) -> None:
    the_set = mset({"V1__ok.sql": "CREATE TABLE first (id int);\n", "V2__bad.sql": text})
    with pytest.raises(ProviderError) as caught:
        run(conn, the_set)
    assert caught.value.reason.startswith(f"V2__bad.sql line {line}: ")
    assert says in caught.value.reason
    assert tables(conn) == set() and history(conn) == []


def test_a_file_wrapped_in_begin_and_commit_applies_its_rows_with_its_history_row(
    conn: Conn,
) -> None:
    text = "BEGIN;\nCREATE TABLE w (v int);\nCOPY w FROM stdin;\n1\n2\n\\.\nCOMMIT;\n"
    the_set = mset({"V1__wrapped.sql": text})
    assert the_set.migrations[0].transactional
    run(conn, the_set)
    assert conn.execute("SELECT count(*) FROM w").fetchone() == (2,)
    assert history(conn) == [("1", "V1__wrapped.sql", "versioned", True)]
