"""The suite's own secret scan, collected last (its name sorts after every folder).

Everything the suite printed or logged and every response PUT to a
ResponseCollector is searched for SigV4 signatures and credentials (auth
tokens, presigned URLs), ResponseURLs and password assignments. One hit fails,
but for a secret a test planted on purpose (``tests.conftest.plant``), which
must be found in that test's output: proof that the capture sees it.
"""

from __future__ import annotations

import json
import re

import pytest

from aurora_express.local.cfn_local import ResponseCollector
from tests.conftest import CAPTURED, PLANTED

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


def hits(text: str) -> list[str]:
    return [m.group(0) for m in SECRET.finditer(text)]


def test_the_detector_finds_a_token_a_response_url_and_a_password() -> None:
    planted = (
        "host:5432/?Action=connect&X-Amz-Credential=AKIAFAKE%2F2026&X-Amz-Signature=0a1b2c3d4e5f "
        "http://127.0.0.1:5000/responses/abc?X-Amz-Algorithm=x password=hunter2"
    )
    assert len(hits(planted)) == 4
    assert hits("X-Amz-Signature=*** password=*** <ResponseURL>") == []


def is_planted(hit: str) -> bool:
    return any(hit in secret or secret in hit for secret in PLANTED)


def test_no_log_line_or_output_of_the_suite_holds_a_secret() -> None:
    assert CAPTURED, "nothing was captured: the scan would prove nothing"
    found = [
        (test, title, hit)
        for test, title, text in CAPTURED
        for hit in hits(text)
        if not is_planted(hit)
    ]
    assert found == []


def test_every_planted_secret_was_seen_by_the_scan_where_it_was_planted(
    request: pytest.FixtureRequest,
) -> None:
    if request.config.getoption("capture") == "no":
        pytest.skip("output is not captured (-s): there is nothing to scan")
    missed = [
        (test, secret)
        for secret, test in PLANTED.items()
        if not any(
            secret in hit or hit in secret
            for where, _, text in CAPTURED
            if where == test
            for hit in hits(text)
        )
    ]
    assert missed == []


def test_no_response_put_to_cloudformation_holds_a_secret() -> None:
    found = [
        hit
        for body in ResponseCollector.every_body
        for hit in hits(json.dumps(body))
        if not is_planted(hit)
    ]
    assert found == []
