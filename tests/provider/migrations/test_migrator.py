"""The one entry to the engine: a source, a target and options; plan, status, migrate.

Against a real PostgreSQL (TLS, the IAM token boto3 makes at ``FROZEN_AT``)
and moto for the endpoint look-up, as the function runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine
from moto import mock_aws

from aurora_express.local.cfn_local import LambdaContext
from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from provider.common.deadline import Deadline
from provider.common.errors import ProviderError
from provider.migrations import connect, endpoint, handler, properties, settings
from provider.migrations.engine import Result
from provider.migrations.layouts import Layout
from provider.migrations.migrator import (
    Clients,
    ClusterTarget,
    Migrator,
    Source,
    for_resource,
    options_from,
)
from provider.migrations.plan import Plan, SeedMode
from provider.migrations.sources import SourceFiles, from_directory

USER = "migrator"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FILES = {
    "V1__users.sql": "CREATE TABLE users (name text);",
    "V2__posts.sql": "CREATE TABLE posts (body text);",
}
PLAN_KEYS = list(Plan().as_json())


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        server.create_role(USER, server.iam_token(USER))
        yield server


@pytest.fixture
def db(pg: EmbeddedPostgres) -> Iterator[str]:
    name = pg.create_database()
    yield name
    pg.drop_database(name)


@pytest.fixture
def logged_in(pg: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """TLS trusting the test CA (``DB_SSLROOTCERT``), the clock where the role's token was made."""
    monkeypatch.setenv("DB_SSLROOTCERT", str(pg.ca_path))
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    with time_machine.travel(FROZEN_AT, tick=False):
        yield


def target(pg: EmbeddedPostgres, database: str) -> ClusterTarget:
    tokens = connect.iam_tokens(boto3.client("rds", region_name="us-east-1"))
    address = connect.Target(pg.host, pg.port, USER, database, "us-east-1")
    return ClusterTarget(address, tokens, timeout=5)


def source(files: dict[str, str] = FILES) -> Source:
    return Source.read(SourceFiles({k: v.encode() for k, v in files.items()}))


def migrator(pg: EmbeddedPostgres, database: str, files: dict[str, str] = FILES) -> Migrator:
    options = options_from(properties.parse_run({}), applied_by="test")
    return Migrator(source(files), target(pg, database), options)


# -- plan, status, migrate ----------------------------------------------------------------


@pytest.mark.usefixtures("logged_in")
def test_plan_of_a_database_not_yet_created_has_everything_pending_and_creates_nothing(
    pg: EmbeddedPostgres,
) -> None:
    planned = migrator(pg, "not_yet").plan()
    assert planned.database_exists is False
    assert planned.missing_reason == "Database not_yet does not exist on localhost."
    assert [m.name for m in planned.plan.pending] == ["V1__users.sql", "V2__posts.sql"]
    assert planned.as_json() == {**planned.plan.as_json(), "problem": None, "databaseExists": False}
    with pg.admin() as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'not_yet'").fetchone()
    assert found is None


@pytest.mark.usefixtures("logged_in")
def test_migrate_creates_the_database_then_plan_has_nothing_pending(pg: EmbeddedPostgres) -> None:
    try:
        migrated = migrator(pg, "made_by_migrate").migrate()
        assert [a.name for a in migrated.result.applied] == ["V1__users.sql", "V2__posts.sql"]
        assert migrated.as_json() == {**migrated.result.as_json(), "remaining": []}
        planned = migrator(pg, "made_by_migrate").plan()
        assert (planned.database_exists, planned.plan.pending, planned.problem) == (True, [], None)
        assert list(planned.as_json()) == [*PLAN_KEYS, "problem"]
    finally:
        pg.drop_database("made_by_migrate")


@pytest.mark.usefixtures("logged_in")
def test_status_is_the_plan_and_every_history_row(pg: EmbeddedPostgres, db: str) -> None:
    migrator(pg, db).migrate()
    status = migrator(pg, db).status()
    assert [row.name for row in status.history] == ["V1__users.sql", "V2__posts.sql"]
    shown = status.as_json()
    assert list(shown) == [*PLAN_KEYS, "problem", "historyTable", "history"]
    assert shown["historyTable"] == "aurora_express.schema_migrations"
    assert {row["appliedBy"] for row in shown["history"]} == {"test"}


