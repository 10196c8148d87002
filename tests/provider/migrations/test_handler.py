"""The Lambda end to end: CloudFormation events in, responses PUT to a ResponseCollector."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from aurora_express.local import moto_stacks
from aurora_express.local.cfn_local import LambdaContext, ResponseCollector, request_event
from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.local.simulator import ensure_placeholder_function
from provider.migrations import endpoint, handler, migrator
from tests.support.migrations import history, tables
from tests.support.postgres import USER

TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:aurora-express-migrations"
TYPE = "Custom::AuroraExpressMigrations"
MIGRATIONS = [
    {"Name": "V1__users.sql", "Sql": "CREATE TABLE users (name text);"},
    {"Name": "V2__posts.sql", "Sql": "CREATE TABLE posts (body text);"},
]
SEEDS = [{"Name": "users.sql", "Sql": "INSERT INTO users VALUES ('Ada');"}]
Conn = psycopg.Connection[Any]
HISTORY = "aurora_express.schema_migrations"


@pytest.fixture
def collector() -> Iterator[ResponseCollector]:
    with ResponseCollector() as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "clients", migrator.Clients())


def sign_outside_moto() -> None:
    """moto swaps in its own fake credentials; sign tokens with the suite's, as the role would."""
    handler.clients.rds = boto3.client("rds")


@pytest.fixture
def props(pg: EmbeddedPostgres, db: str, tls: EmbeddedPostgres, frozen: None) -> dict[str, Any]:
    return {"Endpoint": pg.host, "Port": pg.port, "Username": USER, "Database": db}


def declared_stack(request_type: str, physical_id: str | None) -> str:
    """A stack CloudFormation shows with ``Schema`` in progress (the request is real)."""
    stack = moto_stacks.stack_named(boto3.client("cloudformation"), "app")
    status = f"{request_type.upper()}_IN_PROGRESS"
    moto_stacks.declare(stack, "Schema", TYPE, physical_id, stack_status=status)
    return stack


def invoke(
    collector: ResponseCollector,
    request_type: str,
    properties: dict[str, Any],
    *,
    physical_id: str | None = None,
    key: str = "r",
) -> dict[str, Any]:
    if handler.clients.rds is None:
        sign_outside_moto()
    with mock_aws():  # CloudFormation, which the request is confirmed with (shares any outer mock)
        event = request_event(
            request_type,
            TYPE,
            properties,
            response_url=collector.url(key),
            service_token=TOKEN,
            stack=declared_stack(request_type, physical_id),
            logical_id="Schema",
            physical_id=physical_id,
            old_properties=properties if request_type == "Update" else None,
        )
        handler.handler(event, LambdaContext(function_name="aurora-express-migrations"))
    response = collector.wait(key, timeout=10)
    assert response is not None
    return response.body


def test_create_applies_migrations_and_seeds_and_returns_the_attributes(
    collector: ResponseCollector, props: dict[str, Any], conn: Conn
) -> None:
    body = invoke(collector, "Create", {**props, "Migrations": MIGRATIONS, "Seeds": SEEDS})
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"] == {
        "AppliedCount": 2,
        "LatestVersion": "2",
        "SeedsApplied": 1,
        "HistoryTable": "aurora_express.schema_migrations",
    }
    assert (
        body["PhysicalResourceId"]
        == f"{props['Endpoint']}:{props['Port']}/{props['Database']}/{HISTORY}"
    )
    assert tables(conn) == {"users", "posts", "flyway_schema_history"}  # Flyway's kept too
    applied_by = conn.execute(
        "SELECT DISTINCT applied_by FROM aurora_express.schema_migrations"
    ).fetchall()
    assert applied_by[0][0].startswith("cloudformation:app/Schema (Create ")


def test_an_update_with_nothing_new_applies_nothing(
    collector: ResponseCollector, props: dict[str, Any]
) -> None:
    first = invoke(collector, "Create", {**props, "Migrations": MIGRATIONS}, key="c")
    body = invoke(
        collector,
        "Update",
        {**props, "Migrations": MIGRATIONS, "Revision": "abc"},
        physical_id=first["PhysicalResourceId"],
        key="u",
    )
    assert body["Status"] == "SUCCESS"
    assert body["Data"]["AppliedCount"] == 0
    assert body["Data"]["LatestVersion"] == "2"


