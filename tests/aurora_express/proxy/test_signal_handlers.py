"""The proxy served in-process leaves the signal handlers as it found them.

A test worker runs product code in-process, and every child it starts later inherits an
ignored SIGINT: a command must put back what it changed, not Python's defaults.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from collections.abc import Iterator
from types import FrameType

import pytest

from aurora_express.cli import proxy
from aurora_express.proxy import server, upstream


def _callers_term_handler(signum: int, frame: FrameType | None) -> None:
    raise AssertionError("the proxy's own handler must take SIGTERM while it serves")


@pytest.fixture
def callers_handlers() -> Iterator[None]:
    """SIGINT ignored (as a shell leaves a background job) and SIGTERM the caller's own."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _callers_term_handler)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _no_tokens() -> asyncio.Future[str]:
    raise AssertionError("no client connects in this test")


async def _serve_until_sigterm() -> int:
    settings = server.Settings(upstream=upstream.Upstream("db.invalid", 5432, "postgres"), port=0)
    serving = asyncio.create_task(
        proxy._serve(
            settings, ssl.create_default_context(), _no_tokens, logging.getLogger("t"), "db"
        )
    )
    await asyncio.sleep(0)  # the task's first step installs its handlers, synchronously
    assert signal.getsignal(signal.SIGTERM) is not _callers_term_handler
    signal.raise_signal(signal.SIGTERM)
    return await serving


@pytest.mark.usefixtures("callers_handlers")
def test_the_proxy_stops_on_sigterm_and_puts_the_callers_handlers_back() -> None:
    assert asyncio.run(_serve_until_sigterm()) == 0
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is _callers_term_handler
