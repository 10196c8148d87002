"""The secret scan sees what the handlers log, fails a session that leaks, and the redaction
hides every shape it looks for.

The suite-wide scan (the plugin ``tests/support/secret_scan.py``) reads each
test's captured output and every response at the end of the session. Here a
token is planted on purpose where a leak would come from, a Powertools log
line inside a handler (with the redaction switched off) and a subprocess's
output, and the capture is shown to hold it. Sessions of their own (pytest in
a subprocess, on a generated test) show that a leak fails the run, also under
pytest-xdist. Then a property: for any text around any secret shape the scan
knows, the redacted text holds nothing the scan would flag.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aurora_express.local.simulator import LifecycleSimulator
from provider.common import redaction
from provider.migrations import handler as migrations_handler
from tests.support.paths import ROOT
from tests.support.secret_scan import CAPTURED, hits, keep_output, plant

# The planting tests run before the test that looks for what they planted, in one process:
# under pytest-xdist, `--dist loadfile` (addopts) gives a whole file to one worker, in order.

PLANTED_IN_HANDLER = f"X-Amz-Signature={secrets.token_hex(16)}"
PLANTED_IN_SUBPROCESS = f"X-Amz-Signature={secrets.token_hex(16)}"
REDACTION_EXAMPLES = 2000


def test_a_token_planted_in_a_handler_log_line_is_captured(
    sim: LifecycleSimulator, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the redaction off, the handler's own Powertools line ("Request received", which
    carries the physical id) writes the token; pytest's capture must hold it."""
    plant(request.node.nodeid, PLANTED_IN_HANDLER)
    monkeypatch.setattr(redaction, "_PATTERNS", ())
    result = sim.delete({}, physical_id=PLANTED_IN_HANDLER)
    assert result.status == "SUCCESS", result.reason


def test_a_token_printed_by_a_subprocess_is_captured(request: pytest.FixtureRequest) -> None:
    plant(request.node.nodeid, PLANTED_IN_SUBPROCESS)
    done = subprocess.run(
        [sys.executable, "-c", f"print('signed: {PLANTED_IN_SUBPROCESS}')"],
        capture_output=True,
        text=True,
        check=True,
    )
    keep_output(request, "subprocess stdout", done.stdout)


@pytest.mark.parametrize(
    ("planted_by", "secret"),
    [
        ("test_a_token_planted_in_a_handler_log_line_is_captured", PLANTED_IN_HANDLER),
        ("test_a_token_printed_by_a_subprocess_is_captured", PLANTED_IN_SUBPROCESS),
    ],
    ids=["handler", "subprocess"],  # not the random token: every xdist worker collects the same
)
def test_the_scan_finds_each_planted_token_in_the_output_of_the_test_that_planted_it(
    request: pytest.FixtureRequest, planted_by: str, secret: str
) -> None:
    if request.config.getoption("capture") == "no":
        pytest.skip("output is not captured (-s)")
    where = f"{request.node.module.__name__.replace('.', '/')}.py::{planted_by}"
    texts = [text for test, _, text in CAPTURED if test == where]
    assert texts, f"{planted_by} did not run first"
    assert secret in [hit for text in texts for hit in hits(text)]


def test_the_detector_finds_a_token_a_response_url_and_a_password() -> None:
    planted = (
        "host:5432/?Action=connect&X-Amz-Credential=AKIAFAKE%2F2026&X-Amz-Signature=0a1b2c3d4e5f "
        "http://127.0.0.1:5000/responses/abc?X-Amz-Algorithm=x password=hunter2"
    )
    assert len(hits(planted)) == 4
    assert hits("X-Amz-Signature=*** password=*** <ResponseURL>") == []


# -- a leak fails the session ----------------------------------------------------------------


