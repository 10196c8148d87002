"""Template hygiene: serverless-rules findings, log retention, the reaper's failures, tracing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.template.policy import ROOT, functions, template

CLOUDWATCH_RETENTION_DAYS = {
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
}  # fmt: skip


def _cfn_lint(*args: str) -> subprocess.CompletedProcess[str]:
    """cfn-lint as `make lint` runs it (the CLI reads the template's own Metadata config)."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )


def test_serverless_rules_find_nothing_in_the_template() -> None:
    result = _cfn_lint("template.yaml", "-a", "cfn_lint_serverless.rules")
    assert (result.returncode, result.stdout) == (0, "")


def test_our_rules_find_nothing_in_the_template_and_examples() -> None:
    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))
    result = _cfn_lint("template.yaml", *examples, "--append-rules", "aurora_express.lint")
    assert (result.returncode, result.stdout) == (0, "")


def _log_groups() -> dict[str, dict[str, object]]:
    return {
        name: resource
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }


@pytest.mark.parametrize("function", sorted(functions()))
def test_every_function_has_a_log_group_kept_for_the_retention_parameter(function: str) -> None:
    groups = [
        group
        for group in _log_groups().values()
        if group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    ]
    assert len(groups) == 1, f"{function} has {len(groups)} log groups"
    (group,) = groups
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert group.get("Condition") == functions()[function].get("Condition")


def test_log_retention_defaults_to_30_days_and_allows_only_cloudwatch_s_values() -> None:
    parameter = template()["Parameters"]["LogRetentionInDays"]
    assert parameter["Default"] == 30
    assert set(parameter["AllowedValues"]) == CLOUDWATCH_RETENTION_DAYS


def test_a_failed_reaper_run_lands_in_the_failure_queue() -> None:
    reaper = functions()["ReaperFunction"]["Properties"]
    queue_arn = {"Fn::GetAtt": ["ReaperFailureQueue", "Arn"]}
    on_failure = reaper["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": queue_arn}
    schedule = reaper["Events"]["Schedule"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": queue_arn}


def test_only_the_reaper_s_schedule_may_send_to_the_failure_queue() -> None:
    resources = template()["Resources"]
    (statement,) = resources["ReaperFailureQueuePolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ReaperFunctionSchedule", "Arn"]}}
    }
    queue = resources["ReaperFailureQueue"]
    assert queue["Condition"] == "ReaperEnabled" and queue["Properties"]["SqsManagedSseEnabled"]


def test_tracing_is_a_parameter_that_defaults_to_off() -> None:
    assert template()["Globals"]["Function"]["Tracing"] == {"Ref": "Tracing"}
    parameter = template()["Parameters"]["Tracing"]
    assert parameter["Default"] == "PassThrough"
    assert set(parameter["AllowedValues"]) == {"Active", "PassThrough"}


def test_the_tracing_finding_is_suppressed_with_a_reason() -> None:
    metadata = template()["Metadata"]
    assert metadata["cfn-lint"]["config"]["ignore_checks"] == ["WS1000"]
    assert "Tracing parameter" in metadata["LintSuppressions"]["WS1000"]
