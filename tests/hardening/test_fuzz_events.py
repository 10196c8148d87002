"""The CloudFormation contract, fuzzed: whatever arrives, exactly one small answer, in time.

Hypothesis builds events for both resource types: keys missing, values of
the wrong type, huge strings, nested junk, unicode, every request type, no
PhysicalResourceId, stray crhelper keys. Each runs through the real handler
(moto in-process; the migrations target a closed port) and must get exactly
one response, ``SUCCESS`` or ``FAILED``, under 4096 bytes, before the
function's time is up, without the handler raising. Runs are reproducible
(``derandomize``); the counts are printed.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import moto
import pytest
import stamina
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aurora_express.local.cfn_local import LambdaContext, ResponseCollector
from aurora_express.local.moto_express import express_semantics
from provider.cluster import handler as cluster_handler
from provider.common.responses import MAX_BODY_BYTES
from provider.migrations import handler as migrations_handler
from provider.migrations import migrator

CLUSTER_EXAMPLES = 1000
MIGRATIONS_EXAMPLES = 1000
DIRECT_EXAMPLES = 300
BUDGET_SECONDS = 20.0  # the Lambda timeout each invocation gets

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- values -------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=6,
)
huge = st.builds(
    lambda ch, n: ch * n, st.sampled_from(["x", "é", "🦄", "-", "A1"]), st.integers(256, 20_000)
)
unicode_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60)


def either(*plausible: Any) -> st.SearchStrategy[Any]:
    """A plausible value (what a template might hold) about half the time, else anything."""
    good = st.sampled_from(plausible)
    return st.one_of(good, good, good, junk, huge, unicode_text)


def properties(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of ``fields`` (any subset), sometimes with unknown keys beside them."""
    known = st.fixed_dictionaries({}, optional=fields)
    unknown = st.dictionaries(st.text(min_size=1, max_size=20), junk, max_size=2)
    return st.builds(
        lambda k, u, extra: {**k, **(u if extra else {})}, known, unknown, st.booleans()
    )


def tag_lists() -> st.SearchStrategy[Any]:
    tag = st.fixed_dictionaries(
        {},
        optional={"Key": either("team", "aws:x", "aurora-express:x", ""), "Value": either("a", "")},
    )
    return st.lists(tag | junk, max_size=5)


SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:aurora-express"

cluster_fields: dict[str, st.SearchStrategy[Any]] = {
    "ServiceToken": either(SERVICE_TOKEN, ""),
    "ServiceTimeout": either("1", "60", "3600", "0", "3601"),
    "ClusterIdentifier": either("fuzz-db", "Feature/ABC-123_Login", "123", "a" * 300, "fuzz-db"),
    "MasterUsername": either("postgres", "app_user", "rdsadmin", "1abc"),
    "EngineVersion": either("17.4", "17", "16.4", "x.y"),
    "AllowMajorVersionUpgrade": either("true", "false", "yes"),
    "MinCapacity": either("0", "0.5", "4", "1.3", "-1", "257"),
    "MaxCapacity": either("1", "4", "256", "0.5", "300", "NaN"),
    "SecondsUntilAutoPause": either("300", "86400", "299", "1e9"),
    "EnableDataApi": either("true", "false"),
    "BackupRetentionPeriod": either("1", "35", "0", "36"),
    "DeletionProtection": either("false", "true"),
    "Tags": tag_lists() | junk,
    "OnDelete": either("Delete", "Snapshot", "Retain", "delete"),
    "ExpiresAfter": either("72h", "7d", "30m", "0m", "999d", "soon"),
}

sql_items = st.lists(
    st.fixed_dictionaries(
        {}, optional={"Name": either("V1__a.sql", "seed.sql", ""), "Sql": either("SELECT 1;", "")}
    )
    | junk,
    max_size=4,
)
migrations_fields: dict[str, st.SearchStrategy[Any]] = {
    "ServiceToken": either(SERVICE_TOKEN),
    "ServiceTimeout": either("60", "0"),
    "ClusterIdentifier": either("fuzz-db", "missing-cluster"),
    "Endpoint": either("127.0.0.1", "localhost", "db.invalid"),
    "Port": either("5432", "0", "65536"),  # replaced by a closed port when valid, below
    "Database": either("postgres", "app", "a" * 64),
    "Username": either("postgres", "migrator"),
    "Migrations": sql_items | junk,
    "MigrationsS3Uri": either("s3://missing-bucket/app/", "https://x", "s3://b/k.zip"),
    "Layout": either("auto", "flyway", "drizzle", "dbmate", "golang-migrate", "plain", "alembic"),
    "Seeds": sql_items | junk,
    "SeedsS3Uri": either("s3://missing-bucket/seeds/"),
    "SeedMode": either("OnChange", "Always", "Once", "Never"),
    "HistoryTable": either("aurora_express.schema_migrations", "public.h", "h", "a.b.c"),
    "LockTimeoutSeconds": either("1", "0", "86401"),
    "StatementTimeoutSeconds": either("30", "-5"),
    "AllowOutOfOrder": either("true", "false"),
    "Revision": either("abc123", ""),
}