@pytest.mark.usefixtures("logged_in")
def test_status_of_a_database_not_yet_created_is_shown_as_its_plan(pg: EmbeddedPostgres) -> None:
    status = migrator(pg, "not_yet").status()
    assert status.history == ()
    assert status.as_json() == migrator(pg, "not_yet").plan().as_json()


@pytest.mark.usefixtures("logged_in")
def test_a_changed_migration_is_the_plans_problem_and_stops_migrate(
    pg: EmbeddedPostgres, db: str
) -> None:
    migrator(pg, db).migrate()
    changed = {**FILES, "V1__users.sql": "CREATE TABLE users (name text, age int);"}
    planned = migrator(pg, db, changed).plan()
    assert planned.problem is not None
    assert planned.problem.startswith("V1__users.sql was changed after it was applied")
    with pytest.raises(ProviderError, match=r"V1__users\.sql was changed"):
        migrator(pg, db, changed).migrate()


def test_without_a_target_plan_is_against_an_empty_database_and_migrate_refuses() -> None:
    empty = Migrator(source(), None, options_from(properties.parse_run({}), applied_by="test"))
    planned = empty.plan()
    assert (planned.database_exists, planned.missing_reason) == (False, None)
    assert len(planned.plan.pending) == 2
    assert empty.status().as_json() == planned.as_json()
    with pytest.raises(ProviderError, match="no database to migrate"):
        empty.migrate()


# -- source and options --------------------------------------------------------------------


def test_a_source_reports_the_layout_it_was_read_in() -> None:
    assert Source.read(from_directory(EXAMPLES / "layouts" / "dbmate")).layout is Layout.DBMATE
    assert Source.read(from_directory(EXAMPLES / "migrations")).layout is Layout.FLYWAY
    plain = Source.read(from_directory(EXAMPLES / "migrations"), layout="plain")
    assert plain.layout is Layout.PLAIN
    assert plain.migration_set.migrations[0].name == "R__customer_totals_view.sql"


def test_an_inline_list_keeps_its_order_and_seeds_are_read_too() -> None:
    inline = SourceFiles({"b.sql": b"SELECT 2", "a.sql": b"SELECT 1"}, ordered=True)
    seeds = SourceFiles({"s.sql": b"SELECT 3"}, ordered=True)
    read = Source.read(inline, seeds)
    assert [m.name for m in read.migration_set.migrations] == ["b.sql", "a.sql"]
    assert [m.name for m in read.migration_set.seeds] == ["s.sql"]


def test_options_come_from_the_run_properties() -> None:
    run = properties.parse_run(
        {
            "HistoryTable": "app.history",
            "AllowOutOfOrder": "true",
            "SeedMode": "Always",
            "LockTimeoutSeconds": "5",
            "StatementTimeoutSeconds": "60",
        }
    )
    deadline = Deadline.after(10)
    options = options_from(run, applied_by="me", deadline=deadline)
    assert str(options.history_table) == "app.history"
    assert (options.allow_out_of_order, options.seed_mode) == (True, SeedMode.ALWAYS)
    assert (options.lock_timeout, options.statement_timeout) == (5, 60)
    assert (options.applied_by, options.deadline) == ("me", deadline)


def test_the_resource_and_the_run_properties_share_one_rule() -> None:
    for parse in (properties.parse_run, lambda raw: properties.parse({"Endpoint": "x", **raw})):
        with pytest.raises(ProviderError, match="LockTimeoutSeconds: must be an integer"):
            parse({"LockTimeoutSeconds": "-1"})


def test_the_lock_timeout_is_5_seconds_unless_set_and_0_is_none() -> None:
    assert options_from(properties.parse_run({}), applied_by="me").lock_timeout == 5
    none = properties.parse_run({"LockTimeoutSeconds": "0"})
    assert options_from(none, applied_by="me").lock_timeout is None


# -- built from the resource's properties ---------------------------------------------------


def resource(raw: dict[str, Any]) -> properties.MigrationsProperties:
    return properties.parse({"Migrations": [{"Name": "V1__a.sql", "Sql": "SELECT 1"}], **raw})


