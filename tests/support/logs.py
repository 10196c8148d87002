"""Each test leaves the ``provider`` logger as it found it.

``function_logger`` (a handler module's import, or a test's own call) gives
``provider.*`` a handler on the stdout of that moment. A test's captured stdout
(``capsys``) is closed after it, and every later ``provider.*`` record in the
process would fail to be written; logging then prints that error to stderr
together with the exception being handled, unredacted. Which later test that
hits depends on the order, so on the xdist worker: restore after every test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def provider_logger_restored() -> Iterator[None]:
    std = logging.getLogger("provider")
    handlers, level, propagate = list(std.handlers), std.level, std.propagate
    yield
    std.handlers[:] = handlers
    std.setLevel(level)
    std.propagate = propagate
