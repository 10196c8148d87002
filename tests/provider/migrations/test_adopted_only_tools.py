"""Liquibase, sqitch and Atlas: what they applied is adopted (never run again), their tables
are never written. sqitch runs for real (Debian's package) when it is installed; Liquibase
and Atlas rows are written exactly as their sources write them."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from provider.common.errors import ProviderError
from provider.migrations import engine
from provider.migrations.engine import MigrationSet, Options
from provider.migrations.model import Kind, Migration
from provider.migrations.tool_history.liquibase import md5sum
from tests.provider.migrations.tools import Conn, history, socket_for, tables, tool_migration
from tests.support.secret_scan import record_output

USERS = "CREATE TABLE users (id bigint PRIMARY KEY);"
POSTS = "CREATE TABLE posts (id bigint PRIMARY KEY, author_id bigint REFERENCES users (id));"


# -- Liquibase ------------------------------------------------------------------------

LIQUIBASE_CREATE = (
    "CREATE TABLE public.databasechangelog (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255)"
    " NOT NULL, FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED TIMESTAMP WITHOUT TIME ZONE NOT"
    " NULL, ORDEREXECUTED INTEGER NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35),"
    " DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), TAG VARCHAR(255), LIQUIBASE VARCHAR(20),"
    " CONTEXTS VARCHAR(255), LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10))"
)


def changeset(change_id: str, sql: str, *, kind: Kind = Kind.VERSIONED) -> Migration:
    return tool_migration(
        "db/changelog.sql",
        f"db/changelog.sql::{change_id}::alice",
        sql + "\n",
        "liquibase",
        kind=kind,
        script="db/changelog.sql",
        text=sql,
        extra={"id": change_id, "author": "alice", "filename": "db/changelog.sql"},
    )


def liquibase_ran(
    conn: Conn, *changes: tuple[str, str], filename: str = "db/changelog.sql"
) -> None:
    conn.execute(LIQUIBASE_CREATE)
    for order, (change_id, sql) in enumerate(changes, start=1):
        conn.execute(sql)
        conn.execute(
            "INSERT INTO public.databasechangelog (ID, AUTHOR, FILENAME, DATEEXECUTED,"
            " ORDEREXECUTED, MD5SUM, DESCRIPTION, COMMENTS, EXECTYPE, CONTEXTS, LABELS,"
            " LIQUIBASE, DEPLOYMENT_ID) VALUES (%s, 'alice', %s, NOW(), %s, %s, 'sql', '',"
            " 'EXECUTED', NULL, NULL, '4.31.0', '3975120367')",
            (change_id, filename, order, md5sum(sql)),
        )


def test_liquibase_checksums_are_its_version_9() -> None:
    # Liquibase's own test vector (SQLFileChangeTest): whitespace is no change.
    text = (
        "CREATE OR REPLACE PROCEDURE testHello()\n                  LANGUAGE plpgsql\n"
        "                  AS $$\n        BEGIN\n                  raise notice 'value1';\n"
        "        END $$"
    )
    assert md5sum(text) == "9:8cfbd3e5970885470db17cd149feb637"


def test_changesets_liquibase_ran_are_adopted_and_its_table_is_not_written(conn: Conn) -> None:
    liquibase_ran(conn, ("1", USERS))
    before = conn.execute("SELECT count(*) FROM databasechangelog").fetchone()
    result = engine.migrate(
        conn, MigrationSet([changeset("1", USERS), changeset("2", POSTS)]), Options()
    )
    assert result.adopted == ["db/changelog.sql"]
    assert result.adopted_from == "liquibase"
    assert [a.version for a in result.applied] == ["db/changelog.sql::2::alice"]
    assert conn.execute("SELECT count(*) FROM databasechangelog").fetchone() == before


def test_a_changeset_recorded_under_a_search_path_prefix_is_the_same_file(conn: Conn) -> None:
    liquibase_ran(conn, ("1", USERS), filename="classpath:/app/db/changelog.sql")
    result = engine.migrate(conn, MigrationSet([changeset("1", USERS)]), Options())
    assert result.applied == []


def test_a_changeset_changed_since_liquibase_ran_it_is_drift(conn: Conn) -> None:
    liquibase_ran(conn, ("1", USERS))
    edited = changeset("1", USERS.replace("bigint", "integer"))
    with pytest.raises(ProviderError, match=r"^db/changelog.sql was changed .* by liquibase"):
        engine.migrate(conn, MigrationSet([edited]), Options())


def test_a_run_on_change_changeset_liquibase_ran_before_it_changed_runs_again(conn: Conn) -> None:
    view = "CREATE OR REPLACE VIEW v AS SELECT 1 AS one"
    liquibase_ran(conn, ("v", view))
    same = engine.migrate(
        conn, MigrationSet([changeset("v", view, kind=Kind.REPEATABLE)]), Options()
    )
    assert same.applied == []
    changed = changeset("v", view.replace("1 AS one", "2 AS one"), kind=Kind.REPEATABLE)
    again = engine.migrate(conn, MigrationSet([changed]), Options())
    assert [a.name for a in again.applied] == ["db/changelog.sql"]


# -- sqitch --------------------------------------------------------------------------------

DEPLOY = {
    "users": f"-- Deploy flipr:users to pg\n\nBEGIN;\n\n{USERS}\n\nCOMMIT;\n",
    "posts": f"-- Deploy flipr:posts to pg\n\nBEGIN;\n\n{POSTS}\n\nCOMMIT;\n",
}


def sqitch_change(name: str, text: str, change_id: str | None = None) -> Migration:
    extra = {"project": "flipr"} | ({"change_id": change_id} if change_id else {})
    return tool_migration(f"deploy/{name}.sql", name, text, "sqitch", script=name, extra=extra)


def run_sqitch(project: Path, *args: str, env: dict[str, str]) -> str:
    sqitch = shutil.which("sqitch")
    if sqitch is None:
        pytest.skip("sqitch is not installed (Debian: apt-get install sqitch)")
    done = subprocess.run(
        [sqitch, *args], cwd=project, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    record_output("sqitch", " ".join(args), done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def flipr(tmp_path: Path, pg: EmbeddedPostgres, db: str) -> tuple[Path, dict[str, str], str]:
    """A sqitch project (two changes), the environment for sqitch and its target URI."""
    env = {
        **os.environ,
        "PGHOST": str(pg.socket_dir),
        "PGPORT": str(pg.port),
        "HOME": str(tmp_path),
    }
    project = tmp_path / "flipr"
    project.mkdir()
    run_sqitch(project, "init", "flipr", "--engine", "pg", env=env)
    for name, text in DEPLOY.items():
        run_sqitch(project, "add", name, "-n", f"Adds {name}.", env=env)
        (project / "deploy" / f"{name}.sql").write_text(text)
    return project, env, f"db:pg://{socket_for(pg, db).user}@/{db}"


def change_ids(project: Path, env: dict[str, str]) -> dict[str, str]:
    lines = run_sqitch(project, "plan", "--format", "format:%h %n", "--no-headers", env=env)
    return {name: change_id for change_id, name in (line.split() for line in lines.splitlines())}


def test_changes_sqitch_deployed_are_adopted_by_change_id(
    conn: Conn, flipr: tuple[Path, dict[str, str], str]
) -> None:
    project, env, target = flipr
    run_sqitch(project, "deploy", "--to", "users", target, env=env)
    ids = change_ids(project, env)
    the_set = MigrationSet([sqitch_change(n, t, ids[n]) for n, t in DEPLOY.items()])

    result = engine.migrate(conn, the_set, Options())
    assert result.adopted == ["deploy/users.sql"]
    assert result.adopted_from == "sqitch"
    assert [a.name for a in result.applied] == ["deploy/posts.sql"]
    assert engine.migrate(conn, the_set, Options()).applied == []
    assert conn.execute("SELECT count(*) FROM sqitch.changes").fetchone() == (1,)


def test_without_change_ids_sqitch_changes_are_matched_by_project_and_name(
    conn: Conn, flipr: tuple[Path, dict[str, str], str]
) -> None:
    project, env, target = flipr
    run_sqitch(project, "deploy", target, env=env)
    the_set = MigrationSet([sqitch_change(n, t) for n, t in DEPLOY.items()])
    assert engine.migrate(conn, the_set, Options()).adopted == [
        "deploy/users.sql",
        "deploy/posts.sql",
    ]


def test_a_deploy_script_changed_since_sqitch_ran_it_is_drift(
    conn: Conn, flipr: tuple[Path, dict[str, str], str]
) -> None:
    project, env, target = flipr
    run_sqitch(project, "deploy", "--to", "users", target, env=env)
    edited = DEPLOY["users"].replace("bigint", "integer")
    the_set = MigrationSet([sqitch_change("users", edited, change_ids(project, env)["users"])])
    with pytest.raises(ProviderError, match=r"^deploy/users.sql was changed .* by sqitch"):
        engine.migrate(conn, the_set, Options())


# -- Atlas ------------------------------------------------------------------------------------

ATLAS_CREATE = """
CREATE SCHEMA atlas_schema_revisions;
CREATE TABLE atlas_schema_revisions.atlas_schema_revisions (
    version character varying NOT NULL PRIMARY KEY,
    description character varying NOT NULL,
    type bigint NOT NULL DEFAULT 2,
    applied bigint NOT NULL DEFAULT 0,
    total bigint NOT NULL DEFAULT 0,
    executed_at timestamp with time zone NOT NULL,
    execution_time bigint NOT NULL,
    error text NULL,
    error_stmt text NULL,
    hash character varying NOT NULL,
    partial_hashes jsonb NULL,
    operator_version character varying NOT NULL
)
"""
ATLAS = {"20250301093000_users.sql": USERS + "\n", "20250302101500_posts.sql": POSTS + "\n"}


def atlas_sums() -> dict[str, str]:
    """``atlas.sum``'s entries: a running sha256 over each file's name and bytes, base64."""
    digest, sums = hashlib.sha256(), {}
    for name, text in ATLAS.items():
        digest.update(name.encode())
        digest.update(text.encode())
        sums[name] = base64.b64encode(digest.copy().digest()).decode()
    return sums


def atlas_set(files: dict[str, str] = ATLAS) -> MigrationSet:
    return MigrationSet(
        [
            tool_migration(
                name, name.split("_")[0], text, "atlas", tool_version=name.split("_")[0],
                description=name.split("_", 1)[1].removesuffix(".sql"), script=name,
            )
            for name, text in files.items()
        ]
    )  # fmt: skip


def atlas_applied(conn: Conn, name: str, *, applied: int = 1, total: int = 1) -> None:
    version, _, rest = name.partition("_")
    conn.execute(
        "INSERT INTO atlas_schema_revisions.atlas_schema_revisions (version, description, type,"
        " applied, total, executed_at, execution_time, hash, operator_version)"
        " VALUES (%s, %s, 2, %s, %s, now(), 1000, %s, 'Atlas CLI v0.32.0')",
        (version, rest.removesuffix(".sql"), applied, total, atlas_sums()[name]),
    )


def test_files_atlas_applied_are_adopted(conn: Conn) -> None:
    conn.execute(ATLAS_CREATE)
    conn.execute(USERS)
    atlas_applied(conn, "20250301093000_users.sql")
    result = engine.migrate(conn, atlas_set(), Options())
    assert result.adopted == ["20250301093000_users.sql"]
    assert [a.name for a in result.applied] == ["20250302101500_posts.sql"]
    count = conn.execute("SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions")
    assert count.fetchone() == (1,)


def test_a_partially_applied_atlas_revision_stops_the_run(conn: Conn) -> None:
    conn.execute(ATLAS_CREATE)
    atlas_applied(conn, "20250301093000_users.sql", applied=0)
    with pytest.raises(ProviderError, match=r"Atlas revision 20250301093000 is partially applied"):
        engine.migrate(conn, atlas_set(), Options())
    assert "users" not in tables(conn)


def test_a_file_changed_since_atlas_applied_it_is_drift(conn: Conn) -> None:
    conn.execute(ATLAS_CREATE)
    conn.execute(USERS)
    atlas_applied(conn, "20250301093000_users.sql")
    edited = {**ATLAS, "20250301093000_users.sql": USERS.replace("bigint", "integer") + "\n"}
    with pytest.raises(ProviderError, match=r"^20250301093000_users.sql was changed .* by atlas"):
        engine.migrate(conn, atlas_set(edited), Options())
    assert history(conn) == []
