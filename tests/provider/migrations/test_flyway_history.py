"""Flyway's ``flyway_schema_history``, written as Flyway writes it (Flyway is Java and its CLI
installs from no registry here), read and written by the engine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from provider.common.errors import ProviderError
from provider.migrations import engine, layouts
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.model import Kind, Migration
from provider.migrations.sources import SourceFiles, from_directory
from provider.migrations.tool_history.flyway import checksum
from tests.provider.migrations.tools import Conn, history, tables
from tests.support.migrations import EXAMPLES

FOLDER = EXAMPLES / "flyway"

# What Flyway's PostgreSQL database type runs to create its table.
FLYWAY_CREATE = """
CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk"
    PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
"""


def flyway_set(files: SourceFiles | None = None) -> MigrationSet:
    return MigrationSet(layouts.load(files or from_directory(FOLDER), "flyway"), layout="flyway")


def by_name(the_set: MigrationSet) -> dict[str, Migration]:
    return {m.name: m for m in the_set.migrations}


def flyway_migrate(conn: Conn, names: list[str], *, success: bool = True) -> None:
    """What ``flyway migrate`` leaves for these files: the table, then one row each."""
    conn.execute(FLYWAY_CREATE)
    for rank, name in enumerate(names, start=1):
        stem = name.removesuffix(".sql")
        version, _, description = stem[1:].partition("__")
        with conn.transaction():
            conn.execute((FOLDER / name).read_bytes())
            conn.execute(
                "INSERT INTO flyway_schema_history (installed_rank, version, description, type,"
                " script, checksum, installed_by, execution_time, success)"
                " VALUES (%s, %s, %s, 'SQL', %s, %s, 'flyway', 12, %s)",
                (
                    rank,
                    version.replace("_", ".") or None,
                    description.replace("_", " "),
                    name,
                    checksum((FOLDER / name).read_bytes()),
                    success,
                ),
            )


def flyway_rows(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT installed_rank, version, description, type, script, checksum, success"
        " FROM flyway_schema_history ORDER BY installed_rank"
    ).fetchall()


@pytest.fixture
def flyway_did_two(conn: Conn) -> Conn:
    flyway_migrate(conn, ["V1__create_users.sql", "V1.1__add_email.sql"])
    return conn


def test_versions_flyway_applied_are_adopted_not_run_again(flyway_did_two: Conn) -> None:
    result = engine.migrate(flyway_did_two, flyway_set(), Options())
    assert result.adopted == ["V1__create_users.sql", "V1.1__add_email.sql"]
    assert result.adopted_from == "flyway"
    assert [a.name for a in result.applied] == [
        "V1.2.9__create_posts.sql",
        "V1.2.10__posts_touch_trigger.sql",
        "V2__index_posts_concurrently.sql",
        "R__user_post_counts.sql",
    ]


def test_what_the_engine_applies_is_recorded_as_flyway_records_it(flyway_did_two: Conn) -> None:
    engine.migrate(flyway_did_two, flyway_set(), Options())
    user = flyway_did_two.execute("SELECT current_user").fetchone()
    rows = flyway_did_two.execute(
        "SELECT installed_rank, version, description, type, script, checksum, installed_by,"
        " success FROM flyway_schema_history WHERE installed_rank > 2 ORDER BY installed_rank"
    ).fetchall()
    assert rows == [
        (3, "1.2.9", "create posts", "SQL", "V1.2.9__create_posts.sql",
         checksum((FOLDER / "V1.2.9__create_posts.sql").read_bytes()), user[0], True),  # type: ignore[index]
        (4, "1.2.10", "posts touch trigger", "SQL", "V1.2.10__posts_touch_trigger.sql",
         checksum((FOLDER / "V1.2.10__posts_touch_trigger.sql").read_bytes()), user[0], True),  # type: ignore[index]
        (5, "2", "index posts concurrently", "SQL", "V2__index_posts_concurrently.sql",
         checksum((FOLDER / "V2__index_posts_concurrently.sql").read_bytes()), user[0], True),  # type: ignore[index]
        (6, None, "user post counts", "SQL", "R__user_post_counts.sql",
         checksum((FOLDER / "R__user_post_counts.sql").read_bytes()), user[0], True),  # type: ignore[index]
    ]  # fmt: skip


def test_an_empty_database_gets_flyways_own_table(conn: Conn) -> None:
    engine.migrate(conn, flyway_set(), Options())
    assert [r[0] for r in flyway_rows(conn)] == [1, 2, 3, 4, 5, 6]
    shape = conn.execute(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_name = 'flyway_schema_history'"
        " ORDER BY ordinal_position"
    ).fetchall()
    conn.execute("CREATE SCHEMA flyway_ref; SET search_path = flyway_ref")
    conn.execute(FLYWAY_CREATE.replace('"public"', '"flyway_ref"'))
    reference = conn.execute(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_name = 'flyway_schema_history'"
        " AND table_schema = 'flyway_ref' ORDER BY ordinal_position"
    ).fetchall()
    assert shape == reference


def test_a_repeatable_flyway_applied_unchanged_is_adopted_a_changed_one_runs(conn: Conn) -> None:
    ran = ["V1__create_users.sql", "V1.1__add_email.sql", "V1.2.9__create_posts.sql"]
    flyway_migrate(conn, [*ran, "R__user_post_counts.sql"])
    files = {n: (FOLDER / n).read_bytes() for n in [*ran, "R__user_post_counts.sql"]}

    result = engine.migrate(conn, flyway_set(SourceFiles(files)), Options())
    assert result.adopted == [*ran, "R__user_post_counts.sql"]
    assert result.applied == []

    files["R__user_post_counts.sql"] += b"-- counted\n"
    changed = engine.migrate(conn, flyway_set(SourceFiles(files)), Options())
    assert [a.name for a in changed.applied] == ["R__user_post_counts.sql"]
    assert flyway_rows(conn)[-1][:3] == (5, None, "user post counts")


def test_a_file_changed_since_flyway_applied_it_is_drift_naming_it(flyway_did_two: Conn) -> None:
    files = dict(from_directory(FOLDER).files)
    files["V1.1__add_email.sql"] = b"ALTER TABLE users ADD COLUMN email varchar(320);\n"
    with pytest.raises(ProviderError, match=r"^V1.1__add_email.sql was changed .* by flyway"):
        engine.migrate(flyway_did_two, flyway_set(SourceFiles(files)), Options())
    assert "posts" not in tables(flyway_did_two)


def test_line_endings_are_no_change_to_flyways_checksum(flyway_did_two: Conn) -> None:
    files = dict(from_directory(FOLDER).files)
    files["V1__create_users.sql"] = files["V1__create_users.sql"].replace(b"\n", b"\r\n")
    result = engine.migrate(flyway_did_two, flyway_set(SourceFiles(files)), Options())
    assert "V1__create_users.sql" in result.adopted


def test_a_migration_flyway_recorded_as_failed_stops_the_run(conn: Conn) -> None:
    flyway_migrate(conn, ["V1__create_users.sql"], success=False)
    with pytest.raises(ProviderError, match=r"V1__create_users.sql failed when Flyway ran it"):
        engine.migrate(conn, flyway_set(), Options())


def test_versions_at_or_below_a_flyway_baseline_are_adopted(conn: Conn) -> None:
    conn.execute(FLYWAY_CREATE)
    conn.execute(
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script,"
        " checksum, installed_by, execution_time, success)"
        " VALUES (1, '1.1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>',"
        " NULL, 'f', 0, true)"
    )
    conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text)")
    result = engine.migrate(conn, flyway_set(), Options())
    assert result.adopted == ["V1__create_users.sql", "V1.1__add_email.sql"]


def test_a_version_flyway_marked_deleted_runs(conn: Conn) -> None:
    flyway_migrate(conn, ["V1__create_users.sql"])
    conn.execute(
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script,"
        " checksum, installed_by, execution_time, success)"
        " VALUES (2, '1', 'create users', 'DELETE', 'V1__create_users.sql', NULL, 'f', 0, true);"
        " DROP TABLE users"
    )
    result = engine.migrate(conn, flyway_set(), Options())
    assert result.adopted == []
    assert result.applied[0].name == "V1__create_users.sql"


def test_history_rows_go_to_the_engine_too(flyway_did_two: Conn) -> None:
    engine.migrate(flyway_did_two, flyway_set(), Options())
    assert [r[1] for r in history(flyway_did_two)][:2] == ["flyway", "flyway"]


# -- the checksum ---------------------------------------------------------------------

# Values Java's BufferedReader.readLine and java.util.zip.CRC32 give, as Flyway's
# ChecksumCalculator feeds them (computed with the Java program below).
KNOWN = {
    b"CREATE TABLE users (id int);\n": 336540139,
    b"CREATE TABLE users (id int);\r\nINSERT INTO users VALUES (1);\r\n": -1929710232,
    b"\xef\xbb\xbfCREATE TABLE t (x text);\rSELECT 1;": -843518511,
    b"": 0,
    b"-- caf\xc3\xa9\n\nSELECT 1;\n\n": 139021238,
}
JAVA = """
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
public class Crc {
    public static void main(String[] args) throws Exception {
        for (String name : args) {
            BufferedReader r = new BufferedReader(new InputStreamReader(
                new FileInputStream(name), StandardCharsets.UTF_8), 4096);
            CRC32 crc = new CRC32();
            String line = r.readLine();
            if (line != null) {
                if (!line.isEmpty() && line.charAt(0) == '\\uFEFF') line = line.substring(1);
                do { crc.update(line.getBytes(StandardCharsets.UTF_8)); }
                while ((line = r.readLine()) != null);
            }
            System.out.println((int) crc.getValue());
        }
    }
}
"""


@pytest.mark.parametrize("data", list(KNOWN))
def test_flyways_checksum_is_crc32_of_the_lines_as_a_signed_int(data: bytes) -> None:
    assert checksum(data) == KNOWN[data]


def test_flyways_checksum_agrees_with_java_reading_the_lines(tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("java is not on PATH")
    (tmp_path / "Crc.java").write_text(JAVA)
    samples = [*KNOWN, "V1__x.sql\u2028\r\r\n\ttab  \n".encode(), b"a\n\r\nb\r"]
    paths = []
    for index, data in enumerate(samples):
        path = tmp_path / f"{index}.sql"
        path.write_bytes(data)
        paths.append(str(path))
    done = subprocess.run(
        [java, str(tmp_path / "Crc.java"), *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert [int(v) for v in done.stdout.split()] == [checksum(d) for d in samples]


def test_a_repeatables_checksum_is_over_the_text_as_run() -> None:
    m = Migration("R__v.sql", None, Kind.REPEATABLE, "SELECT 1;\n")
    assert checksum(m.sql.encode()) == checksum(b"SELECT 1;\r\n")
