"""The cfn-lint rules (aurora_express.lint) on good and bad sample templates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import lint
from cfnlint.core import get_rules

from aurora_express.lint._checks import is_intrinsic, suggestion
from provider.cluster.properties import parse
from provider.common.errors import InvalidProperty
from tests.support.paths import ROOT

TEMPLATES = Path(__file__).parent / "templates"
RULES = get_rules(["aurora_express.lint"], [], [])
OURS = ("E9501", "E9502", "E9503", "E9504", "E9505", "W9506", "W9507")

Finding = tuple[str, int, str]


def findings(path: Path, only_ours: bool = True) -> list[Finding]:
    matches = lint(path.read_text(), rules=RULES, regions=["us-east-1"])
    found = [(m.rule.id, m.linenumber, m.message) for m in matches]
    return sorted(f for f in found if f[0] in OURS or not only_ours)


def ids_and_lines(path: Path) -> list[tuple[str, int]]:
    return [(rule, line) for rule, line, _ in findings(path)]


@pytest.mark.parametrize("name", ["good-branch-stack.yaml", "good-intrinsics.yaml"])
def test_good_template_has_no_findings_at_all(name: str) -> None:
    assert findings(TEMPLATES / name, only_ours=False) == []


def test_example_branch_database_template_is_clean() -> None:
    assert findings(ROOT / "examples" / "branch-database.yaml") == []


def test_values_given_by_intrinsic_functions_are_not_judged() -> None:
    """MinCapacity 8 against MaxCapacity !Ref, OnDelete !If, Tags with !Ref: no alarm."""
    assert findings(TEMPLATES / "good-intrinsics.yaml") == []


def test_unknown_properties_are_reported_with_the_closest_valid_name() -> None:
    found = findings(TEMPLATES / "bad-unknown-properties.yaml")
    assert [(r, line) for r, line, _ in found] == [
        ("E9501", 7),
        ("E9501", 8),
        ("E9501", 9),
        ("E9501", 15),
    ]
    messages = [m for _, _, m in found]
    assert messages[0].endswith("Did you mean MinCapacity?")
    assert messages[1].endswith("Did you mean MaxCapacity?")  # case aside
    assert "Colour" in messages[2] and "Did you mean" not in messages[2]
    assert messages[3].endswith("Did you mean MigrationsS3Uri?")


def test_values_out_of_range_or_of_the_wrong_type_are_reported_one_per_property() -> None:
    assert ids_and_lines(TEMPLATES / "bad-values.yaml") == [
        ("E9502", line) for line in (7, 8, 9, 10, 11, 12, 18, 19)
    ]


def test_a_finding_says_what_the_handler_would_answer() -> None:
    """The message is the FAILED reason of the handler's own validation, word for word."""
    with pytest.raises(InvalidProperty) as failed:
        parse({"ServiceToken": "arn", "SecondsUntilAutoPause": "60"})
    messages = [m for _, _, m in findings(TEMPLATES / "bad-values.yaml")]
    assert any(m.endswith(failed.value.reason) for m in messages)


def test_min_capacity_above_max_capacity_is_reported() -> None:
    (found,) = findings(TEMPLATES / "bad-capacity-order.yaml")
    assert found[:2] == ("E9502", 9)
    assert "MaxCapacity" in found[2] and "MinCapacity (8)" in found[2]


def test_missing_service_token_is_reported_for_both_types() -> None:
    found = findings(TEMPLATES / "bad-missing-service-token.yaml")
    assert [(r, line) for r, line, _ in found] == [("E9503", 5), ("E9503", 9)]
    assert "ClusterServiceToken" in found[0][2]
    assert "MigrationsServiceToken" in found[1][2]


def test_getatt_of_an_attribute_the_type_does_not_return_is_reported() -> None:
    found = findings(TEMPLATES / "bad-getatt.yaml")
    assert [(r, line) for r, line, _ in found] == [
        ("E9504", 14),
        ("E9504", 16),
        ("E9504", 18),
        ("E9504", 20),
    ]
    assert "did you mean Endpoint?" in found[0][2]
    assert "did you mean LatestVersion?" in found[3][2]


def test_sub_reference_to_an_unknown_attribute_is_reported() -> None:
    found = findings(TEMPLATES / "bad-getatt.yaml")
    assert any(line == 18 and "Db.Address" in message for _, line, message in found)


def test_snapshot_policies_are_errors_that_point_to_on_delete() -> None:
    found = [f for f in findings(TEMPLATES / "bad-deletion-policy.yaml") if f[0] == "E9505"]
    assert [line for _, line, _ in found] == [5, 6]
    assert all("OnDelete property to Snapshot" in m for _, _, m in found)


def test_retain_policies_are_warnings_that_point_to_on_delete() -> None:
    found = [f for f in findings(TEMPLATES / "bad-deletion-policy.yaml") if f[0] == "W9506"]
    assert [line for _, line, _ in found] == [11, 12]
    assert all("OnDelete property to Retain" in m for _, _, m in found)


def test_expiry_the_reaper_cannot_act_on_is_a_warning() -> None:
    found = findings(TEMPLATES / "bad-ineffective-expiry.yaml")
    assert [(r, line) for r, line, _ in found] == [("W9507", 8), ("W9507", 14)]
    assert "DeletionProtection is true" in found[0][2]
    assert "OnDelete is Retain" in found[1][2]


def test_provider_template_lints_clean_with_the_rules() -> None:
    assert findings(ROOT / "template.yaml", only_ours=False) == []


def test_intrinsic_function_is_recognised_by_its_single_key() -> None:
    assert is_intrinsic({"Ref": "X"}) and is_intrinsic({"Fn::Sub": "x"})
    assert not is_intrinsic({"Key": "a", "Value": "b"}) and not is_intrinsic("Ref")


def test_suggestion_is_none_when_nothing_is_close() -> None:
    assert suggestion("Colour", frozenset({"MinCapacity", "MaxCapacity"})) is None


def _cfn_lint(*args: str, cwd: Path, pythonpath: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    return subprocess.run(
        [str(cfn_lint), *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_loads_the_rules_by_module_name() -> None:
    result = _cfn_lint(
        str(TEMPLATES / "bad-capacity-order.yaml"),
        "--append-rules",
        "aurora_express.lint",
        cwd=ROOT,
        pythonpath=str(ROOT),
    )
    assert result.returncode != 0
    assert "E9502" in result.stdout


def test_cli_loads_the_rules_from_the_folder_of_an_uninstalled_checkout(tmp_path: Path) -> None:
    result = _cfn_lint(
        str(TEMPLATES / "bad-getatt.yaml"),
        "--append-rules",
        str(ROOT / "aurora_express" / "lint"),
        cwd=tmp_path,
        pythonpath=None,
    )
    assert result.stdout.count("E9504") == 4, result.stderr
