"""Custom::AuroraExpress: every test drives the real handler, which here looks every 20 ms.

Events carry CloudFormation's strings as scalar properties; responses are read
from the ResponseCollector crhelper PUTs to (``cfn``, ``sim`` from
``tests.support.cfn``; moto with express semantics from ``tests.support.aws``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aurora_express.local.moto_express import ExpressSemantics
from provider.cluster import handler as cluster_handler


@pytest.fixture(autouse=True)
def fast_timing(fast_timing: None) -> None:
    """The suite's ``fast_timing``, for every test in this folder."""


@pytest.fixture
def rds_calls(express: ExpressSemantics) -> Iterator[list[str]]:
    """The names of the RDS operations the handler calls, in order."""
    calls: list[str] = []
    client = cluster_handler.api().client

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.rds", record)
    yield calls
    client.meta.events.unregister("before-call.rds", record)
