"""``aurora-express diff`` on real PostgreSQL: one pair of schemas per kind of difference."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine

from aurora_express.cli import extras
from aurora_express.cli.main import main
from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from tests.support.cli import CLUSTER, endpoint_args
from tests.support.paths import ROOT

EXAMPLES = ROOT / "examples" / "migrations"

BASE = """
CREATE TABLE items (id int PRIMARY KEY, name text, qty int);
CREATE TABLE notes (body text);
CREATE VIEW v AS SELECT id, name FROM items WHERE qty > 0;
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE SEQUENCE s;
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
"""

# kind -> (what the second database gets on top of BASE, the object changed, a line of the diff)
CASES: dict[str, tuple[str, tuple[str, str, str], str]] = {
    "table": (
        "CREATE TABLE extra (id int)",
        ("table", "public.extra", "added"),
        "+table public.extra",
    ),
    "dropped table": (
        "DROP TABLE notes",
        ("table", "public.notes", "removed"),
        "-table public.notes",
    ),
    "column": (
        "ALTER TABLE items ADD COLUMN price numeric(10,2)",
        ("table", "public.items", "changed"),
        "+  column price numeric(10,2)",
    ),
    "column type": (
        "ALTER TABLE notes ALTER COLUMN body TYPE varchar(200)",
        ("table", "public.notes", "changed"),
        "+  column body character varying(200)",
    ),
    "column default": (
        "ALTER TABLE items ALTER COLUMN qty SET DEFAULT 1",
        ("table", "public.items", "changed"),
        "+  column qty integer default 1",
    ),
    "column nullability": (
        "ALTER TABLE items ALTER COLUMN name SET NOT NULL",
        ("table", "public.items", "changed"),
        "+  column name text not null",
    ),
    "index": (
        "CREATE UNIQUE INDEX items_name ON items (lower(name))",
        ("table", "public.items", "changed"),
        "+  index items_name UNIQUE USING btree (lower(name))",
    ),
    "constraint": (
        "ALTER TABLE items ADD CONSTRAINT qty_positive CHECK (qty > 0)",
        ("table", "public.items", "changed"),
        "+  constraint qty_positive CHECK ((qty > 0))",
    ),
    "foreign key": (
        "CREATE TABLE orders (item int REFERENCES items (id))",
        ("table", "public.orders", "added"),
        "+  constraint orders_item_fkey FOREIGN KEY (item) REFERENCES public.items(id)",
    ),
    "trigger": (
        "CREATE TRIGGER t BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch()",
        ("table", "public.items", "changed"),
        "+  trigger t BEFORE UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION public.touch()",
    ),
    "row level security": (
        "ALTER TABLE items ENABLE ROW LEVEL SECURITY;"
        " CREATE POLICY mine ON items FOR SELECT TO reader USING (qty > 0)",
        ("table", "public.items", "changed"),
        "+  policy mine for SELECT to reader using ((qty > 0))",
    ),
    "view": (
        "CREATE OR REPLACE VIEW v AS SELECT id, name FROM items WHERE qty > 1",
        ("view", "public.v", "changed"),
        "+      WHERE qty > 1;",
    ),
    "function": (
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2'",
        ("function", "public.f()", "changed"),
        "+    AS $function$SELECT 2$function$",
    ),
    "sequence": (
        "ALTER SEQUENCE s INCREMENT BY 5",
        ("sequence", "public.s", "changed"),
        "+  as bigint start 1 increment 5 min 1 max 9223372036854775807 cache 1",
    ),
    "type": (
        "ALTER TYPE mood ADD VALUE 'happy'",
        ("type", "public.mood", "changed"),
        "+  enum ('sad', 'ok', 'happy')",
    ),
    "extension": (
        "CREATE EXTENSION pgcrypto",
        ("extension", "pgcrypto", "added"),
        "+extension pgcrypto",
    ),
    "schema": (
        "CREATE SCHEMA billing",
        ("schema", "billing", "added"),
        "+schema billing",
    ),
    "grant": (
        "GRANT SELECT, UPDATE ON items TO reader",
        ("table", "public.items", "changed"),
        "+  grant SELECT, UPDATE to reader",
    ),
    "revoke": (
        "REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC",
        ("function", "public.f()", "changed"),
        "+  revoke EXECUTE from PUBLIC",
    ),
}


@pytest.fixture
def databases(pg: EmbeddedPostgres) -> Iterator[Callable[..., str]]:
    """Makes databases (each running ``sql``); dropped after the test."""
    with pg.admin() as conn:
        conn.execute(
            "DO $$ BEGIN CREATE ROLE reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    made: list[str] = []

    def make(*sql: str) -> str:
        name = pg.create_database()
        made.append(name)
        with pg.admin(name) as conn:
            for statement in sql:
                if statement:
                    conn.execute(statement)
        return name

    yield make
    for name in made:
        pg.drop_database(name)


def dsn(pg: EmbeddedPostgres, db: str) -> str:
    return f"host={pg.socket_dir} port={pg.port} user=postgres dbname={db}"


def _diff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["diff", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("kind", list(CASES))
def test_a_difference_of_each_kind_is_found_named_and_shown(
    kind: str,
    pg: EmbeddedPostgres,
    databases: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    change, expected, line = CASES[kind]
    a, b = databases(BASE), databases(BASE, change)
    code, out, _ = _diff(capsys, "--dsn", dsn(pg, a), "--dsn", dsn(pg, b))
    assert code == 1
    assert line in out.splitlines()
    code, out, _ = _diff(capsys, "--dsn", dsn(pg, a), "--dsn", dsn(pg, b), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["equal"] is False
    assert [(c["kind"], c["name"], c["change"]) for c in report["changes"]] == [expected]


def test_equal_schemas_made_in_another_order_are_equal(
    pg: EmbeddedPostgres, databases: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    a = databases(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int)",
        "CREATE TABLE b (id int PRIMARY KEY)",
        "ALTER TABLE a ADD CONSTRAINT a_b_id_fkey FOREIGN KEY (b_id) REFERENCES b (id)",
        "CREATE INDEX a_x ON a (b_id)",
        "CREATE INDEX a_y ON a (id, b_id)",
    )
    b = databases(
        "CREATE TABLE b (id int PRIMARY KEY)",
        "CREATE TABLE a (id int PRIMARY KEY, b_id int REFERENCES b (id))",
        "CREATE INDEX a_y ON a (id, b_id)",
        "CREATE INDEX a_x ON a (b_id)",
        "SET search_path = pg_catalog",  # the deparsers' output does not follow the session
    )
    code, out, err = _diff(capsys, "--dsn", dsn(pg, a), "--dsn", dsn(pg, b))
    assert (code, out) == (0, "")
    assert err.startswith("No schema difference: ")


def test_the_migration_history_is_not_part_of_the_schema(
    pg: EmbeddedPostgres, databases: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    a = databases(BASE)
    b = databases(BASE, "CREATE SCHEMA aurora_express; CREATE TABLE aurora_express.h (n int)")
    assert _diff(capsys, "--dsn", dsn(pg, a), "--dsn", dsn(pg, b))[0] == 0


def test_hunks_are_headed_by_the_object_they_are_in(
    pg: EmbeddedPostgres, databases: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    wide = "CREATE TABLE wide (" + ", ".join(f"c{i} int" for i in range(12)) + ")"
    a, b = databases(wide), databases(wide, "ALTER TABLE wide ALTER COLUMN c9 TYPE bigint")
    _, out, _ = _diff(capsys, "--dsn", dsn(pg, a), "--dsn", dsn(pg, b))
    hunks = [line for line in out.splitlines() if line.startswith("@@")]
    assert len(hunks) == 1 and hunks[0].endswith(" @@ table public.wide")


def test_migrations_applied_to_a_throwaway_server_equal_the_same_migrations_applied_here(
    pg: EmbeddedPostgres, databases: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    migrated = databases()
    assert main(["migrate", str(EXAMPLES), "--dsn", dsn(pg, migrated)]) == 0
    capsys.readouterr()
    code, out, _ = _diff(capsys, "--migrations", str(EXAMPLES), "--dsn", dsn(pg, migrated))
    assert (code, out) == (0, "")


def test_two_migration_folders_that_differ_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "V1__items.sql").write_text("CREATE TABLE items (id int PRIMARY KEY);")
    (new / "V2__name.sql").write_text("ALTER TABLE items ADD COLUMN name text;")
    code, out, _ = _diff(capsys, "--migrations", str(old), "--migrations", str(new))
    assert code == 1
    assert out.splitlines()[:2] == [f"--- migrations {old}", f"+++ migrations {new}"]
    assert "+  column name text" in out.splitlines()


def test_a_cluster_side_connects_with_a_token_over_tls(
    cluster: dict[str, Any],
    tls: EmbeddedPostgres,
    databases: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = databases(BASE)
    with time_machine.travel(FROZEN_AT, tick=False):
        code, out, _ = _diff(
            capsys,
            "--cluster",
            CLUSTER,
            *endpoint_args(tls),
            "--database",
            db,
            "--dsn",
            dsn(tls, db),
            "--json",
        )
    assert code == 0, out
    assert json.loads(out)["from"] == f"cluster {CLUSTER}"


def test_one_side_only_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _diff(capsys, "--dsn", "dbname=x")
    assert code == 2
    assert "diff needs two databases" in err


def test_a_database_that_cannot_be_reached_exits_2_not_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _diff(
        capsys, "--dsn", "host=127.0.0.1 port=1 dbname=x connect_timeout=5", "--dsn", "dbname=y"
    )
    assert code == 2
    assert "could not connect with --dsn" in err


def test_a_dsns_password_never_appears_in_the_labels(
    pg: EmbeddedPostgres, databases: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = databases(BASE), databases(BASE, "CREATE TABLE extra (id int)")
    secret_a = dsn(pg, a) + " password=hunter2-not-used"
    code, out, _ = _diff(capsys, "--dsn", secret_a, "--dsn", dsn(pg, b))
    assert code == 1
    assert "hunter2" not in out
    assert out.splitlines()[0] == f"--- dsn {pg.socket_dir}:{pg.port}/{a}"


def test_migrations_without_the_local_extra_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(extras.MODULES, "local", ("aurora_express_no_such_module",))
    code, _, err = _diff(capsys, "--migrations", str(EXAMPLES), "--dsn", "dbname=x")
    assert code == 2
    assert "diff --migrations needs the [local] extra" in err
