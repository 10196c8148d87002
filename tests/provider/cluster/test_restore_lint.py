"""The cfn-lint rules know the restore properties and the RestoredFrom attribute."""

from __future__ import annotations

import textwrap

from cfnlint.api import lint
from cfnlint.core import get_rules

RULES = get_rules(["aurora_express.lint"], [], [])
OURS = ("E9501", "E9502", "E9503", "E9504")


def findings(body: str) -> list[tuple[str, str]]:
    template = textwrap.dedent(
        """\
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          SeedFrom: {Type: String, Default: ""}
        Conditions:
          Seeded: !Not [!Equals [!Ref SeedFrom, ""]]
        Resources:
          Db:
            Type: Custom::AuroraExpress
            Properties:
              ServiceToken: !ImportValue aurora-express-ClusterServiceToken
        """
    ) + textwrap.indent(textwrap.dedent(body), " " * 6)
    matches = lint(template, rules=RULES, regions=["us-east-1"])
    return sorted((m.rule.id, m.message) for m in matches if m.rule.id in OURS)


def test_a_restore_from_a_seed_parameter_is_clean() -> None:
    assert (
        findings(
            """\
        SourceSnapshotIdentifier: !If [Seeded, !Ref SeedFrom, !Ref AWS::NoValue]
        WaitForDeletion: false
    Outputs:
      From:
        Value: !GetAtt Db.RestoredFrom
      Also:
        Value: !Sub "${Db.RestoredFrom}"
    """
        )
        == []
    )


def test_a_point_in_time_restore_is_clean() -> None:
    assert (
        findings(
            """\
        SourceClusterIdentifier: staging
        RestoreToTime: "2025-06-01T03:00:00Z"
        RestoreType: full-copy
    """
        )
        == []
    )


def test_two_sources_are_the_handlers_own_reason() -> None:
    (found,) = findings(
        """\
        SourceSnapshotIdentifier: nightly
        SourceClusterIdentifier: staging
    """
    )
    assert found[0] == "E9502"
    assert "Property SourceClusterIdentifier: give either" in found[1]


def test_a_time_for_a_snapshot_is_the_handlers_own_reason() -> None:
    (found,) = findings(
        """\
        SourceSnapshotIdentifier: nightly
        RestoreToTime: "2025-06-01T03:00:00Z"
    """
    )
    assert found[0] == "E9502"
    assert "Property RestoreToTime: applies only with SourceClusterIdentifier" in found[1]


def test_a_misspelled_source_suggests_the_right_name() -> None:
    (found,) = findings(
        """\
        SourceSnapshotIdentifer: nightly
    """
    )
    assert found[0] == "E9501"
    assert "Did you mean SourceSnapshotIdentifier?" in found[1]