# The provider's ownership tags: the migrations function runs SQL only on such clusters.
OWNED = [
    {
        "Key": "aurora-express:stack-id",
        "Value": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1",
    },
    {"Key": "aurora-express:logical-id", "Value": "Db"},
]


def test_a_cluster_identifier_is_looked_up_for_its_endpoint_port_and_region() -> None:
    with mock_aws():
        rds = boto3.client("rds", region_name="us-east-1")
        rds.create_db_cluster(
            DBClusterIdentifier="app-db",
            Engine="aurora-postgresql",
            MasterUsername="admin",
            MasterUserPassword="unused-with-iam",
            Tags=OWNED,
        )
        found = endpoint.lookup(rds, "app-db")
        built = for_resource(
            resource({"ClusterIdentifier": "app-db", "Database": "app"}),
            settings.MigrationsSettings(),
            Clients(rds=rds),
            applied_by="test",
            deadline=Deadline.after(30),
        )
    assert (found.master_username, found.region, found.port) == ("admin", "us-east-1", 5432)
    assert isinstance(built.target, ClusterTarget)
    address = built.target.address
    assert address == connect.Target(found.require_host(), 5432, "postgres", "app", "us-east-1")
    assert built.target.timeout is not None and built.target.timeout <= 30
    assert built.options.applied_by == "test"


def test_an_unknown_cluster_fails_naming_it_and_the_error_code() -> None:
    with mock_aws():
        rds = boto3.client("rds", region_name="us-east-1")
        with pytest.raises(endpoint.LookupFailed) as caught:
            for_resource(
                resource({"ClusterIdentifier": "nope"}),
                settings.MigrationsSettings(),
                Clients(rds=rds),
                applied_by="test",
            )
    assert caught.value.reason == "Could not look up cluster nope (DBClusterNotFoundFault)."
    assert caught.value.not_found


def test_an_endpoint_given_is_used_as_is_with_the_region_its_name_holds() -> None:
    with mock_aws():
        elsewhere = boto3.client("rds", region_name="eu-west-2")
        cluster = elsewhere.create_db_cluster(
            DBClusterIdentifier="app-db",
            Engine="aurora-postgresql",
            MasterUsername="postgres",
            MasterUserPassword="unused-with-iam",
            Tags=OWNED,
        )["DBCluster"]
        built = for_resource(
            resource({"Endpoint": cluster["Endpoint"], "Port": "6543"}),
            settings.MigrationsSettings(region="us-east-1"),
            Clients(rds=boto3.client("rds", region_name="us-east-1")),
            applied_by="test",
        )
    assert isinstance(built.target, ClusterTarget)
    assert built.target.address.host == cluster["Endpoint"]
    assert (built.target.address.port, built.target.address.region) == (6543, "eu-west-2")


# -- the direct invocation's JSON --------------------------------------------------------------


@pytest.mark.usefixtures("logged_in")
def test_a_direct_invocation_answers_the_migrators_json(
    pg: EmbeddedPostgres, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler, "clients", Clients(rds=boto3.client("rds")))
    props = {"Endpoint": pg.host, "Port": pg.port, "Username": USER, "Database": db}
    inline = [{"Name": k, "Sql": v} for k, v in FILES.items()]
    answers = {
        action: handler.handler({"Action": action, **props, "Migrations": inline}, LambdaContext())
        for action in ("plan", "migrate", "status")
    }
    assert all(a is not None and a["Status"] == "SUCCESS" for a in answers.values()), answers
    assert list(answers["plan"] or {}) == ["Action", "Status", *PLAN_KEYS, "problem"]
    assert list(answers["migrate"] or {}) == [
        "Action",
        "Status",
        *Result().as_json(),
        "remaining",
    ]
    assert list(answers["status"] or {}) == [
        "Action",
        "Status",
        *PLAN_KEYS,
        "problem",
        "historyTable",
        "history",
    ]


def test_what_cannot_run_is_the_plans_problem_naming_file_and_line() -> None:
    files = {**FILES, "V3__load.sql": "CREATE TABLE x (id int);\n\\copy x from 'x.csv'\n"}
    options = options_from(properties.parse_run({}), applied_by="test")
    planned = Migrator(source(files), None, options).plan()
    assert planned.problem is not None
    assert planned.problem.startswith("V3__load.sql line 2: \\copy is a psql command")
