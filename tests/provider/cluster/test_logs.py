"""Logs: one JSON line per step naming the request; never the event, its URL or a credential."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster.handler import logger


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the function's Powertools logger writes, with its own JSON formatter: its own
    lines and every ``provider.*`` module's."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logger.registered_formatter)
    loggers = [logging.getLogger(logger.name), logging.getLogger("provider")]
    for std in loggers:
        std.addHandler(handler)
    yield sink
    for std in loggers:
        std.removeHandler(handler)


def _our_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("service") == "aurora-express-cluster":
                lines.append(record)
    return lines


def test_every_step_is_one_json_line_with_request_stack_and_logical_id(
    sim: LifecycleSimulator, json_log: io.StringIO
) -> None:
    result = sim.create({"EnableDataApi": True})
    lines = _our_lines(json_log.getvalue())
    messages = [line["message"] for line in lines]
    assert {"Request received", "Creating cluster", "Modifying cluster", "Cluster ready"} <= set(
        messages
    )
    for line in lines:
        assert line["request_id"] == result.event["RequestId"]
        assert line["stack_id"] == sim.stack_id
        assert line["logical_id"] == "Db"


def test_a_failure_is_logged_with_its_reason(
    sim: LifecycleSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    result = sim.create({"MaxCapacity": "300"})
    assert result.status == "FAILED"
    assert result.reason in caplog.text


def test_no_log_line_holds_the_event_its_response_url_or_a_credential(
    sim: LifecycleSimulator,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    json_log: io.StringIO,
) -> None:
    created = sim.create({"MaxCapacity": 4}, timeout_seconds=3.0)
    sim.update({"MaxCapacity": "300"}, old={"MaxCapacity": 4})  # a FAILED path
    sim.delete({})
    captured = capfd.readouterr()
    text = captured.out + captured.err + caplog.text + json_log.getvalue()
    url = created.event["ResponseURL"]
    for secret in (
        url,
        url.split("?", 1)[1],
        "X-Amz-Signature=0f0e",
        "FOOBARSECRET",
        "ResponseURL",
    ):
        assert secret not in text
