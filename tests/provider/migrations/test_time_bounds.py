"""Time, bounded: every invocation starts work and answers in time, and a request gives up
before CloudFormation's timeout, saying why (issue 14)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from aurora_express.local.cfn_local import LambdaContext, ResponseCollector, request_event
from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.local.simulator import ensure_placeholder_function
from provider.common.deadline import InvocationDeadline
from provider.migrations import engine, handler, migrator, timing
from provider.migrations.properties import parse_run
from tests.provider.migrations.test_handler import TOKEN, TYPE, declared_stack
from tests.support.migrations import history, mset, run
from tests.support.postgres import USER

Conn = psycopg.Connection[Any]
FUNCTION = "aurora-express-migrations"


def sleepy(count: int, seconds: float = 0.5) -> list[dict[str, str]]:
    return [
        {
            "Name": f"V{i}__step.sql",
            "Sql": f"CREATE TABLE s{i} (a int); SELECT pg_sleep({seconds});",
        }
        for i in range(1, count + 1)
    ]


@pytest.fixture
def collector() -> Iterator[ResponseCollector]:
    with ResponseCollector() as running:
        yield running


@pytest.fixture
def props(pg: EmbeddedPostgres, db: str, tls: EmbeddedPostgres, frozen: None) -> dict[str, Any]:
    return {"Endpoint": pg.host, "Port": pg.port, "Username": USER, "Database": db}


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tokens signed with the suite's credentials; CloudFormation, EventBridge and the
    function (crhelper adds an invoke permission to it) in moto."""
    monkeypatch.setattr(handler, "clients", migrator.Clients(rds=boto3.client("rds")))
    with mock_aws():
        ensure_placeholder_function(FUNCTION)
        yield


def create(
    collector: ResponseCollector, properties: dict[str, Any], context: LambdaContext
) -> dict[str, Any]:
    """A Create as CloudFormation sends it, handled in one invocation of ``context``."""
    event = request_event(
        "Create",
        TYPE,
        properties,
        response_url=collector.url("r"),
        service_token=TOKEN,
        stack=declared_stack("Create", None),
        logical_id="Schema",
    )
    handler.handler(event, context)
    return event


def next_poll() -> dict[str, Any]:
    """The event of the poll crhelper scheduled (its EventBridge target's input)."""
    events = boto3.client("events")
    (rule,) = events.list_rules()["Rules"]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    return dict(json.loads(target["Input"]))


def answer(collector: ResponseCollector) -> dict[str, Any]:
    response = collector.wait("r", timeout=10)
    assert response is not None, "CloudFormation got no answer"
    return dict(response.body)


# -- margins proportional to the time there is -----------------------------------------


@pytest.mark.parametrize("timeout", [30.0, 60.0])
def test_a_function_of_30_or_60_seconds_applies_migrations_in_its_first_invocation(
    collector: ResponseCollector, props: dict[str, Any], conn: Conn, timeout: float
) -> None:
    create(collector, {**props, "Migrations": sleepy(2, 0)}, LambdaContext(FUNCTION, timeout))
    body = answer(collector)
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["AppliedCount"] == 2
    assert len(history(conn)) == 2


# -- at least one migration per invocation, never past the hard end ---------------------


def test_an_invocation_whose_margin_is_reached_still_applies_one_migration(conn: Conn) -> None:
    now = time.monotonic()
    spent = InvocationDeadline(at=now - 1, hard_at=now + 60)  # connecting took the budget
    result = run(conn, mset({"V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;"}), deadline=spent)
    assert [a.name for a in result.applied] == ["V1__a.sql"]
    assert not result.complete


def test_no_migration_starts_past_the_hard_end(conn: Conn) -> None:
    now = time.monotonic()
    over = InvocationDeadline(at=now - 2, hard_at=now - 1)
    result = run(conn, mset({"V1__a.sql": "SELECT 1;"}), deadline=over)
    assert result.applied == []
    assert not result.complete


# -- a give-up before ServiceTimeout --------------------------------------------------


