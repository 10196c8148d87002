"""The shared events under events/ (also ``sam local invoke`` inputs) are valid requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provider.common.custom_resource import envelope_problem
from provider.migrations import handler, properties
from tests.support.paths import ROOT

EVENTS = sorted((ROOT / "events").glob("migrations-*.json"))


@pytest.mark.parametrize("path", EVENTS, ids=[p.name for p in EVENTS])
def test_a_shared_event_parses(path: Path) -> None:
    event = json.loads(path.read_text())
    if "Action" in event:
        assert event.get("StackName"), "a direct invocation names the stack owning the cluster"
        raw = {k: v for k, v in event.items() if k not in handler.DIRECT_KEYS}
        properties.parse(raw)
    else:
        assert envelope_problem(event) is None
        properties.parse(event["ResourceProperties"])


def test_there_is_an_event_for_each_request_type_and_a_direct_invocation() -> None:
    names = {p.name for p in EVENTS}
    assert {"migrations-create.json", "migrations-update.json", "migrations-delete.json"} <= names
    assert any("direct" in n for n in names)
