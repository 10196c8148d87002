"""Suite-wide: AWS isolation and the material the secret scan reads at the end.

Every test's captured stdout, stderr and log records are kept (as the report
sections pytest builds for each phase), and ``tests/test_zz_no_secrets.py``,
collected last, scans them together with every response body PUT to a
ResponseCollector. Output a test collects itself (a subprocess's pipes) goes
in through ``record_output``; a secret planted on purpose, to prove the
capture sees it, is declared with ``plant`` and expected where it was planted.
"""

from __future__ import annotations

import os

import pytest

from aurora_express.local.cfn_local import OFFLINE_AWS_ENV

CAPTURED: list[tuple[str, str, str]] = []  # (test id, section title, text)
PLANTED: dict[str, str] = {}  # planted secret -> id of the test that planted it

# Never reach a real account, whatever the developer's shell holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update({**OFFLINE_AWS_ENV, "POWERTOOLS_METRICS_NAMESPACE": "AuroraExpressTests"})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for title, text in report.sections:
        CAPTURED.append((report.nodeid, title, text))


def record_output(test_id: str, title: str, text: str) -> None:
    """Add output pytest does not capture (a subprocess's pipes) to what the scan reads."""
    CAPTURED.append((test_id, title, text))


def plant(test_id: str, secret: str) -> str:
    """Declare ``secret`` planted by ``test_id``: the scan must find it there, and only there."""
    PLANTED[secret] = test_id
    return secret
