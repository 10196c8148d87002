"""The Lambda reads an S3 prefix once per request: its polls (crhelper's) fetch nothing again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from aurora_express.local.cfn_local import LambdaContext, ResponseCollector, request_event
from provider.migrations import handler
from tests.provider.migrations import test_handler as end_to_end
from tests.provider.migrations.test_handler import TOKEN, TYPE, Conn, declared_stack
from tests.provider.migrations.test_s3_prefix import GetObjectCount
from tests.support.migrations import history

# The end-to-end tests' fixtures: the response collector, the properties, moto's function.
collector = end_to_end.collector
props = end_to_end.props
lambda_function = end_to_end.lambda_function
fresh_clients = end_to_end.fresh_clients

SLOW = {  # three migrations of 1.5 s: a 4.5 s invocation applies one or two and hands over
    f"db/V{i}__step.sql": f"CREATE TABLE s{i} (a int); SELECT pg_sleep(1.5);" for i in range(1, 4)
}


def test_the_polls_of_a_create_do_not_fetch_the_s3_prefix_again(
    collector: ResponseCollector,
    props: dict[str, Any],
    lambda_function: str,
    monkeypatch: pytest.MonkeyPatch,
    conn: Conn,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AURORA_EXPRESS_SOURCE_CACHE", str(tmp_path))
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="app")
    for key, sql in SLOW.items():
        s3.put_object(Bucket="app", Key=key, Body=sql.encode())
    handler.clients.s3 = s3
    count = GetObjectCount(s3)
    event = request_event(
        "Create",
        TYPE,
        {**props, "MigrationsS3Uri": "s3://app/db/"},
        response_url=collector.url("poll"),
        service_token=TOKEN,
        stack=declared_stack("Create", None),
        logical_id="Schema",
    )
    # 4.5 s, of which 3 s are kept as the margin: the first migration runs, not the third.
    handler.handler(event, LambdaContext(function_name=lambda_function, timeout_seconds=4.5))
    assert collector.responses("poll") == []  # not answered yet: work remains
    assert count.calls == 3

    events = boto3.client("events")
    (rule,) = events.list_rules()["Rules"]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    handler.handler(json.loads(target["Input"]), LambdaContext(function_name=lambda_function))
    response = collector.wait("poll", timeout=10)
    assert response is not None
    assert response.body["Status"] == "SUCCESS", response.body["Reason"]
    assert [r[1] for r in history(conn)] == ["V1__step.sql", "V2__step.sql", "V3__step.sql"]
    assert count.calls == 3  # the poll read the request's copy
