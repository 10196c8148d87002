"""Synthesized templates pass cfn-lint with the provider's own rules (aurora_express.lint)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from aurora_express.cdk import AuroraExpressProvider, ExpressCluster, ExpressMigrations

ROOT = Path(__file__).resolve().parents[3]
CFN_LINT = Path(sys.executable).with_name("cfn-lint")

# cfn-lint's own findings on what CDK itself writes, not on what the constructs choose:
# W3005, the DependsOn CDK adds beside a Role's GetAtt on every Lambda function;
# W3037 for rds:EnableInternetAccessGateway, an express action newer than cfn-lint's IAM data.
EXPECTED_WARNINGS = {("W3005", "ServiceRole"), ("W3037", "'enableinternetaccessgateway'")}


def lint(*templates: Path) -> list[tuple[str, str]]:
    """(rule, message) of every finding."""
    result = subprocess.run(
        [
            str(CFN_LINT),
            "--format",
            "parseable",
            "--append-rules",
            "aurora_express.lint",
            "--",
            *map(str, templates),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode in (0, 2, 4, 6), result.stderr
    findings = []
    for line in result.stdout.splitlines():
        rule, message = line.split(":", 6)[5:7]
        findings.append((rule, message))
    return findings


def unexpected(findings: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (rule, message)
        for rule, message in findings
        if not any(rule == known and text in message for known, text in EXPECTED_WARNINGS)
    ]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A provider stack, a branch stack using it by its exports, and an app in one stack."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})
    provider_stack = cdk.Stack(app, "Prov")
    AuroraExpressProvider(
        provider_stack, "Provider", reaper=True, arm_reaper=True, migrations_bucket="*"
    )

    branch = cdk.Stack(app, "Branch")
    provider = AuroraExpressProvider.from_stack_exports(branch, "Provider", "Prov")
    db = ExpressCluster(
        branch,
        "Db",
        provider=provider,
        cluster_identifier="app-feature/ABC-123",
        min_capacity=0,
        max_capacity=4,
        seconds_until_auto_pause=300,
        expires_after=cdk.Duration.days(7),
        tags={"branch": "feature/ABC-123"},
        removal_policy=cdk.RemovalPolicy.SNAPSHOT,
    )
    ExpressMigrations(
        branch,
        "Schema",
        cluster=db,
        migrations=ROOT / "examples" / "migrations",
        seeds=ROOT / "examples" / "seeds",
        layout="flyway",
        database="app",
    )
    role = iam.Role(branch, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    db.grant_connect(role)
    cdk.CfnOutput(branch, "Endpoint", value=db.endpoint)
    cdk.CfnOutput(branch, "IamDbUserArn", value=db.iam_db_user_arn)

    single = cdk.Stack(app, "Single")
    built = AuroraExpressProvider(single, "Provider")
    own = ExpressCluster(single, "Db", provider=built)
    ExpressMigrations(single, "Schema", cluster=own, migrations={"001_init.sql": "SELECT 1;"})
    app.synth()
    return outdir


@pytest.mark.parametrize("stack", ["Prov", "Branch", "Single"])
def test_each_synthesized_template_passes_cfn_lint_with_the_providers_rules(
    assembly: Path, stack: str
) -> None:
    assert unexpected(lint(assembly / f"{stack}.template.json")) == []


def test_the_providers_rules_do_run_on_synthesized_templates(tmp_path: Path) -> None:
    """An escape hatch past the construct's checks is still caught by E9502."""
    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "Bad")
    provider = AuroraExpressProvider.from_stack_exports(stack, "Provider")
    db = ExpressCluster(stack, "Db", provider=provider)
    db.resource.node.default_child.add_property_override("MaxCapacity", 999)  # type: ignore[union-attr]
    app.synth()
    findings = unexpected(lint(tmp_path / "Bad.template.json"))
    assert [rule for rule, _ in findings] == ["E9502"]
    assert "MaxCapacity" in findings[0][1]