cluster_valid = {
    "ClusterIdentifier": st.sampled_from(["fuzz-db", "Feature/ABC-123_Login"]),
    "MinCapacity": st.sampled_from(["0", "0.5"]),
    "MaxCapacity": st.sampled_from(["4", "8"]),
    "EnableDataApi": st.sampled_from(["true", "false"]),
    "EngineVersion": st.sampled_from(["17.4", "17"]),
    "Tags": st.just([{"Key": "team", "Value": "fuzz"}]),
    "OnDelete": st.sampled_from(["Delete", "Retain"]),
    "ExpiresAfter": st.just("72h"),
}
migrations_valid = {
    "Endpoint": st.just("127.0.0.1"),
    "Port": st.just("5432"),  # replaced by a closed port
    "Migrations": st.just([{"Name": "V1__a.sql", "Sql": "CREATE TABLE a (x int);"}]),
    "Database": st.sampled_from(["postgres", "app"]),
}

STACKS = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/fuzz/1",
    "arn:aws:cloudformation:us-east-1:123456789012:stack/other/2",
)
ENVELOPE = (
    "RequestType",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "ResourceType",
    "ServiceToken",
    "ResourceProperties",
    "OldResourceProperties",
    "PhysicalResourceId",
)
STRAY = ("CrHelperData", "CrHelperPoll", "CrHelperRule", "CrHelperPermission", "Action")


def _mutate(event: dict[str, Any], dropped: set[str], replaced: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in event.items() if k not in dropped}, **replaced}


def events(
    resource_type: str,
    fields: dict[str, st.SearchStrategy[Any]],
    valid: dict[str, st.SearchStrategy[Any]],
) -> st.SearchStrategy[dict[str, Any]]:
    """A request as CloudFormation sends it: a third with valid properties (real work, on
    clusters the examples share), a third with fuzzed ones, a third with envelope keys
    also dropped or replaced by junk, huge or unicode values, or stray keys added."""
    props = properties(fields)
    good = st.builds(
        lambda extra: {"ServiceToken": SERVICE_TOKEN, **extra},
        st.fixed_dictionaries({}, optional=valid),
    )
    physical_ids = st.sampled_from(
        ["fuzz-db", "feature-abc-123-login", "aurora-express:create-failed:x", "fuzz_Db_ABCD1234"]
    )
    clean = st.fixed_dictionaries(
        {
            "RequestType": st.sampled_from(["Create", "Update", "Delete"]),
            "StackId": st.sampled_from(STACKS),
            "RequestId": st.uuids().map(str),
            "LogicalResourceId": st.sampled_from(["Db", "Schema"]),
            "ResourceType": st.just(resource_type),
            "ServiceToken": st.just(SERVICE_TOKEN),
            "ResourceProperties": props,
        },
        optional={
            "OldResourceProperties": props,
            "PhysicalResourceId": physical_ids | unicode_text,
        },
    )
    anything = st.one_of(junk, huge, unicode_text)
    mutated = st.builds(
        _mutate,
        clean,
        st.sets(st.sampled_from(ENVELOPE), max_size=3),
        st.dictionaries(st.sampled_from(ENVELOPE + STRAY), anything, max_size=3),
    )
    sound = st.builds(
        lambda event, props, old: {
            **event,
            "ResourceProperties": props,
            "OldResourceProperties": old,
        },
        clean,
        good,
        good,
    )
    return st.one_of(sound, clean, mutated).filter(
        lambda e: "Action" not in e or "RequestType" in e
    )


# -- the run --------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fuzz_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AURORA_EXPRESS_POLL_SECONDS", "0.01")
    monkeypatch.setenv("AURORA_EXPRESS_RETRY_SECONDS", "0.05")
    monkeypatch.setattr(migrations_handler, "clients", migrator.Clients())
    with (
        stamina.set_testing(True, attempts=1),  # one connection attempt, no backoff
        moto.mock_aws(),
        express_semantics(create_seconds=0, delete_seconds=0, modify_seconds=0),
    ):
        yield


def closed_target(props: Any, port: str) -> Any:
    """Properties that would reach a database aimed at a closed port on loopback instead."""
    if isinstance(props, dict) and (props.get("Port") == "5432" or "Port" not in props):
        return {**props, "Port": port}
    return props