def test_an_unknown_property_fails_naming_it_before_connecting(
    collector: ResponseCollector,
) -> None:
    body = invoke(collector, "Create", {"Endpoint": "db.invalid", "Colour": "blue"})
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "Property Colour: is not a property of Custom::AuroraExpressMigrations"


def test_a_wrong_type_fails_naming_the_property(collector: ResponseCollector) -> None:
    body = invoke(collector, "Create", {"Endpoint": "db.invalid", "LockTimeoutSeconds": "soon"})
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("Property LockTimeoutSeconds:")


def test_a_failing_migration_fails_naming_the_file_and_line(
    collector: ResponseCollector, props: dict[str, Any], conn: Conn
) -> None:
    bad = [*MIGRATIONS, {"Name": "V3__bad.sql", "Sql": "SELECT 1;\nSELECT * FROM nope;"}]
    body = invoke(collector, "Create", {**props, "Migrations": bad})
    assert body["Status"] == "FAILED"
    assert body["Reason"] == 'V3__bad.sql line 2: 42P01 relation "nope" does not exist'
    assert [r[1] for r in history(conn)] == ["V1__users.sql", "V2__posts.sql"]


def test_a_changed_migration_fails_naming_the_file(
    collector: ResponseCollector, props: dict[str, Any]
) -> None:
    invoke(collector, "Create", {**props, "Migrations": MIGRATIONS}, key="c")
    changed = [
        MIGRATIONS[0],
        {"Name": "V2__posts.sql", "Sql": "CREATE TABLE posts (body text, x int);"},
    ]
    body = invoke(collector, "Update", {**props, "Migrations": changed}, physical_id="p", key="u")
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("V2__posts.sql was changed after it was applied")


def test_delete_succeeds_and_touches_nothing(
    collector: ResponseCollector, props: dict[str, Any], conn: Conn
) -> None:
    created = invoke(collector, "Create", {**props, "Migrations": MIGRATIONS}, key="c")
    before = history(conn)
    body = invoke(
        collector,
        "Delete",
        {**props, "Migrations": MIGRATIONS},
        physical_id=created["PhysicalResourceId"],
        key="d",
    )
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert history(conn) == before
    assert tables(conn) == {"users", "posts", "flyway_schema_history"}  # Flyway's kept too


def test_delete_of_an_unreachable_database_still_succeeds(collector: ResponseCollector) -> None:
    body = invoke(
        collector, "Delete", {"Endpoint": "db.invalid", "Colour": "blue"}, physical_id="gone"
    )
    assert body["Status"] == "SUCCESS"


def test_the_database_is_created_when_missing(
    collector: ResponseCollector, props: dict[str, Any], pg: EmbeddedPostgres
) -> None:
    try:
        body = invoke(
            collector, "Create", {**props, "Database": "handler_app", "Migrations": MIGRATIONS}
        )
        assert body["Status"] == "SUCCESS", body["Reason"]
        with pg.admin("handler_app") as admin:
            assert admin.execute("SELECT count(*) FROM users").fetchone() == (0,)
    finally:
        pg.drop_database("handler_app")


def test_migrations_are_read_from_an_s3_prefix(
    collector: ResponseCollector, props: dict[str, Any], conn: Conn
) -> None:
    sign_outside_moto()
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="app")
        for item in MIGRATIONS:
            s3.put_object(Bucket="app", Key=f"db/{item['Name']}", Body=item["Sql"].encode())
        s3.put_object(Bucket="app", Key="seeds/users.sql", Body=SEEDS[0]["Sql"].encode())
        body = invoke(
            collector,
            "Create",
            {**props, "MigrationsS3Uri": "s3://app/db/", "SeedsS3Uri": "s3://app/seeds/"},
        )
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert (body["Data"]["AppliedCount"], body["Data"]["SeedsApplied"]) == (2, 1)


def test_an_unreadable_s3_source_fails_naming_the_property(
    collector: ResponseCollector, props: dict[str, Any]
) -> None:
    with mock_aws():
        body = invoke(collector, "Create", {**props, "MigrationsS3Uri": "s3://missing-bucket/db/"})
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("MigrationsS3Uri: could not read s3://missing-bucket/db/")