def test_a_request_still_polling_near_service_timeout_fails_saying_so(
    collector: ResponseCollector,
    props: dict[str, Any],
    conn: Conn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create(collector, {**props, "Migrations": sleepy(8)}, LambdaContext(FUNCTION, 6.0))
    assert collector.responses("r") == []  # out of time: handed over to polling
    before = len(history(conn))
    assert 1 <= before < 8

    later = time.time() + 3520  # 58 min on: CloudFormation's hour is near
    monkeypatch.setattr(timing, "wall_clock", lambda: later)
    handler.handler(next_poll(), LambdaContext(FUNCTION, 900.0))
    body = answer(collector)
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("Gave up after 58 min, before CloudFormation's timeout")
    assert len(history(conn)) == before  # nothing more started
    assert boto3.client("events").list_rules()["Rules"] == []  # no more polls


def test_an_invocation_reaching_the_give_up_point_fails_in_that_invocation(
    collector: ResponseCollector,
    props: dict[str, Any],
    conn: Conn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    properties = {**props, "Migrations": sleepy(16), "ServiceTimeout": 120}
    create(collector, properties, LambdaContext(FUNCTION, 6.0))
    assert collector.responses("r") == []
    before = len(history(conn))

    # 89 s into a 120 s ServiceTimeout: the give-up point (90 s) is a second away.
    later, started = time.time() + 89, time.monotonic()
    monkeypatch.setattr(timing, "wall_clock", lambda: later + time.monotonic() - started)
    handler.handler(next_poll(), LambdaContext(FUNCTION, 900.0))
    body = answer(collector)
    assert body["Status"] == "FAILED"
    assert "still to apply, before CloudFormation's timeout (120 s" in body["Reason"]
    assert before < len(history(conn)) < 16  # this poll applied at least one, then stopped


# -- a direct invocation answers in time --------------------------------------------------


def test_a_direct_migrate_outlasting_the_function_returns_applied_and_remaining(
    props: dict[str, Any], conn: Conn
) -> None:
    context = LambdaContext(FUNCTION, 6.0)
    out = handler.handler({"Action": "migrate", **props, "Migrations": sleepy(10)}, context)
    assert context.get_remaining_time_in_millis() > 0  # answered before the function's end
    assert out is not None
    assert out["complete"] is False
    applied = [a["name"] for a in out["applied"]]
    remaining = [r["name"] for r in out["remaining"]]
    assert applied
    assert applied + remaining == [f"V{i}__step.sql" for i in range(1, 11)]
    assert [r[1] for r in history(conn)] == applied


def test_a_complete_direct_migrate_has_nothing_remaining(props: dict[str, Any]) -> None:
    out = handler.handler(
        {"Action": "migrate", **props, "Migrations": sleepy(2, 0)}, LambdaContext(FUNCTION)
    )
    assert out is not None
    assert (out["complete"], out["remaining"]) == (True, [])


# -- LockTimeoutSeconds: a few seconds by default, 0 for none ---------------------------


def test_a_migration_waiting_on_a_lock_gives_up_with_55p03_by_default(
    open_conn: Any,
) -> None:
    conn, blocker = open_conn(), open_conn()
    run(conn, mset({"V1__t.sql": "CREATE TABLE t (a int);"}))
    options = migrator.options_from(parse_run({}), applied_by="test")
    assert options.lock_timeout == 5
    blocker.execute("BEGIN")
    blocker.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
    # One try, no retry; the statement timeout only keeps a regression from hanging the suite.
    once = replace(options, lock_retries=0, statement_timeout=60, keep_tool_history=False)
    the_set = mset(
        {"V1__t.sql": "CREATE TABLE t (a int);", "V2__c.sql": "ALTER TABLE t ADD COLUMN b int;"}
    )
    try:
        with pytest.raises(engine.MigrationFailed) as caught:
            engine.migrate(conn, the_set, once)
    finally:
        blocker.execute("ROLLBACK")
    assert caught.value.sqlstate == "55P03"
    assert [r[1] for r in history(conn)] == ["V1__t.sql"]


@pytest.mark.parametrize(("given", "seen"), [({}, "5s"), ({"LockTimeoutSeconds": 0}, "0")])
def test_each_migration_runs_with_the_lock_timeout_and_0_sets_none(
    conn: Conn, given: dict[str, Any], seen: str
) -> None:
    options = migrator.options_from(parse_run(given), applied_by="test")
    the_set = mset({"V1__lt.sql": "CREATE TABLE lt AS SELECT current_setting('lock_timeout') v;"})
    engine.migrate(conn, the_set, replace(options, keep_tool_history=False))
    assert conn.execute("SELECT v FROM lt").fetchone() == (seen,)
