"""The provider's code, bundled for real on this machine as sam build makes it (no Docker)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from aurora_express import provider_build
from aurora_express.cdk import AuroraExpressProvider, python_code
from aurora_express.cdk.provider import HANDLERS
from tests.aurora_express.cdk.cfn import Json, function_named, of_type, synth

ROOT = Path(__file__).resolve().parents[3]
NAMES = {
    "ClusterProviderFunction": "Prov-cluster",
    "MigrationsProviderFunction": "Prov-migrations",
    "ReaperFunction": "Prov-reaper",
}


def _pinned(requirements: Path, package: str) -> str:
    text = (
        requirements.read_text()
        + (provider_build.PROVIDER_DIR / "requirements-cluster.txt").read_text()
    )
    match = re.search(rf"^{re.escape(package)}(?:\[[^]]*\])?==(\S+)", text, re.MULTILINE)
    assert match, package
    return match.group(1)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Json]:
    """A provider with every function, bundled once into a cloud assembly."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Prov")
    AuroraExpressProvider(stack, "Provider", reaper=True)
    return outdir, synth(stack)


def code_folder(bundled: tuple[Path, Json], logical_id: str) -> Path:
    outdir, template = bundled
    function = template["Resources"][function_named(template, NAMES[logical_id])]
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    return outdir / f"asset.{asset_hash}"


@pytest.mark.slow
@pytest.mark.parametrize("logical_id", provider_build.FUNCTIONS)
def test_each_function_ships_its_handler_and_only_its_part_of_provider(
    bundled: tuple[Path, Json], logical_id: str
) -> None:
    folder = code_folder(bundled, logical_id)
    build = provider_build.FUNCTIONS[logical_id]
    shipped = {
        p.name for p in (folder / "provider").iterdir() if p.is_dir() and p.name != "__pycache__"
    }
    assert shipped == {"common", *build.parts}
    handler = bundled[1]["Resources"][function_named(bundled[1], NAMES[logical_id])]
    module = handler["Properties"]["Handler"].rsplit(".", 1)[0]
    assert (folder / (module.replace(".", "/") + ".py")).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("logical_id", provider_build.FUNCTIONS)
def test_each_function_ships_its_pinned_boto3_as_arm64_wheels(
    bundled: tuple[Path, Json], logical_id: str
) -> None:
    folder = code_folder(bundled, logical_id)
    requirements = provider_build.PROVIDER_DIR / provider_build.FUNCTIONS[logical_id].requirements
    assert (folder / f"boto3-{_pinned(requirements, 'boto3')}.dist-info").is_dir()
    (core,) = (folder / "pydantic_core").glob("_pydantic_core.*.so")
    assert core.name.endswith("aarch64-linux-gnu.so")


@pytest.mark.slow
def test_only_the_migrations_function_ships_the_postgresql_driver(
    bundled: tuple[Path, Json],
) -> None:
    requirements = provider_build.PROVIDER_DIR / "requirements-migrations.txt"
    version = _pinned(requirements, "psycopg")
    migrations = code_folder(bundled, HANDLERS["Custom::AuroraExpressMigrations"])
    assert (migrations / f"psycopg-{version}.dist-info").is_dir()
    assert list((migrations / "psycopg_binary").glob("*aarch64-linux-gnu.so"))
    assert not (code_folder(bundled, "ClusterProviderFunction") / "psycopg").exists()


@pytest.mark.slow
def test_the_code_is_compiled_for_the_runtime_without_caches_from_the_source_tree(
    bundled: tuple[Path, Json],
) -> None:
    folder = code_folder(bundled, "ClusterProviderFunction")
    tag = f"cpython-{provider_build.PYTHON_VERSION[0]}{provider_build.PYTHON_VERSION[1]}"
    compiled = list((folder / "provider" / "cluster" / "__pycache__").glob(f"*.{tag}.pyc"))
    if sys.version_info[:2] == provider_build.PYTHON_VERSION:
        assert compiled
    assert all(tag in p.name for p in folder.rglob("*.pyc"))


@pytest.mark.slow
def test_a_second_synth_into_the_same_folder_reuses_the_bundles(
    bundled: tuple[Path, Json], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        provider_build, "build_function", lambda logical_id, _: calls.append(logical_id)
    )
    app = cdk.App(outdir=str(bundled[0]))
    stack = cdk.Stack(app, "Prov")
    AuroraExpressProvider(stack, "Provider", reaper=True)
    template = synth(stack)
    assert calls == []
    assert of_type(template, "AWS::Lambda::Function") == of_type(
        bundled[1], "AWS::Lambda::Function"
    )


def test_each_function_has_its_own_code_asset() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "Prov")
    AuroraExpressProvider(stack, "Provider", reaper=True)
    keys = [
        f["Properties"]["Code"]["S3Key"]
        for f in of_type(synth(stack), "AWS::Lambda::Function").values()
    ]
    assert len(set(keys)) == 3


def test_sam_builds_every_function_with_the_same_build() -> None:
    """The Makefile's build-* targets (sam build's) run provider_build for each function."""
    makefile = (ROOT / "Makefile").read_text()
    (rule,) = re.findall(r"^(build-[^:]+):\n\t(.+)$", makefile, re.MULTILINE)
    targets, command = rule
    assert set(targets.split()) == {f"build-{name}" for name in provider_build.FUNCTIONS}
    assert "-m aurora_express.provider_build $(@:build-%=%)" in command


@pytest.mark.slow
def test_python_code_bundles_a_folder_with_its_requirements(tmp_path: Path) -> None:
    source = tmp_path / "app"
    source.mkdir()
    (source / "handler.py").write_text("def handler(event, context):\n    return 'ok'\n")
    (source / "requirements.txt").write_text("six==1.17.0\n")
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "App")
    lambda_.Function(
        stack,
        "Fn",
        code=python_code(source),
        handler="handler.handler",
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
    )
    template = synth(stack)
    (function,) = of_type(template, "AWS::Lambda::Function").values()
    folder = outdir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert (folder / "handler.py").is_file()
    assert (folder / "six.py").is_file()
    assert (folder / "six-1.17.0.dist-info").is_dir()