def test_the_token_is_never_logged_nor_returned(
    collector: ResponseCollector,
    props: dict[str, Any],
    pg: EmbeddedPostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = invoke(collector, "Create", {**props, "Migrations": MIGRATIONS})
    token = pg.iam_token(USER)
    assert token not in str(body)
    assert token not in caplog.text
    signature = token.split("X-Amz-Signature=")[1]
    assert signature not in caplog.text


def test_direct_plan_lists_pending_without_applying(props: dict[str, Any], conn: Conn) -> None:
    out = handler.handler({"Action": "plan", **props, "Migrations": MIGRATIONS}, LambdaContext())
    assert out is not None
    assert out["Status"] == "SUCCESS"
    assert [p["name"] for p in out["pending"]] == ["V1__users.sql", "V2__posts.sql"]
    assert tables(conn) == set()


def test_direct_migrate_then_status(props: dict[str, Any]) -> None:
    migrated = handler.handler(
        {"Action": "migrate", "AppliedBy": "ci:job-42", **props, "Migrations": MIGRATIONS},
        LambdaContext(),
    )
    assert migrated is not None
    assert [a["name"] for a in migrated["applied"]] == ["V1__users.sql", "V2__posts.sql"]
    status = handler.handler(
        {"Action": "status", **props, "Migrations": MIGRATIONS}, LambdaContext()
    )
    assert status is not None
    assert status["pending"] == []
    assert {h["appliedBy"] for h in status["history"]} == {"ci:job-42"}


def test_direct_plan_of_a_database_not_yet_created_shows_everything_pending(
    props: dict[str, Any],
) -> None:
    out = handler.handler(
        {"Action": "plan", **props, "Database": "not_there", "Migrations": MIGRATIONS}, None
    )
    assert out is not None
    assert out["databaseExists"] is False
    assert len(out["pending"]) == 2


def test_direct_invocation_failures_are_json(props: dict[str, Any]) -> None:
    out = handler.handler({"Action": "migrate", **props, "Port": "nope"}, LambdaContext())
    assert out == {
        "Action": "migrate",
        "Status": "FAILED",
        "Reason": "Property Port: must be an integer from 1 to 65535, not 'nope'.",
    }
    unknown = handler.handler({"Action": "drop"}, LambdaContext())
    assert unknown is not None
    assert unknown["Reason"] == "Action must be plan, status or migrate."


def test_the_token_region_comes_from_an_rds_endpoint_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert endpoint.region_for("db.cluster-abc.eu-west-2.rds.amazonaws.com", "x") == "eu-west-2"
    assert endpoint.region_for("localhost", "us-east-1") == "us-east-1"


@pytest.fixture
def lambda_function() -> Iterator[str]:
    """moto with the function crhelper adds an invoke permission to when it schedules a poll."""
    name = "aurora-express-migrations"
    sign_outside_moto()
    with mock_aws():
        ensure_placeholder_function(name)
        yield name


def test_a_run_out_of_time_carries_on_in_a_scheduled_poll(
    collector: ResponseCollector,
    props: dict[str, Any],
    lambda_function: str,
    conn: Conn,
) -> None:
    slow = [
        {"Name": f"V{i}__step.sql", "Sql": f"CREATE TABLE s{i} (a int); SELECT pg_sleep(0.2);"}
        for i in range(1, 4)
    ]
    event = request_event(
        "Create",
        TYPE,
        {**props, "Migrations": slow},
        response_url=collector.url("poll"),
        service_token=TOKEN,
        stack=declared_stack("Create", None),
        logical_id="Schema",
    )
    # 3.2 s, of which 3 s are kept as the margin: the first migration starts (each
    # invocation applies one at least), the third not.
    handler.handler(event, LambdaContext(function_name=lambda_function, timeout_seconds=3.2))
    assert collector.responses("poll") == []  # not answered yet: work remains
    assert len(history(conn)) < 3

    events = boto3.client("events")
    (rule,) = events.list_rules()["Rules"]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    handler.handler(json.loads(target["Input"]), LambdaContext(function_name=lambda_function))
    response = collector.wait("poll", timeout=10)
    assert response is not None
    assert response.body["Status"] == "SUCCESS", response.body["Reason"]
    assert response.body["Data"]["LatestVersion"] == "3"
    assert response.body["Data"]["AppliedCount"] == 3  # over both invocations
    assert [r[1] for r in history(conn)] == ["V1__step.sql", "V2__step.sql", "V3__step.sql"]
    assert events.list_rules()["Rules"] == []
