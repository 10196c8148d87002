"""The suite's own secret scan: a pytest plugin that checks at the end of every session.

Everything a test printed or logged (the report sections pytest builds for each
phase), every output a test collected itself (``record_output``) and every
response PUT to a ResponseCollector is searched for SigV4 signatures and
credentials (auth tokens, presigned URLs), ResponseURLs and password
assignments. One hit fails the run, but for a secret a test planted on purpose
(``plant``), which must be found in that test's output: proof that the capture
sees it.

It runs at session end, so it scans whatever ran: the whole suite, a folder,
``-k``. Under pytest-xdist each worker holds the material of the tests it ran
and scans it itself; the controller gathers the workers' findings, prints them
and sets a non-zero exit status.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from aurora_express.local.cfn_local import ResponseCollector

CAPTURED: list[tuple[str, str, str]] = []  # (test id, section title, text)
PLANTED: dict[str, str] = {}  # planted secret -> id of the test that planted it

SECRET = re.compile(
    r"X-Amz-Signature=[0-9a-f]{8,}"
    r"|X-Amz-Credential=(?!\*)[A-Za-z0-9%/_-]{8,}"
    r"|X-Amz-Security-Token=(?!\*)\S{8,}"
    r"|/responses/[\w-]+\?"  # a ResponseCollector URL, i.e. a ResponseURL
    r"|cloudformation-custom-resource-response-[a-z0-9-]+\.s3"
    # Spaces, or their escapes in a JSON-rendered line, may surround the "=".
    r"|password(?:\s|\\[tnr])*[=:](?:\s|\\[tnr])*+(?!\*)[^\s\"',;&]{3,}",
    re.IGNORECASE,
)
_SHOWN = 4  # characters of a hit's value printed: enough to find it, too few to reuse it
_VALUE = re.compile(r"[=:?]")
_WORKER_KEY = "secret_scan"


def hits(text: str) -> list[str]:
    return [m.group(0) for m in SECRET.finditer(text)]


def record_output(test_id: str, title: str, text: str) -> None:
    """Add output pytest does not capture (a subprocess's pipes) to what the scan reads."""
    CAPTURED.append((test_id, title, text))


def keep_output(request: pytest.FixtureRequest, title: str, text: str) -> None:
    """``record_output`` for the requesting test."""
    record_output(request.node.nodeid, title, text)


def plant(test_id: str, secret: str) -> str:
    """Declare ``secret`` planted by ``test_id``: the scan must find it there, and only there."""
    PLANTED[secret] = test_id
    return secret


# -- the scan -------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one process scanned and what it found (JSON-able, to travel from a worker)."""

    texts: int = 0
    responses: int = 0
    planted: int = 0
    findings: list[str] = field(default_factory=list)

    def add(self, other: dict[str, Any]) -> None:
        self.texts += int(other["texts"])
        self.responses += int(other["responses"])
        self.planted += int(other["planted"])
        self.findings.extend(str(f) for f in other["findings"])

    def as_json(self) -> dict[str, Any]:
        return {
            "texts": self.texts,
            "responses": self.responses,
            "planted": self.planted,
            "findings": self.findings,
        }


def _is_planted(hit: str) -> bool:
    return any(hit in secret or secret in hit for secret in PLANTED)


def _shown(hit: str) -> str:
    start = _VALUE.search(hit)
    end = (start.end() if start else 0) + _SHOWN
    return hit if len(hit) <= end else hit[:end] + "..."


def scan(*, capture_on: bool) -> Outcome:
    """This process's material against the detector; a finding per hit or planted secret missed."""
    outcome = Outcome(len(CAPTURED), len(ResponseCollector.every_body), len(PLANTED))
    outcome.findings += [
        f"{test} ({title}): {_shown(hit)}"
        for test, title, text in CAPTURED
        for hit in hits(text)
        if not _is_planted(hit)
    ]
    outcome.findings += [
        f"a response PUT to CloudFormation: {_shown(hit)}"
        for body in ResponseCollector.every_body
        for hit in hits(json.dumps(body))
        if not _is_planted(hit)
    ]
    if capture_on:  # with -s nothing is captured, so nothing planted can be seen
        outcome.findings += [
            f"{test}: planted {_shown(secret)} but the scan did not see it in its output"
            for secret, test in PLANTED.items()
            if not any(
                secret in hit or hit in secret
                for where, _, text in CAPTURED
                if where == test
                for hit in hits(text)
            )
        ]
    outcome.findings = list(dict.fromkeys(outcome.findings))  # each phase repeats the sections
    return outcome


# -- the plugin -----------------------------------------------------------------------

_total = Outcome()


def _is_controller(config: pytest.Config) -> bool:
    """The xdist controller: it runs no test, the workers scan what they ran."""
    return config.pluginmanager.get_plugin("dsession") is not None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if getattr(report, "node", None) is not None:
        return  # a worker's report replayed on the controller: that worker scans it
    for title, text in report.sections:
        CAPTURED.append((report.nodeid, title, text))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """An xdist worker finished: keep what its scan found."""
    outcome = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if outcome is not None:
        _total.add(outcome)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if not _is_controller(config):
        outcome = scan(capture_on=config.getoption("capture") != "no")
        if hasattr(config, "workeroutput"):  # an xdist worker: the controller reports
            config.workeroutput[_WORKER_KEY] = outcome.as_json()
            return
        _total.add(outcome.as_json())
    if _total.findings and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if _total.findings and reporter is not None:
        reporter.stats.setdefault("secret scan failed", []).append(_total)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if terminalreporter.config.getoption("collectonly"):
        return
    if not _total.findings:
        terminalreporter.write_line(
            f"secret scan: no secret in {_total.texts} captured outputs and "
            f"{_total.responses} responses ({_total.planted} planted, each seen where planted)"
        )
        return
    terminalreporter.section("secret scan failed", sep="=", red=True, bold=True)
    for finding in _total.findings:
        terminalreporter.write_line(finding, red=True)
    terminalreporter.write_line(
        f"{len(_total.findings)} secret(s) in what the tests wrote or sent: the run fails.",
        red=True,
    )