def answer_once(
    handler: Callable[[dict[str, Any], Any], Any],
    cfn: ResponseCollector,
    event: dict[str, Any],
    counts: Counter[str],
    function_name: str,
) -> None:
    """Run ``event`` with a real ResponseURL; check the one answer it gets (none for a poll)."""
    key = uuid.uuid4().hex
    event = {**event, "ResponseURL": cfn.url(key)}
    context = LambdaContext(function_name=function_name, timeout_seconds=BUDGET_SECONDS)
    started = time.monotonic()
    handler(event, context)  # never raises: a raise fails the test
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_SECONDS, f"{elapsed:.1f} s"
    answers = cfn.responses(key)
    if "CrHelperPoll" in event:
        # A poll the provider did not schedule (its ResponseURL plain, not sealed):
        # refused without acting, and unanswerable.
        assert answers == [], f"{len(answers)} answers to a poll carrying a plain ResponseURL"
        counts["poll:refused"] += 1
        return
    assert len(answers) == 1, f"{len(answers)} answers"
    body = answers[0].body
    assert body["Status"] in ("SUCCESS", "FAILED"), body
    assert len(json.dumps(body).encode()) <= MAX_BODY_BYTES
    echoed = [event.get(f) for f in ("StackId", "RequestId", "LogicalResourceId")]
    if all(isinstance(e, str) for e in echoed) and len(json.dumps(echoed).encode()) < 2048:
        assert [body["StackId"], body["RequestId"], body["LogicalResourceId"]] == echoed
    kind = event.get("RequestType")
    counts[f"{kind if kind in ('Create', 'Update', 'Delete') else 'other'}:{body['Status']}"] += 1


@pytest.mark.slow
def test_every_fuzzed_cluster_event_gets_exactly_one_small_answer_in_time(
    fuzz_aws: None, cfn: ResponseCollector
) -> None:
    counts: Counter[str] = Counter()

    @settings(FUZZ, max_examples=CLUSTER_EXAMPLES)
    @given(event=events("Custom::AuroraExpress", cluster_fields, cluster_valid))
    def check(event: dict[str, Any]) -> None:
        answer_once(cluster_handler.handler, cfn, event, counts, "aurora-express-cluster")

    check()
    print(f"cluster events fuzzed: {sum(counts.values())} {dict(sorted(counts.items()))}")
    assert sum(counts.values()) >= CLUSTER_EXAMPLES * 0.9


@pytest.mark.slow
def test_every_fuzzed_migrations_event_gets_exactly_one_small_answer_in_time(
    fuzz_aws: None, cfn: ResponseCollector
) -> None:
    counts: Counter[str] = Counter()
    port = str(closed_port())

    @settings(FUZZ, max_examples=MIGRATIONS_EXAMPLES)
    @given(event=events("Custom::AuroraExpressMigrations", migrations_fields, migrations_valid))
    def check(event: dict[str, Any]) -> None:
        if "ResourceProperties" in event:
            event = {
                **event,
                "ResourceProperties": closed_target(event["ResourceProperties"], port),
            }
        answer_once(migrations_handler.handler, cfn, event, counts, "aurora-express-migrations")

    check()
    print(f"migrations events fuzzed: {sum(counts.values())} {dict(sorted(counts.items()))}")
    assert sum(counts.values()) >= MIGRATIONS_EXAMPLES * 0.9


@pytest.mark.slow
def test_every_fuzzed_direct_invocation_returns_json_with_a_status_and_puts_nothing(
    fuzz_aws: None, cfn: ResponseCollector
) -> None:
    counts: Counter[str] = Counter()
    port = str(closed_port())
    action = st.sampled_from(["plan", "status", "migrate", "PLAN", "drop"]) | junk

    @settings(FUZZ, max_examples=DIRECT_EXAMPLES)
    @given(props=properties(migrations_fields), action=action)
    def check(props: dict[str, Any], action: Any) -> None:
        props = closed_target(props, port)
        before = len(ResponseCollector.every_body)
        context = LambdaContext(
            function_name="aurora-express-migrations", timeout_seconds=BUDGET_SECONDS
        )
        started = time.monotonic()
        result = migrations_handler.handler({**props, "Action": action}, context)
        assert time.monotonic() - started < BUDGET_SECONDS
        assert isinstance(result, dict) and result["Status"] in ("SUCCESS", "FAILED"), result
        json.dumps(result)  # it is JSON
        assert len(ResponseCollector.every_body) == before
        counts[result["Status"]] += 1

    check()
    print(f"direct invocations fuzzed: {sum(counts.values())} {dict(counts)}")
