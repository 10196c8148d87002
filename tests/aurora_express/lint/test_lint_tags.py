"""cfn-lint flags a Tag RDS would refuse, as the handler would answer FAILED."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import lint
from cfnlint.core import get_rules

RULES = get_rules(["aurora_express.lint"], [], [])

TEMPLATE = """\
Resources:
  Db:
    Type: Custom::AuroraExpress
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:123456789012:function:f
      Tags:
        - Key: team
          Value: data
        - Key: cost$center
          Value: "42"
"""


def test_a_tag_key_rds_refuses_is_an_error_naming_tags_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE)
    found = [m for m in lint(path.read_text(), rules=RULES, regions=["us-east-1"])]
    ours = [m for m in found if m.rule.id == "E9502"]
    assert len(ours) == 1
    assert "Tags" in ours[0].message and "'cost$center'" in ours[0].message
