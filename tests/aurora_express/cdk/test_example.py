"""examples/cdk synthesizes: run as ``cdk synth`` runs it, and by the ``cdk`` CLI itself.

The CLI is the npm package ``aws-cdk``, installed once into a cache folder.
It runs with no AWS credentials and no instance metadata, with notices,
telemetry and its version check off: synth needs no network but the package
registries (pip fetching the example function's wheels).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aurora_express.cdk.cfn import Json, evaluate
from tests.aurora_express.cdk.test_lint import lint, unexpected
from tests.support.secret_scan import record_output

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "cdk"
BRANCH = "feature/ABC-123_Login"
STACK = "branch-feature-abc-123-login"
CDK_CLI_VERSION = "2.1148.1"


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("CDK_VALIDATION", None)  # as a user runs it: CDK's own template validation on
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        **extra,
    )
    return env


def _run(name: str, argv: list[str], env: dict[str, str], cwd: Path = EXAMPLE) -> None:
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900
    )
    record_output(name, "stdout", result.stdout)
    record_output(name, "stderr", result.stderr)
    assert result.returncode == 0, result.stderr[-3000:]


def _template(outdir: Path) -> Json:
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert f"{STACK}" in manifest["artifacts"]
    template: Json = json.loads((outdir / f"{STACK}.template.json").read_text())
    return template


@pytest.fixture(scope="module")
def app_py(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python app.py`` as ``cdk synth`` runs it: CDK_OUTDIR, CDK_CONTEXT_JSON; no bundling."""
    outdir = tmp_path_factory.mktemp("example.out")
    context = {"branch": BRANCH, "aws:cdk:bundling-stacks": []}
    env = _environment(CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(context))
    _run("examples/cdk app.py", [sys.executable, "app.py"], env)
    return outdir


def _by_type(template: Json, type_name: str) -> list[Json]:
    return [r for r in template["Resources"].values() if r["Type"] == type_name]


def test_the_branch_gets_its_own_stack_and_cluster(app_py: Path) -> None:
    (cluster,) = _by_type(_template(app_py), "Custom::AuroraExpress")
    properties = cluster["Properties"]
    assert properties["ServiceToken"] == {"Fn::ImportValue": "aurora-express-ClusterServiceToken"}
    assert properties["ClusterIdentifier"] == f"app-{BRANCH}"
    assert properties["ExpiresAfter"] == "7d"


def test_the_schema_comes_from_examples_migrations_as_an_asset(app_py: Path) -> None:
    template = _template(app_py)
    (schema,) = _by_type(template, "Custom::AuroraExpressMigrations")
    properties = schema["Properties"]
    assert properties["ServiceToken"] == {
        "Fn::ImportValue": "aurora-express-MigrationsServiceToken"
    }
    assets = json.loads((app_py / f"{STACK}.assets.json").read_text())["files"]
    key = evaluate(properties["MigrationsS3Uri"]).rsplit("/", 1)[1]
    assert key.removesuffix(".zip") in assets
    staged = app_py / assets[key.removesuffix(".zip")]["source"]["path"]
    assert sorted(p.name for p in staged.iterdir()) == sorted(
        p.name for p in (ROOT / "examples" / "migrations").iterdir()
    )
    assert properties["Database"] == "app"


def test_the_function_may_connect_to_that_cluster_only_once_the_schema_is_there(
    app_py: Path,
) -> None:
    template = _template(app_py)
    resources = template["Resources"]
    cluster_id = next(k for k, v in resources.items() if v["Type"] == "Custom::AuroraExpress")
    schema_id = next(
        k for k, v in resources.items() if v["Type"] == "Custom::AuroraExpressMigrations"
    )
    (policy,) = _by_type(template, "AWS::IAM::Policy")
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "rds-db:connect",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [cluster_id, "IamDbUserArn"]},
        }
    ]
    (function,) = _by_type(template, "AWS::Lambda::Function")
    assert schema_id in function["DependsOn"]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["DB_HOST"] == {"Fn::GetAtt": [cluster_id, "Endpoint"]}


def test_the_example_passes_cfn_lint_with_the_providers_rules(app_py: Path) -> None:
    assert unexpected(lint(app_py / f"{STACK}.template.json")) == []


@pytest.fixture(scope="module")
def cdk_cli() -> Path:
    """The ``cdk`` command of the npm package aws-cdk, installed once into a cache folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aurora-express"
    prefix = cache / f"aws-cdk-{CDK_CLI_VERSION}"
    command = prefix / "node_modules" / ".bin" / "cdk"
    if not command.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        argv = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund"]
        _run("npm install aws-cdk", [*argv, f"aws-cdk@{CDK_CLI_VERSION}"], dict(os.environ), prefix)
    return command


@pytest.mark.slow
def test_cdk_synth_of_the_example_works_and_bundles_its_function(
    cdk_cli: Path, tmp_path: Path, app_py: Path
) -> None:
    outdir = tmp_path / "cdk.out"
    env = _environment(
        CDK_HOME=str(tmp_path / "cdk-home"),
        CDK_DISABLE_VERSION_CHECK="1",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )
    argv = [
        str(cdk_cli),
        "synth",
        "--no-notices",
        "-q",
        "-c",
        f"branch={BRANCH}",
        "--output",
        str(outdir),
    ]
    _run("cdk synth examples/cdk", argv, env)
    template = _template(outdir)
    (function,) = _by_type(template, "AWS::Lambda::Function")
    code = outdir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert (code / "handler.py").is_file()
    assert list((code / "psycopg_binary").glob("*aarch64-linux-gnu.so"))
    assert _resources_but_code(template) == _resources_but_code(_template(app_py))


def _resources_but_code(template: Json) -> Json:
    """Every resource but the function (its code bundled or not), without the CLI's metadata."""
    skipped = ("AWS::Lambda::Function", "AWS::CDK::Metadata")
    return {
        k: {key: value for key, value in v.items() if key != "Metadata"}
        for k, v in template["Resources"].items()
        if v["Type"] not in skipped
    }
