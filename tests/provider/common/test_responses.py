"""The body PUT to CloudFormation: short reasons, never over 4096 bytes."""

from __future__ import annotations

import json

from provider.common.responses import MAX_BODY_BYTES, MAX_REASON, fit, shorten


def _body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "Status": "SUCCESS",
        "PhysicalResourceId": "db",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r",
        "LogicalResourceId": "Db",
        "Reason": "",
        "Data": {"Endpoint": "db.example"},
        "NoEcho": False,
    }
    body.update(overrides)
    return body


def test_a_short_reason_is_kept_as_written() -> None:
    assert shorten("Property MaxCapacity: must be at least 1.") == (
        "Property MaxCapacity: must be at least 1."
    )


def test_a_long_reason_keeps_its_beginning_within_the_limit() -> None:
    reason = shorten("Property MaxCapacity: " + "x" * 500)
    assert len(reason) == MAX_REASON
    assert reason.startswith("Property MaxCapacity: ")
    assert reason.endswith("…")


def test_a_reason_is_folded_onto_one_line() -> None:
    assert shorten("line one\n  line two\t") == "line one line two"


def test_a_body_that_fits_is_unchanged_but_for_its_reason() -> None:
    assert fit(_body()) == _body()


def test_a_body_over_4096_bytes_becomes_failed_without_data() -> None:
    fitted = fit(_body(Data={"Big": "y" * 5000}))
    assert fitted["Status"] == "FAILED"
    assert fitted["Data"] == {}
    assert "4096" in str(fitted["Reason"])
    assert len(json.dumps(fitted).encode()) <= MAX_BODY_BYTES
