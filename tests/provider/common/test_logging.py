"""Secrets never reach a log line, whoever writes it."""

from __future__ import annotations

import io
import json
import logging

import pytest

from provider.common.logging import function_logger, install_redaction, redact

TOKEN = (
    "db.example.com:5432/?Action=connect&DBUser=postgres&X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261126%2Fus-east-1%2Frds-db%2Faws4_request"
    "&X-Amz-Date=20261126T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
)
RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws"
    "?X-Amz-Signature=abc123"
)


def test_an_iam_auth_token_loses_its_credential_and_signature() -> None:
    cleaned = redact(f"connecting with {TOKEN}")
    assert "AKIAIOSFODNN7EXAMPLE" not in cleaned
    assert "5d672d79" not in cleaned
    assert "X-Amz-Signature=***" in cleaned


def test_a_response_url_is_replaced_whole() -> None:
    assert redact(f"url={RESPONSE_URL} done") == "url=<ResponseURL> done"


@pytest.mark.parametrize("text", ["password=hunter2", "PASSWORD: hunter2", "pwd=hunter2"])
def test_a_password_assignment_is_masked(text: str) -> None:
    assert "hunter2" not in redact(text)


def test_text_without_secrets_is_untouched() -> None:
    assert redact("Created cluster db-1 in 31.2 s") == "Created cluster db-1 in 31.2 s"


def test_any_logger_s_arguments_extras_and_tracebacks_are_scrubbed() -> None:
    install_redaction()
    logger = logging.getLogger("tests.redaction")
    logger.propagate = False
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    logger.warning("token %s", TOKEN, extra={"url": RESPONSE_URL})
    try:
        raise ValueError(f"bad password=hunter2 for {TOKEN}")
    except ValueError:
        logger.exception("failed")
    out = stream.getvalue()
    assert "5d672d79" not in out
    assert "hunter2" not in out
    assert "ValueError" in out  # the traceback is still there, scrubbed


def test_the_powertools_logger_writes_json_without_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = function_logger("tests-redaction")
    logger.info("connecting", extra={"dsn": f"host=db password=hunter2 {TOKEN}"})
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "connecting"
    assert "hunter2" not in line["dsn"]
    assert "5d672d79" not in line["dsn"]