def run_session(folder: Path, test_source: str, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest, in a process of its own, on one generated test file with only the scan plugin.

    Its output is not added to this session's scan: it holds the leak on purpose.
    """
    (folder / "pytest.ini").write_text("[pytest]\n")  # none of the suite's options
    (folder / "conftest.py").write_text('pytest_plugins = ["tests.support.secret_scan"]\n')
    (folder / "test_tiny.py").write_text(textwrap.dedent(test_source))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_an_unexpected_secret_in_a_tests_output_fails_the_session_under_xdist(
    tmp_path: Path,
) -> None:
    leak = f"X-Amz-Signature={secrets.token_hex(16)}"
    done = run_session(
        tmp_path,
        f"""
        def test_clean():
            print("nothing to see")

        def test_leaky():
            print("signed: {leak}")
        """,
        "-n",
        "2",
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "2 passed" in done.stdout
    assert "secret scan failed" in done.stdout
    assert "test_tiny.py::test_leaky (Captured stdout call): X-Amz-Signature=" in done.stdout
    assert leak not in done.stdout + done.stderr  # the report shows only its start


def test_a_planted_secret_the_scan_did_not_see_fails_the_session(tmp_path: Path) -> None:
    planted = f"X-Amz-Signature={secrets.token_hex(16)}"
    done = run_session(
        tmp_path,
        f"""
        from tests.support.secret_scan import plant

        def test_plants_but_prints_nothing(request):
            plant(request.node.nodeid, "{planted}")
        """,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "test_plants_but_prints_nothing: planted X-Amz-Signature=" in done.stdout
    assert "the scan did not see it" in done.stdout


def test_a_secret_in_a_response_put_to_cloudformation_fails_the_session(tmp_path: Path) -> None:
    done = run_session(
        tmp_path,
        """
        import json
        import urllib.request

        from aurora_express.local.cfn_local import ResponseCollector

        def test_answers_with_a_password():
            body = json.dumps({"Status": "FAILED", "Reason": "password=hunter22"}).encode()
            with ResponseCollector() as cfn:
                put = urllib.request.Request(cfn.url("r1"), data=body, method="PUT")
                urllib.request.urlopen(put, timeout=10).close()
        """,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "a response PUT to CloudFormation: password=" in done.stdout
    assert "hunter22" not in done.stdout


def test_a_failure_reason_quoting_a_password_reaches_cloudformation_redacted(
    sim: LifecycleSimulator,
) -> None:
    """A reason quotes what was wrong; it is shown in the stack's events, so it is redacted."""
    result = sim.create({"EngineVersion": "password=hunter22"})
    assert result.status == "FAILED" and "EngineVersion" in result.reason
    assert "hunter22" not in json.dumps(result.response)


def test_a_direct_invocation_reason_quoting_a_password_is_redacted() -> None:
    answer = migrations_handler.handler(
        {"Action": "plan", "Endpoint": "db.invalid", "Layout": "password=hunter22"}, None
    )
    assert answer is not None and answer["Status"] == "FAILED" and "Layout" in answer["Reason"]
    assert "hunter22" not in json.dumps(answer)


# -- the redaction covers the scan --------------------------------------------------------

context = st.text(max_size=40)
hexes = st.text("0123456789abcdef", min_size=8, max_size=64)
credential = st.from_regex(r"[A-Za-z0-9%/_-]{8,40}", fullmatch=True)
token = st.from_regex(r"[A-Za-z0-9%/+=_-]{8,80}", fullmatch=True)
# What the scan takes for a password: three or more characters up to a space or a delimiter.
value = st.text(
    st.characters(exclude_categories=["Z", "C"], exclude_characters="\"',;&"),
    min_size=3,
    max_size=30,
)
scheme = st.sampled_from(["https://", "http://", "https:\\/\\/", "", "//"])
shapes = st.one_of(
    st.builds(lambda h: f"X-Amz-Signature={h}", hexes),
    st.builds(lambda c: f"X-Amz-Credential={c}", credential),
    st.builds(lambda t: f"X-Amz-Security-Token={t}", token),
    st.builds(
        lambda s, region, key, h: (
            f"{s}cloudformation-custom-resource-response-{region}.s3.amazonaws.com/"
            f"{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={h}"
        ),
        scheme,
        st.sampled_from(["useast1", "euwest2", "apsoutheast2"]),
        st.from_regex(r"[A-Za-z0-9%/:|-]{1,60}", fullmatch=True),
        hexes,
    ),
    st.builds(
        lambda word, sep, v: f"{word}{sep}{v}",
        st.sampled_from(["password", "PASSWORD", "Password"]),
        st.sampled_from(["=", ": ", " = ", ":", "=\t"]),
        value,
    ),
)


def _flagged(text: str) -> list[str]:
    return hits(text) + hits(json.dumps(text))


@settings(max_examples=REDACTION_EXAMPLES, deadline=None, derandomize=True, database=None)
@given(before=context, secret=shapes, after=context)
@example(before="", secret="password=\\abc", after="")  # a password starting with a backslash
@example(before='{"dsn": "', secret="password=abc", after='\\" }')  # inside JSON text
def test_no_secret_shape_the_scan_knows_survives_the_redaction(
    before: str, secret: str, after: str
) -> None:
    text = f"{before} {secret} {after}"
    assert _flagged(secret), f"the scan does not see {secret!r}: a weak test"
    assert _flagged(redaction.redact(text)) == []


def test_the_redaction_covers_json_rendered_records_too() -> None:
    """Powertools writes JSON: a secret inside an escaped string is still caught."""
    record: dict[str, Any] = {"message": 'dsn "password=s3cret!x" url https:\\/\\/x'}
    assert _flagged(redaction.redact(json.dumps(record))) == []
